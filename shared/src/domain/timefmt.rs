//! RFC 3339 formatting and parsing of epoch seconds, as the original sample
//! wrote times into SSM and notifications (`2024-01-01T00:15:00Z`).

use super::Epoch;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Formats epoch seconds as RFC 3339 in UTC; out-of-range values fall back to
/// the number itself so that a message is never lost over a formatting error.
pub fn rfc3339(t: Epoch) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// Parses an RFC 3339 time into epoch seconds (fractions are truncated).
pub fn parse_rfc3339(s: &str) -> Option<Epoch> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .map(|d| d.unix_timestamp())
}

/// Formats epoch milliseconds as RFC 3339 in UTC (fractions only when not
/// whole seconds), as export manifests carry times.
pub fn rfc3339_millis(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ms}ms"))
}

/// Parses an RFC 3339 time into epoch milliseconds.
pub fn parse_rfc3339_millis(s: &str) -> Option<i64> {
    let d = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(d.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(rfc3339(1_700_000_100), "2023-11-14T22:15:00Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:15:00Z"), Some(1_700_000_100));
        assert_eq!(
            parse_rfc3339("2023-11-14T22:15:00.999Z"),
            Some(1_700_000_100)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(
            parse_rfc3339_millis("2023-11-14T22:13:20.028Z"),
            Some(1_700_000_000_028)
        );
        assert_eq!(rfc3339_millis(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_millis(1_700_000_000_500), "2023-11-14T22:13:20.5Z");
    }
}
