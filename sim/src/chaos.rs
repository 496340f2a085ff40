//! A seeded, deterministic chaos run: the schedule starts an execution of
//! the real definition 6 minutes after every window boundary (whether or
//! not earlier ones still run), for days on end, with export durations
//! drawn from a realistic distribution, while a seeded RNG injects the
//! faults the services really have: throttling and faults from every port,
//! a response lost after a successful write (ledger, StartExport, SNS), the
//! same function input delivered twice, executions killed or reaching their
//! timeout, exports that fail, run for hours or stay invisible for up to 15
//! minutes, clock skew between the functions and the service,
//! InvalidExportTime for windows inside the PITR window, long outages that
//! leave an intent unconfirmed past the client token's memory, overlapping
//! runs, pauses, resumes, resets, bad control values, the control recreated
//! at version 1 by a redeploy, and PITR turned off and on.
//!
//! After every step the promises are checked against what the services
//! did ([`Checker`]); after each stretch of chaos the faults stop, a
//! simulated operator follows the remedies, the chain must catch up within
//! a bounded number of scheduled runs, and every promise must hold in full
//! ([`Checker::settle`]).

use super::invariants::{Checker, Violations};
use super::{Execution, World};
use crate::memory::lock;
use incx_core::config::Config;
use incx_core::domain::export::{ExportError, Pitr};
use incx_core::domain::ledger::{Mode, WorkflowState};
use incx_core::domain::notification::Status;
use incx_core::domain::window::MIN_WINDOW;
use incx_core::domain::Epoch;
use incx_core::error::CoreError;
use incx_core::ports::ExportService;
use serde::Serialize;
use std::collections::BTreeMap;

pub const DAY: Epoch = 86_400;
/// The schedule's offset after each window boundary.
pub const SCHEDULE_OFFSET: Epoch = 6 * 60;
/// The simulation's start: a window boundary.
pub const EPOCH0: Epoch = 1_800_000_000;
/// Window sizes the seeds run with (minutes).
pub const WINDOWS: [i64; 6] = [15, 15, 60, 480, 720, 1440];

/// SplitMix64: small, fast, and the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A standard normal number (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// How long exports take: a log-normal body (median 5 minutes, σ 0.5, so
/// 80 % between 2.6 and 9.5 minutes) with a 3 % tail of 15 to 45 minutes.
/// Published small exports took 1.5 to 6 minutes; the tail is the
/// "tens of minutes" a loaded service shows. The same model runs in the
/// local emulator (`tests/emulator`, `--export-durations`).
pub fn export_duration(rng: &mut Rng) -> Epoch {
    if rng.chance(0.03) {
        return rng.range(15 * 60, 45 * 60);
    }
    (300.0 * (0.5 * rng.normal()).exp()).round() as Epoch
}

/// What a run did, what it injected (by kind), and what it found broken.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    pub seeds: u64,
    pub days: u64,
    /// Seeds per window size (minutes).
    pub window_minutes: BTreeMap<i64, u64>,
    pub executions: u64,
    pub runs_started_by_notify: u64,
    pub steps: u64,
    pub transitions: u64,
    pub exports: u64,
    pub windows_completed: u64,
    pub chains: u64,
    pub operator_notifications: u64,
    pub recoveries: u64,
    pub faults: BTreeMap<&'static str, u64>,
    pub violations: Violations,
    /// The port methods each function called.
    pub port_calls: BTreeMap<&'static str, std::collections::BTreeSet<&'static str>>,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.seeds += o.seeds;
        self.days += o.days;
        for (k, v) in &o.window_minutes {
            *self.window_minutes.entry(*k).or_default() += v;
        }
        self.executions += o.executions;
        self.runs_started_by_notify += o.runs_started_by_notify;
        self.steps += o.steps;
        self.transitions += o.transitions;
        self.exports += o.exports;
        self.windows_completed += o.windows_completed;
        self.chains += o.chains;
        self.operator_notifications += o.operator_notifications;
        self.recoveries += o.recoveries;
        for (k, v) in &o.faults {
            *self.faults.entry(k).or_default() += v;
        }
        self.violations.add(&o.violations);
        for (f, calls) in &o.port_calls {
            self.port_calls.entry(f).or_default().extend(calls);
        }
    }

    fn fault(&mut self, kind: &'static str) {
        *self.faults.entry(kind).or_default() += 1;
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let v = &self.violations;
        format!(
            "chaos: {} days, {} seeds (windows {:?}), {} executions ({} started by notify), {} steps, {} transitions, {} exports, {} windows, {} chains; faults: {}; operator notices {}, recoveries {}; gaps {}, overlaps {}, spans exported twice {}, exports unrecorded {}, entries without export {}, entries unannounced {}, announcements without entry {}, controls overwritten {}, stalls {}",
            self.days,
            self.seeds,
            self.window_minutes,
            self.executions,
            self.runs_started_by_notify,
            self.steps,
            self.transitions,
            self.exports,
            self.windows_completed,
            self.chains,
            faults.join(", "),
            self.operator_notifications,
            self.recoveries,
            v.gaps,
            v.overlaps,
            v.spans_exported_twice,
            v.exports_unrecorded,
            v.entries_without_export,
            v.entries_unannounced,
            v.announcements_without_entry,
            v.controls_overwritten,
            v.stalls,
        )
    }
}

/// A broken promise, with what is needed to replay it.
#[derive(Debug, Clone)]
pub struct ChaosFailure {
    pub seed: u64,
    pub days: u64,
    pub at: Epoch,
    pub message: String,
}

impl ChaosFailure {
    pub fn replay(&self) -> String {
        format!(
            "INCX_CHAOS_SEED={} INCX_CHAOS_DAYS={} cargo test -p incx-sim --test it chaos",
            self.seed, self.days
        )
    }
}

impl std::fmt::Display for ChaosFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chaos seed {} failed at t={} (day {}): {}\n  replay: {}",
            self.seed,
            self.at,
            (self.at - EPOCH0) / DAY,
            self.message,
            self.replay()
        )
    }
}

pub fn config(window_minutes: i64, catch_up_minutes: i64) -> Result<Config, String> {
    config_continuing(window_minutes, catch_up_minutes, false)
}

/// The same, told whether to continue the original sample's chain.
pub fn config_continuing(
    window_minutes: i64,
    catch_up_minutes: i64,
    continue_original: bool,
) -> Result<Config, String> {
    Config::from_lookup(|k| {
        Some(match k {
            "TABLE_NAME" => "orders".into(),
            "DEPLOYMENT_ALIAS" => "orders".into(),
            "DATA_EXPORT_BUCKET" => "bucket".into(),
            "WINDOW_MINUTES" => window_minutes.to_string(),
            "MAX_CATCH_UP_MINUTES" => catch_up_minutes.to_string(),
            "CONTINUE_ORIGINAL_CHAIN" => continue_original.to_string(),
            _ => return None,
        })
    })
    .map_err(|e| e.to_string())
}

/// The original sample's leftovers in a world: a chain of 15-minute
/// windows from a full export five hours before `now` to two hours before,
/// at times with milliseconds as the original's are, in the bucket and in
/// its SSM parameters.
pub fn leave_original_chain(world: &World, now: Epoch) {
    use incx_core::domain::export::ExportKind;
    use incx_core::domain::mirrors::{FULL_EXPORT_TIME, LAST_INCREMENTAL_EXPORT_TIME};
    use incx_core::domain::origin::Published;
    use incx_core::domain::timefmt::rfc3339_millis;
    let full = (now - 5 * 3600) * 1000 + 413;
    let step = 900_000;
    let links = 12;
    let mut published = vec![Published {
        export_arn: "arn:original:full".into(),
        kind: ExportKind::Full,
        from_ms: None,
        to_ms: full,
        completed: true,
    }];
    published.extend((0..links).map(|k| Published {
        export_arn: format!("arn:original:{k}"),
        kind: ExportKind::Incremental,
        from_ms: Some(full + k * step),
        to_ms: full + (k + 1) * step,
        completed: true,
    }));
    *crate::memory::lock(&world.bucket.published) = published;
    let mut mirrors = crate::memory::lock(&world.control.mirrors);
    mirrors.insert(FULL_EXPORT_TIME.into(), rfc3339_millis(full));
    mirrors.insert(
        LAST_INCREMENTAL_EXPORT_TIME.into(),
        rfc3339_millis(full + links * step),
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Ledger,
    Control,
    Exports,
    Notifier,
}

const PORTS: [Port; 4] = [Port::Ledger, Port::Control, Port::Exports, Port::Notifier];

fn fault(rng: &mut Rng, port: Port, throttle: bool) -> Fault {
    let what = if throttle { "throttled" } else { "fault" };
    match port {
        Port::Exports => Fault::Export(match (throttle, rng.below(2)) {
            (true, 0) => ExportError::Throttled(what.into()),
            (true, _) => ExportError::LimitExceeded(what.into()),
            (false, _) => ExportError::Fault("InternalServerError".into()),
        }),
        Port::Ledger | Port::Control | Port::Notifier => {
            let service = match port {
                Port::Ledger => "dynamodb",
                Port::Control => "ssm",
                _ => "sns",
            };
            Fault::Core(if throttle {
                CoreError::throttled(service, what)
            } else {
                CoreError::service(service, what)
            })
        }
    }
}

enum Fault {
    Core(CoreError),
    Export(ExportError),
}

/// One seeded world and its chaos.
struct Run {
    seed: u64,
    days: u64,
    world: World,
    rng: Rng,
    checker: Checker,
    live: Vec<Execution>,
    stats: Stats,
    window: Epoch,
    next_schedule: Epoch,
    /// Manual runs due at these times (overlapping the schedule's).
    extra: Vec<Epoch>,
    /// A port that fails every call until then.
    outage: Option<(Port, Epoch)>,
    /// A long ledger outage that begins after the next ledger write.
    outage_after_crash: Option<Epoch>,
    notifications_seen: usize,
}

impl Run {
    fn new(seed: u64, days: u64) -> Result<Self, String> {
        let mut rng = Rng::new(seed);
        let window = WINDOWS[seed as usize % WINDOWS.len()];
        let catch_up = if rng.chance(0.5) { 1440 } else { window };
        // Every fourth seed is a migration: it continues the original's chain.
        let migrating = seed % 4 == 3;
        let world = World::new(config_continuing(window, catch_up, migrating)?, EPOCH0)?;
        if migrating {
            leave_original_chain(&world, EPOCH0);
        }
        let mut stats = Stats {
            seeds: 1,
            ..Stats::default()
        };
        stats.window_minutes.insert(window, 1);
        Ok(Self {
            seed,
            days,
            world,
            rng,
            checker: Checker::new(),
            live: Vec::new(),
            stats,
            window: window * 60,
            next_schedule: EPOCH0 + SCHEDULE_OFFSET,
            extra: Vec::new(),
            outage: None,
            outage_after_crash: None,
            notifications_seen: 0,
        })
    }

    fn fail(&self, message: impl Into<String>) -> ChaosFailure {
        ChaosFailure {
            seed: self.seed,
            days: self.days,
            at: self.world.now(),
            message: message.into(),
        }
    }

    fn push(&self, port: Port, f: Fault) {
        match (port, f) {
            (Port::Ledger, Fault::Core(e)) => lock(&self.world.ledger.faults).push_back(e),
            (Port::Control, Fault::Core(e)) => lock(&self.world.control.faults).push_back(e),
            (Port::Notifier, Fault::Core(e)) => lock(&self.world.notifier.faults).push_back(e),
            (_, Fault::Export(e)) => self.world.exports.world().faults.push_back(e),
            (Port::Exports, Fault::Core(_)) => {}
        }
    }

    fn queued(&self, port: Port) -> usize {
        match port {
            Port::Ledger => lock(&self.world.ledger.faults).len(),
            Port::Control => lock(&self.world.control.faults).len(),
            Port::Notifier => lock(&self.world.notifier.faults).len(),
            Port::Exports => self.world.exports.world().faults.len(),
        }
    }

    fn clear_faults(&mut self) {
        lock(&self.world.ledger.faults).clear();
        *lock(&self.world.ledger.crash_after_write) = 0;
        lock(&self.world.control.faults).clear();
        lock(&self.world.notifier.faults).clear();
        *lock(&self.world.notifier.lose_response) = 0;
        lock(&self.world.runs.faults).clear();
        self.world
            .deliver_twice
            .store(0, std::sync::atomic::Ordering::SeqCst);
        let mut w = self.world.exports.world();
        w.faults.clear();
        // A typical export: one slower than a window could never let a
        // window-at-a-time chain catch up.
        w.duration = 300;
        w.fail_next = None;
        w.hidden_for = 0;
        w.invalid_time_next = 0;
        w.lose_start_response = 0;
        drop(w);
        self.outage = None;
        self.outage_after_crash = None;
    }

    /// Chaos before one step.
    fn inject(&mut self) {
        let now = self.world.now();
        // Every export takes its own, realistic time.
        let d = export_duration(&mut self.rng);
        self.world.exports.world().duration = d;
        let port = PORTS[self.rng.below(4) as usize];
        // Faults the Retry absorbs.
        if self.rng.chance(0.03) {
            let f = fault(&mut self.rng, port, true);
            self.push(port, f);
            self.stats.fault("throttle");
        }
        if self.rng.chance(0.015) {
            let f = fault(&mut self.rng, port, false);
            self.push(port, f);
            self.stats.fault("service fault");
        }
        // A burst past the Retry: the function fails after whatever it did.
        if self.rng.chance(0.004) {
            let n = self.rng.range(6, 8);
            for _ in 0..n {
                let throttle = self.rng.chance(0.5);
                let f = fault(&mut self.rng, port, throttle);
                self.push(port, f);
            }
            self.stats.fault("fault past the retries");
        }
        // A response lost after the write happened: ledger, StartExport, SNS.
        if self.rng.chance(0.006) {
            *lock(&self.world.ledger.crash_after_write) = self.rng.range(1, 8) as u32;
            self.stats.fault("ledger response lost");
            // Sometimes followed by a long outage (past the 8 h a client
            // token is remembered).
            if self.rng.chance(0.1) {
                self.outage_after_crash = Some(self.rng.range(3600, 10 * 3600));
            }
        }
        if self.rng.chance(0.003) {
            self.world.exports.world().lose_start_response += 1;
            self.stats.fault("StartExport response lost");
        }
        if self.rng.chance(0.003) {
            *lock(&self.world.notifier.lose_response) += 1;
            self.stats.fault("SNS response lost");
        }
        if self.rng.chance(0.005) {
            self.world
                .deliver_twice
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.stats.fault("input delivered twice");
        }
        if let Some(len) = self.outage_after_crash {
            if *lock(&self.world.ledger.crash_after_write) == 0 {
                self.outage = Some((Port::Ledger, now + len));
                self.outage_after_crash = None;
                self.stats.fault("outage");
            }
        }
        if self.outage.is_none() && self.rng.chance(0.0003) {
            let len = self.rng.range(600, 10 * 3600);
            self.outage = Some((port, now + len));
            self.stats.fault("outage");
        }
        match self.outage {
            Some((p, until)) if now < until => {
                while self.queued(p) < 8 {
                    let f = fault(&mut self.rng, p, false);
                    self.push(p, f);
                }
            }
            Some((p, _)) => {
                match p {
                    Port::Ledger => lock(&self.world.ledger.faults).clear(),
                    Port::Control => lock(&self.world.control.faults).clear(),
                    Port::Notifier => lock(&self.world.notifier.faults).clear(),
                    Port::Exports => self.world.exports.world().faults.clear(),
                }
                self.outage = None;
            }
            None => {}
        }
        // The export service.
        if self.rng.chance(0.003) {
            self.world.exports.world().fail_next = Some(
                ["S3NoSuchBucket", "UnknownOperationException"][self.rng.below(2) as usize].into(),
            );
            self.stats.fault("export failed");
        }
        if self.rng.chance(0.0005) {
            // Longer than a run may watch (5 hours), some past its timeout.
            self.world.exports.world().duration = self.rng.range(5 * 3600, 8 * 3600);
            self.stats.fault("export of 5 to 8 hours");
        }
        if self.rng.chance(0.002) {
            let h = if self.rng.chance(0.5) {
                0
            } else {
                self.rng.range(1, 15) * 60
            };
            if h > 0 {
                self.stats.fault("export invisible for up to 15 minutes");
            }
            self.world.exports.world().hidden_for = h;
        }
        if self.rng.chance(0.002) {
            self.world.exports.world().invalid_time_next += 1;
            self.stats.fault("InvalidExportTime inside the PITR window");
        }
        if self.rng.chance(0.001) {
            self.world.exports.world().skew = self.rng.range(-120, 120);
            self.stats.fault("clock skew");
        }
        // The operator.
        if self.rng.chance(0.0008) {
            let v = match self.rng.below(4) {
                0 | 1 => "PAUSE",
                2 => "RUN",
                _ => "RESET_WITH_FULL_EXPORT_AGAIN",
            };
            self.stats.fault(match v {
                "PAUSE" => "pause",
                "RUN" => "resume",
                _ => "reset",
            });
            self.world.control.set(v);
        }
        if self.rng.chance(0.0001) {
            if self.rng.chance(0.5) {
                self.world.control.set("BOGUS");
            } else {
                self.world.control.delete();
            }
            self.stats.fault("bad or missing control");
        }
        if self.rng.chance(0.0002) {
            // A redeploy: the parameter made anew at version 1; the ledger
            // keeps its old settings' versions. Sometimes the operator asks
            // for a reset right after.
            self.world.control.recreate("RUN");
            if self.rng.chance(0.5) {
                self.world.control.set("RESET_WITH_FULL_EXPORT_AGAIN");
            }
            self.stats.fault("control recreated at version 1");
        }
        let control = self.world.control.value();
        let bad = !matches!(
            control.as_deref(),
            Some("RUN" | "PAUSE" | "RESET_WITH_FULL_EXPORT_AGAIN") | None
        );
        if (bad || control.as_deref() == Some("PAUSE")) && self.rng.chance(0.01) {
            self.world.control.set("RUN");
            self.stats.fault("resume");
        }
        let pitr = self.world.exports.world().pitr_enabled;
        if pitr && self.rng.chance(0.0002) {
            self.checker.pitr_toggled = true;
            self.world.exports.set_pitr(false);
            self.stats.fault("PITR off");
        } else if !pitr && self.rng.chance(0.005) {
            self.world.exports.set_pitr(true);
            self.stats.fault("PITR on");
        }
    }

    fn after_step(&mut self) -> Result<(), ChaosFailure> {
        let checked = self.checker.check(&self.world);
        self.stats.violations = self.checker.found.clone();
        checked.map_err(|m| self.fail(m))
    }

    /// An execution that ended in OperatorNeeded must have published a
    /// FAILED notification (NotifyOperator succeeded).
    fn finished(&mut self, e: &Execution) -> Result<(), ChaosFailure> {
        self.stats.transitions += u64::from(e.transitions);
        if e.trace.last().map(String::as_str) == Some("OperatorNeeded") {
            let found = self
                .world
                .notifier
                .since(self.notifications_seen)
                .iter()
                .any(|n| n.execution_id == e.id && n.status == Status::Failed);
            if !found {
                return Err(self.fail(format!(
                    "{} needed an operator but no FAILED notification went out: {:?}",
                    e.id, e.trace
                )));
            }
            self.stats.operator_notifications += 1;
        }
        Ok(())
    }

    /// Starts the runs notify asked for (StartExecution is immediate).
    fn start_requested(&mut self) {
        for name in self.world.runs.take_new() {
            let e = self.world.start_requested(&name);
            self.live.push(e);
            self.stats.executions += 1;
            self.stats.runs_started_by_notify += 1;
        }
    }

    async fn step_one(&mut self, i: usize) -> Result<(), ChaosFailure> {
        self.inject();
        if self.rng.chance(0.002) {
            let e = self.live.remove(i);
            self.stats.transitions += u64::from(e.transitions);
            self.stats.fault("execution killed");
            return Ok(());
        }
        let mut e = self.live.swap_remove(i);
        self.world.step(&mut e).await.map_err(|m| self.fail(m))?;
        self.stats.steps += 1;
        self.after_step()?;
        if e.is_done() {
            if matches!(&e.finish, Some(super::Finish::Failed { error, .. }) if error == "States.Timeout")
            {
                self.stats.fault("execution timed out");
            }
            self.finished(&e)?;
        } else {
            self.live.push(e);
        }
        self.start_requested();
        Ok(())
    }

    /// Chaos until `end`.
    async fn chaos(&mut self, end: Epoch) -> Result<(), ChaosFailure> {
        self.notifications_seen = self.world.notifier.count();
        loop {
            let now = self.world.now();
            // Run what can run, interleaved at random.
            let mut guard = 0;
            loop {
                let now = self.world.now();
                let ready: Vec<usize> = (0..self.live.len())
                    .filter(|&i| self.live[i].wake_at.is_none_or(|w| w <= now))
                    .collect();
                if ready.is_empty() {
                    break;
                }
                guard += 1;
                if guard > 100_000 {
                    return Err(self.fail("executions do not reach a wait or an end"));
                }
                let i = ready[self.rng.below(ready.len() as u64) as usize];
                self.step_one(i).await?;
                // Functions take time.
                if self.rng.chance(0.05) {
                    self.world.clock.advance(self.rng.range(1, 30));
                }
            }
            if now >= end {
                return Ok(());
            }
            // The next event: the schedule, a manual run, or a wake-up.
            let mut t = self.next_schedule;
            t = self.extra.iter().copied().fold(t, Epoch::min);
            t = self
                .live
                .iter()
                .filter_map(|e| e.wake_at)
                .fold(t, Epoch::min);
            let now = self.world.now();
            if t > now {
                self.world.clock.advance(t - now);
            }
            let now = self.world.now();
            // The schedule starts its run whether or not earlier ones still
            // run (EventBridge Scheduler does not wait).
            while self.next_schedule <= now {
                self.next_schedule += self.window;
                self.start();
                if self.rng.chance(0.04) {
                    let at = now + self.rng.range(0, self.window);
                    self.extra.push(at);
                }
            }
            let due = self.extra.iter().filter(|&&x| x <= now).count();
            self.extra.retain(|&x| x > now);
            for _ in 0..due {
                self.start();
                self.stats.fault("overlapping manual run");
            }
        }
    }

    fn start(&mut self) {
        let e = self.world.start_execution();
        self.live.push(e);
        self.stats.executions += 1;
    }

    /// Whether the next run, with no faults, must call for a person.
    async fn needs_person(&self) -> bool {
        let head = self.world.ledger.head_now();
        if head.in_flight.is_some() {
            return false;
        }
        let control = self.world.control.value();
        match control.as_deref() {
            Some("PAUSE") => return false,
            Some("RUN" | "RESET_WITH_FULL_EXPORT_AGAIN") | None => {}
            _ => return true,
        }
        let pitr = self.world.exports.backups().await;
        let earliest = match pitr {
            Ok(Pitr::Enabled { earliest, .. }) => earliest,
            _ => return true,
        };
        let reading = lock(&self.world.control.control).clone();
        let reset = control.as_deref() == Some("RESET_WITH_FULL_EXPORT_AGAIN")
            && !incx_core::domain::decision::reset_done(&reading, &head);
        if reset || head.mode == Mode::NeedsFullExport {
            return false;
        }
        head.state == WorkflowState::PitrGap || head.watermark.is_some_and(|w| w < earliest)
    }

    /// Runs an execution (and any it asks for) to its end, checking the
    /// promises after it.
    async fn complete(&mut self, e: &mut Execution) -> Result<(), ChaosFailure> {
        self.world.run_to_end(e).await.map_err(|m| self.fail(m))?;
        self.after_step()?;
        self.finished(e)?;
        for _ in 0..10_000 {
            let names = self.world.runs.take_new();
            if names.is_empty() {
                return Ok(());
            }
            for name in names {
                let mut next = self.world.start_requested(&name);
                self.stats.executions += 1;
                self.stats.runs_started_by_notify += 1;
                self.world
                    .run_to_end(&mut next)
                    .await
                    .map_err(|m| self.fail(m))?;
                self.after_step()?;
                self.finished(&next)?;
            }
        }
        let head = self.world.ledger.head_now();
        Err(self.fail(format!(
            "runs start runs without end: head {head:?}, control {:?}",
            self.world.control.value()
        )))
    }

    /// The faults stop; the operator follows the remedies; the chain must
    /// catch up within a bounded number of scheduled runs, and every
    /// promise must hold in full.
    async fn recover(&mut self) -> Result<(), ChaosFailure> {
        self.clear_faults();
        self.stats.recoveries += 1;
        for mut e in std::mem::take(&mut self.live) {
            self.complete(&mut e).await?;
        }
        self.extra.clear();
        let head = self.world.ledger.head_now();
        let now = self.world.now();
        let behind = now - head.watermark.unwrap_or(now);
        // A run exports the backlog (coalesced up to a day, or a window at
        // a time, when notify starts the next run at once); an operator
        // needs a run to notice, one to act on, one for the full export,
        // and an export longer than a run needs the runs it spans; beyond
        // this bound the chain is stuck.
        let bound = 24 + behind / self.window + 8 * 3600 / self.window;
        if self.world.control.value().as_deref() == Some("PAUSE") {
            self.world.control.set("RUN");
        }
        for _ in 0..bound {
            let now = self.world.now();
            if self.next_schedule > now {
                self.world.clock.advance(self.next_schedule - now);
            }
            self.next_schedule += self.window;
            let person = self.needs_person().await;
            let before = self.world.notifier.count();
            self.notifications_seen = before;
            let mut e = self.world.start_execution();
            self.stats.executions += 1;
            self.complete(&mut e).await?;
            if person {
                let failed = self
                    .world
                    .notifier
                    .since(before)
                    .iter()
                    .any(|n| n.status == Status::Failed);
                if !failed || e.trace.last().map(String::as_str) != Some("OperatorNeeded") {
                    return Err(self.fail(format!(
                        "a person is needed but the run did not say so: {:?}",
                        e.trace
                    )));
                }
            }
            // The operator's remedies.
            let control = self.world.control.value();
            let head = self.world.ledger.head_now();
            if !self.world.exports.world().pitr_enabled {
                self.world.exports.set_pitr(true);
            } else if !matches!(
                control.as_deref(),
                Some("RUN" | "RESET_WITH_FULL_EXPORT_AGAIN") | None
            ) {
                self.world.control.set("RUN");
            } else if head.state == WorkflowState::PitrGap
                && control.as_deref() != Some("RESET_WITH_FULL_EXPORT_AGAIN")
            {
                self.world.control.set("RESET_WITH_FULL_EXPORT_AGAIN");
            }
            if self.caught_up() {
                break;
            }
        }
        if !self.caught_up() {
            self.stats.violations.stalls += 1;
            let head = self.world.ledger.head_now();
            return Err(self.fail(format!(
                "stuck after {bound} runs: horizon {}, head {head:?}",
                self.world.now() - 300
            )));
        }
        // Once more past the notification grace, so anything left pending
        // is sent, then every promise in full.
        let now = self.world.now();
        self.world.clock.set(now + 180);
        let mut e = self.world.start_execution();
        self.stats.executions += 1;
        self.complete(&mut e).await?;
        self.checker.settle(&self.world).map_err(|m| self.fail(m))?;
        self.stats.violations = self.checker.found.clone();
        Ok(())
    }

    /// The chain ends within two windows (and the first's minimum length)
    /// of the horizon, nothing is in flight, the control says RUN.
    fn caught_up(&self) -> bool {
        let head = self.world.ledger.head_now();
        let horizon = self.world.now() - 300;
        head.in_flight.is_none()
            && head
                .watermark
                .is_some_and(|w| horizon - w < 2 * self.window + MIN_WINDOW)
            && self.world.control.value().as_deref() == Some("RUN")
    }

    async fn play(mut self) -> Result<Stats, ChaosFailure> {
        let end = EPOCH0 + self.days as Epoch * DAY;
        while self.world.now() < end {
            let stretch = self.rng.range(DAY / 2, 6 * DAY);
            let until = (self.world.now() + stretch).min(end);
            self.chaos(until).await?;
            self.recover().await?;
        }
        self.stats.days = ((self.world.now() - EPOCH0) / DAY) as u64;
        let w = self.world.exports.world();
        self.stats.exports = w.exports.len() as u64;
        drop(w);
        let entries = lock(&self.world.ledger.entries);
        self.stats.windows_completed = entries
            .iter()
            .filter(|e| e.status == incx_core::domain::ledger::CatalogStatus::Completed)
            .count() as u64;
        drop(entries);
        self.stats.chains = u64::from(self.world.ledger.head_now().chain);
        self.stats.port_calls = lock(&self.world.recorder.calls).clone();
        Ok(self.stats)
    }
}

/// Runs one seed for `days` simulated days.
pub async fn run_seed(seed: u64, days: u64) -> Result<Stats, ChaosFailure> {
    let run = Run::new(seed, days).map_err(|message| ChaosFailure {
        seed,
        days,
        at: EPOCH0,
        message,
    })?;
    run.play().await
}
