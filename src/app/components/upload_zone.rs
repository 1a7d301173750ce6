//! The upload area of `/files`: a drop zone and a file picker. Without JavaScript it is a plain
//! multipart form posting to `/files/upload`. Hydrated, each file is sent on its own
//! XMLHttpRequest (which reports upload progress; `fetch` does not) with a progress bar, and is
//! checked against the size limit and the allowed types before a byte is sent.

use leptos::{html, prelude::*};

use crate::app::model::{human_bytes, UploadPolicy};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadState {
    Sending,
    Stored,
    Failed(String),
}

/// One file being uploaded, as the list of uploads shows it.
#[derive(Clone)]
pub struct UploadItem {
    pub id: usize,
    pub name: String,
    pub total: u64,
    pub sent: RwSignal<u64>,
    pub state: RwSignal<UploadState>,
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
            state: RwSignal::new(UploadState::Sending),
        };
        self.items.update(|items| items.insert(0, item.clone()));
        item
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

#[component]
pub fn UploadZone(policy: UploadPolicy, #[prop(into)] on_stored: Callback<()>) -> impl IntoView {
    let max_bytes = policy.max_upload_bytes;
    let allowed = policy.allowed_extensions.clone();
    let uploader = Uploader {
        items: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(0),
        policy: StoredValue::new(policy),
        on_stored,
    };
    let dragging = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let input = NodeRef::<html::Input>::new();

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
        <form method="post" action="/files/upload" enctype="multipart/form-data"
            class="upload" on:submit=on_submit aria-label="Upload files">
            <div class="dropzone" class:dragging=move || dragging.get() data-testid="dropzone"
                on:dragover=on_dragover on:dragenter=on_dragover
                on:dragleave=move |_| dragging.set(false) on:drop=on_drop>
                <p><strong>"Drop files here"</strong> " or choose them:"</p>
                <input type="file" name="file" multiple node_ref=input on:change=on_change
                    accept=allowed.join(",") aria-label="Files to upload"/>
                <p class="muted">
                    "Up to " {human_bytes(max_bytes)} " each. Allowed: " {allowed.join(", ")}
                </p>
            </div>
            <button type="submit" class:hidden=move || hydrated.get()>"Upload"</button>
        </form>
        <ul class="uploads" aria-live="polite">
            <For each=move || uploader.items.get() key=|item| item.id let:item>
                <UploadRow item/>
            </For>
        </ul>
    }
}

#[component]
fn UploadRow(item: UploadItem) -> impl IntoView {
    let UploadItem {
        name,
        total,
        sent,
        state,
        ..
    } = item;
    let percent = move || {
        (sent.get() * 100)
            .checked_div(total)
            .map_or(100, |p| p.min(100))
    };
    view! {
        <li class="upload-item" data-testid="upload-item">
            <span class="name">{name}</span>
            <progress max="100" value=move || percent().to_string() aria-label="Upload progress"></progress>
            <span class="percent" data-testid="upload-percent">{move || format!("{}%", percent())}</span>
            <span class="upload-state" role="status">
                {move || match state.get() {
                    UploadState::Sending => view! { <span class="muted">"Sending…"</span> }.into_any(),
                    UploadState::Stored => view! { <span class="ok">"Stored"</span> }.into_any(),
                    UploadState::Failed(reason) => view! {
                        <span class="form-error" role="alert">{reason}</span>
                    }.into_any(),
                }}
            </span>
        </li>
    }
}

/// The browser side: reading dropped or chosen files and sending them. On the server these are
/// never called (no events fire there), so they are empty.
#[cfg(not(feature = "hydrate"))]
mod browser {
    use super::*;

    pub fn upload_dropped(_: Uploader, _: &leptos::ev::DragEvent) {}
    pub fn upload_chosen(_: Uploader, _: NodeRef<html::Input>) {}
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{File, FileList, FormData, ProgressEvent, XmlHttpRequest};

    use super::*;

    pub fn upload_dropped(uploader: Uploader, ev: &leptos::ev::DragEvent) {
        if let Some(files) = ev.data_transfer().and_then(|dt| dt.files()) {
            send_all(uploader, &files);
        }
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

    fn send_all(uploader: Uploader, files: &FileList) {
        for i in 0..files.length() {
            if let Some(file) = files.item(i) {
                send(uploader, file);
            }
        }
    }

    fn send(uploader: Uploader, file: File) {
        let total = file.size() as u64;
        let item = uploader.add(file.name(), total);
        if let Some(reason) = uploader.precheck(&file.name(), total) {
            item.state.set(UploadState::Failed(reason));
            return;
        }
        if let Err(e) = start_request(uploader, &item, &file) {
            web_sys::console::error_1(&e);
            item.state.set(UploadState::Failed(
                "The browser could not start the upload.".into(),
            ));
        }
    }

    /// The event handlers live as long as the request may call them; they are small, and are
    /// released with the page.
    fn start_request(
        uploader: Uploader,
        item: &UploadItem,
        file: &File,
    ) -> Result<(), wasm_bindgen::JsValue> {
        let xhr = XmlHttpRequest::new()?;
        xhr.open("POST", "/files/upload")?;
        xhr.set_request_header("Accept", "application/json")?;

        let sent = item.sent;
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
            if ev.length_computable() {
                sent.set(ev.loaded() as u64);
            }
        });
        xhr.upload()?
            .set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        on_progress.forget();

        let (state, total) = (item.state, item.total);
        let request = xhr.clone();
        let on_load = Closure::<dyn FnMut()>::new(move || {
            let status = request.status().unwrap_or(0);
            if status == 201 {
                sent.set(total);
                state.set(UploadState::Stored);
                uploader.on_stored.run(());
            } else {
                let body = request.response_text().ok().flatten().unwrap_or_default();
                state.set(UploadState::Failed(error_detail(status, &body)));
            }
        });
        xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
        on_load.forget();

        let on_error = Closure::<dyn FnMut()>::new(move || {
            state.set(UploadState::Failed(
                "The connection to the server was lost during the upload.".into(),
            ));
        });
        xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();

        let form = FormData::new()?;
        form.append_with_blob_and_filename("file", file, &file.name())?;
        xhr.send_with_opt_form_data(Some(&form))
    }

    /// The server's sentence from an error body, or one for the status.
    fn error_detail(status: u16, body: &str) -> String {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| match status {
                413 => "The file is larger than the server accepts.".into(),
                429 => "Too many uploads; wait a minute and try again.".into(),
                0 => "The server could not be reached.".into(),
                other => format!("The upload failed (HTTP {other})."),
            })
    }
}
