//! Coffer's encryption at rest, and nothing else: no I/O, no storage, no database.
//!
//! A crate of its own so that it is always built optimised, in debug and test builds too (the
//! workspace's `Cargo.toml` sets its opt-level): the AEAD and hash generics are monomorphised
//! here, where the cipher is called, so an unoptimised caller would seal at a fiftieth of the
//! speed. The browser and a command-line client can use the same format from it.
//!
//! - [`segments`]: a file's content under its own random data key, sealed in fixed-size
//!   AES-256-GCM segments (the STREAM construction), so it can be written and read as a stream
//!   and any byte range can be decrypted without the rest.
//! - [`keyring`]: the master keys that wrap those data keys (and other small secrets), each with
//!   a stable id, so the master key can be rotated by re-wrapping data keys alone.
//! - [`aside`]: small values sealed under a file's data key outside its blob (a resumable
//!   upload's unfinished segment between requests).
//! - [`signature`]: the HMAC-SHA256 signatures of outgoing webhook bodies.

pub mod aside;
pub mod keyring;
pub mod segments;
pub mod signature;

pub use keyring::{Binding, Keyring, MasterKey, WrappedKey};
pub use segments::{DataKey, NoncePrefix, SegmentDecryptor, SegmentEncryptor};

/// Why decryption (or, rarely, encryption) failed. Deliberately vague about the cause: a wrong
/// key, a flipped bit, a truncated or reordered blob all look the same to whoever asks.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The ciphertext is not what was sealed: tampered, truncated, extended or reordered.
    #[error("encrypted data failed its integrity check")]
    Integrity,
    /// A wrapped key names a master key this keyring does not hold.
    #[error("master key {0} is not loaded")]
    UnknownMasterKey(String),
    /// A file has more segments than the 32-bit segment counter can number (256 TiB).
    #[error("file too large to encrypt")]
    TooLarge,
    /// A master key was not 32 bytes of base64.
    #[error("a master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
}
