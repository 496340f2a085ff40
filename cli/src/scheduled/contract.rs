//! The audit function's input and output, as the audit state machine passes
//! them: each step gets `{"action": ..., "audit": <state>}` and returns the
//! next state, tagged by `stage`, which the Choice states branch on. A
//! failed step's state comes back with the Catch's `error` beside it.

use incx_core::contract::CaughtError;
use serde::{Deserialize, Serialize};

/// Keys of each kind of difference the e-mail names.
pub const FIRST_KEYS: usize = 10;

/// Problems the state carries at most: a state passed between steps may
/// not exceed 256 KB, and a chain with a broken file in every export would
/// name thousands.
pub const MAX_PROBLEMS: usize = 20;

/// What the state machine asks the function to do.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "lowercase", deny_unknown_fields)]
pub enum AuditRequest {
    /// Ask for the full export at the chain's end.
    Begin { audit: AuditState },
    /// Look at the export once.
    Check { audit: AuditState },
    /// Compare the next part.
    Compare { audit: AuditState },
    /// E-mail the result.
    Report {
        audit: AuditState,
        #[serde(rename = "executionId", default)]
        execution_id: String,
    },
}

/// Where an audit is, carried from step to step.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct AuditState {
    #[serde(flatten)]
    pub stage: Stage,
    /// Set by the state machine when a step failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

impl From<Stage> for AuditState {
    fn from(stage: Stage) -> Self {
        Self { stage, error: None }
    }
}

/// The stages, in order.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "stage", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    /// As the state machine starts it.
    Starting,
    /// The ledger holds no completed chain yet: nothing to audit.
    Nothing { reason: String },
    /// The full export at the chain's end is being written.
    #[serde(rename_all = "camelCase")]
    Exporting {
        export: AuditExport,
        /// Seconds the state machine waits before the next look.
        wait_seconds: u64,
    },
    /// Parts `0..next` compared.
    #[serde(rename_all = "camelCase")]
    Comparing {
        export: AuditExport,
        manifest: String,
        next: u32,
        parts: u32,
        totals: Totals,
    },
    /// Every part compared, or a problem found that ends the audit.
    #[serde(rename_all = "camelCase")]
    Compared {
        export: AuditExport,
        manifest: String,
        parts: u32,
        totals: Totals,
    },
}

/// The full export the chain is compared with.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditExport {
    pub arn: String,
    /// The chain's end, which the export is taken at (UTC, and epoch ms).
    pub chain_end: String,
    pub chain_end_ms: i64,
    /// DescribeTable's size, and what the export costs at $0.10 per GB.
    pub table_size_bytes: i64,
    pub cost_usd: f64,
}

/// What the parts compared so far found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub items_in_chain: u64,
    pub items_in_export: u64,
    pub compared: u64,
    pub missing: u64,
    pub extra: u64,
    pub different: u64,
    /// The first keys of each kind (DynamoDB JSON), at most [`FIRST_KEYS`].
    #[serde(default)]
    pub first_missing: Vec<String>,
    #[serde(default)]
    pub first_extra: Vec<String>,
    #[serde(default)]
    pub first_different: Vec<String>,
    /// What is wrong with the chain or the export itself (nothing compared
    /// then: a broken chain's state is wrong already).
    #[serde(default)]
    pub problems: Vec<String>,
}

impl Totals {
    /// Missing, extra and different items together.
    pub fn differences(&self) -> u64 {
        self.missing + self.extra + self.different
    }

    /// Notes problems with the chain or the export, the first
    /// [`MAX_PROBLEMS`] of them, and how many more there were.
    pub fn note_problems(&mut self, found: Vec<String>) {
        let room = MAX_PROBLEMS.saturating_sub(self.problems.len());
        let more = found.len().saturating_sub(room);
        self.problems.extend(found.into_iter().take(room));
        if more > 0 {
            self.problems
                .push(format!("and {more} more (`incx verify` lists them all)"));
        }
    }

    /// Adds one part's comparison.
    pub fn add(&mut self, part: &crate::chain::Comparison, chain_items: u64, export_items: u64) {
        self.items_in_chain += chain_items;
        self.items_in_export += export_items;
        self.compared += part.compared;
        self.missing += part.missing_count;
        self.extra += part.extra_count;
        self.different += part.different_count;
        for (into, from) in [
            (&mut self.first_missing, &part.missing),
            (&mut self.first_extra, &part.extra),
            (&mut self.first_different, &part.different),
        ] {
            let room = FIRST_KEYS.saturating_sub(into.len());
            into.extend(from.iter().take(room).cloned());
        }
    }
}

/// The report step's answer; `FAILED` ends the execution failed, so the
/// stack's failed-executions alarm sees it too.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditOutcome {
    pub status: String,
    pub message: String,
    pub message_id: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_caught_failure_keeps_its_stage_and_the_error() {
        let given = json!({"action": "report", "executionId": "x",
            "audit": {"stage": "STARTING", "error": {"Error": "ServiceFault", "Cause": "no table"}}});
        let AuditRequest::Report { audit, .. } = serde_json::from_value(given).unwrap() else {
            panic!("not a report");
        };
        assert_eq!(audit.stage, Stage::Starting);
        assert_eq!(audit.error.unwrap().cause, "no table");
    }

    #[test]
    fn stages_round_trip_with_the_tag_the_choices_read() {
        let export = AuditExport {
            arn: "arn:e".into(),
            chain_end: "2026-12-02T10:00:00Z".into(),
            chain_end_ms: 1,
            table_size_bytes: 2,
            cost_usd: 0.5,
        };
        let state: AuditState = Stage::Comparing {
            export,
            manifest: "m".into(),
            next: 1,
            parts: 4,
            totals: Totals::default(),
        }
        .into();
        let value = serde_json::to_value(&state).unwrap();
        assert_eq!(value["stage"], "COMPARING");
        assert_eq!(value["next"], 1);
        assert_eq!(value["export"]["chainEndMs"], 1);
        assert_eq!(serde_json::from_value::<AuditState>(value).unwrap(), state);
    }

    #[test]
    fn an_unknown_action_or_stage_is_refused_by_name() {
        let e = serde_json::from_value::<AuditRequest>(
            json!({"action": "erase", "audit": {"stage": "STARTING"}}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("erase"), "{e}");
        let e = serde_json::from_value::<AuditRequest>(
            json!({"action": "check", "audit": {"stage": "DONE"}}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("DONE"), "{e}");
    }

    #[test]
    fn problems_are_kept_to_the_first_few_and_a_count_of_the_rest() {
        let mut t = Totals::default();
        t.note_problems(vec!["a gap".into()]);
        t.note_problems((0..100).map(|i| format!("checksum {i}")).collect());
        assert_eq!(t.problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(t.problems[0], "a gap");
        assert_eq!(
            t.problems[MAX_PROBLEMS - 1],
            format!("checksum {}", MAX_PROBLEMS - 2)
        );
        assert_eq!(
            t.problems[MAX_PROBLEMS],
            "and 81 more (`incx verify` lists them all)"
        );
    }

    #[test]
    fn totals_add_up_and_keep_the_first_keys_only() {
        let part = crate::chain::Comparison {
            compared: 20,
            missing: vec![],
            extra: vec!["e".into()],
            different: (0..15).map(|i| i.to_string()).collect(),
            missing_count: 0,
            extra_count: 1,
            different_count: 15,
        };
        let mut t = Totals::default();
        t.add(&part, 19, 20);
        t.add(&part, 19, 20);
        assert_eq!(
            (t.compared, t.extra, t.different, t.differences()),
            (40, 2, 30, 32)
        );
        assert_eq!((t.items_in_chain, t.items_in_export), (38, 40));
        assert_eq!(t.first_different.len(), FIRST_KEYS);
        assert_eq!(t.first_extra, vec!["e", "e"]);
    }
}
