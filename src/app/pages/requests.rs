//! Upload requests. `/requests`: the owner asks for files (title, message, expiry, limits,
//! password), copies the new link, sees what each request received and closes one early.
//! `/r/{token}`: the page a sender without an account opens, with the request's title and
//! message, the upload area and a receipt of what they sent. Both work without JavaScript.

use crate::app::components::time::{Style, Time};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::app::{
    api::requests::{
        my_requests, request_receipts, sender_view, CloseRequest, CreateRequest, RequestWithFiles,
        RequestsOverview, SenderPage, UnlockRequest, FILES_PER_REQUEST, REQUESTS_PER_PAGE,
        REQUEST_EXPIRY_CHOICES,
    },
    components::{
        confirm::Confirm,
        copy_button::LinkField,
        form_error::{flash_error, FormError},
        loading::Loading,
        pager::{use_offset, Pager},
        signed_in::SignedInPage,
        upload_zone::UploadZone,
    },
    context::AuthActions,
};
use crate::model::PageError;
use crate::model::{
    count, human_bytes, CreatedUploadRequest, FileInfo, Receipt, RequestForSender, RequestStatus,
    UploadPolicy, WithQrCode, MAX_REQUEST_FILES, MAX_REQUEST_MESSAGE_CHARS,
    MAX_REQUEST_TITLE_CHARS,
};

#[component]
pub fn RequestsPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let create = ServerAction::<CreateRequest>::new();
    let close = ServerAction::<CloseRequest>::new();
    let offset = use_offset();
    let overview = Resource::new(
        move || {
            (
                offset(),
                actions.version(),
                create.version().get(),
                close.version().get(),
            )
        },
        |(offset, ..)| my_requests(Some(offset)),
    );
    let flash = flash_error();
    let created = Signal::derive(move || create.value().get().and_then(Result::ok));
    let create_result = Signal::derive(move || create.value().get().map(|r| r.map(|_| ())));

    view! {
        <Title text="Requests · Coffer"/>
        <SignedInPage data=overview title="Ask for files"
            sign_in="Sign in to ask people for files."
            page=move |RequestsOverview { requests, offset, has_more, just_created }| {
                let page_link = |offset: i32| if offset <= 0 {
                    "/requests".to_owned()
                } else {
                    format!("/requests?offset={offset}")
                };
                let previous = (offset > 0).then(|| page_link(offset - REQUESTS_PER_PAGE));
                let next = has_more.then(|| page_link(offset + REQUESTS_PER_PAGE));
                let newest = move || created.get().or_else(|| just_created.clone());
                view! {
                    <section class="card">
                        <h1>"Ask for files"</h1>
                        <p class="muted">"Make a link through which anyone, without an account, can send you files. They land in your files (and count against your quota), scanned and encrypted like your own; senders cannot download them."</p>
                        {move || newest().map(|created| view! { <NewRequest created/> })}
                        <ActionForm action=create attr:class="stack share-form" attr:aria-label="New upload request">
                            <FormError result=create_result flash/>
                            <RequestOptions/>
                            <button type="submit" data-testid="create-request" disabled=move || create.pending().get()>
                                {move || if create.pending().get() { "Creating…" } else { "Create request link" }}
                            </button>
                        </ActionForm>
                    </section>
                    <RequestList requests close/>
                    <Pager previous next/>
                }
            }/>
    }
}

/// The fields of `create_request`.
#[component]
fn RequestOptions() -> impl IntoView {
    view! {
        <label>"Title"
            <input type="text" name="title" required maxlength=MAX_REQUEST_TITLE_CHARS
                placeholder="Signed contract" data-testid="request-title"/>
        </label>
        <label>"Message for senders"
            <textarea name="message" rows="3" maxlength=MAX_REQUEST_MESSAGE_CHARS
                placeholder="Optional" data-testid="request-message"></textarea>
        </label>
        <div class="row">
            <label>"Open for"
                <select name="expiry" data-testid="request-expiry">
                    {REQUEST_EXPIRY_CHOICES.iter().map(|(value, text)| view! {
                        <option value=*value selected=*value == "168">{*text}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Most files"
                <input type="number" name="max_files" min="1" max=MAX_REQUEST_FILES step="1"
                    placeholder="No limit" data-testid="request-max-files"/>
            </label>
            <label>"Most MiB in all"
                <input type="number" name="max_megabytes" min="1" step="1"
                    placeholder="No limit" data-testid="request-max-mb"/>
            </label>
        </div>
        <div class="row">
            <label>"Password"
                <input type="password" name="password" autocomplete="new-password"
                    placeholder="None" data-testid="request-password"/>
            </label>
            <label class="check">
                <input type="checkbox" name="notify" value="on" data-testid="request-notify"/>
                " Notify my " <a href="/settings/webhooks">"webhooks"</a> " when a file arrives"
            </label>
        </div>
    }
}

/// A request just made: the only time its link can be shown.
#[component]
fn NewRequest(created: WithQrCode<CreatedUploadRequest>) -> impl IntoView {
    let WithQrCode {
        value: created,
        qr_code,
    } = created;
    view! {
        <div class="new-link" data-testid="new-request" role="status">
            <p><strong>"Request created."</strong> " Copy the link now: it is shown only this once."</p>
            <LinkField url=created.url qr_code label="Upload link"/>
            <p class="muted">"Open until " <Time at=created.request.expires_at style=Style::Absolute/> "."</p>
        </div>
    }
}

#[component]
fn RequestList(
    requests: Vec<RequestWithFiles>,
    close: ServerAction<CloseRequest>,
) -> impl IntoView {
    if requests.is_empty() {
        return view! { <p class="muted empty" data-testid="no-requests">"No requests yet."</p> }
            .into_any();
    }
    view! {
        <FormError result=close.value() flash=flash_error()/>
        {requests.into_iter().map(|r| view! { <RequestCard request=r close/> }).collect_view()}
    }
    .into_any()
}

fn limits_text(max_files: Option<u64>, max_bytes: Option<u64>) -> String {
    amounts(max_files, max_bytes).map_or_else(|| "no limits".to_owned(), |a| format!("up to {a}"))
}

/// What a request still takes, as its sender is told.
fn room_left(files_left: Option<u64>, bytes_left: Option<u64>) -> String {
    amounts(files_left, bytes_left).map_or_else(
        || "Send as many files as you need.".to_owned(),
        |a| format!("Still takes {a}."),
    )
}

/// A number of files and of bytes, either of them unlimited: "5 files, 50 MiB in all";
/// `None` when both are.
fn amounts(files: Option<u64>, bytes: Option<u64>) -> Option<String> {
    let files = files.map(|n| count(n, "file", "files"));
    let bytes = bytes.map(|n| format!("{} in all", human_bytes(n)));
    match (files, bytes) {
        (Some(files), Some(bytes)) => Some(format!("{files}, {bytes}")),
        (one, other) => one.or(other),
    }
}

#[component]
fn RequestCard(request: RequestWithFiles, close: ServerAction<CloseRequest>) -> impl IntoView {
    let RequestWithFiles { request, files } = request;
    let open = request.status == RequestStatus::Open;
    let received = format!(
        "{}, {}",
        count(request.files_received, "file", "files"),
        human_bytes(request.bytes_received)
    );
    let id = request.id.clone();
    view! {
        <section class="card" id=format!("request-{}", request.id) data-testid="request-card"
            data-request-id=request.id.clone()>
            <h2>{request.title.clone()}</h2>
            {(!request.message.is_empty()).then(|| view! { <p class="muted">{request.message.clone()}</p> })}
            <dl class="facts">
                <dt>"Status"</dt>
                <dd><span class=format!("status request-{}", request.status.label())
                    data-testid="request-status">{request.status.label()}</span></dd>
                <dt>"Received"</dt><dd data-testid="request-received">{received}</dd>
                <dt>"Limits"</dt><dd data-testid="request-limits">{limits_text(request.max_files, request.max_bytes)}</dd>
                <dt>"Open until"</dt><dd><Time at=request.expires_at style=Style::Absolute/></dd>
                <dt>"Password"</dt><dd>{if request.has_password { "yes" } else { "no" }}</dd>
            </dl>
            {open.then(move || view! {
                <Confirm ask="Close now" warning="The link stops taking files at once; what arrived stays in your files.">
                    <ActionForm action=close attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="danger" data-testid="close-request">"Close the request"</button>
                    </ActionForm>
                </Confirm>
            })}
            {(request.files_received > files.len() as u64).then(|| view! {
                <p class="muted small" data-testid="request-files-more">{format!(
                    "The {} newest of {} files; all of them are in your files.",
                    FILES_PER_REQUEST,
                    request.files_received,
                )}</p>
            })}
            <ReceivedFiles files/>
        </section>
    }
}

#[component]
fn ReceivedFiles(files: Vec<FileInfo>) -> impl IntoView {
    if files.is_empty() {
        return view! { <p class="muted small">"Nothing received yet."</p> }.into_any();
    }
    view! {
        <table class="data-table" data-testid="request-files">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Size"</th>
                    <th scope="col">"Received"</th>
                    <th scope="col">"Scan"</th>
                </tr>
            </thead>
            <tbody>
                {files.into_iter().map(|file| view! {
                    <tr data-testid="request-file">
                        <td class="name">{file.filename}</td>
                        <td>{human_bytes(file.size)}</td>
                        <td><Time at=file.created_at/></td>
                        <td><span class=format!("status status-{}", file.scan_status.as_str())>
                            {file.scan_status.as_str()}</span></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// `/r/{token}`: the sender's page.
#[component]
pub fn RequestSenderPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let unlock = ServerAction::<UnlockRequest>::new();
    let sent = RwSignal::new(0usize);
    let receipts = Resource::new(
        move || (token(), sent.get()),
        |(token, _)| request_receipts(token),
    );
    // Not read again after each file: the upload area must not be rebuilt (losing its
    // progress bars) each time the receipts are.
    let rules = Resource::new(
        move || (token(), unlock.version().get()),
        |(token, _)| async move {
            sender_view(token).await.map(|view| match view {
                SenderPage::Open(request) => Some(request),
                SenderPage::PasswordRequired => None,
            })
        },
    );
    let flash = flash_error();
    // The request has all it asked for, and this browser sent some of it.
    let filled = Signal::derive(move || {
        receipts
            .get()
            .and_then(Result::ok)
            .is_some_and(|sent| sent.full)
    });
    view! {
        <Title text="Send files · Coffer"/>
        <Loading data=rules show=move |rules| match rules {
            Ok(Some(request)) => view! {
                <SenderCard request token=token() flash filled on_sent=move || sent.update(|n| *n += 1)/>
            }.into_any(),
            Ok(None) => view! { <UnlockCard token=token() unlock flash/> }.into_any(),
            // Full because of this browser: thanks rather than a refusal.
            Err(e) if e.code == "request_full" => view! {
                <Show when=move || filled.get() fallback=move || view! { <RequestUnavailable error=e.clone()/> }>
                    <section class="card narrow" data-testid="request-page">
                        <AllReceived/>
                    </section>
                </Show>
            }.into_any(),
            Err(e) => view! { <RequestUnavailable error=e/> }.into_any(),
        }/>
        <Transition fallback=|| ()>
            {move || receipts.get().map(|receipts| match receipts {
                Ok(sent) => view! { <Receipts receipts=sent.receipts/> }.into_any(),
                Err(_) => ().into_any(),
            })}
        </Transition>
    }
}

/// The request filled up with what this browser sent.
#[component]
fn AllReceived() -> impl IntoView {
    view! {
        <div class="success-message" role="status" data-testid="request-thanks">
            <p>"All files received — thank you."</p>
            <p>"The request has everything it asked for. Your receipt below shows what arrived."</p>
        </div>
    }
}

#[component]
fn SenderCard(
    request: RequestForSender,
    token: String,
    flash: Resource<Option<PageError>>,
    /// The request has all it asked for, some of it from this browser.
    filled: Signal<bool>,
    #[prop(into)] on_sent: Callback<()>,
) -> impl IntoView {
    let policy = UploadPolicy {
        max_upload_bytes: request.max_upload_bytes,
        allowed_extensions: request.allowed_extensions.clone(),
    };
    let left = room_left(request.files_left, request.bytes_left);
    let requested_by = request.requested_by.clone();
    view! {
        <section class="card" data-testid="request-page">
            <h1 data-testid="request-title">{request.title.clone()}</h1>
            <p class="muted">"Asked by " <strong data-testid="requested-by">{request.requested_by.clone()}</strong>
                " · open until " <Time at=request.expires_at style=Style::Absolute/></p>
            {(!request.message.is_empty()).then(|| view! {
                <p class="request-message" data-testid="request-message">{request.message.clone()}</p>
            })}
            <Show when=move || filled.get() fallback=move || view! {
                <p class="muted small" data-testid="room-left">{left.clone()} " Files are encrypted and scanned for viruses; once sent, only "
                    {requested_by.clone()} " can download them."</p>
            }>
                <AllReceived/>
            </Show>
            <FormError result=Signal::derive(|| None) flash/>
            <UploadZone policy on_stored=on_sent request=token/>
        </section>
    }
}

#[component]
fn Receipts(receipts: Vec<Receipt>) -> impl IntoView {
    if receipts.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="card" data-testid="receipts">
            <h2>"Your receipt"</h2>
            <p class="muted small">"What arrived, with each file's SHA-256 to compare with your copy (for example with "
                <code>"sha256sum"</code> ")."</p>
            <table class="data-table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Size"</th>
                        <th scope="col">"SHA-256"</th>
                        <th scope="col">"Received"</th>
                    </tr>
                </thead>
                <tbody>
                    {receipts.into_iter().map(|r| view! {
                        <tr data-testid="receipt">
                            <td class="name" data-testid="receipt-name">{r.filename}</td>
                            <td>{human_bytes(r.size)}</td>
                            <td class="name" data-label="SHA-256"><code class="hash" data-testid="receipt-sha256">{r.sha256}</code></td>
                            <td><Time at=r.received_at/></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// A request with a password: nothing about it shows until it is given.
#[component]
fn UnlockCard(
    token: String,
    unlock: ServerAction<UnlockRequest>,
    flash: Resource<Option<PageError>>,
) -> impl IntoView {
    let result = Signal::derive(move || unlock.value().get());
    view! {
        <section class="card narrow" data-testid="request-locked">
            <h1>"Send files"</h1>
            <ActionForm action=unlock attr:class="stack" attr:aria-label="Unlock">
                <FormError result flash/>
                <p>"This upload link is protected by a password. Enter the password you were given to send files."</p>
                <input type="hidden" name="token" value=token/>
                <label>"Password"
                    <input type="password" name="password" required autocomplete="off"
                        data-testid="request-unlock-password"/>
                </label>
                <button type="submit" data-testid="request-unlock">"Continue"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn RequestUnavailable(error: PageError) -> impl IntoView {
    let title = match error.code.as_str() {
        "not_found" => "Upload link not found",
        "request_closed" => "Upload link closed",
        "request_expired" => "Upload link expired",
        "request_full" => "Upload link full",
        _ => "This upload link cannot be used",
    };
    view! {
        <section class="card narrow" data-testid="request-unavailable" data-code=error.code.clone()>
            <h1>{title}</h1>
            <p>{error.detail}</p>
            <p class="muted">"Ask the person who sent you the link for a new one."</p>
        </section>
    }
}
