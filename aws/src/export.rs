//! The source table's backups and exports, on DynamoDB's export API.
//!
//! The service's refusals are mapped to [`ExportError`] variants the use
//! cases act on (PITR off, time outside the window, token conflict...).

use crate::sdk::{describe, is_throttling, SdkError};
use aws_sdk_dynamodb::operation::export_table_to_point_in_time::ExportTableToPointInTimeError as StartError;
use aws_sdk_dynamodb::types::{
    ExportDescription, ExportFormat, ExportStatus as SdkStatus, ExportType, ExportViewType,
    IncrementalExportSpecification, PointInTimeRecoveryStatus, S3SseAlgorithm,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::DateTime;
use incx_core::domain::export::{
    ExportError, ExportKind, ExportRequest, ExportResult, ExportStatus, Pitr,
};
use incx_core::domain::watch::arn_time;
use incx_core::domain::Epoch;
use incx_core::ports::ExportService;
use std::error::Error;
use std::fmt::Debug;
use std::sync::OnceLock;

#[derive(Debug)]
pub struct DynamoExportService {
    pub client: aws_sdk_dynamodb::Client,
    pub table_name: String,
    /// The export API wants the table's ARN; it never changes for a name
    /// within a function's life, so one DescribeTable per cold start.
    table_arn: OnceLock<String>,
}

/// Throttling, or a fault naming the service's code and message.
fn other<E, R>(err: &SdkError<E, R>) -> ExportError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    let (code, detail) = describe(err);
    if is_throttling(code.as_deref()) {
        ExportError::Throttled(detail)
    } else {
        ExportError::Fault(detail)
    }
}

impl DynamoExportService {
    /// The exports of `table_name`, on the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table_name: &str) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), table_name)
    }

    pub fn new(client: aws_sdk_dynamodb::Client, table_name: impl Into<String>) -> Self {
        Self {
            client,
            table_name: table_name.into(),
            table_arn: OnceLock::new(),
        }
    }

    async fn table_arn(&self) -> Result<String, ExportError> {
        if let Some(arn) = self.table_arn.get() {
            return Ok(arn.clone());
        }
        let out = match self
            .client
            .describe_table()
            .table_name(&self.table_name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(ExportError::TableNotFound(format!(
                    "{}: {}",
                    self.table_name,
                    describe(&e).1
                )))
            }
            Err(e) => return Err(other(&e)),
        };
        let arn = out.table().and_then(|t| t.table_arn()).ok_or_else(|| {
            ExportError::Fault(format!(
                "DescribeTable of {} returned no table ARN",
                self.table_name
            ))
        })?;
        // A concurrent caller may have set it first; the value is the same.
        Ok(self.table_arn.get_or_init(|| arn.to_string()).clone())
    }
}

fn secs(t: Option<&DateTime>) -> Option<i64> {
    t.map(DateTime::secs)
}

/// Pages of ListExports read before giving up the search (each up to 25).
const FIND_PAGES: usize = 40;

/// Whether `d` is the export `req` asks for: the same client token, or the
/// same kind, times and destination.
fn same_export(d: &ExportDescription, req: &ExportRequest) -> bool {
    if d.client_token() == Some(req.client_token.as_str()) {
        return true;
    }
    let times = match req.kind {
        ExportKind::Full => {
            d.export_type() != Some(&ExportType::IncrementalExport)
                && secs(d.export_time()) == Some(req.span.to)
        }
        ExportKind::Incremental => {
            let spec = d.incremental_export_specification();
            d.export_type() == Some(&ExportType::IncrementalExport)
                && secs(spec.and_then(|s| s.export_from_time())) == req.span.from
                && secs(spec.and_then(|s| s.export_to_time())) == Some(req.span.to)
        }
    };
    times
        && d.s3_bucket() == Some(req.bucket.as_str())
        && d.s3_prefix().filter(|p| !p.is_empty()) == req.prefix.as_deref()
}

impl ExportService for DynamoExportService {
    async fn backups(&self) -> Result<Pitr, ExportError> {
        let out = self
            .client
            .describe_continuous_backups()
            .table_name(&self.table_name)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_table_not_found_exception() => {
                    ExportError::TableNotFound(format!("{}: {}", self.table_name, describe(&e).1))
                }
                _ => other(&e),
            })?;
        let pitr = out
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description());
        if pitr.and_then(|p| p.point_in_time_recovery_status())
            != Some(&PointInTimeRecoveryStatus::Enabled)
        {
            return Ok(Pitr::Disabled);
        }
        let earliest = secs(pitr.and_then(|p| p.earliest_restorable_date_time()));
        let latest = secs(pitr.and_then(|p| p.latest_restorable_date_time()));
        match (earliest, latest) {
            (Some(earliest), Some(latest)) => Ok(Pitr::Enabled { earliest, latest }),
            // Without the window no export time can be checked: better stop.
            _ => Err(ExportError::Fault(format!(
                "PITR of {} is ENABLED but its restorable window is missing",
                self.table_name
            ))),
        }
    }

    async fn start(&self, req: &ExportRequest) -> Result<String, ExportError> {
        let call = self
            .client
            .export_table_to_point_in_time()
            .table_arn(self.table_arn().await?)
            .client_token(&req.client_token)
            .s3_bucket(&req.bucket)
            .set_s3_prefix(req.prefix.clone())
            .export_format(ExportFormat::from(req.format.as_str()));
        let call = match &req.kms_key {
            Some(key) => call
                .s3_sse_algorithm(S3SseAlgorithm::Kms)
                .s3_sse_kms_key_id(key),
            None => call,
        };
        let call = match req.kind {
            ExportKind::Full => call
                .export_type(ExportType::FullExport)
                .export_time(DateTime::from_secs(req.span.to)),
            ExportKind::Incremental => {
                let from = req.span.from.ok_or_else(|| {
                    ExportError::Fault("incremental export request without a start time".into())
                })?;
                call.export_type(ExportType::IncrementalExport)
                    .incremental_export_specification(
                        IncrementalExportSpecification::builder()
                            .export_from_time(match req.from_ms {
                                Some(ms) => DateTime::from_millis(ms),
                                None => DateTime::from_secs(from),
                            })
                            .export_to_time(DateTime::from_secs(req.span.to))
                            .export_view_type(ExportViewType::from(req.view_type.as_str()))
                            .build(),
                    )
            }
        };
        let out = call.send().await.map_err(|e| {
            let detail = describe(&e).1;
            match e.as_service_error() {
                Some(StartError::PointInTimeRecoveryUnavailableException(_)) => {
                    ExportError::PitrUnavailable(detail)
                }
                Some(StartError::InvalidExportTimeException(_)) => {
                    ExportError::InvalidExportTime(detail)
                }
                Some(StartError::ExportConflictException(_)) => ExportError::Conflict(detail),
                Some(StartError::TableNotFoundException(_)) => ExportError::TableNotFound(detail),
                Some(StartError::LimitExceededException(_)) => ExportError::LimitExceeded(detail),
                _ => other(&e),
            }
        })?;
        out.export_description()
            .and_then(|d| d.export_arn())
            .map(str::to_owned)
            .ok_or_else(|| {
                ExportError::Fault("ExportTableToPointInTime returned no export ARN".into())
            })
    }

    async fn find(&self, req: &ExportRequest, since: Epoch) -> Result<Option<String>, ExportError> {
        let table_arn = self.table_arn().await?;
        let mut next: Option<String> = None;
        for _ in 0..FIND_PAGES {
            let page = self
                .client
                .list_exports()
                .table_arn(&table_arn)
                .max_results(25)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_limit_exceeded_exception() => {
                        ExportError::LimitExceeded(describe(&e).1)
                    }
                    _ => other(&e),
                })?;
            for summary in page.export_summaries() {
                let Some(arn) = summary.export_arn() else {
                    continue;
                };
                // The export id says when it started: older ones cannot be it.
                if arn_time(arn).is_some_and(|t| t < since) {
                    continue;
                }
                let out = self
                    .client
                    .describe_export()
                    .export_arn(arn)
                    .send()
                    .await
                    .map_err(|e| other(&e))?;
                if out
                    .export_description()
                    .is_some_and(|d| same_export(d, req))
                {
                    return Ok(Some(arn.to_string()));
                }
            }
            match page.next_token {
                Some(t) if !t.is_empty() => next = Some(t),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    async fn describe(&self, arn: &str) -> Result<ExportStatus, ExportError> {
        let out = self
            .client
            .describe_export()
            .export_arn(arn)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_export_not_found_exception() => {
                    ExportError::ExportNotFound(format!("{arn}: {}", describe(&e).1))
                }
                Some(s) if s.is_limit_exceeded_exception() => {
                    ExportError::LimitExceeded(describe(&e).1)
                }
                _ => other(&e),
            })?;
        let d = out.export_description().ok_or_else(|| {
            ExportError::Fault(format!("DescribeExport of {arn} returned no description"))
        })?;
        match d.export_status() {
            Some(SdkStatus::InProgress) => Ok(ExportStatus::InProgress),
            Some(SdkStatus::Completed) => Ok(ExportStatus::Completed(ExportResult {
                item_count: d.item_count().unwrap_or(0),
                billed_size_bytes: d.billed_size_bytes().unwrap_or(0),
                start_time: secs(d.start_time()),
                end_time: secs(d.end_time()),
                manifest: d.export_manifest().map(str::to_owned),
            })),
            Some(SdkStatus::Failed) => Ok(ExportStatus::Failed {
                code: d.failure_code().unwrap_or("UNKNOWN").to_string(),
                message: d.failure_message().unwrap_or_default().to_string(),
            }),
            other => Err(ExportError::Fault(format!(
                "export {arn} has unexpected status {other:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{meta, mock_sdk};
    use aws_sdk_dynamodb::operation::describe_continuous_backups::{
        DescribeContinuousBackupsError, DescribeContinuousBackupsOutput,
    };
    use aws_sdk_dynamodb::operation::describe_export::{DescribeExportError, DescribeExportOutput};
    use aws_sdk_dynamodb::operation::describe_table::{DescribeTableError, DescribeTableOutput};
    use aws_sdk_dynamodb::operation::export_table_to_point_in_time::ExportTableToPointInTimeOutput;
    use aws_sdk_dynamodb::types::error::{
        ExportConflictException, ExportNotFoundException, InvalidExportTimeException,
        LimitExceededException, PointInTimeRecoveryUnavailableException, ResourceNotFoundException,
        TableNotFoundException,
    };
    use aws_sdk_dynamodb::types::{
        ContinuousBackupsDescription, ContinuousBackupsStatus, ExportDescription,
        PointInTimeRecoveryDescription, TableDescription,
    };
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, Rule, RuleMode};
    use incx_core::domain::export::Span;

    const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
    const EXPORT_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/export/01";

    fn describe_table() -> Rule {
        mock!(Client::describe_table)
            .match_requests(|r| r.table_name() == Some("orders"))
            .then_output(|| {
                DescribeTableOutput::builder()
                    .table(TableDescription::builder().table_arn(TABLE_ARN).build())
                    .build()
            })
    }

    fn started() -> Rule {
        mock!(Client::export_table_to_point_in_time).then_output(|| {
            ExportTableToPointInTimeOutput::builder()
                .export_description(ExportDescription::builder().export_arn(EXPORT_ARN).build())
                .build()
        })
    }

    fn request(kind: ExportKind) -> ExportRequest {
        ExportRequest {
            kind,
            span: Span {
                from: (kind == ExportKind::Incremental).then_some(1_700_000_100),
                to: 1_700_001_000,
            },
            client_token: "token-1".into(),
            bucket: "bucket".into(),
            prefix: Some("exports".into()),
            format: "DYNAMODB_JSON".into(),
            view_type: "NEW_IMAGE".into(),
            kms_key: None,
            from_ms: None,
        }
    }

    fn backups(status: PointInTimeRecoveryStatus, window: bool) -> Rule {
        mock!(Client::describe_continuous_backups).then_output(move || {
            let mut pitr = PointInTimeRecoveryDescription::builder()
                .point_in_time_recovery_status(status.clone());
            if window {
                pitr = pitr
                    .earliest_restorable_date_time(DateTime::from_secs(1_600_000_000))
                    .latest_restorable_date_time(DateTime::from_secs(1_700_000_000));
            }
            DescribeContinuousBackupsOutput::builder()
                .continuous_backups_description(
                    ContinuousBackupsDescription::builder()
                        .continuous_backups_status(ContinuousBackupsStatus::Enabled)
                        .point_in_time_recovery_description(pitr.build())
                        .build()
                        .unwrap(),
                )
                .build()
        })
    }

    #[tokio::test]
    async fn reports_the_pitr_window_or_its_absence() {
        let on = backups(PointInTimeRecoveryStatus::Enabled, true);
        let off = backups(PointInTimeRecoveryStatus::Disabled, false);
        let broken = backups(PointInTimeRecoveryStatus::Enabled, false);
        let gone = mock!(Client::describe_continuous_backups).then_error(|| {
            DescribeContinuousBackupsError::TableNotFoundException(
                TableNotFoundException::builder().build(),
            )
        });
        let client = mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&on, &off, &broken, &gone]
        );
        let s = DynamoExportService::new(client, "orders");
        assert_eq!(
            s.backups().await,
            Ok(Pitr::Enabled {
                earliest: 1_600_000_000,
                latest: 1_700_000_000
            })
        );
        assert_eq!(s.backups().await, Ok(Pitr::Disabled));
        assert!(matches!(s.backups().await, Err(ExportError::Fault(_))));
        assert!(matches!(
            s.backups().await,
            Err(ExportError::TableNotFound(_))
        ));
    }

    #[tokio::test]
    async fn full_export_asks_for_the_point_in_time() {
        let rule = mock!(Client::export_table_to_point_in_time)
            .match_requests(|r| {
                r.table_arn() == Some(TABLE_ARN)
                    && r.client_token() == Some("token-1")
                    && r.s3_bucket() == Some("bucket")
                    && r.s3_prefix() == Some("exports")
                    && r.export_format() == Some(&ExportFormat::DynamodbJson)
                    && r.export_type() == Some(&ExportType::FullExport)
                    && r.export_time() == Some(&DateTime::from_secs(1_700_001_000))
                    && r.incremental_export_specification().is_none()
                    && r.s3_sse_algorithm().is_none()
            })
            .then_output(|| {
                ExportTableToPointInTimeOutput::builder()
                    .export_description(ExportDescription::builder().export_arn(EXPORT_ARN).build())
                    .build()
            });
        let (table, second) = (describe_table(), started());
        // The ARN is looked up once: a second DescribeTable would find no rule.
        let client = mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&table, &rule, &second]
        );
        let s = DynamoExportService::new(client, "orders");
        assert_eq!(
            s.start(&request(ExportKind::Full)).await.unwrap(),
            EXPORT_ARN
        );
        assert_eq!(
            s.start(&request(ExportKind::Full)).await.unwrap(),
            EXPORT_ARN
        );
        assert_eq!(
            (table.num_calls(), rule.num_calls(), second.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn incremental_export_asks_for_the_window() {
        let rule = mock!(Client::export_table_to_point_in_time)
            .match_requests(|r| {
                let spec = r.incremental_export_specification();
                r.export_type() == Some(&ExportType::IncrementalExport)
                    && r.export_time().is_none()
                    && spec.and_then(|s| s.export_from_time())
                        == Some(&DateTime::from_secs(1_700_000_100))
                    && spec.and_then(|s| s.export_to_time())
                        == Some(&DateTime::from_secs(1_700_001_000))
                    && spec.and_then(|s| s.export_view_type()) == Some(&ExportViewType::NewImage)
                    && r.s3_sse_algorithm() == Some(&S3SseAlgorithm::Kms)
                    && r.s3_sse_kms_key_id() == Some("arn:aws:kms:us-east-1:1:key/k")
            })
            .then_output(|| {
                ExportTableToPointInTimeOutput::builder()
                    .export_description(ExportDescription::builder().export_arn(EXPORT_ARN).build())
                    .build()
            });
        let table = describe_table();
        let s = DynamoExportService::new(
            mock_sdk!(aws_sdk_dynamodb, RuleMode::Sequential, [&table, &rule]),
            "orders",
        );
        let encrypted = ExportRequest {
            kms_key: Some("arn:aws:kms:us-east-1:1:key/k".into()),
            ..request(ExportKind::Incremental)
        };
        assert_eq!(s.start(&encrypted).await.unwrap(), EXPORT_ARN);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn finds_the_export_the_service_made_for_a_request() {
        use aws_sdk_dynamodb::operation::list_exports::ListExportsOutput;
        use aws_sdk_dynamodb::types::ExportSummary;
        let arn = |ms: i64, n: u8| format!("{TABLE_ARN}/export/0{ms}-0000000{n}");
        let (old, other, ours) = (
            arn(1_600_000_000_000, 1),
            arn(1_700_002_000_000, 2),
            arn(1_700_002_100_000, 3),
        );
        let summaries = [old.clone(), other.clone(), ours.clone()];
        let list = mock!(Client::list_exports)
            .match_requests(|r| r.table_arn() == Some(TABLE_ARN))
            .then_output(move || {
                let mut out = ListExportsOutput::builder();
                for a in &summaries {
                    out = out.export_summaries(
                        ExportSummary::builder()
                            .export_arn(a)
                            .export_type(ExportType::IncrementalExport)
                            .build(),
                    );
                }
                out.build()
            });
        let window = |from: i64| {
            IncrementalExportSpecification::builder()
                .export_from_time(DateTime::from_secs(from))
                .export_to_time(DateTime::from_secs(1_700_001_000))
                .build()
        };
        let (other_arn, our_arn) = (other.clone(), ours.clone());
        let other_described = mock!(Client::describe_export)
            .match_requests(move |r| r.export_arn() == Some(other_arn.as_str()))
            .then_output(move || {
                DescribeExportOutput::builder()
                    .export_description(
                        ExportDescription::builder()
                            .client_token("someone-else")
                            .export_type(ExportType::IncrementalExport)
                            .incremental_export_specification(window(1_700_000_000))
                            .s3_bucket("bucket")
                            .s3_prefix("exports")
                            .build(),
                    )
                    .build()
            });
        let ours_described = mock!(Client::describe_export)
            .match_requests(move |r| r.export_arn() == Some(our_arn.as_str()))
            .then_output(move || {
                DescribeExportOutput::builder()
                    .export_description(
                        // Another token (an earlier attempt's), same window
                        // and destination: the service made this one.
                        ExportDescription::builder()
                            .client_token("forgotten")
                            .export_type(ExportType::IncrementalExport)
                            .incremental_export_specification(window(1_700_000_100))
                            .s3_bucket("bucket")
                            .s3_prefix("exports")
                            .build(),
                    )
                    .build()
            });
        let table = describe_table();
        let s = DynamoExportService::new(
            mock_sdk!(
                aws_sdk_dynamodb,
                RuleMode::Sequential,
                [&table, &list, &other_described, &ours_described]
            ),
            "orders",
        );
        // The old export is skipped by its id's time, without a DescribeExport.
        let found = s
            .find(&request(ExportKind::Incremental), 1_700_001_500)
            .await
            .unwrap();
        assert_eq!(found, Some(ours));
        assert_eq!(
            (other_described.num_calls(), ours_described.num_calls()),
            (1, 1)
        );
    }

    #[tokio::test]
    async fn refusals_map_to_what_the_domain_acts_on() {
        type Case = (fn() -> StartError, fn(&ExportError) -> bool);
        let cases: [Case; 7] = [
            (
                || {
                    StartError::PointInTimeRecoveryUnavailableException(
                        PointInTimeRecoveryUnavailableException::builder()
                            .message("off")
                            .build(),
                    )
                },
                |e| matches!(e, ExportError::PitrUnavailable(d) if d.contains("off")),
            ),
            (
                || {
                    StartError::InvalidExportTimeException(
                        InvalidExportTimeException::builder().build(),
                    )
                },
                |e| matches!(e, ExportError::InvalidExportTime(_)),
            ),
            (
                || StartError::ExportConflictException(ExportConflictException::builder().build()),
                |e| matches!(e, ExportError::Conflict(_)),
            ),
            (
                || StartError::TableNotFoundException(TableNotFoundException::builder().build()),
                |e| matches!(e, ExportError::TableNotFound(_)),
            ),
            (
                || StartError::LimitExceededException(LimitExceededException::builder().build()),
                |e| matches!(e, ExportError::LimitExceeded(_)),
            ),
            (
                || StartError::generic(meta("ThrottlingException", "slow down")),
                |e| matches!(e, ExportError::Throttled(_)),
            ),
            (
                || StartError::generic(meta("AccessDeniedException", "no s3:PutObject")),
                |e| matches!(e, ExportError::Fault(d) if d == "AccessDeniedException: no s3:PutObject"),
            ),
        ];
        let table = describe_table();
        let rules: Vec<Rule> = cases
            .iter()
            .map(|(err, _)| mock!(Client::export_table_to_point_in_time).then_error(*err))
            .collect();
        let client = mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            std::iter::once(&table).chain(&rules)
        );
        let s = DynamoExportService::new(client, "orders");
        for (_, check) in cases {
            let e = s
                .start(&request(ExportKind::Incremental))
                .await
                .unwrap_err();
            assert!(check(&e), "{e:?}");
        }
    }

    #[tokio::test]
    async fn missing_table_is_found_before_the_export() {
        let rule = mock!(Client::describe_table).then_error(|| {
            DescribeTableError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        });
        let s = DynamoExportService::new(
            mock_sdk!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]),
            "orders",
        );
        assert!(
            matches!(s.start(&request(ExportKind::Full)).await, Err(ExportError::TableNotFound(d)) if d.contains("orders"))
        );
    }

    #[tokio::test]
    async fn describe_reads_progress_figures_and_failures() {
        let running = mock!(Client::describe_export)
            .match_requests(|r| r.export_arn() == Some(EXPORT_ARN))
            .then_output(|| {
                DescribeExportOutput::builder()
                    .export_description(
                        ExportDescription::builder()
                            .export_status(SdkStatus::InProgress)
                            .build(),
                    )
                    .build()
            });
        let done = mock!(Client::describe_export).then_output(|| {
            DescribeExportOutput::builder()
                .export_description(
                    ExportDescription::builder()
                        .export_status(SdkStatus::Completed)
                        .item_count(42)
                        .billed_size_bytes(4096)
                        .start_time(DateTime::from_secs(1_700_001_100))
                        .end_time(DateTime::from_secs(1_700_001_400))
                        .export_manifest("exports/AWSDynamoDB/01/manifest-summary.json")
                        .build(),
                )
                .build()
        });
        let failed = mock!(Client::describe_export).then_output(|| {
            DescribeExportOutput::builder()
                .export_description(
                    ExportDescription::builder()
                        .export_status(SdkStatus::Failed)
                        .failure_code("S3NoSuchBucket")
                        .failure_message("The bucket does not exist")
                        .build(),
                )
                .build()
        });
        let gone = mock!(Client::describe_export).then_error(|| {
            DescribeExportError::ExportNotFoundException(ExportNotFoundException::builder().build())
        });
        let client = mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&running, &done, &failed, &gone]
        );
        let s = DynamoExportService::new(client, "orders");
        assert_eq!(s.describe(EXPORT_ARN).await, Ok(ExportStatus::InProgress));
        assert_eq!(
            s.describe(EXPORT_ARN).await,
            Ok(ExportStatus::Completed(ExportResult {
                item_count: 42,
                billed_size_bytes: 4096,
                start_time: Some(1_700_001_100),
                end_time: Some(1_700_001_400),
                manifest: Some("exports/AWSDynamoDB/01/manifest-summary.json".into()),
            }))
        );
        assert_eq!(
            s.describe(EXPORT_ARN).await,
            Ok(ExportStatus::Failed {
                code: "S3NoSuchBucket".into(),
                message: "The bucket does not exist".into()
            })
        );
        assert!(
            matches!(s.describe(EXPORT_ARN).await, Err(ExportError::ExportNotFound(d)) if d.contains(EXPORT_ARN))
        );
    }
}
