//! The original sample's read-only SSM parameters, derived from the ledger
//! head: a view for existing dashboards and runbooks, never a source.

use super::export::ExportKind;
use super::ledger::{Head, Mode, WorkflowState};
use super::Epoch;

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
}
