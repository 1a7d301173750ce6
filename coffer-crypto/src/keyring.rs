//! Master keys: they wrap every file's data key (and other small secrets) with AES-256-GCM.
//!
//! Each master key has an id derived from it (a truncated SHA-256 under a fixed label), stored
//! with everything it wraps. A keyring holds the current key, which wraps everything new, and
//! any previous keys, which still unwrap what they wrapped until a rotation has re-wrapped it all
//! under the current one. A wrapped value is `nonce (12 random bytes) ‖ ciphertext ‖ tag`, with
//! its [`Binding`] (what it is, and the id of the row it belongs to) as associated data: a value
//! wrapped for one purpose or one row cannot be passed off as another.
//!
//! The same keys also sign stateless tokens (HMAC-SHA256 under a key derived from the master
//! key), so those tokens stay valid for as long as their master key is loaded.

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{segments::DataKey, CryptoError};

const NONCE_LEN: usize = 12;
/// What the master key seals files' data keys as, bound to the file's id.
pub const DATA_KEY_PURPOSE: &[u8] = b"coffer:data-key:v2";
/// Data keys sealed before they were bound to their file (read once, to re-seal them).
pub const LEGACY_DATA_KEY_PURPOSE: &[u8] = b"coffer:data-key:v1";
/// What TOTP secrets are sealed as, bound to their user's id.
pub const TOTP_PURPOSE: &[u8] = b"coffer:totp:v2";
/// TOTP secrets sealed before they were bound to their user (read once, to re-seal them).
pub const LEGACY_TOTP_PURPOSE: &[u8] = b"coffer:totp:v1";
/// What webhook secrets are sealed as, bound to their webhook's id.
pub const WEBHOOK_SECRET_PURPOSE: &[u8] = b"coffer/webhook-secret/v1";
/// Label of the derivation of a master key's HMAC key.
const MAC_KEY_LABEL: &[u8] = b"coffer:mac-key:v1";

/// One 256-bit master key and its id.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self::from_bytes(bytes)
    }

    /// A key given as base64 of exactly 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| CryptoError::BadMasterKey)?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self::from_bytes(Zeroizing::new(bytes)))
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"coffer master key id\0");
        hash.update(bytes.as_ref());
        let id = hex::encode(&hash.finalize()[..8]);
        Self { id, bytes }
    }

    /// The key's id: 16 hex digits, safe to store and show.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as base64, for writing it to its file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }

    /// HMAC-SHA256 keyed by a key derived from this one (never the AES key itself), with
    /// `purpose` and `message` already fed in.
    fn mac(&self, purpose: &[u8], message: &[u8]) -> Hmac<Sha256> {
        let mut derive = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(self.bytes.as_ref())
            .expect("HMAC takes any key length");
        derive.update(MAC_KEY_LABEL);
        let mac_key: Zeroizing<[u8; 32]> = Zeroizing::new(derive.finalize().into_bytes().into());
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(mac_key.as_ref())
            .expect("HMAC takes any key length");
        mac.update(purpose);
        mac.update(&[0]);
        mac.update(message);
        mac
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&*self.bytes).into())
    }
}

/// What a sealed value is and where it belongs: the associated data it is sealed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding<'a> {
    /// A value of this purpose stored in the row with this id.
    Row { purpose: &'a [u8], row_id: &'a str },
    /// A value sealed before values were bound to their rows.
    Legacy { purpose: &'a [u8] },
}

impl<'a> Binding<'a> {
    pub fn row(purpose: &'a [u8], row_id: &'a str) -> Self {
        Binding::Row { purpose, row_id }
    }

    fn aad(&self) -> Vec<u8> {
        match self {
            Binding::Row { purpose, row_id } => [*purpose, b"\0", row_id.as_bytes()].concat(),
            Binding::Legacy { purpose } => purpose.to_vec(),
        }
    }
}

/// A secret sealed by a master key, with that key's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    pub master_key_id: String,
    pub sealed: Vec<u8>,
}

/// The current master key and the previous ones that may still be needed to unwrap.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    /// `previous` keys equal to `current` are dropped.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        let previous = previous
            .into_iter()
            .filter(|k| k.id != current.id)
            .collect();
        Self { current, previous }
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    pub fn previous(&self) -> &[MasterKey] {
        &self.previous
    }

    /// The loaded key with this id, current or previous.
    fn key(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }

    /// Whether a key with this id is loaded, current or previous.
    pub fn holds(&self, id: &str) -> bool {
        self.key(id).is_some()
    }

    /// Wraps the data key of file `file_id` under the current master key.
    pub fn wrap_data_key(&self, key: &DataKey, file_id: &str) -> WrappedKey {
        self.seal(Binding::row(DATA_KEY_PURPOSE, file_id), key.as_bytes())
    }

    /// Unwraps the data key of file `file_id` with whichever loaded master key wrapped it.
    pub fn unwrap_data_key(
        &self,
        wrapped: &WrappedKey,
        file_id: &str,
    ) -> Result<DataKey, CryptoError> {
        let plain = self.open(Binding::row(DATA_KEY_PURPOSE, file_id), wrapped)?;
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Integrity)?;
        Ok(DataKey::from_bytes(bytes))
    }

    /// Seals a small secret under the current master key. `binding` is bound to the result:
    /// opening it as another purpose or for another row fails.
    pub fn seal(&self, binding: Binding<'_>, secret: &[u8]) -> WrappedKey {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &binding.aad(),
                },
            )
            .expect("AES-GCM encryption of a small secret cannot fail");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        WrappedKey {
            master_key_id: self.current.id.clone(),
            sealed,
        }
    }

    /// Opens a secret sealed by [`seal`](Self::seal) under any loaded master key.
    pub fn open(
        &self,
        binding: Binding<'_>,
        wrapped: &WrappedKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = self
            .key(&wrapped.master_key_id)
            .ok_or_else(|| CryptoError::UnknownMasterKey(wrapped.master_key_id.clone()))?;
        let (nonce, ciphertext) = wrapped
            .sealed
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(CryptoError::Integrity)?;
        key.cipher()
            .decrypt(
                &Nonce::from(*nonce),
                Payload {
                    msg: ciphertext,
                    aad: &binding.aad(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Integrity)
    }

    /// An HMAC-SHA256 tag over `message` under the current master key, for stateless tokens
    /// (pre-signed URLs). `purpose` is bound to the tag like a label.
    pub fn sign(&self, purpose: &[u8], message: &[u8]) -> [u8; 32] {
        self.current
            .mac(purpose, message)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Whether `tag` is [`sign`](Self::sign)'s tag for `message` under any loaded master key,
    /// compared in constant time.
    pub fn verify(&self, purpose: &[u8], message: &[u8], tag: &[u8]) -> bool {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .any(|key| key.mac(purpose, message).verify_slice(tag).is_ok())
    }

    /// Re-seals a value sealed as `from` under the current key, as `to` (a no-op when nothing
    /// would change).
    pub fn rewrap(
        &self,
        from: Binding<'_>,
        to: Binding<'_>,
        wrapped: &WrappedKey,
    ) -> Result<WrappedKey, CryptoError> {
        if wrapped.master_key_id == self.current.id && from == to {
            return Ok(wrapped.clone());
        }
        Ok(self.seal(to, &self.open(from, wrapped)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEVENS: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

    #[test]
    fn key_id_is_a_stable_function_of_the_key() {
        // sha256("coffer master key id\0" ‖ [7; 32]), first 8 bytes, computed independently.
        assert_eq!(
            MasterKey::from_base64(SEVENS).unwrap().id(),
            "760a7033961b8473"
        );
        let a = MasterKey::generate();
        assert_ne!(a.id(), MasterKey::generate().id());
        let again = MasterKey::from_base64(&a.to_base64()).unwrap();
        assert_eq!(again.id(), a.id());
    }

    #[test]
    fn master_keys_must_be_32_bytes_of_base64() {
        assert_eq!(
            MasterKey::from_base64("not base64!").unwrap_err(),
            CryptoError::BadMasterKey
        );
        assert_eq!(
            MasterKey::from_base64(&STANDARD.encode([1u8; 16])).unwrap_err(),
            CryptoError::BadMasterKey
        );
        assert!(MasterKey::from_base64(&format!("  {SEVENS}\n")).is_ok());
    }

    #[test]
    fn data_keys_round_trip_and_name_their_master_key() {
        let ring = Keyring::new(MasterKey::generate(), vec![]);
        let key = DataKey::from_bytes([9; 32]);
        let wrapped = ring.wrap_data_key(&key, "file-1");
        assert_eq!(wrapped.master_key_id, ring.current().id());
        assert_eq!(wrapped.sealed.len(), 12 + 32 + 16);
        assert!(!wrapped.sealed.windows(32).any(|w| w == [9; 32]));
        assert_eq!(
            ring.unwrap_data_key(&wrapped, "file-1").unwrap().as_bytes(),
            &[9; 32]
        );
    }

    #[test]
    fn a_wrapped_key_copied_to_another_row_does_not_open() {
        let ring = Keyring::new(MasterKey::generate(), vec![]);
        let wrapped = ring.wrap_data_key(&DataKey::generate(), "file-1");
        assert_eq!(
            ring.unwrap_data_key(&wrapped, "file-2").err(),
            Some(CryptoError::Integrity)
        );
        let legacy = Binding::Legacy {
            purpose: LEGACY_DATA_KEY_PURPOSE,
        };
        let old = ring.seal(legacy, &[5; 32]);
        assert_eq!(
            ring.unwrap_data_key(&old, "file-1").err(),
            Some(CryptoError::Integrity),
            "an unbound value is read only as what it is"
        );
        let bound = ring
            .rewrap(legacy, Binding::row(DATA_KEY_PURPOSE, "file-1"), &old)
            .unwrap();
        assert_eq!(
            ring.unwrap_data_key(&bound, "file-1").unwrap().as_bytes(),
            &[5; 32]
        );
    }

    #[test]
    fn tampered_wrapped_keys_and_other_purposes_fail() {
        let ring = Keyring::new(MasterKey::generate(), vec![]);
        let wrapped = ring.wrap_data_key(&DataKey::generate(), "f");
        for i in [0, 12, wrapped.sealed.len() - 1] {
            let mut bad = wrapped.clone();
            bad.sealed[i] ^= 0x80;
            assert_eq!(
                ring.unwrap_data_key(&bad, "f").err(),
                Some(CryptoError::Integrity)
            );
        }
        let mut short = wrapped.clone();
        short.sealed.truncate(5);
        assert_eq!(
            ring.unwrap_data_key(&short, "f").err(),
            Some(CryptoError::Integrity)
        );
        let secret = ring.seal(Binding::row(b"coffer:totp:v2", "f"), &[9; 32]);
        assert_eq!(
            ring.unwrap_data_key(&secret, "f").err(),
            Some(CryptoError::Integrity),
            "a secret sealed for another purpose is not a data key"
        );
    }

    #[test]
    fn rotation_keeps_old_wraps_readable_and_rewraps_under_the_new_key() {
        let old = MasterKey::generate();
        let before = Keyring::new(old.clone(), vec![]);
        let key = DataKey::generate();
        let wrapped = before.wrap_data_key(&key, "f");

        let new = MasterKey::generate();
        let during = Keyring::new(new.clone(), vec![old]);
        assert_eq!(
            during.unwrap_data_key(&wrapped, "f").unwrap().as_bytes(),
            key.as_bytes()
        );
        let binding = Binding::row(DATA_KEY_PURPOSE, "f");
        let rewrapped = during.rewrap(binding, binding, &wrapped).unwrap();
        assert_eq!(rewrapped.master_key_id, new.id());

        let after = Keyring::new(new, vec![]);
        assert_eq!(
            after.unwrap_data_key(&rewrapped, "f").unwrap().as_bytes(),
            key.as_bytes()
        );
        assert_eq!(
            after.unwrap_data_key(&wrapped, "f").err(),
            Some(CryptoError::UnknownMasterKey(before.current().id().into()))
        );
    }

    #[test]
    fn signatures_match_an_independent_computation() {
        // HMAC-SHA256(HMAC-SHA256([7; 32], "coffer:mac-key:v1"), "coffer:test\0hello"),
        // computed with Python's hmac module.
        let ring = Keyring::new(MasterKey::from_base64(SEVENS).unwrap(), vec![]);
        assert_eq!(
            hex::encode(ring.sign(b"coffer:test", b"hello")),
            "cb00f1a55451dad7c0c7c39c763adb885987804a4127a782548ce8eda4264d59"
        );
    }

    #[test]
    fn a_signature_verifies_only_for_its_message_purpose_and_keys() {
        let old = MasterKey::generate();
        let ring = Keyring::new(old.clone(), vec![]);
        let tag = ring.sign(b"purpose", b"message");
        assert!(ring.verify(b"purpose", b"message", &tag));
        assert!(!ring.verify(b"purpose", b"messagE", &tag));
        assert!(!ring.verify(b"other", b"message", &tag));
        assert!(!ring.verify(b"purpose", b"message", &tag[..31]));
        let mut flipped = tag;
        flipped[0] ^= 1;
        assert!(!ring.verify(b"purpose", b"message", &flipped));

        // A previous key still verifies during a rotation, and nothing after it.
        let rotating = Keyring::new(MasterKey::generate(), vec![old]);
        assert!(rotating.verify(b"purpose", b"message", &tag));
        let rotated = Keyring::new(rotating.current().clone(), vec![]);
        assert!(!rotated.verify(b"purpose", b"message", &tag));
    }
}
