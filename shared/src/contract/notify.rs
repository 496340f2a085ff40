//! notify's input and output.

use super::advance::Recorded;
use super::decide::OperatorNotice;
use super::RunContext;
use serde::{Deserialize, Serialize};

/// A step that carries a notification, or the final Catch's record (the
/// NotifyFault state tags it `FAULT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotifyInput {
    Advanced(Recorded),
    RecordedFailure(Recorded),
    NeedsOperator(OperatorNotice),
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Published {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub message_id: String,
    /// Carried on from advance-state: whether the drain loop goes on.
    pub drain: bool,
}
