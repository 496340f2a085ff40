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
    }
}
