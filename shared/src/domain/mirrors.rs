//! The original sample's read-only SSM parameters, derived from the ledger
//! head: a view for existing dashboards and runbooks, never a source.

use super::export::ExportKind;
use super::ledger::{Head, Mode, WorkflowState};
use super::timefmt::rfc3339;
use super::Epoch;
use std::collections::BTreeMap;

/// The four parameters under `/incremental-export/<alias>/`.
pub const FULL_EXPORT_TIME: &str = "full-export-time";
pub const LAST_INCREMENTAL_EXPORT_TIME: &str = "last-incremental-export-time";
pub const WORKFLOW_INITIATED: &str = "workflow-initiated";
pub const WORKFLOW_STATE: &str = "workflow-state";
pub const NAMES: [&str; 4] = [
    FULL_EXPORT_TIME,
    LAST_INCREMENTAL_EXPORT_TIME,
    WORKFLOW_INITIATED,
    WORKFLOW_STATE,
];

/// One mirror write: put this value, or delete the parameter.
pub type Write = (&'static str, Option<String>);

/// What the four mirrors should say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mirrors {
    pub full_export_time: Option<Epoch>,
    /// `None` deletes the parameter (no incremental export in this chain yet).
    pub last_incremental_export_time: Option<Epoch>,
    /// `true`, `false` or `NULL`, as the original wrote it.
    pub workflow_initiated: Option<&'static str>,
    pub workflow_state: WorkflowState,
}

impl Mirrors {
    /// The mirrors of a ledger head, with the original's meanings:
    /// `workflow-initiated` is `NULL` while a full export runs and `false`
    /// after a failed one.
    pub fn of(head: &Head) -> Self {
        let full_in_flight = head
            .in_flight
            .as_ref()
            .is_some_and(|f| f.intent.kind == ExportKind::Full);
        let full_failed = head.mode == Mode::NeedsFullExport
            && head
                .last_failure
                .as_ref()
                .is_some_and(|f| f.kind == ExportKind::Full);
        let workflow_initiated = if full_in_flight {
            Some("NULL")
        } else if full_failed {
            Some("false")
        } else if head.mode == Mode::Incremental {
            Some("true")
        } else {
            None
        };
        let last_incremental_export_time = match (head.watermark, head.full_export_time) {
            (Some(w), Some(f)) if w > f && head.mode == Mode::Incremental => Some(w),
            _ => None,
        };
        Self {
            full_export_time: head.full_export_time,
            last_incremental_export_time,
            workflow_initiated,
            workflow_state: head.state,
        }
    }
}

impl Mirrors {
    /// What each parameter should hold: `Some(Some(v))` put `v`,
    /// `Some(None)` delete, `None` leave as it is (nothing known yet).
    fn wanted(&self) -> [(&'static str, Option<Option<String>>); 4] {
        [
            (
                FULL_EXPORT_TIME,
                self.full_export_time.map(|t| Some(rfc3339(t))),
            ),
            (
                LAST_INCREMENTAL_EXPORT_TIME,
                Some(self.last_incremental_export_time.map(rfc3339)),
            ),
            (
                WORKFLOW_INITIATED,
                self.workflow_initiated.map(|v| Some(v.to_string())),
            ),
            (
                WORKFLOW_STATE,
                Some(Some(self.workflow_state.as_str().to_string())),
            ),
        ]
    }

    /// The parameters as these mirrors leave them (absent: deleted or never
    /// written).
    pub fn stored(&self) -> BTreeMap<String, String> {
        self.wanted()
            .into_iter()
            .filter_map(|(name, want)| Some((name.to_string(), want??)))
            .collect()
    }

    /// The writes that bring the parameters as they are (`current`, by
    /// name) in line with these mirrors: stale values left by anyone (a
    /// cut-short run, the original sample) are rewritten.
    pub fn changes(&self, current: &BTreeMap<String, String>) -> Vec<Write> {
        self.wanted()
            .into_iter()
            .filter_map(|(name, want)| match want {
                Some(v) if current.get(name) != v.as_ref() => Some((name, v)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::{ExportResult, Span};
    use crate::domain::ledger::Intent;

    fn full(to: Epoch) -> Intent {
        Intent {
            kind: ExportKind::Full,
            span: Span { from: None, to },
            attempt: 1,
            client_token: "f".into(),
            started_at: to,
            chain: 1,
            reset_version: None,
            reset_modified: None,
            from_ms: None,
            note: None,
        }
    }

    #[test]
    fn follow_the_originals_meanings() {
        let empty = Mirrors::of(&Head::default());
        assert_eq!(empty.workflow_initiated, None);
        let running = Head::default().begin(0, full(1000), 1).unwrap().unwrap();
        assert_eq!(Mirrors::of(&running).workflow_initiated, Some("NULL"));
        let (failed, _) = running.fail("f", "S3NoSuchBucket", "gone", 2).unwrap();
        assert_eq!(Mirrors::of(&failed).workflow_initiated, Some("false"));
        let (done, _) = running.complete("f", &ExportResult::default(), 3).unwrap();
        let m = Mirrors::of(&done);
        assert_eq!(m.workflow_initiated, Some("true"));
        assert_eq!(m.full_export_time, Some(1000));
        // No incremental export yet: the parameter is absent.
        assert_eq!(m.last_incremental_export_time, None);
    }

    #[test]
    fn stale_mirrors_are_rewritten_and_only_those() {
        let (done, _) = Head::default()
            .begin(0, full(1000), 1)
            .unwrap()
            .unwrap()
            .complete("f", &ExportResult::default(), 3)
            .unwrap();
        let m = Mirrors::of(&done);
        // The original's leftovers: an old time, a gap, a stale increment.
        let current: BTreeMap<String, String> = [
            (FULL_EXPORT_TIME, "2020-01-01T00:00:00Z"),
            (WORKFLOW_STATE, "PITR_GAP"),
            (WORKFLOW_INITIATED, "true"),
            (LAST_INCREMENTAL_EXPORT_TIME, "2020-01-02T00:00:00Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            m.changes(&current),
            vec![
                (FULL_EXPORT_TIME, Some(rfc3339(1000))),
                (LAST_INCREMENTAL_EXPORT_TIME, None),
                (WORKFLOW_STATE, Some("NORMAL".to_string())),
            ]
        );
        // In line: nothing to write; nothing known yet: nothing either.
        let mut fixed = current.clone();
        fixed.insert(FULL_EXPORT_TIME.into(), rfc3339(1000));
        fixed.insert(WORKFLOW_STATE.into(), "NORMAL".into());
        fixed.remove(LAST_INCREMENTAL_EXPORT_TIME);
        assert!(m.changes(&fixed).is_empty());
        let fresh = Mirrors::of(&Head::default());
        assert_eq!(
            fresh.changes(&BTreeMap::new()),
            vec![(WORKFLOW_STATE, Some("NORMAL".to_string()))]
        );
    }
}
