//! Reading the ledger's catalog as downstream readers do: the current
//! chain is the latest chain's completed full export, then its completed
//! incremental exports in order, each starting where the one before ended.

use super::export::ExportKind;
use super::ledger::{CatalogEntry, CatalogStatus};

/// The current chain, oldest first, from the catalog in any order. Entries
/// that do not continue it (failed attempts, older chains) are left out;
/// it stops at the first break, which a healthy ledger never has.
pub fn current_chain(entries: &[CatalogEntry]) -> Vec<&CatalogEntry> {
    let completed = |e: &&CatalogEntry| e.status == CatalogStatus::Completed;
    let Some(chain) = entries
        .iter()
        .filter(completed)
        .filter(|e| e.kind == ExportKind::Full)
        .map(|e| e.chain)
        .max()
    else {
        return Vec::new();
    };
    let mut of_chain: Vec<&CatalogEntry> = entries
        .iter()
        .filter(completed)
        .filter(|e| e.chain == chain)
        .collect();
    of_chain.sort_by_key(|e| (e.kind == ExportKind::Incremental, e.span.to));
    let mut out: Vec<&CatalogEntry> = Vec::new();
    for e in of_chain {
        match (out.last(), e.kind) {
            (None, ExportKind::Full) => out.push(e),
            (Some(last), ExportKind::Incremental) if e.span.from == Some(last.span.to) => {
                out.push(e)
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export::Span;

    fn entry(chain: u32, kind: ExportKind, from: Option<i64>, to: i64, ok: bool) -> CatalogEntry {
        CatalogEntry {
            chain,
            kind,
            span: Span { from, to },
            attempt: 1,
            export_arn: format!("arn:{chain}:{to}"),
            status: if ok {
                CatalogStatus::Completed
            } else {
                CatalogStatus::Failed
            },
            item_count: 0,
            billed_size_bytes: 0,
            manifest: None,
            started_at: 0,
            start_time: None,
            end_time: None,
            failure_code: None,
            failure_message: None,
            recorded_at: 0,
            announced: true,
            note: None,
        }
    }

    #[test]
    fn the_latest_chains_completed_exports_in_order() {
        use ExportKind::{Full, Incremental};
        let entries = vec![
            entry(2, Incremental, Some(200), 300, true),
            entry(1, Full, None, 0, true),
            entry(1, Incremental, Some(0), 100, true),
            entry(2, Full, None, 100, true),
            entry(2, Incremental, Some(100), 200, false),
            entry(2, Incremental, Some(100), 200, true),
        ];
        let chain: Vec<(u32, i64)> = current_chain(&entries)
            .iter()
            .map(|e| (e.chain, e.span.to))
            .collect();
        assert_eq!(chain, vec![(2, 100), (2, 200), (2, 300)]);
        assert!(current_chain(&[]).is_empty());
    }
}
