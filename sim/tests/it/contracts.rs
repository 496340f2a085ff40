//! The contract files under `contracts/`, generated from the Rust types and
//! the simulation, so the Python and JavaScript tests read one source and
//! nothing parses Rust source:
//!
//! - `config.json`: every environment variable, its template parameter and
//!   what it allows (from `incx_core::config::VARIABLES`);
//! - `functions.schema.json`: each function's input and output as JSON
//!   Schemas (from the `incx_core::contract` types);
//! - `expected_paths.json`: the states one execution enters per scenario, as
//!   the simulation of the deployed definition takes them; the end-to-end
//!   tests assert the real engine takes the same.
//!
//! A file that differs from what the code generates fails the test; rerun
//! with `INCX_BLESS=1` to write it, and review the diff.

use super::chaos::block_on;
use incx_core::config::{Rule, VARIABLES};
use incx_core::contract::{
    AdvanceInput, AdvanceOutput, CheckInput, CheckOutput, DecideInput, DecideOutput, NotifyInput,
    NotifyOutput, StartInput, StartOutput, FUNCTIONS,
};
use incx_core::domain::notification::Status;
use incx_sim::chaos::{config, SCHEDULE_OFFSET};
use incx_sim::{Finish, World};
use serde_json::{json, Value};
use std::path::PathBuf;

fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

/// Compares `value` with the committed file, or writes it under INCX_BLESS.
fn check_file(name: &str, value: &Value) {
    let path = contracts_dir().join(name);
    // Keys sorted: the workspace build turns on serde_json's `preserve_order`
    // (through the SDK), a package build does not; the file must not care.
    let mut value = value.clone();
    value.sort_all_objects();
    let text = format!("{}\n", serde_json::to_string_pretty(&value).unwrap());
    if std::env::var_os("INCX_BLESS").is_some() {
        std::fs::create_dir_all(contracts_dir()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "contracts/{name} is not what the code generates: run \
         `INCX_BLESS=1 cargo test -p incx-sim --test it contracts` and review the diff"
    );
}

#[test]
fn config_json_describes_every_variable() {
    let variables: Vec<Value> = VARIABLES
        .iter()
        .map(|v| {
            let mut out = json!({
                "variable": v.name,
                "parameter": v.parameter,
                "allowed": v.allowed,
                "functions": v.readers,
            });
            match v.rule {
                Rule::Text => out["type"] = json!("text"),
                Rule::Alias => {
                    out["type"] = json!("pattern");
                    out["pattern"] = json!("^[a-z0-9]{1,15}$");
                }
                Rule::Prefix => out["type"] = json!("prefix"),
                Rule::Optional => out["type"] = json!("optional"),
                Rule::Integer { default, min, max } => {
                    out["type"] = json!("integer");
                    out["default"] = json!(default);
                    out["min"] = json!(min);
                    out["max"] = json!(max);
                }
                Rule::OneOf { values } => {
                    out["type"] = json!("one_of");
                    out["default"] = json!(values[0]);
                    out["values"] = json!(values);
                }
            }
            out
        })
        .collect();
    check_file("config.json", &json!({ "variables": variables }));
}

fn schema<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap()
}

#[test]
fn functions_schema_json_is_the_contract() {
    let io = [
        (schema::<DecideInput>(), schema::<DecideOutput>()),
        (schema::<StartInput>(), schema::<StartOutput>()),
        (schema::<CheckInput>(), schema::<CheckOutput>()),
        (schema::<AdvanceInput>(), schema::<AdvanceOutput>()),
        (schema::<NotifyInput>(), schema::<NotifyOutput>()),
    ];
    let functions: Vec<Value> = FUNCTIONS
        .iter()
        .zip(io)
        .map(|((name, resource), (input, output))| {
            json!({ "name": name, "resource": resource, "input": input, "output": output })
        })
        .collect();
    check_file("functions.schema.json", &json!({ "functions": functions }));
}

const T0: i64 = 1_800_000_000 + SCHEDULE_OFFSET;

async fn run(world: &mut World) -> (Vec<String>, Option<Finish>) {
    let mut e = world.start_execution();
    world.run_to_end(&mut e).await.expect("execution ends");
    (e.trace, e.finish)
}

/// The scenarios the end-to-end tests replay on the real engine.
async fn paths() -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    let fresh = || World::new(config(15, 1440).expect("config"), T0).expect("world");
    // The first run: a full export up to the horizon. With no history the
    // first wait is a guess the export outlasts, so it is polled twice.
    let mut w = fresh();
    out.push(("first_run_full_export", run(&mut w).await.0));
    // The next schedule: the first window after the full export is not
    // exportable for more than DUE_SOON_MAX yet: nothing to do.
    w.clock.set(T0 + 900);
    out.push(("nothing_to_do", run(&mut w).await.0));
    // The schedule after: one window.
    w.clock.set(T0 + 1800);
    out.push(("one_window", run(&mut w).await.0));
    w.control.set("PAUSE");
    w.clock.set(T0 + 2700);
    out.push(("paused", run(&mut w).await.0));
    w.control.set("RUN");
    w.exports.world().fail_next = Some("S3NoSuchBucket".into());
    w.clock.set(T0 + 3600);
    out.push(("export_fails", run(&mut w).await.0));
    // PITR disabled: a person is needed.
    let mut w = fresh();
    w.exports.set_pitr(false);
    let (f, finish) = run(&mut w).await;
    assert!(matches!(finish, Some(Finish::Failed { .. })));
    assert!(w.notifier.all().iter().any(|n| n.status == Status::Failed));
    out.push(("pitr_disabled", f));
    out
}

#[test]
fn expected_paths_json_is_what_the_simulation_takes() {
    let mut file = serde_json::Map::new();
    file.insert(
        "_comment".into(),
        json!(
            "States entered by one execution of statemachine/export.asl.json, per scenario, \
             as the simulation takes them (generated by sim/tests/it/contracts.rs); the \
             end-to-end tests assert the real engine takes the same."
        ),
    );
    for (name, trace) in block_on(paths()) {
        file.insert(name.into(), json!(trace));
    }
    check_file("expected_paths.json", &Value::Object(file));
}

/// The metrics the functions emit, for the template's alarms and dashboard
/// (tests/infra/test_operations.py holds them to this list).
#[test]
fn metrics_json_lists_every_metric() {
    let metrics: Vec<Value> = incx_core::metrics::CATALOG
        .iter()
        .map(|(name, unit, function, meaning)| {
            json!({"name": name, "unit": unit.as_str(), "function": function, "meaning": meaning})
        })
        .collect();
    check_file(
        "metrics.json",
        &json!({
            "_comment": "Generated from shared/src/metrics.rs by sim/tests/it/contracts.rs (INCX_BLESS=1 rewrites it).",
            "namespace": incx_core::metrics::NAMESPACE,
            "dimensions": ["Alias"],
            "metrics": metrics,
        }),
    );
}
