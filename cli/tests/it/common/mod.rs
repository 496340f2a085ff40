//! Test fixtures: exports written into a [`MemoryStore`] in the layout of
//! real DynamoDB exports (summaries, manifests, `.md5` files, per-export
//! data folders for full exports, one shared data folder for incremental
//! ones).

pub mod fake_s3;

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use incx_cli::chain::{format_utc, md5_base64, MemoryStore};
use serde_json::{json, Value};

/// Base time of the fixtures, epoch seconds (2023-11-14T22:13:20Z).
pub const T: i64 = 1_700_000_000;

/// Writes exports into an in-memory bucket.
pub struct Exports {
    pub store: MemoryStore,
    /// `[prefix/]AWSDynamoDB/`
    pub root: String,
    prefix: Option<String>,
    /// Suffix of the manifests' checksum files (`.md5` or `.checksum`).
    pub checksum_suffix: &'static str,
    seq: u32,
}

/// One data file: its JSON lines.
pub type DataFile = Vec<Value>;

impl Exports {
    pub fn new(prefix: Option<&str>) -> Self {
        let root = match prefix {
            Some(p) => format!("{p}/AWSDynamoDB/"),
            None => "AWSDynamoDB/".to_string(),
        };
        Self {
            store: MemoryStore::new(),
            root,
            prefix: prefix.map(str::to_string),
            checksum_suffix: ".md5",
            seq: 0,
        }
    }

    fn next_id(&mut self, start_secs: i64) -> String {
        self.seq += 1;
        format!(
            "{:014}-{:08x}",
            start_secs * 1000 + i64::from(self.seq),
            0xa0b0_0000 + self.seq
        )
    }

    /// A full export at `time` (epoch seconds); returns its summary key.
    pub fn full(&mut self, time: i64, files: &[DataFile]) -> String {
        let id = self.next_id(time);
        let data_dir = format!("{}{id}/data/", self.root);
        let items = self.write_data(&id, &data_dir, files);
        let summary = json!({
            "version": "2020-06-30",
            "exportArn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/t/export/{id}"),
            "startTime": format_utc(time * 1000 + 28),
            "endTime": format_utc(time * 1000 + 300_000),
            "tableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
            "tableId": "00000000-0000-0000-0000-000000000000",
            "exportTime": format_utc(time * 1000),
            "s3Bucket": "bucket",
            "s3Prefix": self.prefix,
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": null,
            "manifestFilesS3Key": format!("{}{id}/manifest-files.json", self.root),
            "billedSizeBytes": 1234,
            "itemCount": items,
            "outputFormat": "DYNAMODB_JSON",
        });
        self.write_summary(&id, &summary)
    }

    /// An incremental export of `[from, to)` (epoch seconds); returns its
    /// summary key. Its data goes into the shared `data/` folder.
    pub fn incremental(&mut self, from: i64, to: i64, view: &str, files: &[DataFile]) -> String {
        let id = self.next_id(to);
        let data_dir = format!("{}data/", self.root);
        let items = self.write_data(&id, &data_dir, files);
        let summary = json!({
            "version": "2023-08-01",
            "exportArn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/t/export/{id}"),
            "startTime": format_utc(to * 1000 + 5),
            "endTime": format_utc(to * 1000 + 600_000),
            "tableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
            "tableId": "00000000-0000-0000-0000-000000000000",
            "exportFromTime": format_utc(from * 1000),
            "exportToTime": format_utc(to * 1000),
            "s3Bucket": "bucket",
            "s3Prefix": self.prefix,
            "s3SseAlgorithm": "AES256",
            "s3SseKmsKeyId": null,
            "manifestFilesS3Key": format!("{}{id}/manifest-files.json", self.root),
            "billedSizeBytes": 10_000_000,
            "itemCount": items,
            "outputFormat": "DYNAMODB_JSON",
            "outputView": view,
            "exportType": "INCREMENTAL_EXPORT",
        });
        self.write_summary(&id, &summary)
    }

    /// Writes gzip data files and `manifest-files.json`; returns the items.
    fn write_data(&mut self, id: &str, data_dir: &str, files: &[DataFile]) -> usize {
        let mut manifest = String::new();
        let mut total = 0;
        for (n, lines) in files.iter().enumerate() {
            let key = format!("{data_dir}{}-{n}.json.gz", id.replace('-', ""));
            let body = if lines.is_empty() {
                Vec::new()
            } else {
                gzip_lines(lines)
            };
            let entry = json!({
                "itemCount": lines.len(),
                "md5Checksum": md5_base64(&body),
                "etag": format!("etag-{n}"),
                "dataFileS3Key": key,
            });
            manifest.push_str(&entry.to_string());
            manifest.push('\n');
            self.store.put(key, body);
            total += lines.len();
        }
        let key = format!("{}{id}/manifest-files.json", self.root);
        self.put_with_checksum(&key, manifest.into_bytes());
        total
    }

    fn write_summary(&mut self, id: &str, summary: &Value) -> String {
        let folder = format!("{}{id}/", self.root);
        self.store.put(format!("{folder}_started"), Vec::new());
        let key = format!("{folder}manifest-summary.json");
        self.put_with_checksum(&key, summary.to_string().into_bytes());
        key
    }

    fn put_with_checksum(&mut self, json_key: &str, body: Vec<u8>) {
        let stem = json_key.trim_end_matches(".json");
        self.store
            .put(format!("{stem}{}", self.checksum_suffix), md5_base64(&body));
        self.store.put(json_key, body);
    }

    /// The data file keys listed in the manifest of the export whose summary
    /// is `summary_key`.
    pub fn data_keys(&self, summary_key: &str) -> Vec<String> {
        let manifest = summary_key.replace("manifest-summary.json", "manifest-files.json");
        let body = self.store.body(&manifest).unwrap_or_default();
        String::from_utf8_lossy(body)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["dataFileS3Key"].as_str().map(str::to_string))
            .collect()
    }
}

pub fn gzip_lines(lines: &[Value]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    for line in lines {
        writeln!(encoder, "{line}").expect("gzip write");
    }
    encoder.finish().expect("gzip finish")
}

/// A `{"S": s}` attribute.
pub fn s(v: &str) -> Value {
    json!({ "S": v })
}

/// A `{"N": n}` attribute.
pub fn n(v: &str) -> Value {
    json!({ "N": v })
}

/// A full-export line for item `pk`/`sk` with extra attributes.
pub fn item_line(pk: &str, sk: &str, attrs: Value) -> Value {
    json!({ "Item": item(pk, sk, attrs) })
}

/// An item `pk`/`sk` with extra attributes.
pub fn item(pk: &str, sk: &str, attrs: Value) -> Value {
    let mut item = attrs.as_object().cloned().unwrap_or_default();
    item.insert("pk".into(), s(pk));
    item.insert("sk".into(), s(sk));
    Value::Object(item)
}

/// The `Keys` of item `pk`/`sk`.
pub fn keys(pk: &str, sk: &str) -> Value {
    json!({ "pk": s(pk), "sk": s(sk) })
}

fn metadata() -> Value {
    json!({ "WriteTimestampMicros": { "N": "1700000000123456" } })
}

/// An insert line (both views): Keys + NewImage.
pub fn insert(pk: &str, sk: &str, attrs: Value) -> Value {
    json!({ "Metadata": metadata(), "Keys": keys(pk, sk), "NewImage": item(pk, sk, attrs) })
}

/// An update line of NEW_AND_OLD_IMAGES: Keys + OldImage + NewImage.
pub fn update(pk: &str, sk: &str, old: Value, new: Value) -> Value {
    json!({
        "Metadata": metadata(),
        "Keys": keys(pk, sk),
        "OldImage": item(pk, sk, old),
        "NewImage": item(pk, sk, new),
    })
}

/// A delete line of NEW_AND_OLD_IMAGES: Keys + OldImage.
pub fn delete_with_old(pk: &str, sk: &str, old: Value) -> Value {
    json!({ "Metadata": metadata(), "Keys": keys(pk, sk), "OldImage": item(pk, sk, old) })
}

/// A delete line of NEW_IMAGE: Keys only.
pub fn delete_keys_only(pk: &str, sk: &str) -> Value {
    json!({ "Metadata": metadata(), "Keys": keys(pk, sk) })
}
