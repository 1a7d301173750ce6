//! The one pipeline every upload's bytes go through on their way to storage, whichever door
//! they came in by (a one-shot upload, a tus request, a sender's upload into a request): each
//! chunk is admitted by the upload's own rules ([`Intake`]: size, quota, a request's limits, a
//! tus upload's length and checksum), checked against the file's type, hashed (SHA-256 of the
//! whole file) and sealed into segments, which a writer stores while the next chunk is read.

use bytes::Bytes;
use coffer_crypto::{segments::SEALED_SEGMENT_LEN, SegmentEncryptor};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use super::storage_error;
use crate::server::{
    error::{Error, Result},
    pace::Pace,
    service::file_types::ContentCheck,
    storage::BlobWriter,
};

/// Sealed segments waiting for the storage writer: enough that reading, hashing and encrypting
/// go on while a write is in flight, few enough to keep memory per upload small. The writer
/// takes whatever has queued up in one storage call, so an upload holds at most twice this many
/// segments (2 × 1 × 64 KiB), beside the one being sealed. With 16, each upload running beside
/// others added about 4.8 MiB to the server's peak RSS (`scripts/bench.sh`, part "concurrent").
/// Hashing on the upload's own task (rather than a task of its own, fed 64 KiB copies through a
/// queue, which held up to three batches per upload) with a queue of one: each concurrent
/// upload past the first added 0.40–0.83 MiB to the server's peak instead of 0.87–1.03 MiB, for
/// about a tenth less speed on a lone upload (SHA-256 uses the CPU's SHA extensions).
const WRITE_QUEUE_SEGMENTS: usize = 1;

/// What one kind of upload adds to the pipeline.
pub(super) trait Intake {
    /// A chunk arrived, bringing the file to `size` bytes in all: refuses it past a limit.
    async fn admit(&mut self, chunk: &[u8], size: u64) -> Result<()>;

    /// Between chunks: shows the upload is alive when it is time (a heartbeat, a lease).
    async fn keep_alive(&mut self) -> Result<()>;

    /// The body broke off with `error`: `Ok` keeps what arrived (and ends the reading), `Err`
    /// fails the upload.
    fn cut_short(&self, error: String) -> Result<()> {
        Err(Error::BadUpload(error))
    }
}

/// The content check, the file's hash and the sealing, as chunks pass.
pub(super) struct Sealer {
    encryptor: SegmentEncryptor,
    hash: Sha256,
    content: ContentCheck,
    /// The file's bytes so far, in all requests.
    size: u64,
    sealed_bytes: u64,
}

/// A file whose last byte is in.
pub(super) struct Complete {
    pub size: u64,
    pub sha256: String,
    pub mime_type: String,
    /// Bytes this stretch of the pipeline stored.
    pub sealed_bytes: u64,
}

/// A file with more to come (a tus request that did not bring the last byte).
pub(super) struct Paused {
    pub size: u64,
    /// The running SHA-256's state, then the plaintext of the segment not yet complete: what the
    /// next request starts from, to be sealed aside.
    pub carried: Zeroizing<Vec<u8>>,
    pub mime_type: Option<String>,
    pub sealed_bytes: u64,
}

impl Sealer {
    /// The start of a file.
    pub fn new(encryptor: SegmentEncryptor, content: ContentCheck) -> Self {
        Self::resume(encryptor, Sha256::new(), content, 0)
    }

    /// A file `size` bytes in, with the hash so far.
    pub fn resume(
        encryptor: SegmentEncryptor,
        hash: Sha256,
        content: ContentCheck,
        size: u64,
    ) -> Self {
        Self {
            encryptor,
            hash,
            content,
            size,
            sealed_bytes: 0,
        }
    }

    /// The length of a paused hash's state at the start of what [`Paused::carried`] holds.
    pub fn hash_state_len() -> usize {
        use sha2::digest::common::hazmat::SerializableState;
        Sha256::new().serialize().len()
    }

    /// A hash state [`Paused::carried`] began with, read back.
    pub fn hash_from_state(state: &[u8]) -> Option<Sha256> {
        use sha2::digest::common::hazmat::SerializableState;
        Sha256::deserialize(state.try_into().ok()?).ok()
    }

    /// Reads `body` through `intake`'s rules into `writer`: the sealing and the writing run
    /// side by side, joined by a short queue. Ends when the body does (or breaks off and the
    /// intake keeps what arrived); the caller then finishes or pauses.
    pub async fn read<S, E, I>(
        &mut self,
        body: S,
        intake: &mut I,
        writer: &mut BlobWriter,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
        I: Intake,
    {
        let (sealed_tx, mut sealed_rx) = mpsc::channel::<Bytes>(WRITE_QUEUE_SEGMENTS);
        let seal = self.seal_body(body, intake, sealed_tx);
        let write = async {
            let mut batch = Vec::with_capacity(WRITE_QUEUE_SEGMENTS);
            while sealed_rx.recv_many(&mut batch, WRITE_QUEUE_SEGMENTS).await > 0 {
                writer
                    .write_all(std::mem::take(&mut batch))
                    .await
                    .map_err(storage_error)?;
            }
            Ok(())
        };
        tokio::try_join!(seal, write)?;
        Ok(())
    }

    async fn seal_body<S, E, I>(
        &mut self,
        mut body: S,
        intake: &mut I,
        sealed: mpsc::Sender<Bytes>,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
        I: Intake,
    {
        let mut pace = Pace::default();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    intake.cut_short(e.to_string())?;
                    break;
                }
            };
            self.size += chunk.len() as u64;
            intake.admit(&chunk, self.size).await?;
            self.content.feed(&chunk)?;
            self.hash.update(&chunk);
            let segments = self.encryptor.update(&chunk).map_err(encrypt_error)?;
            for segment in segments {
                self.send(&sealed, segment).await?;
            }
            intake.keep_alive().await?;
            pace.processed(chunk.len()).await;
        }
        Ok(())
    }

    async fn send(&mut self, sealed: &mpsc::Sender<Bytes>, segment: Bytes) -> Result<()> {
        self.sealed_bytes += segment.len() as u64;
        sealed.send(segment).await.map_err(|_| writer_gone())
    }

    /// The file's bytes so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The last byte is in: checks the type one last time and seals the last segment into
    /// `writer`.
    pub async fn finish(mut self, writer: &mut BlobWriter) -> Result<Complete> {
        let mime_type = self.content.finish()?;
        let last = self.encryptor.finish().map_err(encrypt_error)?;
        self.sealed_bytes += last.len() as u64;
        writer.write_all(vec![last]).await.map_err(storage_error)?;
        Ok(Complete {
            size: self.size,
            sha256: hex::encode(self.hash.finalize()),
            mime_type,
            sealed_bytes: self.sealed_bytes,
        })
    }

    /// More is to come: seals the segment completed by this stretch's last bytes (if any) into
    /// `writer`, and hands back what the next stretch starts from.
    pub async fn pause(mut self, writer: &mut BlobWriter) -> Result<Paused> {
        use sha2::digest::common::hazmat::SerializableState;
        let (full, partial) = self.encryptor.pause().map_err(encrypt_error)?;
        if let Some(full) = full {
            debug_assert_eq!(full.len(), SEALED_SEGMENT_LEN);
            self.sealed_bytes += full.len() as u64;
            writer.write_all(vec![full]).await.map_err(storage_error)?;
        }
        let mut carried = Zeroizing::new(self.hash.serialize().to_vec());
        carried.extend_from_slice(&partial);
        Ok(Paused {
            size: self.size,
            carried,
            mime_type: self.content.checked_type().map(str::to_owned),
            sealed_bytes: self.sealed_bytes,
        })
    }
}

fn encrypt_error(e: coffer_crypto::CryptoError) -> Error {
    Error::internal("encrypt", e)
}

/// What the sealing half says when the storage writer has stopped (it only stops early on an
/// error, which it reports itself).
fn writer_gone() -> Error {
    Error::internal("upload", "the storage writer stopped")
}
