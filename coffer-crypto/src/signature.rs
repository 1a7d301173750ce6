//! Signatures of outgoing webhook requests: HMAC-SHA256 under the webhook's secret over
//! `<timestamp>.<body>`, in the `sha256=<hex>` form GitHub's webhooks made common, so receivers
//! can check them with any HMAC library. The timestamp (unix seconds, sent beside the body)
//! is signed with it, as Stripe does, so a receiver can refuse a request recorded and
//! replayed later: one whose timestamp is too far from its own clock.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_timestamp_and_the_body_like_any_hmac_sha256() {
        // Python: hmac.new(b"Jefe", b"1733580000.what do ya want for nothing?", sha256)
        assert_eq!(
            sign(b"Jefe", 1_733_580_000, b"what do ya want for nothing?"),
            "sha256=3b51b19e0e75603f1523a9dbebf4f67aad3b2d811bc1bfbedf823fe6f5ba6611"
        );
        assert_ne!(
            sign(b"Jefe", 1_733_580_001, b"what do ya want for nothing?"),
            sign(b"Jefe", 1_733_580_000, b"what do ya want for nothing?"),
            "another time is another signature"
        );
        assert_ne!(
            sign(b"Jefe", 1_733_580_000, b"what do ya want for nothing!"),
            sign(b"Jefe", 1_733_580_000, b"what do ya want for nothing?")
        );
    }
}
