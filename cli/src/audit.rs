//! The DynamoDB side of `incx audit`: what a full export of the table
//! would cost (DescribeTable's size at $0.10 per GB), asking for one at an
//! exact point in time (ExportTableToPointInTime, PITR), and waiting for it
//! (DescribeExport) until its manifest is written.
//!
//! The export goes under a prefix of its own, away from the chain's
//! `AWSDynamoDB/` folder, so that it is never taken for a newer full export
//! of the chain.

use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::primitives::DateTime;
use aws_sdk_dynamodb::types::{ExportFormat, ExportStatus, ExportType, S3SseAlgorithm};
use aws_sdk_dynamodb::Client;
use thiserror::Error;

/// The on-demand price of a full export, per GB of table size (us-east-1;
/// other regions differ a little).
pub const USD_PER_GB: f64 = 0.10;

/// A failure talking to DynamoDB about the audit's export.
#[derive(Debug, Error)]
pub enum AuditError {
    /// DescribeTable failed.
    #[error("describing table {table}: {message}")]
    Describe { table: String, message: String },
    /// ExportTableToPointInTime was refused (PITR off, a time outside its
    /// window, a limit, access).
    #[error("asking for a full export of {table} at {at}: {message}")]
    Start {
        table: String,
        at: String,
        message: String,
    },
    /// DescribeExport failed, or the export failed.
    #[error("export {arn}: {message}")]
    Export { arn: String, message: String },
    /// The export did not finish in the time allowed.
    #[error("export {arn} is still running after {minutes} minutes; run audit again with --export-manifest once it completes")]
    Timeout { arn: String, minutes: u64 },
}

/// What DescribeTable says about the table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFacts {
    pub arn: String,
    /// TableSizeBytes (DynamoDB updates it about every six hours).
    pub size_bytes: i64,
}

impl TableFacts {
    /// The full export's price estimate in US dollars.
    pub fn cost_usd(&self) -> f64 {
        cost_usd(self.size_bytes)
    }
}

/// `bytes` of table at [`USD_PER_GB`] (GB as AWS bills it, 2^30 bytes).
pub fn cost_usd(bytes: i64) -> f64 {
    bytes.max(0) as f64 / f64::from(1u32 << 30) * USD_PER_GB
}

fn message<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(text)) => format!("{code}: {text}"),
        _ => DisplayErrorContext(e).to_string(),
    }
}

/// The table's ARN and size.
pub async fn describe(client: &Client, table: &str) -> Result<TableFacts, AuditError> {
    let out = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| AuditError::Describe {
            table: table.to_string(),
            message: message(&e),
        })?;
    let t = out.table().ok_or_else(|| AuditError::Describe {
        table: table.to_string(),
        message: "no table description in the answer".into(),
    })?;
    Ok(TableFacts {
        arn: t.table_arn().unwrap_or_default().to_string(),
        size_bytes: t.table_size_bytes().unwrap_or(0),
    })
}

/// Where and when the audit's full export is asked for.
#[derive(Debug, Clone)]
pub struct ExportAsk<'a> {
    pub table: &'a str,
    pub table_arn: &'a str,
    pub bucket: &'a str,
    /// The export's own prefix (not the chain's).
    pub prefix: &'a str,
    /// The export time, epoch ms: the chain's end.
    pub at_ms: i64,
    /// The KMS key the export's files are encrypted with (as the chain's
    /// own exports are); `None`: the bucket's default encryption.
    pub kms_key: Option<&'a str>,
}

/// Asks for a full DynamoDB JSON export at exactly `ask.at_ms`; its ARN.
/// The client token is the time, so asking twice for the same audit
/// (within DynamoDB's 8 hours) does not export twice.
pub async fn start_export(client: &Client, ask: &ExportAsk<'_>) -> Result<String, AuditError> {
    let fail = |message: String| AuditError::Start {
        table: ask.table.to_string(),
        at: crate::chain::format_utc(ask.at_ms),
        message,
    };
    let out = client
        .export_table_to_point_in_time()
        .table_arn(ask.table_arn)
        .export_type(ExportType::FullExport)
        .export_time(DateTime::from_millis(ask.at_ms))
        .export_format(ExportFormat::DynamodbJson)
        .s3_bucket(ask.bucket)
        .s3_prefix(ask.prefix)
        .client_token(format!("incx-audit-{}", ask.at_ms))
        .set_s3_sse_algorithm(ask.kms_key.map(|_| S3SseAlgorithm::Kms))
        .set_s3_sse_kms_key_id(ask.kms_key.map(str::to_string))
        .send()
        .await
        .map_err(|e| fail(message(&e)))?;
    out.export_description()
        .and_then(|d| d.export_arn())
        .map(str::to_string)
        .ok_or_else(|| fail("no export ARN in the answer".into()))
}

/// Where an export is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportProgress {
    /// Still being written.
    Running,
    /// Done: its manifest-summary.json key.
    Completed(String),
}

/// One look at the export (DescribeExport); a failed export is an error.
pub async fn export_progress(client: &Client, arn: &str) -> Result<ExportProgress, AuditError> {
    let fail = |message: String| AuditError::Export {
        arn: arn.to_string(),
        message,
    };
    let out = client
        .describe_export()
        .export_arn(arn)
        .send()
        .await
        .map_err(|e| fail(message(&e)))?;
    let d = out
        .export_description()
        .ok_or_else(|| fail("no export description in the answer".into()))?;
    match d.export_status() {
        Some(ExportStatus::Completed) => d
            .export_manifest()
            .map(|m| ExportProgress::Completed(m.to_string()))
            .ok_or_else(|| fail("completed without a manifest key".into())),
        Some(ExportStatus::Failed) => Err(fail(format!(
            "failed: {} {}",
            d.failure_code().unwrap_or_default(),
            d.failure_message().unwrap_or_default()
        ))),
        _ => Ok(ExportProgress::Running),
    }
}

/// Polls the export every `every` until it completes (its
/// manifest-summary.json key) or fails, for at most `limit`.
pub async fn wait_export(
    client: &Client,
    arn: &str,
    every: Duration,
    limit: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<String, AuditError> {
    let started = std::time::Instant::now();
    loop {
        if let ExportProgress::Completed(manifest) = export_progress(client, arn).await? {
            return Ok(manifest);
        }
        if started.elapsed() >= limit {
            return Err(AuditError::Timeout {
                arn: arn.to_string(),
                minutes: limit.as_secs() / 60,
            });
        }
        progress(&format!(
            "export still running after {} s ...",
            started.elapsed().as_secs()
        ));
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use aws_sdk_dynamodb::operation::describe_export::DescribeExportOutput;
    use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
    use aws_sdk_dynamodb::operation::export_table_to_point_in_time::ExportTableToPointInTimeOutput;
    use aws_sdk_dynamodb::types::{ExportDescription, TableDescription};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};

    const ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/t/export/01";

    fn client(rules: &[&Rule]) -> Client {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "AKID", "SECRET", None, None, "test",
                ))
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }

    fn described(s: ExportStatus) -> DescribeExportOutput {
        let d = ExportDescription::builder()
            .export_arn(ARN)
            .export_status(s)
            .export_manifest("exp/audit/AWSDynamoDB/01/manifest-summary.json")
            .failure_code("S3NoSuchBucket")
            .build();
        DescribeExportOutput::builder()
            .export_description(d)
            .build()
    }

    #[tokio::test]
    async fn cost_is_the_table_size_at_ten_cents_a_gb() {
        let describe_rule = mock!(Client::describe_table)
            .match_requests(|r| r.table_name() == Some("t"))
            .then_output(|| {
                DescribeTableOutput::builder()
                    .table(
                        TableDescription::builder()
                            .table_arn("arn:aws:dynamodb:us-east-1:123456789012:table/t")
                            .table_size_bytes(250 << 30)
                            .build(),
                    )
                    .build()
            });
        let facts = describe(&client(&[&describe_rule]), "t").await.unwrap();
        assert_eq!(facts.size_bytes, 250 << 30);
        assert!(
            (facts.cost_usd() - 25.0).abs() < 1e-9,
            "{}",
            facts.cost_usd()
        );
        assert!((cost_usd(3 << 29) - 0.15).abs() < 1e-9);
    }

    #[tokio::test]
    async fn the_export_is_full_at_the_chain_end_under_its_own_prefix() {
        let start = mock!(Client::export_table_to_point_in_time)
            .match_requests(|r| {
                r.export_time() == Some(&DateTime::from_millis(1_700_003_600_000))
                    && r.export_type() == Some(&ExportType::FullExport)
                    && r.export_format() == Some(&ExportFormat::DynamodbJson)
                    && r.s3_prefix() == Some("exp/audit")
                    && r.s3_bucket() == Some("bucket")
                    && r.table_arn() == Some("arn:t")
            })
            .then_output(|| {
                ExportTableToPointInTimeOutput::builder()
                    .export_description(ExportDescription::builder().export_arn(ARN).build())
                    .build()
            });
        let ask = ExportAsk {
            table: "t",
            table_arn: "arn:t",
            bucket: "bucket",
            prefix: "exp/audit",
            at_ms: 1_700_003_600_000,
            kms_key: None,
        };
        // A request that differs matches no rule, which fails the test.
        assert_eq!(start_export(&client(&[&start]), &ask).await.unwrap(), ARN);
    }

    #[tokio::test]
    async fn waiting_ends_at_the_manifest_or_the_failure() {
        let lines = std::sync::Mutex::new(Vec::new());
        let progress = |l: &str| lines.lock().unwrap().push(l.to_string());
        let ms = Duration::from_millis(1);
        let polls = mock!(Client::describe_export)
            .match_requests(|r| r.export_arn() == Some(ARN))
            .sequence()
            .output(|| described(ExportStatus::InProgress))
            .times(2)
            .output(|| described(ExportStatus::Completed))
            .build();
        let key = wait_export(
            &client(&[&polls]),
            ARN,
            ms,
            Duration::from_secs(60),
            &progress,
        )
        .await;
        assert_eq!(
            key.unwrap(),
            "exp/audit/AWSDynamoDB/01/manifest-summary.json"
        );
        assert_eq!(lines.lock().unwrap().len(), 2);

        let failed = mock!(Client::describe_export).then_output(|| described(ExportStatus::Failed));
        let err = wait_export(&client(&[&failed]), ARN, ms, ms, &progress)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("S3NoSuchBucket"), "{err}");

        let running = mock!(Client::describe_export)
            .sequence()
            .output(|| described(ExportStatus::InProgress))
            .repeatedly()
            .build();
        let err = wait_export(&client(&[&running]), ARN, ms, Duration::ZERO, &progress)
            .await
            .unwrap_err();
        assert!(matches!(err, AuditError::Timeout { .. }), "{err}");
    }
}
