//! The decision function: what one run of the workflow should do, from the
//! control, the ledger head and the table's backups at a moment in time.

use super::control::{Control, UnknownAction, WorkflowAction};
use super::export::{ExportKind, Pitr, Span};
use super::ledger::{
    CatalogEntry, Head, InFlight, Intent, LedgerError, Mode, Tracked, WorkflowState,
};
use super::token::client_token;
use super::window::{horizon, WindowPlan};
use super::Epoch;
use serde::{Deserialize, Serialize};

/// The longest DUE_SOON wait: a little under the schedule's 15-minute period,
/// so a waiting execution never overlaps the next scheduled one.
pub const DUE_SOON_MAX: Epoch = 14 * 60;
/// Slack after the predicted moment a window becomes exportable.
pub const DUE_SOON_MARGIN: Epoch = 3;
/// A catalog entry still unannounced this long after it was recorded lost its
/// notification (the execution that recorded it announces it within seconds).
pub const ANNOUNCE_GRACE: Epoch = 120;

/// What the decision is made from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub now: Epoch,
    /// The deployment alias (part of every client token).
    pub alias: &'a str,
    /// The execution deciding (a lease names it).
    pub execution_id: &'a str,
    /// The operator's control as read (`value` `None`: the parameter is
    /// missing, and is created with RUN, as the original did at run time).
    pub control: &'a Control,
    pub head: &'a Head,
    pub pitr: Pitr,
    /// Exports this execution has already finished (DUE_SOON only before the
    /// first, so an execution that exported never waits into the next run).
    pub exports_done: u32,
    /// The newest catalog entries, newest first.
    pub recent: &'a [CatalogEntry],
    /// This execution already tried to announce what was pending.
    pub announce_tried: bool,
}

/// Why a person must act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorReason {
    UnknownControl { shown: String },
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
    /// An intent is recorded but its ARN was never seen (the run that
    /// recorded it stopped before): ask again for it. start-export finds
    /// the export if the service has it, else asks with the same token.
    Restart(Intent),
    /// An export is in flight and nobody watches it: watch it.
    Resume(Tracked),
    /// An export is in flight and another execution watches it: leave it.
    Watched {
        watcher: String,
        until: Epoch,
    },
    /// Catalog entries whose notification never went out (sort keys): send
    /// them before anything else.
    Announce(Vec<String>),
    NeedsOperator {
        reason: OperatorReason,
        /// The ledger must record PITR_GAP before the notification goes out.
        mark_pitr_gap: bool,
    },
}

/// One run's decision and its side duties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The control is missing: create it with RUN (the run goes on as RUN).
    pub create_control: bool,
    /// The control says RESET but that very setting was already carried out
    /// (setting it back to RUN was cut short): set it back to RUN now.
    pub acknowledge_reset: bool,
    pub decision: Decision,
}

/// This very setting of RESET was already carried out by a full export (its
/// setting the control back to RUN was cut short): it counts as RUN. A
/// setting is its version and its modification time, so a control made anew
/// by a redeploy (versions start again at 1) is never taken for an old one.
pub fn reset_done(control: &Control, head: &Head) -> bool {
    let (Some(setting), Some(done)) = (control.setting(), head.reset_setting()) else {
        return false;
    };
    head.mode == Mode::Incremental
        && setting.version == done.version
        && setting.modified.is_some()
        && setting.modified == done.modified
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
        && reset_done(control, head)
        && head
            .in_flight
            .as_ref()
            .is_none_or(|f| f.intent.kind != ExportKind::Full)
}

/// The entries whose notification never went out, oldest first.
pub fn unannounced(recent: &[CatalogEntry], now: Epoch) -> Vec<&CatalogEntry> {
    let mut pending: Vec<&CatalogEntry> = recent
        .iter()
        .filter(|e| !e.announced && now - e.recorded_at >= ANNOUNCE_GRACE)
        .collect();
    pending.reverse();
    pending
}

/// What this run does, and its side duties.
pub fn plan(facts: &Facts, plan: WindowPlan) -> Plan {
    Plan {
        create_control: facts.control.value.is_none(),
        acknowledge_reset: is_reset(facts.control) && reset_done(facts.control, facts.head),
        decision: decide(facts, plan),
    }
}

/// An export in flight: watch it, leave it to its watcher, or ask for it.
fn in_flight(facts: &Facts, flight: &InFlight) -> Decision {
    match flight.tracked() {
        Some(tracked) => match flight.watched_by_other(facts.execution_id, facts.now) {
            Some((watcher, until)) => Decision::Watched {
                watcher: watcher.to_string(),
                until,
            },
            None => Decision::Resume(tracked),
        },
        None => Decision::Restart(flight.intent.clone()),
    }
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
    if !facts.announce_tried {
        let pending = unannounced(facts.recent, facts.now);
        if !pending.is_empty() {
            return Decision::Announce(pending.iter().map(|e| e.sort_key()).collect());
        }
    }
    // An export in flight is always seen through, whatever the control says
    // (even a value no one can read): it exists, or may, and its window must
    // be recorded.
    if let Some(flight) = &head.in_flight {
        return in_flight(facts, flight);
    }
    let action = match facts.control.value.as_deref().map(WorkflowAction::parse) {
        None => WorkflowAction::Run,
        Some(Err(UnknownAction { shown })) => {
            return operator(OperatorReason::UnknownControl { shown })
        }
        Some(Ok(WorkflowAction::ResetWithFullExportAgain)) if reset_done(facts.control, head) => {
            WorkflowAction::Run
        }
        Some(Ok(a)) => a,
    };
    if action == WorkflowAction::Pause {
        return Decision::Paused;
    }
    let (earliest, latest) = match facts.pitr {
        Pitr::Disabled => return operator(OperatorReason::PitrDisabled),
        Pitr::Enabled { earliest, latest } => (earliest, latest),
    };
    let edge = horizon(facts.now, latest);
    let reset = (action == WorkflowAction::ResetWithFullExportAgain)
        .then(|| facts.control.setting())
        .flatten();
    let start = |kind, span: Span, attempt, chain, reset: Option<super::control::Setting>| {
        Decision::Start(Intent {
            kind,
            span,
            attempt,
            client_token: client_token(facts.alias, kind, span, attempt),
            started_at: facts.now,
            chain,
            reset_version: reset.map(|r| r.version),
            reset_modified: reset.and_then(|r| r.modified),
            from_ms: head
                .continued
                .zip(span.from)
                .and_then(|(c, from)| c.exact_from(from)),
            note: None,
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
            reset,
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
            modified: Some(version * 1000),
        }
    }

    fn facts<'a>(now: Epoch, control: &'a Control, head: &'a Head) -> Facts<'a> {
        Facts {
            now,
            alias: "orders",
            execution_id: "exec-a",
            control,
            head,
            pitr: pitr(now),
            exports_done: 0,
            recent: &[],
            announce_tried: false,
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
            reset_modified: None,
            from_ms: None,
            note: None,
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
        match decide(&facts(60 * M, &typo, &head), PLAN) {
            Decision::NeedsOperator {
                reason: r @ OperatorReason::UnknownControl { .. },
                mark_pitr_gap: false,
            } => assert_eq!(r.export_kind(), None),
            other => panic!("{other:?}"),
        }
        // Missing: created with RUN, as the original did at run time, and
        // this run goes on as RUN.
        let missing = Control::default();
        let p = plan(&facts(60 * M, &missing, &head), PLAN);
        assert!(p.create_control);
        assert_eq!(started(p.decision).kind, ExportKind::Incremental);
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
        assert_eq!((i.kind, i.chain), (ExportKind::Full, 2));
        assert_eq!((i.reset_version, i.reset_modified), (Some(2), Some(2000)));
    }

    fn in_flight(head: &mut Head, arn: Option<&str>, watcher: Option<(&str, Epoch)>) -> Intent {
        let span = Span {
            from: Some(0),
            to: 15 * M,
        };
        let i = intent(ExportKind::Incremental, span, "x", 21 * M);
        let mut f: InFlight = i.clone().into();
        f.export_arn = arn.map(str::to_string);
        f.watcher = watcher.map(|(w, _)| w.to_string());
        f.watch_until = watcher.map(|(_, u)| u);
        head.in_flight = Some(f);
        i
    }

    #[test]
    fn an_export_in_flight_is_seen_through_whatever_the_control_says() {
        let mut head = chain_at(0);
        in_flight(&mut head, Some("arn"), None);
        for value in ["PAUSE", "pause", "STOP", ""] {
            let c = control(value, 1);
            assert!(
                matches!(decide(&facts(60 * M, &c, &head), PLAN), Decision::Resume(t) if t.export_arn == "arn"),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_live_lease_of_another_execution_is_left_alone() {
        let mut head = chain_at(0);
        in_flight(&mut head, Some("arn"), Some(("exec-b", 70 * M)));
        let run = control("RUN", 1);
        assert_eq!(
            decide(&facts(60 * M, &run, &head), PLAN),
            Decision::Watched {
                watcher: "exec-b".into(),
                until: 70 * M
            }
        );
        // Its own lease, or one run out: watched by this run.
        let mut own = facts(60 * M, &run, &head);
        own.execution_id = "exec-b";
        assert!(matches!(decide(&own, PLAN), Decision::Resume(_)));
        assert!(matches!(
            decide(&facts(70 * M, &run, &head), PLAN),
            Decision::Resume(_)
        ));
    }

    #[test]
    fn an_unconfirmed_intent_is_asked_for_again_however_old() {
        let mut head = chain_at(0);
        let recorded = in_flight(&mut head, None, None);
        let run = control("RUN", 1);
        for now in [22 * M, 21 * M + 8 * 3600, 21 * M + 3 * 86_400] {
            assert_eq!(
                decide(&facts(now, &run, &head), PLAN),
                Decision::Restart(recorded.clone())
            );
        }
    }

    #[test]
    fn unannounced_entries_are_announced_first_once_per_run() {
        let head = chain_at(0);
        let span = Span {
            from: Some(0),
            to: 15 * M,
        };
        let h = head
            .begin(
                head.version,
                intent(ExportKind::Incremental, span, "x", 21 * M),
                21 * M,
            )
            .unwrap()
            .unwrap();
        let (head, entry) = h.complete("x", &ExportResult::default(), 30 * M).unwrap();
        let recent = [entry.clone()];
        let run = control("RUN", 1);
        let mut f = facts(30 * M + ANNOUNCE_GRACE, &run, &head);
        f.recent = &recent;
        assert_eq!(decide(&f, PLAN), Decision::Announce(vec![entry.sort_key()]));
        // Within the grace, the recording execution announces it itself.
        f.now = 30 * M + ANNOUNCE_GRACE - 1;
        assert!(!matches!(decide(&f, PLAN), Decision::Announce(_)));
        // Tried already in this run (SNS is down): the chain goes on.
        f.now = 40 * M;
        f.pitr = pitr(40 * M);
        f.announce_tried = true;
        assert!(matches!(decide(&f, PLAN), Decision::Start(_)));
        let announced = CatalogEntry {
            announced: true,
            ..entry
        };
        assert!(unannounced(&[announced], 40 * M).is_empty());
    }

    #[test]
    fn a_reset_already_done_counts_as_run_and_is_acknowledged() {
        // The chain's full export carried out the control's version 1.
        let mut head = chain_at(100 * M);
        head.reset_version = Some(1);
        head.reset_modified = Some(1000);
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
    fn a_control_made_anew_by_a_redeploy_is_not_taken_for_an_old_setting() {
        // The ledger kept the reset of the old parameter's version 2; the
        // redeployed parameter reaches version 2 again, at another time.
        let mut head = chain_at(100 * M);
        head.reset_version = Some(2);
        head.reset_modified = Some(5_000);
        let mut new = control("RESET_WITH_FULL_EXPORT_AGAIN", 2);
        new.modified = Some(9_000_000);
        assert!(!reset_done(&new, &head));
        let p = plan(&facts(130 * M, &new, &head), PLAN);
        assert!(!p.acknowledge_reset);
        assert_eq!(started(p.decision).kind, ExportKind::Full);
        // A ledger from before modification times were kept: not taken as
        // done either (at worst one more full export, never a lost reset).
        head.reset_modified = None;
        assert!(!reset_done(
            &control("RESET_WITH_FULL_EXPORT_AGAIN", 2),
            &head
        ));
    }

    #[test]
    fn the_control_goes_back_to_run_only_after_that_resets_full_export() {
        let mut head = chain_at(100 * M);
        head.reset_version = Some(3);
        head.reset_modified = Some(3000);
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
