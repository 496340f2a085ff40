//! start-export's input and output.

use super::decide::{OperatorNotice, Quiet, StartOrder};
use super::Watch;
use serde::{Deserialize, Serialize};

/// decide-mode's START_FULL or START_INCREMENTAL output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartInput {
    StartFull(StartOrder),
    StartIncremental(StartOrder),
}

impl StartInput {
    pub fn into_order(self) -> StartOrder {
        match self {
            Self::StartFull(o) | Self::StartIncremental(o) => o,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StartOutput {
    /// The service has the export: watch it.
    Started(Watch),
    /// Another execution changed the ledger first; it carries on.
    LostRace(Quiet),
    /// The service refused the window for now (too recent for it); the
    /// next run asks again.
    Deferred(Quiet),
    /// The service refused for a reason a person must fix.
    NeedsOperator(OperatorNotice),
}
