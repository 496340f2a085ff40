//! Export times: parsed from ISO 8601 text (or epoch seconds) into epoch
//! milliseconds, rendered back as UTC text or epoch seconds.

use serde::Serializer;
use serde_json::{Number, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses a manifest time: an RFC 3339 / ISO 8601 string such as
/// `2023-11-14T22:13:20.028Z`, or a number of epoch seconds.
pub fn parse_time(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => {
            let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
            i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
        }
        Value::Number(n) => match n.as_i64() {
            Some(secs) => secs.checked_mul(1000),
            None => n.as_f64().map(|secs| (secs * 1000.0).round() as i64),
        },
        _ => None,
    }
}

/// UTC text of an epoch-milliseconds time, e.g. `2023-11-14T22:13:20Z`.
pub fn format_utc(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ms}ms"))
}

/// Epoch seconds as a JSON number: an integer when whole, else a decimal.
pub fn seconds_value(ms: i64) -> Value {
    if ms % 1000 == 0 {
        Value::Number(Number::from(ms / 1000))
    } else {
        Number::from_f64(ms as f64 / 1000.0).map_or(Value::Null, Value::Number)
    }
}

/// Serde helper: serialises epoch milliseconds as epoch seconds.
pub fn serialize_seconds<S: Serializer>(ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&seconds_value(*ms), serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_formats_times() {
        assert_eq!(
            parse_time(&json!("2023-11-14T22:13:20Z")),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_time(&json!("2023-11-14T22:13:20.028Z")),
            Some(1_700_000_000_028)
        );
        assert_eq!(
            parse_time(&json!("2023-11-14T23:13:20+01:00")),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_time(&json!(1_700_000_000)), Some(1_700_000_000_000));
        assert_eq!(parse_time(&json!("yesterday")), None);
        assert_eq!(format_utc(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(seconds_value(1_700_000_000_000), json!(1_700_000_000));
        assert_eq!(seconds_value(1_700_000_000_500), json!(1_700_000_000.5));
    }
}
