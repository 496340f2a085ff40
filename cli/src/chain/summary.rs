//! `manifest-summary.json` of a full export (version 2020-06-30, with
//! `exportTime`) or of an incremental export (version 2023-08-01, with
//! `exportFromTime`/`exportToTime`, `outputView`, `exportType`). Both field
//! sets are accepted and optional fields may be missing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::epoch::parse_time;

/// The file name of an export's summary.
pub const SUMMARY_FILE: &str = "manifest-summary.json";

/// Whether an export is the chain's base or one of its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExportType {
    /// A full export (`{"Item":...}` lines).
    Full,
    /// An incremental export (`Keys`/`NewImage`/`OldImage` lines).
    Incremental,
}

/// What the reader needs from a `manifest-summary.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The export id (the folder name, e.g. `01700000000000-1a2b3c4d`).
    pub id: String,
    /// Key of the summary itself.
    pub summary_key: String,
    /// Full or incremental.
    pub export_type: ExportType,
    /// The manifest's `version`.
    pub version: Option<String>,
    /// A full export's `exportTime`, epoch milliseconds.
    pub export_time: Option<i64>,
    /// An incremental export's `exportFromTime` (inclusive), epoch ms.
    pub from: Option<i64>,
    /// An incremental export's `exportToTime` (exclusive), epoch ms.
    pub to: Option<i64>,
    /// `NEW_IMAGE` or `NEW_AND_OLD_IMAGES` for an incremental export.
    pub output_view: Option<String>,
    /// Key of `manifest-files.json` from the bucket root.
    pub manifest_files_key: String,
    /// The summary's `itemCount`.
    pub item_count: Option<u64>,
    /// The summary's `outputFormat` (`DYNAMODB_JSON` when absent).
    pub output_format: String,
}

impl ExportSummary {
    /// The export's window `(from, to)` in epoch ms; a full export is the
    /// point `(exportTime, exportTime)`.
    pub fn window(&self) -> Option<(i64, i64)> {
        match self.export_type {
            ExportType::Full => self.export_time.map(|t| (t, t)),
            ExportType::Incremental => self.from.zip(self.to),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSummary {
    version: Option<String>,
    export_arn: Option<String>,
    export_type: Option<String>,
    export_time: Option<Value>,
    export_from_time: Option<Value>,
    export_to_time: Option<Value>,
    output_view: Option<String>,
    manifest_files_s3_key: Option<String>,
    item_count: Option<Value>,
    output_format: Option<String>,
}

/// Parses the summary stored at `summary_key`.
pub fn parse_summary(summary_key: &str, bytes: &[u8]) -> Result<ExportSummary, String> {
    let raw: RawSummary = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let time = |field: &Option<Value>, name: &str| -> Result<Option<i64>, String> {
        match field {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse_time(v)
                .map(Some)
                .ok_or_else(|| format!("{name} is not a time: {v}")),
        }
    };
    let export_time = time(&raw.export_time, "exportTime")?;
    let from = time(&raw.export_from_time, "exportFromTime")?;
    let to = time(&raw.export_to_time, "exportToTime")?;
    let export_type = match raw.export_type.as_deref() {
        Some("INCREMENTAL_EXPORT") => ExportType::Incremental,
        Some("FULL_EXPORT") => ExportType::Full,
        _ if from.is_some() || to.is_some() => ExportType::Incremental,
        _ => ExportType::Full,
    };
    let folder = summary_key
        .strip_suffix(SUMMARY_FILE)
        .unwrap_or(summary_key);
    let id = folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .or_else(|| raw.export_arn.as_deref().and_then(|a| a.rsplit('/').next()))
        .unwrap_or(summary_key)
        .to_string();
    let manifest_files_key = raw
        .manifest_files_s3_key
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| format!("{folder}manifest-files.json"));
    let item_count = raw.item_count.and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let summary = ExportSummary {
        id,
        summary_key: summary_key.to_string(),
        export_type,
        version: raw.version,
        export_time,
        from,
        to,
        output_view: raw.output_view,
        manifest_files_key,
        item_count,
        output_format: raw
            .output_format
            .unwrap_or_else(|| "DYNAMODB_JSON".to_string()),
    };
    match summary.window() {
        Some((from, to)) if from <= to => Ok(summary),
        Some(_) => Err("exportFromTime is after exportToTime".to_string()),
        None if export_type == ExportType::Full => Err("full export without exportTime".into()),
        None => Err("incremental export without exportFromTime/exportToTime".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_incremental_summaries() {
        let full = br#"{"version":"2020-06-30","exportArn":"arn:aws:dynamodb:us-east-1:1:table/t/export/01700000000000-aaaa0000","exportTime":"2023-11-14T22:13:20Z","s3Prefix":null,"manifestFilesS3Key":"AWSDynamoDB/01700000000000-aaaa0000/manifest-files.json","itemCount":2,"outputFormat":"DYNAMODB_JSON"}"#;
        let s = parse_summary(
            "AWSDynamoDB/01700000000000-aaaa0000/manifest-summary.json",
            full,
        )
        .unwrap();
        assert_eq!(s.export_type, ExportType::Full);
        assert_eq!(s.id, "01700000000000-aaaa0000");
        assert_eq!(s.window(), Some((1_700_000_000_000, 1_700_000_000_000)));
        assert_eq!(s.item_count, Some(2));

        let inc = br#"{"version":"2023-08-01","exportFromTime":"2023-11-14T22:13:20Z","exportToTime":"2023-11-14T23:13:20Z","outputView":"NEW_IMAGE","exportType":"INCREMENTAL_EXPORT"}"#;
        let s = parse_summary(
            "p/AWSDynamoDB/01700000000001-bbbb0000/manifest-summary.json",
            inc,
        )
        .unwrap();
        assert_eq!(s.export_type, ExportType::Incremental);
        assert_eq!(s.window(), Some((1_700_000_000_000, 1_700_003_600_000)));
        assert_eq!(
            s.manifest_files_key,
            "p/AWSDynamoDB/01700000000001-bbbb0000/manifest-files.json"
        );
        assert_eq!(s.output_view.as_deref(), Some("NEW_IMAGE"));
    }

    #[test]
    fn rejects_summaries_without_times() {
        assert!(parse_summary("k", br#"{"version":"2020-06-30"}"#).is_err());
        assert!(parse_summary("k", br#"{"exportType":"INCREMENTAL_EXPORT"}"#).is_err());
        assert!(parse_summary("k", br#"{"exportTime":"soon"}"#).is_err());
        assert!(parse_summary("k", b"not json").is_err());
    }
}
