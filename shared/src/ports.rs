//! Ports: what the use cases need from the outside world. Adapters in
//! [`crate::adapters`] implement them on AWS; [`crate::memory`] in memory.
//!
//! Methods return `Send` futures so handlers can run on any runtime.

use crate::domain::control::WorkflowAction;
use crate::domain::export::{ExportRequest, ExportStatus, Pitr};
use crate::domain::ledger::{CatalogEntry, Head, WorkflowState};
use crate::domain::notification::Notification;
use crate::domain::Epoch;
use crate::error::CoreError;
use std::future::Future;

/// The time. Production reads the system clock; local runs share a virtual one.
pub trait Clock: Send + Sync {
    fn now(&self) -> Epoch;
}

/// The operator's `workflow-action`, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Control {
    /// `None` when the parameter does not exist.
    pub value: Option<String>,
    /// SSM's version of the parameter: every put increments it, so it tells
    /// one setting of RESET from the next without trusting any clock.
    pub version: Option<i64>,
}

/// The original's read-only SSM parameters, mirrored from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mirrors {
    pub full_export_time: Option<Epoch>,
    /// `None` deletes the parameter (no incremental export in this chain yet).
    pub last_incremental_export_time: Option<Epoch>,
    /// `true`, `false` or `NULL`, as the original wrote it.
    pub workflow_initiated: Option<&'static str>,
    pub workflow_state: WorkflowState,
}

pub trait ControlStore: Send + Sync {
    fn read_action(&self) -> impl Future<Output = Result<Control, CoreError>> + Send;
    fn set_action(
        &self,
        action: WorkflowAction,
    ) -> impl Future<Output = Result<(), CoreError>> + Send;
    /// Writes the mirrors that differ from `before` (all when `None`).
    fn write_mirrors(
        &self,
        mirrors: &Mirrors,
        before: Option<&Mirrors>,
    ) -> impl Future<Output = Result<(), CoreError>> + Send;
}

pub trait Ledger: Send + Sync {
    /// The head item, `None` before the first run.
    fn head(&self) -> impl Future<Output = Result<Option<Head>, CoreError>> + Send;
    /// Writes the head if the stored version is still `expected` (`None`:
    /// only if there is no head yet). `Ok(false)` when the condition failed.
    fn put_head(
        &self,
        head: &Head,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<bool, CoreError>> + Send;
    /// The same, together with a catalog entry, atomically.
    fn put_head_with_entry(
        &self,
        head: &Head,
        expected: Option<u64>,
        entry: &CatalogEntry,
    ) -> impl Future<Output = Result<bool, CoreError>> + Send;
    /// The most recent catalog entries (newest first), up to `limit`.
    fn recent(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<CatalogEntry>, CoreError>> + Send;
    /// The whole catalog, oldest first.
    fn catalog(&self) -> impl Future<Output = Result<Vec<CatalogEntry>, CoreError>> + Send;
}

/// How the service answered, mapped to what the domain can act on.
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
    /// The error as a fault, for the outcomes a use case cannot act on.
    pub fn into_fault(self) -> CoreError {
        match self {
            Self::LimitExceeded(d) | Self::Throttled(d) => CoreError::throttled("dynamodb", d),
            other => CoreError::service("dynamodb", other.to_string()),
        }
    }
}

pub trait ExportService: Send + Sync {
    fn backups(&self) -> impl Future<Output = Result<Pitr, ExportError>> + Send;
    /// Starts (or, with the same client token, finds) an export; its ARN.
    fn start(
        &self,
        request: &ExportRequest,
    ) -> impl Future<Output = Result<String, ExportError>> + Send;
    fn describe(&self, arn: &str)
        -> impl Future<Output = Result<ExportStatus, ExportError>> + Send;
}

pub trait Notifier: Send + Sync {
    /// Publishes; the message id.
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<String, CoreError>> + Send;
}
