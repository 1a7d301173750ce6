//! Sharing pages. `/files/{id}/share`: the owner makes links (expiry, download limit,
//! password), copies a new one, sees each link's use and revokes it. `/s/{token}`: the public
//! page a recipient opens, with the file's details and the download (behind the password, if
//! any). Both work without JavaScript.

use crate::app::components::time::Time;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::app::{
    api::shares::{
        file_shares, recipient_view, selected_files, CreateMultiShare, CreateShare, RevokeShare,
        Selection, ShareOverview, EXPIRY_CHOICES,
    },
    components::{
        confirm::Confirm,
        copy_button::LinkField,
        file_icon::FileIcon,
        form_error::{flash_error, FormError},
        loading::Loading,
        scan_poll::refresh_while_scanning,
        signed_in::SignedInPage,
    },
    context::{rendered_without_wasm, AuthActions},
};
use crate::model::PageError;
use crate::model::{
    count, human_bytes, recipient_path, CreatedShare, DownloadStarted, LinkForRecipient,
    ScanStatus, ShareInfo, SharedFiles, SharedLink, WithQrCode, MAX_LINK_DOWNLOADS,
    MAX_LINK_LABEL_CHARS,
};

/// How often the recipient's page looks again while the file is being scanned.
const SCAN_POLL: std::time::Duration = std::time::Duration::from_secs(3);

#[component]
pub fn ShareManagePage() -> impl IntoView {
    let params = use_params_map();
    let file_id = move || params.read().get("id").unwrap_or_default();
    let actions = expect_context::<AuthActions>();
    let create = ServerAction::<CreateShare>::new();
    let revoke = ServerAction::<RevokeShare>::new();
    let overview = Resource::new(
        move || {
            (
                file_id(),
                actions.version(),
                create.version().get(),
                revoke.version().get(),
            )
        },
        |(id, ..)| file_shares(id),
    );
    let flash = flash_error();
    let created = Signal::derive(move || create.value().get().and_then(Result::ok));
    let create_result = Signal::derive(move || create.value().get().map(|r| r.map(|_| ())));
    let choices = LinkChoices::new();
    choices.clear_label_after(created);

    view! {
        <Title text="Share · Coffer"/>
        <SignedInPage data=overview title="Share a file"
            sign_in="Sign in to share your files." back=("/files", "Back to your files")
            page=move |overview| view! {
                <ShareManager overview created create create_result revoke flash choices/>
            }/>
    }
}

#[component]
fn ShareManager(
    overview: ShareOverview,
    created: Signal<Option<WithQrCode<CreatedShare>>>,
    create: ServerAction<CreateShare>,
    create_result: Signal<Option<Result<(), PageError>>>,
    revoke: ServerAction<RevokeShare>,
    flash: Resource<Option<PageError>>,
    choices: LinkChoices,
) -> impl IntoView {
    let ShareOverview {
        file,
        links,
        just_created,
    } = overview;
    let newest = move || created.get().or_else(|| just_created.clone());
    let scan_note = (!file.scan_status.is_downloadable())
        .then_some("Recipients can download the file once its virus scan has found it clean.");
    let file_id = file.id.clone();
    view! {
        <section class="card">
            <p><a href="/files">"← Your files"</a></p>
            <h1>"Share " <span class="name" data-testid="share-file-name">{file.filename.clone()}</span></h1>
            <p class="muted">{human_bytes(file.size)}</p>
            {scan_note.map(|note| view! { <p class="notice">{note}</p> })}
            {move || newest().map(|link| view! { <NewLink link/> })}
            <ActionForm action=create attr:class="stack share-form" attr:aria-label="New share link">
                <h2>"New link"</h2>
                <FormError result=create_result flash/>
                <input type="hidden" name="file_id" value=file_id/>
                <LinkOptions choices/>
                <button type="submit" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { "Create link" }}
                </button>
            </ActionForm>
        </section>
        <LinkTable links revoke/>
    }
}

/// What the owner chose in the new-link form, kept by the page rather than the form: the form
/// is drawn again when the page's data is read again after each new link, and must show the
/// same choices (the expiry went back to "1 day").
#[derive(Clone, Copy)]
struct LinkChoices {
    label: RwSignal<String>,
    expiry: RwSignal<String>,
    until: RwSignal<String>,
    max_downloads: RwSignal<String>,
    password: RwSignal<String>,
}

impl LinkChoices {
    fn new() -> Self {
        Self {
            label: RwSignal::new(String::new()),
            expiry: RwSignal::new("24".to_owned()),
            until: RwSignal::new(String::new()),
            max_downloads: RwSignal::new(String::new()),
            password: RwSignal::new(String::new()),
        }
    }

    /// A label names one link: once one is made (`created`), the next starts without.
    fn clear_label_after(self, created: Signal<Option<WithQrCode<CreatedShare>>>) {
        Effect::new(move |_| {
            if created.with(Option::is_some) {
                self.label.set(String::new());
            }
        });
    }
}

/// A new link's options: expiry, download limit and password (the fields of `create_share`
/// and `create_multi_share`).
#[component]
fn LinkOptions(choices: LinkChoices) -> impl IntoView {
    // The browser's time zone, so that "until a date" means the end of that day for the user.
    let tz_offset = RwSignal::new(String::new());
    Effect::new(move |_| tz_offset.set(browser::timezone_offset_minutes().to_string()));
    view! {
        <input type="hidden" name="tz_offset" value=move || tz_offset.get()/>
        <label>"Label " <span class="hint">"(optional, only you see it)"</span>
            <input type="text" name="label" maxlength=MAX_LINK_LABEL_CHARS placeholder="For example: Contract for ACME"
                data-testid="share-label" prop:value=move || choices.label.get()
                on:input=move |ev| choices.label.set(event_target_value(&ev))/>
        </label>
        <div class="row">
            <label>"Expires after"
                <select name="expiry" data-testid="expiry"
                    on:change=move |ev| choices.expiry.set(event_target_value(&ev))>
                    {EXPIRY_CHOICES.iter().map(|(value, text)| view! {
                        <option value=*value selected=move || choices.expiry.get() == *value>{*text}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Date (with “Until a date”)"
                <input type="date" name="until" data-testid="until" value=move || choices.until.get()
                    on:input=move |ev| choices.until.set(event_target_value(&ev))/>
            </label>
        </div>
        <div class="row">
            <label>"Download limit"
                <input type="number" name="max_downloads" min="1" max=MAX_LINK_DOWNLOADS step="1"
                    placeholder="No limit" data-testid="max-downloads" value=move || choices.max_downloads.get()
                    on:input=move |ev| choices.max_downloads.set(event_target_value(&ev))/>
            </label>
            <label>"Password"
                <input type="password" name="password" autocomplete="new-password"
                    placeholder="None" data-testid="share-password" value=move || choices.password.get()
                    on:input=move |ev| choices.password.set(event_target_value(&ev))/>
            </label>
        </div>
    }
}

/// `/shares/new?files=…&files=…`: one link for the files chosen on `/files`.
#[component]
pub fn ShareSelectedPage() -> impl IntoView {
    let query = use_query_map();
    let ids = move || query.read().get_all("files").unwrap_or_default().join(",");
    let create = ServerAction::<CreateMultiShare>::new();
    let selection = Resource::new(ids, selected_files);
    let flash = flash_error();
    let created = Signal::derive(move || create.value().get().and_then(Result::ok));
    let create_result = Signal::derive(move || create.value().get().map(|r| r.map(|_| ())));
    let choices = LinkChoices::new();
    choices.clear_label_after(created);
    view! {
        <Title text="Share files · Coffer"/>
        <SignedInPage data=selection title="Share files"
            sign_in="Sign in to share your files." back=("/files", "Back to your files")
            page=move |Selection { files, just_created }| {
                let file_ids = files.iter().map(|f| f.id.clone()).collect::<Vec<_>>().join(",");
                let newest = move || created.get().or_else(|| just_created.clone());
                let pending = files.iter().any(|f| !f.scan_status.is_downloadable());
                view! {
                    <section class="card">
                        <p><a href="/files">"← Your files"</a></p>
                        <h1>{format!("Share {}", count(files.len() as u64, "file", "files"))}</h1>
                        <ul class="shared-files" data-testid="selected-files">
                            {files.into_iter().map(|f| view! {
                                <li data-testid="selected-file">
                                    <span class="name">{f.filename}</span>
                                    " " <span class="muted">{human_bytes(f.size)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                        {pending.then(|| view! {
                            <p class="notice">"Recipients can download a file once its virus scan has found it clean."</p>
                        })}
                        {move || newest().map(|link| view! { <NewLink link/> })}
                        <ActionForm action=create attr:class="stack share-form" attr:aria-label="New share link">
                            <h2>"New link"</h2>
                            <FormError result=create_result flash/>
                            <input type="hidden" name="file_ids" value=file_ids/>
                            <LinkOptions choices/>
                            <p class="muted small">"Every download through the link counts one against its limit: one file, or all of them as a zip."</p>
                            <button type="submit" disabled=move || create.pending().get()>
                                {move || if create.pending().get() { "Creating…" } else { "Create link" }}
                            </button>
                        </ActionForm>
                    </section>
                }
            }/>
    }
}

/// A link just made: the only time its URL can be shown.
#[component]
fn NewLink(link: WithQrCode<CreatedShare>) -> impl IntoView {
    let WithQrCode {
        value: link,
        qr_code,
    } = link;
    let limit = match link.max_downloads {
        Some(n) => count(n, "download", "downloads"),
        None => "no download limit".to_owned(),
    };
    view! {
        <div class="new-link" data-testid="new-link" role="status">
            <p><strong>"Link created."</strong> " Copy it now: it is shown only this once."</p>
            <LinkField url=link.share_url qr_code label="Share link"/>
            <p class="muted">"Expires " <Time at=link.expires_at/> ", " {limit} "."</p>
        </div>
    }
}

#[component]
fn LinkTable(links: Vec<ShareInfo>, revoke: ServerAction<RevokeShare>) -> impl IntoView {
    if links.is_empty() {
        return view! { <p class="muted empty" data-testid="no-links">"No links yet."</p> }
            .into_any();
    }
    view! {
        <section class="card">
            <h2>"Links"</h2>
            <table class="data-table" data-testid="link-table">
                <thead>
                    <tr>
                        <th scope="col">"Link"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Downloads"</th>
                        <th scope="col">"Password"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {links.into_iter().map(|link| view! { <LinkRow link revoke/> }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

#[component]
fn LinkRow(link: ShareInfo, revoke: ServerAction<RevokeShare>) -> impl IntoView {
    let uses = match link.max_downloads {
        Some(max) => format!("{} of {max}", link.download_count),
        None => link.download_count.to_string(),
    };
    let status_text = match link.status.as_str() {
        "active" => "active",
        "expired" => "expired",
        "used_up" => "used up",
        _ => "revoked",
    };
    let active = link.status == "active";
    let (link_id, file_id) = (link.id.clone(), link.file_id.clone());
    view! {
        <tr data-testid="link-row" data-link-id=link.id.clone()>
            <td class="name" data-testid="link-label">{match link.label.clone() {
                Some(label) => view! { {label} }.into_any(),
                None => view! { <span class="muted">"No label"</span> }.into_any(),
            }}
                {(link.file_ids.len() > 1).then(|| view! {
                    " " <span class="muted small" data-testid="link-files">{format!("· {}", count(link.file_ids.len() as u64, "file", "files"))}</span>
                })}
            </td>
            <td data-label="Created"><Time at=link.created_at/></td>
            <td data-label="Expires"><Time at=link.expires_at/></td>
            <td data-label="Downloads" data-testid="link-uses">{uses}</td>
            <td data-label="Password">{if link.has_password { "yes" } else { "no" }}</td>
            <td><span class=format!("status link-{}", link.status) data-testid="link-status">{status_text}</span></td>
            <td class="actions">
                {active.then(move || view! {
                    <Confirm ask="Revoke" warning="The link stops working at once, for everyone who has it.">
                        <ActionForm action=revoke attr:class="inline">
                            <input type="hidden" name="file_id" value=file_id/>
                            <input type="hidden" name="link_id" value=link_id/>
                            <button type="submit" class="danger" data-testid="revoke">"Revoke the link"</button>
                        </ActionForm>
                    </Confirm>
                })}
            </td>
        </tr>
    }
}

#[component]
pub fn RecipientPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let refresh = RwSignal::new(0usize);
    let shared = Resource::new(
        move || (token(), refresh.get()),
        |(token, _)| recipient_view(token),
    );
    let flash = flash_error();

    refresh_while_scanning(refresh, SCAN_POLL, move || {
        shared.get().and_then(Result::ok).is_some_and(|view| {
            matches!(view.link, SharedLink::Open(shared) if shared.files.iter().any(|f| f.scan_status == ScanStatus::Pending))
        })
    });

    view! {
        <Title text="Shared file · Coffer"/>
        <Loading data=shared show=move |view| match view {
            Ok(LinkForRecipient { link: SharedLink::Open(shared), started }) => {
                view! { <SharedFilesCard shared started token=token() flash/> }.into_any()
            }
            Ok(LinkForRecipient { link: SharedLink::PasswordRequired, .. }) => {
                view! { <ProtectedLinkCard token=token() flash/> }.into_any()
            }
            Err(e) => view! { <Unavailable error=e/> }.into_any(),
        }/>
    }
}

/// Why a file of a link cannot be downloaded now, in words; `None` when it can.
fn scan_notice(status: ScanStatus) -> Option<&'static str> {
    match status {
        ScanStatus::Clean => None,
        ScanStatus::Pending => Some("Still being scanned for viruses. The download opens once the scan finds it clean; this page checks again by itself."),
        ScanStatus::Infected => Some("Malware was found in this file, so it cannot be downloaded."),
        ScanStatus::Error => Some("The virus scan of this file could not be completed. The download stays closed until a scan passes; try again later."),
    }
}

/// A file's scan, in a few words beside its size.
fn scan_words(status: ScanStatus) -> &'static str {
    match status {
        ScanStatus::Clean => "scanned: clean",
        ScanStatus::Pending => "being scanned",
        ScanStatus::Infected => "scanned: malware found",
        ScanStatus::Error => "scan failed",
    }
}

/// "N downloads left", or that there is no limit.
fn downloads_left_text(left: Option<u64>) -> String {
    match left {
        Some(0) => "no downloads left".to_owned(),
        Some(n) => format!("{} left", count(n, "download", "downloads")),
        None => "no download limit".to_owned(),
    }
}

#[component]
fn SharedFilesCard(
    shared: SharedFiles,
    started: Option<DownloadStarted>,
    token: String,
    flash: Resource<Option<PageError>>,
) -> impl IntoView {
    // The browser fetches the download this page started right after it, and it counts then:
    // the page tells what will be left.
    let downloads_left = match (&started, shared.downloads_left) {
        (Some(_), Some(n)) => Some(n.saturating_sub(1)),
        (_, left) => left,
    };
    let left = match downloads_left {
        Some(n) => n.to_string(),
        None => "no limit".to_owned(),
    };
    // The download this page just started took the last one: nothing more can start.
    let used_up = downloads_left == Some(0);
    let action = format!("{}/download", recipient_path(&token));
    let single = shared.files.len() == 1;
    let title = if single {
        shared.files[0].filename.clone()
    } else {
        format!("{} files", shared.files.len())
    };
    let total: u64 = shared.files.iter().map(|f| f.size).sum();
    let ready = shared.ready().count();
    let left_out: Vec<String> = shared
        .files
        .iter()
        .filter(|f| !f.scan_status.is_downloadable())
        .map(|f| f.filename.clone())
        .collect();
    let pending = shared
        .files
        .iter()
        .any(|f| f.scan_status == ScanStatus::Pending);
    let started = started.map(|started| {
        let what = match &started.file_id {
            Some(id) => shared
                .files
                .iter()
                .find(|f| &f.id == id)
                .map(|f| f.filename.clone())
                .unwrap_or_else(|| "the file".to_owned()),
            None if single => shared.files[0].filename.clone(),
            None => "all files (.zip)".to_owned(),
        };
        let text = format!(
            "Download of {what} started · {}",
            downloads_left_text(downloads_left)
        );
        view! { <DownloadStartedNote text url=action.clone()/> }
    });
    let just_started = started.is_some();
    let rows = shared
        .files
        .into_iter()
        .map(|file| {
            let notice = scan_notice(file.scan_status);
            let action = action.clone();
            let details = format!("{} · {}", human_bytes(file.size), scan_words(file.scan_status));
            view! {
                <li class="shared-entry" data-testid="shared-entry" data-file-id=file.id.clone()>
                    <FileIcon name=file.filename.clone() mime=file.mime_type.clone()/>
                    <div class="entry-text">
                        <span class="name" data-testid="shared-entry-name">{file.filename.clone()}</span>
                        <span class="muted small" data-testid="shared-entry-details">{details}</span>
                    </div>
                    {match notice {
                        Some(text) => view! {
                            <p class="notice" role="status" data-testid="scan-notice">{text}</p>
                        }.into_any(),
                        None => view! {
                            <form method="post" action=action class="inline" aria-label=format!("Download {}", file.filename)>
                                <input type="hidden" name="file_id" value=file.id.clone()/>
                                <button type="submit" data-testid="recipient-download" disabled=used_up>"Download"</button>
                            </form>
                        }.into_any(),
                    }}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card narrow" data-testid="shared-file">
            <h1 class="name" data-testid="shared-name">{title}</h1>
            <dl class="facts">
                <dt>"Size"</dt><dd data-testid="shared-size">{human_bytes(total)}</dd>
                <dt>"Shared by"</dt><dd data-testid="shared-by">{shared.shared_by.clone()}</dd>
                <dt>"Expires"</dt><dd><Time at=shared.expires_at/></dd>
                <dt>"Downloads left"</dt><dd data-testid="downloads-left">{left}</dd>
            </dl>
            {started}
            <FormError result=Signal::derive(|| None) flash/>
            <ul class="shared-files">{rows}</ul>
            {used_up.then(|| view! {
                <p class="muted" data-testid="used-up">"That was the last download this link allows."</p>
            })}
            {(!single && ready > 0).then(|| view! {
                <form method="post" action=action.clone() class="stack" aria-label="Download all">
                    <button type="submit" data-testid="download-all" disabled=used_up>"Download all (.zip)"</button>
                    {(!left_out.is_empty()).then(|| view! {
                        <p class="muted small" data-testid="left-out">
                            {format!("Not in the zip until its scan passes: {}.", left_out.join(", "))}
                        </p>
                    })}
                </form>
            })}
            {(!single).then(|| view! {
                <p class="muted small" data-testid="counting-rule">"Every download through this link counts one against its limit: one file, or all of them as a zip."</p>
            })}
            {pending.then(|| view! { <p><a href="">"Check again"</a></p> })}
            // Sent without the wasm, the page checks again by reloading itself (not while it
            // starts a download: that refresh is the download's).
            {if rendered_without_wasm() && pending && !just_started {
                Some(view! { <Meta http_equiv="refresh" content=SCAN_POLL.as_secs().to_string()/> })
            } else {
                None
            }}
            <p class="muted small">"Sent with Coffer: encrypted at rest, scanned for viruses."</p>
        </section>
    }
}

/// "Download started", and the download itself: the page fetches it at once (a refresh to the
/// download, which the browser saves and stays on this page), with a link in case the browser
/// does not follow refreshes.
#[component]
fn DownloadStartedNote(text: String, url: String) -> impl IntoView {
    view! {
        <Meta http_equiv="refresh" content=format!("0;url={url}")/>
        <div class="success-message" role="status" data-testid="download-started">
            <p>{text}</p>
            <p class="small">"If it does not begin, " <a href=url data-testid="start-download">"start it here"</a> "."</p>
        </div>
    }
}

/// A link with a password: nothing about the file or its sender shows until it is given.
#[component]
fn ProtectedLinkCard(token: String, flash: Resource<Option<PageError>>) -> impl IntoView {
    let action = format!("{}/download", recipient_path(&token));
    view! {
        <section class="card narrow" data-testid="shared-file">
            <h1 class="name" data-testid="shared-name">"A password-protected file"</h1>
            <form method="post" action=action class="stack" aria-label="Download">
                <FormError result=Signal::derive(|| None) flash/>
                <p>"The sender protected this link with a password. Enter it to download the file; a link to several files shows their list."</p>
                <label>"Password"
                    <input type="password" name="password" required autocomplete="off"
                        data-testid="recipient-password"/>
                </label>
                <button type="submit" data-testid="recipient-download">"Download"</button>
            </form>
            <p class="muted small">"Sent with Coffer: encrypted at rest, scanned for viruses."</p>
        </section>
    }
}

#[component]
fn Unavailable(error: PageError) -> impl IntoView {
    let title = match error.code.as_str() {
        "not_found" => "Link not found",
        "link_revoked" => "Link revoked",
        "link_expired" => "Link expired",
        "download_limit_reached" => "Download limit reached",
        _ => "This link cannot be used",
    };
    let hint = match error.code.as_str() {
        "not_found" => "Check that the whole link was copied. Ask the sender for a new one if it still does not work.",
        "request_failed" | "internal_error" | "unavailable" => "Try again in a moment.",
        _ => "Ask the sender for a new link.",
    };
    view! {
        <section class="card narrow" data-testid="share-unavailable" data-code=error.code.clone()>
            <h1>{title}</h1>
            <p>{error.detail}</p>
            <p class="muted">{hint}</p>
        </section>
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn timezone_offset_minutes() -> i32 {
        0
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    /// Minutes west of UTC, as `Date.prototype.getTimezoneOffset` gives them.
    pub fn timezone_offset_minutes() -> i32 {
        js_sys::Date::new_0().get_timezone_offset() as i32
    }
}
