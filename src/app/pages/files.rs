//! `/files`: upload (drop zone, picker, progress), and the list with size, date, live scan
//! status, download and delete. Works without JavaScript (plain form upload, download links,
//! delete behind a disclosure), better with it.

use crate::app::components::time::Time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::app::{
    api::files::{list_files, upload_rules, DeleteFile, FileListing, FILES_PER_PAGE},
    components::{
        confirm::Confirm,
        form_error::{flash_error, FormError},
        pager::{use_offset, Pager},
        scan_poll::refresh_while_scanning,
        signed_in::SignedInPage,
        upload_zone::UploadZone,
        usage_bar::UsageBar,
    },
    context::AuthActions,
};
use crate::model::{human_bytes, share_page_path, FileInfo, ScanStatus, Usage};

/// How often the list is re-read while a scan is pending.
const SCAN_POLL: std::time::Duration = std::time::Duration::from_millis(1500);

#[component]
pub fn FilesPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let delete = ServerAction::<DeleteFile>::new();
    let refresh = RwSignal::new(0usize);
    // Two resources: the upload area must not be rebuilt (losing its progress bars) each time
    // the list is read again.
    let rules = Resource::new(move || actions.version(), |_| upload_rules());
    let offset = use_offset();
    let query = use_query_map();
    // An admin's switch to everyone's files.
    let everyone = move || query.read().get("whose").as_deref() == Some("everyone");
    let listing = Resource::new(
        move || {
            (
                offset(),
                everyone(),
                actions.version(),
                delete.version().get(),
                refresh.get(),
            )
        },
        |(offset, everyone, ..)| list_files(Some(offset), everyone),
    );
    let flash = flash_error();

    refresh_while_scanning(refresh, SCAN_POLL, move || {
        listing
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|l| l.any_pending())
    });

    view! {
        <Title text="Files · Coffer"/>
        <SignedInPage data=rules title="Files"
            sign_in="Sign in to upload and see your files."
            page=move |rules| view! {
                <section class="card">
                    <h1>"Files"</h1>
                    <FormError result=delete.value() flash/>
                    <UploadZone policy=rules
                        on_stored=move |_| refresh.update(|n| *n += 1)/>
                </section>
            }/>
        <Transition fallback=|| ()>
            {move || listing.get().map(|listing| match listing {
                Ok(Some(listing)) => view! { <FileTable listing delete/> }.into_any(),
                Ok(None) => ().into_any(),
                Err(e) => view! { <p class="form-error" role="alert">{e.detail}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn FileTable(listing: FileListing, delete: ServerAction<DeleteFile>) -> impl IntoView {
    if listing.files.is_empty() {
        let all_users = listing.all_users;
        return view! {
            {listing.can_see_all.then(|| view! { <WhoseSwitch all_users/> })}
            <StorageUsage usage=listing.usage/>
            <p class="muted empty" data-testid="no-files">"No files yet."</p>
        }
        .into_any();
    }
    let all_users = listing.all_users;
    // Names that appear more than once on the page: their rows show a short id besides.
    let duplicates: std::collections::HashSet<String> = {
        let mut seen = std::collections::HashSet::new();
        listing
            .files
            .iter()
            .filter(|f| !seen.insert(f.filename.as_str()))
            .map(|f| f.filename.clone())
            .collect()
    };
    let page_link = move |offset: i32| {
        let mut query = Vec::new();
        if all_users {
            query.push("whose=everyone".to_owned());
        }
        if offset > 0 {
            query.push(format!("offset={offset}"));
        }
        if query.is_empty() {
            "/files".to_owned()
        } else {
            format!("/files?{}", query.join("&"))
        }
    };
    let previous = (listing.offset > 0).then(|| page_link(listing.offset - FILES_PER_PAGE));
    let next = listing
        .has_more
        .then(|| page_link(listing.offset + FILES_PER_PAGE));
    view! {
        <section class="card">
            <h2>{if all_users { "Everyone's files" } else { "Your files" }}</h2>
            {listing.can_see_all.then(|| view! { <WhoseSwitch all_users/> })}
            <StorageUsage usage=listing.usage/>
            // The checkboxes in the rows belong to this form: a plain GET to the page that
            // shares the chosen files under one link.
            <form id="share-selected" method="get" action="/shares/new" class="row">
                <button type="submit" data-testid="share-selected">"Share selected"</button>
                <span class="muted small">"Tick files to share them under one link."</span>
            </form>
            <table class="data-table" data-testid="file-table">
                <thead>
                    <tr>
                        <th scope="col"><span class="sr-only">"Select"</span></th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Size"</th>
                        <th scope="col">"Uploaded"</th>
                        <th scope="col">"Scan"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {listing.files.into_iter().map(|file| {
                        let duplicate = duplicates.contains(&file.filename);
                        view! { <FileRow file duplicate delete/> }
                    }).collect_view()}
                </tbody>
            </table>
            <Pager previous next/>
        </section>
    }
    .into_any()
}

/// The end of a file's id: random in every id, short enough to read, enough to tell a few files
/// of the same name apart.
fn short_id(id: &str) -> &str {
    let start = id.len().saturating_sub(6);
    id.get(start..).unwrap_or(id)
}

/// An admin's choice between their own files and everyone's.
#[component]
fn WhoseSwitch(all_users: bool) -> impl IntoView {
    let current = |on: bool| if on { Some("page") } else { None };
    view! {
        <nav class="switch" aria-label="Whose files" data-testid="whose-switch">
            <a href="/files" aria-current=current(!all_users)>"Your files"</a>
            <a href="/files?whose=everyone" aria-current=current(all_users)>"Everyone's files"</a>
        </nav>
    }
}

/// What the viewer stores, against their quota as a bar when they have one.
#[component]
fn StorageUsage(usage: Usage) -> impl IntoView {
    let text = match usage.quota_bytes {
        Some(quota) => format!(
            "You use {} of your {} quota.",
            human_bytes(usage.used_bytes),
            human_bytes(quota)
        ),
        None => format!("You store {}.", human_bytes(usage.used_bytes)),
    };
    view! {
        <div class="storage" data-testid="usage">
            <p class="muted small">{text}</p>
            {usage.percent().map(|percent| view! { <UsageBar percent/> })}
        </div>
    }
}

#[component]
fn FileRow(
    file: FileInfo,
    /// Another file on the page has the same name: this one shows a short id to tell them apart.
    duplicate: bool,
    delete: ServerAction<DeleteFile>,
) -> impl IntoView {
    let tag = duplicate.then(|| short_id(&file.id).to_owned());
    let select_label = match &tag {
        Some(tag) => format!("Select {} (#{tag})", file.filename),
        None => format!("Select {}", file.filename),
    };
    let download = format!("/files/{}/download", file.id);
    let (status_text, status_help) = match file.scan_status {
        ScanStatus::Clean => ("clean", "No threat found"),
        ScanStatus::Pending => (
            "scanning…",
            "Being scanned for viruses; downloads open once it is clean",
        ),
        ScanStatus::Infected => ("infected", "Malware found; the file cannot be downloaded"),
        ScanStatus::Error => (
            "scan failed",
            "The scan could not be completed; downloads stay closed until a scan passes (it is retried automatically, and an admin can rescan)",
        ),
    };
    let downloadable = file.scan_status.is_downloadable();
    let delete_id = file.id.clone();
    let share = share_page_path(&file.id);
    view! {
        <tr data-testid="file-row" data-file-id=file.id.clone()>
            <td class="select">
                <input type="checkbox" name="files" value=file.id.clone() form="share-selected"
                    aria-label=select_label data-testid="select-file"/>
            </td>
            <td class="name">{file.filename.clone()}
                {tag.map(|tag| view! {
                    " " <span class="muted small" data-testid="file-tag"
                        title="Part of the file's id, to tell it from others of the same name">{format!("#{tag}")}</span>
                })}
                {file.request_id.clone().map(|id| view! {
                    " " <a class="badge" href=format!("/requests#request-{id}") data-testid="from-request"
                        title="Sent to you through one of your upload requests">"received"</a>
                })}
            </td>
            <td class="size">{human_bytes(file.size)}</td>
            <td><Time at=file.created_at/></td>
            <td>
                <span class=format!("status status-{}", file.scan_status.as_str()) title=status_help
                    data-testid="scan-status">{status_text}</span>
            </td>
            <td class="actions">
                {downloadable.then(|| view! {
                    <a href=download.clone() download=file.filename.clone() data-testid="download">"Download"</a>
                })}
                <A href=share attr:data-testid="share">"Share"</A>
                <Confirm ask="Delete" warning="The file and every link to it are gone for good.">
                    <ActionForm action=delete attr:class="inline">
                        <input type="hidden" name="id" value=delete_id/>
                        <button type="submit" class="danger">"Delete permanently"</button>
                    </ActionForm>
                </Confirm>
            </td>
        </tr>
    }
}
