//! Reading one export's data into the table state: its
//! `manifest-files.json` (checksum-checked), then each data file by its key
//! (never by listing: incremental data shares one folder), MD5-checked,
//! gunzipped and applied line by line.

use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::checksum::{digest_matches, md5_base64, verify_manifest};
use super::discover::record_manifest_checksum;
use super::error::{ChainError, StoreError};
use super::manifest::{parse_manifest_files, DataFileEntry};
use super::records::{parse_change_line, parse_item_line};
use super::report::{ChainReport, ChecksumKind, ChecksumProblem, ExportReport};
use super::state::TableState;
use super::store::ObjectStore;
use super::summary::{ExportSummary, ExportType};

/// Reads `summary`'s export into `state`, filing problems in `report`.
/// Only store failures other than a missing object are fatal.
pub async fn read_export<S: ObjectStore>(
    store: &S,
    summary: &ExportSummary,
    state: &mut TableState,
    report: &mut ChainReport,
) -> Result<ExportReport, ChainError> {
    let (from, to) = summary.window().unwrap_or_default();
    let mut export = ExportReport {
        id: summary.id.clone(),
        export_type: summary.export_type,
        from,
        to,
        output_view: summary.output_view.clone(),
        items: 0,
        bytes: 0,
        files: 0,
    };
    let manifest_key = &summary.manifest_files_key;
    let manifest = match store.get(manifest_key).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => {
            report
                .data_errors
                .push(format!("{manifest_key}: manifest not found"));
            return Ok(export);
        }
        Err(other) => return Err(other.into()),
    };
    let outcome = verify_manifest(store, manifest_key, &manifest).await?;
    record_manifest_checksum(outcome, manifest_key, report);
    let entries = match parse_manifest_files(&manifest) {
        Ok(entries) => entries,
        Err(why) => {
            report.data_errors.push(format!("{manifest_key}: {why}"));
            return Ok(export);
        }
    };
    for entry in &entries {
        let body = match store.get(&entry.key).await {
            Ok(body) => body,
            Err(StoreError::NotFound(_)) => {
                report
                    .data_errors
                    .push(format!("{}: data file not found", entry.key));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        export.files += 1;
        export.bytes += body.len() as u64;
        check_data_md5(entry, &body, report);
        export.items += apply_file(entry, &body, summary.export_type, state, report);
    }
    Ok(export)
}

/// Files a data file's MD5 problem, if any.
fn check_data_md5(entry: &DataFileEntry, body: &[u8], report: &mut ChainReport) {
    let problem = |kind, expected: Option<&String>| ChecksumProblem {
        key: entry.key.clone(),
        kind,
        expected: expected.cloned(),
        actual: Some(md5_base64(body)),
    };
    match &entry.md5 {
        None => report
            .checksum_warnings
            .push(problem(ChecksumKind::Missing, None)),
        Some(expected) if !digest_matches(expected, body) => report
            .checksum_errors
            .push(problem(ChecksumKind::Mismatch, Some(expected))),
        Some(_) => {}
    }
}

/// Gunzips and applies one data file; returns the lines read.
fn apply_file(
    entry: &DataFileEntry,
    body: &[u8],
    export_type: ExportType,
    state: &mut TableState,
    report: &mut ChainReport,
) -> u64 {
    let text = match gunzip(body) {
        Ok(text) => text,
        Err(why) => {
            report.data_errors.push(format!("{}: {why}", entry.key));
            return 0;
        }
    };
    let mut lines = 0u64;
    let mut bad = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        lines += 1;
        let applied = match export_type {
            ExportType::Full => parse_item_line(line).and_then(|item| state.insert_item(item)),
            ExportType::Incremental => parse_change_line(line).and_then(|change| {
                if state.key_attributes().is_none() {
                    let errors = state.set_key_attributes(change.key_names());
                    bad.extend(errors.into_iter().map(|e| format!("full export item: {e}")));
                }
                state.apply_change(change)
            }),
        };
        if let Err(e) = applied {
            bad.push(format!("line {}: {e}", n + 1));
        }
    }
    if let Some(first) = bad.first() {
        let more = bad.len() - 1;
        let tail = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        report
            .data_errors
            .push(format!("{}: {first}{tail}", entry.key));
    }
    if let Some(expected) = entry.item_count.filter(|&c| c != lines) {
        report.warnings.push(format!(
            "{}: manifest says {expected} items, file has {lines} lines",
            entry.key
        ));
    }
    lines
}

/// The text of a gzip file; an empty object is an empty partition.
fn gunzip(body: &[u8]) -> Result<String, String> {
    if body.is_empty() {
        return Ok(String::new());
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(body)
        .read_to_end(&mut out)
        .map_err(|e| format!("not gzip: {e}"))?;
    String::from_utf8(out).map_err(|e| format!("not UTF-8: {e}"))
}
