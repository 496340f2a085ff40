//! check-status's input and output.

use super::RunContext;
use crate::domain::export::ExportResult;
use crate::domain::ledger::Tracked;
use crate::domain::Epoch;
use serde::{Deserialize, Serialize};

/// An export being watched, and how long to wait before the next look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Watch {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub export: Tracked,
    pub wait_seconds: Epoch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_behind: Option<i64>,
    /// Status checks made so far (in the ledger's count, when finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polls: Option<u32>,
}

/// start-export's STARTED or decide-mode's RESUME output. A still-running
/// export is not an output: check-status answers the error
/// `ExportRunning`, and the state machine's Retry calls it again with the
/// same input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckInput {
    Started(Watch),
    Resume(Watch),
}

impl CheckInput {
    pub fn into_watch(self) -> Watch {
        match self {
            Self::Started(w) | Self::Resume(w) => w,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckOutput {
    Completed(Completed),
    Failed(Failed),
    /// This run stops watching (another execution watches, or the run is
    /// near its time limit): the next run takes over.
    HandedOver(HandedOver),
}

/// An export this run stops watching, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HandedOver {
    #[serde(flatten)]
    pub watch: Watch,
    pub why: String,
}

/// A completed export and its figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Completed {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub export: Tracked,
    pub result: ExportResult,
    pub polls: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_behind: Option<i64>,
}

/// An export the service ended FAILED, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    #[serde(flatten)]
    pub ctx: RunContext,
    pub export: Tracked,
    pub failure: Failure,
    pub polls: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks_behind: Option<i64>,
}

/// Why the service ended an export FAILED.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Failure {
    pub code: String,
    pub message: String,
}
