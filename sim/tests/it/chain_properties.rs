//! Property tests of the whole chain: arbitrary sequences of runs (at
//! arbitrary times, overlapping, killed), exports that complete or fail
//! after arbitrary delays, pause/resume, reset and PITR disable/enable,
//! driven through the real state machine definition over in-memory ports.
//! After every event the exported chain must hold its promises.

use incx_core::config::Config;
use incx_core::domain::ledger::WorkflowState;
use incx_core::domain::window::MIN_WINDOW;
use incx_core::ports::ControlStore;
use incx_sim::invariants::Checker;
use incx_sim::{Execution, World};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Event {
    Tick(i64),
    Schedule,
    Step(usize),
    RunAll,
    Kill(usize),
    Control(&'static str),
    PitrOff,
    PitrOn,
    FailNext,
    Duration(i64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => (1i64..=90).prop_map(|m| Event::Tick(m * 60)),
        4 => Just(Event::Schedule),
        8 => (0usize..4).prop_map(Event::Step),
        3 => Just(Event::RunAll),
        1 => (0usize..4).prop_map(Event::Kill),
        1 => prop_oneof![Just("RUN"), Just("PAUSE"), Just("RESET_WITH_FULL_EXPORT_AGAIN")].prop_map(Event::Control),
        1 => Just(Event::PitrOff),
        1 => Just(Event::PitrOn),
        1 => Just(Event::FailNext),
        1 => (1i64..=40).prop_map(|m| Event::Duration(m * 60)),
    ]
}

fn config(window: i64, catch_up: i64) -> Config {
    incx_sim::chaos::config(window, catch_up).expect("test configuration is valid")
}

fn check(world: &World, seen: &mut Checker) -> Result<(), TestCaseError> {
    seen.check(world).map_err(TestCaseError::fail)
}

/// Runs `e` to its end, then the runs notify asked for, to theirs, up to
/// `depth` runs deep (with exports slower than a window and one window per
/// run, each run asks for the next without end, as it would on AWS).
async fn finish(world: &mut World, mut e: Execution, depth: usize) -> Result<(), TestCaseError> {
    world
        .run_to_end(&mut e)
        .await
        .map_err(TestCaseError::fail)?;
    for _ in 0..depth {
        let names = world.runs.take_new();
        if names.is_empty() {
            break;
        }
        for name in names {
            let mut next = world.start_requested(&name);
            world
                .run_to_end(&mut next)
                .await
                .map_err(TestCaseError::fail)?;
        }
    }
    Ok(())
}

async fn play(window: i64, catch_up: i64, events: Vec<Event>) -> Result<(), TestCaseError> {
    let mut world =
        World::new(config(window, catch_up), 1_800_000_000).map_err(TestCaseError::fail)?;
    let mut live: Vec<Execution> = Vec::new();
    let mut seen = Checker::new();
    for ev in events {
        match ev {
            Event::Tick(s) => world.clock.advance(s),
            Event::Schedule => live.push(world.start_execution()),
            Event::Step(i) if !live.is_empty() => {
                let n = live.len();
                world
                    .step(&mut live[i % n])
                    .await
                    .map_err(TestCaseError::fail)?;
            }
            Event::RunAll => {
                for e in std::mem::take(&mut live) {
                    finish(&mut world, e, 0).await?;
                }
            }
            Event::Kill(i) if !live.is_empty() => {
                let n = live.len();
                live.remove(i % n);
            }
            Event::Control(v) => world.control.set(v),
            Event::PitrOff => {
                seen.pitr_toggled = true;
                world.exports.set_pitr(false);
            }
            Event::PitrOn => world.exports.set_pitr(true),
            Event::FailNext => world.exports.world().fail_next = Some("S3NoSuchBucket".into()),
            Event::Duration(d) => world.exports.world().duration = d,
            _ => {}
        }
        live.retain(|e| !e.is_done());
        for name in world.runs.take_new() {
            live.push(world.start_requested(&name));
        }
        check(&world, &mut seen)?;
    }
    // Once the faults stop, the chain catches up to the horizon.
    world.exports.set_pitr(true);
    world.exports.world().duration = 300;
    for e in std::mem::take(&mut live) {
        finish(&mut world, e, 64).await?;
    }
    // A run exports the backlog coalesced, or a window at a time with the
    // next run started at once; beyond this bound the chain is stuck.
    let behind = world.now()
        - world
            .ledger
            .head
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default()
            .watermark
            .unwrap_or(world.now());
    let bound = 12 + behind / (window * 60);
    for _ in 0..bound {
        // The operator follows the remedies: a reset after a PITR gap, RUN
        // after a pause.
        let head = world
            .ledger
            .head
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default();
        let control = world
            .control
            .read_action()
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if head.state == WorkflowState::PitrGap {
            world.control.set("RESET_WITH_FULL_EXPORT_AGAIN");
        } else if control.value.as_deref() == Some("PAUSE") {
            world.control.set("RUN");
        }
        world.clock.advance(window * 60);
        let e = world.start_execution();
        finish(&mut world, e, 64).await?;
        check(&world, &mut seen)?;
    }
    let head = world
        .ledger
        .head
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_default();
    let horizon = world.now() - 300;
    let watermark = head
        .watermark
        .ok_or_else(|| TestCaseError::fail("no chain after recovery"))?;
    prop_assert!(
        horizon - watermark < 2 * window * 60 + MIN_WINDOW,
        "stuck: watermark {watermark}, horizon {horizon}"
    );
    let control = world.control.value();
    prop_assert_eq!(control.as_deref(), Some("RUN"));
    // Past the notification grace, one more run sends what is pending; then
    // every promise holds in full against what the services did.
    world.clock.advance(180);
    let e = world.start_execution();
    finish(&mut world, e, 64).await?;
    seen.settle(&world).map_err(TestCaseError::fail)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_chain_has_no_gap_no_overlap_and_never_moves_back(
        window in prop_oneof![Just(15i64), Just(30), Just(60), Just(45)],
        coalesce in any::<bool>(),
        events in proptest::collection::vec(event(), 1..120),
    ) {
        let catch_up = if coalesce { 1440 } else { window };
        let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(play(window, catch_up, events))?;
    }
}
