//! The simulated world: in-memory AWS, a manual clock, the configuration,
//! and the dispatch of the definition's Task resources to the use cases.

use super::asl::{Execution, TaskError};
use crate::clock::ManualClock;
use crate::config::Config;
use crate::domain::timefmt::rfc3339;
use crate::domain::Epoch;
use crate::error::CoreError;
use crate::io::{parse, DecideInput, NotifyInput, Step};
use crate::memory::{MemoryControl, MemoryExports, MemoryLedger, MemoryNotifier};
use crate::usecases::{advance, check, decide, notify, start, Env};
use serde_json::Value;
use std::sync::Arc;

/// The definition the deployed state machine runs, built into the crate so
/// the simulation can never follow another one.
pub const DEFINITION: &str = include_str!("../../../statemachine/export.asl.json");

pub struct World {
    pub config: Config,
    pub clock: Arc<ManualClock>,
    pub control: MemoryControl,
    pub ledger: MemoryLedger,
    pub exports: MemoryExports,
    pub notifier: MemoryNotifier,
    pub definition: Value,
    started: u32,
}

fn to_task_error(e: CoreError) -> TaskError {
    TaskError {
        error: e.error_type().to_string(),
        cause: e.to_string(),
    }
}

impl World {
    /// A world at `now` with PITR enabled since `now - 1 day`.
    pub fn new(config: Config, now: Epoch) -> Result<Self, String> {
        let clock = Arc::new(ManualClock::at(now));
        let definition: Value = serde_json::from_str(DEFINITION).map_err(|e| e.to_string())?;
        Ok(Self {
            exports: MemoryExports::new(clock.clone(), now - 86_400),
            control: MemoryControl::with_action("RUN"),
            ledger: MemoryLedger::default(),
            notifier: MemoryNotifier::default(),
            clock,
            config,
            definition,
            started: 0,
        })
    }

    pub fn now(&self) -> Epoch {
        use crate::ports::Clock;
        self.clock.now()
    }

    pub fn env(&self) -> Env<'_, MemoryControl, MemoryLedger, MemoryExports, MemoryNotifier> {
        Env {
            cfg: &self.config,
            clock: self.clock.as_ref(),
            control: &self.control,
            ledger: &self.ledger,
            exports: &self.exports,
            notifier: &self.notifier,
        }
    }

    /// A new execution as the schedule starts it.
    pub fn start_execution(&mut self) -> Execution {
        self.started += 1;
        let now = self.now();
        let id = format!(
            "arn:aws:states:us-east-1:000000000000:execution:sim:{:05}",
            self.started
        );
        let input = serde_json::json!({ "time": rfc3339(now) });
        Execution::new(&self.definition, &id, &rfc3339(now), input)
    }

    /// Invokes the use case behind a Task resource, as Lambda would.
    pub async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        let env = self.env();
        let out: Result<Step, CoreError> = match resource {
            "${DecideModeFunctionArn}" => match parse::<DecideInput>(input) {
                Ok(i) => decide::decide(&env, i).await,
                Err(e) => Err(e),
            },
            "${StartExportFunctionArn}" => match parse::<Step>(input) {
                Ok(i) => start::start(&env, i).await,
                Err(e) => Err(e),
            },
            "${CheckStatusFunctionArn}" => match parse::<Step>(input) {
                Ok(i) => check::check(&env, i).await,
                Err(e) => Err(e),
            },
            "${AdvanceStateFunctionArn}" => match parse::<Step>(input) {
                Ok(i) => advance::advance(&env, i).await,
                Err(e) => Err(e),
            },
            "${NotifyFunctionArn}" => match parse::<NotifyInput>(input) {
                Ok(i) => notify::notify(&env, i).await,
                Err(e) => Err(e),
            },
            other => {
                return Err(TaskError {
                    error: "UnknownResource".into(),
                    cause: other.to_string(),
                })
            }
        };
        out.map_err(to_task_error).and_then(|s| {
            serde_json::to_value(s).map_err(|e| TaskError {
                error: "Serialize".into(),
                cause: e.to_string(),
            })
        })
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
