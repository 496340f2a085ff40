//! `manifest-files.json`: one JSON line per data file with `itemCount`,
//! `md5Checksum` (base64 MD5 of the gzip bytes), `etag` and `dataFileS3Key`
//! (from the bucket root).

use serde::Deserialize;
use serde_json::Value;

/// One data file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFileEntry {
    /// Key of the `.json.gz` file from the bucket root.
    pub key: String,
    /// Lines the service says the file holds.
    pub item_count: Option<u64>,
    /// Base64 MD5 of the gzip bytes.
    pub md5: Option<String>,
    /// The object's ETag at export time.
    pub etag: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    data_file_s3_key: Option<String>,
    item_count: Option<Value>,
    md5_checksum: Option<String>,
    etag: Option<String>,
}

/// Parses the JSON lines of a `manifest-files.json`.
pub fn parse_manifest_files(bytes: &[u8]) -> Result<Vec<DataFileEntry>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let raw: RawEntry =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            let key = raw
                .data_file_s3_key
                .ok_or_else(|| format!("line {}: no dataFileS3Key", n + 1))?;
            let item_count = raw.item_count.and_then(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            });
            Ok(DataFileEntry {
                key,
                item_count,
                md5: raw.md5_checksum,
                etag: raw.etag,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_rejects_entries_without_key() {
        let text = concat!(
            r#"{"itemCount":3,"md5Checksum":"abc=","etag":"e-1","dataFileS3Key":"p/AWSDynamoDB/data/a.json.gz"}"#,
            "\n\n",
            r#"{"itemCount":"0","dataFileS3Key":"p/AWSDynamoDB/data/b.json.gz"}"#,
            "\n"
        );
        let entries = parse_manifest_files(text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].item_count, Some(3));
        assert_eq!(entries[0].md5.as_deref(), Some("abc="));
        assert_eq!(entries[1].item_count, Some(0));
        assert!(parse_manifest_files(br#"{"itemCount":1}"#).is_err());
    }
}
