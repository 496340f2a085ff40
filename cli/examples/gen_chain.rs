//! Generates a chain of DynamoDB exports in the real layout, of any size,
//! for the reader's benchmark (`scripts/bench-reader.sh`) and tests: one
//! full export, then incremental windows alternating NEW_AND_OLD_IMAGES and
//! NEW_IMAGE, with manifests, `.md5` files and the shared incremental data
//! folder, numbers as plain decimals. Items are a deterministic function of
//! (seed, item, version), so the same flags always give the same chain.
//!
//! ```sh
//! cargo run --release -p incx-cli --example gen_chain -- --out /tmp/chain \
//!     --items 1000000 --windows 24 --changes 40000
//! ```
//!
//! `--expect FILE` also writes the table at the chain's end as
//! `{"Item":...}` lines, for small chains.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use flate2::write::GzEncoder;
use flate2::Compression;
use incx_cli::chain::{format_utc, md5_base64};
use md5::{Digest, Md5};

#[derive(Debug, Parser)]
struct Args {
    /// Folder to write the bucket's copy into (created).
    #[arg(long)]
    out: PathBuf,
    /// Key prefix of the exports inside the bucket.
    #[arg(long, default_value = "exports")]
    prefix: String,
    /// Items of the full export.
    #[arg(long, default_value_t = 1_000_000)]
    items: u64,
    /// Incremental windows after it.
    #[arg(long, default_value_t = 24)]
    windows: u32,
    /// Changed items per window.
    #[arg(long, default_value_t = 40_000)]
    changes: u64,
    /// Data files of the full export.
    #[arg(long, default_value_t = 32)]
    full_files: u64,
    /// Data files of each incremental export.
    #[arg(long, default_value_t = 4)]
    window_files: u64,
    /// Length of each window, seconds.
    #[arg(long, default_value_t = 3600)]
    window_seconds: i64,
    /// The full export's time, epoch seconds.
    #[arg(long, default_value_t = 1_700_000_000)]
    start: i64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the table at the chain's end here, as `{"Item":...}` lines.
    #[arg(long)]
    expect: Option<PathBuf>,
}

/// SplitMix64: small, fast, and good enough to draw test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
    "kestrel", "lagoon", "maple", "nectar", "orchid", "prairie", "quartz", "raven", "sierra",
    "tundra", "umber", "violet", "willow", "xenon", "yarrow", "zephyr",
];
const CITIES: &[&str] = &[
    "Lisbon", "Oslo", "Quito", "Lagos", "Perth", "Osaka", "Tunis", "Lima",
];

fn key_json(id: u64) -> String {
    format!(
        r#"{{"pk":{{"S":"user#{:07}"}},"sk":{{"N":"{}"}}}}"#,
        id / 4,
        id % 4
    )
}

/// The item `id` at `version`, as DynamoDB JSON, attributes in a fixed
/// order that is not sorted (as the service's is not).
fn item_json(seed: u64, id: u64, version: u32) -> String {
    let mut r = Rng::new(seed ^ id.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ u64::from(version) << 40);
    let mut s = String::with_capacity(400);
    let _ = write!(
        s,
        r#"{{"name":{{"S":"{} {}"}},"pk":{{"S":"user#{:07}"}},"email":{{"S":"{}.{}@example.com"}},"age":{{"N":"{}"}}"#,
        r.pick(WORDS),
        r.pick(WORDS),
        id / 4,
        r.pick(WORDS),
        id,
        18 + r.below(70)
    );
    let cents = r.below(10_000_000);
    let balance = format!("{}.{:02}", cents / 100, cents % 100);
    let balance = balance.trim_end_matches('0').trim_end_matches('.');
    let _ = write!(
        s,
        r#","balance":{{"N":"{balance}"}},"active":{{"BOOL":{}}},"sk":{{"N":"{}"}},"score":{{"N":"{}{:018}"}}"#,
        r.below(2) == 0,
        id % 4,
        1 + r.below(9),
        r.below(1_000_000_000_000_000_000)
    );
    let mut tags: Vec<&str> = (0..1 + r.below(3)).map(|_| r.pick(WORDS)).collect();
    tags.sort_unstable();
    tags.dedup();
    let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
    let _ = write!(
        s,
        r#","tags":{{"SS":[{}]}},"address":{{"M":{{"city":{{"S":"{}"}},"zip":{{"S":"{:05}"}},"geo":{{"L":[{{"N":"{}"}},{{"N":"-{}"}}]}}}}}}"#,
        tags.join(","),
        r.pick(CITIES),
        r.below(100_000),
        r.below(90),
        1 + r.below(179)
    );
    let words: Vec<&str> = (0..4 + r.below(14)).map(|_| r.pick(WORDS)).collect();
    let avatar: Vec<u8> = (0..12).map(|_| r.next() as u8).collect();
    let _ = write!(
        s,
        r#","notes":{{"S":"{}"}},"avatar":{{"B":"{}"}},"version":{{"N":"{version}"}}"#,
        words.join(" "),
        STANDARD.encode(avatar)
    );
    if r.below(5) == 0 {
        let _ = write!(s, r#","nothing":{{"NULL":true}}"#);
    }
    s.push('}');
    s
}

/// Writes one export's data files from `lines` spread by `spread`, and its
/// manifest; returns the manifest's key and the line count.
struct Writer {
    root: PathBuf,
    prefix: String,
    names: Rng,
}

impl Writer {
    fn put(&self, key: &str, body: &[u8]) {
        let path = self.root.join(key);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())));
        }
        fs::write(&path, body).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    }

    fn file_name(&mut self) -> String {
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let name: String = (0..26)
            .map(|_| alphabet[self.names.below(36) as usize] as char)
            .collect();
        format!("{name}.json.gz")
    }

    /// Data files in `folder` and the export's manifest-files.json.
    fn data(&mut self, id: &str, folder: &str, files: Vec<Vec<String>>) -> u64 {
        let names: Vec<String> = files.iter().map(|_| self.file_name()).collect();
        let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let chunks: Vec<_> = files
                .chunks(files.len().div_ceil(2).max(1))
                .map(|part| {
                    scope.spawn(move || part.iter().map(|lines| gzip(lines)).collect::<Vec<_>>())
                })
                .collect();
            chunks
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| fail("a compressing thread failed"))
                })
                .collect()
        });
        let mut manifest = String::new();
        let mut count = 0;
        for ((lines, name), body) in files.iter().zip(&names).zip(&bodies) {
            let key = format!("{}/AWSDynamoDB/{folder}{name}", self.prefix);
            let _ = writeln!(
                manifest,
                r#"{{"itemCount":{},"md5Checksum":"{}","etag":"{:x}","dataFileS3Key":"{key}"}}"#,
                lines.len(),
                md5_base64(body),
                Md5::digest(body)
            );
            self.put(&key, body);
            count += lines.len() as u64;
        }
        self.with_md5(
            &format!("{}/AWSDynamoDB/{id}/manifest-files", self.prefix),
            manifest.as_bytes(),
        );
        count
    }

    fn with_md5(&self, stem: &str, body: &[u8]) {
        self.put(&format!("{stem}.json"), body);
        self.put(&format!("{stem}.md5"), md5_base64(body).as_bytes());
    }

    fn summary(&self, id: &str, fields: &str, count: u64) {
        let folder = format!("{}/AWSDynamoDB/{id}", self.prefix);
        self.put(&format!("{folder}/_started"), b"");
        let body = format!(
            r#"{{"exportArn":"arn:aws:dynamodb:us-east-1:123456789012:table/bench/export/{id}","tableArn":"arn:aws:dynamodb:us-east-1:123456789012:table/bench","tableId":"00000000-0000-0000-0000-000000000000",{fields},"s3Bucket":"bench","s3Prefix":"{}","s3SseAlgorithm":"AES256","s3SseKmsKeyId":null,"manifestFilesS3Key":"{folder}/manifest-files.json","billedSizeBytes":{},"itemCount":{count},"outputFormat":"DYNAMODB_JSON""#,
            self.prefix,
            (count * 300).max(10_000_000)
        );
        let body = body
            + if fields.contains("exportFromTime") {
                r#","exportType":"INCREMENTAL_EXPORT"}"#
            } else {
                "}"
            };
        self.with_md5(&format!("{folder}/manifest-summary"), body.as_bytes());
    }
}

fn gzip(lines: &[String]) -> Vec<u8> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for line in lines {
        let _ = gz.write_all(line.as_bytes());
        let _ = gz.write_all(b"\n");
    }
    gz.finish().unwrap_or_else(|e| fail(&format!("gzip: {e}")))
}

fn fail(message: &str) -> ! {
    eprintln!("gen_chain: {message}");
    std::process::exit(2)
}

fn export_id(ms: i64, n: u32) -> String {
    format!("{ms:014}-{:08x}", 0xbe00_0000u32 + n)
}

fn spread(id: u64, files: u64) -> usize {
    (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % files.max(1) as usize
}

fn main() {
    let a = Args::parse();
    let mut w = Writer {
        root: a.out.clone(),
        prefix: a.prefix.trim_matches('/').to_string(),
        names: Rng::new(a.seed ^ 0xf11e),
    };
    // The full export.
    let full_id = export_id(a.start * 1000 + 17, 0);
    let mut files = vec![Vec::new(); a.full_files as usize];
    for id in 0..a.items {
        files[spread(id, a.full_files)].push(format!(r#"{{"Item":{}}}"#, item_json(a.seed, id, 0)));
    }
    let count = w.data(&full_id, &format!("{full_id}/data/"), files);
    let time = format_utc(a.start * 1000);
    w.summary(
        &full_id,
        &format!(
            r#""version":"2020-06-30","startTime":"{time}","endTime":"{time}","exportTime":"{time}""#
        ),
        count,
    );
    eprintln!("gen_chain: full export {full_id}: {count} items");

    // The windows: each changes `changes` distinct items.
    let mut versions: Vec<Option<u32>> = (0..a.items).map(|_| Some(0)).collect();
    let mut live: Vec<u64> = (0..a.items).collect();
    let mut at: Vec<usize> = (0..a.items as usize).collect();
    let mut r = Rng::new(a.seed ^ 0xc4a2);
    for window in 0..a.windows {
        let from = a.start + i64::from(window) * a.window_seconds;
        let to = from + a.window_seconds;
        let both = window % 2 == 0;
        let mut touched = HashSet::new();
        let mut files = vec![Vec::new(); a.window_files as usize];
        for _ in 0..a.changes {
            let roll = r.below(10);
            let stamp =
                from * 1_000_000 + r.below(a.window_seconds.unsigned_abs() * 1_000_000) as i64;
            let meta =
                format!(r#"{{"Metadata":{{"WriteTimestampMicros":{{"N":"{stamp}"}}}},"Keys":"#);
            let id = if roll < 2 || live.is_empty() {
                // An insert of a new item.
                let id = versions.len() as u64;
                versions.push(Some(0));
                at.push(live.len());
                live.push(id);
                touched.insert(id);
                files[spread(id, a.window_files)].push(format!(
                    r#"{meta}{},"NewImage":{}}}"#,
                    key_json(id),
                    item_json(a.seed, id, 0)
                ));
                continue;
            } else {
                live[r.below(live.len() as u64) as usize]
            };
            if !touched.insert(id) {
                continue; // one line per item per export, as the service compacts
            }
            let old = versions[id as usize].unwrap_or(0);
            let old_image = item_json(a.seed, id, old);
            let line = if roll < 3 {
                // A delete.
                versions[id as usize] = None;
                let slot = at[id as usize];
                live.swap_remove(slot);
                if let Some(&moved) = live.get(slot) {
                    at[moved as usize] = slot;
                }
                if both {
                    format!(r#"{meta}{},"OldImage":{old_image}}}"#, key_json(id))
                } else {
                    format!(r#"{meta}{}}}"#, key_json(id))
                }
            } else {
                versions[id as usize] = Some(old + 1);
                let new_image = item_json(a.seed, id, old + 1);
                if both {
                    format!(
                        r#"{meta}{},"OldImage":{old_image},"NewImage":{new_image}}}"#,
                        key_json(id)
                    )
                } else {
                    format!(r#"{meta}{},"NewImage":{new_image}}}"#, key_json(id))
                }
            };
            files[spread(id, a.window_files)].push(line);
        }
        let id = export_id(to * 1000 + 5, window + 1);
        let count = w.data(&id, "data/", files);
        let view = if both {
            "NEW_AND_OLD_IMAGES"
        } else {
            "NEW_IMAGE"
        };
        w.summary(
            &id,
            &format!(
                r#""version":"2023-08-01","startTime":"{}","endTime":"{}","exportFromTime":"{}","exportToTime":"{}","outputView":"{view}""#,
                format_utc(to * 1000 + 5),
                format_utc(to * 1000 + 300_000),
                format_utc(from * 1000),
                format_utc(to * 1000)
            ),
            count,
        );
        eprintln!(
            "gen_chain: window {}/{}: {count} changes",
            window + 1,
            a.windows
        );
    }
    eprintln!("gen_chain: {} items at the end", live.len());
    if let Some(path) = &a.expect {
        write_expected(path, a.seed, &versions);
    }
}

fn write_expected(path: &Path, seed: u64, versions: &[Option<u32>]) {
    let mut out = std::io::BufWriter::new(
        fs::File::create(path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display()))),
    );
    for (id, version) in versions.iter().enumerate() {
        if let Some(v) = version {
            let _ = writeln!(out, r#"{{"Item":{}}}"#, item_json(seed, id as u64, *v));
        }
    }
    let _ = out.flush();
}
