//! Watching an export: what one look at it means, how long a watcher's
//! lease lasts, when an export the service does not show is believed to
//! exist, and when a run hands its export over to the next one.

use super::export::{ExportResult, ExportStatus};
use super::ledger::Tracked;
use super::Epoch;

/// A watcher's lease: longer than the longest gap between two of its looks
/// (the poll Retry's 300-second cap, or a WaitForExport of at most 600
/// seconds), plus two minutes for clock skew between functions. Shorter
/// than the shortest schedule interval (15 minutes), so the next scheduled
/// run takes over from a watcher that died.
pub const LEASE: Epoch = 12 * 60;
/// The service's listing and DescribeExport are eventually consistent: an
/// export it has not shown yet is believed to run for this long after it
/// was asked for (published cases show minutes; 15 minutes is tested).
pub const VISIBILITY_GRACE: Epoch = 60 * 60;
/// An execution hands its export over to the next run this long after it
/// started, well before the state machine's own timeout (six hours), so an
/// export longer than a run is never left unrecorded by a timed-out run.
pub const RUN_BUDGET: Epoch = 5 * 60 * 60;

/// What one look at an export means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// Still running (or not shown yet): look again later.
    Running,
    Completed(ExportResult),
    Failed {
        code: String,
        message: String,
    },
    /// This run has watched long enough: the next run takes over.
    HandOver {
        why: String,
    },
}

/// When the service started the export: its export id is that time in
/// epoch milliseconds (`.../export/01700000000000-1a2b3c4d`). The intent's
/// time when the ARN does not say (the export may have been asked for much
/// later than the intent was recorded, after an outage).
pub fn started_at(export: &Tracked) -> Epoch {
    arn_time(&export.export_arn).unwrap_or(export.intent.started_at)
}

/// The start time an export ARN carries in its export id, if it does.
pub fn arn_time(arn: &str) -> Option<Epoch> {
    arn.rsplit_once("/export/")
        .and_then(|(_, id)| id.split('-').next())
        .filter(|ms| ms.len() >= 13 && ms.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|ms| ms.parse::<i64>().ok())
        .map(|ms| ms / 1000)
}

/// Interprets the service's answer (`None`: it does not know the export).
pub fn look(
    answer: Option<ExportStatus>,
    export: &Tracked,
    run_started: Option<Epoch>,
    now: Epoch,
) -> Look {
    let asked = started_at(export).max(export.intent.started_at);
    let status = match answer {
        Some(s) => s,
        None if now - asked < VISIBILITY_GRACE => ExportStatus::InProgress,
        None => {
            return Look::Failed {
                code: "ExportNotFound".into(),
                message: format!(
                    "the service has not known this export for {} s since it started it",
                    now - asked
                ),
            }
        }
    };
    match status {
        ExportStatus::Completed(r) => Look::Completed(r),
        ExportStatus::Failed { code, message } => Look::Failed { code, message },
        ExportStatus::InProgress => match run_started {
            Some(started) if now - started >= RUN_BUDGET => Look::HandOver {
                why: format!(
                    "this run started {} s ago; the next run takes over",
                    now - started
                ),
            },
            _ => Look::Running,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::{ExportKind, Span};
    use crate::domain::ledger::Intent;

    fn export(arn: &str) -> Tracked {
        Tracked {
            intent: intent(),
            export_arn: arn.into(),
        }
    }

    fn intent() -> Intent {
        Intent {
            kind: ExportKind::Incremental,
            span: Span {
                from: Some(0),
                to: 900,
            },
            attempt: 1,
            client_token: "t".into(),
            started_at: 1000,
            chain: 1,
            reset_version: None,
            reset_modified: None,
            from_ms: None,
            note: None,
        }
    }

    #[test]
    fn an_export_not_shown_yet_runs_until_the_grace_is_over() {
        let i = export("arn:aws:dynamodb:r:1:table/t/export/x");
        assert_eq!(started_at(&i), 1000);
        assert_eq!(look(None, &i, None, 1000 + 15 * 60), Look::Running);
        assert_eq!(
            look(None, &i, None, 1000 + VISIBILITY_GRACE - 1),
            Look::Running
        );
        assert!(matches!(
            look(None, &i, None, 1000 + VISIBILITY_GRACE),
            Look::Failed { code, .. } if code == "ExportNotFound"
        ));
        // Asked for hours after its intent (an outage in between): the
        // grace counts from the export's own start, in its id.
        let late = export("arn:aws:dynamodb:r:1:table/t/export/00010000000000-1a2b3c4d");
        assert_eq!(started_at(&late), 10_000_000);
        assert_eq!(look(None, &late, None, 10_000_000 + 60), Look::Running);
    }

    #[test]
    fn a_long_run_hands_over_and_a_finished_export_is_reported() {
        let i = export("arn");
        let running = Some(ExportStatus::InProgress);
        assert_eq!(
            look(running.clone(), &i, Some(0), RUN_BUDGET - 1),
            Look::Running
        );
        assert!(matches!(
            look(running, &i, Some(0), RUN_BUDGET),
            Look::HandOver { .. }
        ));
        let done = ExportResult::default();
        assert_eq!(
            look(
                Some(ExportStatus::Completed(done.clone())),
                &i,
                Some(0),
                RUN_BUDGET
            ),
            Look::Completed(done)
        );
    }
}
