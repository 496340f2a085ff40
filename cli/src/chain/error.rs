//! Errors of the chain reader: object-store failures, fatal chain problems
//! and invalid DynamoDB values.

use thiserror::Error;

/// A failure of the object store behind the reader.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The key does not exist.
    #[error("object not found: {0}")]
    NotFound(String),
    /// The bucket does not exist.
    #[error("bucket {0:?} does not exist")]
    NoSuchBucket(String),
    /// The credentials may not read the bucket or the key.
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// Any other failure (network, throttling, malformed response).
    #[error("storage error: {0}")]
    Other(String),
}

/// A problem that stops the chain from being read at all.
#[derive(Debug, Error)]
pub enum ChainError {
    /// The store failed in a way that is not a missing object.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Discovery found no `manifest-summary.json` at all.
    #[error("no exports found under {0:?}")]
    NoExports(String),
    /// No readable full export among the exports found.
    #[error("no full export found among {0} export(s)")]
    NoFullExport(usize),
    /// A time asked for is not where a window of the chain ends.
    #[error("{at} is not a boundary of a completed window of the chain; the boundaries are: {boundaries}")]
    NotABoundary {
        /// The time asked for (UTC).
        at: String,
        /// The chain's boundaries (UTC), in order.
        boundaries: String,
    },
    /// Local disk or a reader thread failed.
    #[error("{0}")]
    Io(String),
}

/// A DynamoDB value or item that cannot be understood.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// A number attribute that is not a decimal number.
    #[error("invalid number {0:?}")]
    InvalidNumber(String),
    /// A number whose exponent is far outside DynamoDB's range.
    #[error("number out of range {0:?}")]
    NumberOutOfRange(String),
    /// A malformed attribute value, item or export line.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// An item without one of the table's key attributes.
    #[error("missing key attribute {0:?}")]
    MissingKey(String),
}
