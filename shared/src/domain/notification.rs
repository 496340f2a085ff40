//! The notification message: the original sample's fields, plus ours.
//!
//! The original's e-mail subscriptions filter on the body's `status`; the
//! publisher also sets a `status` message attribute with the same value.

use super::control::ALLOWED_ACTIONS;
use super::decision::OperatorReason;
use super::export::{ExportKind, ExportResult, Span};
use super::ledger::Tracked;
use super::timefmt::rfc3339;
use super::Epoch;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Success,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_type: Option<ExportKind>,
    pub status: Status,
    pub execution_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental_blocks_behind: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
}

/// A FAILED export is retried automatically; after this many attempts a
/// person should look, and the message says so.
pub const ATTEMPTS_BEFORE_REMEDY: u32 = 3;

impl Notification {
    fn base(message: String, status: Status, execution_id: &str) -> Self {
        Self {
            message,
            export_type: None,
            status,
            execution_id: execution_id.to_string(),
            incremental_blocks_behind: None,
            start_time: None,
            end_time: None,
            export_start_time: None,
            export_end_time: None,
            remedy: None,
            export_arn: None,
            item_count: None,
            billed_size_bytes: None,
            lag_seconds: None,
            attempt: None,
        }
    }

    /// The subject line of the e-mail.
    pub fn subject(&self) -> String {
        let kind = self.export_type.map(|k| k.as_str()).unwrap_or("WORKFLOW");
        format!("{kind} {}", self.status.as_str())
    }

    fn with_export(mut self, export: &Tracked) -> Self {
        let flight = &export.intent;
        self.export_type = Some(flight.kind);
        self.export_arn = Some(export.export_arn.clone());
        self.attempt = Some(flight.attempt);
        let (start, end) = span_times(flight.span);
        self.export_start_time = Some(start);
        self.export_end_time = end;
        self
    }

    /// An export completed and the chain moved on.
    pub fn succeeded(
        table: &str,
        execution_id: &str,
        export: &Tracked,
        result: &ExportResult,
        blocks_behind: i64,
        now: Epoch,
    ) -> Self {
        let flight = &export.intent;
        let message = format!("{} export for table '{table}' succeeded", flight.kind);
        let mut n = Self::base(message, Status::Success, execution_id).with_export(export);
        if flight.kind == ExportKind::Full {
            n.export_end_time = n.export_start_time.clone();
        }
        n.start_time = result.start_time.map(rfc3339);
        n.end_time = result.end_time.map(rfc3339);
        n.item_count = Some(result.item_count);
        n.billed_size_bytes = Some(result.billed_size_bytes);
        n.incremental_blocks_behind = Some(blocks_behind);
        n.lag_seconds = Some((now - flight.span.to).max(0));
        n
    }

    /// An export ended FAILED: nothing moved, the window is tried again.
    pub fn export_failed(
        table: &str,
        execution_id: &str,
        export: &Tracked,
        code: &str,
        detail: &str,
        blocks_behind: i64,
        now: Epoch,
    ) -> Self {
        let flight = &export.intent;
        let message = format!(
            "{} export for table {table} failed because\n{code}\n{detail}\n(attempt {} for this window; the watermark has not moved)",
            flight.kind, flight.attempt
        );
        let mut n = Self::base(message, Status::Failed, execution_id).with_export(export);
        n.start_time = Some(rfc3339(flight.started_at));
        n.incremental_blocks_behind = Some(blocks_behind);
        n.lag_seconds = Some((now - flight.span.to).max(0));
        n.remedy = (flight.attempt >= ATTEMPTS_BEFORE_REMEDY).then(|| {
            format!(
                "The same window has failed {} times with {code}: fix the cause (bucket, permissions, KMS key); the workflow retries it on every run",
                flight.attempt
            )
        });
        n
    }

    /// A person must act before the workflow can go on.
    pub fn needs_operator(
        table: &str,
        alias: &str,
        execution_id: &str,
        reason: &OperatorReason,
        next_kind: Option<ExportKind>,
    ) -> Self {
        let action = format!("/incremental-export/{alias}/workflow-action");
        let (message, remedy) = match reason {
            OperatorReason::PitrDisabled => (
                format!("PITR for table {table} is disabled"),
                "Ensure PITR is enabled by following https://aws.amazon.com/dynamodb/pitr/".to_string(),
            ),
            OperatorReason::PitrGap { watermark, earliest } => (
                format!(
                    "Incremental export start time for table '{table}' is outside PITR window, most likely due to PITR being disabled and re-enabled (watermark {}, earliest restorable {})",
                    rfc3339(*watermark),
                    rfc3339(*earliest)
                ),
                format!("Set the '{action}' to 'RESET_WITH_FULL_EXPORT_AGAIN' to reinitialize the workflow with a new full export [refer to the README]"),
            ),
            OperatorReason::UnknownControl { shown } => (
                format!("workflow-action value {shown} is not allowed for table {table}; nothing was changed"),
                format!("Set '{action}' to {ALLOWED_ACTIONS}"),
            ),
            OperatorReason::ControlMissing => (
                format!("The parameter '{action}' is missing; nothing was changed"),
                format!("Create '{action}' (String) with the value RUN, or redeploy the stack"),
            ),
            OperatorReason::FutureLedger { found } => (
                format!("The ledger of '{alias}' was written by a newer release (format {found}); nothing was changed"),
                "Deploy the newer release of the functions".to_string(),
            ),
            OperatorReason::TableNotFound => (
                format!("Table {table} was not found"),
                "Check that the table exists in this account and region and that the stack's SourceDynamoDbTableName names it".to_string(),
            ),
        };
        let mut n = Self::base(message, Status::Failed, execution_id);
        n.export_type = next_kind;
        n.remedy = Some(remedy);
        n
    }

    /// A fault the workflow could not get past (after its retries).
    pub fn fault(table: &str, execution_id: &str, error: &str, cause: &str) -> Self {
        let cause: String = cause.chars().take(2000).collect();
        let message =
            format!("The export workflow for table {table} stopped on an error: {error}: {cause}");
        let mut n = Self::base(message, Status::Failed, execution_id);
        n.remedy = Some(
            "Nothing was lost: the next scheduled run resumes from the ledger. If this repeats, check the execution's history and the functions' logs".to_string(),
        );
        n
    }
}

fn span_times(span: Span) -> (String, Option<String>) {
    match span.from {
        Some(from) => (rfc3339(from), Some(rfc3339(span.to))),
        None => (rfc3339(span.to), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flight(kind: ExportKind, attempt: u32) -> Tracked {
        Tracked {
            intent: crate::domain::ledger::Intent {
                kind,
                span: Span {
                    from: (kind == ExportKind::Incremental).then_some(1_700_000_100),
                    to: 1_700_001_000,
                },
                attempt,
                client_token: "t".into(),
                started_at: 1_700_001_400,
                chain: 1,
                reset_version: None,
            },
            export_arn: "arn:x".into(),
        }
    }

    #[test]
    fn success_has_the_original_fields_and_ours() {
        let result = ExportResult {
            item_count: 7,
            billed_size_bytes: 10_000_000,
            start_time: Some(1_700_001_400),
            end_time: Some(1_700_001_700),
            manifest: None,
        };
        let n = Notification::succeeded(
            "orders",
            "exec",
            &flight(ExportKind::Incremental, 1),
            &result,
            2,
            1_700_001_800,
        );
        let v = serde_json::to_value(&n).unwrap();
        for field in [
            "message",
            "exportType",
            "status",
            "executionId",
            "incrementalBlocksBehind",
            "startTime",
            "endTime",
            "exportStartTime",
            "exportEndTime",
            "exportArn",
            "itemCount",
            "billedSizeBytes",
            "lagSeconds",
            "attempt",
        ] {
            assert!(v.get(field).is_some(), "missing {field}: {v}");
        }
        assert!(v.get("remedy").is_none());
        assert_eq!(v["status"], "SUCCESS");
        assert_eq!(v["exportType"], "INCREMENTAL_EXPORT");
        assert_eq!(v["exportStartTime"], "2023-11-14T22:15:00Z");
        assert_eq!(v["lagSeconds"], 800);
        assert_eq!(
            v["message"],
            "INCREMENTAL_EXPORT export for table 'orders' succeeded"
        );
    }

    #[test]
    fn failures_name_the_code_and_get_a_remedy_after_repeats() {
        let first = Notification::export_failed(
            "orders",
            "e",
            &flight(ExportKind::Incremental, 1),
            "S3NoSuchBucket",
            "gone",
            0,
            0,
        );
        assert_eq!(first.status, Status::Failed);
        assert!(first.message.contains("S3NoSuchBucket") && first.message.contains("attempt 1"));
        assert!(first.remedy.is_none());
        let third = Notification::export_failed(
            "orders",
            "e",
            &flight(ExportKind::Incremental, 3),
            "S3NoSuchBucket",
            "gone",
            0,
            0,
        );
        assert!(third.remedy.unwrap().contains("failed 3 times"));
    }

    #[test]
    fn operator_messages_carry_a_remedy() {
        let reasons = [
            OperatorReason::PitrDisabled,
            OperatorReason::PitrGap {
                watermark: 0,
                earliest: 10,
            },
            OperatorReason::UnknownControl {
                shown: "\"STOP\"".into(),
            },
            OperatorReason::ControlMissing,
            OperatorReason::FutureLedger { found: 9 },
            OperatorReason::TableNotFound,
        ];
        for r in reasons {
            let n = Notification::needs_operator("orders", "o1", "e", &r, None);
            assert_eq!(n.status, Status::Failed);
            assert!(n.remedy.as_deref().is_some_and(|r| !r.is_empty()), "{r:?}");
        }
        let gap = Notification::needs_operator(
            "orders",
            "o1",
            "e",
            &OperatorReason::PitrGap {
                watermark: 0,
                earliest: 10,
            },
            None,
        );
        assert!(gap.remedy.unwrap().contains("RESET_WITH_FULL_EXPORT_AGAIN"));
        let bad = Notification::needs_operator(
            "orders",
            "o1",
            "e",
            &OperatorReason::UnknownControl {
                shown: "\"STOP\"".into(),
            },
            None,
        );
        assert!(bad.message.contains("\"STOP\"") && bad.remedy.unwrap().contains("RUN, PAUSE"));
    }
}
