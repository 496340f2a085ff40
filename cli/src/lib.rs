//! `incx-cli`: operator tooling for a DynamoDB table kept exported to S3 as
//! one full export followed by a chain of incremental exports.
//!
//! [`chain`] reads such a chain (discovery, checksums, ordering, applying the
//! changes) into the table state plus a report; [`table`] reads the live
//! table from DynamoDB; [`output`] renders a verification as text or JSON.
//! [`materialize`] writes a state out as JSON lines, `parquet_out` (feature
//! `parquet`) as Parquet, and [`upload`] sends a file to S3; [`audit`] asks DynamoDB for a full export to compare with.
//! [`commands`] holds the `incx` subcommands (feature `cli`); [`scheduled`]
//! is the scheduled audit's steps, which the audit function runs.

pub mod audit;
pub mod chain;
#[cfg(feature = "cli")]
pub mod commands;
pub mod materialize;
pub mod output;
#[cfg(feature = "parquet")]
pub mod parquet_out;
pub mod scheduled;
pub mod table;
pub mod upload;
