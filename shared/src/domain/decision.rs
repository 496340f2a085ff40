//! The decision function: what one run of the workflow should do, from the
//! control, the ledger head and the table's backups at a moment in time.

use super::control::{Control, UnknownAction, WorkflowAction};
use super::export::{ExportKind, Pitr, Span};
use super::ledger::{Head, Intent, LedgerError, Mode, Tracked, WorkflowState};
use super::token::client_token;
use super::window::{horizon, WindowPlan};
use super::Epoch;
use serde::{Deserialize, Serialize};

/// The longest DUE_SOON wait: a little under the schedule's 15-minute period,
/// so a waiting execution never overlaps the next scheduled one.
pub const DUE_SOON_MAX: Epoch = 14 * 60;
/// Slack after the predicted moment a window becomes exportable.
pub const DUE_SOON_MARGIN: Epoch = 3;
/// How long after its intent an export never confirmed (no ARN recorded) is
/// asked for again with the same client token: safely under the 8 hours the
/// service remembers a token after its export finished.
pub const TOKEN_SAFE_AGE: Epoch = 7 * 3600;

/// What the decision is made from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub now: Epoch,
    /// The deployment alias (part of every client token).
    pub alias: &'a str,
    /// The operator's control as read.
    pub control: &'a Control,
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

impl OperatorReason {
    /// The kind of export the notice is about: a PITR gap stops the
    /// incremental chain; the other reasons are about the workflow itself.
    pub fn export_kind(&self) -> Option<ExportKind> {
        match self {
            Self::PitrGap { .. } => Some(ExportKind::Incremental),
            _ => None,
        }
    }
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
    /// Record this intent, then ask the service for it.
    Start(Intent),
    /// An intent is recorded but the service may not have it yet (the run
    /// that recorded it stopped before it saw an ARN): ask again with the
    /// same client token, which returns the same export if there is one.
    Restart(Intent),
    /// An intent never confirmed for so long that its client token may be
    /// forgotten: count the attempt as failed, so the next run asks with the
    /// next attempt's token.
    GiveUp {
        client_token: String,
    },
    /// An export is in flight: see it through instead of starting one.
    Resume(Tracked),
    NeedsOperator {
        reason: OperatorReason,
        /// The ledger must record PITR_GAP before the notification goes out.
        mark_pitr_gap: bool,
    },
}

/// One run's decision and its side duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The control says RESET but that very setting was already carried out
    /// (setting it back to RUN was cut short): set it back to RUN now.
    pub acknowledge_reset: bool,
    pub decision: Decision,
}

/// This very setting of RESET was already carried out by a full export (its
/// setting the control back to RUN was cut short): it counts as RUN.
pub fn reset_done(control: &Control, head: &Head) -> bool {
    control.version.is_some()
        && head.reset_version == control.version
        && head.mode == Mode::Incremental
}

fn is_reset(control: &Control) -> bool {
    control.value.as_deref() == Some(WorkflowAction::ResetWithFullExportAgain.as_str())
}

/// After recording an export: whether the control goes back to RUN. Only if
/// it still says RESET, that setting is the one the chain's full export
/// carried out, and no other full export is in flight (an operator's newer
/// PAUSE or RESET stays).
pub fn acknowledge_after_export(control: &Control, head: &Head) -> bool {
    is_reset(control)
        && control.version.is_some()
        && control.version == head.reset_version
        && head
            .in_flight
            .as_ref()
            .is_none_or(|f| f.intent.kind != ExportKind::Full)
}

/// What this run does, and whether the control must be set back to RUN.
pub fn plan(facts: &Facts, plan: WindowPlan) -> Plan {
    Plan {
        acknowledge_reset: is_reset(facts.control) && reset_done(facts.control, facts.head),
        decision: decide(facts, plan),
    }
}

/// An export in flight: watch it, ask again for it, or give it up.
fn in_flight(facts: &Facts, flight: &super::ledger::InFlight) -> Decision {
    if let Some(tracked) = flight.tracked() {
        return Decision::Resume(tracked);
    }
    if facts.now - flight.intent.started_at >= TOKEN_SAFE_AGE {
        return Decision::GiveUp {
            client_token: flight.intent.client_token.clone(),
        };
    }
    Decision::Restart(flight.intent.clone())
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
    let action = match facts.control.value.as_deref().map(WorkflowAction::parse) {
        None => return operator(OperatorReason::ControlMissing),
        Some(Err(UnknownAction { shown })) => {
            return operator(OperatorReason::UnknownControl { shown })
        }
        Some(Ok(WorkflowAction::ResetWithFullExportAgain)) if reset_done(facts.control, head) => {
            WorkflowAction::Run
        }
        Some(Ok(a)) => a,
    };
    // An export in flight is always seen through, whatever the control says:
    // it exists (or may) and its window must be recorded.
    if let Some(flight) = &head.in_flight {
        return in_flight(facts, flight);
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
        .then_some(facts.control.version)
        .flatten();
    let start = |kind, span: Span, attempt, chain, reset_version| {
        Decision::Start(Intent {
            kind,
            span,
            attempt,
            client_token: client_token(facts.alias, kind, span, attempt),
            started_at: facts.now,
            chain,
            reset_version,
        })
    };
    let full = |attempt| {
        start(
            ExportKind::Full,
            Span {
                from: None,
                to: edge,
            },
            attempt,
            head.chain + 1,
            reset_version,
        )
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
            start(
                ExportKind::Incremental,
                span,
                head.next_attempt(ExportKind::Incremental, Some(span)),
                head.chain,
                None,
            )
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

    fn control(value: &str, version: i64) -> Control {
        Control {
            value: Some(value.into()),
            version: Some(version),
        }
    }

    fn facts<'a>(now: Epoch, control: &'a Control, head: &'a Head) -> Facts<'a> {
        Facts {
            now,
            alias: "orders",
            control,
            head,
            pitr: pitr(now),
            exports_done: 0,
        }
    }

    fn intent(kind: ExportKind, span: Span, token: &str, at: Epoch) -> Intent {
        Intent {
            kind,
            span,
            attempt: 1,
            client_token: token.into(),
            started_at: at,
            chain: 1,
            reset_version: None,
        }
    }

    fn chain_at(f: Epoch) -> Head {
        let full = intent(ExportKind::Full, Span { from: None, to: f }, "t", f);
        let h = Head::default().begin(0, full, f).unwrap().unwrap();
        h.complete("t", &ExportResult::default(), f).unwrap().0
    }

    fn started(d: Decision) -> Intent {
        match d {
            Decision::Start(i) => i,
            other => panic!("expected a start, got {other:?}"),
        }
    }

    #[test]
    fn first_run_starts_a_full_export_at_the_horizon() {
        let head = Head::default();
        let run = control("RUN", 1);
        let i = started(decide(&facts(100 * M, &run, &head), PLAN));
        assert_eq!(i.kind, ExportKind::Full);
        assert_eq!(
            i.span,
            Span {
                from: None,
                to: 95 * M
            }
        );
        assert_eq!((i.attempt, i.chain, i.reset_version), (1, 1, None));
        assert_eq!(i.started_at, 100 * M);
        assert_eq!(
            i.client_token,
            client_token("orders", ExportKind::Full, i.span, 1)
        );
    }

    #[test]
    fn incremental_when_due_not_due_or_due_soon() {
        let head = chain_at(0);
        let run = control("RUN", 1);
        // Window [0, 15) exportable once latest (now - 5) >= 15.
        let i = started(decide(&facts(21 * M, &run, &head), PLAN));
        assert_eq!(i.kind, ExportKind::Incremental);
        assert_eq!(
            i.span,
            Span {
                from: Some(0),
                to: 15 * M
            }
        );
        assert_eq!(
            decide(&facts(19 * M, &run, &head), PLAN),
            Decision::DueSoon {
                wait_seconds: M + DUE_SOON_MARGIN
            }
        );
        let mut f = facts(19 * M, &run, &head);
        f.exports_done = 1;
        assert_eq!(
            decide(&f, PLAN),
            Decision::NotDue {
                exportable_at: Some(20 * M)
            }
        );
        // Far from due: not due.
        assert!(matches!(
            decide(&facts(2 * M, &run, &head), PLAN),
            Decision::NotDue { .. }
        ));
    }

    #[test]
    fn pause_unknown_and_missing_control() {
        let head = chain_at(0);
        let pause = control("PAUSE", 1);
        assert_eq!(
            decide(&facts(60 * M, &pause, &head), PLAN),
            Decision::Paused
        );
        let typo = control("pause", 1);
        let d = decide(&facts(60 * M, &typo, &head), PLAN);
        match d {
            Decision::NeedsOperator {
                reason: r @ OperatorReason::UnknownControl { .. },
                mark_pitr_gap: false,
            } => assert_eq!(r.export_kind(), None),
            other => panic!("{other:?}"),
        }
        let missing = Control::default();
        assert!(matches!(
            decide(&facts(60 * M, &missing, &head), PLAN),
            Decision::NeedsOperator {
                reason: OperatorReason::ControlMissing,
                ..
            }
        ));
    }

    #[test]
    fn pitr_disabled_and_gap() {
        let head = chain_at(0);
        let run = control("RUN", 1);
        let mut f = facts(60 * M, &run, &head);
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
        match decide(&f, PLAN) {
            Decision::NeedsOperator {
                reason: r @ OperatorReason::PitrGap { .. },
                mark_pitr_gap: true,
            } => assert_eq!(r.export_kind(), Some(ExportKind::Incremental)),
            other => panic!("{other:?}"),
        }
        // Reset recovers from a gap with a new chain.
        let reset = control("RESET_WITH_FULL_EXPORT_AGAIN", 2);
        f.control = &reset;
        let i = started(decide(&f, PLAN));
        assert_eq!(
            (i.kind, i.chain, i.reset_version),
            (ExportKind::Full, 2, Some(2))
        );
    }

    #[test]
    fn in_flight_is_resumed_even_when_paused() {
        let mut head = chain_at(0);
        let span = Span {
            from: Some(0),
            to: 15 * M,
        };
        head.in_flight = Some(super::super::ledger::InFlight {
            intent: intent(ExportKind::Incremental, span, "x", 21 * M),
            export_arn: Some("arn".into()),
        });
        let pause = control("PAUSE", 1);
        assert!(matches!(
            decide(&facts(60 * M, &pause, &head), PLAN),
            Decision::Resume(t) if t.export_arn == "arn"
        ));
    }

    #[test]
    fn an_unconfirmed_intent_is_asked_again_then_given_up_when_its_token_may_be_gone() {
        let mut head = chain_at(0);
        let span = Span {
            from: Some(0),
            to: 15 * M,
        };
        let recorded = intent(ExportKind::Incremental, span, "x", 21 * M);
        head.in_flight = Some(recorded.clone().into());
        let run = control("RUN", 1);
        let soon = 21 * M + TOKEN_SAFE_AGE - 1;
        assert_eq!(
            decide(&facts(soon, &run, &head), PLAN),
            Decision::Restart(recorded)
        );
        assert_eq!(
            decide(&facts(soon + 1, &run, &head), PLAN),
            Decision::GiveUp {
                client_token: "x".into()
            }
        );
    }

    #[test]
    fn a_reset_already_done_counts_as_run_and_is_acknowledged() {
        // The chain's full export carried out the control's version 1.
        let mut head = chain_at(100 * M);
        head.reset_version = Some(1);
        let reset = control("RESET_WITH_FULL_EXPORT_AGAIN", 1);
        let f = facts(130 * M, &reset, &head);
        assert!(reset_done(&reset, &head));
        let p = plan(&f, PLAN);
        assert!(p.acknowledge_reset);
        assert_eq!(started(p.decision).kind, ExportKind::Incremental);
        // The operator set RESET again (version 2): a new full export for it,
        // and the control stays RESET until that one completes.
        let again = control("RESET_WITH_FULL_EXPORT_AGAIN", 2);
        let p = plan(&facts(130 * M, &again, &head), PLAN);
        assert!(!p.acknowledge_reset);
        let i = started(p.decision);
        assert_eq!((i.kind, i.reset_version), (ExportKind::Full, Some(2)));
    }

    #[test]
    fn the_control_goes_back_to_run_only_after_that_resets_full_export() {
        let mut head = chain_at(100 * M);
        head.reset_version = Some(3);
        assert!(acknowledge_after_export(
            &control("RESET_WITH_FULL_EXPORT_AGAIN", 3),
            &head
        ));
        // A newer RESET, a PAUSE set in between, or no version: left alone.
        assert!(!acknowledge_after_export(
            &control("RESET_WITH_FULL_EXPORT_AGAIN", 4),
            &head
        ));
        assert!(!acknowledge_after_export(&control("PAUSE", 3), &head));
        assert!(!acknowledge_after_export(&Control::default(), &head));
        // A full export still in flight: not yet.
        head.in_flight = Some(
            intent(
                ExportKind::Full,
                Span {
                    from: None,
                    to: 200 * M,
                },
                "g",
                200 * M,
            )
            .into(),
        );
        assert!(!acknowledge_after_export(
            &control("RESET_WITH_FULL_EXPORT_AGAIN", 3),
            &head
        ));
    }

    #[test]
    fn a_failed_window_is_retried_as_it_was() {
        let head = chain_at(0);
        let span = Span {
            from: Some(0),
            to: 15 * M,
        };
        let head = head
            .begin(
                head.version,
                intent(ExportKind::Incremental, span, "x", 21 * M),
                21 * M,
            )
            .unwrap()
            .unwrap();
        let (head, _) = head.fail("x", "S3NoSuchBucket", "gone", 25 * M).unwrap();
        // An hour later the backlog would coalesce, but the failed window comes first.
        let run = control("RUN", 1);
        let i = started(decide(&facts(80 * M, &run, &head), PLAN));
        assert_eq!(i.span, span);
        assert_eq!(i.attempt, 2);
    }
}
