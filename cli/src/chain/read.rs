//! One export of the chain: its `manifest-files.json` (checksum-checked)
//! gives its data files by key (never by listing: incremental data shares
//! one folder); once the files are read, each file's MD5 and line count
//! is held to the manifest and the export's total to its summary.

use super::checksum::verify_manifest;
use super::discover::record_manifest_checksum;
use super::error::{ChainError, StoreError};
use super::manifest::{parse_manifest_files, DataFileEntry};
use super::pipeline::{FileOutcome, Format};
use super::report::{ChainReport, ChecksumKind, ChecksumProblem, CountMismatch, ExportReport};
use super::store::ObjectStore;
use super::summary::ExportSummary;

/// An export to read: its summary, its data files, the format they are in.
#[derive(Debug, Clone)]
pub struct Export {
    pub summary: ExportSummary,
    pub files: Vec<DataFileEntry>,
    /// `None` when the files cannot be read (an unknown format, a missing
    /// or malformed manifest): the report says why.
    pub format: Option<Format>,
}

/// Loads `summary`'s manifest, filing problems in `report`. Only store
/// failures other than a missing object are fatal.
pub async fn load_export<S: ObjectStore>(
    store: &S,
    summary: ExportSummary,
    report: &mut ChainReport,
    allow_missing: bool,
) -> Result<Export, ChainError> {
    let mut export = Export {
        summary,
        files: Vec::new(),
        format: None,
    };
    let format = match export.summary.output_format.as_str() {
        "DYNAMODB_JSON" => Format::Json,
        "ION" => Format::Ion,
        other => {
            report.data_errors.push(format!(
                "export {}: outputFormat {other} cannot be read (incx reads DYNAMODB_JSON and ION)",
                export.summary.id
            ));
            return Ok(export);
        }
    };
    let key = export.summary.manifest_files_key.clone();
    let manifest = match store.get(&key).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => {
            report
                .data_errors
                .push(format!("{key}: manifest not found"));
            return Ok(export);
        }
        Err(other) => return Err(other.into()),
    };
    let outcome = verify_manifest(store, &key, &manifest).await?;
    record_manifest_checksum(outcome, &key, report, allow_missing);
    match parse_manifest_files(&manifest) {
        Ok(files) => {
            export.files = files;
            export.format = Some(format);
        }
        Err(why) => report.data_errors.push(format!("{key}: {why}")),
    }
    Ok(export)
}

/// Files what reading `export`'s data found, and returns its line of the
/// report. `outcomes` are its files' outcomes, in its manifest's order.
pub fn check_export(
    export: &Export,
    outcomes: &[FileOutcome],
    report: &mut ChainReport,
    allow_missing: bool,
) -> ExportReport {
    let summary = &export.summary;
    let (from, to) = summary.window().unwrap_or_default();
    let mut line = ExportReport {
        id: summary.id.clone(),
        export_type: summary.export_type,
        from,
        to,
        output_view: summary.output_view.clone(),
        format: summary.output_format.clone(),
        items: 0,
        bytes: 0,
        files: 0,
    };
    let mut complete = export.format.is_some();
    for (entry, outcome) in export.files.iter().zip(outcomes) {
        let read = match outcome {
            Ok(read) => read,
            Err(_) => {
                report
                    .data_errors
                    .push(format!("{}: data file not found", entry.key));
                complete = false;
                continue;
            }
        };
        line.files += 1;
        line.bytes += read.bytes;
        line.items += read.lines;
        check_md5(entry, &read.md5, report, allow_missing);
        if let Some(why) = &read.unreadable {
            report.data_errors.push(format!("{}: {why}", entry.key));
            complete = false;
            continue;
        }
        if let Some(first) = &read.first_bad {
            let more = read.bad_lines - 1;
            let tail = if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            };
            report
                .data_errors
                .push(format!("{}: {first}{tail}", entry.key));
        }
        if let Some(expected) = entry.item_count.filter(|&c| c != read.lines) {
            report.count_errors.push(CountMismatch {
                manifest: summary.manifest_files_key.clone(),
                of: entry.key.clone(),
                expected,
                actual: read.lines,
            });
        }
    }
    // The export's total means something only once every file was read.
    if let Some(expected) = summary.item_count.filter(|&c| complete && c != line.items) {
        report.count_errors.push(CountMismatch {
            manifest: summary.summary_key.clone(),
            of: summary.id.clone(),
            expected,
            actual: line.items,
        });
    }
    line
}

/// Files a data file's MD5 problem, if any.
fn check_md5(entry: &DataFileEntry, actual: &str, report: &mut ChainReport, allow_missing: bool) {
    let problem = |kind, expected: Option<&String>| ChecksumProblem {
        key: entry.key.clone(),
        kind,
        expected: expected.cloned(),
        actual: Some(actual.to_string()),
    };
    match &entry.md5 {
        None => report.missing_checksum(problem(ChecksumKind::Missing, None), allow_missing),
        Some(expected) if !digest_equals(expected, actual) => report
            .checksum_errors
            .push(problem(ChecksumKind::Mismatch, Some(expected))),
        Some(_) => {}
    }
}

/// Whether a recorded digest (base64 or hex) is the base64 digest `actual`.
fn digest_equals(expected: &str, actual: &str) -> bool {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let expected = expected.trim();
    if expected == actual {
        return true;
    }
    let hex: String = STANDARD
        .decode(actual)
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected.eq_ignore_ascii_case(&hex)
}
