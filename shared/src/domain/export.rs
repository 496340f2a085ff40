//! What the domain knows of an export and of the source table's backups,
//! free of SDK types.

use super::Epoch;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Full or incremental, spelled as the original's `exportType` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ExportKind {
    #[serde(rename = "FULL_EXPORT")]
    Full,
    #[serde(rename = "INCREMENTAL_EXPORT")]
    Incremental,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL_EXPORT",
            Self::Incremental => "INCREMENTAL_EXPORT",
        }
    }
}

impl fmt::Display for ExportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[from, to)` in epoch seconds: `from` inclusive, `to` exclusive.
/// A full export is the point `to` (its ExportTime); `from` is then `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Span {
    pub from: Option<Epoch>,
    pub to: Epoch,
}

/// The source table's point-in-time recovery, as DescribeContinuousBackups
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Pitr {
    Enabled { earliest: Epoch, latest: Epoch },
    Disabled,
}

/// Everything start-export needs to ask for an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub kind: ExportKind,
    pub span: Span,
    /// The exact start in epoch milliseconds, when not `span.from`'s whole
    /// second (see [`super::origin::Continued`]).
    pub from_ms: Option<i64>,
    pub client_token: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub format: String,
    pub view_type: String,
    /// The KMS key the exported files are encrypted with (SSE-KMS, asked
    /// for explicitly); `None` leaves it to the bucket's default.
    pub kms_key: Option<String>,
}

/// Where an export stands, as DescribeExport reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportStatus {
    InProgress,
    Completed(ExportResult),
    Failed { code: String, message: String },
}

/// The figures of a completed export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub item_count: i64,
    pub billed_size_bytes: i64,
    pub start_time: Option<Epoch>,
    pub end_time: Option<Epoch>,
    /// S3 key of `manifest-summary.json`.
    pub manifest: Option<String>,
}

/// How the service answered a call, mapped to what the domain can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("point-in-time recovery is not enabled: {0}")]
    PitrUnavailable(String),
    #[error("export time outside the point-in-time recovery window: {0}")]
    InvalidExportTime(String),
    #[error("export conflict (same client token, other parameters): {0}")]
    Conflict(String),
    #[error("table not found: {0}")]
    TableNotFound(String),
    #[error("export not found: {0}")]
    ExportNotFound(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("{0}")]
    Fault(String),
}

impl ExportError {
    /// The error as a fault, for the answers a use case cannot act on.
    pub fn into_fault(self) -> crate::error::CoreError {
        use crate::error::CoreError;
        match self {
            Self::LimitExceeded(d) | Self::Throttled(d) => CoreError::throttled("dynamodb", d),
            other => CoreError::service("dynamodb", other.to_string()),
        }
    }
}
