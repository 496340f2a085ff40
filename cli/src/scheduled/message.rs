//! What the audit e-mails: a JSON message on the workflow's topic, in the
//! shape of the workflow's own notifications (`message`, `exportType`,
//! `status`, `executionId`), so the stack's two e-mail subscriptions,
//! which filter on the body's `status`, deliver it: `SUCCESS` when the
//! chain equals the export item for item, `FAILED` when an operator must
//! look (differences, a broken chain, a failed step).

use serde::Serialize;

use super::contract::{AuditState, Stage, Totals};

/// The e-mailed result of one audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditMessage {
    pub message: String,
    /// Always `AUDIT`: tells these apart from export notifications.
    pub export_type: &'static str,
    pub status: &'static str,
    pub execution_id: String,
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_manifest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

impl AuditMessage {
    /// The message for where the audit ended.
    pub fn of(state: &AuditState, table: &str, execution_id: &str) -> Self {
        let mut m = Self {
            message: String::new(),
            export_type: "AUDIT",
            status: "FAILED",
            execution_id: execution_id.to_string(),
            table: table.to_string(),
            chain_end: None,
            export_arn: None,
            export_manifest: None,
            cost_usd: None,
            parts: None,
            totals: None,
            remedy: None,
        };
        let step = match &state.stage {
            Stage::Starting => "asking for the audit's export",
            Stage::Nothing { .. } => "reading the ledger",
            Stage::Exporting { .. } => "waiting for the audit's export",
            Stage::Comparing { .. } => "comparing the chain with the export",
            Stage::Compared { .. } => "e-mailing the result",
        };
        match &state.stage {
            Stage::Exporting { export, .. } => {
                m.chain_end = Some(export.chain_end.clone());
                m.export_arn = Some(export.arn.clone());
                m.cost_usd = Some(export.cost_usd);
            }
            Stage::Comparing {
                export,
                manifest,
                parts,
                totals,
                ..
            }
            | Stage::Compared {
                export,
                manifest,
                parts,
                totals,
            } => {
                m.chain_end = Some(export.chain_end.clone());
                m.export_arn = Some(export.arn.clone());
                m.export_manifest = Some(manifest.clone());
                m.cost_usd = Some(export.cost_usd);
                m.parts = Some(*parts);
                m.totals = Some(totals.clone());
            }
            Stage::Starting | Stage::Nothing { .. } => {}
        }
        if let Some(error) = &state.error {
            m.message = format!(
                "The audit of table {table} failed while {step}: {} {}",
                error.error, error.cause
            );
            m.remedy = Some(
                "Read the audit function's log for this execution; once the cause is fixed, start the audit state machine again (or run `incx audit` by hand)."
                    .into(),
            );
            return m;
        }
        match &state.stage {
            Stage::Nothing { reason } => {
                m.status = "SUCCESS";
                m.message = format!("Nothing to audit in table {table} yet: {reason}");
            }
            Stage::Compared { totals, .. } if !totals.problems.is_empty() => {
                m.message = format!(
                    "The audit of table {table} found problems in the chain or the export, nothing compared: {}",
                    totals.problems.join("; ")
                );
                m.remedy = Some("Run `incx verify` for the chain's full report.".into());
            }
            Stage::Compared { totals, export, .. } if totals.differences() == 0 => {
                m.status = "SUCCESS";
                m.message = format!(
                    "The chain of table {table} equals a full export at its end ({}): {} items, no difference.",
                    export.chain_end, totals.items_in_chain
                );
            }
            Stage::Compared { totals, export, .. } => {
                m.message = format!(
                    "The chain of table {table} differs from a full export at its end ({}): {} missing, {} extra, {} different items.",
                    export.chain_end, totals.missing, totals.extra, totals.different
                );
                m.remedy = Some(
                    "The keys are listed in totals; `incx audit --export-manifest <exportManifest>` compares again and shows every difference. Until it is explained, treat the chain as wrong from the first export holding those keys."
                        .into(),
                );
            }
            other => {
                m.message = format!(
                    "The audit of table {table} ended early, at stage {:?}",
                    stage_name(other)
                );
            }
        }
        m
    }

    /// The e-mail subject.
    pub fn subject(&self) -> String {
        format!("AUDIT {} {}", self.status, self.table)
    }
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Starting => "STARTING",
        Stage::Nothing { .. } => "NOTHING",
        Stage::Exporting { .. } => "EXPORTING",
        Stage::Comparing { .. } => "COMPARING",
        Stage::Compared { .. } => "COMPARED",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::scheduled::contract::AuditExport;
    use incx_core::contract::CaughtError;

    fn compared(totals: Totals) -> AuditState {
        Stage::Compared {
            export: AuditExport {
                arn: "arn:e".into(),
                chain_end: "2026-12-02T10:00:00Z".into(),
                chain_end_ms: 0,
                table_size_bytes: 0,
                cost_usd: 0.0,
            },
            manifest: "m".into(),
            parts: 2,
            totals,
        }
        .into()
    }

    #[test]
    fn a_clean_audit_is_a_success_and_a_difference_a_failure_with_the_keys() {
        let clean = AuditMessage::of(
            &compared(Totals {
                items_in_chain: 5,
                compared: 5,
                ..Totals::default()
            }),
            "orders",
            "x",
        );
        assert_eq!(clean.status, "SUCCESS");
        assert!(clean.message.contains("no difference"), "{}", clean.message);
        let totals = Totals {
            different: 1,
            first_different: vec!["{\"pk\":{\"S\":\"a\"}}".into()],
            ..Totals::default()
        };
        let m = AuditMessage::of(&compared(totals), "orders", "x");
        assert_eq!(m.status, "FAILED");
        assert!(m.message.contains("1 different"), "{}", m.message);
        let body = serde_json::to_value(&m).unwrap();
        assert_eq!(body["status"], "FAILED");
        assert_eq!(body["exportType"], "AUDIT");
        assert_eq!(
            body["totals"]["firstDifferent"][0],
            "{\"pk\":{\"S\":\"a\"}}"
        );
        assert!(m.remedy.is_some());
    }

    #[test]
    fn a_broken_chain_or_a_failed_step_is_a_failure_that_says_where() {
        let broken = Totals {
            problems: vec!["a gap".into()],
            ..Totals::default()
        };
        let m = AuditMessage::of(&compared(broken), "orders", "x");
        assert_eq!(m.status, "FAILED");
        assert!(m.message.contains("a gap"), "{}", m.message);
        let failed = AuditState {
            stage: Stage::Starting,
            error: Some(CaughtError {
                error: "ServiceFault".into(),
                cause: "PITR is off".into(),
            }),
        };
        let m = AuditMessage::of(&failed, "orders", "x");
        assert_eq!(m.status, "FAILED");
        assert!(
            m.message.contains("asking for the audit's export")
                && m.message.contains("PITR is off"),
            "{}",
            m.message
        );
        let nothing = AuditMessage::of(
            &Stage::Nothing {
                reason: "no chain".into(),
            }
            .into(),
            "orders",
            "x",
        );
        assert_eq!(nothing.status, "SUCCESS");
    }
}
