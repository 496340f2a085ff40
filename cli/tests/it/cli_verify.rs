//! The `incx verify` binary end to end against a loopback fake S3 (path
//! style, paginated listing): JSON report and exit codes 0, 1 and 2.

use std::process::{Command, Output};

use super::common::*;
use serde_json::{json, Value};

fn incx(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_incx"))
        .args(args)
        .env_clear()
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run incx")
}

fn chain(gap: bool) -> Exports {
    let mut ex = Exports::new(Some("exp"));
    ex.full(
        T,
        &[vec![item_line("a", "1", json!({"v": n("1")}))], vec![]],
    );
    ex.incremental(
        T,
        T + 900,
        "NEW_AND_OLD_IMAGES",
        &[vec![insert("b", "1", json!({}))]],
    );
    let from = if gap { T + 1000 } else { T + 900 };
    ex.incremental(
        from,
        T + 1800,
        "NEW_IMAGE",
        &[vec![delete_keys_only("a", "1")]],
    );
    ex
}

#[test]
fn clean_chain_prints_json_and_exits_0() {
    let endpoint = fake_s3::serve("bucket", chain(false).store);
    let out = incx(
        &endpoint,
        &[
            "verify",
            "--bucket",
            "bucket",
            "--prefix",
            "exp",
            "--discover",
            "--json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.contains("reading 3 exports"), "stderr: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        report["windows"],
        json!([[T, T], [T, T + 900], [T + 900, T + 1800]])
    );
    assert_eq!(report["exports"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["items"], json!(1));
    assert_eq!(report["gaps"], json!([]));
    assert_eq!(report["overlaps"], json!([]));
    assert_eq!(report["checksum_errors"], json!([]));
    assert_eq!(report["items_compared"], json!(0));
    assert_eq!(report["item_differences"], json!(0));
    assert!(report["bytes"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn gap_exits_1_with_a_readable_report() {
    let endpoint = fake_s3::serve("bucket", chain(true).store);
    let out = incx(
        &endpoint,
        &[
            "verify",
            "--bucket",
            "bucket",
            "--prefix",
            "exp",
            "--discover",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    assert!(stdout.contains("Gaps: 1"), "stdout: {stdout}");
    assert!(stdout.contains("gap of 100 s"), "stdout: {stdout}");
    assert!(stdout.contains("2023-11-14T22:28:20Z"), "stdout: {stdout}");
}

#[test]
fn usage_and_access_errors_exit_2() {
    let endpoint = fake_s3::serve("bucket", chain(false).store);
    let out = incx(&endpoint, &["verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bucket"));

    let out = incx(&endpoint, &["verify", "--bucket", "nope", "--discover"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("bucket \"nope\" does not exist"),
        "stderr: {stderr}"
    );

    let out = incx(
        &endpoint,
        &[
            "verify",
            "--bucket",
            "bucket",
            "--prefix",
            "elsewhere",
            "--discover",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("no exports found"), "stderr: {stderr}");
}
