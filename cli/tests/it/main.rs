//! The CLI's integration tests, one binary: the chain reader's rules and
//! checks over exports in the real layout, and `incx verify` end to end
//! and `audit` against a small S3 stand-in, and `materialize` against a replay of
//! random histories.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chain_apply;
mod chain_checks;
mod cli_audit;
mod cli_verify;
mod common;
mod materialize;
#[cfg(feature = "parquet")]
mod materialize_parquet;
