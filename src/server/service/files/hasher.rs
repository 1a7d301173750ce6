//! Hashing an upload beside its encryption.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::server::error::{Error, Result};

/// SHA-256 of an upload (or of a request's bytes), computed on a task of its own so that it
/// runs on another core while the upload's own task encrypts. Chunks are shared, not copied, and
/// handed over in batches of about 64 KiB so that the two tasks do not wake each other for every
/// small body chunk. At most one batch waits while another is hashed: the chunks they hold are
/// memory the upload keeps (and they can keep the larger buffers they were cut from alive).
pub(super) struct Hasher {
    batches: tokio::sync::mpsc::Sender<Vec<Bytes>>,
    batch: Vec<Bytes>,
    batch_len: usize,
    digest: tokio::task::JoinHandle<Sha256>,
}

const HASH_BATCH_BYTES: usize = 64 * 1024;

impl Hasher {
    pub(super) fn start() -> Self {
        Self::resume(Sha256::new())
    }

    /// Carries on from a hash of the bytes before (a resumable upload's earlier requests).
    pub(super) fn resume(mut hash: Sha256) -> Self {
        let (batches, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(1);
        let digest = tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                batch.iter().for_each(|chunk| hash.update(chunk));
                // A batch is one slice of work: let other tasks run between batches.
                tokio::task::yield_now().await;
            }
            hash
        });
        Self {
            batches,
            batch: Vec::new(),
            batch_len: 0,
            digest,
        }
    }

    pub(super) async fn update(&mut self, chunk: Bytes) -> Result<()> {
        self.batch_len += chunk.len();
        self.batch.push(chunk);
        if self.batch_len >= HASH_BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        self.batch_len = 0;
        self.batches
            .send(std::mem::take(&mut self.batch))
            .await
            .map_err(|_| Error::internal("upload", "the hashing task stopped"))
    }

    /// The hash of everything given, to finalize or to keep for later.
    pub(super) async fn finish(mut self) -> Result<Sha256> {
        self.flush().await?;
        drop(self.batches);
        self.digest
            .await
            .map_err(|e| Error::internal("upload hashing", e))
    }
}
