//! `materialize`: the state at each boundary of a random history, against a
//! replay of that history (a model: a map of keys to items, changed in
//! write-time order), and the `incx materialize` binary writing a file that
//! reads back, refusing a time that is not a boundary.

use std::collections::BTreeMap;
use std::process::Command;

use super::common::*;
use incx_cli::chain::{read_chain, ChainSource, ReadOptions};
use incx_cli::materialize::write_json_lines;
use proptest::prelude::*;
use serde_json::{json, Value};

const WINDOW: i64 = 900;

/// One write: key `k`, its new value, or a delete (`None`).
#[derive(Debug, Clone)]
struct Write {
    key: usize,
    value: Option<u32>,
}

/// A history: the full export's items, then windows of writes in time
/// order, each with its output view and how its lines are shuffled.
#[derive(Debug, Clone)]
struct History {
    initial: Vec<(usize, u32)>,
    windows: Vec<(bool, Vec<Write>, u64)>,
}

fn history() -> impl Strategy<Value = History> {
    let write = (0usize..6, prop::option::weighted(0.75, 0u32..100))
        .prop_map(|(key, value)| Write { key, value });
    let window = (
        any::<bool>(),
        prop::collection::vec(write, 0..10),
        any::<u64>(),
    );
    (
        prop::collection::btree_map(0usize..6, 0u32..100, 0..6),
        prop::collection::vec(window, 1..5),
    )
        .prop_map(|(initial, windows)| History {
            initial: initial.into_iter().collect(),
            windows,
        })
}

fn pk(k: usize) -> String {
    format!("k{k}")
}

fn image(k: usize, v: u32) -> Value {
    item(&pk(k), "1", json!({ "v": n(&v.to_string()) }))
}

fn change(ts: i64, k: usize, old: Option<&Value>, new: Option<&Value>, both: bool) -> Value {
    let mut line = json!({
        "Metadata": { "WriteTimestampMicros": { "N": ts.to_string() } },
        "Keys": keys(&pk(k), "1"),
    });
    if let Some(new) = new {
        line["NewImage"] = new.clone();
    }
    if let (true, Some(old)) = (both, old) {
        line["OldImage"] = old.clone();
    }
    line
}

/// Writes the history as a chain and replays it: the model's table at each
/// boundary, in order (the full export's time first).
fn build(h: &History) -> (Exports, Vec<BTreeMap<String, Value>>) {
    let mut ex = Exports::new(Some("exp"));
    let mut table: BTreeMap<usize, Value> =
        h.initial.iter().map(|&(k, v)| (k, image(k, v))).collect();
    let lines: Vec<Value> = table.values().map(|i| json!({ "Item": i })).collect();
    let (a, b) = lines.split_at(lines.len() / 2);
    ex.full(T, &[a.to_vec(), b.to_vec()]);
    let snapshot = |t: &BTreeMap<usize, Value>| {
        t.iter()
            .map(|(k, i)| (pk(*k), i.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let mut states = vec![snapshot(&table)];
    for (w, (both, writes, shuffle)) in h.windows.iter().enumerate() {
        let from = T + WINDOW * w as i64;
        let mut lines = Vec::new();
        for (n, write) in writes.iter().enumerate() {
            // Later writes have later timestamps; their lines come in any order.
            let ts = from * 1_000_000 + 1000 * n as i64;
            let new = write.value.map(|v| image(write.key, v));
            let old = table.get(&write.key).cloned();
            if old.is_none() && new.is_none() {
                continue; // deleting nothing leaves no record
            }
            lines.push(change(ts, write.key, old.as_ref(), new.as_ref(), *both));
            match new {
                Some(new) => table.insert(write.key, new),
                None => table.remove(&write.key),
            };
        }
        lines.sort_by_key(|l| {
            let text = l.to_string();
            text.bytes()
                .fold(*shuffle, |h, b| h.rotate_left(5) ^ u64::from(b))
        });
        let (a, b) = lines.split_at(lines.len() / 3);
        let view = if *both {
            "NEW_AND_OLD_IMAGES"
        } else {
            "NEW_IMAGE"
        };
        ex.incremental(from, from + WINDOW, view, &[a.to_vec(), b.to_vec()]);
        states.push(snapshot(&table));
    }
    (ex, states)
}

/// The items of JSON lines output, by partition key.
fn read_back(text: &[u8]) -> BTreeMap<String, Value> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| {
            let line: Value = serde_json::from_str(l).unwrap();
            let item = line["Item"].clone();
            (item["pk"]["S"].as_str().unwrap().to_string(), item)
        })
        .collect()
}

async fn materialized_at(ex: &Exports, at: i64) -> BTreeMap<String, Value> {
    let attrs = ["pk".to_string(), "sk".to_string()];
    let options = ReadOptions {
        key_attributes: Some(&attrs),
        until: Some(at),
        ..ReadOptions::default()
    };
    let source = ChainSource::Discover {
        prefix: Some("exp".into()),
    };
    let result = read_chain(&ex.store, &source, options).await.unwrap();
    assert!(result.report.is_clean(), "{:#?}", result.report);
    let mut out = Vec::new();
    let items = write_json_lines(&result.state, &mut out).unwrap();
    assert_eq!(items as usize, result.state.len());
    read_back(&out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn materialize_at_each_boundary_is_the_replayed_history(h in history()) {
        let (ex, states) = build(&h);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for (w, expected) in states.iter().enumerate() {
            let at = (T + WINDOW * w as i64) * 1000;
            let got = runtime.block_on(materialized_at(&ex, at));
            prop_assert_eq!(&got, expected, "at boundary {} of {}", w, states.len() - 1);
        }
    }
}

fn incx(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_incx"))
        .args(args)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        // Plain upload bodies: the loopback S3 reads no aws-chunked ones.
        .env("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
        .args(["--endpoint-url", endpoint])
        .output()
        .expect("run incx")
}

#[test]
fn the_command_writes_a_file_that_reads_back_and_refuses_other_times() {
    let h = History {
        initial: vec![(0, 1), (1, 2), (2, 3)],
        windows: vec![
            (
                true,
                vec![
                    Write {
                        key: 0,
                        value: Some(10),
                    },
                    Write {
                        key: 1,
                        value: None,
                    },
                ],
                7,
            ),
            (
                false,
                vec![Write {
                    key: 4,
                    value: Some(5),
                }],
                9,
            ),
        ],
    };
    let (ex, states) = build(&h);
    let endpoint = fake_s3::serve("bucket", ex.store);
    let dir = tempfile::tempdir().unwrap();
    let chain = ["--bucket", "bucket", "--prefix", "exp", "--discover"];
    for (w, expected) in states.iter().enumerate() {
        for name in ["state.jsonl", "state.jsonl.gz"] {
            let path = dir.path().join(format!("{w}-{name}"));
            let at = (T + WINDOW * w as i64).to_string();
            let mut args = vec![
                "materialize",
                "--output",
                path.to_str().unwrap(),
                "--at",
                &at,
            ];
            args.extend(chain);
            let out = incx(&endpoint, &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
            assert!(
                stderr.contains(&format!("wrote {} items", expected.len())),
                "{stderr}"
            );
            let mut body = std::fs::read(&path).unwrap();
            if name.ends_with(".gz") {
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut text)
                    .unwrap();
                body = text;
            }
            assert_eq!(&read_back(&body), expected, "{name} at boundary {w}");
        }
    }

    // Standard output, at the chain's end by default.
    let mut args = vec!["materialize", "--output", "-"];
    args.extend(chain);
    let out = incx(&endpoint, &args);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(&read_back(&out.stdout), states.last().unwrap());

    // Inside a window: refused, with the boundaries that exist.
    let mut args = vec![
        "materialize",
        "--output",
        "-",
        "--at",
        "2023-11-14T22:20:00Z",
    ];
    args.extend(chain);
    let out = incx(&endpoint, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("is not a boundary"), "{stderr}");
    for b in [
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:28:20Z",
        "2023-11-14T22:43:20Z",
    ] {
        assert!(stderr.contains(b), "{b} not listed: {stderr}");
    }
    assert!(out.stdout.is_empty());
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_is_refused_before_reading() {
    // No S3 behind this endpoint: the refusal must come first.
    let out = incx(
        "http://127.0.0.1:9",
        &[
            "materialize",
            "--output",
            "state.parquet",
            "--bucket",
            "b",
            "--discover",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("--features parquet"), "{stderr}");
}

#[test]
fn the_command_uploads_to_s3() {
    let h = History {
        initial: vec![(0, 1), (1, 2)],
        windows: vec![(
            true,
            vec![Write {
                key: 2,
                value: Some(3),
            }],
            1,
        )],
    };
    let (ex, states) = build(&h);
    let (endpoint, store) = fake_s3::serve_shared("bucket", ex.store);
    let out = incx(
        &endpoint,
        &[
            "materialize",
            "--output",
            "s3://bucket/state/table.jsonl.gz",
            "--bucket",
            "bucket",
            "--prefix",
            "exp",
            "--discover",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let body = store
        .lock()
        .unwrap()
        .body("state/table.jsonl.gz")
        .expect("uploaded")
        .to_vec();
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut text).unwrap();
    assert_eq!(&read_back(&text), states.last().unwrap());
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts() {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
    let (endpoint, store) = fake_s3::serve_shared("bucket", incx_cli::chain::MemoryStore::new());
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .endpoint_url(&endpoint)
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let data: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    incx_cli::upload::upload_file(&client, &path, "bucket", "out/big", 1000)
        .await
        .unwrap();
    incx_cli::upload::upload_file(&client, &path, "bucket", "out/small", 4096)
        .await
        .unwrap();
    let store = store.lock().unwrap();
    assert_eq!(
        store.body("out/big"),
        Some(&data[..]),
        "three parts, in order"
    );
    assert_eq!(store.body("out/small"), Some(&data[..]), "one PutObject");
}
