//! Small values sealed under a file's data key but kept apart from its blob: what a resumable
//! upload carries from one request to the next (the plaintext of its unfinished segment, the
//! state of its running SHA-256), stored in the database between requests.
//!
//! They are sealed with AES-256-GCM under a key derived from the data key (HMAC-SHA256 with a
//! label of its own), never under the data key itself, and with a random 96-bit nonce. So an
//! aside value can never share a (key, nonce) pair with a segment of the blob, whose nonces
//! are counters under the data key; and sealing the same segment's beginning again and again,
//! request after request, never reuses a nonce either. The associated data ties a value to
//! where it belongs (the upload and the offset it was sealed at), so an old value put back in
//! the row fails to open.
//!
//! Sealed form: `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{CryptoError, DataKey};

const LABEL: &[u8] = b"coffer/aside/v1";
const NONCE_LEN: usize = 12;

fn cipher(key: &DataKey) -> Aes256Gcm {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(LABEL);
    let derived: Zeroizing<[u8; 32]> = Zeroizing::new(mac.finalize().into_bytes().into());
    Aes256Gcm::new((&*derived).into())
}

/// Seals `plain` under `key`, bound to `context`.
pub fn seal(key: &DataKey, context: &[u8], plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plain,
                aad: context,
            },
        )
        .map_err(|_| CryptoError::TooLarge)?;
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal`] made with the same key and context.
pub fn open(
    key: &DataKey,
    context: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (nonce, body) = sealed
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(CryptoError::Integrity)?;
    cipher(key)
        .decrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: body,
                aad: context,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Integrity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> DataKey {
        DataKey::from_bytes([n; 32])
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let sealed = seal(&key(1), b"upload 1 at 65536", b"partial segment").unwrap();
        assert_eq!(
            open(&key(1), b"upload 1 at 65536", &sealed)
                .unwrap()
                .as_slice(),
            b"partial segment"
        );
        assert_eq!(
            open(&key(2), b"upload 1 at 65536", &sealed),
            Err(CryptoError::Integrity)
        );
        assert_eq!(
            open(&key(1), b"upload 1 at 0", &sealed),
            Err(CryptoError::Integrity)
        );
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(&key(1), b"upload 1 at 65536", &flipped),
            Err(CryptoError::Integrity)
        );
        assert_eq!(open(&key(1), b"", &[0; 5]), Err(CryptoError::Integrity));
    }

    #[test]
    fn the_same_value_sealed_twice_looks_different_and_hides_its_bytes() {
        let a = seal(&key(1), b"c", &[7; 100]).unwrap();
        let b = seal(&key(1), b"c", &[7; 100]).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), NONCE_LEN + 100 + 16);
        assert!(!a.windows(8).any(|w| w == [7; 8]));
    }

    #[test]
    fn the_aside_key_is_not_the_data_key() {
        // A value sealed under the data key itself (as a segment is) does not open here.
        let data_key = key(3);
        let direct = Aes256Gcm::new(data_key.as_bytes().into());
        let nonce = [9u8; NONCE_LEN];
        let mut sealed = nonce.to_vec();
        sealed.extend(direct.encrypt(&Nonce::from(nonce), &b"x"[..]).unwrap());
        assert_eq!(open(&data_key, b"", &sealed), Err(CryptoError::Integrity));
    }
}
