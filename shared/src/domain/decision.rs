//! The decision function: what one run of the workflow should do, from the
//! control, the ledger head and the table's backups at a moment in time.

use super::control::{UnknownAction, WorkflowAction};
use super::export::{ExportKind, Pitr, Span};
use super::ledger::{Head, InFlight, LedgerError, Mode, WorkflowState};
use super::window::{horizon, WindowPlan};
use super::Epoch;
use serde::{Deserialize, Serialize};

/// The longest DUE_SOON wait: a little under the schedule's 15-minute period,
/// so a waiting execution never overlaps the next scheduled one.
pub const DUE_SOON_MAX: Epoch = 14 * 60;
/// Slack after the predicted moment a window becomes exportable.
pub const DUE_SOON_MARGIN: Epoch = 3;

/// What the decision is made from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub now: Epoch,
    /// The raw `workflow-action` value, `None` when the parameter is missing.
    pub control: Option<&'a str>,
    /// The control's version (SSM bumps it on every put).
    pub control_version: Option<i64>,
    pub head: &'a Head,
    pub pitr: Pitr,
    /// Exports this execution has already finished (DUE_SOON only before the
    /// first, so a draining execution never waits into the next schedule).
    pub exports_done: u32,
}

/// Why a person must act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorReason {
    UnknownControl { shown: String },
    ControlMissing,
    PitrDisabled,
    PitrGap { watermark: Epoch, earliest: Epoch },
    FutureLedger { found: u32 },
    TableNotFound,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Paused,
    NotDue {
        exportable_at: Option<Epoch>,
    },
    DueSoon {
        wait_seconds: Epoch,
    },
    Start {
        kind: ExportKind,
        span: Span,
        attempt: u32,
        chain: u32,
        /// The RESET control's version this full export carries out.
        reset_version: Option<i64>,
    },
    /// An export is already recorded: see it through instead of starting one.
    /// Without an ARN the service may not have it yet: ask again, same token.
    Resume {
        flight: InFlight,
    },
    NeedsOperator {
        reason: OperatorReason,
        /// The ledger must record PITR_GAP before the notification goes out.
        mark_pitr_gap: bool,
    },
}

/// This very setting of RESET was already carried out by a full export (its
/// setting the control back to RUN was cut short): it counts as RUN.
pub fn reset_done(facts: &Facts) -> bool {
    facts.control_version.is_some()
        && facts.head.reset_version == facts.control_version
        && facts.head.mode == Mode::Incremental
}

pub fn decide(facts: &Facts, plan: WindowPlan) -> Decision {
    let head = facts.head;
    let operator = |reason| Decision::NeedsOperator {
        reason,
        mark_pitr_gap: false,
    };
    if let Err(LedgerError::FutureFormat { found }) = head.check_format() {
        return operator(OperatorReason::FutureLedger { found });
    }
    let action = match facts.control.map(WorkflowAction::parse) {
        None => return operator(OperatorReason::ControlMissing),
        Some(Err(UnknownAction { shown })) => {
            return operator(OperatorReason::UnknownControl { shown })
        }
        Some(Ok(WorkflowAction::ResetWithFullExportAgain)) if reset_done(facts) => {
            WorkflowAction::Run
        }
        Some(Ok(a)) => a,
    };
    // An export in flight is always seen through, whatever the control says:
    // it exists (or may) and its window must be recorded.
    if let Some(flight) = &head.in_flight {
        return Decision::Resume {
            flight: flight.clone(),
        };
    }
    if action == WorkflowAction::Pause {
        return Decision::Paused;
    }
    let (earliest, latest) = match facts.pitr {
        Pitr::Disabled => return operator(OperatorReason::PitrDisabled),
        Pitr::Enabled { earliest, latest } => (earliest, latest),
    };
    let edge = horizon(facts.now, latest);
    let reset_version = (action == WorkflowAction::ResetWithFullExportAgain)
        .then_some(facts.control_version)
        .flatten();
    let full = |attempt| Decision::Start {
        kind: ExportKind::Full,
        span: Span {
            from: None,
            to: edge,
        },
        attempt,
        chain: head.chain + 1,
        reset_version,
    };
    if action == WorkflowAction::ResetWithFullExportAgain || head.mode == Mode::NeedsFullExport {
        let attempt = if action == WorkflowAction::ResetWithFullExportAgain
            && head.mode == Mode::Incremental
        {
            1
        } else {
            head.next_attempt(ExportKind::Full, None)
        };
        return full(attempt);
    }
    let Some(watermark) = head.watermark else {
        return full(1);
    };
    if head.state == WorkflowState::PitrGap {
        return operator(OperatorReason::PitrGap {
            watermark,
            earliest,
        });
    }
    if watermark < earliest {
        return Decision::NeedsOperator {
            reason: OperatorReason::PitrGap {
                watermark,
                earliest,
            },
            mark_pitr_gap: true,
        };
    }
    // A failed window is retried as it was, before any coalescing.
    let retry = head
        .last_failure
        .as_ref()
        .filter(|f| f.kind == ExportKind::Incremental && f.span.from == Some(watermark));
    let window = match retry {
        Some(f) if f.span.to <= edge => Some((watermark, f.span.to)),
        Some(_) => None,
        None => plan.next_window(watermark, edge),
    };
    match window {
        Some((from, to)) => {
            let span = Span {
                from: Some(from),
                to,
            };
            Decision::Start {
                kind: ExportKind::Incremental,
                span,
                attempt: head.next_attempt(ExportKind::Incremental, Some(span)),
                chain: head.chain,
                reset_version: None,
            }
        }
        None => {
            let end = retry
                .map(|f| f.span.to)
                .unwrap_or_else(|| plan.next_end(watermark));
            // The latest restorable time trails now; the window is exportable
            // once both have passed its end.
            let lag = (facts.now - latest).max(0);
            let exportable_at = end + lag;
            let wait = exportable_at - facts.now + DUE_SOON_MARGIN;
            if facts.exports_done == 0 && wait <= DUE_SOON_MAX {
                Decision::DueSoon {
                    wait_seconds: wait.max(1),
                }
            } else {
                Decision::NotDue {
                    exportable_at: Some(exportable_at),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::ExportResult;
    use crate::domain::ledger::InFlight;

    const M: Epoch = 60;
    const PLAN: WindowPlan = WindowPlan {
        size: 15 * M,
        max_catch_up: 1440 * M,
    };

    fn pitr(now: Epoch) -> Pitr {
        Pitr::Enabled {
            earliest: 0,
            latest: now - 5 * M,
        }
    }

    fn facts<'a>(now: Epoch, control: &'a str, head: &'a Head) -> Facts<'a> {
        Facts {
            now,
            control: Some(control),
            control_version: Some(1),
            head,
            pitr: pitr(now),
            exports_done: 0,
        }
    }

    fn chain_at(f: Epoch) -> Head {
        let flight = InFlight {
            kind: ExportKind::Full,
            span: Span { from: None, to: f },
            attempt: 1,
            client_token: "t".into(),
            export_arn: Some("a".into()),
            started_at: f,
            chain: 1,
            reset_version: None,
        };
        let h = Head::default().begin(0, flight, f).unwrap().unwrap();
        h.complete("t", &ExportResult::default(), f).unwrap().0
    }

    #[test]
    fn first_run_starts_a_full_export_at_the_horizon() {
        let head = Head::default();
        let d = decide(&facts(100 * M, "RUN", &head), PLAN);
        assert_eq!(
            d,
            Decision::Start {
                kind: ExportKind::Full,
                span: Span {
                    from: None,
                    to: 95 * M
                },
                attempt: 1,
                chain: 1,
                reset_version: None
            }
        );
    }

    #[test]
    fn incremental_when_due_not_due_or_due_soon() {
        let head = chain_at(0);
        // Window [0, 15) exportable once latest (now - 5) >= 15.
        match decide(&facts(21 * M, "RUN", &head), PLAN) {
            Decision::Start { kind, span, .. } => {
                assert_eq!(kind, ExportKind::Incremental);
                assert_eq!(
                    span,
                    Span {
                        from: Some(0),
                        to: 15 * M
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide(&facts(19 * M, "RUN", &head), PLAN),
            Decision::DueSoon {
                wait_seconds: M + DUE_SOON_MARGIN
            }
        );
        let mut f = facts(19 * M, "RUN", &head);
        f.exports_done = 1;
        assert_eq!(
            decide(&f, PLAN),
            Decision::NotDue {
                exportable_at: Some(20 * M)
            }
        );
        // Far from due: not due.
        assert!(matches!(
            decide(&facts(2 * M, "RUN", &head), PLAN),
            Decision::NotDue { .. }
        ));
    }

    #[test]
    fn pause_unknown_and_missing_control() {
        let head = chain_at(0);
        assert_eq!(
            decide(&facts(60 * M, "PAUSE", &head), PLAN),
            Decision::Paused
        );
        assert!(matches!(
            decide(&facts(60 * M, "pause", &head), PLAN),
            Decision::NeedsOperator {
                reason: OperatorReason::UnknownControl { .. },
                mark_pitr_gap: false
            }
        ));
        let mut f = facts(60 * M, "RUN", &head);
        f.control = None;
        assert!(matches!(
            decide(&f, PLAN),
            Decision::NeedsOperator {
                reason: OperatorReason::ControlMissing,
                ..
            }
        ));
    }

    #[test]
    fn pitr_disabled_and_gap() {
        let head = chain_at(0);
        let mut f = facts(60 * M, "RUN", &head);
        f.pitr = Pitr::Disabled;
        assert!(matches!(
            decide(&f, PLAN),
            Decision::NeedsOperator {
                reason: OperatorReason::PitrDisabled,
                mark_pitr_gap: false
            }
        ));
        f.pitr = Pitr::Enabled {
            earliest: 30 * M,
            latest: 55 * M,
        };
        assert!(matches!(
            decide(&f, PLAN),
            Decision::NeedsOperator {
                reason: OperatorReason::PitrGap { .. },
                mark_pitr_gap: true
            }
        ));
        // Reset recovers from a gap with a new chain.
        f.control = Some("RESET_WITH_FULL_EXPORT_AGAIN");
        assert!(matches!(
            decide(&f, PLAN),
            Decision::Start {
                kind: ExportKind::Full,
                chain: 2,
                ..
            }
        ));
    }

    #[test]
    fn in_flight_is_resumed_even_when_paused() {
        let mut head = chain_at(0);
        head.in_flight = Some(InFlight {
            kind: ExportKind::Incremental,
            span: Span {
                from: Some(0),
                to: 15 * M,
            },
            attempt: 1,
            client_token: "x".into(),
            export_arn: None,
            started_at: 21 * M,
            chain: 1,
            reset_version: None,
        });
        assert!(matches!(
            decide(&facts(60 * M, "PAUSE", &head), PLAN),
            Decision::Resume { .. }
        ));
    }

    #[test]
    fn a_reset_already_done_counts_as_run() {
        // The chain's full export carried out the control's version 1.
        let mut head = chain_at(100 * M);
        head.reset_version = Some(1);
        let mut f = facts(130 * M, "RESET_WITH_FULL_EXPORT_AGAIN", &head);
        f.control_version = Some(1);
        assert!(reset_done(&f));
        assert!(matches!(
            decide(&f, PLAN),
            Decision::Start {
                kind: ExportKind::Incremental,
                ..
            }
        ));
        // The operator set RESET again (version 2): a new full export for it.
        f.control_version = Some(2);
        assert!(matches!(
            decide(&f, PLAN),
            Decision::Start {
                kind: ExportKind::Full,
                reset_version: Some(2),
                ..
            }
        ));
    }

    #[test]
    fn a_failed_window_is_retried_as_it_was() {
        let head = chain_at(0);
        let flight = InFlight {
            kind: ExportKind::Incremental,
            span: Span {
                from: Some(0),
                to: 15 * M,
            },
            attempt: 1,
            client_token: "x".into(),
            export_arn: Some("arn".into()),
            started_at: 21 * M,
            chain: 1,
            reset_version: None,
        };
        let head = head.begin(head.version, flight, 21 * M).unwrap().unwrap();
        let (head, _) = head.fail("x", "S3NoSuchBucket", "gone", 25 * M).unwrap();
        // An hour later the backlog would coalesce, but the failed window comes first.
        match decide(&facts(80 * M, "RUN", &head), PLAN) {
            Decision::Start { span, attempt, .. } => {
                assert_eq!(
                    span,
                    Span {
                        from: Some(0),
                        to: 15 * M
                    }
                );
                assert_eq!(attempt, 2);
            }
            other => panic!("{other:?}"),
        }
    }
}
