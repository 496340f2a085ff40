//! One test per defect a skeptical reading of the workflow found, each
//! driven through the deployed definition over the in-memory services and
//! judged against what those services did (their exports, their messages,
//! the control's writes), not against the ledger's word. Each failed on the
//! code before its fix (checked by undoing the fix) and holds now.

use super::chaos::block_on;
use incx_core::domain::export::ExportKind;
use incx_core::domain::ledger::{CatalogEntry, CatalogStatus, Head, WorkflowState};
use incx_core::domain::notification::{dedupe_key, Notification, Status};
use incx_core::domain::Epoch;
use incx_sim::chaos::{config, SCHEDULE_OFFSET};
use incx_sim::invariants::Checker;
use incx_sim::memory::lock;
use incx_sim::{Execution, Finish, World};

const T0: Epoch = 1_800_000_000 + SCHEDULE_OFFSET;
const HOUR: Epoch = 3600;

fn world(window_minutes: i64) -> World {
    World::new(config(window_minutes, window_minutes).unwrap(), T0).unwrap()
}

fn head(w: &World) -> Head {
    w.ledger.head_now()
}

fn catalog(w: &World) -> Vec<CatalogEntry> {
    lock(&w.ledger.entries).clone()
}

/// Service exports of the window ending at `to`.
fn exports_of(w: &World, to: Epoch) -> usize {
    w.exports
        .world()
        .exports
        .iter()
        .filter(|x| x.request.span.to == to && x.request.kind == ExportKind::Incremental)
        .count()
}

/// Runs `e` to its end, then the runs notify asked for.
async fn finish(w: &mut World, mut e: Execution) -> Execution {
    w.run_to_end(&mut e).await.unwrap();
    for name in w.runs.take_new() {
        let mut next = w.start_requested(&name);
        w.run_to_end(&mut next).await.unwrap();
    }
    e
}

/// One scheduled run, to its end.
async fn run(w: &mut World) -> Execution {
    let e = w.start_execution();
    finish(w, e).await
}

/// Steps `e` until it is about to run `state`.
async fn step_until(w: &World, e: &mut Execution, state: &str) {
    for _ in 0..1000 {
        if e.state == state && e.wake_at.is_none() {
            return;
        }
        assert!(!e.is_done(), "ended before {state}: {:?}", e.trace);
        if !w.step(e).await.unwrap() {
            if let Some(at) = e.wake_at {
                if at > w.now() {
                    w.clock.set(at);
                }
            }
        }
    }
    panic!("never reached {state}: {:?}", e.trace);
}

/// A world with a full export and one incremental one done, the clock at
/// the next window's run.
async fn chained(window_minutes: i64) -> World {
    let mut w = world(window_minutes);
    run(&mut w).await;
    let step = window_minutes * 60;
    w.clock.set(T0 + 2 * step);
    run(&mut w).await;
    assert!(
        catalog(&w)
            .iter()
            .any(|e| e.kind == ExportKind::Incremental && e.status == CatalogStatus::Completed),
        "setup: {:?}",
        catalog(&w)
    );
    w.clock.set(T0 + 3 * step);
    w
}

fn announcements(w: &World, e: &CatalogEntry) -> Vec<Notification> {
    let key = dedupe_key(&w.service.config.alias, e);
    w.notifier
        .all()
        .into_iter()
        .filter(|n| n.dedupe_key.as_deref() == Some(key.as_str()))
        .collect()
}

/// Every promise in full, after the faults: one more run past the
/// notification grace, then the checker's settle.
async fn settle(w: &mut World) {
    let now = w.now();
    w.clock.set(now + 180);
    run(w).await;
    let mut checker = Checker::new();
    checker.pitr_toggled = true;
    checker.settle(w).unwrap();
}

// 1. A notification is lost when advance-state's response is lost after
//    its ledger write (the retry found the export recorded and said
//    nothing).
#[test]
fn defect_1_a_response_lost_after_the_ledger_write_still_announces_the_export() {
    block_on(async {
        let mut w = chained(15).await;
        let mut e = w.start_execution();
        step_until(&w, &mut e, "AdvanceState").await;
        *lock(&w.ledger.crash_after_write) = 1;
        let e = finish(&mut w, e).await;
        assert!(
            matches!(e.finish, Some(Finish::Succeeded(_))),
            "{:?}",
            e.finish
        );
        let last = catalog(&w).pop().unwrap();
        assert_eq!(last.status, CatalogStatus::Completed);
        let sent = announcements(&w, &last);
        assert_eq!(sent.len(), 1, "announced {sent:?}");
        assert_eq!(sent[0].status, Status::Success);
        assert!(last.announced);
        settle(&mut w).await;
    });
}

// 2a. An export invisible for longer than the first wait was taken for
//     gone (FAILED at once), and the window exported a second time.
#[test]
fn defect_2a_an_export_invisible_for_15_minutes_is_exported_once() {
    block_on(async {
        let mut w = chained(15).await;
        w.exports.world().hidden_for = 15 * 60;
        let to = head(&w).watermark.unwrap() + 900;
        run(&mut w).await;
        w.clock.set(w.now().max(T0 + 4 * 900));
        run(&mut w).await;
        assert_eq!(exports_of(&w, to), 1);
        assert!(catalog(&w)
            .iter()
            .any(|e| e.span.to == to && e.status == CatalogStatus::Completed));
        settle(&mut w).await;
    });
}

/// Leaves an intent in the ledger whose ARN was never recorded: the run is
/// killed right after the intent's write, with StartExport's answer lost
/// (`service_made_it`: the service made the export) or never asked (the
/// intent write's own answer was lost).
async fn unconfirmed_intent(w: &mut World, service_made_it: bool) {
    let mut e = w.start_execution();
    step_until(w, &mut e, "StartExport").await;
    if service_made_it {
        w.exports.world().lose_start_response = 1;
    } else {
        *lock(&w.ledger.crash_after_write) = 1;
    }
    // One try: the intent is written, then the call fails; the run is
    // killed before its retry.
    assert!(!w.step(&mut e).await.unwrap());
    drop(e);
    let flight = head(w).in_flight.expect("an intent is left in flight");
    assert!(flight.export_arn.is_none(), "{flight:?}");
}

// 2b. An intent never confirmed for 7 hours was given up without asking the
//     service, and its window exported again under the next attempt.
#[test]
fn defect_2b_an_intent_unconfirmed_for_hours_finds_the_export_the_service_made() {
    block_on(async {
        let mut w = chained(15).await;
        let to = head(&w).watermark.unwrap() + 900;
        unconfirmed_intent(&mut w, true).await;
        assert_eq!(exports_of(&w, to), 1);
        // Past the 8 hours the service remembers the token after the export.
        w.clock.set(w.now() + 9 * HOUR);
        run(&mut w).await;
        assert_eq!(exports_of(&w, to), 1, "{:?}", w.exports.world().exports);
        assert!(catalog(&w)
            .iter()
            .any(|e| e.span.to == to && e.status == CatalogStatus::Completed && e.attempt == 1));
        settle(&mut w).await;
    });
}

// 3. Any InvalidExportTime on an incremental export was marked PITR_GAP,
//    forcing a reset, though the window was inside the PITR window.
#[test]
fn defect_3_invalid_export_time_inside_the_pitr_window_is_not_a_gap() {
    block_on(async {
        let mut w = chained(15).await;
        let notes = w.notifier.all().len();
        w.exports.world().invalid_time_next = 1;
        let e = run(&mut w).await;
        assert_eq!(head(&w).state, WorkflowState::Normal);
        assert!(e.trace.contains(&"Done".to_string()), "{:?}", e.trace);
        assert!(w.notifier.all()[notes..]
            .iter()
            .all(|n| n.status == Status::Success));
        // The next run exports the window.
        let before = head(&w).watermark;
        w.clock.set(w.now() + 900);
        run(&mut w).await;
        assert!(head(&w).watermark > before);
        settle(&mut w).await;
    });
}

// 4. With windows of 8 hours or more, an intent left unconfirmed was always
//    older than 7 hours at the next run, given up, and exported a run later.
#[test]
fn defect_4_long_windows_with_an_unconfirmed_intent_do_not_stall() {
    block_on(async {
        for minutes in [480, 720, 1440] {
            let mut w = chained(minutes).await;
            let before = head(&w).watermark.unwrap();
            unconfirmed_intent(&mut w, false).await;
            // The next scheduled run, one window later.
            w.clock.set(w.now() + minutes * 60);
            run(&mut w).await;
            let after = head(&w).watermark.unwrap();
            assert!(
                after > before,
                "{minutes}-minute windows stalled at {before}"
            );
            assert!(catalog(&w)
                .iter()
                .all(|e| e.failure_code.as_deref() != Some("ClientTokenExpired")));
            settle(&mut w).await;
        }
    });
}

// 5. After a redeploy the control starts again at version 1; a new RESET
//    whose version equalled an old one was taken as done and flipped to RUN.
#[test]
fn defect_5_a_reset_on_a_control_recreated_at_version_1_is_carried_out() {
    block_on(async {
        let mut w = chained(15).await;
        // RESET is version 2; its full export carries it out; RUN is 3.
        w.control.set("RESET_WITH_FULL_EXPORT_AGAIN");
        run(&mut w).await;
        w.clock.set(w.now() + 900);
        run(&mut w).await;
        assert_eq!(head(&w).chain, 2);
        assert_eq!(head(&w).reset_version, Some(2));
        assert_eq!(w.control.value().as_deref(), Some("RUN"));
        // The redeploy: the parameter made anew (version 1), then RESET (2).
        w.clock.set(w.now() + 900);
        w.control.recreate("RUN");
        w.control.set("RESET_WITH_FULL_EXPORT_AGAIN");
        let fulls = |w: &World| {
            w.exports
                .world()
                .exports
                .iter()
                .filter(|x| x.request.kind == ExportKind::Full)
                .count()
        };
        let before = fulls(&w);
        run(&mut w).await;
        assert_eq!(fulls(&w), before + 1, "the new RESET made no full export");
        assert_eq!(head(&w).chain, 3);
        w.clock.set(w.now() + 900);
        run(&mut w).await;
        assert_eq!(w.control.value().as_deref(), Some("RUN"));
        settle(&mut w).await;
    });
}

// 6. An invalid control value was checked before the export in flight, so
//    an export already running was not seen through.
#[test]
fn defect_6_a_bad_control_value_does_not_stop_an_export_in_flight() {
    block_on(async {
        let mut w = chained(15).await;
        let mut e = w.start_execution();
        step_until(&w, &mut e, "WaitForExport").await;
        drop(e); // the run is killed with its export in flight
        let flight = head(&w).in_flight.unwrap();
        w.control.set("pause");
        // Past the dead watcher's lease.
        w.clock.set(w.now() + 30 * 60);
        run(&mut w).await;
        let recorded = catalog(&w)
            .into_iter()
            .any(|e| e.span == flight.intent.span && e.status == CatalogStatus::Completed);
        assert!(recorded, "the export in flight was not seen through");
        assert!(head(&w).in_flight.is_none());
    });
}

// 7. The mirror write sat between the intent and StartExport: an SSM
//    outage stopped the exports, though the mirrors are only a view.
#[test]
fn defect_7_ssm_refusing_writes_does_not_stop_exports() {
    block_on(async {
        let mut w = chained(15).await;
        *lock(&w.control.mirror_outage) = true;
        let before = head(&w).watermark.unwrap();
        for k in 0..4 {
            w.clock.set(T0 + (4 + k) * 900);
            run(&mut w).await;
        }
        assert!(head(&w).watermark.unwrap() >= before + 3 * 900);
        // SSM back: the next run rewrites the stale mirrors.
        *lock(&w.control.mirror_outage) = false;
        w.clock.set(w.now() + 900);
        run(&mut w).await;
        let wm = incx_core::domain::timefmt::rfc3339(head(&w).watermark.unwrap());
        assert_eq!(
            lock(&w.control.mirrors).get("last-incremental-export-time"),
            Some(&wm)
        );
    });
}

// 8a. A rival execution that recorded the same export first made the other
//     fail with a LedgerConflict fault e-mail: start-export re-reads the head
//     to store the ARN, and the rival had completed the export in between.

/// The ledger, with a rival that completes the export in flight just
/// before the `nth` read of the head.
struct Rival {
    inner: std::sync::Arc<incx_sim::memory::MemoryLedger>,
    reads: std::sync::atomic::AtomicU32,
    nth: u32,
}

impl incx_core::ports::Ledger for Rival {
    async fn head(&self) -> Result<Option<Head>, incx_core::error::CoreError> {
        let n = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if n == self.nth {
            let h = self.inner.head_now();
            let token = h.in_flight.as_ref().unwrap().intent.client_token.clone();
            let (next, entry) = h
                .complete(&token, &Default::default(), h.updated_at)
                .unwrap();
            let expected = Some(h.version);
            assert!(self
                .inner
                .put_head_with_entry(&next, expected, &entry)
                .await
                .unwrap());
        }
        self.inner.head().await
    }
    async fn put_head(
        &self,
        h: &Head,
        e: Option<u64>,
    ) -> Result<bool, incx_core::error::CoreError> {
        self.inner.put_head(h, e).await
    }
    async fn put_head_with_entry(
        &self,
        h: &Head,
        e: Option<u64>,
        c: &CatalogEntry,
    ) -> Result<bool, incx_core::error::CoreError> {
        self.inner.put_head_with_entry(h, e, c).await
    }
    async fn recent(&self, n: usize) -> Result<Vec<CatalogEntry>, incx_core::error::CoreError> {
        self.inner.recent(n).await
    }
    async fn catalog(&self) -> Result<Vec<CatalogEntry>, incx_core::error::CoreError> {
        self.inner.catalog().await
    }
    async fn entry(&self, k: &str) -> Result<Option<CatalogEntry>, incx_core::error::CoreError> {
        self.inner.entry(k).await
    }
    async fn mark_announced(&self, k: &str) -> Result<(), incx_core::error::CoreError> {
        self.inner.mark_announced(k).await
    }
}

#[test]
fn defect_8a_a_rival_that_recorded_the_export_first_causes_no_fault() {
    use incx_core::contract::{parse, StartInput, StartOutput};
    block_on(async {
        let mut w = chained(15).await;
        let mut e = w.start_execution();
        step_until(&w, &mut e, "StartExport").await;
        let order: StartInput = parse(e.input).unwrap();
        // start-export reads the head to record the intent (read 1), then
        // again to store the ARN (read 2): the rival completes the export
        // just before that second read.
        let svc = incx_core::Service {
            config: w.service.config.clone(),
            clock: w.clock.clone(),
            control: w.control.clone(),
            ledger: Rival {
                inner: w.ledger.clone(),
                reads: Default::default(),
                nth: 2,
            },
            exports: w.exports.clone(),
            published: (),
        };
        let out = svc.start(order).await;
        assert!(
            matches!(&out, Ok(StartOutput::LostRace(_))),
            "a rival's completion is a lost race, not a fault: {out:?}"
        );
    });
}

// 8b. FAILED catalog entries recorded outside advance-state (a refused
//     request, a conflicting token) sent no e-mail.
#[test]
fn defect_8b_a_failed_attempt_recorded_by_start_export_is_announced() {
    block_on(async {
        let mut w = chained(15).await;
        // The service has the export under the intent's token...
        unconfirmed_intent(&mut w, true).await;
        // ... and the stack's bucket changed before the run asks again.
        w.service.config.bucket = "other-bucket".into();
        w.clock.set(w.now() + HOUR);
        run(&mut w).await;
        let failed = catalog(&w)
            .into_iter()
            .find(|e| e.status == CatalogStatus::Failed)
            .expect("a failed attempt is recorded");
        assert_eq!(failed.failure_code.as_deref(), Some("ExportConflict"));
        // The next run announces it.
        w.clock.set(w.now() + 900);
        run(&mut w).await;
        let sent = announcements(&w, &failed);
        assert!(!sent.is_empty() && sent.iter().all(|n| n.status == Status::Failed));
    });
}

// 8c. Operator notices for a control typo said INCREMENTAL_EXPORT.
#[test]
fn defect_8c_a_notice_for_a_control_typo_names_no_export_type() {
    block_on(async {
        let mut w = chained(15).await;
        w.control.set("STOP");
        let notes = w.notifier.all().len();
        run(&mut w).await;
        let sent = w.notifier.all()[notes..].to_vec();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].export_type, None);
        assert_eq!(sent[0].subject(), "WORKFLOW FAILED");
    });
}

// 8d. Setting RESET back to RUN could overwrite an operator's PAUSE written
//     between the read and the write.
#[test]
fn defect_8d_a_pause_set_while_a_reset_is_set_back_to_run_is_kept() {
    block_on(async {
        let mut w = chained(15).await;
        w.control.set("RESET_WITH_FULL_EXPORT_AGAIN");
        let mut e = w.start_execution();
        step_until(&w, &mut e, "AdvanceState").await;
        *lock(&w.control.write_after_read) = Some("PAUSE".into());
        finish(&mut w, e).await;
        assert_eq!(w.control.value().as_deref(), Some("PAUSE"));
        let mut checker = Checker::new();
        checker.check(&w).unwrap();
    });
}

// 8e. An export that outlived the execution's timeout ended the run with no
//     notification (the timeout cannot be caught).
#[test]
fn defect_8e_an_export_longer_than_a_run_is_handed_over_and_announced() {
    block_on(async {
        let mut w = chained(15).await;
        w.exports.world().duration = 7 * HOUR;
        let mut timed_out = 0;
        let mut t = w.now();
        for _ in 0..48 {
            let e = run(&mut w).await;
            if matches!(&e.finish, Some(Finish::Failed { error, .. }) if error == "States.Timeout")
            {
                timed_out += 1;
            }
            w.exports.world().duration = 300;
            t = (t + 900).max(w.now());
            w.clock.set(t);
            if head(&w).in_flight.is_none() && head(&w).watermark.unwrap() > T0 + 4 * 900 {
                break;
            }
        }
        assert_eq!(timed_out, 0);
        let long = catalog(&w)
            .into_iter()
            .find(|e| e.duration().is_some_and(|d| d >= 7 * HOUR))
            .expect("the long export is recorded");
        assert_eq!(announcements(&w, &long).len(), 1);
        settle(&mut w).await;
    });
}
