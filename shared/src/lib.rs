//! Core of the continuous incremental export of a DynamoDB table to S3.
//!
//! Hexagonal, and Cargo keeps it so: this crate has no AWS SDK, no Lambda
//! runtime and no async runtime (its `cargo tree` shows none).
//! - [`domain`]: pure data and functions (windows, decisions, the ledger's
//!   transitions, refusals, notifications), with no I/O and no AWS types;
//! - [`ports`]: the traits the use cases need from the outside world;
//! - [`service`] and [`usecases`]: one use case per function, each a short
//!   interpreter of the domain's decision over the ports it names;
//! - [`contract`]: each function's input and output JSON, as types;
//! - [`config`]: the functions' environment, parsed once.
//!
//! `incx-aws` implements the ports on AWS and runs the functions on Lambda;
//! `incx-sim` implements them in memory and runs the deployed definition.

pub mod config;
pub mod contract;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod ports;
pub mod service;
pub mod usecases;

pub use config::Config;
pub use error::CoreError;
pub use service::Service;
