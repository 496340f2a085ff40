//! The deterministic client token of an export request.
//!
//! The service treats identical requests with the same ClientToken (within
//! 8 hours) as one export. Hashing (alias, type, from, to, attempt) means a
//! retried or resumed call can never start a second export of one window,
//! while a new attempt after a failure gets a fresh export.

use super::export::{ExportKind, Span};
use super::Epoch;

/// How long after its intent an export never confirmed (no ARN recorded) is
/// asked for again with its client token without looking first: safely
/// under the 8 hours the service remembers a token after its export
/// finished. Older, start-export first asks the service whether it made an
/// export of that window (it lists exports for 90 days).
pub const TOKEN_SAFE_AGE: Epoch = 7 * 3600;
use sha2::{Digest, Sha256};

/// 40 hexadecimal digits: short, and well inside the service's token limit.
pub fn client_token(alias: &str, kind: ExportKind, span: Span, attempt: u32) -> String {
    let from = span.from.map(|f| f.to_string()).unwrap_or_default();
    let text = format!("{alias}|{}|{from}|{}|{attempt}", kind.as_str(), span.to);
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(digest)[..40].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(from: i64, to: i64) -> Span {
        Span {
            from: Some(from),
            to,
        }
    }

    #[test]
    fn is_deterministic_and_distinguishes_every_input() {
        let base = client_token("orders", ExportKind::Incremental, span(0, 900), 1);
        assert_eq!(
            base,
            client_token("orders", ExportKind::Incremental, span(0, 900), 1)
        );
        assert_eq!(base.len(), 40);
        let others = [
            client_token("orderz", ExportKind::Incremental, span(0, 900), 1),
            client_token("orders", ExportKind::Full, span(0, 900), 1),
            client_token("orders", ExportKind::Incremental, span(1, 900), 1),
            client_token("orders", ExportKind::Incremental, span(0, 901), 1),
            client_token("orders", ExportKind::Incremental, span(0, 900), 2),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }
}
