//! Ports: what the use cases need from the outside world, one trait per
//! capability. `incx-aws` implements them on the AWS SDK; `incx-sim` in
//! memory.
//!
//! Methods return `Send` futures so handlers can run on any runtime.

use crate::domain::control::{Control, WorkflowAction};
use crate::domain::export::{ExportError, ExportRequest, ExportStatus, Pitr};
use crate::domain::ledger::{CatalogEntry, Head};
use crate::domain::notification::Notification;
use crate::domain::origin::Published;
use crate::domain::Epoch;
use crate::error::CoreError;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// The time. Production reads the system clock; local runs share a virtual one.
pub trait Clock: Send + Sync {
    fn now(&self) -> Epoch;
}

/// The operator's control and the original's read-only mirrors (SSM).
pub trait ControlStore: Send + Sync {
    /// The control as stored (`value` `None`: the parameter is missing).
    fn read_action(&self) -> impl Future<Output = Result<Control, CoreError>> + Send;
    /// Creates the control with `action` if it is missing (never overwrites
    /// one); the control as stored afterwards.
    fn create_action(
        &self,
        action: WorkflowAction,
    ) -> impl Future<Output = Result<Control, CoreError>> + Send;
    /// Sets the control to `action` only if it is still the setting
    /// `expected` (its version): an operator's value written in between is
    /// never lost. `Ok(false)` when it was not.
    fn set_action_if(
        &self,
        action: WorkflowAction,
        expected: &Control,
    ) -> impl Future<Output = Result<bool, CoreError>> + Send;
    /// The mirror parameters as they are, by name (absent ones left out).
    fn read_mirrors(
        &self,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, CoreError>> + Send;
    /// Puts one mirror (`None` deletes it).
    fn write_mirror(
        &self,
        name: &str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<(), CoreError>> + Send;
}

/// The ledger table: the head and the catalog, with conditional writes.
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
    /// One catalog entry by its sort key.
    fn entry(
        &self,
        sort_key: &str,
    ) -> impl Future<Output = Result<Option<CatalogEntry>, CoreError>> + Send;
    /// Notes that the entry's notification went out (the outbox).
    fn mark_announced(&self, sort_key: &str) -> impl Future<Output = Result<(), CoreError>> + Send;
}

/// DynamoDB's export to S3 and the table's backups.
pub trait ExportService: Send + Sync {
    fn backups(&self) -> impl Future<Output = Result<Pitr, ExportError>> + Send;
    /// Starts (or, with the same client token, finds) an export; its ARN.
    fn start(
        &self,
        request: &ExportRequest,
    ) -> impl Future<Output = Result<String, ExportError>> + Send;
    fn describe(&self, arn: &str)
        -> impl Future<Output = Result<ExportStatus, ExportError>> + Send;
    /// An export the service made for `request` (same client token, or the
    /// same table, kind, times and destination), started at or after
    /// `since`: its ARN. For an intent whose ARN was never seen, before
    /// asking again with a token the service may have forgotten.
    fn find(
        &self,
        request: &ExportRequest,
        since: Epoch,
    ) -> impl Future<Output = Result<Option<String>, ExportError>> + Send;
}

/// The exports published in the bucket, as their `manifest-summary.json`
/// files describe them: the record of a chain another workflow (the
/// original sample) made.
pub trait PublishedExports: Send + Sync {
    /// Where they are read from, for messages (`s3://bucket/prefix`).
    fn location(&self) -> String;
    /// Every export summary under the location (unreadable ones skipped
    /// with a warning: they cannot be links of a chain to continue).
    fn list(&self) -> impl Future<Output = Result<Vec<Published>, CoreError>> + Send;
}

/// The notification topic (SNS).
pub trait Notifier: Send + Sync {
    /// Publishes; the message id.
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<String, CoreError>> + Send;
}

/// The workflow itself (Step Functions): starting the next run at once
/// when more is exportable than one run exported.
pub trait Runs: Send + Sync {
    /// Starts a run named `name` (the same name twice starts it once) with
    /// `input`, the state machine's execution input.
    fn start_run(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<(), CoreError>> + Send;
}

// Shared ports: a test harness keeps an `Arc` of the in-memory world it
// injects faults into, and the use cases see the same object.

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> Epoch {
        (**self).now()
    }
}

impl<T: ControlStore + ?Sized> ControlStore for Arc<T> {
    fn read_action(&self) -> impl Future<Output = Result<Control, CoreError>> + Send {
        (**self).read_action()
    }
    fn create_action(
        &self,
        action: WorkflowAction,
    ) -> impl Future<Output = Result<Control, CoreError>> + Send {
        (**self).create_action(action)
    }
    fn set_action_if(
        &self,
        action: WorkflowAction,
        expected: &Control,
    ) -> impl Future<Output = Result<bool, CoreError>> + Send {
        (**self).set_action_if(action, expected)
    }
    fn read_mirrors(
        &self,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, CoreError>> + Send {
        (**self).read_mirrors()
    }
    fn write_mirror(
        &self,
        name: &str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<(), CoreError>> + Send {
        (**self).write_mirror(name, value)
    }
}

impl<T: Ledger + ?Sized> Ledger for Arc<T> {
    fn head(&self) -> impl Future<Output = Result<Option<Head>, CoreError>> + Send {
        (**self).head()
    }
    fn put_head(
        &self,
        head: &Head,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<bool, CoreError>> + Send {
        (**self).put_head(head, expected)
    }
    fn put_head_with_entry(
        &self,
        head: &Head,
        expected: Option<u64>,
        entry: &CatalogEntry,
    ) -> impl Future<Output = Result<bool, CoreError>> + Send {
        (**self).put_head_with_entry(head, expected, entry)
    }
    fn recent(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<CatalogEntry>, CoreError>> + Send {
        (**self).recent(limit)
    }
    fn catalog(&self) -> impl Future<Output = Result<Vec<CatalogEntry>, CoreError>> + Send {
        (**self).catalog()
    }
    fn entry(
        &self,
        sort_key: &str,
    ) -> impl Future<Output = Result<Option<CatalogEntry>, CoreError>> + Send {
        (**self).entry(sort_key)
    }
    fn mark_announced(&self, sort_key: &str) -> impl Future<Output = Result<(), CoreError>> + Send {
        (**self).mark_announced(sort_key)
    }
}

impl<T: ExportService + ?Sized> ExportService for Arc<T> {
    fn backups(&self) -> impl Future<Output = Result<Pitr, ExportError>> + Send {
        (**self).backups()
    }
    fn start(
        &self,
        request: &ExportRequest,
    ) -> impl Future<Output = Result<String, ExportError>> + Send {
        (**self).start(request)
    }
    fn describe(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<ExportStatus, ExportError>> + Send {
        (**self).describe(arn)
    }
    fn find(
        &self,
        request: &ExportRequest,
        since: Epoch,
    ) -> impl Future<Output = Result<Option<String>, ExportError>> + Send {
        (**self).find(request, since)
    }
}

impl<T: Notifier + ?Sized> Notifier for Arc<T> {
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<String, CoreError>> + Send {
        (**self).publish(notification)
    }
}

impl<T: Runs + ?Sized> Runs for Arc<T> {
    fn start_run(
        &self,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<(), CoreError>> + Send {
        (**self).start_run(name, input)
    }
}

impl<T: PublishedExports + ?Sized> PublishedExports for Arc<T> {
    fn location(&self) -> String {
        (**self).location()
    }
    fn list(&self) -> impl Future<Output = Result<Vec<Published>, CoreError>> + Send {
        (**self).list()
    }
}
