//! Opaque secrets handed to clients (API tokens, share links): 256 random bits from the
//! operating system, base64url, behind an optional prefix that says what they are. Only their
//! SHA-256 is stored, so a database leak yields nothing usable; no slow hash is needed, since
//! 256 random bits cannot be guessed.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh secret: `prefix` and 43 URL-safe characters.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a secret: its SHA-256, hex.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether a row found by its digest really holds `digest`, compared in constant time: the
/// lookup's own comparison is the database's, and this one cannot leak by timing.
pub fn same_digest(stored: &str, digest: &str) -> bool {
    bool::from(stored.as_bytes().ct_eq(digest.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_random_url_safe_bits_behind_their_prefix() {
        let (a, b) = (generate("p_"), generate("p_"));
        assert_ne!(a, b);
        let body = a.strip_prefix("p_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert!(body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(digest(&a).len(), 64);
        assert!(!digest(&a).contains(body));
        assert_ne!(digest(&a), digest(&b));
        assert!(same_digest(&digest(&a), &digest(&a)));
        assert!(!same_digest(&digest(&a), &digest(&b)));
    }
}
