//! The result of `incx verify`: the chain report plus the table comparison,
//! as JSON (`--json`) or as a readable text report.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::chain::{
    exports_root, format_utc, seconds_value, ChainReport, ChecksumKind, Comparison, ExportType,
    WindowIssue,
};

/// How many keys of each kind of difference are shown.
pub const FIRST_KEYS: usize = 5;

/// One kind of difference: how many, and the first few keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DifferenceList {
    /// Number of items.
    pub count: u64,
    /// The first keys, as DynamoDB JSON.
    pub first: Vec<Value>,
}

/// Differences between the chain's state and the live table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Differences {
    /// In the chain, not in the table.
    pub missing: DifferenceList,
    /// In the table, not in the chain.
    pub extra: DifferenceList,
    /// On both sides, with different attributes.
    pub different: DifferenceList,
}

/// Everything `incx verify` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyOutput {
    /// The bucket read.
    pub bucket: String,
    /// Where the exports were looked for.
    pub exports_root: String,
    /// The table compared, if any.
    pub table: Option<String>,
    /// The chain's report (exports, items, bytes, gaps, overlaps, ...).
    #[serde(flatten)]
    pub report: ChainReport,
    /// The chain's windows `[from, to]` in epoch seconds (a full export is
    /// `[exportTime, exportTime]`).
    pub windows: Vec<[Value; 2]>,
    /// Distinct keys compared with the table (0 without `--table`).
    pub items_compared: u64,
    /// Missing, extra and different items (0 without `--table`).
    pub item_differences: u64,
    /// The differences in detail, with `--table`.
    pub differences: Option<Differences>,
    /// With `incx audit`: the full export the chain was compared with,
    /// instead of a scan of the live table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_export: Option<String>,
    /// No gap, overlap, checksum error, data error or difference.
    pub ok: bool,
}

impl VerifyOutput {
    /// Puts a chain report and an optional comparison together.
    pub fn new(
        bucket: &str,
        prefix: Option<&str>,
        table: Option<&str>,
        report: ChainReport,
        comparison: Option<&Comparison>,
    ) -> Self {
        let windows = report
            .windows()
            .into_iter()
            .map(|(from, to)| [seconds_value(from), seconds_value(to)])
            .collect();
        let differences = comparison.map(|c| Differences {
            missing: first_keys(c.missing_count, &c.missing),
            extra: first_keys(c.extra_count, &c.extra),
            different: first_keys(c.different_count, &c.different),
        });
        let item_differences = comparison.map_or(0, Comparison::differences);
        let ok = report.is_clean() && item_differences == 0;
        Self {
            bucket: bucket.to_string(),
            exports_root: exports_root(prefix),
            table: table.map(str::to_string),
            windows,
            items_compared: comparison.map_or(0, |c| c.compared),
            item_differences,
            differences,
            audit_export: None,
            ok,
            report,
        }
    }

    /// The readable report.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let r = &self.report;
        let keys = if r.key_attributes.is_empty() {
            "unknown".to_string()
        } else {
            r.key_attributes.join(", ")
        };
        let _ = writeln!(
            out,
            "Chain in s3://{}/{} from the {} (key attributes: {keys})",
            self.bucket, self.exports_root, r.source
        );
        let _ = writeln!(
            out,
            "  {:>3}  {:<26} {:<12} {:<14} {:<20}  {:<20}  {:>10} {:>12} {:>6}",
            "#", "export", "type", "format", "from (UTC)", "to (UTC)", "items", "bytes", "files"
        );
        for (n, e) in r.exports.iter().enumerate() {
            let (kind, from) = match e.export_type {
                ExportType::Full => ("full", "-".to_string()),
                ExportType::Incremental => ("incremental", format_utc(e.from)),
            };
            let _ = writeln!(
                out,
                "  {:>3}  {:<26} {:<12} {:<14} {:<20}  {:<20}  {:>10} {:>12} {:>6}",
                n + 1,
                e.id,
                kind,
                e.format,
                from,
                format_utc(e.to),
                e.items,
                e.bytes,
                e.files
            );
        }
        let _ = writeln!(
            out,
            "Total: {} exports, {} bytes in {} files; {} items in the rebuilt table",
            r.exports.len(),
            r.bytes,
            r.files,
            r.items
        );
        if !r.unknown_exports.is_empty() {
            let _ = writeln!(
                out,
                "Exports the ledger does not know (not read) : {}",
                r.unknown_exports.len()
            );
            for u in &r.unknown_exports {
                let kind = match u.export_type {
                    Some(ExportType::Full) => "full export",
                    Some(ExportType::Incremental) => "incremental export",
                    None => "unreadable summary",
                };
                let time = u.time.map(format_utc).unwrap_or_default();
                let _ = writeln!(out, "  {} ({kind} {time}): {}", u.id, u.summary_key);
            }
        }
        if !r.ignored.is_empty() {
            let _ = writeln!(out, "Ignored {} export(s):", r.ignored.len());
            for i in &r.ignored {
                let _ = writeln!(out, "  {}: {}", i.id, i.reason);
            }
        }
        section(
            &mut out,
            "Gaps",
            r.gaps.iter().map(|g| window_issue(g, "gap")),
        );
        section(
            &mut out,
            "Overlaps",
            r.overlaps.iter().map(|o| window_issue(o, "overlap")),
        );
        section(
            &mut out,
            "Checksum errors",
            r.checksum_errors.iter().map(|c| match c.kind {
                ChecksumKind::Missing => format!("{}: no checksum to check it with", c.key),
                ChecksumKind::Mismatch => format!(
                    "{}: expected {}, got {}",
                    c.key,
                    c.expected.as_deref().unwrap_or("?"),
                    c.actual.as_deref().unwrap_or("?")
                ),
            }),
        );
        if !r.checksum_warnings.is_empty() {
            section(
                &mut out,
                "Missing checksums (allowed by --allow-missing-checksums)",
                r.checksum_warnings.iter().map(|c| c.key.clone()),
            );
        }
        section(
            &mut out,
            "Count errors",
            r.count_errors.iter().map(|c| {
                format!(
                    "{}: {} says {} lines, {} read",
                    c.of, c.manifest, c.expected, c.actual
                )
            }),
        );
        if !r.data_errors.is_empty() {
            section(&mut out, "Data errors", r.data_errors.iter().cloned());
        }
        if !r.warnings.is_empty() {
            section(&mut out, "Warnings", r.warnings.iter().cloned());
        }
        if let (Some(table), Some(d)) = (&self.table, &self.differences) {
            let side = if let Some(export) = &self.audit_export {
                let _ = writeln!(
                    out,
                    "Table {table}, full export {export}: {} keys compared, {} differences",
                    self.items_compared, self.item_differences
                );
                "the export"
            } else {
                let _ = writeln!(
                    out,
                    "Table {table}: {} keys compared, {} differences (the table is read now: writes after the last export show as differences)",
                    self.items_compared, self.item_differences
                );
                "table"
            };
            for (name, list) in [
                (format!("missing from {side}"), &d.missing),
                (format!("extra in {side}"), &d.extra),
                ("different".to_string(), &d.different),
            ] {
                if list.count > 0 {
                    let shown: Vec<String> = list.first.iter().map(Value::to_string).collect();
                    let _ = writeln!(
                        out,
                        "  {name}: {} (first: {})",
                        list.count,
                        shown.join(", ")
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "Result: {}",
            if self.ok { "OK" } else { "PROBLEMS FOUND" }
        );
        out
    }
}

fn first_keys(count: u64, keys: &[String]) -> DifferenceList {
    DifferenceList {
        count,
        first: keys
            .iter()
            .take(FIRST_KEYS)
            .map(|k| serde_json::from_str(k).unwrap_or_else(|_| Value::String(k.clone())))
            .collect(),
    }
}

fn window_issue(issue: &WindowIssue, what: &str) -> String {
    let (p, n) = (&issue.previous, &issue.next);
    let seconds = (n.from - p.to).abs() as f64 / 1000.0;
    format!(
        "{what} of {seconds} s: {} [{} .. {}) then {} [{} .. {})",
        p.id,
        format_utc(p.from),
        format_utc(p.to),
        n.id,
        format_utc(n.from),
        format_utc(n.to)
    )
}

fn section(out: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let lines: Vec<String> = lines.collect();
    if lines.is_empty() {
        let _ = writeln!(out, "{title}: none");
    } else {
        let _ = writeln!(out, "{title}: {}", lines.len());
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
}
