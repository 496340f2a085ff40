//! Export times: parsed from a manifest's JSON (RFC 3339 text or epoch
//! seconds) into epoch milliseconds, rendered back as UTC text or epoch
//! seconds. The text format is the core's (`incx_core::domain::timefmt`).

use incx_core::domain::timefmt::{parse_rfc3339_millis, rfc3339_millis};
use serde::Serializer;
use serde_json::{Number, Value};

/// Parses a manifest time: an RFC 3339 / ISO 8601 string such as
/// `2023-11-14T22:13:20.028Z`, or a number of epoch seconds.
pub fn parse_time(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => parse_rfc3339_millis(text),
        Value::Number(n) => match n.as_i64() {
            Some(secs) => secs.checked_mul(1000),
            None => n.as_f64().map(|secs| (secs * 1000.0).round() as i64),
        },
        _ => None,
    }
}

/// UTC text of an epoch-milliseconds time, e.g. `2023-11-14T22:13:20Z`.
pub fn format_utc(ms: i64) -> String {
    rfc3339_millis(ms)
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
