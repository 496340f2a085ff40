//! The bad-input sweep: every kind of wrong value the product can be given
//! (configuration, the operator's control, the functions' JSON, the AWS
//! side), one table row each. Every row must be refused the documented way
//! and leave the ledger as it was. Each test prints one summary line with
//! its counts (run with `--nocapture` to see them).
//!
//! `contracts/parameter_cases.json` holds the values the template refuses
//! for each parameter that becomes an environment variable (written and
//! checked by `tests/infra/test_parameters.py` from the template); every one
//! of them must be refused by the functions too, so the two cannot drift.

use incx_core::config::{vars, AuditSettings, Config, ConfigError, Env};
use incx_core::domain::control::{shown_value, ALLOWED_ACTIONS};
use incx_core::domain::export::ExportKind;
use incx_core::domain::ledger::{CatalogEntry, CatalogStatus, Head, Mode, LEDGER_FORMAT};
use incx_core::domain::notification::{Notification, Status};
use incx_sim::{Finish, World};
use serde_json::{json, Value};
use std::collections::HashMap;

const NOW: i64 = 1_800_000_000;
const WINDOW: i64 = 15 * 60;

fn base_env() -> HashMap<&'static str, String> {
    HashMap::from([
        (vars::TABLE_NAME, "orders".to_string()),
        (vars::DEPLOYMENT_ALIAS, "orders".to_string()),
        (vars::BUCKET, "bucket".to_string()),
        (
            vars::TOPIC_ARN,
            "arn:aws:sns:us-east-1:000000000000:t".to_string(),
        ),
        (vars::LEDGER_TABLE, "ledger".to_string()),
    ])
}

/// What the functions check at cold start: the workflow's configuration and
/// the names of the ledger table and the topic.
fn load(env: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
    let get = |k: &str| env.get(k).cloned();
    let config = Config::from_lookup(get)?;
    let names = Env::new(get);
    names.text(vars::LEDGER_TABLE)?;
    names.text(vars::TOPIC_ARN)?;
    Ok(config)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

/// Fails the test with every row that went wrong, after printing the summary.
fn finish(summary: String, failures: Vec<String>) {
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{} row(s) not refused as documented:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------- configuration

/// (variable, value or `None` for unset, what the error must say is allowed).
const CONFIG_CASES: &[(&str, Option<&str>, &str)] = &[
    // Required names: unset, empty, blank.
    (vars::TABLE_NAME, None, "existing DynamoDB table"),
    (vars::TABLE_NAME, Some(""), "existing DynamoDB table"),
    (vars::TABLE_NAME, Some("   "), "existing DynamoDB table"),
    (vars::BUCKET, None, "S3 bucket"),
    (vars::BUCKET, Some(""), "S3 bucket"),
    (vars::BUCKET, Some("\n"), "S3 bucket"),
    (vars::TOPIC_ARN, None, "SNS topic"),
    (vars::TOPIC_ARN, Some(""), "SNS topic"),
    (vars::LEDGER_TABLE, None, "ledger DynamoDB table"),
    (vars::LEDGER_TABLE, Some(" "), "ledger DynamoDB table"),
    // DEPLOYMENT_ALIAS: ^[a-z0-9]{1,15}$
    (vars::DEPLOYMENT_ALIAS, None, "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some(""), "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some("Orders"), "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some("ORDERS"), "^[a-z0-9]{1,15}$"),
    (
        vars::DEPLOYMENT_ALIAS,
        Some("abcdefghijklmnop"),
        "^[a-z0-9]{1,15}$",
    ),
    (vars::DEPLOYMENT_ALIAS, Some("my-alias"), "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some("my_alias"), "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some("orders 1"), "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some(" orders"), "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some("orders\n"), "^[a-z0-9]{1,15}$"),
    (vars::DEPLOYMENT_ALIAS, Some("ordérs"), "^[a-z0-9]{1,15}$"),
    (
        vars::DEPLOYMENT_ALIAS,
        Some("aaaaaaaaaaaaaaaa"),
        "^[a-z0-9]{1,15}$",
    ),
    // WINDOW_MINUTES: 15 to 1440.
    (vars::WINDOW_MINUTES, Some("14"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("1441"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("0"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("-1"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("-15"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("abc"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("15.5"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("1e2"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("0x0F"), "from 15 to 1440"),
    (vars::WINDOW_MINUTES, Some("   "), "from 15 to 1440"),
    (
        vars::WINDOW_MINUTES,
        Some("99999999999999999999"),
        "from 15 to 1440",
    ),
    // POLL_WAIT_SECONDS: 1 to 3600.
    (vars::POLL_WAIT_SECONDS, Some("0"), "from 1 to 3600"),
    (vars::POLL_WAIT_SECONDS, Some("3601"), "from 1 to 3600"),
    (vars::POLL_WAIT_SECONDS, Some("-1"), "from 1 to 3600"),
    (vars::POLL_WAIT_SECONDS, Some("abc"), "from 1 to 3600"),
    (vars::POLL_WAIT_SECONDS, Some("ten"), "from 1 to 3600"),
    (vars::POLL_WAIT_SECONDS, Some("2.5"), "from 1 to 3600"),
    (
        vars::POLL_WAIT_SECONDS,
        Some("99999999999999999999"),
        "from 1 to 3600",
    ),
    // EXPORT_FORMAT: DYNAMODB_JSON or ION, exactly.
    (vars::EXPORT_FORMAT, Some("CSV"), "DYNAMODB_JSON or ION"),
    (vars::EXPORT_FORMAT, Some("NONE"), "DYNAMODB_JSON or ION"),
    (
        vars::EXPORT_FORMAT,
        Some("dynamodb_json"),
        "DYNAMODB_JSON or ION",
    ),
    (vars::EXPORT_FORMAT, Some("ion"), "DYNAMODB_JSON or ION"),
    (vars::EXPORT_FORMAT, Some("Ion"), "DYNAMODB_JSON or ION"),
    (
        vars::EXPORT_FORMAT,
        Some("DYNAMODB_JSON "),
        "DYNAMODB_JSON or ION",
    ),
    (vars::EXPORT_FORMAT, Some("ION "), "DYNAMODB_JSON or ION"),
    (vars::EXPORT_FORMAT, Some(" "), "DYNAMODB_JSON or ION"),
    // EXPORT_VIEW_TYPE: NEW_AND_OLD_IMAGES or NEW_IMAGE, exactly.
    (
        vars::EXPORT_VIEW_TYPE,
        Some("OLD_IMAGE"),
        "NEW_AND_OLD_IMAGES or NEW_IMAGE",
    ),
    (
        vars::EXPORT_VIEW_TYPE,
        Some("KEYS_ONLY"),
        "NEW_AND_OLD_IMAGES or NEW_IMAGE",
    ),
    (
        vars::EXPORT_VIEW_TYPE,
        Some("NONE"),
        "NEW_AND_OLD_IMAGES or NEW_IMAGE",
    ),
    (
        vars::EXPORT_VIEW_TYPE,
        Some("new_and_old_images"),
        "NEW_AND_OLD_IMAGES or NEW_IMAGE",
    ),
    (
        vars::EXPORT_VIEW_TYPE,
        Some("new_image"),
        "NEW_AND_OLD_IMAGES or NEW_IMAGE",
    ),
    (
        vars::EXPORT_VIEW_TYPE,
        Some("NEW_AND_OLD_IMAGES "),
        "NEW_AND_OLD_IMAGES or NEW_IMAGE",
    ),
    (
        vars::EXPORT_VIEW_TYPE,
        Some("NEW_IMAGE "),
        "NEW_AND_OLD_IMAGES or NEW_IMAGE",
    ),
    // MAX_CATCH_UP_MINUTES: the window (15 by default) to 1440.
    (vars::MAX_CATCH_UP_MINUTES, Some("14"), "from 15 to 1440"),
    (vars::MAX_CATCH_UP_MINUTES, Some("1441"), "from 15 to 1440"),
    (vars::MAX_CATCH_UP_MINUTES, Some("-1"), "from 15 to 1440"),
    (vars::MAX_CATCH_UP_MINUTES, Some("abc"), "from 15 to 1440"),
    (vars::MAX_CATCH_UP_MINUTES, Some("0"), "from 15 to 1440"),
    (
        vars::MAX_CATCH_UP_MINUTES,
        Some("99999999999999999999"),
        "from 15 to 1440",
    ),
];

/// Variables that have a default: an empty value means "the default" (the
/// template always passes a value; an explicit empty one is refused there).
const DEFAULTED: &[&str] = &[
    vars::WINDOW_MINUTES,
    vars::POLL_WAIT_SECONDS,
    vars::EXPORT_FORMAT,
    vars::EXPORT_VIEW_TYPE,
    vars::MAX_CATCH_UP_MINUTES,
    vars::CONTINUE_ORIGINAL_CHAIN,
    vars::AUDIT_PARTS,
];

#[test]
fn configuration_values_out_of_range_are_refused_naming_variable_value_and_range() {
    let mut failures = Vec::new();
    let mut refused = 0;
    let good = load(&base_env());
    assert!(good.is_ok(), "the base configuration is valid: {good:?}");
    for (variable, value, allowed) in CONFIG_CASES {
        let mut env = base_env();
        match value {
            Some(v) => {
                env.insert(variable, (*v).to_string());
            }
            None => {
                env.remove(variable);
            }
        }
        let row = format!("{variable}={value:?}");
        let err = match load(&env) {
            Ok(c) => {
                failures.push(format!("{row}: accepted as {c:?}"));
                continue;
            }
            Err(e) => e,
        };
        let text = err.to_string();
        let shown = value.map_or_else(|| "(unset)".to_string(), shown_value);
        let mut wrong = Vec::new();
        if err.variable != *variable {
            wrong.push(format!("blames {}", err.variable));
        }
        if !text.contains(variable) {
            wrong.push("does not name the variable".to_string());
        }
        if !text.contains(&shown) {
            wrong.push(format!("does not show the value as {shown}"));
        }
        if !text.contains(allowed) {
            wrong.push(format!("does not name the allowed {allowed:?}"));
        }
        if wrong.is_empty() {
            refused += 1;
        } else {
            failures.push(format!("{row}: {}: {text}", wrong.join(", ")));
        }
    }
    let variables: std::collections::BTreeSet<_> =
        CONFIG_CASES.iter().map(|(v, _, _)| *v).collect();
    // Every validated variable is swept (DATA_EXPORT_PREFIX takes any value:
    // slashes are trimmed, and the template's pattern is its only check).
    for v in [
        vars::TABLE_NAME,
        vars::DEPLOYMENT_ALIAS,
        vars::BUCKET,
        vars::WINDOW_MINUTES,
        vars::POLL_WAIT_SECONDS,
        vars::EXPORT_FORMAT,
        vars::EXPORT_VIEW_TYPE,
        vars::MAX_CATCH_UP_MINUTES,
        vars::TOPIC_ARN,
        vars::LEDGER_TABLE,
    ] {
        if !variables.contains(v) {
            failures.push(format!("{v}: no case in the sweep"));
        }
    }
    // By design, not a refusal: an empty defaulted variable takes the default.
    for v in DEFAULTED {
        let mut env = base_env();
        env.insert(v, String::new());
        let audit = |env: &HashMap<&'static str, String>| {
            AuditSettings::from_lookup(|k| env.get(k).cloned())
        };
        if load(&env) != load(&base_env()) || audit(&env) != audit(&base_env()) {
            failures.push(format!("{v}=\"\": not read as the default"));
        }
    }
    finish(
        format!(
            "bad input: configuration {} tried, {refused} refused ({} variables)",
            CONFIG_CASES.len(),
            variables.len()
        ),
        failures,
    );
}

/// The template's refusals, as `tests/infra/test_parameters.py` generates
/// them: the functions refuse every one (an empty value of a variable with
/// a default is read as the default, by design).
#[test]
fn the_functions_refuse_what_the_template_refuses() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/parameter_cases.json");
    let text = std::fs::read_to_string(&path).expect("contracts/parameter_cases.json");
    let file: Value = serde_json::from_str(&text).expect("parameter_cases.json is JSON");
    let cases = file["cases"].as_object().expect("a `cases` object");
    let mut failures = Vec::new();
    let mut tried = 0;
    for (variable, values) in cases {
        let Some(var) = incx_core::config::VARIABLES
            .iter()
            .find(|v| v.name == variable)
        else {
            failures.push(format!("{variable}: not a variable the functions read"));
            continue;
        };
        for value in values.as_array().into_iter().flatten() {
            let value = value.as_str().expect("values are strings");
            if value.is_empty() && DEFAULTED.contains(&var.name) {
                continue;
            }
            let mut env = base_env();
            env.insert(var.name, value.to_string());
            // Each function that reads it refuses it: the workflow's
            // configuration, the audit's settings.
            let workflow = var.readers.iter().any(|r| *r != "audit" && *r != "notify");
            let audit = var.readers.contains(&"audit");
            let get = |k: &str| env.get(k).cloned();
            let results = [
                workflow.then(|| load(&env).map(drop)),
                audit.then(|| AuditSettings::from_lookup(get).map(drop)),
            ];
            for result in results.into_iter().flatten() {
                tried += 1;
                match result {
                    Err(e) if e.variable == var.name => {}
                    other => failures.push(format!("{variable}={value:?}: {other:?}")),
                }
            }
        }
    }
    assert!(
        tried > 20,
        "only {tried} template cases: is the file empty?"
    );
    finish(
        format!("bad input: {tried} template-refused values also refused by the functions"),
        failures,
    );
}

// ---------------------------------------------------------------- the world

fn config() -> Result<Config, String> {
    load(&base_env()).map_err(|e| e.to_string())
}

fn head(world: &World) -> Option<Head> {
    world
        .ledger
        .head
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

fn catalog(world: &World) -> Vec<CatalogEntry> {
    world
        .ledger
        .entries
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// Runs one scheduled execution to its end.
async fn run(world: &mut World) -> Result<Finish, String> {
    let mut exec = world.start_execution();
    world.run_to_end(&mut exec).await?;
    exec.finish
        .ok_or_else(|| "execution did not finish".to_string())
}

/// A world whose chain has its full export and at least one incremental one.
async fn chained_world() -> Result<World, String> {
    let mut world = World::new(config()?, NOW)?;
    run(&mut world).await?;
    world.clock.advance(2 * WINDOW);
    run(&mut world).await?;
    let entries = catalog(&world);
    let completed = |kind| {
        entries
            .iter()
            .filter(|e| e.kind == kind && e.status == CatalogStatus::Completed)
            .count()
    };
    let h = head(&world).ok_or("no ledger head after two runs")?;
    if completed(ExportKind::Full) != 1
        || completed(ExportKind::Incremental) < 1
        || h.mode != Mode::Incremental
        || h.in_flight.is_some()
    {
        return Err(format!(
            "setup did not build a chain: {h:?}, catalog {entries:?}"
        ));
    }
    // Time passes, so a good run would have a window to export.
    world.clock.advance(2 * WINDOW);
    Ok(world)
}

fn new_notifications(world: &World, before: usize) -> Vec<Notification> {
    world.notifier.all().into_iter().skip(before).collect()
}

/// The execution ended Failed with `NeedsOperator` and exactly one FAILED
/// notification was published; that notification.
fn needs_operator(
    finish: &Finish,
    notes: &[Notification],
    wrong: &mut Vec<String>,
) -> Option<Notification> {
    match finish {
        Finish::Failed { error, .. } if error == "NeedsOperator" => {}
        other => wrong.push(format!("ended {other:?}, not Failed/NeedsOperator")),
    }
    if notes.len() != 1 || notes[0].status != Status::Failed {
        wrong.push(format!(
            "published {:?}, not exactly one FAILED notification",
            notes
                .iter()
                .map(|n| (n.status.as_str(), n.message.as_str()))
                .collect::<Vec<_>>()
        ));
        return None;
    }
    notes.first().cloned()
}

// ---------------------------------------------------------------- control values

fn control_cases() -> Vec<String> {
    let mut cases: Vec<String> = [
        "run",
        "Run",
        "pause",
        "Pause",
        "reset_with_full_export_again",
        " RUN",
        "RUN ",
        "RUN\n",
        "\nPAUSE",
        "\tRUN",
        "PAUSE\r\n",
        "",
        " ",
        "ＲＵＮ",
        "RUN\u{200b}",
        "PAUSÉ",
        "RESET",
        "RESET_WITH_FULL_EXPORT",
        "STOP",
        "null",
        "NULL",
        "true",
        "0",
        "\"RUN\"",
        "{\"action\": \"RUN\"}",
        "[\"RUN\"]",
        "RUN,PAUSE",
        "RUN\0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    cases.push("R".repeat(10_000));
    cases
}

async fn control_case(value: &str) -> Result<Vec<String>, String> {
    let mut world = chained_world().await?;
    let head_before = head(&world).ok_or("no head")?;
    let catalog_before = catalog(&world);
    let notes_before = world.notifier.all().len();
    world.control.set(value);
    let finish = run(&mut world).await?;
    let mut wrong = Vec::new();
    let notes = new_notifications(&world, notes_before);
    if let Some(n) = needs_operator(&finish, &notes, &mut wrong) {
        let shown = shown_value(value);
        if !n.message.contains(&shown) {
            wrong.push(format!("message does not show {shown}: {}", n.message));
        }
        let remedy = n.remedy.unwrap_or_default();
        if !remedy.contains(ALLOWED_ACTIONS)
            || !["RUN", "PAUSE", "RESET_WITH_FULL_EXPORT_AGAIN"]
                .iter()
                .all(|a| remedy.contains(a))
        {
            wrong.push(format!("remedy does not name the three values: {remedy}"));
        }
    }
    let head_after = head(&world).ok_or("no head")?;
    if (head_after.version, head_after.watermark) != (head_before.version, head_before.watermark) {
        wrong.push(format!(
            "ledger head moved from {:?} to {:?}",
            (head_before.version, head_before.watermark),
            (head_after.version, head_after.watermark)
        ));
    }
    if catalog(&world) != catalog_before {
        wrong.push("catalog changed".to_string());
    }
    if world.control.value().as_deref() != Some(value) {
        wrong.push(format!(
            "control changed to {:?}",
            world.control.value().map(|v| shown_value(&v))
        ));
    }
    Ok(wrong)
}

#[test]
fn control_values_other_than_the_three_stop_the_run_for_an_operator() {
    let cases = control_cases();
    let mut failures = Vec::new();
    let mut refused = 0;
    rt().block_on(async {
        for value in &cases {
            match control_case(value).await {
                Ok(wrong) if wrong.is_empty() => refused += 1,
                Ok(wrong) => failures.push(format!("{}: {}", shown_value(value), wrong.join("; "))),
                Err(e) => failures.push(format!("{}: setup: {e}", shown_value(value))),
            }
        }
    });
    finish(
        format!(
            "bad input: control values {} tried, {refused} refused",
            cases.len()
        ),
        failures,
    );
}

// ---------------------------------------------------------------- function input

const DECIDE: &str = "${DecideModeFunctionArn}";
const START: &str = "${StartExportFunctionArn}";
const CHECK: &str = "${CheckStatusFunctionArn}";
const ADVANCE: &str = "${AdvanceStateFunctionArn}";
const NOTIFY: &str = "${NotifyFunctionArn}";

/// An export as decide-mode hands it on (no ARN yet).
fn intent() -> Value {
    json!({
        "kind": "INCREMENTAL_EXPORT",
        "from": NOW,
        "to": NOW + WINDOW,
        "attempt": 1,
        "clientToken": "token",
        "startedAt": NOW,
        "chain": 1
    })
}

fn tracked() -> Value {
    let mut e = intent();
    e["exportArn"] = json!("arn:aws:dynamodb:us-east-1:000000000000:table/t/export/1");
    e
}

/// A well-formed input of `outcome` with `fields`, to break one at a time.
fn step(outcome: &str, fields: Value) -> Value {
    let mut v = json!({"outcome": outcome, "executionId": "e", "iteration": 1, "exportsDone": 0});
    for (k, x) in fields.as_object().into_iter().flatten() {
        v[k] = x.clone();
    }
    v
}

fn without(mut v: Value, key: &str) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
    v
}

/// (resource, input, what the message must name).
fn input_cases() -> Vec<(&'static str, Value, &'static str)> {
    let mut cases = Vec::new();
    for resource in [DECIDE, START, CHECK, ADVANCE, NOTIFY] {
        for (input, kind) in [
            (Value::Null, "null"),
            (json!([]), "an array"),
            (json!([null, "id"]), "an array"),
            (json!("text"), "a string"),
            (json!(5), "a number"),
            (json!(true), "a boolean"),
        ] {
            cases.push((resource, input, kind));
        }
    }
    let order = step(
        "START_INCREMENTAL",
        json!({"export": intent(), "ledgerVersion": 3, "blocksBehind": 0}),
    );
    let watch = step("STARTED", json!({"export": tracked(), "waitSeconds": 60}));
    let completed = step(
        "COMPLETED",
        json!({"export": tracked(), "polls": 1, "result": {"itemCount": 1, "billedSizeBytes": 1}}),
    );
    let failed = step(
        "FAILED",
        json!({"export": tracked(), "polls": 1, "failure": {"code": "X", "message": "m"}}),
    );
    let mut bad_kind = order.clone();
    bad_kind["export"]["kind"] = json!("PARTIAL");
    let mut no_arn = watch.clone();
    no_arn["export"] = intent();
    cases.extend([
        // decide-mode: `run` is the state input object (or null).
        (DECIDE, json!({"run": "text"}), "invalid type: string \"text\""),
        (DECIDE, json!({"run": []}), "invalid type: sequence"),
        (DECIDE, json!({"run": 5}), "invalid type: integer `5`"),
        (DECIDE, json!({"run": {"iteration": "x"}}), "invalid type: string \"x\""),
        (DECIDE, json!({"run": {"iteration": -1}}), "invalid value: integer `-1`"),
        (DECIDE, json!({"run": {"exportsDone": "3"}}), "invalid type: string \"3\""),
        (DECIDE, json!({"executionId": 5}), "invalid type: integer `5`"),
        (DECIDE, json!({"executionStartTime": 5}), "invalid type: integer `5`"),
        // start-export: decide-mode's START_* output, whole.
        (START, json!({}), "missing field `outcome`"),
        (START, step("GO", json!({})), "unknown variant `GO`, expected `START_FULL` or `START_INCREMENTAL`"),
        (START, step("RESUME", json!({"export": tracked()})), "unknown variant `RESUME`"),
        (START, without(order.clone(), "export"), "missing field `export`"),
        (START, without(order.clone(), "ledgerVersion"), "missing field `ledgerVersion`"),
        (START, without(order.clone(), "blocksBehind"), "missing field `blocksBehind`"),
        (START, step("START_FULL", json!({"export": 5, "ledgerVersion": 1, "blocksBehind": 0})), "invalid type: integer `5`"),
        (START, step("START_FULL", json!({"export": {}, "ledgerVersion": 1, "blocksBehind": 0})), "missing field"),
        (START, step("START_FULL", json!({"export": intent(), "ledgerVersion": -1, "blocksBehind": 0})), "invalid value: integer `-1`"),
        (START, step("START_FULL", json!({"export": intent(), "ledgerVersion": "x", "blocksBehind": 0})), "invalid type: string \"x\""),
        (START, bad_kind, "unknown variant `PARTIAL`"),
        // check-status: an export with its ARN.
        (CHECK, json!({}), "missing field `outcome`"),
        (CHECK, step("COMPLETED", json!({})), "unknown variant `COMPLETED`, expected `STARTED` or `RESUME`"),
        (CHECK, step("IN_PROGRESS", json!({"export": tracked(), "waitSeconds": 1})), "unknown variant `IN_PROGRESS`"),
        (CHECK, without(watch.clone(), "export"), "missing field `export`"),
        (CHECK, no_arn, "missing field `exportArn`"),
        (CHECK, without(watch.clone(), "waitSeconds"), "missing field `waitSeconds`"),
        (CHECK, step("STARTED", json!({"export": [1], "waitSeconds": 1})), "invalid type: sequence"),
        (CHECK, step("RESUME", json!({"export": tracked(), "waitSeconds": 1, "polls": "x"})), "invalid type: string \"x\""),
        (CHECK, step("RESUME", json!({"export": tracked(), "waitSeconds": 1.5})), "invalid type: floating point"),
        // advance-state: a COMPLETED with `result` or a FAILED with `failure`.
        (ADVANCE, json!({}), "missing field `outcome`"),
        (ADVANCE, step("IN_PROGRESS", json!({})), "unknown variant `IN_PROGRESS`, expected one of `COMPLETED`, `FAILED`, `HANDED_OVER`"),
        (ADVANCE, step("STARTED", json!({})), "unknown variant `STARTED`"),
        (ADVANCE, step("completed", json!({})), "unknown variant `completed`"),
        (ADVANCE, without(completed.clone(), "result"), "missing field `result`"),
        (ADVANCE, without(completed.clone(), "polls"), "missing field `polls`"),
        (ADVANCE, without(failed.clone(), "failure"), "missing field `failure`"),
        (ADVANCE, step("COMPLETED", json!({"export": tracked(), "polls": 1, "result": 5})), "invalid type: integer `5`"),
        (ADVANCE, step("FAILED", json!({"export": tracked(), "polls": 1, "failure": {"code": "X"}})), "missing field `message`"),
        // notify: a step with a notification, or the final Catch's FAULT.
        (NOTIFY, json!({}), "missing field `outcome`"),
        (NOTIFY, json!({"run": {}}), "missing field `outcome`"),
        (NOTIFY, step("PUBLISHED", json!({})), "unknown variant `PUBLISHED`"),
        (NOTIFY, step("NEEDS_OPERATOR", json!({"reason": "r"})), "missing field `notification`"),
        (NOTIFY, step("NEEDS_OPERATOR", json!({"reason": "r", "notification": 5})), "invalid type: integer `5`"),
        (NOTIFY, step("NEEDS_OPERATOR", json!({"reason": "r", "notification": {}})), "missing field `message`"),
        (
            NOTIFY,
            step("NEEDS_OPERATOR", json!({"reason": "r", "notification": {"message": "m", "status": "MAYBE", "executionId": "x"}})),
            "unknown variant `MAYBE`",
        ),
        (NOTIFY, json!({"outcome": "FAULT"}), "missing field `error`"),
        (NOTIFY, json!({"outcome": "FAULT", "error": "boom"}), "invalid type: string \"boom\""),
        (NOTIFY, json!({"outcome": "FAULT", "error": {"Error": 5}}), "invalid type: integer `5`"),
    ]);
    cases
}

/// decide-mode's run inputs accepted by design: the schedule's, a manual
/// run's `{}`, `null`, and any previous step (decide-mode reads only the
/// run's context from it).
fn accepted_decide_inputs() -> Vec<Value> {
    vec![
        json!({}),
        json!({"run": null}),
        json!({"run": {}}),
        json!({"run": {"time": "2027-01-15T08:00:00Z"}}),
        json!({"run": {"outcome": "PUBLISHED", "messageId": "m", "drain": true}}),
    ]
}

#[test]
fn malformed_function_input_is_refused_as_bad_input_and_changes_nothing() {
    let cases = input_cases();
    let accepted = accepted_decide_inputs();
    let mut failures = Vec::new();
    let mut refused = 0;
    let mut per_resource: Vec<(&str, usize)> = Vec::new();
    rt().block_on(async {
        let world = match chained_world().await {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("setup: {e}"));
                return;
            }
        };
        let head_before = head(&world);
        let catalog_before = catalog(&world);
        let notes_before = world.notifier.all().len();
        for (resource, input, names) in &cases {
            let row = format!("{resource} {input}");
            match world.invoke(resource, input.clone()).await {
                Ok(out) => failures.push(format!("{row}: accepted, gave {out}")),
                Err(e) if e.error != "BadInput" => {
                    failures.push(format!("{row}: {} ({}), not BadInput", e.error, e.cause))
                }
                Err(e) if !e.cause.contains(names) => failures.push(format!(
                    "{row}: message does not name {names:?}: {}",
                    e.cause
                )),
                Err(_) => {
                    refused += 1;
                    match per_resource.iter_mut().find(|(r, _)| r == resource) {
                        Some((_, n)) => *n += 1,
                        None => per_resource.push((resource, 1)),
                    }
                }
            }
        }
        for input in &accepted {
            match world.invoke(DECIDE, input.clone()).await {
                Ok(out) if out.get("outcome").is_some() => {}
                other => failures.push(format!("decide-mode {input}: not accepted: {other:?}")),
            }
        }
        if head(&world) != head_before {
            failures.push(format!(
                "ledger head changed: {head_before:?} -> {:?}",
                head(&world)
            ));
        }
        if catalog(&world) != catalog_before {
            failures.push("catalog changed".to_string());
        }
        if world.notifier.all().len() != notes_before {
            failures.push("a notification was published".to_string());
        }
    });
    let by_resource: Vec<String> = per_resource
        .iter()
        .map(|(r, n)| format!("{} {n}", r.trim_start_matches("${").trim_end_matches('}')))
        .collect();
    finish(
        format!(
            "bad input: function input {} tried, {refused} refused ({}); {} decide-mode run inputs accepted by design",
            cases.len(),
            by_resource.join(", "),
            accepted.len()
        ),
        failures,
    );
}

// ---------------------------------------------------------------- AWS side

async fn missing_table() -> Result<Vec<String>, String> {
    let mut world = chained_world().await?;
    let head_before = head(&world);
    let catalog_before = catalog(&world);
    let notes_before = world.notifier.all().len();
    world.exports.world().table_exists = false;
    let finish = run(&mut world).await?;
    let mut wrong = Vec::new();
    let notes = new_notifications(&world, notes_before);
    if let Some(n) = needs_operator(&finish, &notes, &mut wrong) {
        if !n.message.contains("Table orders was not found") {
            wrong.push(format!("message: {}", n.message));
        }
    }
    if head(&world) != head_before || catalog(&world) != catalog_before {
        wrong.push("ledger changed".to_string());
    }
    Ok(wrong)
}

async fn deleted_bucket() -> Result<Vec<String>, String> {
    let mut world = chained_world().await?;
    let before = head(&world).ok_or("no head")?;
    let notes_before = world.notifier.all().len();
    let exports_before = world.exports.world().exports.len();
    world.exports.world().fail_next = Some("S3NoSuchBucket".into());
    let finish = run(&mut world).await?;
    let mut wrong = Vec::new();
    if !matches!(finish, Finish::Succeeded(_)) {
        wrong.push(format!("first run ended {finish:?}"));
    }
    let after = head(&world).ok_or("no head")?;
    if after.watermark != before.watermark {
        wrong.push(format!(
            "watermark moved from {:?} to {:?}",
            before.watermark, after.watermark
        ));
    }
    let failed: Vec<CatalogEntry> = catalog(&world)
        .into_iter()
        .filter(|e| e.status == CatalogStatus::Failed)
        .collect();
    let Some(entry) = failed.first().filter(|_| failed.len() == 1) else {
        wrong.push(format!("{} FAILED catalog entries, not 1", failed.len()));
        return Ok(wrong);
    };
    if entry.failure_code.as_deref() != Some("S3NoSuchBucket") || entry.attempt != 1 {
        wrong.push(format!("failed entry: {entry:?}"));
    }
    if entry.span.from != before.watermark {
        wrong.push(format!(
            "failed window {:?} does not start at the watermark",
            entry.span
        ));
    }
    let notes = new_notifications(&world, notes_before);
    if !notes
        .iter()
        .any(|n| n.status == Status::Failed && n.message.contains("S3NoSuchBucket"))
    {
        wrong.push(format!(
            "no FAILED notification naming S3NoSuchBucket: {:?}",
            notes.iter().map(|n| &n.message).collect::<Vec<_>>()
        ));
    }
    // The next run retries the same window, attempt 2, with a new token.
    world.clock.advance(60);
    run(&mut world).await?;
    let exports = world.exports.world().exports.clone();
    let first = exports.get(exports_before);
    let retry = exports.get(exports_before + 1);
    match (first, retry) {
        (Some(a), Some(b)) if a.request.span == b.request.span => {
            if a.request.client_token == b.request.client_token {
                wrong.push("retry reused the failed attempt's client token".to_string());
            }
        }
        other => wrong.push(format!("no retry of the same window: {other:?}")),
    }
    let retried = catalog(&world)
        .into_iter()
        .any(|e| e.span == entry.span && e.attempt == 2 && e.status == CatalogStatus::Completed);
    if !retried {
        wrong.push("the window was not completed with attempt 2".to_string());
    }
    Ok(wrong)
}

async fn missing_ledger_item() -> Result<Vec<String>, String> {
    let mut world = World::new(config()?, NOW)?;
    let mut wrong = Vec::new();
    if head(&world).is_some() {
        wrong.push("a fresh world has a head".to_string());
    }
    let finish = run(&mut world).await?;
    if !matches!(finish, Finish::Succeeded(_)) {
        wrong.push(format!("ended {finish:?}"));
    }
    let first = world.exports.world().exports.first().cloned();
    if first.as_ref().map(|x| x.request.kind) != Some(ExportKind::Full) {
        wrong.push(format!("first export is not a full one: {first:?}"));
    }
    let h = head(&world).ok_or("no head after the first run")?;
    if h.mode != Mode::Incremental || h.chain != 1 || h.full_export_time.is_none() {
        wrong.push(format!("head after the full export: {h:?}"));
    }
    Ok(wrong)
}

async fn future_ledger() -> Result<Vec<String>, String> {
    let mut world = chained_world().await?;
    {
        let mut guard = world.ledger.head.lock().unwrap_or_else(|p| p.into_inner());
        let h = guard.as_mut().ok_or("no head")?;
        h.format = LEDGER_FORMAT + 1;
    }
    let bytes = |w: &World| serde_json::to_string(&head(w)).map_err(|e| e.to_string());
    let head_before = bytes(&world)?;
    let catalog_before = catalog(&world);
    let notes_before = world.notifier.all().len();
    let exports_before = world.exports.world().exports.len();
    let finish = run(&mut world).await?;
    let mut wrong = Vec::new();
    let notes = new_notifications(&world, notes_before);
    if let Some(n) = needs_operator(&finish, &notes, &mut wrong) {
        let format = format!("format {}", LEDGER_FORMAT + 1);
        if !n.message.contains("newer release") || !n.message.contains(&format) {
            wrong.push(format!("message: {}", n.message));
        }
    }
    if bytes(&world)? != head_before {
        wrong.push(format!("head changed: {head_before} -> {}", bytes(&world)?));
    }
    if catalog(&world) != catalog_before {
        wrong.push("catalog changed".to_string());
    }
    if world.exports.world().exports.len() != exports_before {
        wrong.push("an export was started".to_string());
    }
    Ok(wrong)
}

#[test]
fn aws_side_bad_states_are_refused_or_recovered_without_moving_the_chain() {
    let mut failures = Vec::new();
    let mut handled = 0;
    let names = [
        "missing table",
        "deleted bucket",
        "missing ledger item",
        "future ledger format",
    ];
    rt().block_on(async {
        let results = [
            missing_table().await,
            deleted_bucket().await,
            missing_ledger_item().await,
            future_ledger().await,
        ];
        for (name, result) in names.iter().zip(results) {
            match result {
                Ok(wrong) if wrong.is_empty() => handled += 1,
                Ok(wrong) => failures.push(format!("{name}: {}", wrong.join("; "))),
                Err(e) => failures.push(format!("{name}: setup: {e}")),
            }
        }
    });
    finish(
        format!(
            "bad input: AWS-side states {} tried, {handled} handled as documented",
            names.len()
        ),
        failures,
    );
}
