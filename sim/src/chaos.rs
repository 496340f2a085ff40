//! A seeded, deterministic chaos run: the schedule starts an execution of
//! the real definition 6 minutes after every window boundary, for days on
//! end, while a seeded RNG throttles and breaks port calls, crashes
//! functions right after their writes, kills executions, fails and slows
//! exports, hides new exports from `describe`, starts overlapping
//! executions, pauses, resumes and resets, and turns PITR off and on. After
//! every step the chain's promises are checked ([`Checker`]); after each
//! stretch of chaos the faults stop, a simulated operator follows the
//! remedies, and the chain must catch up within a bounded number of runs.

use super::invariants::Checker;
use super::{Execution, World};
use crate::memory::lock;
use incx_core::config::Config;
use incx_core::domain::export::{ExportError, Pitr};
use incx_core::domain::ledger::WorkflowState;
use incx_core::domain::notification::Status;
use incx_core::domain::window::MIN_WINDOW;
use incx_core::domain::Epoch;
use incx_core::error::CoreError;
use incx_core::ports::ExportService;
use incx_core::usecases::MAX_EXPORTS_PER_EXECUTION;
use serde::Serialize;

pub const DAY: Epoch = 86_400;
/// The schedule's offset after each window boundary.
pub const SCHEDULE_OFFSET: Epoch = 6 * 60;
/// The simulation's start: a window boundary.
pub const EPOCH0: Epoch = 1_800_000_000;

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

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// What a run did and what it injected, by kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub seeds: u64,
    pub days: u64,
    pub executions: u64,
    pub steps: u64,
    pub exports: u64,
    pub windows_completed: u64,
    pub chains: u64,
    pub throttle: u64,
    pub service_fault: u64,
    pub crash: u64,
    pub kill: u64,
    pub outage: u64,
    pub failed_export: u64,
    pub slow_export: u64,
    pub hidden_export: u64,
    pub token_reuse_after_expiry: u64,
    pub overlap: u64,
    pub pause: u64,
    pub resume: u64,
    pub reset: u64,
    pub bad_control: u64,
    pub pitr_off: u64,
    pub pitr_on: u64,
    pub operator_notifications: u64,
    pub recoveries: u64,
    pub gaps: u64,
    pub overlaps: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        macro_rules! sum {
            ($($f:ident),*) => { $( self.$f += o.$f; )* };
        }
        sum!(
            seeds,
            days,
            executions,
            steps,
            exports,
            windows_completed,
            chains,
            throttle,
            service_fault,
            crash,
            kill,
            outage,
            failed_export,
            slow_export,
            hidden_export,
            token_reuse_after_expiry,
            overlap,
            pause,
            resume,
            reset,
            bad_control,
            pitr_off,
            pitr_on,
            operator_notifications,
            recoveries,
            gaps,
            overlaps
        );
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        format!(
            "chaos: {} days, {} seeds, {} executions, {} steps, {} exports, {} windows, {} chains, faults: throttle={}, service={}, crash={}, kill={}, outage={}, failed_export={}, slow_export={}, hidden_export={}, token_expired={}, overlap={}, pause={}, resume={}, reset={}, bad_control={}, pitr_off={}, pitr_on={}; operator_notifications={}, recoveries={}, gaps {}, overlaps {}",
            self.days,
            self.seeds,
            self.executions,
            self.steps,
            self.exports,
            self.windows_completed,
            self.chains,
            self.throttle,
            self.service_fault,
            self.crash,
            self.kill,
            self.outage,
            self.failed_export,
            self.slow_export,
            self.hidden_export,
            self.token_reuse_after_expiry,
            self.overlap,
            self.pause,
            self.resume,
            self.reset,
            self.bad_control,
            self.pitr_off,
            self.pitr_on,
            self.operator_notifications,
            self.recoveries,
            self.gaps,
            self.overlaps
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
            "INCX_CHAOS_SEED={} INCX_CHAOS_DAYS={} cargo test -p incx-core --test chaos",
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
    Config::from_lookup(|k| {
        Some(match k {
            "TABLE_NAME" => "orders".into(),
            "DEPLOYMENT_ALIAS" => "orders".into(),
            "DATA_EXPORT_BUCKET" => "bucket".into(),
            "TOPIC_ARN" => "arn:aws:sns:us-east-1:000000000000:t".into(),
            "LEDGER_TABLE" => "ledger".into(),
            "WINDOW_MINUTES" => window_minutes.to_string(),
            "MAX_CATCH_UP_MINUTES" => catch_up_minutes.to_string(),
            _ => return None,
        })
    })
    .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Ledger,
    Control,
    Exports,
    Notifier,
}

const PORTS: [Port; 4] = [Port::Ledger, Port::Control, Port::Exports, Port::Notifier];

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
    exports_before: usize,
    notifications_seen: usize,
}

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

impl Run {
    fn new(seed: u64, days: u64) -> Result<Self, String> {
        let mut rng = Rng::new(seed);
        let window = [15, 15, 15, 30][rng.below(4) as usize];
        let catch_up = if rng.chance(0.5) { 1440 } else { window };
        let world = World::new(config(window, catch_up)?, EPOCH0)?;
        Ok(Self {
            seed,
            days,
            world,
            rng,
            checker: Checker::new(),
            live: Vec::new(),
            stats: Stats {
                seeds: 1,
                ..Stats::default()
            },
            window: window * 60,
            next_schedule: EPOCH0 + SCHEDULE_OFFSET,
            extra: Vec::new(),
            outage: None,
            outage_after_crash: None,
            exports_before: 0,
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
        let mut w = self.world.exports.world();
        w.faults.clear();
        w.fail_next = None;
        w.duration = 300;
        w.hidden_for = 0;
        drop(w);
        self.outage = None;
        self.outage_after_crash = None;
    }

    /// Chaos before one step.
    fn inject(&mut self) {
        let now = self.world.now();
        let port = PORTS[self.rng.below(4) as usize];
        let r = &mut self.rng;
        // Faults the Retry absorbs.
        if r.chance(0.03) {
            let f = fault(r, port, true);
            self.push(port, f);
            self.stats.throttle += 1;
        }
        let r = &mut self.rng;
        if r.chance(0.015) {
            let f = fault(r, port, false);
            self.push(port, f);
            self.stats.service_fault += 1;
        }
        // A burst past the Retry: the function fails after whatever it did.
        let r = &mut self.rng;
        if r.chance(0.004) {
            let n = r.range(6, 8);
            for _ in 0..n {
                let throttle = self.rng.chance(0.5);
                let f = fault(&mut self.rng, port, throttle);
                self.push(port, f);
            }
            self.stats.crash += 1;
        }
        // A crash right after a ledger write (intent, ARN, completion).
        if self.rng.chance(0.006) {
            *lock(&self.world.ledger.crash_after_write) = self.rng.range(1, 8) as u32;
            self.stats.crash += 1;
            // Sometimes followed by a long outage (past the 8 h a client
            // token is remembered).
            if self.rng.chance(0.1) {
                self.outage_after_crash = Some(self.rng.range(3600, 10 * 3600));
            }
        }
        if let Some(len) = self.outage_after_crash {
            if *lock(&self.world.ledger.crash_after_write) == 0 {
                self.outage = Some((Port::Ledger, now + len));
                self.outage_after_crash = None;
                self.stats.outage += 1;
            }
        }
        if self.outage.is_none() && self.rng.chance(0.0003) {
            let len = self.rng.range(600, 10 * 3600);
            self.outage = Some((port, now + len));
            self.stats.outage += 1;
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
        let r = &mut self.rng;
        if r.chance(0.003) {
            self.world.exports.world().fail_next =
                Some(["S3NoSuchBucket", "UnknownOperationException"][r.below(2) as usize].into());
            self.stats.failed_export += 1;
        }
        let r = &mut self.rng;
        if r.chance(0.002) {
            let d = if r.chance(0.5) {
                300
            } else {
                r.range(1, 40) * 60
            };
            if d > 15 * 60 {
                self.stats.slow_export += 1;
            }
            self.world.exports.world().duration = d;
        }
        let r = &mut self.rng;
        if r.chance(0.002) {
            let h = if r.chance(0.5) {
                0
            } else {
                r.range(1, 20) * 60
            };
            if h > 0 {
                self.stats.hidden_export += 1;
            }
            self.world.exports.world().hidden_for = h;
        }
        // The operator.
        let r = &mut self.rng;
        if r.chance(0.0008) {
            let (v, c) = match r.below(4) {
                0 | 1 => ("PAUSE", &mut self.stats.pause),
                2 => ("RUN", &mut self.stats.resume),
                _ => ("RESET_WITH_FULL_EXPORT_AGAIN", &mut self.stats.reset),
            };
            *c += 1;
            self.world.control.set(v);
        }
        let r = &mut self.rng;
        if r.chance(0.0001) {
            if r.chance(0.5) {
                self.world.control.set("BOGUS");
            } else {
                *lock(&self.world.control.control) = Default::default();
            }
            self.stats.bad_control += 1;
        }
        let r = &mut self.rng;
        let control = self.world.control.value();
        let bad = !matches!(
            control.as_deref(),
            Some("RUN" | "PAUSE" | "RESET_WITH_FULL_EXPORT_AGAIN")
        );
        if (bad || control.as_deref() == Some("PAUSE")) && r.chance(0.01) {
            self.world.control.set("RUN");
            self.stats.resume += 1;
        }
        let r = &mut self.rng;
        let pitr = self.world.exports.world().pitr_enabled;
        if pitr && r.chance(0.0002) {
            self.checker.pitr_toggled = true;
            self.world.exports.set_pitr(false);
            self.stats.pitr_off += 1;
        } else if !pitr && r.chance(0.005) {
            self.world.exports.set_pitr(true);
            self.stats.pitr_on += 1;
        }
    }

    fn after_step(&mut self) -> Result<(), ChaosFailure> {
        self.checker.check(&self.world).map_err(|m| self.fail(m))?;
        self.stats.gaps = self.checker.gaps;
        self.stats.overlaps = self.checker.overlaps;
        // Exports made with a token reused after the service forgot it.
        let w = self.world.exports.world();
        for (i, x) in w.exports.iter().enumerate().skip(self.exports_before) {
            if w.exports[..i]
                .iter()
                .rev()
                .take(64)
                .any(|y| y.request.client_token == x.request.client_token)
            {
                self.stats.token_reuse_after_expiry += 1;
            }
        }
        self.exports_before = w.exports.len();
        Ok(())
    }

    /// An execution that ended in OperatorNeeded must have published a
    /// FAILED notification (NotifyOperator succeeded).
    fn finished(&mut self, e: &Execution) -> Result<(), ChaosFailure> {
        if e.trace.last().map(String::as_str) == Some("OperatorNeeded") {
            let all = lock(&self.world.notifier.published);
            let found = all[self.notifications_seen.min(all.len())..]
                .iter()
                .any(|n| n.execution_id == e.id && n.status == Status::Failed);
            drop(all);
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

    async fn step_one(&mut self, i: usize) -> Result<(), ChaosFailure> {
        self.inject();
        if self.rng.chance(0.002) {
            self.live.remove(i);
            self.stats.kill += 1;
            return Ok(());
        }
        let mut e = self.live.swap_remove(i);
        self.world.step(&mut e).await.map_err(|m| self.fail(m))?;
        self.stats.steps += 1;
        self.after_step()?;
        if e.is_done() {
            self.finished(&e)?;
        } else {
            self.live.push(e);
        }
        Ok(())
    }

    /// Chaos until `end`.
    async fn chaos(&mut self, end: Epoch) -> Result<(), ChaosFailure> {
        self.notifications_seen = lock(&self.world.notifier.published).len();
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
                self.stats.overlap += 1;
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
            Some("RUN" | "RESET_WITH_FULL_EXPORT_AGAIN") => {}
            _ => return true,
        }
        let pitr = self.world.exports.backups().await;
        let earliest = match pitr {
            Ok(Pitr::Enabled { earliest, .. }) => earliest,
            _ => return true,
        };
        let reset = control.as_deref() == Some("RESET_WITH_FULL_EXPORT_AGAIN")
            && !(lock(&self.world.control.control).version == head.reset_version
                && head.mode == incx_core::domain::ledger::Mode::Incremental);
        if reset || head.mode == incx_core::domain::ledger::Mode::NeedsFullExport {
            return false;
        }
        head.state == WorkflowState::PitrGap || head.watermark.is_some_and(|w| w < earliest)
    }

    /// Runs an execution to its end, checking the chain after it.
    async fn complete(&mut self, e: &mut Execution) -> Result<(), ChaosFailure> {
        self.world.run_to_end(e).await.map_err(|m| self.fail(m))?;
        self.after_step()?;
        self.finished(e)
    }

    /// The faults stop; the operator follows the remedies; the chain must
    /// catch up within a bounded number of runs.
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
        // Each run drains up to MAX_EXPORTS_PER_EXECUTION windows, but the
        // run itself lasts several windows (an export each 5 minutes or so),
        // so it gains about half of them; an operator needs a run to notice,
        // one to act on, one for the full export; beyond this bound the
        // chain is stuck.
        let bound = 16 + behind / self.window / i64::from(MAX_EXPORTS_PER_EXECUTION / 2 - 1);
        // The operator resumes a paused workflow.
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
            let before = lock(&self.world.notifier.published).len();
            self.notifications_seen = before;
            let mut e = self.world.start_execution();
            self.stats.executions += 1;
            self.complete(&mut e).await?;
            if std::env::var_os("INCX_CHAOS_DEBUG").is_some() {
                let h = self.world.ledger.head_now();
                eprintln!(
                    "recover t={} wm={:?} behind={} steps={} last={:?} ctl={:?} fail={:?} dur={}",
                    self.world.now(),
                    h.watermark,
                    self.world.now() - h.watermark.unwrap_or(0),
                    e.trace.len(),
                    e.trace.iter().rev().take(3).collect::<Vec<_>>(),
                    self.world.control.value(),
                    h.last_failure.as_ref().map(|f| (&f.code, f.span)),
                    self.world.exports.world().duration,
                );
            }
            if person {
                let failed = lock(&self.world.notifier.published)[before..]
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
                Some("RUN" | "RESET_WITH_FULL_EXPORT_AGAIN")
            ) {
                self.world.control.set("RUN");
            } else if head.state == WorkflowState::PitrGap
                && control.as_deref() != Some("RESET_WITH_FULL_EXPORT_AGAIN")
            {
                self.world.control.set("RESET_WITH_FULL_EXPORT_AGAIN");
            }
        }
        let head = self.world.ledger.head_now();
        let horizon = self.world.now() - 300;
        let Some(watermark) = head.watermark else {
            return Err(self.fail("no chain after recovery"));
        };
        if horizon - watermark >= 2 * self.window + MIN_WINDOW {
            return Err(self.fail(format!(
                "stuck after {bound} runs: watermark {watermark}, horizon {horizon}, head {head:?}"
            )));
        }
        if self.world.control.value().as_deref() != Some("RUN") {
            return Err(self.fail(format!(
                "control is {:?} after recovery",
                self.world.control.value()
            )));
        }
        Ok(())
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
        self.stats.chains = u64::from(
            lock(&self.world.ledger.head)
                .as_ref()
                .map_or(0, |h| h.chain),
        );
        drop(entries);
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
