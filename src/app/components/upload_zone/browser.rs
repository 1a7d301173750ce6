//! The hydrated upload zone's sending: each dropped or chosen file is uploaded by the tus
//! protocol (`/api/v1/uploads`, signed in by the page's session) in 8 MiB requests.
//!
//! A small client of our own rather than tus-js-client: it is the few requests below over the
//! XMLHttpRequest the page already used (the only browser API that reports upload progress).
//! Measured with wasm-opt -Oz, it adds 19 KB to the page's wasm (7 KB gzipped), where
//! tus-js-client 4.3 would add a second script of 87 KB minified (22 KB gzipped), and a
//! JavaScript step to the build.
//!
//! - Files wait in a queue, first chosen first, and a few are sent at once (a sender's one at a
//!   time); a refusal that passes (429 over the uploads a minute or at once, 503 busy) is waited
//!   out as long as the server's `Retry-After` says, counting down, then tried again.
//! - Progress counts the bytes the server has confirmed plus the request under way, with the
//!   rate and the time left.
//! - Pause aborts the request under way (the server keeps what arrived) and waits; resume asks
//!   the server where the upload is (HEAD) and goes on from there.
//! - A broken connection, a server that is busy or restarting (5xx, 423) is retried with a
//!   growing pause, each time from where the server says the upload is; a refusal (the type,
//!   the quota) ends it with the server's sentence.
//! - The upload's URL is kept in `localStorage`, keyed by the file's name, size and
//!   modification time: choosing the same file again after a reload (or a crash) carries the
//!   upload on instead of starting over.

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, FileList, ProgressEvent, XmlHttpRequest};

use super::*;

const ENDPOINT: &str = "/api/v1/uploads";
/// Bytes per request: within any proxy's body limit, little to send again when a request
/// breaks, and large enough that the cost of a request does not show.
const CHUNK: u64 = 8 * 1024 * 1024;
/// The longest pause between attempts while the server cannot be reached.
const MAX_RETRY_MS: i32 = 5_000;

pub fn upload_dropped(uploader: Uploader, ev: &leptos::ev::DragEvent) {
    if let Some(files) = ev.data_transfer().and_then(|dt| dt.files()) {
        send_all(uploader, &files);
    }
}

/// Takes files dropped anywhere on the page (a drop on the zone itself was handled there
/// first), and lights the zone up while files are dragged over the window.
pub fn take_window_drops(uploader: Uploader, dragging: RwSignal<bool>) {
    // How deep into the page the drag is: every element entered counts one, every one left
    // takes one off; at 0 it has left the window.
    let depth = StoredValue::new(0i32);
    let enter = window_event_listener(leptos::ev::dragenter, move |ev| {
        if carries_files(&ev) {
            depth.update_value(|d| *d += 1);
            dragging.set(true);
        }
    });
    let leave = window_event_listener(leptos::ev::dragleave, move |ev| {
        if carries_files(&ev) {
            depth.update_value(|d| *d = (*d - 1).max(0));
            if depth.get_value() == 0 {
                dragging.set(false);
            }
        }
    });
    // Taking the dragover is what lets the drop land here instead of opening the file.
    let over = window_event_listener(leptos::ev::dragover, move |ev| {
        if carries_files(&ev) {
            ev.prevent_default();
        }
    });
    let drop = window_event_listener(leptos::ev::drop, move |ev| {
        depth.set_value(0);
        dragging.set(false);
        if ev.default_prevented() || !carries_files(&ev) {
            return;
        }
        ev.prevent_default();
        upload_dropped(uploader, &ev);
    });
    on_cleanup(move || {
        enter.remove();
        leave.remove();
        over.remove();
        drop.remove();
    });
}

/// Whether what is dragged is files (not a selection of text or a link).
fn carries_files(ev: &leptos::ev::DragEvent) -> bool {
    ev.data_transfer().is_some_and(|dt| {
        dt.types()
            .iter()
            .any(|t| t.as_string().as_deref() == Some("Files"))
    })
}

pub fn upload_chosen(uploader: Uploader, input: NodeRef<html::Input>) {
    let Some(input) = input.get_untracked() else {
        return;
    };
    if let Some(files) = input.files() {
        send_all(uploader, &files);
    }
    // Clear the picker so choosing the same file again uploads it again.
    input.set_value("");
}

/// Files waiting for their turn, first chosen first, and how many are being sent.
#[derive(Default)]
struct Queue {
    waiting: std::collections::VecDeque<(Uploader, UploadItem, File)>,
    running: usize,
}

thread_local! {
    /// The page has one upload zone, and wasm one thread.
    static QUEUE: std::cell::RefCell<Queue> = Default::default();
}

fn send_all(uploader: Uploader, files: &FileList) {
    for i in 0..files.length() {
        if let Some(file) = files.item(i) {
            let total = file.size() as u64;
            let item = uploader.add(file.name(), total);
            match uploader.precheck(&file.name(), total) {
                Some(reason) => item.state.set(UploadState::Failed(reason)),
                None => QUEUE.with_borrow_mut(|q| q.waiting.push_back((uploader, item, file))),
            }
        }
    }
    start_next();
}

/// Starts queued files while fewer than the uploader's number at once are being sent.
fn start_next() {
    while let Some((uploader, item, file)) = QUEUE.with_borrow_mut(|q| {
        let at_once = q.waiting.front()?.0.at_once();
        (q.running < at_once).then(|| {
            q.running += 1;
            q.waiting.pop_front()
        })?
    }) {
        leptos::task::spawn_local(async move {
            send(uploader, &item, &file).await;
            QUEUE.with_borrow_mut(|q| q.running -= 1);
            start_next();
        });
    }
}

async fn send(uploader: Uploader, item: &UploadItem, file: &File) {
    item.state.set(UploadState::Sending);
    let request = uploader.request.get_value();
    let sent = match &request {
        None => upload(item, file).await,
        Some(token) => send_once(item, file, token).await,
    };
    match sent {
        Ok(()) => {
            item.sent.set(item.total);
            item.state.set(UploadState::Stored);
            uploader.on_stored.run(());
        }
        Err(reason) => item.state.set(UploadState::Failed(reason)),
    }
}

/// Waits as long as the server asked (`Retry-After`, else a few seconds), counting down.
async fn wait_as_asked(item: &UploadItem, xhr: &XmlHttpRequest) {
    let asked = xhr
        .get_response_header("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(3)
        .clamp(1, 3600);
    for left in (1..=asked).rev() {
        item.state.set(UploadState::Waiting(left));
        sleep(1000).await;
    }
    item.state.set(UploadState::Sending);
}

/// Keeps the item's rate (bytes a second) as the bytes confirmed or sent grow: an average
/// over the last seconds, so that one fast or slow moment does not swing it.
fn track_rate(item: &UploadItem, last: &mut Option<(f64, u64)>, now_sent: u64) {
    let now = js_sys::Date::now();
    match *last {
        Some((at, bytes)) if now - at >= 500.0 => {
            let recent = now_sent.saturating_sub(bytes) as f64 * 1000.0 / (now - at);
            let smoothed = item
                .rate
                .get_untracked()
                .map_or(recent, |rate| rate * 0.7 + recent * 0.3);
            item.rate.set(Some(smoothed));
            *last = Some((now, now_sent));
        }
        Some(_) => {}
        None => *last = Some((now, now_sent)),
    }
}

/// Uploads the file, carrying on an upload of it that was started before if there is one.
async fn upload(item: &UploadItem, file: &File) -> Result<(), String> {
    let key = remembered_key(file);
    let total = file.size() as u64;
    let (url, mut offset) = match resume_point(&key).await {
        Some(found) => found,
        None => {
            let url = create(item, file).await?;
            remember(&key, Some(&url));
            (url, 0)
        }
    };
    item.sent.set(offset);
    let mut attempt = 0;
    while offset < total {
        if item.paused.get_untracked() {
            item.state.set(UploadState::Paused);
            while item.paused.get_untracked() {
                sleep(200).await;
            }
            item.state.set(UploadState::Sending);
        }
        let end = (offset + CHUNK).min(total);
        let chunk = file
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|_| "The browser could not read the file.".to_owned())?;
        match patch(item, &url, offset, &chunk).await {
            Answer::Moved(now_at) => {
                offset = now_at;
                attempt = 0;
                item.state.set(UploadState::Sending);
            }
            Answer::Stopped | Answer::Waited => {}
            Answer::Again => {
                attempt += 1;
                item.state.set(UploadState::Reconnecting);
                sleep(backoff(attempt)).await;
            }
            Answer::Refused(reason) => {
                remember(&key, None);
                return Err(reason);
            }
        }
        if !matches!(item.state.get_untracked(), UploadState::Sending) || offset < end {
            // Paused, cut short or refused for the offset: ask where the upload is.
            match where_is(&url).await {
                Where::At(now_at) => offset = now_at,
                Where::Unknown => continue,
                Where::Gone(reason) => {
                    remember(&key, None);
                    return Err(reason);
                }
            }
        }
        item.sent.set(offset);
    }
    remember(&key, None);
    Ok(())
}

/// Sends the file through an upload request in one multipart request (progress as it goes);
/// a sender has no upload of their own to carry on.
async fn send_once(item: &UploadItem, file: &File, token: &str) -> Result<(), String> {
    let url = format!("{}/upload", crate::model::request_path(token));
    let form = web_sys::FormData::new().map_err(|_| cannot_start())?;
    form.append_with_blob_and_filename("file", file, &file.name())
        .map_err(|_| cannot_start())?;
    loop {
        let xhr = post_form(item, &url, &form).await?;
        match xhr.status().unwrap_or(0) {
            201 => return Ok(()),
            // Over the request's uploads a minute, or the server is busy: it says how long.
            429 | 503 => {
                item.sent.set(0);
                wait_as_asked(item, &xhr).await;
            }
            0 => return Err("The connection broke before the file arrived; send it again.".into()),
            status => return Err(error_detail(status, &body_of(&xhr))),
        }
    }
}

/// Posts the form with progress as it goes; the request, once it has ended.
async fn post_form(
    item: &UploadItem,
    url: &str,
    form: &web_sys::FormData,
) -> Result<XmlHttpRequest, String> {
    let xhr = XmlHttpRequest::new().map_err(|_| cannot_start())?;
    xhr.open("POST", url).map_err(|_| cannot_start())?;
    xhr.set_request_header("Accept", "application/json")
        .map_err(|_| cannot_start())?;
    let (rated, mut last) = (item.clone(), None);
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if ev.length_computable() {
            rated.sent.set(ev.loaded() as u64);
            track_rate(&rated, &mut last, ev.loaded() as u64);
        }
    });
    let upload = xhr.upload().ok();
    if let Some(upload) = &upload {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let ended = js_sys::Promise::new(&mut |resolve, _| xhr.set_onloadend(Some(&resolve)));
    let started = xhr.send_with_opt_form_data(Some(form));
    let finished = match started {
        Ok(()) => JsFuture::from(ended).await.map(|_| ()),
        Err(e) => Err(e),
    };
    xhr.set_onloadend(None);
    if let Some(upload) = &upload {
        upload.set_onprogress(None);
    }
    drop(on_progress);
    if finished.is_err() {
        return Err(cannot_start());
    }
    Ok(xhr)
}

/// How an upload request ended.
enum Answer {
    /// The server has the bytes up to here.
    Moved(u64),
    /// The user paused it.
    Stopped,
    /// The server asked to wait, and it has been waited out.
    Waited,
    /// The connection broke or the server could not take it now: try again.
    Again,
    /// Refused for good, with the server's reason.
    Refused(String),
}

/// Where the server says an upload is.
enum Where {
    At(u64),
    /// The server could not be asked.
    Unknown,
    Gone(String),
}

/// Starts an upload of the file (tus creation); its URL.
async fn create(item: &UploadItem, file: &File) -> Result<String, String> {
    let metadata = format!("filename {}", base64(&file.name()));
    let length = file.size().to_string();
    let mut attempt = 0;
    loop {
        let xhr = request("POST", ENDPOINT).map_err(|_| cannot_start())?;
        let sent = xhr
            .set_request_header("Upload-Length", &length)
            .and_then(|()| xhr.set_request_header("Upload-Metadata", &metadata));
        if sent.is_err() || finish(&xhr, None).await.is_err() {
            return Err(cannot_start());
        }
        let status = xhr.status().unwrap_or(0);
        match status {
            201 => {
                return xhr
                    .get_response_header("Location")
                    .ok()
                    .flatten()
                    .ok_or_else(cannot_start)
            }
            // Over the uploads a minute, or at once, or the server is busy: it says how long.
            429 | 503 => wait_as_asked(item, &xhr).await,
            0 | 423 | 500..=599 => {
                attempt += 1;
                item.state.set(UploadState::Reconnecting);
                sleep(backoff(attempt)).await;
            }
            _ => return Err(error_detail(status, &body_of(&xhr))),
        }
    }
}

/// Sends the bytes from `offset` (tus PATCH); progress counts as they go, and pausing aborts.
async fn patch(item: &UploadItem, url: &str, offset: u64, chunk: &Blob) -> Answer {
    let Ok(xhr) = request("PATCH", url) else {
        return Answer::Refused(cannot_start());
    };
    let headers = xhr
        .set_request_header("Upload-Offset", &offset.to_string())
        .and_then(|()| xhr.set_request_header("Content-Type", "application/offset+octet-stream"));
    if headers.is_err() {
        return Answer::Refused(cannot_start());
    }
    let (rated, paused, watched) = (item.clone(), item.paused, xhr.clone());
    let mut last = None;
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if paused.get_untracked() {
            let _ = watched.abort();
        } else if ev.length_computable() {
            let now_at = offset + ev.loaded() as u64;
            rated.sent.set(now_at);
            track_rate(&rated, &mut last, now_at);
        }
    });
    let upload = xhr.upload().ok();
    if let Some(upload) = &upload {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let finished = finish(&xhr, Some(chunk)).await;
    if let Some(upload) = &upload {
        upload.set_onprogress(None);
    }
    drop(on_progress);
    if finished.is_err() {
        return Answer::Again;
    }
    match xhr.status().unwrap_or(0) {
        204 => offset_of(&xhr).map_or(Answer::Again, Answer::Moved),
        _ if paused.get_untracked() => Answer::Stopped,
        // Another offset than the server's: ask it where the upload is and go on from there.
        409 => Answer::Moved(offset),
        // Over the server's request rate, or busy: it says how long.
        429 | 503 => {
            wait_as_asked(item, &xhr).await;
            Answer::Waited
        }
        0 | 423 | 500..=599 => Answer::Again,
        status => Answer::Refused(error_detail(status, &body_of(&xhr))),
    }
}

/// Asks the server where an upload is (tus HEAD).
async fn where_is(url: &str) -> Where {
    let Ok(xhr) = request("HEAD", url) else {
        return Where::Unknown;
    };
    if finish(&xhr, None).await.is_err() {
        return Where::Unknown;
    }
    match xhr.status().unwrap_or(0) {
        200 => offset_of(&xhr).map_or(Where::Unknown, Where::At),
        404 => Where::Gone("The upload is no longer on the server; start it again.".into()),
        410 => Where::Gone("The upload expired before it was finished; start it again.".into()),
        _ => Where::Unknown,
    }
}

/// Where a remembered upload of this file is, if the server still has it.
async fn resume_point(key: &str) -> Option<(String, u64)> {
    let url = storage()?.get_item(key).ok().flatten()?;
    match where_is(&url).await {
        Where::At(offset) => Some((url, offset)),
        Where::Gone(_) | Where::Unknown => {
            remember(key, None);
            None
        }
    }
}

/// The key an upload's URL is kept under: the same file chosen again finds it.
fn remembered_key(file: &File) -> String {
    format!(
        "coffer-upload:{}:{}:{}",
        file.name(),
        file.size(),
        file.last_modified()
    )
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Keeps (or, with `None`, forgets) the URL of this file's upload.
fn remember(key: &str, url: Option<&str>) {
    if let Some(storage) = storage() {
        let _ = match url {
            Some(url) => storage.set_item(key, url),
            None => storage.remove_item(key),
        };
    }
}

/// A tus request to `url`, not yet sent.
fn request(method: &str, url: &str) -> Result<XmlHttpRequest, JsValue> {
    let xhr = XmlHttpRequest::new()?;
    xhr.open(method, url)?;
    xhr.set_request_header("Tus-Resumable", "1.0.0")?;
    xhr.set_request_header("Accept", "application/json")?;
    Ok(xhr)
}

/// Sends the request and waits until it has ended, however it ended (loaded, failed or
/// aborted: the status tells which).
async fn finish(xhr: &XmlHttpRequest, body: Option<&Blob>) -> Result<(), JsValue> {
    let ended = js_sys::Promise::new(&mut |resolve, _| xhr.set_onloadend(Some(&resolve)));
    xhr.send_with_opt_blob(body)?;
    JsFuture::from(ended).await?;
    xhr.set_onloadend(None);
    Ok(())
}

fn offset_of(xhr: &XmlHttpRequest) -> Option<u64> {
    xhr.get_response_header("Upload-Offset")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
}

fn body_of(xhr: &XmlHttpRequest) -> String {
    xhr.response_text().ok().flatten().unwrap_or_default()
}

async fn sleep(ms: i32) {
    let done = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(done).await;
}

/// The pause before attempt `n` (from 1): 0.5 s, doubling, at most [`MAX_RETRY_MS`].
fn backoff(attempt: u32) -> i32 {
    (500i32 << attempt.saturating_sub(1).min(4)).min(MAX_RETRY_MS)
}

/// A file name as tus metadata carries it: base64 of its UTF-8 bytes (`btoa` takes bytes as
/// the characters U+0000 to U+00FF).
fn base64(text: &str) -> String {
    let bytes: String = text.bytes().map(char::from).collect();
    web_sys::window()
        .and_then(|w| w.btoa(&bytes).ok())
        .unwrap_or_default()
}

fn cannot_start() -> String {
    "The browser could not start the upload.".into()
}

/// The server's sentence from an error body, or one for the status.
fn error_detail(status: u16, body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| match status {
            413 => "The file is larger than the server accepts.".into(),
            429 => "Too many uploads; wait a minute and try again.".into(),
            other => format!("The upload failed (HTTP {other})."),
        })
}
