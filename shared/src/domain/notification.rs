//! The notification message: the original sample's fields, plus ours.
//!
//! The original's e-mail subscriptions filter on the body's `status`; the
//! publisher also sets a `status` message attribute with the same value.

use super::control::ALLOWED_ACTIONS;
use super::decision::OperatorReason;
use super::export::{ExportKind, Span};
use super::ledger::{CatalogEntry, CatalogStatus};
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
    /// The same for every announcement of one ledger entry (also a message
    /// attribute), so a consumer can drop repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe_key: Option<String>,
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
            dedupe_key: None,
        }
    }

    /// The subject line of the e-mail.
    pub fn subject(&self) -> String {
        let kind = self.export_type.map(|k| k.as_str()).unwrap_or("WORKFLOW");
        format!("{kind} {}", self.status.as_str())
    }

    /// The announcement of a ledger entry: an export completed (the chain
    /// moved on) or ended FAILED (nothing moved; the window is tried
    /// again). Built from the entry alone, so announcing it again later
    /// says the same thing under the same dedupe key.
    pub fn of_entry(
        table: &str,
        alias: &str,
        execution_id: &str,
        entry: &CatalogEntry,
        blocks_behind: i64,
        now: Epoch,
    ) -> Self {
        let mut n = match entry.status {
            CatalogStatus::Completed => {
                let message = format!("{} export for table '{table}' succeeded", entry.kind);
                let mut n = Self::base(message, Status::Success, execution_id);
                n.start_time = entry.start_time.map(rfc3339);
                n.end_time = entry.end_time.map(rfc3339);
                n.item_count = Some(entry.item_count);
                n.billed_size_bytes = Some(entry.billed_size_bytes);
                n
            }
            CatalogStatus::Failed => {
                let code = entry.failure_code.as_deref().unwrap_or("Unknown");
                let detail = entry.failure_message.as_deref().unwrap_or_default();
                let message = format!(
                    "{} export for table {table} failed because\n{code}\n{detail}\n(attempt {} for this window; the watermark has not moved)",
                    entry.kind, entry.attempt
                );
                let mut n = Self::base(message, Status::Failed, execution_id);
                n.start_time = Some(rfc3339(entry.started_at));
                n.remedy = (entry.attempt >= ATTEMPTS_BEFORE_REMEDY)
                    .then(|| failure_remedy(code, entry.attempt));
                n
            }
        };
        if let Some(note) = &entry.note {
            n.message = format!("{}; {note}", n.message);
        }
        n.export_type = Some(entry.kind);
        n.export_arn = (!entry.export_arn.is_empty()).then(|| entry.export_arn.clone());
        n.attempt = Some(entry.attempt);
        let (start, end) = span_times(entry.span);
        n.export_end_time = match entry.kind {
            ExportKind::Full => Some(start.clone()),
            ExportKind::Incremental => end,
        };
        n.export_start_time = Some(start);
        n.incremental_blocks_behind = Some(blocks_behind);
        n.lag_seconds = Some((now - entry.span.to).max(0));
        n.dedupe_key = Some(dedupe_key(alias, entry));
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
        let message = match reason {
            OperatorReason::PitrDisabled => format!("PITR for table {table} is disabled"),
            OperatorReason::PitrGap { watermark, earliest } => format!(
                "Incremental export start time for table '{table}' is outside PITR window, most likely due to PITR being disabled and re-enabled (watermark {}, earliest restorable {})",
                rfc3339(*watermark),
                rfc3339(*earliest)
            ),
            OperatorReason::UnknownControl { shown } => format!(
                "workflow-action value {shown} is not allowed for table {table}; nothing was changed"
            ),
            OperatorReason::FutureLedger { found } => format!(
                "The ledger of '{alias}' was written by a newer release (format {found}); nothing was changed"
            ),
            OperatorReason::TableNotFound => format!("Table {table} was not found"),
        };
        let mut n = Self::base(message, Status::Failed, execution_id);
        n.export_type = next_kind;
        n.remedy = Some(operator_remedy(alias, reason));
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

/// What an operator does about a window that keeps failing with `code`
/// (the e-mail's remedy from the third attempt on, and `incx status`'s).
pub fn failure_remedy(code: &str, attempts: u32) -> String {
    format!(
        "The same window has failed {attempts} times with {code}: fix the cause (bucket, permissions, KMS key); the workflow retries it on every run"
    )
}

/// What an operator does about `reason` (the FAILED e-mail's remedy, and
/// `incx status`'s).
pub fn operator_remedy(alias: &str, reason: &OperatorReason) -> String {
    let action = format!("/incremental-export/{alias}/workflow-action");
    match reason {
        OperatorReason::PitrDisabled => {
            "Ensure PITR is enabled by following https://aws.amazon.com/dynamodb/pitr/".to_string()
        }
        OperatorReason::PitrGap { .. } => format!(
            "Set the '{action}' to 'RESET_WITH_FULL_EXPORT_AGAIN' to reinitialize the workflow with a new full export [refer to the README]"
        ),
        OperatorReason::UnknownControl { .. } => format!("Set '{action}' to {ALLOWED_ACTIONS}"),
        OperatorReason::FutureLedger { .. } => "Deploy the newer release of the functions".to_string(),
        OperatorReason::TableNotFound => "Check that the table exists in this account and region and that the stack's SourceDynamoDbTableName names it".to_string(),
    }
}

/// The key every announcement of `entry` carries.
pub fn dedupe_key(alias: &str, entry: &CatalogEntry) -> String {
    format!("{alias}/{}/{}", entry.sort_key(), entry.status.as_str())
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

    fn entry(kind: ExportKind, attempt: u32, status: CatalogStatus) -> CatalogEntry {
        CatalogEntry {
            chain: 1,
            kind,
            span: Span {
                from: (kind == ExportKind::Incremental).then_some(1_700_000_100),
                to: 1_700_001_000,
            },
            attempt,
            export_arn: "arn:x".into(),
            status,
            item_count: 7,
            billed_size_bytes: 10_000_000,
            manifest: None,
            started_at: 1_700_001_400,
            start_time: Some(1_700_001_400),
            end_time: Some(1_700_001_700),
            failure_code: (status == CatalogStatus::Failed).then(|| "S3NoSuchBucket".into()),
            failure_message: (status == CatalogStatus::Failed).then(|| "gone".into()),
            recorded_at: 1_700_001_800,
            announced: false,
            note: None,
        }
    }

    #[test]
    fn success_has_the_original_fields_and_ours() {
        let e = entry(ExportKind::Incremental, 1, CatalogStatus::Completed);
        let n = Notification::of_entry("orders", "o1", "exec", &e, 2, 1_700_001_800);
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
            "dedupeKey",
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
        let failed = entry(ExportKind::Incremental, 1, CatalogStatus::Failed);
        let first = Notification::of_entry("orders", "o1", "e", &failed, 0, 0);
        assert_eq!(first.status, Status::Failed);
        assert!(first.message.contains("S3NoSuchBucket") && first.message.contains("attempt 1"));
        assert!(first.remedy.is_none());
        let third = Notification::of_entry(
            "orders",
            "o1",
            "e",
            &entry(ExportKind::Incremental, 3, CatalogStatus::Failed),
            0,
            0,
        );
        assert!(third.remedy.unwrap().contains("failed 3 times"));
        // Every announcement of one entry carries one key; another status,
        // attempt or window another.
        let again = Notification::of_entry("orders", "o1", "later", &failed, 5, 99);
        assert_eq!(first.dedupe_key, again.dedupe_key);
        assert_eq!(
            first.dedupe_key.as_deref(),
            Some("o1/EXPORT#000001#001700001000#0001/FAILED")
        );
        assert_ne!(third.dedupe_key, first.dedupe_key);
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
