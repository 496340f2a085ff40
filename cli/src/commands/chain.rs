//! `incx chain`: the current chain as the ledger records it, full export
//! first, one export a line (or a JSON object a line with `--json`, for
//! downstream jobs that load the exports in order).
//!
//! Exit code: 0 listed (an empty chain too), 2 error.

use incx_core::domain::catalog::current_chain;
use incx_core::domain::export::ExportKind;
use incx_core::domain::ledger::CatalogEntry;
use incx_core::domain::timefmt::rfc3339;
use serde::Serialize;

use super::deployment::{Deployment, DeploymentArgs};
use super::{write_stdout, Failure};

#[derive(Debug, clap::Args)]
pub struct ChainCmdArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// One JSON object a line, one line an export.
    #[arg(long)]
    pub json: bool,
}

/// One export of the catalog, as the operator commands show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportView {
    pub chain: u32,
    pub kind: &'static str,
    pub status: &'static str,
    /// RFC 3339; `None` for a full export, which has no start.
    pub from: Option<String>,
    pub to: String,
    pub attempt: u32,
    pub export_arn: String,
    pub items: i64,
    pub billed_bytes: i64,
    pub manifest: Option<String>,
}

impl ExportView {
    pub fn of(e: &CatalogEntry) -> Self {
        Self {
            chain: e.chain,
            kind: match e.kind {
                ExportKind::Full => "FULL",
                ExportKind::Incremental => "INCREMENTAL",
            },
            status: e.status.as_str(),
            from: e.span.from.map(rfc3339),
            to: rfc3339(e.span.to),
            attempt: e.attempt,
            export_arn: e.export_arn.clone(),
            items: e.item_count,
            billed_bytes: e.billed_size_bytes,
            manifest: e.manifest.clone(),
        }
    }

    /// One line of text: kind, window, figures, ARN and manifest.
    pub fn line(&self) -> String {
        format!(
            "{:<11} {:<20} -> {:<20} {:>10} items {:>12} bytes  {}  {}",
            self.kind,
            self.from.as_deref().unwrap_or("(full)"),
            self.to,
            self.items,
            self.billed_bytes,
            self.export_arn,
            self.manifest.as_deref().unwrap_or("(no manifest recorded)"),
        )
    }
}

/// The current chain of `entries` (a catalog in any order), in order.
pub fn chain_views(entries: &[CatalogEntry]) -> Vec<ExportView> {
    current_chain(entries)
        .into_iter()
        .map(ExportView::of)
        .collect()
}

/// The listing: text with a header, or JSON lines.
pub fn render(views: &[ExportView], json: bool) -> Result<String, Failure> {
    let mut out = String::new();
    if json {
        for v in views {
            out.push_str(&serde_json::to_string(v)?);
            out.push('\n');
        }
    } else if views.is_empty() {
        out.push_str("no chain yet: the ledger records no completed full export\n");
    } else {
        out.push_str(&format!(
            "chain {}: {} exports\n",
            views[0].chain,
            views.len()
        ));
        for v in views {
            out.push_str(&v.line());
            out.push('\n');
        }
    }
    Ok(out)
}

pub async fn run(args: ChainCmdArgs) -> Result<(), Failure> {
    let deployment = Deployment::open(&args.deployment).await;
    let entries = deployment.catalog().await?;
    write_stdout(&render(&chain_views(&entries), args.json)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog entry as the ledger stores it.
    fn entry(kind: ExportKind, from: Option<i64>, to: i64, status: &str) -> CatalogEntry {
        serde_json::from_value(serde_json::json!({
            "chain": 1, "kind": kind, "from": from, "to": to, "attempt": 1,
            "exportArn": format!("arn:{to}"), "status": status, "itemCount": 3,
            "billedSizeBytes": 100, "manifest": format!("p/AWSDynamoDB/{to}/manifest-summary.json"),
            "startedAt": 0, "startTime": null, "endTime": null, "failureCode": null,
            "failureMessage": null, "recordedAt": 0,
        }))
        .unwrap()
    }

    #[test]
    fn lists_the_current_chain_in_order_without_failed_attempts() {
        use ExportKind::{Full, Incremental};
        let entries = [
            entry(Incremental, Some(900), 1800, "COMPLETED"),
            entry(Full, None, 0, "COMPLETED"),
            entry(Incremental, Some(0), 900, "FAILED"),
            entry(Incremental, Some(0), 900, "COMPLETED"),
        ];
        let views = chain_views(&entries);
        let ends: Vec<_> = views.iter().map(|v| v.to.as_str()).collect();
        assert_eq!(
            ends,
            [
                "1970-01-01T00:00:00Z",
                "1970-01-01T00:15:00Z",
                "1970-01-01T00:30:00Z"
            ]
        );
        assert!(views.iter().all(|v| v.status == "COMPLETED"));

        let lines = render(&views, true).unwrap();
        let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
        assert_eq!(first["kind"], "FULL");
        assert_eq!(first["from"], serde_json::Value::Null);
        assert_eq!(first["manifest"], "p/AWSDynamoDB/0/manifest-summary.json");
        assert_eq!(lines.lines().count(), 3);

        let text = render(&views, false).unwrap();
        assert!(text.starts_with("chain 1: 3 exports\n"), "{text}");
        assert!(text.contains("arn:1800"));
        assert!(render(&[], false).unwrap().contains("no chain yet"));
        assert_eq!(render(&[], true).unwrap(), "");
    }
}
