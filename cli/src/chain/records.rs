//! The lines of export data files: `{"Item":{...}}` in a full export;
//! `{"Metadata":...,"Keys":{...},"OldImage":{...},"NewImage":{...}}` in an
//! incremental export, where a line without `NewImage` is a delete.

use serde_json::Value;

use super::error::ValueError;
use super::value::{brief, canonical_item, Item};

/// One changed item of an incremental export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The item's key attributes.
    pub keys: Item,
    /// The item after the change; `None` for a delete.
    pub new_image: Option<Item>,
}

impl Change {
    /// Names of the key attributes, sorted.
    pub fn key_names(&self) -> Vec<String> {
        self.keys.keys().cloned().collect()
    }
}

/// Parses a full-export line into a canonical item.
pub fn parse_item_line(line: &str) -> Result<Item, ValueError> {
    let value = parse_object(line)?;
    let item = value
        .get("Item")
        .ok_or_else(|| ValueError::Invalid(format!("line without Item: {}", brief(&value))))?;
    canonical_item(item)
}

/// Parses an incremental-export line into a change.
pub fn parse_change_line(line: &str) -> Result<Change, ValueError> {
    let value = parse_object(line)?;
    let keys = value
        .get("Keys")
        .ok_or_else(|| ValueError::Invalid(format!("line without Keys: {}", brief(&value))))?;
    let keys = canonical_item(keys)?;
    if keys.is_empty() {
        return Err(ValueError::Invalid("empty Keys".into()));
    }
    let new_image = match value.get("NewImage") {
        None | Some(Value::Null) => None,
        Some(image) => Some(canonical_item(image)?),
    };
    Ok(Change { keys, new_image })
}

fn parse_object(line: &str) -> Result<Value, ValueError> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| ValueError::Invalid(format!("not JSON: {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(ValueError::Invalid(format!(
            "not an object: {}",
            brief(&value)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_items_and_changes() {
        let item = parse_item_line(r#"{"Item":{"pk":{"S":"a"},"n":{"N":"1.5E2"}}}"#).unwrap();
        assert_eq!(item["n"], json!({"N": "150"}));
        let put = parse_change_line(
            r#"{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"}}}"#,
        )
        .unwrap();
        assert!(put.new_image.is_some());
        assert_eq!(put.key_names(), ["pk"]);
        let delete =
            parse_change_line(r#"{"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"}}}"#).unwrap();
        assert!(delete.new_image.is_none());
        assert!(parse_change_line(r#"{"NewImage":{}}"#).is_err());
        assert!(parse_item_line("[1]").is_err());
    }
}
