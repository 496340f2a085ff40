//! decide-mode's input and output.

use super::RunContext;
use crate::domain::ledger::Intent;
use crate::domain::notification::Notification;
use crate::domain::Epoch;
use serde::{Deserialize, Serialize};

/// decide-mode's input, as the state machine's `Parameters` build it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DecideInput {
    /// The state input: the schedule's `{"time"}`, `{}` for a manual run,
    /// or the previous step's output in the drain loop.
    #[serde(default)]
    pub run: Option<RunSeed>,
    #[serde(default)]
    pub execution_id: String,
    #[serde(default)]
    pub execution_start_time: Option<String>,
}

/// What decide-mode takes from the state input; the rest is ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunSeed {
    /// EventBridge Scheduler's `<aws.scheduler.scheduled-time>`.
    #[serde(default)]
    pub time: Option<String>,
    #[serde(flatten)]
    pub ctx: RunContext,
    /// Set by the state machine when announcing pending notifications
    /// failed (SNS down): this run goes on without them.
    #[serde(default)]
    pub announce_failed: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DecideOutput {
    /// The control says PAUSE and nothing is in flight.
    Paused(Quiet),
    /// Nothing to export yet.
    NotDue(Quiet),
    /// The next window becomes exportable within minutes: wait, decide again.
    DueSoon(Waiting),
    StartFull(StartOrder),
    StartIncremental(StartOrder),
    /// An export is in flight: watch it.
    Resume(super::Watch),
    /// An export is in flight and another execution watches it.
    Watched(Quiet),
    /// Notifications a run before this one left pending: send them first.
    Announce(Announcement),
    /// A person must act; the notification says what.
    NeedsOperator(OperatorNotice),
}

/// A run that ends here, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Quiet {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub reason: String,
    /// When the next window becomes exportable (RFC 3339), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub wait_seconds: Epoch,
}

/// An export to start: recorded in the ledger by start-export (if the head
/// is still at `ledgerVersion`), then asked of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StartOrder {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub export: Intent,
    pub ledger_version: u64,
    pub blocks_behind: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OperatorNotice {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub reason: String,
    pub notification: Notification,
}

/// Ledger entries whose notification never went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Announcement {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub notices: Vec<Notice>,
}

/// One entry's notification, and the entry's sort key (notify marks it
/// announced once published).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub entry_key: String,
    pub notification: Notification,
}

impl DecideOutput {
    pub fn start(order: StartOrder) -> Self {
        match order.export.kind {
            crate::domain::export::ExportKind::Full => Self::StartFull(order),
            crate::domain::export::ExportKind::Incremental => Self::StartIncremental(order),
        }
    }
}
