//! An interpreter for the ASL subset the definition uses: Task (with
//! Parameters, Retry with its intervals, backoff and cap, Catch), Choice
//! (StringEquals, BooleanEquals, IsPresent, And, Or, Not over plain paths),
//! Wait (Seconds, SecondsPath), Succeed and Fail, and the execution's
//! TimeoutSeconds. Anything else is refused, so a new construct in the
//! definition fails the simulation loudly instead of being skipped. Every
//! state entered and every retry counts as a billed transition.

use incx_core::domain::Epoch;
use serde_json::{Map, Value};
use std::future::Future;

/// A Task's failure, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Succeeded(Value),
    Failed { error: String, cause: String },
}

/// One execution: where it is and what it carries.
#[derive(Debug, Clone)]
pub struct Execution {
    pub id: String,
    pub start_time: String,
    pub state: String,
    pub input: Value,
    /// While in a Wait, or before a Task's retry: the moment it may go on.
    pub wake_at: Option<Epoch>,
    pub finish: Option<Finish>,
    /// Billed state transitions (every state entered, every retry).
    pub transitions: u32,
    /// Names of the states entered, in order.
    pub trace: Vec<String>,
    /// Retries made, by the Task state retried.
    pub retried: Vec<String>,
    /// When the execution started (for its TimeoutSeconds), once stepped.
    started_at: Option<Epoch>,
    /// Attempts used per retrier of the current state.
    attempts: Vec<u32>,
    /// The wake-up is a retry of the current Task, not the end of a Wait.
    retrying: bool,
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    rest.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(value, |v, key| v.get(key))
}

fn set_path(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path == "$" {
        *target = value;
        return Ok(());
    }
    let keys: Vec<&str> = path
        .strip_prefix("$.")
        .ok_or_else(|| format!("unsupported ResultPath {path}"))?
        .split('.')
        .collect();
    let mut cur = target;
    for (i, key) in keys.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().ok_or("not an object")?;
        if i + 1 == keys.len() {
            obj.insert((*key).to_string(), value);
            return Ok(());
        }
        cur = obj
            .entry(key.to_string())
            .or_insert(Value::Object(Map::new()));
    }
    Ok(())
}

impl Execution {
    pub fn new(definition: &Value, id: &str, start_time: &str, input: Value) -> Self {
        let start = definition["StartAt"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Self {
            id: id.to_string(),
            start_time: start_time.to_string(),
            state: start,
            input,
            wake_at: None,
            finish: None,
            transitions: 0,
            trace: Vec::new(),
            retried: Vec::new(),
            started_at: None,
            attempts: Vec::new(),
            retrying: false,
        }
    }

    pub fn is_done(&self) -> bool {
        self.finish.is_some()
    }

    fn parameters(&self, template: &Value) -> Result<Value, String> {
        match template {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(key) = k.strip_suffix(".$") {
                        let path = v.as_str().ok_or("path must be a string")?;
                        let resolved = match path {
                            "$$.Execution.Id" => Value::String(self.id.clone()),
                            "$$.Execution.StartTime" => Value::String(self.start_time.clone()),
                            p if p.starts_with("$$") => {
                                return Err(format!("unsupported context path {p}"))
                            }
                            p => lookup(&self.input, p)
                                .cloned()
                                .ok_or_else(|| format!("path {p} not found in input"))?,
                        };
                        out.insert(key.to_string(), resolved);
                    } else {
                        out.insert(k.clone(), self.parameters(v)?);
                    }
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn fail(&mut self, error: &str, cause: &str) {
        self.finish = Some(Finish::Failed {
            error: error.into(),
            cause: cause.into(),
        });
    }

    fn goto(&mut self, next: &str) {
        self.state = next.to_string();
        self.attempts.clear();
    }

    /// Runs the current state. `run_task` invokes a Task's resource. Returns
    /// `false` when the execution is waiting (on `wake_at`) or finished.
    pub async fn step<F, Fut>(
        &mut self,
        definition: &Value,
        now: Epoch,
        run_task: F,
    ) -> Result<bool, String>
    where
        F: FnOnce(String, Value) -> Fut,
        Fut: Future<Output = Result<Value, TaskError>>,
    {
        if self.is_done() {
            return Ok(false);
        }
        let started = *self.started_at.get_or_insert(now);
        if let Some(limit) = definition["TimeoutSeconds"].as_i64() {
            if now - started >= limit {
                self.fail(
                    "States.Timeout",
                    "the execution ran past its TimeoutSeconds",
                );
                return Ok(false);
            }
        }
        if let Some(at) = self.wake_at {
            if now < at {
                return Ok(false);
            }
            self.wake_at = None;
            if std::mem::take(&mut self.retrying) {
                // The retry itself: the Task runs again below.
            } else {
                let next = definition["States"][&self.state]["Next"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.enter(&next);
                return Ok(true);
            }
        }
        if self.trace.is_empty() {
            let first = self.state.clone();
            self.enter(&first);
        }
        let state = definition["States"]
            .get(&self.state)
            .ok_or_else(|| format!("no state {}", self.state))?;
        match state["Type"].as_str().unwrap_or_default() {
            "Task" => self.task(state, now, run_task).await,
            "Choice" => {
                let mut chosen = None;
                for rule in state["Choices"].as_array().into_iter().flatten() {
                    if matches(rule, &self.input)? {
                        chosen = rule["Next"].as_str();
                        break;
                    }
                }
                let next = chosen
                    .or_else(|| state["Default"].as_str())
                    .ok_or_else(|| {
                        format!("Choice {} matched nothing and has no Default", self.state)
                    })?
                    .to_string();
                self.enter(&next);
                Ok(true)
            }
            "Wait" => {
                let secs = match (state.get("Seconds"), state["SecondsPath"].as_str()) {
                    (Some(s), _) => s.as_i64(),
                    (None, Some(path)) => lookup(&self.input, path).and_then(Value::as_i64),
                    _ => None,
                }
                .ok_or_else(|| format!("Wait {} has no usable seconds", self.state))?;
                if secs < 0 {
                    return Err(format!("Wait {} got negative seconds {secs}", self.state));
                }
                self.wake_at = Some(now + secs);
                Ok(false)
            }
            "Succeed" => {
                self.finish = Some(Finish::Succeeded(self.input.clone()));
                Ok(false)
            }
            "Fail" => {
                let error = state["Error"].as_str().unwrap_or("Failed").to_string();
                let cause = state["Cause"].as_str().unwrap_or_default().to_string();
                self.fail(&error, &cause);
                Ok(false)
            }
            other => Err(format!(
                "state type {other} is not supported by the simulation"
            )),
        }
    }

    fn enter(&mut self, name: &str) {
        self.goto(name);
        self.transitions += 1;
        self.trace.push(name.to_string());
    }

    async fn task<F, Fut>(&mut self, state: &Value, now: Epoch, run_task: F) -> Result<bool, String>
    where
        F: FnOnce(String, Value) -> Fut,
        Fut: Future<Output = Result<Value, TaskError>>,
    {
        let resource = state["Resource"].as_str().unwrap_or_default().to_string();
        let input = match state.get("Parameters") {
            Some(p) => self.parameters(p)?,
            None => self.input.clone(),
        };
        match run_task(resource, input).await {
            Ok(output) => {
                self.input = output;
                if state["End"].as_bool() == Some(true) {
                    self.finish = Some(Finish::Succeeded(self.input.clone()));
                    return Ok(false);
                }
                let next = state["Next"].as_str().unwrap_or_default().to_string();
                self.enter(&next);
                Ok(true)
            }
            Err(err) => {
                // The first retrier that names the error, with its own count.
                let retry = state["Retry"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .find(|(_, r)| covers(r, &err.error));
                if let Some((i, rule)) = retry {
                    if self.attempts.len() <= i {
                        self.attempts.resize(i + 1, 0);
                    }
                    let max = rule["MaxAttempts"].as_u64().unwrap_or(3) as u32;
                    if self.attempts[i] < max {
                        self.attempts[i] += 1;
                        self.transitions += 1;
                        self.retried.push(self.state.clone());
                        let delay = retry_delay(rule, self.attempts[i]);
                        if delay > 0 {
                            self.wake_at = Some(now + delay);
                            self.retrying = true;
                            return Ok(false);
                        }
                        return Ok(true);
                    }
                }
                let catch = state["Catch"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| covers(c, &err.error));
                match catch {
                    Some(c) => {
                        let error = serde_json::json!({"Error": err.error, "Cause": err.cause});
                        let path = c["ResultPath"].as_str().unwrap_or("$");
                        set_path(&mut self.input, path, error)?;
                        let next = c["Next"].as_str().unwrap_or_default().to_string();
                        self.enter(&next);
                        Ok(true)
                    }
                    None => {
                        self.fail(&err.error, &err.cause);
                        Ok(false)
                    }
                }
            }
        }
    }
}

/// Seconds before retry number `attempt` (1 = the first): IntervalSeconds
/// grown by BackoffRate, capped by MaxDelaySeconds; with JitterStrategy
/// FULL, the service waits a random time up to that, taken here as half.
fn retry_delay(rule: &Value, attempt: u32) -> Epoch {
    let interval = rule["IntervalSeconds"].as_f64().unwrap_or(1.0);
    let backoff = rule["BackoffRate"].as_f64().unwrap_or(2.0);
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    let mut delay = interval * backoff.powi(exponent);
    if let Some(cap) = rule["MaxDelaySeconds"].as_f64() {
        delay = delay.min(cap);
    }
    if rule["JitterStrategy"].as_str() == Some("FULL") {
        delay /= 2.0;
    }
    delay.round() as Epoch
}

fn covers(rule: &Value, error: &str) -> bool {
    rule["ErrorEquals"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e == "States.ALL" || e == error)
}

/// Evaluates a Choice rule. An operator the simulation does not know is an
/// error, so a new construct in the definition cannot be silently skipped.
fn matches(rule: &Value, input: &Value) -> Result<bool, String> {
    if let Some(all) = rule.get("And").and_then(Value::as_array) {
        for r in all {
            if !matches(r, input)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(any) = rule.get("Or").and_then(Value::as_array) {
        for r in any {
            if matches(r, input)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(not) = rule.get("Not") {
        return Ok(!matches(not, input)?);
    }
    let value = rule["Variable"].as_str().and_then(|p| lookup(input, p));
    let test = |key: &str| rule.get(key).and_then(Value::as_bool);
    if let Some(want) = test("IsPresent") {
        return Ok(value.is_some() == want);
    }
    if let Some(want) = test("IsBoolean") {
        return Ok(value.is_some_and(Value::is_boolean) == want);
    }
    if let Some(want) = test("IsString") {
        return Ok(value.is_some_and(Value::is_string) == want);
    }
    if let Some(want) = test("IsNumeric") {
        return Ok(value.is_some_and(Value::is_number) == want);
    }
    if let Some(want) = test("IsNull") {
        return Ok(value.is_some_and(Value::is_null) == want);
    }
    if let Some(s) = rule.get("StringEquals") {
        return Ok(value == Some(s));
    }
    if let Some(b) = rule.get("BooleanEquals") {
        return Ok(value == Some(b));
    }
    Err(format!(
        "Choice rule not supported by the simulation: {rule}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def() -> Value {
        json!({
            "StartAt": "T",
            "States": {
                "T": {"Type": "Task", "Resource": "r", "Next": "C",
                      "Retry": [{"ErrorEquals": ["Throttled"], "MaxAttempts": 2, "IntervalSeconds": 10, "BackoffRate": 2.0}],
                      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "F"}]},
                "C": {"Type": "Choice", "Choices": [
                        {"And": [{"Variable": "$.go", "IsPresent": true}, {"Variable": "$.go", "BooleanEquals": true}], "Next": "W"}],
                      "Default": "S"},
                "W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "S"},
                "S": {"Type": "Succeed"},
                "F": {"Type": "Fail", "Error": "E"}
            }
        })
    }

    #[tokio::test]
    async fn runs_task_choice_wait_and_counts_transitions() {
        let d = def();
        let mut e = Execution::new(&d, "x", "t0", json!({}));
        assert!(e
            .step(&d, 0, |_, _| async { Ok(json!({"go": true, "wait": 30})) })
            .await
            .unwrap());
        assert!(e
            .step(&d, 0, |_, _| async { unreachable!() })
            .await
            .unwrap()); // Choice
        assert!(!e
            .step(&d, 0, |_, _| async { unreachable!() })
            .await
            .unwrap()); // Wait starts
        assert!(!e
            .step(&d, 29, |_, _| async { unreachable!() })
            .await
            .unwrap());
        assert!(e
            .step(&d, 30, |_, _| async { unreachable!() })
            .await
            .unwrap());
        e.step(&d, 30, |_, _| async { unreachable!() })
            .await
            .unwrap();
        assert!(matches!(e.finish, Some(Finish::Succeeded(_))));
        assert_eq!(e.trace, ["T", "C", "W", "S"]);
        assert_eq!(e.transitions, 4);
    }

    #[tokio::test]
    async fn retries_then_catches() {
        let d = def();
        let mut e = Execution::new(&d, "x", "t0", json!({}));
        let err = || async {
            Err(TaskError {
                error: "Throttled".into(),
                cause: "slow".into(),
            })
        };
        // The first try fails: a retry in 10 s, then 20 s, then the Catch.
        assert!(!e.step(&d, 0, |_, _| err()).await.unwrap());
        assert_eq!(e.wake_at, Some(10));
        assert!(!e.step(&d, 9, |_, _| err()).await.unwrap());
        assert!(!e.step(&d, 10, |_, _| err()).await.unwrap());
        assert_eq!(e.wake_at, Some(30));
        assert!(e.step(&d, 30, |_, _| err()).await.unwrap());
        assert_eq!(e.state, "F");
        assert_eq!(e.input["error"]["Error"], "Throttled");
        // Billed: T entered, two retries, F entered.
        assert_eq!(e.transitions, 4);
        assert_eq!(e.retried, ["T", "T"]);
        e.step(&d, 0, |_, _| async { unreachable!() })
            .await
            .unwrap();
        assert!(matches!(e.finish, Some(Finish::Failed { .. })));
    }
}
