//! Core of the continuous incremental export of a DynamoDB table to S3.
//!
//! Three layers, in the hexagonal style:
//! - [`domain`]: pure data and functions (configuration, windows, decisions,
//!   the ledger state machine, notifications), with no I/O and no AWS types;
//! - [`ports`]: the traits the use cases need from the outside world;
//! - [`adapters`]: one implementation of each port per AWS service, on the
//!   official SDK crates, plus in-memory ones in [`memory`] for tests.
//!
//! [`usecases`] wire domain and ports together; each Lambda binary calls one.

pub mod adapters;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod io;
pub mod memory;
pub mod ports;
pub mod runtime;
pub mod sim;
pub mod usecases;

pub use config::Config;
pub use error::CoreError;
