//! The functions' contract: each function's input and output as types,
//! tagged by `outcome`, so a combination no function produces cannot be
//! built, and a function given the wrong input says which field or outcome
//! is wrong. The JSON is what the state machine's Choice states branch on
//! (`statemachine/export.asl.json`) and what `docs/functions.md` documents;
//! `contracts/functions.schema.json` is generated from these types.

mod advance;
mod check;
mod decide;
mod notify;
mod start;

pub use advance::{AdvanceInput, AdvanceOutput, Recorded, Skipped};
pub use check::{CheckInput, CheckOutput, Completed, Failed, Failure, HandedOver, Watch};
pub use decide::{
    Announcement, DecideInput, DecideOutput, Notice, OperatorNotice, Quiet, RunSeed, StartOrder,
    Waiting,
};
pub use notify::{CaughtError, CaughtFault, NotifyInput, NotifyOutput, Published};
pub use start::{StartInput, StartOutput};

use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// Where a run is, carried from function to function through the loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunContext {
    #[serde(default)]
    pub execution_id: String,
    /// The schedule's time for the run (or the execution's start time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Decisions made so far in this execution (bounds the drain loop).
    #[serde(default)]
    pub iteration: u32,
    /// Exports this execution has seen through.
    #[serde(default)]
    pub exports_done: u32,
    /// This execution already sent (or tried to send) the notifications a
    /// run before it left pending: it does not try again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub announced: bool,
}

/// The five functions, as the definition names their resources.
pub const FUNCTIONS: [(&str, &str); 5] = [
    ("decide-mode", "${DecideModeFunctionArn}"),
    ("start-export", "${StartExportFunctionArn}"),
    ("check-status", "${CheckStatusFunctionArn}"),
    ("advance-state", "${AdvanceStateFunctionArn}"),
    ("notify", "${NotifyFunctionArn}"),
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::{ExportKind, Span};
    use crate::domain::ledger::{Intent, Tracked};
    use serde_json::json;

    fn tracked() -> Tracked {
        Tracked {
            intent: Intent {
                kind: ExportKind::Incremental,
                span: Span {
                    from: Some(900),
                    to: 1800,
                },
                attempt: 1,
                client_token: "t".into(),
                started_at: 2000,
                chain: 1,
                reset_version: None,
                reset_modified: None,
                from_ms: None,
                note: None,
            },
            export_arn: "arn:x".into(),
        }
    }

    fn watch() -> Watch {
        Watch {
            ctx: RunContext {
                execution_id: "e".into(),
                iteration: 1,
                ..RunContext::default()
            },
            export: tracked(),
            wait_seconds: 30,
            blocks_behind: Some(2),
            polls: None,
        }
    }

    #[test]
    fn outputs_are_flat_json_tagged_by_outcome() {
        let out = CheckOutput::HandedOver(HandedOver {
            watch: watch(),
            why: "budget".into(),
        });
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["outcome"], "HANDED_OVER");
        assert_eq!(v["why"], "budget");
        assert_eq!(v["executionId"], "e");
        assert_eq!(v["waitSeconds"], 30);
        assert_eq!(v["export"]["exportArn"], "arn:x");
        assert_eq!(v["export"]["from"], 900);
        assert!(v.get("announced").is_none());
        // ... and read back as the next function's input.
        let back: AdvanceInput = parse(v).unwrap();
        assert!(matches!(back, AdvanceInput::HandedOver(h) if h.watch.export == tracked()));
    }

    #[test]
    fn a_wrong_outcome_or_a_missing_field_is_named() {
        let err = parse::<CheckInput>(json!({"outcome": "COMPLETED"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("COMPLETED") && err.contains("RESUME"), "{err}");
        let mut v = serde_json::to_value(CheckInput::Started(watch())).unwrap();
        v["export"].as_object_mut().unwrap().remove("exportArn");
        let err = parse::<CheckInput>(v).unwrap_err().to_string();
        assert!(err.contains("exportArn"), "{err}");
        let err = parse::<CheckInput>(json!([])).unwrap_err().to_string();
        assert!(err.contains("an array"), "{err}");
    }
}
