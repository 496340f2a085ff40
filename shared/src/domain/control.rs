//! The operator's control, `/incremental-export/<alias>/workflow-action`,
//! with the original sample's three values.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What the operator asks of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowAction {
    Run,
    Pause,
    ResetWithFullExportAgain,
}

/// The operator's `workflow-action`, as read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Control {
    /// `None` when the parameter does not exist.
    pub value: Option<String>,
    /// SSM's version of the parameter: every put increments it, so it tells
    /// one setting of RESET from the next without trusting any clock.
    pub version: Option<i64>,
    /// When it was last put (epoch milliseconds, SSM's LastModifiedDate).
    /// With the version, it tells a setting apart from one made to an
    /// earlier parameter of the same name (a redeploy starts again at
    /// version 1 while the ledger is kept).
    pub modified: Option<i64>,
}

impl Control {
    /// The identity of this setting, as a full export it asks for records it.
    pub fn setting(&self) -> Option<Setting> {
        self.version.map(|version| Setting {
            version,
            modified: self.modified,
        })
    }
}

/// One setting of the control: its version and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub version: i64,
    pub modified: Option<i64>,
}

/// The values an operator may set, in the words of the error messages.
pub const ALLOWED_ACTIONS: &str = "RUN, PAUSE or RESET_WITH_FULL_EXPORT_AGAIN";

/// A control value that is none of the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("workflow-action value {shown} is not allowed: set it to {ALLOWED_ACTIONS}")]
pub struct UnknownAction {
    /// The value as read, quoted and cut to a readable length.
    pub shown: String,
}

impl WorkflowAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "RUN",
            Self::Pause => "PAUSE",
            Self::ResetWithFullExportAgain => "RESET_WITH_FULL_EXPORT_AGAIN",
        }
    }

    /// Parses the exact value. No trimming and no case folding: the original
    /// compared exactly, and a value that only looks right (`run`, `PAUSE `)
    /// would otherwise mean different things to the two products.
    pub fn parse(raw: &str) -> Result<Self, UnknownAction> {
        match raw {
            "RUN" => Ok(Self::Run),
            "PAUSE" => Ok(Self::Pause),
            "RESET_WITH_FULL_EXPORT_AGAIN" => Ok(Self::ResetWithFullExportAgain),
            other => Err(UnknownAction {
                shown: shown_value(other),
            }),
        }
    }
}

impl fmt::Display for WorkflowAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quotes a value for an error message, escaping control characters and
/// cutting very long values so that a message stays readable.
pub fn shown_value(raw: &str) -> String {
    const MAX: usize = 64;
    let cut: String = raw.chars().take(MAX).collect();
    let mut shown = format!("{cut:?}");
    if raw.chars().count() > MAX {
        shown.push_str(&format!(
            " (cut; {} characters in all)",
            raw.chars().count()
        ));
    }
    if raw.is_empty() {
        shown = "\"\" (empty)".to_string();
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_values() {
        assert_eq!(WorkflowAction::parse("RUN"), Ok(WorkflowAction::Run));
        assert_eq!(WorkflowAction::parse("PAUSE"), Ok(WorkflowAction::Pause));
        assert_eq!(
            WorkflowAction::parse("RESET_WITH_FULL_EXPORT_AGAIN"),
            Ok(WorkflowAction::ResetWithFullExportAgain)
        );
    }

    #[test]
    fn rejects_near_misses_naming_the_value() {
        for bad in ["run", " RUN", "PAUSE\n", "", "STOP", "RESET"] {
            let err = WorkflowAction::parse(bad).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(ALLOWED_ACTIONS), "{text}");
            assert!(
                text.contains(&format!("{bad:?}")) || bad.is_empty(),
                "{text}"
            );
        }
        assert!(WorkflowAction::parse("")
            .unwrap_err()
            .to_string()
            .contains("empty"));
    }

    #[test]
    fn cuts_very_long_values() {
        let long = "X".repeat(5000);
        let text = WorkflowAction::parse(&long).unwrap_err().to_string();
        assert!(text.len() < 300, "{}", text.len());
        assert!(text.contains("5000 characters"));
    }
}
