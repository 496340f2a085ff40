//! The `incx audit` binary comparing a chain with a full export made at its
//! end (given with --export-manifest, as after an export DynamoDB made),
//! over the loopback fake S3 reached with --endpoint-url: clean, an item
//! changed in the export's file reported by key, and a broken chain.

use std::process::{Command, Output};

use super::common::*;
use serde_json::{json, Value};

fn incx(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_incx"))
        .args(args)
        .args(["--endpoint-url", endpoint])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run incx")
}

/// A chain under `exp/` ending at T + 1800 with items a (v 10), c and d,
/// plus a full export at its end under `exp/audit/` holding `at_end`.
/// Returns the bucket and the audit export's summary key.
fn bucket(gap: bool, at_end: &[Value]) -> (incx_cli::chain::MemoryStore, String) {
    let mut ex = Exports::new(Some("exp"));
    ex.full(
        T,
        &[vec![
            item_line("a", "1", json!({"v": n("1")})),
            item_line("b", "1", json!({"v": n("2")})),
        ]],
    );
    ex.incremental(
        T,
        T + 900,
        "NEW_AND_OLD_IMAGES",
        &[vec![
            update("a", "1", json!({"v": n("1")}), json!({"v": n("10")})),
            insert("c", "1", json!({"s": s("x")})),
        ]],
    );
    let from = if gap { T + 1000 } else { T + 900 };
    ex.incremental(
        from,
        T + 1800,
        "NEW_IMAGE",
        &[vec![
            delete_keys_only("b", "1"),
            insert("d", "1", json!({})),
        ]],
    );
    let mut audit = Exports::new(Some("exp/audit"));
    let summary = audit.full(T + 1800, &[at_end.to_vec()]);
    let keys: Vec<String> = audit.store.keys().map(str::to_string).collect();
    for key in keys {
        let body = audit.store.body(&key).unwrap_or_default().to_vec();
        ex.store.put(key, body);
    }
    (ex.store, summary)
}

fn end_state() -> Vec<Value> {
    vec![
        item_line("d", "1", json!({})),
        item_line("a", "1", json!({"v": n("10.0")})),
        item_line("c", "1", json!({"s": s("x")})),
    ]
}

fn audit(endpoint: &str, summary: &str, json_out: bool) -> Output {
    let mut args = vec![
        "audit",
        "--table",
        "t",
        "--bucket",
        "bucket",
        "--prefix",
        "exp",
        "--discover",
        "--key-attributes",
        "pk,sk",
        "--export-manifest",
        summary,
    ];
    if json_out {
        args.push("--json");
    }
    incx(endpoint, &args)
}

#[test]
fn the_same_state_as_the_export_is_clean() {
    let (store, summary) = bucket(false, &end_state());
    let endpoint = fake_s3::serve("bucket", store);
    let out = audit(&endpoint, &summary, true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["items"], json!(3));
    assert_eq!(report["items_compared"], json!(3));
    assert_eq!(report["item_differences"], json!(0));
    assert!(report["audit_export"]
        .as_str()
        .unwrap_or_default()
        .contains("exp/audit/AWSDynamoDB/"));
    // The audit's export is not taken for part of the chain.
    assert_eq!(report["exports"].as_array().map(Vec::len), Some(3));
}

#[test]
fn an_item_changed_in_the_export_is_reported_by_key() {
    let mut changed = end_state();
    changed[2] = item_line("c", "1", json!({"s": s("y")}));
    changed.push(item_line("e", "1", json!({})));
    let (store, summary) = bucket(false, &changed);
    let endpoint = fake_s3::serve("bucket", store);
    let out = audit(&endpoint, &summary, false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    assert!(
        stdout.contains("4 keys compared, 2 differences"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"different: 1 (first: {"pk":{"S":"c"},"sk":{"S":"1"}})"#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"extra in the export: 1 (first: {"pk":{"S":"e"},"sk":{"S":"1"}})"#),
        "{stdout}"
    );
    assert!(stdout.contains("PROBLEMS FOUND"), "{stdout}");
}

#[test]
fn a_broken_chain_is_not_audited_and_a_local_copy_cannot_be_exported_to() {
    let (store, summary) = bucket(true, &end_state());
    let endpoint = fake_s3::serve("bucket", store);
    let out = audit(&endpoint, &summary, true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("no export asked for"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["gaps"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["items_compared"], json!(0));

    let dir = tempfile::tempdir().unwrap();
    let (store, _) = bucket(false, &end_state());
    for key in store.keys() {
        let path = dir.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, store.body(key).unwrap()).unwrap();
    }
    let out = incx(
        &endpoint,
        &[
            "audit",
            "--table",
            "t",
            "--bucket-dir",
            dir.path().to_str().unwrap(),
            "--prefix",
            "exp",
            "--discover",
            "--key-attributes",
            "pk,sk",
            "--yes",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("the export goes to S3"), "{stderr}");
}
