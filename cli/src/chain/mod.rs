//! The chain reader: finds the exports of a table (from the ledger, by
//! listing the bucket, or as given), checks their checksums and counts,
//! orders them (latest full export, then incremental windows), and applies
//! them into the table state, with a report of what it found.
//!
//! The data files are streamed and read several at once; each record goes
//! into a [`StateBuilder`] in a compact form, where for each key the latest
//! export and, inside it, the latest `WriteTimestampMicros` wins. Past its
//! memory budget the state goes to local disk, partition by partition.
//!
//! ```no_run
//! # async fn demo(store: incx_cli::chain::MemoryStore) -> Result<(), incx_cli::chain::ChainError> {
//! use incx_cli::chain::{read_chain, ChainSource, ReadOptions};
//! let source = ChainSource::Discover { prefix: Some("exports".into()) };
//! let result = read_chain(&store, &source, ReadOptions::default()).await?;
//! println!("{} items, clean: {}", result.state.len(), result.report.is_clean());
//! # Ok(()) }
//! ```

mod checksum;
mod compare;
mod discover;
mod epoch;
mod error;
pub mod ion;
pub mod item;
mod ledger;
mod manifest;
mod number;
pub mod parse;
mod pipeline;
mod plan;
mod read;
mod report;
mod s3;
mod spill;
mod state;
mod store;
mod summary;

use std::path::PathBuf;
use std::sync::Arc;

pub use checksum::{digest_matches, md5_base64};
pub use compare::{compare_states, compare_with_table, Comparison, FIRST_KEYS_KEPT};
pub use discover::{exports_root, ChainSource};
pub use epoch::{format_utc, parse_time, seconds_value};
pub use error::{ChainError, StoreError, ValueError};
pub use ledger::{ledger_chain, read_ledger, LedgerChain};
pub use manifest::{parse_manifest_files, DataFileEntry};
pub use number::normalize_number;
pub use pipeline::KeySpec;
pub use plan::{plan_chain, Plan};
pub use report::{
    ChainReport, ChecksumKind, ChecksumProblem, CountMismatch, ExportReport, IgnoredExport,
    UnknownExport, Window, WindowIssue,
};
pub use s3::S3Store;
pub use state::{key_hash, Slice, StateBuilder, StateCursor, TableState, Version};
pub use store::{Body, LocalStore, MemoryStore, ObjectStore};
pub use summary::{parse_summary, ExportSummary, ExportType};

/// The memory budget when none is given: about 1 GB.
pub const DEFAULT_BUDGET: usize = 1 << 30;

/// How to read a chain.
#[derive(Default, Clone, Copy)]
pub struct ReadOptions<'a> {
    /// The table's key attributes (hash first); inferred when `None`.
    pub key_attributes: Option<&'a [String]>,
    /// Called with a progress line on long work.
    pub progress: Option<&'a (dyn Fn(&str) + Sync)>,
    /// Bytes of state kept in memory before spilling to disk
    /// (default [`DEFAULT_BUDGET`]).
    pub budget: Option<usize>,
    /// Where spilled state goes (default: the system's temporary folder).
    pub spill_dir: Option<&'a std::path::Path>,
    /// Missing checksums are warnings instead of errors.
    pub allow_missing_checksums: bool,
    /// The table at this window boundary (epoch ms) instead of at the end.
    pub until: Option<i64>,
    /// Data files read at once (default: the cores, plus one).
    pub parallel: Option<usize>,
    /// Only this part of the keys (every file is still read and checked).
    pub slice: Option<Slice>,
}

/// The table state rebuilt from a chain, and the report of the read.
#[derive(Debug)]
pub struct ChainResult {
    /// Items by key.
    pub state: TableState,
    /// What was found on the way.
    pub report: ChainReport,
}

/// Where the windows of `plan` end: the full export's time, then each
/// incremental export's end, epoch ms.
pub fn boundaries(plan: &Plan) -> Vec<i64> {
    std::iter::once(&plan.full)
        .chain(&plan.incrementals)
        .filter_map(|s| s.window().map(|(_, to)| to))
        .collect()
}

/// Reads the chain named by `source` from `store`.
///
/// Fails only when nothing can be verified: the store fails (bucket
/// missing, access denied, network), no export or no full export is found,
/// `until` is not a boundary, or local disk fails. Everything else (gaps,
/// overlaps, checksum, count and data problems) is in the report.
pub async fn read_chain<S: ObjectStore>(
    store: &S,
    source: &ChainSource,
    options: ReadOptions<'_>,
) -> Result<ChainResult, ChainError> {
    let quiet = |_: &str| {};
    let progress: &(dyn Fn(&str) + Sync) = options.progress.unwrap_or(&quiet);
    let allow_missing = options.allow_missing_checksums;
    let mut report = ChainReport {
        source: source.describe(),
        ..ChainReport::default()
    };
    let keys = discover::summary_keys(store, source).await?;
    progress(&format!("found {} export summaries", keys.len()));
    let summaries = discover::load_summaries(store, &keys, &mut report, allow_missing).await?;
    if let ChainSource::Ledger(ledger) = source {
        report.data_errors.extend(ledger.problems.iter().cloned());
        report.unknown_exports = discover::unknown_exports(store, ledger).await?;
    }
    let mut plan = plan_chain(summaries)?;
    if let Some(at) = options.until {
        cut_at(&mut plan, at)?;
    }
    report.ignored = std::mem::take(&mut plan.ignored);
    report.gaps = std::mem::take(&mut plan.gaps);
    report.overlaps = std::mem::take(&mut plan.overlaps);

    let mut exports = Vec::with_capacity(plan.incrementals.len() + 1);
    for summary in std::iter::once(plan.full).chain(plan.incrementals) {
        exports.push(read::load_export(store, summary, &mut report, allow_missing).await?);
    }
    let key_attributes = match options.key_attributes.filter(|k| !k.is_empty()) {
        Some(given) => Some(given.to_vec()),
        None => infer_key_attributes(store, &exports).await?,
    };

    // Every file of every export, the largest first so that the last to
    // finish are small ones.
    let mut jobs = Vec::new();
    for (place, export) in exports.iter().enumerate() {
        let Some(format) = export.format else {
            continue;
        };
        for (n, entry) in export.files.iter().enumerate() {
            let job = pipeline::FileJob {
                key: entry.key.clone(),
                export: u32::try_from(place).unwrap_or(u32::MAX),
                export_type: export.summary.export_type,
                format,
            };
            jobs.push(((place, n), entry.item_count.unwrap_or(0), job));
        }
    }
    jobs.sort_by_key(|(_, count, _)| std::cmp::Reverse(*count));
    progress(&format!(
        "reading {} exports: {} data files ...",
        exports.len(),
        jobs.len()
    ));
    let builder = Arc::new(
        StateBuilder::new(
            options.budget.unwrap_or(DEFAULT_BUDGET),
            options.spill_dir.map(PathBuf::from),
        )
        .with_slice(options.slice),
    );
    let keyspec = Arc::new(KeySpec::new(key_attributes.as_deref()));
    let parallel = options.parallel.unwrap_or_else(default_parallel);
    let file_jobs: Vec<pipeline::FileJob> = jobs.iter().map(|(_, _, j)| j.clone()).collect();
    let outcomes =
        pipeline::read_files(store, &file_jobs, &keyspec, &builder, parallel, progress).await?;
    let mut by_export: Vec<Vec<Option<pipeline::FileOutcome>>> =
        exports.iter().map(|e| vec![None; e.files.len()]).collect();
    for (((place, n), _, _), outcome) in jobs.iter().zip(outcomes) {
        if let Some(slot) = by_export.get_mut(*place).and_then(|v| v.get_mut(*n)) {
            *slot = Some(outcome);
        }
    }
    for (export, outcomes) in exports.iter().zip(by_export) {
        let outcomes: Vec<pipeline::FileOutcome> = outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(StoreError::Other("not read".into()))))
            .collect();
        let line = read::check_export(export, &outcomes, &mut report, allow_missing);
        report.bytes += line.bytes;
        report.files += line.files;
        report.exports.push(line);
    }

    let builder = Arc::try_unwrap(builder)
        .map_err(|_| ChainError::Io("the state is still shared after reading".into()))?;
    if builder.spilled() {
        progress("rebuilding the state from local disk, partition by partition ...");
    }
    let (mut state, ties) = builder
        .finish()
        .map_err(|e| ChainError::Io(format!("rebuilding the state from local disk: {e}")))?;
    for (place, key) in &ties.first {
        let export = exports
            .get(*place as usize)
            .map_or("?", |e| e.summary.id.as_str());
        let key = item::item_json(key).unwrap_or_else(|e| e.to_string());
        report.data_errors.push(format!(
            "export {export}: key {key} has two records with the same WriteTimestampMicros (or twice in a full export); either may be right"
        ));
    }
    if ties.count > ties.first.len() as u64 {
        report.data_errors.push(format!(
            "{} more keys with two records of the same version",
            ties.count - ties.first.len() as u64
        ));
    }
    if key_attributes.is_none() {
        report.warnings.push("key attributes unknown (no --key-attributes, no --table, no change lines): items keyed by their whole content".into());
    }
    state.set_key_attributes(key_attributes.clone());
    report.items = state.len() as u64;
    report.key_attributes = key_attributes.unwrap_or_default();
    Ok(ChainResult { state, report })
}

/// The cores, plus one file being fetched while the others are read.
pub fn default_parallel() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) + 1
}

/// Keeps the exports up to the boundary `at` (epoch ms), or says which
/// boundaries there are.
fn cut_at(plan: &mut Plan, at: i64) -> Result<(), ChainError> {
    let all = boundaries(plan);
    if !all.contains(&at) {
        return Err(ChainError::NotABoundary {
            at: format_utc(at),
            boundaries: all
                .iter()
                .map(|&b| format_utc(b))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    plan.incrementals
        .retain(|s| s.window().is_some_and(|(_, to)| to <= at));
    let last = plan.incrementals.last().and_then(ExportSummary::window);
    let end = last.map_or(at, |(_, to)| to);
    plan.gaps.retain(|g| g.next.to <= end);
    plan.overlaps.retain(|o| o.next.to <= end);
    Ok(())
}

/// The key attribute names of the first change line of the chain, if any.
async fn infer_key_attributes<S: ObjectStore>(
    store: &S,
    exports: &[read::Export],
) -> Result<Option<Vec<String>>, ChainError> {
    for export in exports
        .iter()
        .filter(|e| e.summary.export_type == ExportType::Incremental)
    {
        let Some(format) = export.format else {
            continue;
        };
        for entry in export.files.iter().filter(|f| f.item_count != Some(0)) {
            let body = match store.open(&entry.key).await {
                Ok(body) => body,
                Err(StoreError::NotFound(_)) => continue,
                Err(other) => return Err(other.into()),
            };
            let names =
                tokio::task::spawn_blocking(move || pipeline::first_key_names(body, format))
                    .await
                    .map_err(|e| ChainError::Io(e.to_string()))?;
            // A file that cannot be read is reported when it is read.
            if let Ok(Some(names)) = names {
                return Ok(Some(names));
            }
        }
    }
    Ok(None)
}

/// The DynamoDB JSON text of `item`'s key for `attributes` (sorted by
/// name), as the report shows keys.
pub fn key_of(item: &serde_json::Value, attributes: &[String]) -> Result<String, ValueError> {
    let mut encoded = Vec::new();
    parse::LineParser::new().full_line(
        serde_json::json!({ "Item": item }).to_string().as_bytes(),
        &mut encoded,
    )?;
    let mut key = Vec::new();
    item::project_key(
        &encoded,
        &KeySpec::new(Some(attributes)).0.unwrap_or_default(),
        &mut key,
    )?;
    item::item_json(&key)
}
