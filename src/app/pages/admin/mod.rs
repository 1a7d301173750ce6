//! The admin dashboard: `/admin` (overview), `/admin/users` (with a confirmation page before a
//! delete), `/admin/files`, `/admin/audit`. Server-rendered, hydrated, and usable without
//! JavaScript like every page. Anyone but an admin gets a 403 page that says so.

pub mod audit;
pub mod files;
pub mod overview;
pub mod users;

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};
use serde::{de::DeserializeOwned, Serialize};

use crate::app::components::loading::Loading;
pub use crate::app::components::pager::Pager;
use crate::model::PageError;

/// The tabs of the admin area.
#[component]
pub fn AdminNav() -> impl IntoView {
    let location = use_location();
    let tab = move |href: &'static str, text: &'static str| {
        let current = move || {
            let path = location.pathname.get();
            if href == "/admin" {
                path == "/admin"
            } else {
                path.starts_with(href)
            }
        };
        view! {
            <A href=href attr:class=move || if current() { "tab current" } else { "tab" }
                attr:aria-current=move || current().then_some("page")>{text}</A>
        }
    };
    view! {
        <nav class="admin-tabs" aria-label="Admin">
            {tab("/admin", "Overview")}
            {tab("/admin/users", "Users")}
            {tab("/admin/files", "Files")}
            {tab("/admin/audit", "Audit log")}
        </nav>
    }
}

/// An admin page, from its data: "Loading…" until the data is there, then the page itself
/// (`page`), or [`AdminProblem`] when the data cannot be had.
#[component]
pub fn AdminPage<T, P, V>(data: Resource<Result<T, PageError>>, page: P) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    P: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Loading data show=move |data| match data {
            Ok(data) => page(data).into_any(),
            Err(error) => view! { <AdminProblem error/> }.into_any(),
        }/>
    }
}

/// What an admin page shows when its data cannot be had: "admins only" for anyone but an admin
/// (the page is served with 403), else the error in words.
#[component]
fn AdminProblem(error: PageError) -> impl IntoView {
    if error.code == "forbidden" {
        view! {
            <section class="card narrow" data-testid="admin-forbidden">
                <h1>"Admins only"</h1>
                <p>"This page is for the administrators of this Coffer. You are not signed in as one."</p>
                <p class="actions">
                    <A href="/files" attr:class="button">"Your files"</A>
                    <A href="/login">"Sign in as an admin"</A>
                </p>
            </section>
        }
        .into_any()
    } else {
        view! {
            <section class="card">
                <AdminNav/>
                <p class="form-error" role="alert" data-code=error.code.clone()>{error.detail}</p>
            </section>
        }
        .into_any()
    }
}

/// The page's own address with its query, for forms to come back to.
pub fn here() -> Signal<String> {
    let location = use_location();
    Signal::derive(move || {
        let search = location.search.get();
        if search.is_empty() {
            location.pathname.get()
        } else {
            format!(
                "{}?{}",
                location.pathname.get(),
                search.trim_start_matches('?')
            )
        }
    })
}

/// A table of the admin area, which scrolls sideways on narrow screens: its column headings
/// (and, with `actions`, a last column of buttons, named for screen readers only) and rows.
#[component]
pub fn AdminTable(
    testid: &'static str,
    columns: &'static [&'static str],
    #[prop(optional)] actions: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="data-table admin-table" data-testid=testid>
                <thead>
                    <tr>
                        {columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}
                        {actions.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
