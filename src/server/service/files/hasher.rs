//! Hashing an upload beside its encryption.

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

use crate::server::error::{Error, Result};

/// SHA-256 of an upload (or of a request's bytes), computed on a task of its own so that it
/// runs on another core while the upload's own task encrypts. The bytes are copied into 64 KiB
/// batches of its own, so the two tasks do not wake each other for every small body chunk, and
/// the upload keeps no chunk of the request body alive: a shared chunk would pin the whole
/// buffer it was cut from (hyper's and multer's, hundreds of KiB each). At most one batch waits
/// while another is hashed.
pub(super) struct Hasher {
    batches: tokio::sync::mpsc::Sender<Bytes>,
    batch: BytesMut,
    digest: tokio::task::JoinHandle<Sha256>,
}

const HASH_BATCH_BYTES: usize = 64 * 1024;

impl Hasher {
    pub(super) fn start() -> Self {
        Self::resume(Sha256::new())
    }

    /// Carries on from a hash of the bytes before (a resumable upload's earlier requests).
    pub(super) fn resume(mut hash: Sha256) -> Self {
        let (batches, mut rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let digest = tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                hash.update(&batch);
                // A batch is one slice of work: let other tasks run between batches.
                tokio::task::yield_now().await;
            }
            hash
        });
        Self {
            batches,
            batch: BytesMut::with_capacity(HASH_BATCH_BYTES),
            digest,
        }
    }

    pub(super) async fn update(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let take = (HASH_BATCH_BYTES - self.batch.len()).min(data.len());
            self.batch.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.batch.len() == HASH_BATCH_BYTES {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let batch = std::mem::replace(&mut self.batch, BytesMut::with_capacity(HASH_BATCH_BYTES));
        self.batches
            .send(batch.freeze())
            .await
            .map_err(|_| Error::internal("upload", "the hashing task stopped"))
    }

    /// The hash of everything given, to finalize or to keep for later.
    pub(super) async fn finish(mut self) -> Result<Sha256> {
        if !self.batch.is_empty() {
            self.flush().await?;
        }
        drop(self.batches);
        self.digest
            .await
            .map_err(|e| Error::internal("upload hashing", e))
    }
}
