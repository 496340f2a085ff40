//! Comparing the rebuilt table state with the live table's items: missing
//! (in the chain, not the table), extra (in the table only) and different.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::ValueError;
use super::state::{key_of, TableState};
use super::value::{canonical_item, Item};

/// The outcome of a comparison; keys as canonical DynamoDB JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Distinct keys seen on either side.
    pub compared: u64,
    /// Keys in the chain's state but not in the table.
    pub missing: Vec<String>,
    /// Keys in the table but not in the chain's state.
    pub extra: Vec<String>,
    /// Keys on both sides with different items.
    pub different: Vec<String>,
}

impl Comparison {
    /// Missing, extra and different items together.
    pub fn differences(&self) -> u64 {
        (self.missing.len() + self.extra.len() + self.different.len()) as u64
    }
}

/// Compares `state` with `table_items` (DynamoDB JSON items), both keyed by
/// `key_attributes`.
pub fn compare_with_table(
    state: &TableState,
    table_items: &[Value],
    key_attributes: &[String],
) -> Result<Comparison, ValueError> {
    let chain: BTreeMap<String, &Item> = state
        .items()
        .map(|item| Ok((key_of(item, key_attributes)?, item)))
        .collect::<Result<_, ValueError>>()?;
    let table: BTreeMap<String, Item> = table_items
        .iter()
        .map(|value| {
            let item = canonical_item(value)?;
            Ok((key_of(&item, key_attributes)?, item))
        })
        .collect::<Result<_, ValueError>>()?;
    let mut out = Comparison::default();
    for (key, item) in &chain {
        match table.get(key) {
            None => out.missing.push(key.clone()),
            Some(live) if live != *item => out.different.push(key.clone()),
            Some(_) => {}
        }
    }
    out.extra = table
        .keys()
        .filter(|k| !chain.contains_key(*k))
        .cloned()
        .collect();
    out.compared = (chain.len() + out.extra.len()) as u64;
    Ok(out)
}
