//! Comparing two table states item for item: the chain's with the live
//! table's or with a full export's. Both are read in the same order (key
//! hash, then key), so the comparison is a merge that holds one row of
//! each side at a time, whatever the table's size. It counts every
//! difference and keeps the first keys of each kind.

use super::error::ValueError;
use super::item::item_json;
use super::parse::LineParser;
use super::pipeline::KeySpec;
use super::state::{StateBuilder, StateCursor, TableState, Version};

/// Keys of each kind of difference a comparison keeps.
pub const FIRST_KEYS_KEPT: usize = 100;

/// The outcome of a comparison; keys as canonical DynamoDB JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Distinct keys seen on either side.
    pub compared: u64,
    /// The first keys in the chain's state but not on the other side.
    pub missing: Vec<String>,
    /// The first keys on the other side but not in the chain's state.
    pub extra: Vec<String>,
    /// The first keys on both sides with different items.
    pub different: Vec<String>,
    /// How many keys are missing, extra and different.
    pub missing_count: u64,
    pub extra_count: u64,
    pub different_count: u64,
}

impl Comparison {
    /// Missing, extra and different items together.
    pub fn differences(&self) -> u64 {
        self.missing_count + self.extra_count + self.different_count
    }

    fn note(list: &mut Vec<String>, count: &mut u64, key: &[u8]) {
        *count += 1;
        if list.len() < FIRST_KEYS_KEPT {
            list.push(item_json(key).unwrap_or_else(|e| format!("(unreadable key: {e})")));
        }
    }
}

fn io(e: std::io::Error) -> ValueError {
    ValueError::Invalid(format!("reading the state from local disk: {e}"))
}

/// Compares the chain's state with another state of the same table.
pub fn compare_states(chain: &TableState, other: &TableState) -> Result<Comparison, ValueError> {
    let mut out = Comparison::default();
    let (mut a, mut b): (StateCursor<'_>, StateCursor<'_>) = (chain.cursor(), other.cursor());
    let (mut has_a, mut has_b) = (a.advance().map_err(io)?, b.advance().map_err(io)?);
    while has_a || has_b {
        let order = match (has_a, has_b) {
            (true, true) => (a.hash(), a.key()).cmp(&(b.hash(), b.key())),
            (true, false) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        out.compared += 1;
        match order {
            std::cmp::Ordering::Less => {
                Comparison::note(&mut out.missing, &mut out.missing_count, a.key());
                has_a = a.advance().map_err(io)?;
            }
            std::cmp::Ordering::Greater => {
                Comparison::note(&mut out.extra, &mut out.extra_count, b.key());
                has_b = b.advance().map_err(io)?;
            }
            std::cmp::Ordering::Equal => {
                if a.image() != b.image() {
                    Comparison::note(&mut out.different, &mut out.different_count, a.key());
                }
                has_a = a.advance().map_err(io)?;
                has_b = b.advance().map_err(io)?;
            }
        }
    }
    Ok(out)
}

/// Compares `state` with `table_items` (DynamoDB JSON items), both keyed by
/// `key_attributes`: for small tables held as JSON, as in tests.
pub fn compare_with_table(
    state: &TableState,
    table_items: &[serde_json::Value],
    key_attributes: &[String],
) -> Result<Comparison, ValueError> {
    let keys = KeySpec::new(Some(key_attributes));
    let builder = StateBuilder::new(super::DEFAULT_BUDGET, None);
    let mut parser = LineParser::new();
    let (mut item, mut key) = (Vec::new(), Vec::new());
    for value in table_items {
        item.clear();
        let line = serde_json::json!({ "Item": value }).to_string();
        parser.full_line(line.as_bytes(), &mut item)?;
        keys.key_of(&item, &mut key)?;
        builder
            .insert(&key, Version::default(), Some(&item))
            .map_err(io)?;
    }
    let (table, _) = builder.finish().map_err(io)?;
    compare_states(state, &table)
}
