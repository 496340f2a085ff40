//! The simulated world: in-memory AWS, a manual clock, the configuration,
//! and the dispatch of the definition's Task resources to the use cases.

use super::asl::{Execution, TaskError};
use crate::clock::ManualClock;
use crate::memory::{
    MemoryBucket, MemoryControl, MemoryExports, MemoryLedger, MemoryNotifier, MemoryRuns, Recorder,
};
use incx_core::config::{Config, NoticeConfig};
use incx_core::contract::{
    parse, AdvanceInput, CheckInput, DecideInput, NotifyInput, StartInput, FUNCTIONS,
};
use incx_core::domain::timefmt::rfc3339;
use incx_core::domain::Epoch;
use incx_core::error::CoreError;
use incx_core::ports::Clock;
use incx_core::usecases::notify::Announcer;
use incx_core::Service;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// The definition the deployed state machine runs, built into the crate so
/// the simulation can never follow another one.
pub const DEFINITION: &str = include_str!("../../statemachine/export.asl.json");

/// The service every simulated function shares: the in-memory world.
pub type SimService =
    Service<Arc<MemoryControl>, Arc<MemoryLedger>, Arc<MemoryExports>, Arc<MemoryBucket>>;
/// notify's ports in the simulation.
pub type SimAnnouncer = Announcer<Arc<MemoryNotifier>, Arc<MemoryLedger>, Arc<MemoryRuns>>;

#[derive(Debug)]
pub struct World {
    pub clock: Arc<ManualClock>,
    pub control: Arc<MemoryControl>,
    pub ledger: Arc<MemoryLedger>,
    pub exports: Arc<MemoryExports>,
    pub notifier: Arc<MemoryNotifier>,
    pub runs: Arc<MemoryRuns>,
    pub bucket: Arc<MemoryBucket>,
    pub service: SimService,
    pub announcer: SimAnnouncer,
    pub definition: Value,
    /// The next this many function calls are delivered twice (Lambda and
    /// Step Functions deliver at least once); the second answer counts.
    pub deliver_twice: std::sync::atomic::AtomicU32,
    /// Which port methods each function called.
    pub recorder: Arc<Recorder>,
    started: u32,
}

fn to_task_error(e: CoreError) -> TaskError {
    TaskError {
        error: e.error_type().to_string(),
        cause: e.to_string(),
    }
}

fn output<O: Serialize>(out: Result<O, CoreError>) -> Result<Value, TaskError> {
    out.map_err(to_task_error).and_then(|o| {
        serde_json::to_value(o).map_err(|e| TaskError {
            error: "Serialize".into(),
            cause: e.to_string(),
        })
    })
}

impl World {
    /// A world at `now` with PITR enabled since `now - 1 day`.
    pub fn new(config: Config, now: Epoch) -> Result<Self, String> {
        let clock = Arc::new(ManualClock::at(now));
        let definition: Value = serde_json::from_str(DEFINITION).map_err(|e| e.to_string())?;
        let recorder = Arc::new(Recorder::default());
        let mut exports = MemoryExports::new(clock.clone(), now - 86_400);
        exports.recorder = recorder.clone();
        let exports = Arc::new(exports);
        let mut control = MemoryControl::new(clock.clone());
        control.recorder = recorder.clone();
        control.set("RUN");
        let control = Arc::new(control);
        let ledger = Arc::new(MemoryLedger {
            recorder: recorder.clone(),
            ..MemoryLedger::default()
        });
        let mut notifier = MemoryNotifier::new(clock.clone());
        notifier.recorder = recorder.clone();
        let notifier = Arc::new(notifier);
        let runs = Arc::new(MemoryRuns {
            recorder: recorder.clone(),
            ..MemoryRuns::default()
        });
        let announcer = Announcer {
            config: NoticeConfig {
                table_name: config.table_name.clone(),
                alias: Ok(config.alias.clone()),
            },
            notifier: notifier.clone(),
            ledger: ledger.clone(),
            runs: runs.clone(),
        };
        let bucket = Arc::new(MemoryBucket {
            recorder: recorder.clone(),
            ..MemoryBucket::default()
        });
        let service = Service {
            config,
            clock: clock.clone(),
            control: control.clone(),
            ledger: ledger.clone(),
            exports: exports.clone(),
            published: bucket.clone(),
        };
        Ok(Self {
            clock,
            control,
            ledger,
            exports,
            notifier,
            runs,
            bucket,
            service,
            announcer,
            definition,
            deliver_twice: std::sync::atomic::AtomicU32::new(0),
            recorder,
            started: 0,
        })
    }

    pub fn config(&self) -> &Config {
        &self.service.config
    }

    pub fn now(&self) -> Epoch {
        self.clock.now()
    }

    /// A new execution as the schedule starts it.
    pub fn start_execution(&mut self) -> Execution {
        let input = serde_json::json!({ "time": rfc3339(self.now()) });
        self.start_named("sim", input)
    }

    /// An execution notify asked for (`name`: its run's name).
    pub fn start_requested(&mut self, name: &str) -> Execution {
        self.start_named(name, serde_json::json!({ "drain": true }))
    }

    fn start_named(&mut self, name: &str, input: Value) -> Execution {
        self.started += 1;
        let now = self.now();
        let id = format!(
            "arn:aws:states:us-east-1:000000000000:execution:incx:{name}-{:05}",
            self.started
        );
        Execution::new(&self.definition, &id, &rfc3339(now), input)
    }

    /// Invokes the function behind a Task resource, as Lambda would: the
    /// input parsed against the function's contract, the output as JSON;
    /// delivered twice when [`World::deliver_twice`] says so.
    pub async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        use std::sync::atomic::Ordering;
        let twice = self
            .deliver_twice
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let function = FUNCTIONS
            .iter()
            .find(|(_, r)| *r == resource)
            .map(|(name, _)| *name);
        self.recorder.calling(function);
        if twice {
            let _first = self.invoke_once(resource, input.clone()).await;
        }
        let out = self.invoke_once(resource, input).await;
        self.recorder.calling(None);
        out
    }

    async fn invoke_once(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        let svc = &self.service;
        let function = FUNCTIONS
            .iter()
            .find(|(_, r)| *r == resource)
            .map(|(name, _)| *name);
        match function {
            Some("decide-mode") => match parse::<DecideInput>(input) {
                Ok(i) => output(svc.decide(i).await),
                Err(e) => output::<()>(Err(e)),
            },
            Some("start-export") => match parse::<StartInput>(input) {
                Ok(i) => output(svc.start(i).await),
                Err(e) => output::<()>(Err(e)),
            },
            Some("check-status") => match parse::<CheckInput>(input) {
                Ok(i) => output(svc.check(i).await),
                Err(e) => output::<()>(Err(e)),
            },
            Some("advance-state") => match parse::<AdvanceInput>(input) {
                Ok(i) => output(svc.advance(i).await),
                Err(e) => output::<()>(Err(e)),
            },
            Some("notify") => match parse::<NotifyInput>(input) {
                Ok(i) => output(self.announcer.notify(i).await),
                Err(e) => output::<()>(Err(e)),
            },
            _ => Err(TaskError {
                error: "UnknownResource".into(),
                cause: resource.to_string(),
            }),
        }
    }

    /// Steps `exec` once at the current time.
    pub async fn step(&self, exec: &mut Execution) -> Result<bool, String> {
        let now = self.now();
        exec.step(&self.definition, now, |resource, input| {
            self.invoke_owned(resource, input)
        })
        .await
    }

    async fn invoke_owned(&self, resource: String, input: Value) -> Result<Value, TaskError> {
        self.invoke(&resource, input).await
    }

    /// Runs `exec` to its end, moving the clock through its waits.
    pub async fn run_to_end(&self, exec: &mut Execution) -> Result<(), String> {
        let mut guard = 0;
        while !exec.is_done() {
            guard += 1;
            if guard > 10_000 {
                return Err("execution did not finish in 10,000 steps".into());
            }
            if !self.step(exec).await? {
                if let Some(at) = exec.wake_at {
                    let now = self.now();
                    if at > now {
                        self.clock.advance(at - now);
                    }
                }
            }
        }
        Ok(())
    }
}
