//! notify's input and output.

use super::advance::{Recorded, Skipped};
use super::decide::{Announcement, OperatorNotice, Quiet};
use super::RunContext;
use serde::{Deserialize, Serialize};

/// What the run ends with (advance-state's output), a notice for the
/// operator, the notifications a run before left pending, or the final
/// Catch's record (the NotifyFault state tags it `FAULT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotifyInput {
    Advanced(Recorded),
    RecordedFailure(Recorded),
    AlreadyRecorded(Skipped),
    HandedOver(Skipped),
    NeedsOperator(OperatorNotice),
    Announce(Announcement),
    Fault(CaughtFault),
}

/// What the final Catch hands on: the error, and the state input it
/// happened in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CaughtFault {
    pub error: CaughtError,
    /// The failing state's input (opaque: any step of the run).
    #[serde(default)]
    pub run: serde_json::Value,
    #[serde(default)]
    pub execution_id: String,
    #[serde(default)]
    pub execution_start_time: Option<String>,
}

/// The error a Catch hands on, in the shape Step Functions gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CaughtError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotifyOutput {
    Published(Published),
    /// Nothing to announce (already announced, or handed over).
    Nothing(Quiet),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Published {
    #[serde(flatten)]
    pub ctx: RunContext,
    /// SNS's message ids, one per notification sent.
    pub message_ids: Vec<String>,
    /// The run notify started because more is exportable now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
}
