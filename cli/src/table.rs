//! The live table in DynamoDB: its key attributes and size
//! (DescribeTable) and its items (paginated, strongly consistent Scan),
//! scanned straight into a state in the compact form of the chain reader,
//! so that a table of any size is compared within the memory budget.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeyType};
use aws_sdk_dynamodb::Client;
use thiserror::Error;

use crate::chain::item::{self, tag};
use crate::chain::{KeySpec, StateBuilder, ValueError, Version};

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

/// The table's size in bytes as DynamoDB last measured it (about every
/// six hours).
pub async fn table_size_bytes(client: &Client, table: &str) -> Result<i64, TableError> {
    let output = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| classify(e, table))?;
    Ok(output
        .table()
        .and_then(|t| t.table_size_bytes())
        .unwrap_or(0))
}

/// Scans every item of the table (strongly consistent) into `state`,
/// keyed by `keys`; the number of items.
pub async fn scan_into(
    client: &Client,
    table: &str,
    keys: &KeySpec,
    state: &StateBuilder,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<u64, TableError> {
    let mut pages = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .send();
    let mut count = 0u64;
    let mut page_count = 0u64;
    let (mut item, mut key) = (Vec::new(), Vec::new());
    let bad = |message: String| TableError::Other {
        table: table.to_string(),
        message,
    };
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify(e, table))?;
        for attributes in page.items() {
            item.clear();
            put_map(attributes, &mut item, 0).map_err(|e| bad(format!("an item: {e}")))?;
            keys.key_of(&item, &mut key)
                .map_err(|e| bad(format!("an item: {e}")))?;
            state
                .insert(&key, Version::default(), Some(&item))
                .map_err(|e| bad(format!("writing the scan to local disk: {e}")))?;
            count += 1;
        }
        page_count += 1;
        if page_count % 10 == 0 {
            progress(&format!("scanned {count} items of {table} ..."));
        }
    }
    Ok(count)
}

/// An item or map in the chain reader's compact form.
fn put_map(
    attributes: &HashMap<String, AttributeValue>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), ValueError> {
    let mut values = Vec::with_capacity(attributes.len());
    for (name, value) in attributes {
        let mut encoded = Vec::new();
        put_value(value, &mut encoded, depth + 1)?;
        values.push((name.as_bytes(), encoded));
    }
    let mut entries: Vec<(&[u8], &[u8])> = values.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    item::put_entries(out, &mut entries)
}

fn put_value(value: &AttributeValue, out: &mut Vec<u8>, depth: usize) -> Result<(), ValueError> {
    if depth > item::MAX_DEPTH {
        return Err(ValueError::Invalid("nested too deep".into()));
    }
    let numbers = |v: &[String]| -> Result<Vec<Vec<u8>>, ValueError> {
        v.iter()
            .map(|n| item::number_text(n.as_bytes()).map(|t| t.into_owned()))
            .collect()
    };
    match value {
        AttributeValue::S(s) => {
            out.push(tag::S);
            item::put_bytes(out, s.as_bytes());
        }
        AttributeValue::N(n) => item::put_number(out, n.as_bytes())?,
        AttributeValue::B(b) => {
            out.push(tag::B);
            item::put_bytes(out, b.as_ref());
        }
        AttributeValue::Bool(b) => out.push(if *b { tag::TRUE } else { tag::FALSE }),
        AttributeValue::Null(_) => out.push(tag::NULL),
        AttributeValue::Ss(v) => {
            item::put_set(out, tag::SS, &mut v.iter().map(|s| s.as_bytes()).collect())
        }
        AttributeValue::Ns(v) => {
            let texts = numbers(v)?;
            item::put_set(out, tag::NS, &mut texts.iter().map(Vec::as_slice).collect());
        }
        AttributeValue::Bs(v) => {
            item::put_set(out, tag::BS, &mut v.iter().map(Blob::as_ref).collect())
        }
        AttributeValue::L(v) => {
            out.push(tag::L);
            item::put_varint(out, v.len() as u64);
            for member in v {
                put_value(member, out, depth + 1)?;
            }
        }
        AttributeValue::M(m) => {
            out.push(tag::M);
            put_map(m, out, depth)?;
        }
        other => {
            return Err(ValueError::Invalid(format!(
                "attribute value of an unknown type: {other:?}"
            )))
        }
    }
    Ok(())
}

/// An item as DynamoDB JSON (`{"a":{"S":"x"}}`).
pub fn item_json(attributes: &HashMap<String, AttributeValue>) -> Result<String, ValueError> {
    let mut encoded = Vec::new();
    put_map(attributes, &mut encoded, 0)?;
    item::item_json(&encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_become_canonical_dynamodb_json() {
        let item = HashMap::from([
            ("b".to_string(), AttributeValue::B(Blob::new(vec![1u8, 2]))),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::Null(true)]),
            ),
            (
                "ns".to_string(),
                AttributeValue::Ns(vec!["2".into(), "1.0E0".into()]),
            ),
            (
                "a".to_string(),
                AttributeValue::M(HashMap::from([(
                    "n".to_string(),
                    AttributeValue::N("1.5E2".into()),
                )])),
            ),
        ]);
        assert_eq!(
            item_json(&item).unwrap(),
            r#"{"a":{"M":{"n":{"N":"150"}}},"b":{"B":"AQI="},"l":{"L":[{"NULL":true}]},"ns":{"NS":["1","2"]}}"#
        );
    }
}
