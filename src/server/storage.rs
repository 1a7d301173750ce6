//! Where sealed blobs live: one OpenDAL operator over the filesystem (the default), memory (tests)
//! or any S3-compatible store. Nothing else in Coffer talks to OpenDAL.
//!
//! Guarantees:
//! - Blob keys are random ([`BlobKey::generate`]); no part of one comes from user input.
//! - A blob appears under its key only once completely written: the filesystem writes into a
//!   staging directory and renames on [`BlobWriter::finish`]; S3 completes its multipart upload
//!   only then. [`BlobWriter::abort`] (or dropping the writer unfinished) leaves nothing under the
//!   key.
//! - Reads stream in bounded chunks; a byte range reads only those bytes.

use std::{ops::Range, time::Duration};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use opendal::{layers::RetryLayer, services, ErrorKind, Operator};

use crate::server::config::StorageSettings;

/// How much the store reads per request, and the part size of S3 uploads (S3's minimum).
const READ_CHUNK: usize = 256 * 1024;
const S3_PART: usize = 5 * 1024 * 1024;
/// A staging file untouched this long belongs to an upload that was abandoned (a writer dropped
/// unfinished, a crash); one in progress is written to continually.
const STALE_STAGING: Duration = Duration::from_secs(3600);
const STAGING_DIR: &str = "blobs-incoming";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("storage backend: {0}")]
    Backend(#[from] opendal::Error),
    #[error("storage setup: {0}")]
    Setup(String),
    #[error("reading a blob: {0}")]
    Read(String),
}

fn classify(key: &BlobKey, e: opendal::Error) -> StorageError {
    if e.kind() == ErrorKind::NotFound {
        StorageError::NotFound(key.0.clone())
    } else {
        StorageError::Backend(e)
    }
}

/// The key of one blob: `blobs/<2 hex>/<32 hex>`, random.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn generate() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("blobs/{}/{id}", &id[..2]))
    }

    /// A key read back from the database.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug)]
pub struct BlobStore {
    op: Operator,
    write_chunk: Option<usize>,
    /// The filesystem's staging directory.
    staging: Option<std::path::PathBuf>,
}

impl BlobStore {
    /// Builds the operator for the configured backend and checks that it answers.
    pub async fn connect(settings: &StorageSettings) -> Result<Self, StorageError> {
        let store = match settings {
            StorageSettings::Memory => Self {
                op: Operator::new(services::Memory::default())?,
                write_chunk: None,
                staging: None,
            },
            StorageSettings::Fs { root } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    StorageError::Setup(format!("cannot create {}: {e}", root.display()))
                })?;
                let staging = root.join(STAGING_DIR);
                remove_stale_staging(&staging);
                let builder = services::Fs::default()
                    .root(&root.to_string_lossy())
                    .atomic_write_dir(&staging.to_string_lossy());
                Self {
                    op: Operator::new(builder)?,
                    write_chunk: None,
                    staging: Some(staging),
                }
            }
            StorageSettings::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key,
                root,
            } => {
                // OpenDAL's HTTP client is built without a TLS provider; use ring, as sqlx does.
                // Both installs are process-wide and keep the first one.
                let _ = rustls::crypto::ring::default_provider().install_default();
                opendal::HttpTransporter::install_default(
                    opendal_http_transport_reqwest::ReqwestTransport::default(),
                );
                let mut builder = services::S3::default()
                    .root(root)
                    .bucket(bucket)
                    .region(region)
                    .disable_config_load()
                    .disable_ec2_metadata();
                if let Some(endpoint) = endpoint {
                    builder = builder.endpoint(endpoint);
                }
                if let (Some(id), Some(secret)) = (access_key_id, secret_access_key) {
                    builder = builder.access_key_id(id).secret_access_key(secret);
                }
                Self {
                    op: Operator::new(builder)?.layer(RetryLayer::new().with_max_times(3)),
                    write_chunk: Some(S3_PART),
                    staging: None,
                }
            }
        };
        store.check().await?;
        Ok(store)
    }

    /// Whether the backend answers (for `/ready`).
    pub async fn check(&self) -> Result<(), StorageError> {
        Ok(self.op.check().await?)
    }

    /// Starts writing a new blob.
    pub async fn create(&self, key: &BlobKey) -> Result<BlobWriter, StorageError> {
        let mut writer = self.op.writer_with(key.as_str());
        if let Some(chunk) = self.write_chunk {
            writer = writer.chunk(chunk);
        }
        Ok(BlobWriter {
            inner: writer.await.map_err(|e| classify(key, e))?,
        })
    }

    /// The bytes `range` of a blob, as a stream of chunks of at most 256 KiB. A missing blob may
    /// show only as the stream's first item.
    pub async fn read(
        &self,
        key: &BlobKey,
        range: Range<u64>,
    ) -> Result<impl Stream<Item = Result<Bytes, StorageError>> + Send + 'static, StorageError>
    {
        let reader = self
            .op
            .reader_with(key.as_str())
            .chunk(READ_CHUNK)
            .await
            .map_err(|e| classify(key, e))?;
        let stream = reader
            .into_bytes_stream(range)
            .await
            .map_err(|e| classify(key, e))?;
        let key = key.clone();
        Ok(stream.map_err(move |e| {
            // The stream reports io::Error; keep OpenDAL's cause when it is one.
            match e.downcast::<opendal::Error>() {
                Ok(e) => classify(&key, e),
                Err(e) => StorageError::Read(e.to_string()),
            }
        }))
    }

    /// The size of a stored blob.
    pub async fn size(&self, key: &BlobKey) -> Result<u64, StorageError> {
        let meta = self
            .op
            .stat(key.as_str())
            .await
            .map_err(|e| classify(key, e))?;
        Ok(meta.content_length())
    }

    /// Every stored blob's key (for diagnostics: finding blobs no file refers to).
    pub async fn list_keys(&self) -> Result<Vec<BlobKey>, StorageError> {
        let entries = self.op.list_with("blobs/").recursive(true).await?;
        Ok(entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| BlobKey(e.path().to_owned()))
            .collect())
    }

    /// Removes partial blobs of abandoned writes (the filesystem's staging files; S3 keeps
    /// incomplete multipart uploads until the bucket's lifecycle rule aborts them).
    pub fn sweep_abandoned_writes(&self) {
        if let Some(dir) = &self.staging {
            remove_stale_staging(dir);
        }
    }

    /// Removes a blob; one already gone is not an error.
    pub async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        match self.op.delete(key.as_str()).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(StorageError::Backend(e)),
            _ => Ok(()),
        }
    }
}

/// A blob being written. Only [`finish`](Self::finish) makes it visible under its key.
pub struct BlobWriter {
    inner: opendal::Writer,
}

impl BlobWriter {
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        self.write_all(vec![bytes]).await
    }

    /// Appends several pieces in one storage call, without copying them together.
    pub async fn write_all(&mut self, pieces: Vec<Bytes>) -> Result<(), StorageError> {
        Ok(self.inner.write(opendal::Buffer::from(pieces)).await?)
    }

    /// Completes the blob and returns its size.
    pub async fn finish(mut self) -> Result<u64, StorageError> {
        Ok(self.inner.close().await?.content_length())
    }

    /// Throws the partial blob away.
    pub async fn abort(mut self) {
        if let Err(e) = self.inner.abort().await {
            tracing::warn!(error = %e, "could not abort a partial blob");
        }
    }
}

/// Staging files a crashed process left behind. Best effort: a failure only leaves litter.
fn remove_stale_staging(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_STAGING);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn stores() -> Vec<(BlobStore, Option<tempfile::TempDir>)> {
        let dir = tempfile::tempdir().unwrap();
        let fs = BlobStore::connect(&StorageSettings::Fs {
            root: dir.path().join("blobs-root"),
        })
        .await
        .unwrap();
        let memory = BlobStore::connect(&StorageSettings::Memory).await.unwrap();
        vec![(fs, Some(dir)), (memory, None)]
    }

    async fn read_all(store: &BlobStore, key: &BlobKey, range: Range<u64>) -> Vec<u8> {
        let chunks: Vec<Bytes> = store
            .read(key, range)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        chunks.concat()
    }

    #[tokio::test]
    async fn a_blob_written_in_pieces_reads_back_whole_and_by_range() {
        for (store, _dir) in stores().await {
            let key = BlobKey::generate();
            let mut writer = store.create(&key).await.unwrap();
            let data: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
            for piece in data.chunks(65_552) {
                writer.write(Bytes::copy_from_slice(piece)).await.unwrap();
            }
            assert_eq!(writer.finish().await.unwrap(), data.len() as u64);
            assert_eq!(store.list_keys().await.unwrap(), vec![key.clone()]);
            assert_eq!(store.size(&key).await.unwrap(), data.len() as u64);
            assert!(read_all(&store, &key, 0..data.len() as u64).await == data);
            assert!(read_all(&store, &key, 300_000..300_010).await == data[300_000..300_010]);
        }
    }

    #[tokio::test]
    async fn nothing_is_visible_before_finish_and_abort_leaves_nothing() {
        for (store, _dir) in stores().await {
            let key = BlobKey::generate();
            let mut writer = store.create(&key).await.unwrap();
            writer.write(Bytes::from_static(b"partial")).await.unwrap();
            assert!(matches!(
                store.size(&key).await,
                Err(StorageError::NotFound(_))
            ));
            writer.abort().await;
            assert!(matches!(
                store.size(&key).await,
                Err(StorageError::NotFound(_))
            ));
        }
    }

    #[tokio::test]
    async fn aborted_fs_writes_leave_no_staging_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let store = BlobStore::connect(&StorageSettings::Fs { root: root.clone() })
            .await
            .unwrap();
        let mut writer = store.create(&BlobKey::generate()).await.unwrap();
        writer.write(Bytes::from_static(b"partial")).await.unwrap();
        writer.abort().await;
        let staged = std::fs::read_dir(root.join(STAGING_DIR)).unwrap().count();
        assert_eq!(staged, 0);
    }

    #[tokio::test]
    async fn delete_removes_and_tolerates_a_missing_blob() {
        for (store, _dir) in stores().await {
            let key = BlobKey::generate();
            let mut writer = store.create(&key).await.unwrap();
            writer.write(Bytes::from_static(b"x")).await.unwrap();
            writer.finish().await.unwrap();
            store.delete(&key).await.unwrap();
            assert!(matches!(
                store.size(&key).await,
                Err(StorageError::NotFound(_))
            ));
            assert!(store.list_keys().await.unwrap().is_empty());
            store.delete(&key).await.unwrap();
            // Readers open lazily: a missing blob shows on the stream's first poll.
            let read: Result<Vec<Bytes>, _> = match store.read(&key, 0..1).await {
                Ok(stream) => stream.try_collect().await,
                Err(e) => Err(e),
            };
            assert!(matches!(read, Err(StorageError::NotFound(_))), "{read:?}");
        }
    }

    #[test]
    fn keys_are_random_and_sharded() {
        let (a, b) = (BlobKey::generate(), BlobKey::generate());
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("blobs/"));
        assert_eq!(a.as_str().len(), "blobs/".len() + 3 + 32);
        assert_eq!(&a.as_str()[6..8], &a.as_str()[9..11]);
    }
}
