//! The chain as the ledger records it: the current chain of the catalog
//! (`incx_core::domain::catalog::current_chain`), each entry naming its
//! export's `manifest-summary.json`. Every manifest the catalog names, of
//! any chain or attempt, is known; an export in S3 that none names is
//! reported as unknown (an operator's export by hand, say), never read.

use std::collections::BTreeSet;

use incx_core::domain::catalog::current_chain;
use incx_core::domain::export::ExportKind;
use incx_core::domain::ledger::{CatalogEntry, CatalogStatus};
use incx_core::ports::Ledger;

/// What the ledger says the chain is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerChain {
    /// The ledger table read.
    pub table: String,
    /// The exports' S3 prefix (given, or taken from the manifests' keys).
    pub prefix: Option<String>,
    /// The current chain's summaries, full export first.
    pub manifests: Vec<String>,
    /// Every summary the catalog names.
    pub known: BTreeSet<String>,
    /// What is wrong with the catalog itself.
    pub problems: Vec<String>,
    /// Where the chain ends (its last export's window end, or the full
    /// export's time), epoch ms; `None` for an empty chain.
    pub end_ms: Option<i64>,
}

/// The chain of `entries` (a catalog in any order) of ledger `table`.
pub fn ledger_chain(table: &str, prefix: Option<&str>, entries: &[CatalogEntry]) -> LedgerChain {
    let chain = current_chain(entries);
    let mut out = LedgerChain {
        table: table.to_string(),
        known: entries.iter().filter_map(|e| e.manifest.clone()).collect(),
        end_ms: chain.last().map(|e| e.span.to.saturating_mul(1000)),
        ..LedgerChain::default()
    };
    for e in &chain {
        match &e.manifest {
            Some(key) => out.manifests.push(key.clone()),
            None => out.problems.push(format!(
                "ledger {table}: export {} is in the chain but its manifest key was never recorded",
                e.export_arn
            )),
        }
    }
    // A completed export of the current chain that does not continue it
    // means the ledger itself has a break.
    if let Some(base) = chain.first() {
        for e in entries.iter().filter(|e| {
            e.chain == base.chain
                && e.status == CatalogStatus::Completed
                && e.kind == ExportKind::Incremental
                && !chain.iter().any(|c| c.export_arn == e.export_arn)
        }) {
            out.problems.push(format!(
                "ledger {table}: export {} ({} to {}) does not continue the chain: a break in the catalog",
                e.export_arn,
                e.span.from.unwrap_or_default(),
                e.span.to
            ));
        }
    }
    out.prefix = prefix
        .map(|p| p.trim_matches('/').to_string())
        .or_else(|| {
            out.manifests.first().and_then(|key| {
                key.find("AWSDynamoDB/")
                    .map(|at| key[..at].trim_end_matches('/').to_string())
            })
        })
        .filter(|p| !p.is_empty());
    out
}

/// Reads the catalog of deployment `alias` from ledger `table`.
pub async fn read_ledger(
    client: aws_sdk_dynamodb::Client,
    table: &str,
    alias: &str,
    prefix: Option<&str>,
) -> Result<LedgerChain, String> {
    let ledger = incx_aws::ledger::DynamoLedger::new(client, table, alias);
    let entries = ledger
        .catalog()
        .await
        .map_err(|e| format!("reading ledger table {table}: {e}"))?;
    Ok(ledger_chain(table, prefix, &entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry as the ledger stores it (fields added later keep their
    /// defaults).
    fn entry(kind: ExportKind, from: Option<i64>, to: i64, manifest: Option<&str>) -> CatalogEntry {
        serde_json::from_value(serde_json::json!({
            "chain": 1, "kind": kind, "from": from, "to": to, "attempt": 1,
            "exportArn": format!("arn:{to}"), "status": "COMPLETED", "itemCount": 0,
            "billedSizeBytes": 0, "manifest": manifest, "startedAt": 0, "startTime": null,
            "endTime": null, "failureCode": null, "failureMessage": null, "recordedAt": 0,
        }))
        .unwrap()
    }

    #[test]
    fn the_current_chain_its_prefix_and_its_problems() {
        use ExportKind::{Full, Incremental};
        let entries = [
            entry(
                Full,
                None,
                0,
                Some("p/q/AWSDynamoDB/1/manifest-summary.json"),
            ),
            entry(
                Incremental,
                Some(0),
                900,
                Some("p/q/AWSDynamoDB/2/manifest-summary.json"),
            ),
            entry(Incremental, Some(900), 1800, None),
            entry(
                Incremental,
                Some(2700),
                3600,
                Some("p/q/AWSDynamoDB/4/manifest-summary.json"),
            ),
        ];
        let chain = ledger_chain("t", None, &entries);
        assert_eq!(chain.prefix.as_deref(), Some("p/q"));
        assert_eq!(chain.manifests.len(), 2);
        assert_eq!(chain.known.len(), 3);
        assert_eq!(
            chain.end_ms,
            Some(1_800_000),
            "ends at its last linked window"
        );
        assert_eq!(chain.problems.len(), 2, "{:?}", chain.problems);
        assert!(chain.problems[0].contains("never recorded"));
        assert!(chain.problems[1].contains("arn:3600"));
        assert_eq!(
            ledger_chain("t", Some("/x/"), &entries).prefix.as_deref(),
            Some("x")
        );
    }
}
