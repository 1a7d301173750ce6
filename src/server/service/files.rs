//! Files: upload (validated and encrypted while streaming), list, metadata, download (decrypted
//! while streaming, by range) and delete. The REST handlers and the pages both come here.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::{stream::BoxStream, Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use crate::{
    app::model::FileInfo,
    server::{
        crypto::{
            segments::Layout, CryptoError, DataKey, NoncePrefix, SegmentDecryptor,
            SegmentEncryptor, WrappedKey,
        },
        db::{self, files::FileRow, users::UserRow},
        error::{Error, Result},
        service::{
            accounts::is_admin,
            audit::{self, action, Event},
            file_types,
            rate_limit::Bucket,
            RequestMeta,
        },
        state::AppState,
        storage::{BlobKey, BlobWriter, StorageError},
    },
};

/// How often a running upload marks itself alive (see `blob_uploads`).
const UPLOAD_HEARTBEAT_SECS: i64 = 60;
/// An upload quiet for this long is abandoned and its blob swept.
const UPLOAD_ABANDONED_SECS: i64 = 15 * 60;

pub type PlainStream = BoxStream<'static, Result<Bytes>>;

impl From<FileRow> for FileInfo {
    fn from(row: FileRow) -> Self {
        FileInfo {
            id: row.id,
            filename: row.filename,
            size: row.size.max(0) as u64,
            mime_type: row.mime_type,
            sha256: row.sha256,
            scan_status: row.scan_status,
            owner_id: row.owner_id,
            created_at: db::to_datetime(row.created_at),
            download_count: row.download_count.max(0) as u64,
        }
    }
}

fn storage_error(e: StorageError) -> Error {
    Error::internal("storage", e)
}

fn integrity_error(file_id: &str, e: CryptoError) -> Error {
    Error::internal("stored file cannot be decrypted", format!("{file_id}: {e}"))
}

/// What came in, once the whole upload has been read.
struct Received {
    size: u64,
    sha256: String,
    mime_type: &'static str,
}

/// Stores an upload: checks name, type and size while streaming, encrypts on the way, and makes
/// the file visible only once its blob is complete. Any failure leaves no row and no blob.
pub async fn upload<S, E>(
    state: &AppState,
    owner: &UserRow,
    meta: &RequestMeta,
    raw_name: &str,
    body: S,
) -> Result<FileRow>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    state
        .limiter()
        .hit(Bucket::UploadPerUser, &owner.id)
        .await?;
    let filename = file_types::normalise_filename(raw_name)?;
    let ext = file_types::check_extension(&filename, &state.settings().upload_policy())?;

    let target = Target {
        blob_key: BlobKey::generate(),
        ext,
        data_key: DataKey::generate(),
        prefix: NoncePrefix::generate(),
    };
    let pending = PendingBlob::begin(state, &target.blob_key).await?;
    let received = match store_blob(state, &target, body).await {
        Ok(received) => received,
        Err(e) => {
            pending.discard().await;
            return Err(e);
        }
    };

    let wrapped = state.keys().wrap_data_key(&target.data_key);
    let row = FileRow {
        id: db::new_id(),
        owner_id: owner.id.clone(),
        filename,
        size: received.size as i64,
        mime_type: received.mime_type.to_owned(),
        sha256: received.sha256,
        scan_status: "pending".into(),
        scan_detail: None,
        blob_key: target.blob_key.as_str().to_owned(),
        master_key_id: wrapped.master_key_id,
        wrapped_key: wrapped.sealed,
        nonce_prefix: target.prefix.as_bytes().to_vec(),
        download_count: 0,
        created_at: db::now(),
    };
    match db::files::insert_with_scan_job(&state.db().pool, &row).await {
        Ok(()) => pending.claimed(),
        Err(e) => {
            pending.discard().await;
            return Err(e.into());
        }
    }
    state.scan_queue().job_added();
    audit::record(
        state,
        meta,
        Event {
            actor_id: Some(&owner.id),
            action: action::FILE_UPLOADED,
            target: Some(&row.id),
            detail: Some(format!("name={:?} size={}", row.filename, row.size)),
        },
    )
    .await;
    Ok(row)
}

/// Where and how an upload is stored: its blob, the extension its content must match, and the
/// data key and nonce prefix it is sealed with.
struct Target {
    blob_key: BlobKey,
    ext: String,
    data_key: DataKey,
    prefix: NoncePrefix,
}

/// Writes the sealed body to the target's blob; on failure the partial blob is aborted.
async fn store_blob<S, E>(state: &AppState, target: &Target, body: S) -> Result<Received>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let mut writer = state
        .storage()
        .create(&target.blob_key)
        .await
        .map_err(storage_error)?;
    match receive(state, &mut writer, target, body).await {
        Ok(received) => {
            writer.finish().await.map_err(storage_error)?;
            Ok(received)
        }
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}

/// A blob being uploaded that no file owns yet. Its `blob_uploads` marker is written first, so
/// the sweeper finds it after a crash. Unless [`claimed`](Self::claimed) by a file row, it is
/// removed: at once by [`discard`](Self::discard), or from a task of its own when dropped (the
/// client went away and the server stopped polling the upload).
struct PendingBlob {
    state: AppState,
    key: Option<BlobKey>,
}

impl PendingBlob {
    async fn begin(state: &AppState, key: &BlobKey) -> Result<Self> {
        db::files::begin_upload(&state.db().pool, key.as_str(), db::now()).await?;
        Ok(Self {
            state: state.clone(),
            key: Some(key.clone()),
        })
    }

    /// A file row owns the blob now (its marker went in the same transaction).
    fn claimed(mut self) {
        self.key = None;
    }

    async fn discard(mut self) {
        if let Some(key) = self.key.take() {
            discard_blob(&self.state, &key).await;
        }
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let state = self.state.clone();
            tokio::spawn(async move { discard_blob(&state, &key).await });
        }
    }
}

/// Sealed segments waiting for the storage writer: enough that reading, hashing and encrypting
/// go on while a write is in flight, few enough to keep memory per upload small (16 × 64 KiB).
/// The writer takes whatever has queued up in one storage call.
const WRITE_QUEUE_SEGMENTS: usize = 16;

/// Reads the body into the writer: size limit, content check, hash and encryption on the way.
/// Reading and sealing run alongside writing, joined by a short queue.
async fn receive<S, E>(
    state: &AppState,
    writer: &mut BlobWriter,
    target: &Target,
    body: S,
) -> Result<Received>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let (sealed_tx, mut sealed_rx) = tokio::sync::mpsc::channel::<Bytes>(WRITE_QUEUE_SEGMENTS);
    let seal = seal_body(state, target, body, sealed_tx);
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
    let (received, ()) = tokio::try_join!(seal, write)?;
    Ok(received)
}

/// The reading half of [`receive`]: checks, hashes and seals the body, queueing the segments.
async fn seal_body<S, E>(
    state: &AppState,
    target: &Target,
    mut body: S,
    sealed: tokio::sync::mpsc::Sender<Bytes>,
) -> Result<Received>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    // The writer only stops early on an error, which it reports itself.
    let writer_gone = || Error::internal("upload", "the storage writer stopped");
    let policy = state.settings().upload_policy();
    let mut encryptor = SegmentEncryptor::new(&target.data_key, &target.prefix);
    let mut hasher = Hasher::start();
    let mut head: Vec<u8> = Vec::with_capacity(file_types::SNIFF_LEN);
    let mut mime_type = None;
    let mut size: u64 = 0;
    let mut last_heartbeat = db::now();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::BadUpload(e.to_string()))?;
        size += chunk.len() as u64;
        policy.check_size(size).map_err(Error::FileTooLarge)?;
        if mime_type.is_none() {
            let take = (file_types::SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == file_types::SNIFF_LEN {
                mime_type = Some(file_types::check_content(&target.ext, &head)?);
            }
        }
        hasher.update(chunk.clone()).await?;
        for segment in encryptor
            .update(&chunk)
            .map_err(|e| Error::internal("encrypt", e))?
        {
            sealed.send(segment).await.map_err(|_| writer_gone())?;
        }
        let now = db::now();
        if now - last_heartbeat >= UPLOAD_HEARTBEAT_SECS {
            db::files::touch_upload(&state.db().pool, target.blob_key.as_str(), now).await?;
            last_heartbeat = now;
        }
    }
    let mime_type = match mime_type {
        Some(m) => m,
        None => file_types::check_content(&target.ext, &head)?,
    };
    let last = encryptor
        .finish()
        .map_err(|e| Error::internal("encrypt", e))?;
    sealed.send(last).await.map_err(|_| writer_gone())?;
    Ok(Received {
        size,
        sha256: hasher.finish().await?,
        mime_type,
    })
}

/// SHA-256 of an upload, computed on a task of its own so that it runs on another core while
/// the upload's own task encrypts. Chunks are shared, not copied, and handed over in batches of
/// about 256 KiB so that the two tasks do not wake each other for every small body chunk.
struct Hasher {
    batches: tokio::sync::mpsc::Sender<Vec<Bytes>>,
    batch: Vec<Bytes>,
    batch_len: usize,
    digest: tokio::task::JoinHandle<String>,
}

const HASH_BATCH_BYTES: usize = 256 * 1024;

impl Hasher {
    fn start() -> Self {
        let (batches, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(4);
        let digest = tokio::spawn(async move {
            let mut hash = Sha256::new();
            while let Some(batch) = rx.recv().await {
                batch.iter().for_each(|chunk| hash.update(chunk));
            }
            hex::encode(hash.finalize())
        });
        Self {
            batches,
            batch: Vec::new(),
            batch_len: 0,
            digest,
        }
    }

    async fn update(&mut self, chunk: Bytes) -> Result<()> {
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

    async fn finish(mut self) -> Result<String> {
        self.flush().await?;
        drop(self.batches);
        self.digest
            .await
            .map_err(|e| Error::internal("upload hashing", e))
    }
}

/// Deletes a blob that belongs to no file. If that fails, its `blob_uploads` row stays and the
/// sweeper tries again later.
async fn discard_blob(state: &AppState, key: &BlobKey) {
    match state.storage().delete(key).await {
        Ok(()) => {
            if let Err(e) = db::files::forget_upload(&state.db().pool, key.as_str()).await {
                tracing::warn!(error = %e, "could not forget a discarded upload");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, blob = key.as_str(), "could not delete a discarded blob; the sweeper will")
        }
    }
}

/// Deletes blobs of uploads that went quiet (a crash, a lost connection mid-way).
pub async fn sweep_abandoned_uploads(state: &AppState) -> Result<usize> {
    let before = db::now() - UPLOAD_ABANDONED_SECS;
    db::files::forget_claimed_uploads(&state.db().pool, before).await?;
    let keys = db::files::abandoned_uploads(&state.db().pool, before).await?;
    let count = keys.len();
    for key in keys {
        discard_blob(state, &BlobKey::from_stored(key)).await;
    }
    Ok(count)
}

/// The file with this id if `actor` may see it (owner or admin); otherwise, as when it does not
/// exist, `NotFound`.
pub async fn find_visible(state: &AppState, actor: &UserRow, id: &str) -> Result<FileRow> {
    match db::files::find(&state.db().pool, id).await? {
        Some(file) if file.owner_id == actor.id || is_admin(actor) => Ok(file),
        _ => Err(Error::NotFound("file")),
    }
}

/// The actor's files, or everyone's for an admin; newest first.
pub async fn list(
    state: &AppState,
    actor: &UserRow,
    limit: i64,
    offset: i64,
) -> Result<Vec<FileRow>> {
    let owner = (!is_admin(actor)).then_some(actor.id.as_str());
    Ok(db::files::list(&state.db().pool, owner, limit.clamp(1, 500), offset.max(0)).await?)
}

/// A byte range as a client asked for it (`Range: bytes=…`), not yet checked against the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeSpec {
    /// `a-` or `a-b`.
    From { start: u64, end: Option<u64> },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The inclusive byte positions it covers in a file of `size` bytes, or 416.
    fn resolve(self, size: u64) -> Result<(u64, u64)> {
        let unsatisfiable = Error::RangeNotSatisfiable { size };
        match self {
            _ if size == 0 => Err(unsatisfiable),
            RangeSpec::From { start, .. } if start >= size => Err(unsatisfiable),
            RangeSpec::From { start, end } => {
                Ok((start, end.map_or(size - 1, |e| e.min(size - 1))))
            }
            RangeSpec::Suffix(0) => Err(unsatisfiable),
            RangeSpec::Suffix(n) => Ok((size - n.min(size), size - 1)),
        }
    }
}

/// A download ready to stream.
pub struct Download {
    pub file: FileRow,
    /// The inclusive byte range being sent, for a 206; `None` for the whole file.
    pub range: Option<(u64, u64)>,
    /// Whether a `Range` request would have been honoured (share links always send it all).
    pub accepts_ranges: bool,
    pub body: PlainStream,
}

/// Opens a file for download: visible to the actor, rate-limited per client, scanned clean.
pub async fn download(
    state: &AppState,
    actor: &UserRow,
    meta: &RequestMeta,
    id: &str,
    range: Option<RangeSpec>,
) -> Result<Download> {
    limit_downloads(state, meta).await?;
    let file = find_visible(state, actor, id).await?;
    let download = open_download(state, file, range).await?;
    record_download(
        state,
        meta,
        Some(&actor.id),
        &download.file,
        download.range,
        action::FILE_DOWNLOADED,
        None,
    )
    .await?;
    Ok(download)
}

/// The per-client download limit, for every way of downloading.
pub(crate) async fn limit_downloads(state: &AppState, meta: &RequestMeta) -> Result<()> {
    let client = meta.ip.as_deref().unwrap_or("unknown");
    state.limiter().hit(Bucket::DownloadPerClient, client).await
}

/// Starts sending a file the caller may have: refused unless scanned clean, and the first chunk
/// already decrypted and checked.
pub(crate) async fn open_download(
    state: &AppState,
    file: FileRow,
    range: Option<RangeSpec>,
) -> Result<Download> {
    ensure_scanned_clean(&file)?;
    let range = range
        .map(|r| r.resolve(file.size.max(0) as u64))
        .transpose()?;
    let body = plaintext(state, &file, range).await?;
    let body = first_chunk_checked(body).await?;
    Ok(Download {
        file,
        range,
        accepts_ranges: true,
        body,
    })
}

/// Counts a download of `file` (sending `range`) and writes its audit entry: `action` says
/// which way it went (signed in, by share link, by pre-signed URL), `detail` which link. Only a
/// download that starts at the first byte counts, so a client resuming with ranges counts once.
pub(crate) async fn record_download(
    state: &AppState,
    meta: &RequestMeta,
    actor_id: Option<&str>,
    file: &FileRow,
    range: Option<(u64, u64)>,
    action: &'static str,
    detail: Option<String>,
) -> Result<()> {
    if range.is_some_and(|(start, _)| start > 0) {
        return Ok(());
    }
    db::files::increment_downloads(&state.db().pool, &file.id).await?;
    audit::record(
        state,
        meta,
        Event {
            actor_id,
            action,
            target: Some(&file.id),
            detail,
        },
    )
    .await;
    Ok(())
}

/// Downloads are refused until a scan found the file clean: 409 pending or failed, 403 infected.
pub fn ensure_scanned_clean(file: &FileRow) -> Result<()> {
    match file.scan_status.as_str() {
        "clean" => Ok(()),
        "pending" => Err(Error::ScanPending),
        "infected" => Err(Error::Infected(
            file.scan_detail.clone().unwrap_or_else(|| "unknown".into()),
        )),
        _ => Err(Error::ScanFailed),
    }
}

/// Reads the first chunk before the response starts, so a blob that is missing or fails its
/// integrity check at once gives an error status instead of a cut-off 200.
async fn first_chunk_checked(mut body: PlainStream) -> Result<PlainStream> {
    match body.next().await {
        Some(Err(e)) => Err(e),
        Some(Ok(first)) => Ok(futures::stream::once(async { Ok(first) })
            .chain(body)
            .boxed()),
        None => Ok(futures::stream::empty().boxed()),
    }
}

/// The decrypted content of a file (or of the inclusive byte range `range`), as a stream that
/// holds at most one segment and one storage chunk. A segment that fails its integrity check
/// ends the stream with an error: no byte of it is released.
pub async fn plaintext(
    state: &AppState,
    file: &FileRow,
    range: Option<(u64, u64)>,
) -> Result<PlainStream> {
    let size = file.size.max(0) as u64;
    let wrapped = WrappedKey {
        master_key_id: file.master_key_id.clone(),
        sealed: file.wrapped_key.clone(),
    };
    let key = state
        .keys()
        .unwrap_data_key(&wrapped)
        .map_err(|e| integrity_error(&file.id, e))?;
    let prefix =
        NoncePrefix::from_slice(&file.nonce_prefix).map_err(|e| integrity_error(&file.id, e))?;
    let layout = Layout::new(size);
    let (sealed_range, segments, skip, take) = match range {
        Some((start, end)) => {
            let span = layout.span(start, end);
            (span.sealed, span.segments, span.skip, end - start + 1)
        }
        None => (
            0..layout.sealed_len(),
            0..=layout.segment_count() - 1,
            0,
            size,
        ),
    };
    let decryptor = SegmentDecryptor::new(&key, &prefix, size, segments);
    let sealed = state
        .storage()
        .read(&BlobKey::from_stored(file.blob_key.clone()), sealed_range)
        .await
        .map_err(storage_error)?
        .boxed();
    let unsealing = Unsealing {
        file_id: file.id.clone(),
        sealed,
        decryptor: Some(decryptor),
        skip,
        remaining: take,
        ready: VecDeque::new(),
    };
    Ok(futures::stream::try_unfold(unsealing, Unsealing::next).boxed())
}

struct Unsealing {
    file_id: String,
    sealed: BoxStream<'static, std::result::Result<Bytes, StorageError>>,
    decryptor: Option<SegmentDecryptor>,
    skip: u64,
    remaining: u64,
    ready: VecDeque<Bytes>,
}

impl Unsealing {
    async fn next(mut self) -> Result<Option<(Bytes, Self)>> {
        loop {
            if let Some(bytes) = self.ready.pop_front() {
                return Ok(Some((bytes, self)));
            }
            let Some(decryptor) = self.decryptor.as_mut() else {
                return Ok(None);
            };
            match self.sealed.try_next().await.map_err(storage_error)? {
                Some(chunk) => {
                    let segments = decryptor
                        .update(&chunk)
                        .map_err(|e| integrity_error(&self.file_id, e))?;
                    for segment in segments {
                        self.release(segment);
                    }
                }
                None => {
                    let decryptor = self.decryptor.take().expect("checked above");
                    decryptor
                        .finish()
                        .map_err(|e| integrity_error(&self.file_id, e))?;
                }
            }
        }
    }

    /// Queues the part of a verified segment that lies inside the requested range.
    fn release(&mut self, mut segment: Bytes) {
        let skip = self.skip.min(segment.len() as u64) as usize;
        self.skip -= skip as u64;
        let _ = segment.split_to(skip);
        let keep = self.remaining.min(segment.len() as u64) as usize;
        segment.truncate(keep);
        self.remaining -= keep as u64;
        if !segment.is_empty() {
            self.ready.push_back(segment);
        }
    }
}

/// Deletes a file's row (and scan job), then its blob.
pub async fn delete(state: &AppState, actor: &UserRow, meta: &RequestMeta, id: &str) -> Result<()> {
    let file = find_visible(state, actor, id).await?;
    let pool = &state.db().pool;
    let key = BlobKey::from_stored(file.blob_key.clone());
    // Note the blob first: should the process die between the two deletes, the sweeper finds it.
    db::files::begin_upload(pool, key.as_str(), 0).await?;
    if !db::files::delete(pool, &file.id).await? {
        db::files::forget_upload(pool, key.as_str()).await?;
        return Err(Error::NotFound("file"));
    }
    discard_blob(state, &key).await;
    audit::record(
        state,
        meta,
        Event {
            actor_id: Some(&actor.id),
            action: action::FILE_DELETED,
            target: Some(&file.id),
            detail: Some(format!("name={:?}", file.filename)),
        },
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size() {
        let from = |start, end| RangeSpec::From { start, end };
        assert_eq!(from(0, Some(9)).resolve(100).unwrap(), (0, 9));
        assert_eq!(from(90, None).resolve(100).unwrap(), (90, 99));
        assert_eq!(from(90, Some(500)).resolve(100).unwrap(), (90, 99));
        assert_eq!(RangeSpec::Suffix(10).resolve(100).unwrap(), (90, 99));
        assert_eq!(RangeSpec::Suffix(500).resolve(100).unwrap(), (0, 99));
        for (spec, size) in [
            (from(100, None), 100),
            (from(0, None), 0),
            (RangeSpec::Suffix(0), 100),
        ] {
            assert_eq!(
                spec.resolve(size).unwrap_err().code(),
                "range_not_satisfiable"
            );
        }
    }
}
