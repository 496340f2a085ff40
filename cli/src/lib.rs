//! `incx-cli`: operator tooling for a DynamoDB table kept exported to S3 as
//! one full export followed by a chain of incremental exports.
//!
//! [`chain`] reads such a chain (discovery, checksums, ordering, applying the
//! changes) into the table state plus a report; [`table`] reads the live
//! table from DynamoDB; [`output`] renders a verification as text or JSON.
//! [`commands`] holds the `incx` subcommands.

pub mod chain;
pub mod commands;
pub mod output;
pub mod table;
