//! Downloads through a link: one file (whole, no ranges), or all of them as one zip; each counts
//! once, by one conditional update, and tells the maker's webhooks in the same transaction.

use serde::{Deserialize, Serialize};

use crate::server::{
    db::{self, files::FileRow, shares::ShareRow},
    error::{Error, Result},
    service::{
        audit::action,
        files::{self, Download},
        unlock::Pass,
        webhooks, RequestMeta,
    },
    state::AppState,
};

use super::link::{ensure_usable, open_link};

/// A download by share link of one of its files: the whole file (ranges would let one count
/// stand for many downloads). Checks the link, then its password (attempts limited per link),
/// then the scan; the download counts once the first chunk is ready to send. Every download
/// through a link counts one, whichever file.
pub async fn download(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
    file_id: &str,
) -> Result<Download> {
    files::limit_downloads(state, meta).await?;
    let (link, files) = open_link(state, meta, token, pass).await?;
    download_file(state, meta, &link, files, file_id).await
}

/// What a link's own download gives: its file, or its files as one zip.
pub enum LinkDownload {
    File(Box<Download>),
    Zip(ZipDownload),
}

/// The link's download: a link to one file sends the file ([`download`]), a link to several
/// sends them all as a zip ([`download_all`]).
pub async fn download_link(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<LinkDownload> {
    files::limit_downloads(state, meta).await?;
    let (link, files) = open_link(state, meta, token, pass).await?;
    link_download(state, meta, &link, files).await
}

/// A download the recipient's page cleared ([`clear`]), for the browser to fetch next with
/// [`redeem`]. The page keeps it in the browser's session (or signed flash cookie) between the
/// two requests, so a link previewer that follows every GET never starts, nor counts, one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    link_id: String,
    /// One of the link's files; `None` for the link's own download (its file, or all of them
    /// as a zip).
    pub file_id: Option<String>,
}

/// Checks everything a download through the link checks (its password, its state, the
/// chosen file, the scan) and counts nothing: the count is [`redeem`]'s, when the download
/// starts.
pub async fn clear(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
    file_id: Option<&str>,
) -> Result<Ticket> {
    let (link, files) = open_link(state, meta, token, pass).await?;
    match file_id {
        Some(id) => ensure_something_to_send([pick(&files, id)?])?,
        None => ensure_something_to_send(&files)?,
    }
    Ok(Ticket {
        link_id: link.id,
        file_id: file_id.map(str::to_owned),
    })
}

/// The download a [`Ticket`] cleared, checked again and counted as it starts.
pub async fn redeem(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
    ticket: &Ticket,
) -> Result<LinkDownload> {
    files::limit_downloads(state, meta).await?;
    let (link, files) = open_link(state, meta, token, pass).await?;
    if link.id != ticket.link_id {
        return Err(Error::NotFound("download"));
    }
    match &ticket.file_id {
        Some(id) => Ok(LinkDownload::File(Box::new(
            download_file(state, meta, &link, files, id).await?,
        ))),
        None => link_download(state, meta, &link, files).await,
    }
}

/// A link's own download: its file, or all of them as a zip.
async fn link_download(
    state: &AppState,
    meta: &RequestMeta,
    link: &ShareRow,
    files: Vec<FileRow>,
) -> Result<LinkDownload> {
    Ok(match files.as_slice() {
        [only] => {
            let id = only.id.clone();
            LinkDownload::File(Box::new(
                download_file(state, meta, link, files, &id).await?,
            ))
        }
        _ => LinkDownload::Zip(zip_files(state, meta, link, files).await?),
    })
}

/// One file of an opened link.
async fn download_file(
    state: &AppState,
    meta: &RequestMeta,
    link: &ShareRow,
    files: Vec<FileRow>,
    file_id: &str,
) -> Result<Download> {
    let file = pick(files, file_id)?;
    let mut download = files::open_download(state, file, None).await?;
    download.accepts_ranges = false;
    count_download(state, link, &[&download.file]).await?;
    files::record_download(
        state,
        meta,
        None,
        &download.file,
        download.range,
        action::SHARE_DOWNLOADED,
        Some(format!("link={}", link.id)),
    )
    .await?;
    Ok(download)
}

/// All of a link's files that can be downloaded, as one zip.
pub struct ZipDownload {
    /// What the archive is called when saved.
    pub filename: String,
    /// The files in it, in order.
    pub files: Vec<FileRow>,
    /// Names of the link's files left out: not scanned clean (yet).
    pub left_out: Vec<String>,
    pub body: files::PlainStream,
}

/// "Download all": every file of the link that is scanned clean, as one streamed zip; files
/// still being scanned, or infected, or whose scan failed are left out (and named). Counts one
/// download of the link, like any other download through it.
pub async fn download_all(
    state: &AppState,
    meta: &RequestMeta,
    token: &str,
    pass: &Pass,
) -> Result<ZipDownload> {
    files::limit_downloads(state, meta).await?;
    let (link, files) = open_link(state, meta, token, pass).await?;
    zip_files(state, meta, &link, files).await
}

/// The files of an opened link that are scanned clean, as one zip.
async fn zip_files(
    state: &AppState,
    meta: &RequestMeta,
    link: &ShareRow,
    all: Vec<FileRow>,
) -> Result<ZipDownload> {
    ensure_something_to_send(&all)?;
    let (ready, left_out): (Vec<FileRow>, Vec<FileRow>) = all
        .into_iter()
        .partition(|f| f.scan_status.is_downloadable());
    count_download(state, link, &ready.iter().collect::<Vec<_>>()).await?;
    files::record_zip_download(
        state,
        meta,
        &ready,
        action::SHARE_DOWNLOADED,
        format!("link={} zip", link.id),
    )
    .await?;
    Ok(ZipDownload {
        filename: "shared-files.zip".to_owned(),
        body: files::zip(state, ready.clone()),
        files: ready,
        left_out: left_out.into_iter().map(|f| f.filename).collect(),
    })
}

/// The one of a link's files a download names; one the link does not have is unknown.
fn pick<F: std::borrow::Borrow<FileRow>>(
    files: impl IntoIterator<Item = F>,
    file_id: &str,
) -> Result<F> {
    files
        .into_iter()
        .find(|f| f.borrow().id == file_id)
        .ok_or(Error::NotFound("file"))
}

/// Whether a download of these files (one file, or a zip, which leaves out what is not scanned
/// clean) has anything to send; when it has not, why the first of them cannot be sent.
fn ensure_something_to_send<'a>(chosen: impl IntoIterator<Item = &'a FileRow>) -> Result<()> {
    let mut first = None;
    for file in chosen {
        if file.scan_status.is_downloadable() {
            return Ok(());
        }
        first.get_or_insert(file);
    }
    first.map_or(Ok(()), files::ensure_scanned_clean)
}

/// Counts a download through `link`, or says why it may not start.
/// The link's maker's webhooks are told in the same transaction.
async fn count_download(state: &AppState, link: &ShareRow, files: &[&FileRow]) -> Result<()> {
    let event = webhooks::share_downloaded(link, files, state.now());
    let pool = &state.db().pool;
    if db::shares::count_download(pool, &link.id, state.now(), &event).await? {
        return Ok(());
    }
    // Another download took the last one, or the link ran out or was revoked meanwhile: its
    // row as it is now says which.
    if let Some(now) = db::shares::find(pool, &link.id).await? {
        ensure_usable(state, &now)?;
    }
    Err(Error::DownloadLimitReached)
}
