//! The simulation's integration tests, one binary: the chain's properties
//! over arbitrary event sequences, the seeded chaos run, the bad-input
//! sweep, and the generated contract files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod chain_properties;
mod chaos;
mod contracts;
mod defects;
mod migration;
