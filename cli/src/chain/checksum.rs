//! MD5 checks: data files against `md5Checksum` in the manifest, manifests
//! against their sibling `.md5` (real exports) or `.checksum` (the docs)
//! file. Digests are accepted as base64 or hex.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest, Md5};

use super::error::StoreError;
use super::store::ObjectStore;

/// Suffixes tried, in order, for a manifest's checksum file.
const CHECKSUM_SUFFIXES: [&str; 2] = [".md5", ".checksum"];

/// Base64 of the MD5 of `bytes`, as the service writes it.
pub fn md5_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// Whether `expected` (base64 or hex, surrounding whitespace ignored) is the
/// MD5 of `bytes`.
pub fn digest_matches(expected: &str, bytes: &[u8]) -> bool {
    let digest = Md5::digest(bytes);
    let expected = expected.trim();
    if let Ok(decoded) = STANDARD.decode(expected) {
        if decoded.as_slice() == digest.as_slice() {
            return true;
        }
    }
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    expected.eq_ignore_ascii_case(&hex)
}

/// The outcome of checking a manifest against its checksum file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestChecksum {
    /// The checksum file `key` matched.
    Valid { key: String },
    /// Neither `.md5` nor `.checksum` exists.
    Missing,
    /// The checksum file `key` holds `expected`; the object's MD5 is `actual`.
    Mismatch {
        key: String,
        expected: String,
        actual: String,
    },
}

/// Checks `bytes` (the object at `json_key`) against its checksum file.
pub async fn verify_manifest<S: ObjectStore>(
    store: &S,
    json_key: &str,
    bytes: &[u8],
) -> Result<ManifestChecksum, StoreError> {
    let stem = json_key.strip_suffix(".json").unwrap_or(json_key);
    for suffix in CHECKSUM_SUFFIXES {
        let key = format!("{stem}{suffix}");
        match store.get(&key).await {
            Ok(body) => {
                let expected = String::from_utf8_lossy(&body).trim().to_string();
                return Ok(if digest_matches(&expected, bytes) {
                    ManifestChecksum::Valid { key }
                } else {
                    ManifestChecksum::Mismatch {
                        key,
                        expected,
                        actual: md5_base64(bytes),
                    }
                });
            }
            Err(StoreError::NotFound(_)) => continue,
            Err(other) => return Err(other),
        }
    }
    Ok(ManifestChecksum::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_base64_and_hex() {
        let body = b"hello";
        assert_eq!(md5_base64(body), "XUFAKrxLKna5cZ2REBfFkg==");
        assert!(digest_matches("XUFAKrxLKna5cZ2REBfFkg==\n", body));
        assert!(digest_matches("5d41402abc4b2a76b9719d911017c592", body));
        assert!(digest_matches("5D41402ABC4B2A76B9719D911017C592", body));
        assert!(!digest_matches("XUFAKrxLKna5cZ2REBfFkA==", body));
        assert!(!digest_matches("", body));
    }
}
