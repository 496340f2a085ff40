//! `incx audit`: the chain checked against DynamoDB itself. It asks for a
//! full export at exactly the chain's end (PITR makes any recent second
//! exportable), states what that costs and asks before spending, waits for
//! it, and compares the chain's state with it item for item with the same
//! reader. Unlike `verify --table`, writes after the chain's end cannot show
//! up as differences, so on a table in use a clean chain comes out clean.
//!
//! Exit code: 0 clean, 1 differences (or a chain with problems), 2 error.

use std::time::Duration;

use super::verify::{Bucket, ChainArgs};
use super::{confirm, progress, write_stdout, Failure};
use crate::audit::{describe, start_export, wait_export, ExportAsk};
use crate::chain::{compare_states, format_utc, read_chain, ChainResult, ChainSource};
use crate::output::VerifyOutput;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// The table the chain exports.
    #[arg(long)]
    pub table: String,
    /// Ask for the export without asking first.
    #[arg(long)]
    pub yes: bool,
    /// Compare with this full export (its manifest-summary.json key in the
    /// bucket) instead of asking for a new one, e.g. after a timeout.
    #[arg(long)]
    pub export_manifest: Option<String>,
    /// Prefix for the audit's export in the bucket (default: the chain's
    /// prefix followed by /audit), apart from the chain's exports.
    #[arg(long)]
    pub audit_prefix: Option<String>,
    /// Seconds between two looks at the export's progress.
    #[arg(long, default_value_t = 30)]
    pub poll_seconds: u64,
    /// Minutes to wait for the export (large tables take hours).
    #[arg(long, default_value_t = 360)]
    pub wait_minutes: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: AuditArgs) -> Result<(), Failure> {
    let open = args.chain.open().await?;
    let keys = args
        .chain
        .key_attributes(&open.sdk, Some(&args.table))
        .await?;
    // Two states at once: the chain's and the export's share the budget.
    let budget = args.chain.memory_budget / 2;
    let options = args.chain.options(keys.as_deref(), budget);
    let ChainResult { state, report } = read_chain(&open.bucket, &open.source, options).await?;
    let end = report
        .windows()
        .last()
        .map(|&(_, to)| to)
        .ok_or_else(|| Failure::Error("the chain has no export".into()))?;
    let mut output = VerifyOutput::new(
        &open.bucket.name(),
        args.chain.prefix.as_deref(),
        Some(&args.table),
        report,
        None,
    );
    if !output.ok {
        // A broken chain's state is wrong already; no export is worth it.
        progress("the chain has problems: no export asked for");
        return finish(&output, args.json);
    }

    let manifest = match &args.export_manifest {
        Some(key) => key.clone(),
        None => {
            let Bucket::S3(s3) = &open.bucket else {
                return Err(Failure::Error(
                    "the export goes to S3: give --bucket (or --export-manifest with --bucket-dir)"
                        .into(),
                ));
            };
            let client = aws_sdk_dynamodb::Client::new(&open.sdk);
            let facts = describe(&client, &args.table).await?;
            let prefix = args.audit_prefix.clone().unwrap_or_else(|| {
                match args.chain.prefix.as_deref().map(|p| p.trim_matches('/')) {
                    Some(p) if !p.is_empty() => format!("{p}/audit"),
                    _ => "audit".to_string(),
                }
            });
            let at = format_utc(end);
            let question = format!(
                "a full export of {} at {at} into s3://{}/{prefix}/: table size {} bytes, about ${:.2} at $0.10 per GB",
                args.table,
                s3.bucket(),
                facts.size_bytes,
                facts.cost_usd()
            );
            if !args.yes && !confirm(&format!("ask for {question}"))? {
                return Err(Failure::Error("not confirmed: no export asked for".into()));
            }
            if args.yes {
                progress(&format!("asking for {question}"));
            }
            let arn = start_export(
                &client,
                &ExportAsk {
                    table: &args.table,
                    table_arn: &facts.arn,
                    bucket: s3.bucket(),
                    prefix: &prefix,
                    at_ms: end,
                    kms_key: None,
                },
            )
            .await?;
            progress(&format!("export {arn} started; waiting for it ..."));
            wait_export(
                &client,
                &arn,
                Duration::from_secs(args.poll_seconds.max(1)),
                Duration::from_secs(args.wait_minutes.saturating_mul(60)),
                &progress,
            )
            .await?
        }
    };

    progress(&format!("reading the full export {manifest} ..."));
    let export_keys = state.key_attributes().map(<[String]>::to_vec);
    let options = args.chain.options(export_keys.as_deref(), budget);
    let source = ChainSource::Manifests(vec![manifest.clone()]);
    let exported = read_chain(&open.bucket, &source, options).await?;
    if !exported.report.is_clean() {
        let problems = VerifyOutput::new(&open.bucket.name(), None, None, exported.report, None);
        eprint!("{}", problems.render_text());
        return Err(Failure::Error(format!(
            "the full export {manifest} has problems of its own (above): nothing compared"
        )));
    }
    let comparison = compare_states(&state, &exported.state)
        .map_err(|e| format!("comparing with the full export: {e}"))?;
    let report = std::mem::take(&mut output.report);
    output = VerifyOutput::new(
        &open.bucket.name(),
        args.chain.prefix.as_deref(),
        Some(&args.table),
        report,
        Some(&comparison),
    );
    output.audit_export = Some(format!("{manifest} (at {})", format_utc(end)));
    finish(&output, args.json)
}

fn finish(output: &VerifyOutput, json: bool) -> Result<(), Failure> {
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(output)?)
    } else {
        output.render_text()
    };
    write_stdout(&text)?;
    if output.ok {
        Ok(())
    } else {
        Err(Failure::Problems)
    }
}
