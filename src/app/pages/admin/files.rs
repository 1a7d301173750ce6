//! `/admin/files`: every user's files with owner, size, type, scan status, active share links
//! and upload time; filtered by scan status, owner and name; per file: download, rescan, delete.

use crate::app::components::time::Time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

use super::{here, AdminNav, AdminPage, AdminTable, Pager};
use crate::app::{
    api::admin::{admin_files, AdminDeleteFile, RescanFile, TablePage, ADMIN_PAGE_SIZE},
    components::{
        confirm::Confirm,
        form_error::{flash_error, FormError},
        scan_poll::refresh_while_scanning,
    },
};
use crate::model::{human_bytes, query_string, AdminFile, ScanStatus};

/// How often the table is read again while a listed file waits for its scan.
const SCAN_POLL: std::time::Duration = std::time::Duration::from_millis(2000);

const STATUSES: [ScanStatus; 4] = [
    ScanStatus::Pending,
    ScanStatus::Clean,
    ScanStatus::Infected,
    ScanStatus::Error,
];

#[component]
pub fn AdminFilesPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &'static str| query.read().get(name).unwrap_or_default();
    let offset = move || param("offset").parse::<i32>().unwrap_or(0);
    let rescan = ServerAction::<RescanFile>::new();
    let delete = ServerAction::<AdminDeleteFile>::new();
    let refresh = RwSignal::new(0usize);
    let table = Resource::new(
        move || {
            (
                (
                    param("scan_status"),
                    param("owner"),
                    param("name"),
                    offset(),
                ),
                (
                    rescan.version().get(),
                    delete.version().get(),
                    refresh.get(),
                ),
            )
        },
        |((status, owner, name, offset), _)| {
            admin_files(Some(status), Some(owner), Some(name), Some(offset))
        },
    );
    refresh_while_scanning(refresh, SCAN_POLL, move || {
        table.get().and_then(Result::ok).is_some_and(|page| {
            page.rows
                .iter()
                .any(|f| f.file.scan_status == ScanStatus::Pending)
        })
    });
    let flash = flash_error();
    let result = Signal::derive(move || rescan.value().get().or_else(|| delete.value().get()));

    view! {
        <Title text="Files · Admin · Coffer"/>
        <AdminPage data=table page=move |page| view! {
            <section class="card">
                <h1>"All files"</h1>
                <AdminNav/>
                <Form method="GET" action="/admin/files" attr:class="filters" attr:role="search">
                    <label>"Scan"
                        <select name="scan_status" data-testid="filter-scan">
                            <option value="">"Any"</option>
                            {STATUSES.iter().map(|s| view! {
                                <option value=s.as_str() selected=param("scan_status") == s.as_str()>{s.as_str()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Owner"
                        <input type="text" name="owner" value=param("owner") maxlength="256"
                            placeholder="Email or username" data-testid="filter-owner"/>
                    </label>
                    <label>"Name"
                        <input type="search" name="name" value=param("name") maxlength="256"
                            placeholder="Part of the name" data-testid="filter-name"/>
                    </label>
                    <button type="submit">"Filter"</button>
                </Form>
                <FormError result flash/>
                <FileTable page filters=[param("scan_status"), param("owner"), param("name")]
                    rescan delete/>
            </section>
        }/>
    }
}

#[component]
fn FileTable(
    page: TablePage<AdminFile>,
    filters: [String; 3],
    rescan: ServerAction<RescanFile>,
    delete: ServerAction<AdminDeleteFile>,
) -> impl IntoView {
    let link = move |offset: i32| {
        let offset = if offset == 0 {
            String::new()
        } else {
            offset.to_string()
        };
        format!(
            "/admin/files{}",
            query_string(&[
                ("scan_status", &filters[0]),
                ("owner", &filters[1]),
                ("name", &filters[2]),
                ("offset", &offset),
            ])
        )
    };
    let previous = (page.offset > 0).then(|| link((page.offset - ADMIN_PAGE_SIZE).max(0)));
    let next = page.has_more.then(|| link(page.offset + ADMIN_PAGE_SIZE));
    if page.rows.is_empty() {
        return view! { <p class="muted empty" data-testid="no-files">"No files match."</p> }
            .into_any();
    }
    view! {
        <AdminTable testid="admin-file-table" actions=true
            columns=&["Name", "Owner", "Size", "Type", "Scan", "Links", "Uploaded"]>
            {page.rows.into_iter().map(|file| view! { <FileRow file rescan delete/> }).collect_view()}
        </AdminTable>
        <Pager previous next/>
    }
    .into_any()
}

#[component]
fn FileRow(
    file: AdminFile,
    rescan: ServerAction<RescanFile>,
    delete: ServerAction<AdminDeleteFile>,
) -> impl IntoView {
    let back = here();
    let AdminFile {
        file,
        owner_email,
        owner_username,
        active_share_links,
    } = file;
    let download = format!("/files/{}/download", file.id);
    let status = file.scan_status;
    let (rescan_id, delete_id) = (file.id.clone(), file.id.clone());
    view! {
        <tr data-testid="admin-file-row" data-file-id=file.id.clone()>
            <td class="name">{file.filename.clone()}</td>
            <td class="owner" data-label="Owner">{owner_email}<br/><span class="muted">{owner_username}</span></td>
            <td>{human_bytes(file.size)}</td>
            <td class="small">{file.mime_type.clone()}</td>
            <td>
                <span class=format!("status status-{}", status.as_str()) data-testid="scan-status">
                    {status.as_str()}
                </span>
            </td>
            <td data-label="Links">{active_share_links}</td>
            <td><Time at=file.created_at/></td>
            <td class="actions">
                {status.is_downloadable().then(|| view! {
                    <a href=download.clone() download=file.filename.clone() data-testid="download">"Download"</a>
                })}
                <ActionForm action=rescan attr:class="inline">
                    <input type="hidden" name="id" value=rescan_id/>
                    <input type="hidden" name="back" value=move || back.get()/>
                    <button type="submit" class="link-button" data-testid="rescan">"Rescan"</button>
                </ActionForm>
                <Confirm ask="Delete" warning="The file and every link to it are gone for good; its owner is not asked.">
                    <ActionForm action=delete attr:class="inline">
                        <input type="hidden" name="id" value=delete_id/>
                        <input type="hidden" name="back" value=move || back.get()/>
                        <button type="submit" class="danger">"Delete permanently"</button>
                    </ActionForm>
                </Confirm>
            </td>
        </tr>
    }
}
