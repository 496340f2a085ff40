//! advance-state's input and output.

use super::check::{Completed, Failed, HandedOver};
use super::RunContext;
use crate::domain::ledger::Tracked;
use crate::domain::notification::Notification;
use serde::{Deserialize, Serialize};

/// check-status's COMPLETED or FAILED output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdvanceInput {
    Completed(Completed),
    Failed(Failed),
    HandedOver(HandedOver),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdvanceOutput {
    /// The watermark moved; `drain` says whether more is exportable now.
    Advanced(Recorded),
    /// The failed attempt is recorded; the window is tried again next run.
    RecordedFailure(Recorded),
    /// Another execution recorded and announced this export first.
    AlreadyRecorded(Skipped),
    /// This run stopped watching; the export stays in flight for the next.
    HandedOver(Skipped),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub export: Tracked,
    /// The catalog entry's sort key: notify marks it announced.
    pub entry_key: String,
    pub notification: Notification,
    /// More is exportable now: notify starts the next run at once.
    pub drain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub reason: String,
}
