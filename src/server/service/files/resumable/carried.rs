//! What one request leaves the next: the running SHA-256 and the plaintext of the segment not
//! yet complete, sealed aside under the file's data key (`coffer_crypto::aside`) into the
//! upload's row, bound to the upload and to how far it had got; never stored in the clear.

use coffer_crypto::{aside, segments::SEGMENT_LEN, DataKey, NoncePrefix, SegmentEncryptor};
use sha2::{Digest, Sha256};

use super::patch::Patch;
use crate::server::{
    error::{Error, Result},
    service::{
        file_types,
        files::{integrity_error, sealing::Sealer},
    },
};

impl Patch<'_> {
    /// What sealed values of the upload are bound to: it, and how far it had got.
    pub(super) fn context(&self, received: u64) -> Vec<u8> {
        format!("resumable upload {} at {received}", self.row.id).into_bytes()
    }

    /// The pipeline where the previous request left it: the running hash and the plaintext of
    /// the segment not yet complete, opened from the row, sealing on from the segment they
    /// belong to.
    pub(super) fn resume_sealer(&self, key: &DataKey) -> Result<Sealer> {
        let row = self.row;
        let broken = || integrity_error(&row.id, coffer_crypto::CryptoError::Integrity);
        let prefix =
            NoncePrefix::from_slice(&row.nonce_prefix).map_err(|e| integrity_error(&row.id, e))?;
        let received = row.received.max(0) as u64;
        let opened = match &row.carried {
            None => None,
            Some(sealed) => Some(
                aside::open(key, &self.context(received), sealed)
                    .map_err(|e| integrity_error(&row.id, e))?,
            ),
        };
        let (hash, partial): (Sha256, &[u8]) = match &opened {
            None => (Sha256::new(), &[]),
            Some(plain) => {
                let state_len = Sealer::hash_state_len();
                if plain.len() < state_len || plain.len() - state_len >= SEGMENT_LEN {
                    return Err(broken());
                }
                let (hash_state, partial) = plain.split_at(state_len);
                (
                    Sealer::hash_from_state(hash_state).ok_or_else(broken)?,
                    partial,
                )
            }
        };
        let before = received - partial.len() as u64;
        if before % SEGMENT_LEN as u64 != 0 {
            return Err(broken());
        }
        let mut encryptor = SegmentEncryptor::resume(key, &prefix, before / SEGMENT_LEN as u64);
        // Less than a segment: nothing is sealed yet, it waits for the rest.
        let none = encryptor
            .update(partial)
            .map_err(|e| Error::internal("encrypt", e))?;
        debug_assert!(none.is_empty());
        let ext =
            file_types::check_extension(&row.filename, &self.state.settings().uploads.policy())?;
        // Until the type is checked, the file's first bytes are all in the partial segment.
        let content = file_types::ContentCheck::resume(ext, row.mime_type.clone(), partial);
        Ok(Sealer::resume(encryptor, hash, content, received))
    }

    /// What the next request starts from (a paused pipeline's hash state and partial segment),
    /// sealed aside for the row.
    pub(super) fn seal_carried(
        &self,
        key: &DataKey,
        received: u64,
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        aside::seal(key, &self.context(received), plain).map_err(|e| Error::internal("encrypt", e))
    }
}
