//! The download pipeline: a file the caller may have, refused until scanned clean, decrypted
//! segment by segment as it streams (a byte range reads only the segments it covers), and
//! counted once per download that starts at the first byte.

use bytes::Bytes;
use futures::{stream::BoxStream, StreamExt, TryStreamExt};

use super::{access::find_visible, integrity_error, storage_error};
use crate::{
    model::ScanStatus,
    server::{
        db::{self, files::FileRow, users::UserRow},
        error::{Error, Result},
        metrics,
        pace::Pace,
        service::{
            audit::{action, Action, Event},
            rate_limits::{self, Bucket},
            RequestMeta,
        },
        state::AppState,
        storage::{BlobKey, BlobLayout, StorageError},
    },
};
use coffer_crypto::{segments::Layout, NoncePrefix, SegmentDecryptor, WrappedKey};

pub type PlainStream = BoxStream<'static, Result<Bytes>>;

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
    let action = super::owner_or_admin(
        actor,
        &download.file,
        action::FILE_DOWNLOADED,
        action::ADMIN_FILE_DOWNLOADED,
    );
    record_download(
        state,
        meta,
        Some(&actor.id),
        &download.file,
        download.range,
        action,
        None,
    )
    .await?;
    Ok(download)
}

/// The per-client download limit, for every way of downloading.
pub(crate) async fn limit_downloads(state: &AppState, meta: &RequestMeta) -> Result<()> {
    rate_limits::hit(state, Bucket::DownloadPerClient, &meta.client()).await?;
    Ok(())
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
    // Counted as streaming until the body is dropped: sent, or the client went away.
    let transfer = metrics::Transfer::download();
    let body = body
        .inspect(move |_| {
            let _ = &transfer;
        })
        .boxed();
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
    action: Action,
    detail: Option<String>,
) -> Result<()> {
    if range.is_some_and(|(start, _)| start > 0) {
        return Ok(());
    }
    db::files::increment_downloads(&state.db().pool, &file.id).await?;
    Event::new(action)
        .by_opt(actor_id)
        .on(&file.id)
        .detail_opt(detail)
        .record(state, meta)
        .await;
    Ok(())
}

/// Counts a download of several files as one zip and audits it in one row, naming them all
/// (`files=` in the detail, after `detail`): one statement and one row whatever their number.
pub(crate) async fn record_zip_download(
    state: &AppState,
    meta: &RequestMeta,
    files: &[FileRow],
    action: Action,
    detail: String,
) -> Result<()> {
    let Some(first) = files.first() else {
        return Ok(());
    };
    let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
    db::files::increment_downloads_of(&state.db().pool, &ids).await?;
    Event::new(action)
        .on(&first.id)
        .detail(format!("{detail} files={}", ids.join(",")))
        .record(state, meta)
        .await;
    Ok(())
}

/// Downloads are refused until a scan found the file clean: 409 pending or failed, 403 infected.
pub fn ensure_scanned_clean(file: &FileRow) -> Result<()> {
    match file.scan_status {
        ScanStatus::Clean => Ok(()),
        ScanStatus::Pending => Err(Error::ScanPending),
        ScanStatus::Infected => Err(Error::Infected(
            file.scan_detail.clone().unwrap_or_else(|| "unknown".into()),
        )),
        ScanStatus::Error => Err(Error::ScanFailed),
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

/// The decrypted content of a file (or of the inclusive byte range `range`), as a stream of
/// frames of up to [`FRAME_SEGMENTS`] segments, that holds at most one storage chunk and the
/// frame being filled beside the one being sent. A segment that fails its integrity check ends
/// the stream with an error: no byte of it is released.
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
        .unwrap_data_key(&wrapped, &file.id)
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
    let decryptor =
        SegmentDecryptor::new(&key, &prefix, size, segments).with_frame_segments(FRAME_SEGMENTS);
    let parts = super::stored_parts(state, file).await?;
    let layout = match &parts {
        Some(parts) => BlobLayout::Parts(parts),
        None => BlobLayout::Whole,
    };
    let sealed = state
        .storage()
        .read(
            &BlobKey::from_stored(file.blob_key.clone()),
            layout,
            sealed_range,
        )
        .boxed();
    let unsealing = Unsealing {
        file_id: file.id.clone(),
        sealed,
        decryptor: Some(decryptor),
        unread: Bytes::new(),
        skip,
        remaining: take,
        ready: None,
        pace: Pace::default(),
    };
    Ok(futures::stream::try_unfold(unsealing, Unsealing::next).boxed())
}

/// Segments sent as one frame: the socket takes a download in writes of this many segments
/// (128 KiB), while the server's connection buffer stays small (`http::serve`). A download holds
/// two frames (one filling, one being sent) beside its storage chunk: with 4 segments each
/// download past the first added 1.03 to 1.10 MiB to the server's peak, with 2 segments 0.80 to
/// 0.88, at the same throughput (`scripts/bench.sh`, part "concurrent", same run).
const FRAME_SEGMENTS: usize = 2;

struct Unsealing {
    file_id: String,
    sealed: BoxStream<'static, std::result::Result<Bytes, StorageError>>,
    decryptor: Option<SegmentDecryptor>,
    /// What is left of the storage chunk read last, still sealed.
    unread: Bytes,
    skip: u64,
    remaining: u64,
    ready: Option<Bytes>,
    pace: Pace,
}

impl Unsealing {
    async fn next(mut self) -> Result<Option<(Bytes, Self)>> {
        loop {
            if let Some(bytes) = self.ready.take() {
                return Ok(Some((bytes, self)));
            }
            let Some(decryptor) = self.decryptor.as_mut() else {
                return Ok(None);
            };
            // A storage chunk holds several segments: they are opened one at a time, into the
            // frame being filled, which goes out once it holds `FRAME_SEGMENTS` of them.
            if !self.unread.is_empty() {
                let take = match decryptor.wants() {
                    0 => self.unread.len(), // more than the file holds: an integrity error
                    wants => wants.min(self.unread.len()),
                };
                let piece = self.unread.split_to(take);
                decryptor
                    .update(&piece)
                    .map_err(|e| integrity_error(&self.file_id, e))?;
                if decryptor.frame_full() {
                    let frame = decryptor.take_opened();
                    self.release(frame);
                }
                self.pace.processed(piece.len()).await;
                continue;
            }
            match self.sealed.try_next().await.map_err(storage_error)? {
                Some(chunk) => self.unread = chunk,
                None => {
                    let mut decryptor = self.decryptor.take().expect("checked above");
                    let last = decryptor.take_opened();
                    decryptor
                        .finish()
                        .map_err(|e| integrity_error(&self.file_id, e))?;
                    self.release(last);
                }
            }
        }
    }

    /// Readies the part of verified plaintext that lies inside the requested range.
    fn release(&mut self, mut plain: Bytes) {
        let skip = self.skip.min(plain.len() as u64) as usize;
        self.skip -= skip as u64;
        let _ = plain.split_to(skip);
        let keep = self.remaining.min(plain.len() as u64) as usize;
        plain.truncate(keep);
        self.remaining -= keep as u64;
        if !plain.is_empty() {
            self.ready = Some(plain);
        }
    }
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
