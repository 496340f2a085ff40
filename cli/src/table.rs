//! The live table in DynamoDB: its key attributes (DescribeTable) and its
//! items (paginated, strongly consistent Scan) as DynamoDB JSON.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType};
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};
use thiserror::Error;

/// A failure reading the table.
#[derive(Debug, Error)]
pub enum TableError {
    /// The table does not exist.
    #[error("table {0:?} not found")]
    NotFound(String),
    /// The credentials may not read the table.
    #[error("access denied to table {table:?}: {message}")]
    AccessDenied {
        /// The table.
        table: String,
        /// The service's message.
        message: String,
    },
    /// Any other failure.
    #[error("DynamoDB error on table {table:?}: {message}")]
    Other {
        /// The table.
        table: String,
        /// What happened.
        message: String,
    },
}

fn classify<E>(
    err: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    table: &str,
) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some("ResourceNotFoundException") => TableError::NotFound(table.to_string()),
        Some("AccessDeniedException" | "UnrecognizedClientException") => TableError::AccessDenied {
            table: table.to_string(),
            message: err.message().unwrap_or("forbidden").to_string(),
        },
        _ => TableError::Other {
            table: table.to_string(),
            message: DisplayErrorContext(&err).to_string(),
        },
    }
}

/// The table's key attribute names, partition key first.
pub async fn describe_key_attributes(
    client: &Client,
    table: &str,
) -> Result<Vec<String>, TableError> {
    let output = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| classify(e, table))?;
    let mut schema: Vec<(bool, String)> = output
        .table()
        .map(|t| t.key_schema())
        .unwrap_or_default()
        .iter()
        .map(|k| {
            (
                k.key_type() != &KeyType::Hash,
                k.attribute_name().to_string(),
            )
        })
        .collect();
    schema.sort();
    if schema.is_empty() {
        return Err(TableError::Other {
            table: table.to_string(),
            message: "DescribeTable returned no key schema".into(),
        });
    }
    Ok(schema.into_iter().map(|(_, name)| name).collect())
}

/// Every item of the table, read with strongly consistent Scan pages.
pub async fn scan_items(
    client: &Client,
    table: &str,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Value>, TableError> {
    let mut pages = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .send();
    let mut items = Vec::new();
    let mut page_count = 0u64;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify(e, table))?;
        items.extend(page.items().iter().map(|item| {
            Value::Object(
                item.iter()
                    .map(|(k, v)| (k.clone(), attribute_json(v)))
                    .collect::<Map<_, _>>(),
            )
        }));
        page_count += 1;
        if page_count % 10 == 0 {
            progress(&format!("scanned {} items of {table} ...", items.len()));
        }
    }
    Ok(items)
}

/// An attribute value as DynamoDB JSON (`{"S":"a"}`, `{"N":"1"}`, ...).
pub fn attribute_json(value: &AttributeValue) -> Value {
    let b64 = |b: &Blob| Value::String(STANDARD.encode(b.as_ref()));
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(v) => json!({ "SS": strings(v) }),
        AttributeValue::Ns(v) => json!({ "NS": strings(v) }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({
            "M": m.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect::<Map<_, _>>()
        }),
        other => json!({ "UNSUPPORTED": format!("{other:?}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn converts_attribute_values_to_dynamodb_json() {
        let value = AttributeValue::M(HashMap::from([
            ("b".to_string(), AttributeValue::B(Blob::new(vec![1u8, 2]))),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::Null(true)]),
            ),
            ("ns".to_string(), AttributeValue::Ns(vec!["1".into()])),
        ]));
        assert_eq!(
            attribute_json(&value),
            json!({"M": {"b": {"B": "AQI="}, "l": {"L": [{"NULL": true}]}, "ns": {"NS": ["1"]}}})
        );
    }
}
