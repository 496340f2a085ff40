//! Canonical DynamoDB-JSON values, so that equal items compare equal:
//! numbers normalised as text, sets sorted and de-duplicated, binary
//! re-encoded as standard padded base64, maps and lists recursively.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::{Map, Value};

use super::error::ValueError;
use super::number::normalize_number;

/// An item: attribute name to DynamoDB-JSON attribute value.
pub type Item = Map<String, Value>;

/// Canonicalises an item given as a JSON object of attribute values.
pub fn canonical_item(value: &Value) -> Result<Item, ValueError> {
    let object = value
        .as_object()
        .ok_or_else(|| ValueError::Invalid(format!("item is not an object: {}", brief(value))))?;
    canonical_map(object)
}

/// Canonicalises every attribute value of a map.
fn canonical_map(object: &Map<String, Value>) -> Result<Item, ValueError> {
    object
        .iter()
        .map(|(name, attr)| {
            canonical_attr(attr)
                .map(|v| (name.clone(), v))
                .map_err(|e| ValueError::Invalid(format!("attribute {name:?}: {e}")))
        })
        .collect()
}

/// Canonicalises one attribute value such as `{"N":"1.5E2"}`.
pub fn canonical_attr(value: &Value) -> Result<Value, ValueError> {
    let invalid = || ValueError::Invalid(format!("not an attribute value: {}", brief(value)));
    let object = value.as_object().ok_or_else(invalid)?;
    let mut entries = object.iter();
    let (tag, inner) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        _ => return Err(invalid()),
    };
    let canonical = match (tag.as_str(), inner) {
        ("S", Value::String(_)) | ("BOOL", Value::Bool(_)) | ("NULL", Value::Bool(true)) => {
            inner.clone()
        }
        ("N", Value::String(n)) => Value::String(normalize_number(n)?),
        ("B", Value::String(b)) => Value::String(canonical_binary(b)),
        ("M", Value::Object(map)) => Value::Object(canonical_map(map)?),
        ("L", Value::Array(list)) => {
            Value::Array(list.iter().map(canonical_attr).collect::<Result<_, _>>()?)
        }
        ("SS", Value::Array(list)) => canonical_set(list, |s| Ok(s.to_string()))?,
        ("NS", Value::Array(list)) => canonical_set(list, normalize_number)?,
        ("BS", Value::Array(list)) => canonical_set(list, |s| Ok(canonical_binary(s)))?,
        _ => return Err(invalid()),
    };
    let mut out = Map::new();
    out.insert(tag.clone(), canonical);
    Ok(Value::Object(out))
}

/// Sorts and de-duplicates a set's string members after normalising each.
fn canonical_set(
    members: &[Value],
    normalise: impl Fn(&str) -> Result<String, ValueError>,
) -> Result<Value, ValueError> {
    let mut out = members
        .iter()
        .map(|m| match m {
            Value::String(s) => normalise(s),
            other => Err(ValueError::Invalid(format!("set member {}", brief(other)))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(Value::Array(out.into_iter().map(Value::String).collect()))
}

/// Standard padded base64 of the decoded bytes; text that is not base64 is
/// kept as it is (it then compares as text).
fn canonical_binary(text: &str) -> String {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .map(|bytes| STANDARD.encode(bytes))
        .unwrap_or_else(|_| text.to_string())
}

/// A short rendering of a JSON value for error messages.
pub(crate) fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_compare_order_insensitively() {
        let a = canonical_attr(&json!({"NS": ["2", "1.0", "1E0"]})).unwrap();
        let b = canonical_attr(&json!({"NS": ["1", "2"]})).unwrap();
        assert_eq!(a, b);
        let a = canonical_attr(&json!({"SS": ["b", "a"]})).unwrap();
        assert_eq!(a, json!({"SS": ["a", "b"]}));
    }

    #[test]
    fn binary_is_reencoded() {
        let a = canonical_attr(&json!({"B": "AQI"})).unwrap();
        assert_eq!(a, json!({"B": "AQI="}));
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            json!({"N": 1}),
            json!({"S": "a", "N": "1"}),
            json!({"X": "a"}),
            json!({"NULL": false}),
            json!("plain"),
            json!({"NS": [1]}),
        ] {
            assert!(canonical_attr(&bad).is_err(), "{bad} accepted");
        }
    }
}
