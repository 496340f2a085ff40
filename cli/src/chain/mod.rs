//! The chain reader: finds the exports of a table in S3, checks their
//! checksums, orders them (latest full export, then incremental windows),
//! and applies them into the table state, with a report of what it found.
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
mod manifest;
mod number;
mod plan;
mod read;
mod records;
mod report;
mod s3;
mod state;
mod store;
mod summary;
mod value;

pub use checksum::{digest_matches, md5_base64};
pub use compare::{compare_with_table, Comparison};
pub use discover::{exports_root, ChainSource};
pub use epoch::{format_utc, parse_time, seconds_value};
pub use error::{ChainError, StoreError, ValueError};
pub use manifest::{parse_manifest_files, DataFileEntry};
pub use number::normalize_number;
pub use plan::{plan_chain, Plan};
pub use records::{parse_change_line, parse_item_line, Change};
pub use report::{
    ChainReport, ChecksumKind, ChecksumProblem, ExportReport, IgnoredExport, Window, WindowIssue,
};
pub use s3::S3Store;
pub use state::{key_of, TableState};
pub use store::{MemoryStore, ObjectStore};
pub use summary::{parse_summary, ExportSummary, ExportType};
pub use value::{canonical_attr, canonical_item, Item};

/// How to read a chain.
#[derive(Default, Clone, Copy)]
pub struct ReadOptions<'a> {
    /// The table's key attributes (hash first); inferred when `None`.
    pub key_attributes: Option<&'a [String]>,
    /// Called with a progress line on long work.
    pub progress: Option<&'a (dyn Fn(&str) + Sync)>,
}

/// The table state rebuilt from a chain, and the report of the read.
#[derive(Debug, Clone)]
pub struct ChainResult {
    /// Items by key.
    pub state: TableState,
    /// What was found on the way.
    pub report: ChainReport,
}

/// Reads the chain named by `source` from `store`.
///
/// Fails only when nothing can be verified: the store fails (bucket
/// missing, access denied, network), no export or no full export is found.
/// Everything else (gaps, overlaps, checksum and data problems) is in the
/// report.
pub async fn read_chain<S: ObjectStore>(
    store: &S,
    source: &ChainSource,
    options: ReadOptions<'_>,
) -> Result<ChainResult, ChainError> {
    let progress = |line: &str| {
        if let Some(report) = options.progress {
            report(line);
        }
    };
    let mut report = ChainReport::default();
    let keys = discover::summary_keys(store, source).await?;
    progress(&format!("found {} export summaries", keys.len()));
    let summaries = discover::load_summaries(store, &keys, &mut report).await?;
    let plan = plan_chain(summaries)?;
    report.ignored = plan.ignored;
    report.gaps = plan.gaps;
    report.overlaps = plan.overlaps;

    let mut state = TableState::new(options.key_attributes.map(<[String]>::to_vec));
    let chain: Vec<&ExportSummary> = std::iter::once(&plan.full)
        .chain(&plan.incrementals)
        .collect();
    for (n, summary) in chain.iter().enumerate() {
        progress(&format!(
            "reading export {}/{} {} ({:?}) ...",
            n + 1,
            chain.len(),
            summary.id,
            summary.export_type
        ));
        let export = read::read_export(store, summary, &mut state, &mut report).await?;
        report.bytes += export.bytes;
        report.files += export.files;
        report.exports.push(export);
    }
    if let Some(warning) = state.finish() {
        report.warnings.push(warning);
    }
    report.items = state.len() as u64;
    report.key_attributes = state
        .key_attributes()
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    Ok(ChainResult { state, report })
}
