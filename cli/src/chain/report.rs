//! What reading a chain found: per export, totals, gaps, overlaps,
//! checksum problems, data errors and warnings. Times are epoch ms inside
//! and serialise as epoch seconds.

use serde::Serialize;

use super::epoch::serialize_seconds;
use super::summary::ExportType;

/// One export of the chain as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Export id.
    pub id: String,
    /// Full or incremental.
    #[serde(rename = "type")]
    pub export_type: ExportType,
    /// Window start (a full export's `exportTime`), epoch ms.
    #[serde(serialize_with = "serialize_seconds")]
    pub from: i64,
    /// Window end (exclusive; a full export's `exportTime`), epoch ms.
    #[serde(serialize_with = "serialize_seconds")]
    pub to: i64,
    /// `outputView` of an incremental export.
    pub output_view: Option<String>,
    /// `outputFormat` (`DYNAMODB_JSON` or `ION`: both are read).
    pub format: String,
    /// Lines read: items of a full export, changes of an incremental one.
    pub items: u64,
    /// Gzip bytes of its data files.
    pub bytes: u64,
    /// Data files read.
    pub files: u64,
}

/// An export's window, as named in a gap or an overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Export id.
    pub id: String,
    /// Start, epoch ms.
    #[serde(serialize_with = "serialize_seconds")]
    pub from: i64,
    /// End (exclusive), epoch ms.
    #[serde(serialize_with = "serialize_seconds")]
    pub to: i64,
}

/// Two consecutive windows that do not meet: a gap when `next.from` is
/// after `previous.to`, an overlap when it is before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowIssue {
    /// The window before.
    pub previous: Window,
    /// The window after.
    pub next: Window,
}

/// An export found but not part of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredExport {
    /// Export id.
    pub id: String,
    /// Full or incremental.
    #[serde(rename = "type")]
    pub export_type: ExportType,
    /// Why it was left out.
    pub reason: String,
}

/// What is wrong with a checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumKind {
    /// No checksum to compare with (an error, or a warning with
    /// `--allow-missing-checksums`).
    Missing,
    /// The bytes do not have the MD5 recorded for them (an error).
    Mismatch,
}

/// A checksum problem of a manifest or a data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecksumProblem {
    /// The object checked.
    pub key: String,
    /// Missing or mismatching.
    pub kind: ChecksumKind,
    /// The recorded digest, when there is one.
    pub expected: Option<String>,
    /// Base64 MD5 of the bytes read, when it was computed.
    pub actual: Option<String>,
}

/// A count the service recorded that the lines read do not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountMismatch {
    /// The manifest that gives the count (`manifest-files.json` for a data
    /// file's, `manifest-summary.json` for an export's).
    pub manifest: String,
    /// The data file, or the export id.
    pub of: String,
    /// The count recorded.
    pub expected: u64,
    /// The lines read.
    pub actual: u64,
}

/// An export in S3 that the ledger does not know: reported, not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownExport {
    /// Its `manifest-summary.json`.
    pub summary_key: String,
    /// Export id.
    pub id: String,
    /// Full or incremental, when its summary could be read.
    #[serde(rename = "type")]
    pub export_type: Option<ExportType>,
    /// Its time (a full export's) or window end, epoch ms.
    pub time: Option<i64>,
}

/// The report of one chain read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The chain in order: the full export first.
    pub exports: Vec<ExportReport>,
    /// Where the chain came from: the ledger table, a listing, or a list.
    pub source: String,
    /// Exports found but left out (older full exports, older chain).
    pub ignored: Vec<IgnoredExport>,
    /// Exports under the prefix that the ledger does not know (e.g. a full
    /// export made by hand): reported, not read.
    pub unknown_exports: Vec<UnknownExport>,
    /// Key attributes used (given, described, or inferred).
    pub key_attributes: Vec<String>,
    /// Items in the resulting table state.
    pub items: u64,
    /// Gzip bytes of all data files read.
    pub bytes: u64,
    /// Data files read.
    pub files: u64,
    /// Gaps between consecutive windows.
    pub gaps: Vec<WindowIssue>,
    /// Overlaps between consecutive windows.
    pub overlaps: Vec<WindowIssue>,
    /// Wrong checksums (errors).
    pub checksum_errors: Vec<ChecksumProblem>,
    /// Missing checksums allowed by `--allow-missing-checksums`.
    pub checksum_warnings: Vec<ChecksumProblem>,
    /// Item counts in the manifests that the lines read do not match.
    pub count_errors: Vec<CountMismatch>,
    /// Unreadable or missing manifests and data files, malformed lines.
    pub data_errors: Vec<String>,
    /// Anything else worth a look that does not fail verification.
    pub warnings: Vec<String>,
}

impl ChainReport {
    /// Whether the chain is complete and intact: no gap, overlap, checksum
    /// error, count error or data error.
    pub fn is_clean(&self) -> bool {
        self.gaps.is_empty()
            && self.overlaps.is_empty()
            && self.checksum_errors.is_empty()
            && self.count_errors.is_empty()
            && self.data_errors.is_empty()
    }

    /// Files a missing checksum: an error, or a warning when allowed.
    pub fn missing_checksum(&mut self, problem: ChecksumProblem, allowed: bool) {
        if allowed {
            self.checksum_warnings.push(problem);
        } else {
            self.checksum_errors.push(problem);
        }
    }

    /// The windows of the chain's exports, in order, epoch ms.
    pub fn windows(&self) -> Vec<(i64, i64)> {
        self.exports.iter().map(|e| (e.from, e.to)).collect()
    }
}
