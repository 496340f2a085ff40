//! The ledger in a DynamoDB table: the head item at `(<alias>, HEAD)`, one
//! catalog item per finished export at `(<alias>, EXPORT#...)`.
//!
//! Every head write is conditional on the version that was read, so two
//! executions can never both advance the chain.

use crate::sdk::{describe, is_throttling, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use incx_core::domain::ledger::{CatalogEntry, Head};
use incx_core::error::CoreError;
use incx_core::ports::Ledger;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::error::Error;
use std::fmt::Debug;

type Item = HashMap<String, AttributeValue>;

const HEAD_SK: &str = "HEAD";
const ENTRY_PREFIX: &str = "EXPORT#";

#[derive(Debug)]
pub struct DynamoLedger {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub alias: String,
}

/// The condition of a head write, with its names and values.
struct Condition {
    expression: &'static str,
    names: HashMap<String, String>,
    values: Option<Item>,
}

fn condition(expected: Option<u64>) -> Condition {
    match expected {
        None => Condition {
            expression: "attribute_not_exists(pk)",
            names: HashMap::new(),
            values: None,
        },
        Some(v) => Condition {
            expression: "#v = :v",
            names: HashMap::from([("#v".to_string(), "version".to_string())]),
            values: Some(HashMap::from([(
                ":v".to_string(),
                AttributeValue::N(v.to_string()),
            )])),
        },
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

impl DynamoLedger {
    /// The ledger table named by `LEDGER_TABLE`, on the shared SDK configuration.
    pub fn from_env(
        sdk: &aws_config::SdkConfig,
        alias: &str,
    ) -> Result<Self, incx_core::config::ConfigError> {
        let table = incx_core::config::Env::new(|k| std::env::var(k).ok())
            .text(incx_core::config::vars::LEDGER_TABLE)?;
        Ok(Self::new(aws_sdk_dynamodb::Client::new(sdk), table, alias))
    }

    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        alias: impl Into<String>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            alias: alias.into(),
        }
    }

    fn item(&self, value: &impl Serialize, sk: &str) -> Result<Item, CoreError> {
        encode(&self.alias, value, sk)
    }

    fn fault<E, R>(&self, err: &SdkError<E, R>) -> CoreError
    where
        E: ProvideErrorMetadata + Error + 'static,
        R: Debug,
    {
        let (code, detail) = describe(err);
        match code.as_deref() {
            // A transaction touching the same item is as transient as throttling.
            c if is_throttling(c) || c == Some("TransactionConflictException") => {
                CoreError::throttled("dynamodb", detail)
            }
            Some("ResourceNotFoundException") => CoreError::service(
                "dynamodb",
                format!("ledger table {} not found: {detail}", self.table),
            ),
            _ => CoreError::service("dynamodb", format!("ledger table {}: {detail}", self.table)),
        }
    }

    /// Catalog entries, in either order, following pages until `limit`.
    async fn query(
        &self,
        ascending: bool,
        limit: Option<usize>,
    ) -> Result<Vec<CatalogEntry>, CoreError> {
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let left = limit.map(|n| i32::try_from(n - entries.len()).unwrap_or(i32::MAX));
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_names("#sk", "sk")
                .expression_attribute_values(":pk", s(&self.alias))
                .expression_attribute_values(":prefix", s(ENTRY_PREFIX))
                .scan_index_forward(ascending)
                // The entry is written with the head: a reader that just saw
                // the head must see the entry too.
                .consistent_read(true)
                .set_limit(left)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.fault(&e))?;
            for item in page.items() {
                entries.push(decode(item.clone(), "catalog entry")?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() && limit.is_none_or(|n| entries.len() < n) => {
                    start = Some(key)
                }
                _ => return Ok(entries),
            }
        }
    }
}

fn encode(alias: &str, value: &impl Serialize, sk: &str) -> Result<Item, CoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| {
        CoreError::service(
            "dynamodb",
            format!("cannot serialize ledger item {sk}: {e}"),
        )
    })?;
    item.insert("pk".into(), s(alias));
    item.insert("sk".into(), s(sk));
    Ok(item)
}

fn decode<T: DeserializeOwned>(mut item: Item, what: &str) -> Result<T, CoreError> {
    let sk = match item.remove("sk") {
        Some(AttributeValue::S(sk)) => sk,
        _ => String::from("(no sk)"),
    };
    item.remove("pk");
    serde_dynamo::from_item(item).map_err(|e| {
        CoreError::service(
            "dynamodb",
            format!("ledger {what} item is malformed ({sk}): {e}"),
        )
    })
}

impl Ledger for DynamoLedger {
    async fn head(&self) -> Result<Option<Head>, CoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&self.alias))
            .key("sk", s(HEAD_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fault(&e))?;
        out.item.map(|item| decode(item, "head")).transpose()
    }

    async fn put_head(&self, head: &Head, expected: Option<u64>) -> Result<bool, CoreError> {
        let c = condition(expected);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(head, HEAD_SK)?))
            .condition_expression(c.expression)
            .set_expression_attribute_names((!c.names.is_empty()).then_some(c.names))
            .set_expression_attribute_values(c.values)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.fault(&e)),
        }
    }

    async fn put_head_with_entry(
        &self,
        head: &Head,
        expected: Option<u64>,
        entry: &CatalogEntry,
    ) -> Result<bool, CoreError> {
        let c = condition(expected);
        let bad = |e: aws_smithy_types::error::operation::BuildError| {
            CoreError::service("dynamodb", e.to_string())
        };
        let head_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(head, HEAD_SK)?))
            .condition_expression(c.expression)
            .set_expression_attribute_names((!c.names.is_empty()).then_some(c.names))
            .set_expression_attribute_values(c.values)
            .build()
            .map_err(bad)?;
        let entry_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.item(entry, &entry.sort_key())?))
            .build()
            .map_err(bad)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(head_put).build())
            .transact_items(TransactWriteItem::builder().put(entry_put).build())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(true),
            Err(e) => e,
        };
        let reasons: Vec<&str> = match err.as_service_error() {
            Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t)) => {
                t.cancellation_reasons().iter().filter_map(|r| r.code()).collect()
            }
            _ => Vec::new(),
        };
        if reasons.contains(&"ConditionalCheckFailed") {
            return Ok(false);
        }
        let transient = [
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
        ];
        if reasons.iter().any(|r| transient.contains(r)) {
            let (_, detail) = describe(&err);
            return Err(CoreError::throttled(
                "dynamodb",
                format!("{detail} (reasons: {reasons:?})"),
            ));
        }
        Err(self.fault(&err))
    }

    async fn recent(&self, limit: usize) -> Result<Vec<CatalogEntry>, CoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.query(false, Some(limit)).await
    }

    async fn catalog(&self) -> Result<Vec<CatalogEntry>, CoreError> {
        self.query(true, None).await
    }

    async fn entry(&self, sort_key: &str) -> Result<Option<CatalogEntry>, CoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&self.alias))
            .key("sk", s(sort_key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fault(&e))?;
        out.item
            .map(|item| decode(item, "catalog entry"))
            .transpose()
    }

    async fn mark_announced(&self, sort_key: &str) -> Result<(), CoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&self.alias))
            .key("sk", s(sort_key))
            .update_expression("SET #a = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#a", "announced")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // No such entry (it never was recorded): nothing to mark.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.fault(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::{meta, mock_sdk};
    use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::operation::transact_write_items::{
        TransactWriteItemsError, TransactWriteItemsOutput,
    };
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
        ResourceNotFoundException, TransactionCanceledException,
    };
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use incx_core::domain::export::{ExportKind, Span};
    use incx_core::domain::ledger::{CatalogStatus, InFlight, Intent, Mode};

    fn head() -> Head {
        Head {
            version: 7,
            mode: Mode::Incremental,
            chain: 2,
            full_export_time: Some(1_700_000_000),
            watermark: Some(1_700_000_900),
            in_flight: Some(InFlight {
                intent: Intent {
                    kind: ExportKind::Incremental,
                    span: Span {
                        from: Some(1_700_000_900),
                        to: 1_700_001_800,
                    },
                    attempt: 1,
                    client_token: "tok".into(),
                    started_at: 1_700_002_000,
                    chain: 2,
                    reset_version: Some(4),
                    reset_modified: Some(4_000),
                    from_ms: None,
                    note: None,
                },
                export_arn: None,
                watcher: Some("exec".into()),
                watch_until: Some(1_700_003_000),
                polls: 2,
            }),
            ..Head::default()
        }
    }

    fn entry(to: i64) -> CatalogEntry {
        CatalogEntry {
            chain: 2,
            kind: ExportKind::Incremental,
            span: Span {
                from: Some(to - 900),
                to,
            },
            attempt: 1,
            export_arn: "arn:aws:dynamodb:us-east-1:1:table/t/export/x".into(),
            status: CatalogStatus::Completed,
            item_count: 5,
            billed_size_bytes: 100,
            manifest: Some("p/AWSDynamoDB/x/manifest-summary.json".into()),
            started_at: to + 60,
            start_time: Some(to + 61),
            end_time: Some(to + 300),
            failure_code: None,
            failure_message: None,
            recorded_at: to + 400,
            announced: false,
            note: None,
        }
    }

    fn ledger(client: Client) -> DynamoLedger {
        DynamoLedger::new(client, "ledger", "o1")
    }

    #[test]
    fn head_and_entry_survive_the_item_format() {
        let item = encode("o1", &head(), HEAD_SK).unwrap();
        assert_eq!(item.get("pk"), Some(&s("o1")));
        assert_eq!(item.get("version"), Some(&AttributeValue::N("7".into())));
        assert_eq!(decode::<Head>(item, "head").unwrap(), head());
        let e = entry(1_700_001_800);
        let item = encode("o1", &e, &e.sort_key()).unwrap();
        assert_eq!(item.get("sk"), Some(&s("EXPORT#000002#001700001800#0001")));
        assert_eq!(decode::<CatalogEntry>(item, "catalog entry").unwrap(), e);
    }

    #[tokio::test]
    async fn reads_the_head_consistently() {
        let found = mock!(Client::get_item)
            .match_requests(|r| {
                r.consistent_read() == Some(true)
                    && r.table_name() == Some("ledger")
                    && r.key().and_then(|k| k.get("sk")) == Some(&s("HEAD"))
            })
            .then_output(|| {
                GetItemOutput::builder()
                    .set_item(encode("o1", &head(), HEAD_SK).ok())
                    .build()
            });
        let missing = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let malformed = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("pk", s("o1"))
                .item("version", s("seven"))
                .build()
        });
        let l = ledger(mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&found, &missing, &malformed]
        ));
        assert_eq!(l.head().await.unwrap(), Some(head()));
        assert_eq!(l.head().await.unwrap(), None);
        let e = l.head().await.unwrap_err();
        assert!(
            e.to_string().contains("ledger head item is malformed"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn put_head_conditions_on_the_version() {
        let first = mock!(Client::put_item)
            .match_requests(|r| {
                r.condition_expression() == Some("attribute_not_exists(pk)")
                    && r.expression_attribute_values().is_none()
            })
            .then_output(|| PutItemOutput::builder().build());
        let stale = mock!(Client::put_item)
            .match_requests(|r| {
                r.condition_expression() == Some("#v = :v")
                    && r.expression_attribute_names()
                        .and_then(|n| n.get("#v"))
                        .map(String::as_str)
                        == Some("version")
                    && r.expression_attribute_values().and_then(|v| v.get(":v"))
                        == Some(&AttributeValue::N("6".into()))
                    && r.item().and_then(|i| i.get("version"))
                        == Some(&AttributeValue::N("7".into()))
            })
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder().build(),
                )
            });
        let l = ledger(mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&first, &stale]
        ));
        assert!(l.put_head(&head(), None).await.unwrap());
        assert!(!l.put_head(&head(), Some(6)).await.unwrap());
        assert_eq!((first.num_calls(), stale.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn throttling_and_a_missing_table_are_told_apart() {
        let throttled = mock!(Client::put_item).then_error(|| {
            PutItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .meta(meta("ProvisionedThroughputExceededException", "slow down"))
                    .build(),
            )
        });
        let limited = mock!(Client::get_item)
            .then_error(|| GetItemError::generic(meta("ThrottlingException", "slow")));
        let missing = mock!(Client::get_item).then_error(|| {
            GetItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .meta(meta(
                        "ResourceNotFoundException",
                        "Requested resource not found",
                    ))
                    .build(),
            )
        });
        let l = ledger(mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&throttled, &limited, &missing]
        ));
        assert_eq!(
            l.put_head(&head(), Some(6)).await.unwrap_err().error_type(),
            "Throttled"
        );
        assert_eq!(l.head().await.unwrap_err().error_type(), "Throttled");
        let e = l.head().await.unwrap_err();
        assert_eq!(e.error_type(), "ServiceFault");
        assert!(
            e.to_string().contains("ledger table ledger not found"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn head_and_entry_are_written_together() {
        let ok = mock!(Client::transact_write_items)
            .match_requests(|r| {
                let items = r.transact_items();
                let head = items.first().and_then(|i| i.put());
                let entry = items.get(1).and_then(|i| i.put());
                items.len() == 2
                    && head.is_some_and(|p| p.condition_expression() == Some("#v = :v"))
                    && entry.is_some_and(|p| {
                        p.condition_expression().is_none()
                            && p.item().get("sk") == Some(&s("EXPORT#000002#001700001800#0001"))
                    })
            })
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let lost = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(
                        CancellationReason::builder()
                            .code("ConditionalCheckFailed")
                            .build(),
                    )
                    .cancellation_reasons(CancellationReason::builder().code("None").build())
                    .build(),
            )
        });
        let conflict = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(
                        CancellationReason::builder()
                            .code("TransactionConflict")
                            .build(),
                    )
                    .build(),
            )
        });
        let l = ledger(mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&ok, &lost, &conflict]
        ));
        let e = entry(1_700_001_800);
        assert!(l.put_head_with_entry(&head(), Some(6), &e).await.unwrap());
        assert!(!l.put_head_with_entry(&head(), Some(6), &e).await.unwrap());
        let err = l
            .put_head_with_entry(&head(), Some(6), &e)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "Throttled", "{err}");
    }

    #[tokio::test]
    async fn recent_is_newest_first_and_catalog_follows_pages() {
        let item = |to: i64| {
            let e = entry(to);
            encode("o1", &e, &e.sort_key()).unwrap()
        };
        let (i1, i2, i3) = (item(1_000), item(2_000), item(3_000));
        let (n3, n2) = (i3.clone(), i2.clone());
        let recent = mock!(Client::query)
            .match_requests(|r| {
                r.scan_index_forward() == Some(false)
                    && r.limit() == Some(2)
                    && r.key_condition_expression()
                        == Some("#pk = :pk AND begins_with(#sk, :prefix)")
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":prefix"))
                        == Some(&s("EXPORT#"))
            })
            .then_output(move || {
                QueryOutput::builder()
                    .items(n3.clone())
                    .items(n2.clone())
                    .build()
            });
        let key = i1.clone();
        let page1 = mock!(Client::query)
            .match_requests(|r| {
                r.scan_index_forward() == Some(true) && r.exclusive_start_key().is_none()
            })
            .then_output(move || {
                QueryOutput::builder()
                    .items(i1.clone())
                    .set_last_evaluated_key(Some(key.clone()))
                    .build()
            });
        let page2 = mock!(Client::query)
            .match_requests(|r| r.exclusive_start_key().is_some() && r.limit().is_none())
            .then_output(move || {
                QueryOutput::builder()
                    .items(i2.clone())
                    .items(i3.clone())
                    .build()
            });
        let l = ledger(mock_sdk!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            [&recent, &page1, &page2]
        ));
        let to = |v: Vec<CatalogEntry>| v.iter().map(|e| e.span.to).collect::<Vec<_>>();
        assert_eq!(to(l.recent(2).await.unwrap()), [3_000, 2_000]);
        assert_eq!(to(l.catalog().await.unwrap()), [1_000, 2_000, 3_000]);
        assert!(l.recent(0).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn reads_one_entry_and_marks_it_announced() {
        let e = entry(1_700_001_800);
        let key = e.sort_key();
        let stored = encode("o1", &e, &key).unwrap();
        let get = mock!(Client::get_item)
            .match_requests(move |r| {
                r.key().and_then(|k| k.get("sk")) == Some(&AttributeValue::S(key.clone()))
                    && r.consistent_read() == Some(true)
            })
            .then_output(move || {
                GetItemOutput::builder()
                    .set_item(Some(stored.clone()))
                    .build()
            });
        let mark = mock!(Client::update_item)
            .match_requests(|r| {
                r.update_expression() == Some("SET #a = :t")
                    && r.condition_expression() == Some("attribute_exists(pk)")
            })
            .then_output(|| {
                aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
            });
        let gone = mock!(Client::update_item).then_error(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let ledger = DynamoLedger::new(
            mock_sdk!(aws_sdk_dynamodb, RuleMode::Sequential, [&get, &mark, &gone]),
            "ledger",
            "o1",
        );
        assert_eq!(ledger.entry(&e.sort_key()).await.unwrap(), Some(e.clone()));
        ledger.mark_announced(&e.sort_key()).await.unwrap();
        // An entry that is not there: nothing to mark, not a fault.
        ledger.mark_announced("EXPORT#nope").await.unwrap();
        assert_eq!((mark.num_calls(), gone.num_calls()), (1, 1));
    }
}
