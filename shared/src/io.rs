//! The functions' input and output JSON (documented in the README): one
//! record threads through the state machine, each function reading the
//! fields it needs and adding its own. Outcomes are data.

use crate::domain::export::ExportResult;
use crate::domain::ledger::InFlight;
use crate::domain::notification::Notification;
use crate::domain::Epoch;
use crate::error::CoreError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Paused,
    NotDue,
    DueSoon,
    StartFull,
    StartIncremental,
    Resume,
    NeedsOperator,
    Started,
    LostRace,
    InProgress,
    Completed,
    Failed,
    Advanced,
    RecordedFailure,
    AlreadyRecorded,
    Published,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

/// The record each function returns (and the next one reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    #[serde(default)]
    pub execution_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default)]
    pub iteration: u32,
    #[serde(default)]
    pub exports_done: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<Epoch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_behind: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ExportResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// The export a step is about: the ledger's in-flight record, flat.
pub type ExportRef = InFlight;

impl Step {
    /// The same run context, with everything else cleared.
    pub fn next(&self, outcome: Outcome) -> Step {
        Step {
            execution_id: self.execution_id.clone(),
            start_time: self.start_time.clone(),
            iteration: self.iteration,
            exports_done: self.exports_done,
            outcome: Some(outcome),
            ..Step::default()
        }
    }

    pub fn require_export(&self) -> Result<&ExportRef, CoreError> {
        self.export
            .as_ref()
            .ok_or_else(|| CoreError::BadInput("the input has no `export` object".into()))
    }
}

/// decide-mode's input, as the state machine's `Parameters` build it.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DecideInput {
    #[serde(default)]
    pub run: serde_json::Value,
    #[serde(default)]
    pub execution_id: String,
    #[serde(default)]
    pub execution_start_time: Option<String>,
}

/// The error a Catch hands on, in the shape Step Functions gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CaughtError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// notify's input: a step with a notification, or the final Catch's record.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NotifyInput {
    #[serde(flatten)]
    pub step: Step,
    #[serde(default)]
    pub error: Option<CaughtError>,
    #[serde(default)]
    pub run: Option<serde_json::Value>,
    #[serde(default)]
    pub execution_start_time: Option<String>,
}

/// Parses a function's JSON input, naming what is wrong with it. Every
/// input is an object: serde would otherwise read an array positionally
/// (and `[]` as "all fields missing"), accepting a shape no caller sends.
pub fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, CoreError> {
    let kind = match &value {
        serde_json::Value::Object(_) => None,
        serde_json::Value::Null => Some("null"),
        serde_json::Value::Bool(_) => Some("a boolean"),
        serde_json::Value::Number(_) => Some("a number"),
        serde_json::Value::String(_) => Some("a string"),
        serde_json::Value::Array(_) => Some("an array"),
    };
    if let Some(kind) = kind {
        return Err(CoreError::BadInput(format!(
            "input must be a JSON object, got {kind}"
        )));
    }
    serde_json::from_value(value)
        .map_err(|e| CoreError::BadInput(format!("input does not match the contract: {e}")))
}
