//! The IAM actions behind each port method, as these adapters call the
//! services. The tests below record the SDK operations each method really
//! sends (an interceptor on the client) and hold [`ACTIONS`] to them; the
//! simulation records which port methods each function calls
//! (`contracts/port_calls.json`); together they give each function's
//! permissions, which `tests/infra/test_least_privilege.py` compares with
//! its role in the template. Nothing is listed by hand but what no SDK call
//! shows: what a service does with the caller's credentials ([`IMPLIED`]).

/// Port method → the IAM actions its SDK calls need.
pub const ACTIONS: &[(&str, &[&str])] = &[
    ("ControlStore.read_action", &["ssm:GetParameter"]),
    (
        "ControlStore.create_action",
        &["ssm:PutParameter", "ssm:GetParameter"],
    ),
    (
        "ControlStore.set_action_if",
        &["ssm:PutParameter", "ssm:GetParameterHistory"],
    ),
    ("ControlStore.read_mirrors", &["ssm:GetParameters"]),
    (
        "ControlStore.write_mirror",
        &["ssm:PutParameter", "ssm:DeleteParameter"],
    ),
    ("Ledger.head", &["dynamodb:GetItem"]),
    ("Ledger.put_head", &["dynamodb:PutItem"]),
    // TransactWriteItems is authorised as its parts: two puts.
    ("Ledger.put_head_with_entry", &["dynamodb:PutItem"]),
    ("Ledger.recent", &["dynamodb:Query"]),
    ("Ledger.catalog", &["dynamodb:Query"]),
    ("Ledger.entry", &["dynamodb:GetItem"]),
    ("Ledger.mark_announced", &["dynamodb:UpdateItem"]),
    (
        "ExportService.backups",
        &["dynamodb:DescribeContinuousBackups"],
    ),
    (
        "ExportService.start",
        &[
            "dynamodb:DescribeTable",
            "dynamodb:ExportTableToPointInTime",
        ],
    ),
    ("ExportService.describe", &["dynamodb:DescribeExport"]),
    (
        "ExportService.find",
        &[
            "dynamodb:DescribeTable",
            "dynamodb:ListExports",
            "dynamodb:DescribeExport",
        ],
    ),
    ("Notifier.publish", &["sns:Publish"]),
    ("Runs.start_run", &["states:StartExecution"]),
    ("PublishedExports.list", &["s3:ListBucket", "s3:GetObject"]),
];

/// Port method → actions the service takes with the caller's credentials,
/// which no SDK call of ours shows: an export writes its files into the
/// bucket (encrypted with the KMS key it names), SNS encrypts a message
/// with the topic's key.
pub const IMPLIED: &[(&str, &[&str])] = &[
    (
        "ExportService.start",
        &[
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:PutObjectAcl",
            "kms:GenerateDataKey",
            "kms:Decrypt",
        ],
    ),
    ("Notifier.publish", &["kms:GenerateDataKey", "kms:Decrypt"]),
    // Summaries in a bucket encrypted with the stack's key.
    ("PublishedExports.list", &["kms:Decrypt"]),
];

/// The IAM actions an SDK operation (`service:Operation`) needs.
pub fn iam_actions(operation: &str) -> Vec<String> {
    match operation {
        "dynamodb:TransactWriteItems" => vec!["dynamodb:PutItem".into()],
        "s3:ListObjectsV2" => vec!["s3:ListBucket".into()],
        other => vec![other.to_string()],
    }
}

#[cfg(all(
    test,
    feature = "ssm",
    feature = "dynamodb",
    feature = "sns",
    feature = "sfn",
    feature = "s3"
))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sdk::{mock_sdk, Calls};
    use aws_smithy_mocks::{mock, RuleMode};
    use incx_core::domain::control::{Control, WorkflowAction};
    use incx_core::domain::export::{ExportKind, ExportRequest, Span};
    use incx_core::domain::ledger::{CatalogEntry, CatalogStatus, Head};
    use incx_core::domain::notification::{Notification, Status};
    use incx_core::ports::{ControlStore, ExportService, Ledger, Notifier, Runs};
    use std::collections::{BTreeMap, BTreeSet};

    /// What each method sent, over every path the tests take.
    #[derive(Default)]
    struct Seen(BTreeMap<&'static str, BTreeSet<String>>);

    impl Seen {
        fn note(&mut self, method: &'static str, calls: &Calls) {
            let actions = self.0.entry(method).or_default();
            for op in calls.take() {
                actions.extend(iam_actions(&op));
            }
        }
    }

    async fn ssm(seen: &mut Seen) {
        use aws_sdk_ssm::operation::delete_parameter::DeleteParameterOutput;
        use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
        use aws_sdk_ssm::operation::get_parameter_history::GetParameterHistoryOutput;
        use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
        use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
        use aws_sdk_ssm::types::{Parameter, ParameterHistory};
        use aws_sdk_ssm::Client;
        let calls = Calls::default();
        // Every put answers version 5; the history says who wrote 4.
        let rules = [
            mock!(Client::get_parameter)
                .sequence()
                .output(|| {
                    GetParameterOutput::builder()
                        .parameter(Parameter::builder().value("RUN").version(4).build())
                        .build()
                })
                .repeatedly()
                .build(),
            mock!(Client::put_parameter)
                .sequence()
                .output(|| PutParameterOutput::builder().version(5).build())
                .repeatedly()
                .build(),
            mock!(Client::get_parameter_history)
                .sequence()
                .output(|| {
                    GetParameterHistoryOutput::builder()
                        .parameters(
                            ParameterHistory::builder()
                                .version(4)
                                .value("PAUSE")
                                .build(),
                        )
                        .build()
                })
                .repeatedly()
                .build(),
            mock!(Client::get_parameters)
                .sequence()
                .output(|| GetParametersOutput::builder().build())
                .repeatedly()
                .build(),
            mock!(Client::delete_parameter)
                .sequence()
                .output(|| DeleteParameterOutput::builder().build())
                .repeatedly()
                .build(),
        ];
        let store = crate::ssm::SsmControlStore::new(
            mock_sdk!(aws_sdk_ssm, RuleMode::MatchAny, rules.iter(), calls.clone()),
            "o1",
        );
        store.read_action().await.unwrap();
        seen.note("ControlStore.read_action", &calls);
        store.create_action(WorkflowAction::Run).await.unwrap();
        seen.note("ControlStore.create_action", &calls);
        let at = |version| Control {
            value: Some("RESET_WITH_FULL_EXPORT_AGAIN".into()),
            version: Some(version),
            modified: None,
        };
        // Nobody raced (4 → 5), and someone did (3 → 5: version 4 is put back).
        store
            .set_action_if(WorkflowAction::Run, &at(4))
            .await
            .unwrap();
        let _ = store.set_action_if(WorkflowAction::Run, &at(3)).await;
        seen.note("ControlStore.set_action_if", &calls);
        store.read_mirrors().await.unwrap();
        seen.note("ControlStore.read_mirrors", &calls);
        store
            .write_mirror("workflow-state", Some("NORMAL"))
            .await
            .unwrap();
        store
            .write_mirror("last-incremental-export-time", None)
            .await
            .unwrap();
        seen.note("ControlStore.write_mirror", &calls);
    }

    async fn ledger(seen: &mut Seen) {
        use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
        use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
        use aws_sdk_dynamodb::operation::query::QueryOutput;
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
        use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
        use aws_sdk_dynamodb::Client;
        let calls = Calls::default();
        let rules = [
            mock!(Client::get_item)
                .sequence()
                .output(|| GetItemOutput::builder().build())
                .repeatedly()
                .build(),
            mock!(Client::put_item)
                .sequence()
                .output(|| PutItemOutput::builder().build())
                .repeatedly()
                .build(),
            mock!(Client::transact_write_items)
                .sequence()
                .output(|| TransactWriteItemsOutput::builder().build())
                .repeatedly()
                .build(),
            mock!(Client::query)
                .sequence()
                .output(|| QueryOutput::builder().build())
                .repeatedly()
                .build(),
            mock!(Client::update_item)
                .sequence()
                .output(|| UpdateItemOutput::builder().build())
                .repeatedly()
                .build(),
        ];
        let l = crate::ledger::DynamoLedger::new(
            mock_sdk!(
                aws_sdk_dynamodb,
                RuleMode::MatchAny,
                rules.iter(),
                calls.clone()
            ),
            "ledger",
            "o1",
        );
        let head = Head::default();
        l.head().await.unwrap();
        seen.note("Ledger.head", &calls);
        l.put_head(&head, None).await.unwrap();
        seen.note("Ledger.put_head", &calls);
        let entry = CatalogEntry {
            chain: 1,
            kind: ExportKind::Full,
            span: Span { from: None, to: 1 },
            attempt: 1,
            export_arn: "arn".into(),
            status: CatalogStatus::Completed,
            item_count: 0,
            billed_size_bytes: 0,
            manifest: None,
            started_at: 0,
            start_time: None,
            end_time: None,
            failure_code: None,
            failure_message: None,
            recorded_at: 0,
            announced: false,
            note: None,
        };
        l.put_head_with_entry(&head, None, &entry).await.unwrap();
        seen.note("Ledger.put_head_with_entry", &calls);
        l.recent(5).await.unwrap();
        seen.note("Ledger.recent", &calls);
        l.catalog().await.unwrap();
        seen.note("Ledger.catalog", &calls);
        l.entry("EXPORT#x").await.unwrap();
        seen.note("Ledger.entry", &calls);
        l.mark_announced("EXPORT#x").await.unwrap();
        seen.note("Ledger.mark_announced", &calls);
    }

    async fn exports(seen: &mut Seen) {
        use aws_sdk_dynamodb::operation::describe_continuous_backups::DescribeContinuousBackupsOutput;
        use aws_sdk_dynamodb::operation::describe_export::DescribeExportOutput;
        use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
        use aws_sdk_dynamodb::operation::export_table_to_point_in_time::ExportTableToPointInTimeOutput;
        use aws_sdk_dynamodb::operation::list_exports::ListExportsOutput;
        use aws_sdk_dynamodb::types::{
            ContinuousBackupsDescription, ContinuousBackupsStatus, ExportDescription, ExportStatus,
            ExportSummary, TableDescription,
        };
        use aws_sdk_dynamodb::Client;
        let table = "arn:aws:dynamodb:us-east-1:1:table/orders";
        let rules = [
            mock!(Client::describe_continuous_backups)
                .sequence()
                .output(|| {
                    DescribeContinuousBackupsOutput::builder()
                        .continuous_backups_description(
                            ContinuousBackupsDescription::builder()
                                .continuous_backups_status(ContinuousBackupsStatus::Enabled)
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .repeatedly()
                .build(),
            mock!(Client::describe_table)
                .sequence()
                .output(move || {
                    DescribeTableOutput::builder()
                        .table(TableDescription::builder().table_arn(table).build())
                        .build()
                })
                .repeatedly()
                .build(),
            mock!(Client::export_table_to_point_in_time)
                .sequence()
                .output(|| {
                    ExportTableToPointInTimeOutput::builder()
                        .export_description(
                            ExportDescription::builder().export_arn("arn:e").build(),
                        )
                        .build()
                })
                .repeatedly()
                .build(),
            mock!(Client::describe_export)
                .sequence()
                .output(|| {
                    DescribeExportOutput::builder()
                        .export_description(
                            ExportDescription::builder()
                                .export_arn("arn:e")
                                .export_status(ExportStatus::InProgress)
                                .build(),
                        )
                        .build()
                })
                .repeatedly()
                .build(),
            mock!(Client::list_exports)
                .sequence()
                .output(|| {
                    ListExportsOutput::builder()
                        .export_summaries(ExportSummary::builder().export_arn("arn:e").build())
                        .build()
                })
                .repeatedly()
                .build(),
        ];
        let request = ExportRequest {
            kind: ExportKind::Full,
            span: Span { from: None, to: 1 },
            client_token: "t".into(),
            bucket: "b".into(),
            prefix: None,
            format: "DYNAMODB_JSON".into(),
            view_type: "NEW_IMAGE".into(),
            kms_key: Some("k".into()),
            from_ms: None,
        };
        // A fresh adapter per method: the table's ARN is looked up once.
        let fresh = |calls: &Calls| {
            crate::export::DynamoExportService::new(
                mock_sdk!(
                    aws_sdk_dynamodb,
                    RuleMode::MatchAny,
                    rules.iter(),
                    calls.clone()
                ),
                "orders",
            )
        };
        let calls = Calls::default();
        let _ = fresh(&calls).backups().await;
        seen.note("ExportService.backups", &calls);
        fresh(&calls).start(&request).await.unwrap();
        seen.note("ExportService.start", &calls);
        fresh(&calls).describe("arn:e").await.unwrap();
        seen.note("ExportService.describe", &calls);
        fresh(&calls).find(&request, 0).await.unwrap();
        seen.note("ExportService.find", &calls);
    }

    async fn sns_and_sfn(seen: &mut Seen) {
        use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
        use aws_sdk_sns::operation::publish::PublishOutput;
        let calls = Calls::default();
        let publish = mock!(aws_sdk_sns::Client::publish)
            .then_output(|| PublishOutput::builder().message_id("m").build());
        let notifier = crate::sns::SnsNotifier::new(
            mock_sdk!(aws_sdk_sns, RuleMode::MatchAny, [&publish], calls.clone()),
            "arn:topic",
        );
        let n = Notification::fault("t", "e", "E", "c");
        assert_eq!(n.status, Status::Failed);
        notifier.publish(&n).await.unwrap();
        seen.note("Notifier.publish", &calls);
        let start = mock!(aws_sdk_sfn::Client::start_execution).then_output(|| {
            StartExecutionOutput::builder()
                .execution_arn("x")
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        });
        let runs = crate::sfn::StepFunctionsRuns::new(
            mock_sdk!(aws_sdk_sfn, RuleMode::MatchAny, [&start], calls.clone()),
            "arn:machine",
        );
        runs.start_run("r", &serde_json::json!({})).await.unwrap();
        seen.note("Runs.start_run", &calls);
    }

    async fn s3(seen: &mut Seen) {
        use aws_sdk_s3::operation::get_object::GetObjectOutput;
        use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
        use aws_sdk_s3::primitives::ByteStream;
        use aws_sdk_s3::types::Object;
        let calls = Calls::default();
        let list = mock!(aws_sdk_s3::Client::list_objects_v2).then_output(|| {
            ListObjectsV2Output::builder()
                .contents(
                    Object::builder()
                        .key("AWSDynamoDB/1-a/manifest-summary.json")
                        .build(),
                )
                .build()
        });
        let get = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from_static(
                    br#"{"exportTime":"2023-11-14T22:13:20Z"}"#,
                ))
                .build()
        });
        let bucket = crate::s3::S3PublishedExports {
            client: mock_sdk!(aws_sdk_s3, RuleMode::MatchAny, [&list, &get], calls.clone()),
            bucket: "b".into(),
            prefix: None,
        };
        use incx_core::ports::PublishedExports;
        assert_eq!(bucket.list().await.unwrap().len(), 1);
        seen.note("PublishedExports.list", &calls);
    }

    /// Every port method's SDK calls are what [`ACTIONS`] says, no more
    /// (a new call without its entry fails here) and no less.
    #[tokio::test]
    async fn the_table_is_what_the_adapters_call() {
        let mut seen = Seen::default();
        ssm(&mut seen).await;
        ledger(&mut seen).await;
        exports(&mut seen).await;
        sns_and_sfn(&mut seen).await;
        s3(&mut seen).await;
        let table: BTreeMap<&str, BTreeSet<String>> = ACTIONS
            .iter()
            .map(|(m, a)| (*m, a.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(seen.0, table);
        assert!(IMPLIED.iter().all(|(m, _)| table.contains_key(m)));
    }

    /// `contracts/adapter_actions.json`: the table, for the template test.
    #[test]
    fn adapter_actions_json_is_the_table() {
        let methods: BTreeMap<&str, serde_json::Value> = ACTIONS
            .iter()
            .map(|(m, actions)| {
                let implied = IMPLIED
                    .iter()
                    .find(|(i, _)| i == m)
                    .map_or(&[][..], |(_, a)| *a);
                (
                    *m,
                    serde_json::json!({ "calls": actions, "implied": implied }),
                )
            })
            .collect();
        let mut value = serde_json::json!({
            "_comment": "IAM actions behind each port method, held to the SDK calls the adapters make by aws/src/permissions.rs (INCX_BLESS=1 rewrites this file); tests/infra/test_least_privilege.py joins it with contracts/port_calls.json.",
            "methods": methods,
        });
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../contracts/adapter_actions.json");
        value.sort_all_objects();
        let text = format!("{}\n", serde_json::to_string_pretty(&value).unwrap());
        if std::env::var_os("INCX_BLESS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            text,
            "contracts/adapter_actions.json is stale: rerun with INCX_BLESS=1 and review the diff"
        );
    }
}
