//! The upload area of `/files` and of an upload request's sender page (`/r/{token}`): a drop
//! zone and a file picker. Without JavaScript it is a plain multipart form posting to
//! `/files/upload` (or `/r/{token}/upload`). Hydrated, each file is checked against the size
//! limit and the allowed types before a byte is sent. The owner's files are then uploaded
//! resumably through tus (`/api/v1/uploads`) in 8 MiB requests with a progress bar, pause and
//! resume; they carry on by themselves after the network drops, and after a reload when the
//! same file is chosen again ([`browser`]). A sender's file goes in one request, with progress.

use leptos::{html, prelude::*};

use crate::model::{human_bytes, UploadPolicy};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadState {
    /// Waiting for its turn: a few files are sent at a time.
    Queued,
    /// The server asked to wait (its limit of uploads a minute, or at once): seconds left.
    Waiting(u32),
    Sending,
    /// Stopped by the user until they resume it.
    Paused,
    /// The connection broke: trying again, from where the server says the upload is.
    Reconnecting,
    Stored,
    Failed(String),
}

impl UploadState {
    /// Whether the upload has ended, stored or refused.
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Stored | Self::Failed(_))
    }
}

/// One file being uploaded, as the list of uploads shows it.
#[derive(Clone)]
pub struct UploadItem {
    pub id: usize,
    pub name: String,
    pub total: u64,
    pub sent: RwSignal<u64>,
    pub state: RwSignal<UploadState>,
    /// Set by the pause button, cleared by resume; the sender stops between and within requests.
    pub paused: RwSignal<bool>,
    /// Whether it can be paused (sent resumably).
    pub resumable: bool,
    /// Bytes a second, smoothed, while it is sending.
    pub rate: RwSignal<Option<f64>>,
}

/// What the browser side needs to start uploads; cheap to copy into event handlers. (Only the
/// hydrated build sends files, so the server build leaves most of it unused.)
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub struct Uploader {
    pub items: RwSignal<Vec<UploadItem>>,
    next_id: StoredValue<usize>,
    policy: StoredValue<UploadPolicy>,
    /// Called after each file the server stored.
    on_stored: Callback<()>,
    /// The upload request the files are sent through (its token); `None`: the user's own.
    request: StoredValue<Option<String>>,
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl Uploader {
    fn add(&self, name: String, total: u64) -> UploadItem {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        let item = UploadItem {
            id,
            name,
            total,
            sent: RwSignal::new(0),
            state: RwSignal::new(UploadState::Queued),
            paused: RwSignal::new(false),
            resumable: self.request.with_value(Option::is_none),
            rate: RwSignal::new(None),
        };
        self.items.update(|items| items.push(item.clone()));
        item
    }

    /// How many files are sent at once: the user's own a few at a time (within the server's
    /// per-user limit of uploads at once); a sender's one after the other, so that each reply
    /// (its receipt) is kept in the sender's session before the next.
    fn at_once(&self) -> usize {
        if self.request.with_value(Option::is_none) {
            3
        } else {
            1
        }
    }

    /// Removes the uploads that ended (stored or refused) from the list.
    fn clear_finished(&self) {
        self.items
            .update(|items| items.retain(|i| !i.state.with_untracked(UploadState::is_finished)));
    }

    /// The reason a file would be refused, checked before sending (the server checks again,
    /// with the same policy).
    fn precheck(&self, name: &str, size: u64) -> Option<String> {
        self.policy.with_value(|policy| {
            policy
                .check_type(name)
                .err()
                .or_else(|| policy.check_size(size).err())
        })
    }
}

/// `request`: the token of the upload request the files are sent through, on its sender page.
#[component]
pub fn UploadZone(
    policy: UploadPolicy,
    #[prop(into)] on_stored: Callback<()>,
    #[prop(optional)] request: Option<String>,
) -> impl IntoView {
    let action = match &request {
        Some(token) => format!("{}/upload", crate::model::request_path(token)),
        None => "/files/upload".to_owned(),
    };
    let max_bytes = policy.max_upload_bytes;
    let allowed = policy.allowed_extensions.clone();
    let uploader = Uploader {
        items: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(0),
        policy: StoredValue::new(policy),
        on_stored,
        request: StoredValue::new(request),
    };
    let dragging = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    let input = NodeRef::<html::Input>::new();
    // Until the wasm runs, only the file picker takes files (a file dropped on it too), and
    // the zone does not offer to take drops. Files it took before then are sent now.
    Effect::new(move |_| {
        hydrated.set(true);
        browser::upload_chosen(uploader, input);
    });
    // Anywhere on the page takes a drop once the page is ready.
    browser::take_window_drops(uploader, dragging);

    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        browser::upload_dropped(uploader, &ev);
    };
    let on_dragover = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(true);
    };
    let on_change = move |_| browser::upload_chosen(uploader, input);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        browser::upload_chosen(uploader, input);
    };

    view! {
        <form method="post" action=action enctype="multipart/form-data"
            class="upload" on:submit=on_submit aria-label="Upload files">
            <div class="dropzone" class:ready=move || hydrated.get() class:dragging=move || dragging.get()
                data-testid="dropzone" on:dragover=on_dragover on:dragenter=on_dragover on:drop=on_drop>
                <p>
                    {move || if hydrated.get() {
                        view! { <strong>"Drop files anywhere on the page"</strong> " or choose them:" }.into_any()
                    } else {
                        view! { <strong>"Choose files to upload:"</strong> }.into_any()
                    }}
                </p>
                <input type="file" name="file" multiple node_ref=input on:change=on_change
                    accept=allowed.join(",") aria-label="Files to upload"/>
                <p class="muted">
                    "Up to " {human_bytes(max_bytes)} " each. Allowed: " {allowed.join(", ")}
                </p>
            </div>
            <button type="submit" class:hidden=move || hydrated.get()>"Upload"</button>
        </form>
        <div class="drop-overlay" class:hidden=move || !dragging.get() aria-hidden="true">
            <p>"Drop to upload"</p>
        </div>
        <Show when=move || uploader.items.with(|items| items.iter().any(|i| i.state.with(UploadState::is_finished)))>
            <p class="uploads-done">
                <button type="button" class="secondary small" data-testid="clear-finished"
                    on:click=move |_| uploader.clear_finished()>"Clear finished"</button>
            </p>
        </Show>
        <ul class="uploads">
            <For each=move || uploader.items.get() key=|item| item.id let:item>
                <UploadRow item/>
            </For>
        </ul>
    }
}

/// One upload: its name, then a bar with "38 MiB of 200 MiB · 9.8 MiB/s · 14 s left" and the
/// pause button on one line, or what became of it (stored, or why it was refused).
#[component]
fn UploadRow(item: UploadItem) -> impl IntoView {
    let UploadItem {
        name,
        total,
        sent,
        state,
        paused,
        resumable,
        rate,
        ..
    } = item;
    let running = move || {
        resumable
            && matches!(
                state.get(),
                UploadState::Sending | UploadState::Paused | UploadState::Reconnecting
            )
    };
    let percent = move || {
        (sent.get() * 100)
            .checked_div(total)
            .map_or(100, |p| p.min(100))
    };
    let failed = move || matches!(state.get(), UploadState::Failed(_));
    let progress = move || {
        let done = sent.get().min(total);
        let mut text = format!("{} of {}", human_bytes(done), human_bytes(total));
        if let (UploadState::Sending, Some(rate)) = (state.get(), rate.get()) {
            if rate > 0.0 {
                let left = ((total - done) as f64 / rate).ceil() as u64;
                text.push_str(&format!(
                    " · {}/s · {} left",
                    human_bytes(rate as u64),
                    duration(left)
                ));
            }
        }
        text
    };
    view! {
        <li class="upload-item" class:failed=failed data-testid="upload-item">
            <span class="name">{name}</span>
            <Show when=move || !failed()>
                <progress max="100" value=move || percent().to_string() aria-label="Upload progress"></progress>
                <span class="sr-only" data-testid="upload-percent">{move || format!("{}%", percent())}</span>
            </Show>
            <span class="upload-line">
                // The status (a live region) changes when the upload's state does; the figures
                // beside it change every half second and are read when asked for, not announced.
                <span class="upload-state" role="status">
                    {move || match state.get() {
                        UploadState::Queued => view! { <span class="muted">"Waiting to start…"</span> }.into_any(),
                        UploadState::Waiting(_) => view! {
                            <span class="muted">"The server asked to wait"</span>
                        }.into_any(),
                        UploadState::Sending => view! { <span class="muted">"Sending"</span> }.into_any(),
                        UploadState::Paused => view! {
                            <span class="muted">{format!("Paused at {}", progress())}</span>
                        }.into_any(),
                        UploadState::Reconnecting => view! {
                            <span class="muted">"Connection lost: retrying…"</span>
                        }.into_any(),
                        UploadState::Stored => view! { <span class="ok">"Stored"</span> }.into_any(),
                        UploadState::Failed(reason) => view! {
                            <span class="form-error" role="alert">{reason}</span>
                        }.into_any(),
                    }}
                </span>
                <span class="upload-figures muted">{move || match state.get() {
                    UploadState::Waiting(secs) => format!("starting again in {}…", duration(secs.into())),
                    UploadState::Sending => progress(),
                    _ => String::new(),
                }}</span>
                <Show when=running>
                    <button type="button" class="secondary small" data-testid="upload-pause"
                        on:click=move |_| paused.update(|p| *p = !*p)>
                        {move || if paused.get() { "Resume" } else { "Pause" }}
                    </button>
                </Show>
            </span>
        </li>
    }
}

/// Seconds as people say them: "14 s", "3 min 5 s", "1 h 2 min".
fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => match s % 60 {
            0 => format!("{} min", s / 60),
            rest => format!("{} min {rest} s", s / 60),
        },
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The browser side: reading dropped or chosen files and sending them. On the server these are
/// never called (no events fire there), so they are empty.
#[cfg(not(feature = "hydrate"))]
mod browser {
    use super::*;

    pub fn upload_dropped(_: Uploader, _: &leptos::ev::DragEvent) {}
    pub fn upload_chosen(_: Uploader, _: NodeRef<html::Input>) {}
    pub fn take_window_drops(_: Uploader, _: RwSignal<bool>) {}
}

#[cfg(feature = "hydrate")]
mod browser;
