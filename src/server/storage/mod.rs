//! Where sealed blobs live: one OpenDAL operator over the filesystem (the default), memory (tests)
//! or any S3-compatible store. Nothing else in Coffer talks to OpenDAL.
//!
//! Guarantees:
//! - Blob keys are random ([`BlobKey::generate`]); no part of one comes from user input.
//! - A blob appears under its key only once completely written: the filesystem writes into a
//!   staging directory and renames on [`BlobWriter::finish`], after syncing ([`file_writer`]:
//!   our own writer, which starts writeback as it goes); S3 completes its multipart upload only
//!   then. [`BlobWriter::abort`] (or dropping the writer unfinished) leaves nothing under the
//!   key.
//! - Reads stream in bounded chunks; a byte range reads only those bytes.
//! - A blob is one object under its key, or (a resumable upload's) parts stored under
//!   `<key>.parts/`, one per request, each written completely or not at all and read back to
//!   back in the order the database lists them ([`BlobLayout`]). [`BlobStore::delete`] removes
//!   both forms, parts the database never heard of included (a part written by a request that
//!   died before recording it).

use std::{ops::Range, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use opendal::{layers::RetryLayer, services, ErrorKind, Operator};

use crate::server::config::StorageSettings;

mod file_writer;

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
    #[error("writing a blob: {0}")]
    Write(String),
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

/// Where the parts of a blob stored in parts live.
const PARTS_SUFFIX: &str = ".parts/";

/// One part of a blob stored in parts: its name among the blob's parts and its length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobPart {
    pub name: String,
    pub len: u64,
}

/// How a blob's bytes are stored: one object, or parts read back to back in this order.
#[derive(Clone, Copy, Debug)]
pub enum BlobLayout<'a> {
    Whole,
    Parts(&'a [BlobPart]),
}

impl BlobKey {
    fn parts_dir(&self) -> String {
        format!("{}{PARTS_SUFFIX}", self.0)
    }

    fn part_path(&self, name: &str) -> String {
        format!("{}{PARTS_SUFFIX}{name}", self.0)
    }
}

#[derive(Clone, Debug)]
pub struct BlobStore {
    op: Operator,
    write_chunk: Option<usize>,
    /// The filesystem's root and staging directory; blobs are written there directly.
    fs: Option<FsDirs>,
}

#[derive(Clone, Debug)]
struct FsDirs {
    root: std::path::PathBuf,
    staging: std::path::PathBuf,
}

impl BlobStore {
    /// Builds the operator for the configured backend and checks that it answers.
    pub async fn connect(settings: &StorageSettings) -> Result<Self, StorageError> {
        let store = match settings {
            StorageSettings::Memory => Self {
                op: Operator::new(services::Memory::default())?,
                write_chunk: None,
                fs: None,
            },
            StorageSettings::Fs { root } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    StorageError::Setup(format!("cannot create {}: {e}", root.display()))
                })?;
                let staging = root.join(STAGING_DIR);
                std::fs::create_dir_all(&staging).map_err(|e| {
                    StorageError::Setup(format!("cannot create {}: {e}", staging.display()))
                })?;
                remove_stale_staging(&staging);
                // OpenDAL reads, lists and deletes; writes are `file_writer`'s.
                let builder = services::Fs::default().root(&root.to_string_lossy());
                Self {
                    op: Operator::new(builder)?,
                    write_chunk: None,
                    fs: Some(FsDirs {
                        root: root.clone(),
                        staging,
                    }),
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
                    fs: None,
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
        self.writer(key, key.as_str()).await
    }

    /// Starts writing part `index` of a blob stored in parts. Its name is new each time (the
    /// index and a random suffix), so a request that lost its turn and writes on can never
    /// overwrite a part another request recorded.
    pub async fn create_part(&self, key: &BlobKey, index: u32) -> Result<PartWriter, StorageError> {
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let name = format!("{index:06}-{suffix}");
        Ok(PartWriter {
            writer: self.writer(key, &key.part_path(&name)).await?,
            name,
        })
    }

    async fn writer(&self, key: &BlobKey, path: &str) -> Result<BlobWriter, StorageError> {
        if let Some(fs) = &self.fs {
            let file = file_writer::FileWriter::create(&fs.staging, fs.root.join(path))
                .await
                .map_err(|e| StorageError::Write(e.to_string()))?;
            return Ok(BlobWriter {
                inner: Writer::File(file),
            });
        }
        let mut writer = self.op.writer_with(path);
        if let Some(chunk) = self.write_chunk {
            writer = writer.chunk(chunk);
        }
        Ok(BlobWriter {
            inner: Writer::Dal(writer.await.map_err(|e| classify(key, e))?),
        })
    }

    /// The bytes `range` of a blob, as a stream of chunks of at most 256 KiB. Nothing is opened
    /// before the stream is polled: a missing blob shows as the stream's first item.
    pub fn read(
        &self,
        key: &BlobKey,
        layout: BlobLayout<'_>,
        range: Range<u64>,
    ) -> impl Stream<Item = Result<Bytes, StorageError>> + Send + 'static {
        let pieces: Vec<(String, Range<u64>)> = match layout {
            BlobLayout::Whole => vec![(key.as_str().to_owned(), range)],
            BlobLayout::Parts(parts) => {
                let mut start = 0;
                let mut pieces = Vec::new();
                for part in parts {
                    let end = start + part.len;
                    if start < range.end && range.start < end {
                        let within = range.start.max(start) - start..range.end.min(end) - start;
                        pieces.push((key.part_path(&part.name), within));
                    }
                    start = end;
                }
                pieces
            }
        };
        let (op, key) = (self.op.clone(), key.clone());
        futures::stream::iter(pieces)
            .then(move |(path, range)| read_object(op.clone(), key.clone(), path, range))
            .try_flatten()
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

    /// Every stored blob's key, a blob stored in parts once (for diagnostics: finding blobs no
    /// file refers to).
    pub async fn list_keys(&self) -> Result<Vec<BlobKey>, StorageError> {
        let entries = self.op.list_with("blobs/").recursive(true).await?;
        let mut keys: Vec<BlobKey> = entries
            .into_iter()
            .filter(|e| e.metadata().is_file())
            .map(|e| {
                let path = e.path();
                let key = path.split_once(PARTS_SUFFIX).map_or(path, |(key, _)| key);
                BlobKey(key.to_owned())
            })
            .collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        keys.dedup();
        Ok(keys)
    }

    /// Removes partial blobs of abandoned writes (the filesystem's staging files; S3 keeps
    /// incomplete multipart uploads until the bucket's lifecycle rule aborts them).
    pub fn sweep_abandoned_writes(&self) {
        if let Some(fs) = &self.fs {
            remove_stale_staging(&fs.staging);
        }
    }

    /// Removes a blob, in whichever form it is stored; one already gone is not an error.
    pub async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        let gone = |result: opendal::Result<()>| match result {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(StorageError::Backend(e)),
            _ => Ok(()),
        };
        gone(self.op.delete(key.as_str()).await)?;
        gone(self.op.delete_with(&key.parts_dir()).recursive(true).await)
    }
}

/// Reads `range` of one object.
async fn read_object(
    op: Operator,
    key: BlobKey,
    path: String,
    range: Range<u64>,
) -> Result<impl Stream<Item = Result<Bytes, StorageError>>, StorageError> {
    let reader = op
        .reader_with(&path)
        .chunk(READ_CHUNK)
        .await
        .map_err(|e| classify(&key, e))?;
    let stream = reader
        .into_bytes_stream(range)
        .await
        .map_err(|e| classify(&key, e))?;
    Ok(stream.map_err(move |e| {
        // The stream reports io::Error; keep OpenDAL's cause when it is one.
        match e.downcast::<opendal::Error>() {
            Ok(e) => classify(&key, e),
            Err(e) => StorageError::Read(e.to_string()),
        }
    }))
}

/// A part being written (see [`BlobStore::create_part`]).
pub struct PartWriter {
    name: String,
    writer: BlobWriter,
}

impl PartWriter {
    pub fn writer(&mut self) -> &mut BlobWriter {
        &mut self.writer
    }

    /// Completes the part: once this returns, it is stored for good.
    pub async fn finish(self) -> Result<BlobPart, StorageError> {
        let len = self.writer.finish().await?;
        Ok(BlobPart {
            name: self.name,
            len,
        })
    }

    pub async fn abort(self) {
        self.writer.abort().await
    }
}

/// A blob being written. Only [`finish`](Self::finish) makes it visible under its key.
pub struct BlobWriter {
    inner: Writer,
}

enum Writer {
    /// S3 and memory.
    Dal(opendal::Writer),
    File(file_writer::FileWriter),
}

impl BlobWriter {
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        self.write_all(vec![bytes]).await
    }

    /// Appends several pieces in one storage call, without copying them together.
    pub async fn write_all(&mut self, pieces: Vec<Bytes>) -> Result<(), StorageError> {
        match &mut self.inner {
            Writer::Dal(w) => Ok(w.write(opendal::Buffer::from(pieces)).await?),
            Writer::File(w) => w
                .write_all(pieces)
                .await
                .map_err(|e| StorageError::Write(e.to_string())),
        }
    }

    /// Completes the blob and returns its size.
    pub async fn finish(self) -> Result<u64, StorageError> {
        match self.inner {
            Writer::Dal(mut w) => Ok(w.close().await?.content_length()),
            Writer::File(w) => w
                .finish()
                .await
                .map_err(|e| StorageError::Write(e.to_string())),
        }
    }

    /// Throws the partial blob away.
    pub async fn abort(self) {
        let outcome = match self.inner {
            Writer::Dal(mut w) => w.abort().await.map_err(|e| e.to_string()),
            Writer::File(w) => w.abort().await.map_err(|e| e.to_string()),
        };
        if let Err(e) = outcome {
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
        read_layout(store, key, BlobLayout::Whole, range).await
    }

    async fn read_layout(
        store: &BlobStore,
        key: &BlobKey,
        layout: BlobLayout<'_>,
        range: Range<u64>,
    ) -> Vec<u8> {
        let chunks: Vec<Bytes> = store.read(key, layout, range).try_collect().await.unwrap();
        chunks.concat()
    }

    #[tokio::test]
    async fn a_blob_stored_in_parts_reads_back_to_back_by_any_range() {
        for (store, _dir) in stores().await {
            let key = BlobKey::generate();
            let data: Vec<u8> = (0..500_000u32).map(|i| (i % 251) as u8).collect();
            let mut parts = Vec::new();
            for (index, piece) in data.chunks(150_000).enumerate() {
                let mut part = store.create_part(&key, index as u32).await.unwrap();
                for bit in piece.chunks(40_000) {
                    part.writer()
                        .write(Bytes::copy_from_slice(bit))
                        .await
                        .unwrap();
                }
                parts.push(part.finish().await.unwrap());
            }
            // A part that was written but never recorded (its request died) is not read.
            let mut stray = store.create_part(&key, 1).await.unwrap();
            stray
                .writer()
                .write(Bytes::from_static(b"stray"))
                .await
                .unwrap();
            stray.finish().await.unwrap();
            // A part that was aborted is not there at all.
            let mut aborted = store.create_part(&key, 4).await.unwrap();
            aborted
                .writer()
                .write(Bytes::from_static(b"gone"))
                .await
                .unwrap();
            aborted.abort().await;

            assert_eq!(parts.len(), 4);
            assert_ne!(parts[0].name, parts[1].name);
            assert_eq!(parts[3].len, 50_000);
            let layout = BlobLayout::Parts(&parts);
            let len = data.len() as u64;
            for range in [
                0..len,
                0..1,
                149_999..150_001,
                140_000..460_000,
                len - 1..len,
            ] {
                let got = read_layout(&store, &key, layout, range.clone()).await;
                assert!(
                    got == data[range.start as usize..range.end as usize],
                    "{range:?}"
                );
            }
            assert_eq!(store.list_keys().await.unwrap(), vec![key.clone()]);

            store.delete(&key).await.unwrap();
            assert!(store.list_keys().await.unwrap().is_empty());
            let read: Result<Vec<Bytes>, _> = store.read(&key, layout, 0..1).try_collect().await;
            assert!(matches!(read, Err(StorageError::NotFound(_))), "{read:?}");
        }
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
        let staged = || std::fs::read_dir(root.join(STAGING_DIR)).unwrap().count();
        assert_eq!(staged(), 0);
        // Dropped unfinished (the request went away): nothing stays either.
        let key = BlobKey::generate();
        let mut writer = store.create(&key).await.unwrap();
        writer.write(Bytes::from_static(b"partial")).await.unwrap();
        assert_eq!(staged(), 1);
        drop(writer);
        assert_eq!(staged(), 0);
        assert!(store.list_keys().await.unwrap().is_empty());
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
            let read: Result<Vec<Bytes>, _> = store
                .read(&key, BlobLayout::Whole, 0..1)
                .try_collect()
                .await;
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
