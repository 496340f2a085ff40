//! The audit's steps, each one Lambda invocation: the state in, the next
//! state out. The chain is read from the ledger and cut at the chain end
//! the audit began with, so windows exported while the audit runs are not
//! compared.

use incx_aws::sns::SnsNotifier;
use incx_core::error::CoreError;

use super::config::AuditConfig;
use super::contract::{AuditExport, AuditOutcome, AuditRequest, AuditState, Stage, Totals};
use super::message::AuditMessage;
use crate::audit::{describe, export_progress, start_export, ExportAsk, ExportProgress};
use crate::chain::{
    compare_states, format_utc, read_chain, read_ledger, ChainReport, ChainSource, LedgerChain,
    ReadOptions, S3Store, Slice,
};

/// Seconds between two looks at the audit's export: a full export takes
/// minutes to hours, and each look costs two state transitions.
pub const LOOK_EVERY_SECONDS: u64 = 300;

/// The audit's adapters and configuration.
pub struct Auditor {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub store: S3Store,
    pub notifier: SnsNotifier,
    pub config: AuditConfig,
}

fn fault(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::service("audit", format!("{what}: {e}"))
}

/// Report entries as JSON lines.
fn lines<T: serde::Serialize>(items: &[T]) -> Vec<String> {
    items
        .iter()
        .map(|i| serde_json::to_string(i).unwrap_or_default())
        .collect()
}

/// The problems of a chain or export report, one line each.
fn problems(what: &str, report: &ChainReport) -> Vec<String> {
    let lists = [
        ("gap", lines(&report.gaps)),
        ("overlap", lines(&report.overlaps)),
        ("checksum error", lines(&report.checksum_errors)),
        ("count mismatch", lines(&report.count_errors)),
        ("data error", report.data_errors.clone()),
    ];
    lists
        .into_iter()
        .flat_map(|(kind, found)| {
            found
                .into_iter()
                .map(move |l| format!("{what}: {kind}: {l}"))
        })
        .collect()
}

impl Auditor {
    /// Runs one step.
    pub async fn step(&self, request: AuditRequest) -> Result<serde_json::Value, CoreError> {
        let json = |v: Result<AuditState, CoreError>| {
            v.and_then(|s| serde_json::to_value(s).map_err(|e| fault("the state", e)))
        };
        match request {
            AuditRequest::Begin { .. } => json(self.begin().await),
            AuditRequest::Check { audit } => json(self.check(audit).await),
            AuditRequest::Compare { audit } => json(self.compare(audit).await),
            AuditRequest::Report {
                audit,
                execution_id,
            } => {
                let outcome = self.report(&audit, &execution_id).await?;
                serde_json::to_value(outcome).map_err(|e| fault("the outcome", e))
            }
        }
    }

    /// The chain as the ledger records it.
    async fn chain(&self) -> Result<LedgerChain, CoreError> {
        let c = &self.config;
        read_ledger(
            self.dynamodb.clone(),
            &c.stack.ledger_table,
            &c.stack.alias,
            c.stack.prefix.as_deref(),
        )
        .await
        .map_err(|e| fault("reading the ledger", e))
    }

    /// Reads where the chain ends and asks for a full export at that time.
    pub async fn begin(&self) -> Result<AuditState, CoreError> {
        let c = &self.config;
        let chain = self.chain().await?;
        let Some(end) = chain.end_ms else {
            return Ok(Stage::Nothing {
                reason: format!(
                    "ledger {} holds no completed full export",
                    c.stack.ledger_table
                ),
            }
            .into());
        };
        let facts = describe(&self.dynamodb, &c.stack.table_name)
            .await
            .map_err(|e| fault("describing the table", e))?;
        let prefix = c.audit_prefix();
        let arn = start_export(
            &self.dynamodb,
            &ExportAsk {
                table: &c.stack.table_name,
                table_arn: &facts.arn,
                bucket: &c.stack.bucket,
                prefix: &prefix,
                at_ms: end,
                kms_key: c.stack.export_kms_key.as_deref(),
            },
        )
        .await
        .map_err(|e| fault("asking for the export", e))?;
        tracing::info!(table = %c.stack.table_name, export_arn = %arn, chain_end = %format_utc(end), cost_usd = facts.cost_usd(), "audit export asked for");
        Ok(Stage::Exporting {
            export: AuditExport {
                arn,
                chain_end: format_utc(end),
                chain_end_ms: end,
                table_size_bytes: facts.size_bytes,
                cost_usd: facts.cost_usd(),
            },
            wait_seconds: LOOK_EVERY_SECONDS,
        }
        .into())
    }

    /// One look at the export: still exporting, or ready to compare.
    pub async fn check(&self, audit: AuditState) -> Result<AuditState, CoreError> {
        let Stage::Exporting {
            export,
            wait_seconds,
        } = audit.stage
        else {
            return Err(CoreError::BadInput(format!(
                "check: the audit is not exporting ({:?})",
                audit.stage
            )));
        };
        match export_progress(&self.dynamodb, &export.arn)
            .await
            .map_err(|e| fault("looking at the export", e))?
        {
            ExportProgress::Running => Ok(Stage::Exporting {
                export,
                wait_seconds,
            }
            .into()),
            ExportProgress::Completed(manifest) => Ok(Stage::Comparing {
                export,
                manifest,
                next: 0,
                parts: self.config.stack.parts,
                totals: Totals::default(),
            }
            .into()),
        }
    }

    /// Compares one part of the keys; the last part (or a problem with
    /// the chain or the export) ends the comparison.
    pub async fn compare(&self, audit: AuditState) -> Result<AuditState, CoreError> {
        let Stage::Comparing {
            export,
            manifest,
            next,
            parts,
            mut totals,
        } = audit.stage
        else {
            return Err(CoreError::BadInput(format!(
                "compare: the audit is not comparing ({:?})",
                audit.stage
            )));
        };
        if next >= parts {
            return Err(CoreError::BadInput(format!(
                "compare: part {next} of {parts} does not exist"
            )));
        }
        let c = &self.config;
        let slice = Some(Slice {
            index: next,
            of: parts,
        });
        let chain = self.chain().await?;
        let mine = read_chain(
            &self.store,
            &ChainSource::Ledger(chain),
            ReadOptions {
                budget: Some(c.budget),
                until: Some(export.chain_end_ms),
                slice,
                ..ReadOptions::default()
            },
        )
        .await
        .map_err(|e| fault("reading the chain", e))?;
        totals.note_problems(problems("chain", &mine.report));
        let keys = mine.state.key_attributes().map(<[String]>::to_vec);
        let theirs = read_chain(
            &self.store,
            &ChainSource::Manifests(vec![manifest.clone()]),
            ReadOptions {
                key_attributes: keys.as_deref(),
                budget: Some(c.budget),
                slice,
                ..ReadOptions::default()
            },
        )
        .await
        .map_err(|e| fault("reading the audit's export", e))?;
        totals.note_problems(problems("audit export", &theirs.report));
        if totals.problems.is_empty() {
            let part =
                compare_states(&mine.state, &theirs.state).map_err(|e| fault("comparing", e))?;
            totals.add(&part, mine.state.len() as u64, theirs.state.len() as u64);
        }
        tracing::info!(
            part = next,
            parts,
            differences = totals.differences(),
            problems = totals.problems.len(),
            "audit part compared"
        );
        let done = next + 1 >= parts || !totals.problems.is_empty();
        Ok(if done {
            Stage::Compared {
                export,
                manifest,
                parts,
                totals,
            }
        } else {
            Stage::Comparing {
                export,
                manifest,
                next: next + 1,
                parts,
                totals,
            }
        }
        .into())
    }

    /// E-mails where the audit ended.
    pub async fn report(
        &self,
        audit: &AuditState,
        execution_id: &str,
    ) -> Result<AuditOutcome, CoreError> {
        let message = AuditMessage::of(audit, &self.config.stack.table_name, execution_id);
        let body = serde_json::to_string(&message).map_err(|e| fault("the message", e))?;
        let dedupe = format!("audit#{execution_id}");
        let message_id = self
            .notifier
            .publish_json(&message.subject(), message.status, Some(&dedupe), body)
            .await?;
        Ok(AuditOutcome {
            status: message.status.to_string(),
            message: message.message,
            message_id,
        })
    }
}
