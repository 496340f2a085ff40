//! The workflow simulated, for tests and local tools (no deployed binary
//! depends on this crate): in-memory ports with the real service's rules,
//! an interpreter of the deployed state machine definition
//! (`statemachine/export.asl.json`) driving the real use cases on a manual
//! clock, the seeded chaos run and the chain's invariants, and the virtual
//! clock file of local runs. Executions can be interleaved step by step,
//! killed, and faults injected, so property tests and the chaos run exercise
//! the same transitions the deployed workflow takes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod asl;
pub mod chaos;
pub mod clock;
pub mod invariants;
pub mod memory;
pub mod world;

pub use asl::{Execution, Finish, TaskError};
pub use world::World;
