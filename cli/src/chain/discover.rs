//! Finding the exports: from the ledger's catalog, by listing
//! `[prefix/]AWSDynamoDB/` for `<ExportId>/manifest-summary.json`, or from
//! an explicit list of summary keys; then loading and checksum-checking
//! each summary. With the ledger, the listing still runs, to report the
//! exports under the prefix that the ledger does not know.

use super::checksum::{verify_manifest, ManifestChecksum};
use super::error::{ChainError, StoreError};
use super::ledger::LedgerChain;
use super::report::{ChainReport, ChecksumKind, ChecksumProblem, UnknownExport};
use super::store::ObjectStore;
use super::summary::{parse_summary, ExportSummary, SUMMARY_FILE};

/// Where the exports' summaries come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainSource {
    /// List the bucket under `[prefix/]AWSDynamoDB/`.
    Discover {
        /// The exports' S3 prefix, if any.
        prefix: Option<String>,
    },
    /// These `manifest-summary.json` keys.
    Manifests(Vec<String>),
    /// The current chain of the ledger's catalog.
    Ledger(LedgerChain),
}

impl ChainSource {
    /// What the report calls this source.
    pub fn describe(&self) -> String {
        match self {
            Self::Discover { prefix } => format!("listing of {}", exports_root(prefix.as_deref())),
            Self::Manifests(keys) => format!("{} manifest(s) given", keys.len()),
            Self::Ledger(ledger) => format!("ledger table {}", ledger.table),
        }
    }
}

/// `[prefix/]AWSDynamoDB/` for an optional prefix.
pub fn exports_root(prefix: Option<&str>) -> String {
    match prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(p) => format!("{p}/AWSDynamoDB/"),
        None => "AWSDynamoDB/".to_string(),
    }
}

/// The summary keys named by `source`.
pub async fn summary_keys<S: ObjectStore>(
    store: &S,
    source: &ChainSource,
) -> Result<Vec<String>, ChainError> {
    match source {
        ChainSource::Manifests(keys) if keys.is_empty() => {
            Err(ChainError::NoExports("the given manifest list".into()))
        }
        ChainSource::Manifests(keys) => Ok(keys.clone()),
        ChainSource::Ledger(ledger) if ledger.manifests.is_empty() => Err(ChainError::NoExports(
            format!("the current chain of ledger table {}", ledger.table),
        )),
        ChainSource::Ledger(ledger) => Ok(ledger.manifests.clone()),
        ChainSource::Discover { prefix } => {
            let root = exports_root(prefix.as_deref());
            let keys: Vec<String> = store
                .list(&root)
                .await?
                .into_iter()
                .filter(|key| is_summary_key(&root, key))
                .collect();
            if keys.is_empty() {
                return Err(ChainError::NoExports(root));
            }
            Ok(keys)
        }
    }
}

/// The exports under the ledger's prefix that its catalog does not name.
/// A bucket that may not be listed only loses this check.
pub async fn unknown_exports<S: ObjectStore>(
    store: &S,
    ledger: &LedgerChain,
) -> Result<Vec<UnknownExport>, ChainError> {
    let root = exports_root(ledger.prefix.as_deref());
    let listed = match store.list(&root).await {
        Ok(keys) => keys,
        Err(StoreError::AccessDenied(_)) => return Ok(Vec::new()),
        Err(other) => return Err(other.into()),
    };
    let mut out = Vec::new();
    for key in listed
        .into_iter()
        .filter(|k| is_summary_key(&root, k) && !ledger.known.contains(k))
    {
        let summary = match store.get(&key).await {
            Ok(bytes) => parse_summary(&key, &bytes).ok(),
            Err(StoreError::NotFound(_)) => None,
            Err(other) => return Err(other.into()),
        };
        let id = key
            .strip_prefix(&root)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_string();
        out.push(UnknownExport {
            summary_key: key,
            id,
            export_type: summary.as_ref().map(|s| s.export_type),
            time: summary.and_then(|s| s.window()).map(|(_, to)| to),
        });
    }
    Ok(out)
}

/// `root<id>/manifest-summary.json`, with exactly one folder level.
fn is_summary_key(root: &str, key: &str) -> bool {
    key.strip_prefix(root)
        .and_then(|rest| rest.strip_suffix(SUMMARY_FILE))
        .and_then(|folder| folder.strip_suffix('/'))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Loads each summary, checks its checksum and parses it. Missing or
/// malformed summaries become data errors; other store failures are fatal.
pub async fn load_summaries<S: ObjectStore>(
    store: &S,
    keys: &[String],
    report: &mut ChainReport,
    allow_missing: bool,
) -> Result<Vec<ExportSummary>, ChainError> {
    let mut summaries = Vec::with_capacity(keys.len());
    for key in keys {
        let bytes = match store.get(key).await {
            Ok(bytes) => bytes,
            Err(StoreError::NotFound(_)) => {
                report.data_errors.push(format!("{key}: summary not found"));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let outcome = verify_manifest(store, key, &bytes).await?;
        record_manifest_checksum(outcome, key, report, allow_missing);
        match parse_summary(key, &bytes) {
            Ok(summary) => summaries.push(summary),
            Err(why) => report.data_errors.push(format!("{key}: {why}")),
        }
    }
    Ok(summaries)
}

/// Files a manifest's checksum outcome in the report: a missing one is an
/// error unless `allow_missing`.
pub(crate) fn record_manifest_checksum(
    outcome: ManifestChecksum,
    json_key: &str,
    report: &mut ChainReport,
    allow_missing: bool,
) {
    match outcome {
        ManifestChecksum::Valid { .. } => {}
        ManifestChecksum::Missing => report.missing_checksum(
            ChecksumProblem {
                key: json_key.to_string(),
                kind: ChecksumKind::Missing,
                expected: None,
                actual: None,
            },
            allow_missing,
        ),
        ManifestChecksum::Mismatch {
            key,
            expected,
            actual,
        } => report.checksum_errors.push(ChecksumProblem {
            key,
            kind: ChecksumKind::Mismatch,
            expected: Some(expected),
            actual: Some(actual),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_roots_and_recognises_summary_keys() {
        assert_eq!(exports_root(None), "AWSDynamoDB/");
        assert_eq!(exports_root(Some("")), "AWSDynamoDB/");
        assert_eq!(exports_root(Some("/a/b/")), "a/b/AWSDynamoDB/");
        let root = "p/AWSDynamoDB/";
        assert!(is_summary_key(
            root,
            "p/AWSDynamoDB/017-ab/manifest-summary.json"
        ));
        assert!(!is_summary_key(root, "p/AWSDynamoDB/manifest-summary.json"));
        assert!(!is_summary_key(
            root,
            "p/AWSDynamoDB/a/b/manifest-summary.json"
        ));
        assert!(!is_summary_key(
            root,
            "p/AWSDynamoDB/017-ab/manifest-files.json"
        ));
    }
}
