//! `/admin/users`: every account, searchable and paged, with role, 2FA, storage against quota,
//! last sign-in and status; per user: role, disable/enable, reset 2FA, quota, and delete behind
//! a confirmation page (`/admin/users/{id}/delete`) that names what goes.

use crate::app::components::time::Time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};

use super::{here, AdminNav, AdminPage, AdminTable, Pager};
use crate::app::{
    api::admin::{
        admin_user_deletion, admin_users, ChangeUser, DeleteUser, SetQuota, UserDeletion,
        UsersPage, ADMIN_PAGE_SIZE,
    },
    components::{
        confirm::Confirm,
        form_error::{flash_error, FormError},
        usage_bar::UsageBar,
    },
};
use crate::model::{count, human_bytes, query_string, user_deletion_path, AdminUser, Role, Usage};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let offset = crate::app::components::pager::use_offset();
    let change = ServerAction::<ChangeUser>::new();
    let quota = ServerAction::<SetQuota>::new();
    let table = Resource::new(
        move || {
            (
                search(),
                offset(),
                change.version().get(),
                quota.version().get(),
            )
        },
        |(q, offset, ..)| admin_users(Some(q), Some(offset)),
    );
    let flash = flash_error();
    let result = Signal::derive(move || change.value().get().or_else(|| quota.value().get()));

    view! {
        <Title text="Users · Admin · Coffer"/>
        <AdminPage data=table page=move |page| view! {
            <section class="card">
                <h1>"Users"</h1>
                <AdminNav/>
                <Form method="GET" action="/admin/users" attr:class="filters" attr:role="search">
                    <label>"Search"
                        <input type="search" name="q" value=search() maxlength="256"
                            placeholder="Email or username" data-testid="user-search"/>
                    </label>
                    <button type="submit">"Search"</button>
                </Form>
                <FormError result flash/>
                <UserTable page search=search() change quota/>
            </section>
        }/>
    }
}

#[component]
fn UserTable(
    page: UsersPage,
    search: String,
    change: ServerAction<ChangeUser>,
    quota: ServerAction<SetQuota>,
) -> impl IntoView {
    let UsersPage {
        users,
        default_quota,
    } = page;
    let link = {
        let search = search.clone();
        move |offset: i32| {
            let offset = offset.to_string();
            format!(
                "/admin/users{}",
                query_string(&[
                    ("q", &search),
                    ("offset", if offset == "0" { "" } else { &offset })
                ])
            )
        }
    };
    let previous = (users.offset > 0).then(|| link((users.offset - ADMIN_PAGE_SIZE).max(0)));
    let next = users.has_more.then(|| link(users.offset + ADMIN_PAGE_SIZE));
    if users.rows.is_empty() {
        let text = if search.is_empty() {
            "No users yet.".to_owned()
        } else {
            format!("No user's email or username contains “{search}”.")
        };
        return view! { <p class="muted empty" data-testid="no-users">{text}</p> }.into_any();
    }
    let default_text = match default_quota {
        Some(q) => format!("Default quota: {}", human_bytes(q)),
        None => "No default quota (COFFER_USER_QUOTA_BYTES is not set)".to_owned(),
    };
    view! {
        <p class="muted small">{default_text}</p>
        <AdminTable testid="user-table" actions=true
            columns=&["User", "Role", "2FA", "Files", "Storage", "Last sign-in", "Status"]>
            {users.rows.into_iter().map(|user| view! { <UserRow user change quota/> }).collect_view()}
        </AdminTable>
        <Pager previous next/>
    }
    .into_any()
}

#[component]
fn UserRow(
    user: AdminUser,
    change: ServerAction<ChangeUser>,
    quota: ServerAction<SetQuota>,
) -> impl IntoView {
    let back = here();
    let info = user.user.clone();
    let id = info.id.clone();
    let usage = Usage {
        used_bytes: user.used_bytes,
        quota_bytes: user.quota_bytes,
    };
    let storage = match user.quota_bytes {
        Some(q) => format!(
            "{} of {}{}",
            human_bytes(user.used_bytes),
            human_bytes(q),
            if user.quota_is_default {
                " (default)"
            } else {
                ""
            }
        ),
        None => format!("{} (no quota)", human_bytes(user.used_bytes)),
    };
    let (role_change, role_text) = match info.role {
        Role::Admin => ("make_user", "Make user"),
        Role::User => ("make_admin", "Make admin"),
    };
    let (active_change, active_text) = if info.is_active {
        ("disable", "Disable")
    } else {
        ("enable", "Enable")
    };
    let change_form = move |what: &'static str, text: &'static str, class: &'static str| {
        let id = id.clone();
        view! {
            <ActionForm action=change attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="change" value=what/>
                <input type="hidden" name="back" value=move || back.get()/>
                <button type="submit" class=class data-testid=what>{text}</button>
            </ActionForm>
        }
    };
    let status = if info.is_active { "active" } else { "disabled" };
    let delete_page = user_deletion_path(&info.id);
    let quota_id = info.id.clone();
    let active_form = if info.is_active {
        let form = change_form(active_change, "Disable the account", "danger");
        view! {
            <Confirm ask="Disable" warning="They are signed out everywhere at once, their tokens stop working, and they cannot sign in until enabled again.">
                {form}
            </Confirm>
        }
        .into_any()
    } else {
        change_form(active_change, active_text, "secondary").into_any()
    };
    view! {
        <tr data-testid="user-row" data-user-id=info.id.clone() data-email=info.email.clone()>
            <td class="name">
                <strong>{info.email.clone()}</strong><br/>
                <span class="muted">{info.username.clone()}</span>
            </td>
            <td data-label="Role">{info.role.as_str()}</td>
            <td data-label="2FA">{if info.two_factor_enabled { "on" } else { "off" }}</td>
            <td data-label="Files">{user.file_count}</td>
            <td>
                {storage}
                {usage.percent().map(|p| view! { <UsageBar percent=p/> })}
            </td>
            <td data-label="Last sign-in">{match info.last_login {
                Some(at) => view! { <Time at/> }.into_any(),
                None => "never".into_any(),
            }}</td>
            <td><span class=format!("status user-{status}") data-testid="user-status">{status}</span></td>
            <td>
                <details class="manage">
                    <summary>"Manage…"</summary>
                    <div class="manage-actions">
                        {change_form(role_change, role_text, "secondary")}
                        {active_form}
                        {info.two_factor_enabled.then(|| change_form("reset_2fa", "Reset 2FA", "secondary"))}
                        <ActionForm action=quota attr:class="quota-form">
                            <input type="hidden" name="id" value=quota_id/>
                            <input type="hidden" name="back" value=move || back.get()/>
                            <label>"Quota"
                                <select name="quota" data-testid="quota-choice">
                                    <option value="default" selected=user.quota_is_default>"Default"</option>
                                    <option value="none" selected=!user.quota_is_default && user.quota_bytes.is_none()>"No quota"</option>
                                    <option value="custom" selected=!user.quota_is_default && user.quota_bytes.is_some()>"Custom"</option>
                                </select>
                            </label>
                            <input type="number" name="amount" min="0" step="any" aria-label="Quota amount"
                                placeholder="Amount" data-testid="quota-amount"/>
                            <select name="unit" aria-label="Quota unit">
                                <option value="MiB">"MiB"</option>
                                <option value="GiB" selected=true>"GiB"</option>
                                <option value="TiB">"TiB"</option>
                            </select>
                            <button type="submit" class="secondary">"Set quota"</button>
                        </ActionForm>
                        <A href=delete_page attr:class="danger-link" attr:data-testid="delete-user">"Delete…"</A>
                    </div>
                </details>
            </td>
        </tr>
    }
}

/// `/admin/users/{id}/delete`: what deleting this user takes, before it is done.
#[component]
pub fn AdminDeleteUserPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let delete = ServerAction::<DeleteUser>::new();
    let deletion = Resource::new(id, admin_user_deletion);
    let flash = flash_error();
    view! {
        <Title text="Delete user · Admin · Coffer"/>
        <AdminPage data=deletion page=move |deletion| view! {
            <ConfirmDeletion deletion delete flash/>
        }/>
    }
}

#[component]
fn ConfirmDeletion(
    deletion: UserDeletion,
    delete: ServerAction<DeleteUser>,
    flash: Resource<Option<crate::model::PageError>>,
) -> impl IntoView {
    let UserDeletion { user, belongings } = deletion;
    let files = count(belongings.files, "file", "files");
    let links = count(belongings.share_links, "share link", "share links");
    view! {
        <section class="card narrow" data-testid="confirm-delete">
            <h1>"Delete " <span class="name">{user.user.email.clone()}</span> "?"</h1>
            <p>"This deletes the account " <strong>{user.user.username.clone()}</strong> " and everything that is theirs:"</p>
            <ul data-testid="belongings">
                <li>{format!("{files} ({})", human_bytes(belongings.bytes))}</li>
                <li>{format!("{links}, which stop working at once")}</li>
                <li>"their signed-in browsers, API tokens and two-factor setup"</li>
            </ul>
            <p class="muted">"Their entries in the audit log stay. This cannot be undone."</p>
            <FormError result=delete.value() flash/>
            <ActionForm action=delete attr:class="actions-left">
                <input type="hidden" name="id" value=user.user.id.clone()/>
                <button type="submit" class="danger" data-testid="confirm-delete-user"
                    disabled=move || delete.pending().get()>
                    {move || if delete.pending().get() { "Deleting…" } else { "Delete user and their files" }}
                </button>
                <A href="/admin/users">"Cancel"</A>
            </ActionForm>
        </section>
    }
}
