//! The table state being rebuilt: items keyed by their key attributes.
//! Until the key attributes are known (given, described, or inferred from
//! the first incremental line), full-export items wait in a list.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::ValueError;
use super::records::Change;
use super::value::Item;

/// Items by key, plus how the key is made.
#[derive(Debug, Clone, Default)]
pub struct TableState {
    key_attributes: Option<Vec<String>>,
    pending: Vec<Item>,
    items: BTreeMap<String, Item>,
}

/// The key of `item` for `attributes`: the key attributes as canonical
/// DynamoDB JSON text, e.g. `{"pk":{"S":"a"}}`.
pub fn key_of(item: &Item, attributes: &[String]) -> Result<String, ValueError> {
    let mut key = Map::new();
    for name in attributes {
        let value = item
            .get(name)
            .ok_or_else(|| ValueError::MissingKey(name.clone()))?;
        key.insert(name.clone(), value.clone());
    }
    Ok(Value::Object(key).to_string())
}

impl TableState {
    /// An empty table; `key_attributes` may be unknown yet.
    pub fn new(key_attributes: Option<Vec<String>>) -> Self {
        Self {
            key_attributes: key_attributes.filter(|k| !k.is_empty()),
            ..Self::default()
        }
    }

    /// The key attributes, once known.
    pub fn key_attributes(&self) -> Option<&[String]> {
        self.key_attributes.as_deref()
    }

    /// Sets the key attributes if unknown and files the waiting items,
    /// returning the errors of items without them.
    pub fn set_key_attributes(&mut self, attributes: Vec<String>) -> Vec<ValueError> {
        if self.key_attributes.is_some() || attributes.is_empty() {
            return Vec::new();
        }
        self.key_attributes = Some(attributes);
        std::mem::take(&mut self.pending)
            .into_iter()
            .filter_map(|item| self.insert_item(item).err())
            .collect()
    }

    /// Puts an item of the full export.
    pub fn insert_item(&mut self, item: Item) -> Result<(), ValueError> {
        match &self.key_attributes {
            Some(attributes) => {
                let key = key_of(&item, attributes)?;
                self.items.insert(key, item);
            }
            None => self.pending.push(item),
        }
        Ok(())
    }

    /// Applies an incremental change: put `NewImage`, or remove `Keys`.
    pub fn apply_change(&mut self, change: Change) -> Result<(), ValueError> {
        let attributes = self
            .key_attributes
            .as_deref()
            .ok_or_else(|| ValueError::Invalid("key attributes unknown".into()))?;
        let key = key_of(&change.keys, attributes)?;
        match change.new_image {
            Some(image) => self.items.insert(key, image),
            None => self.items.remove(&key),
        };
        Ok(())
    }

    /// Ends the read: with the key attributes still unknown (no change
    /// line at all), items are keyed by their whole content, and a warning
    /// says so.
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() && self.key_attributes.is_some() {
            return None;
        }
        for item in std::mem::take(&mut self.pending) {
            self.items
                .insert(Value::Object(item.clone()).to_string(), item);
        }
        Some("key attributes unknown (no --key-attributes, no --table, no change lines): items keyed by their whole content".into())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len() + self.pending.len()
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items, as canonical DynamoDB JSON, in key order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values().chain(self.pending.iter())
    }

    /// The item with the key text `key` (see [`key_of`]).
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.items.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn waits_for_key_attributes_then_applies() {
        let mut state = TableState::new(None);
        state
            .insert_item(item(json!({"pk": {"S": "a"}, "v": {"N": "1"}})))
            .unwrap();
        state.insert_item(item(json!({"v": {"N": "2"}}))).unwrap();
        assert!(state
            .apply_change(Change {
                keys: item(json!({"pk": {"S": "a"}})),
                new_image: None
            })
            .is_err());
        let errors = state.set_key_attributes(vec!["pk".into()]);
        assert_eq!(errors, [ValueError::MissingKey("pk".into())]);
        assert_eq!(state.len(), 1);
        state
            .apply_change(Change {
                keys: item(json!({"pk": {"S": "a"}})),
                new_image: None,
            })
            .unwrap();
        assert!(state.is_empty());
        assert!(state.finish().is_none());
    }
}
