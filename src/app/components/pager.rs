//! Links to the pages before and after one of a paged list.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

/// The page's `offset` query parameter (where a paged list starts), 0 when absent or not a
/// number; read reactively.
pub fn use_offset() -> impl Fn() -> i32 + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("offset")
            .and_then(|o| o.parse::<i32>().ok())
            .unwrap_or(0)
    }
}

/// "Previous" and "Next" links of a paged list or table.
#[component]
pub fn Pager(
    /// The link to the page before, if any.
    previous: Option<String>,
    /// The link to the page after, if any.
    next: Option<String>,
) -> impl IntoView {
    (previous.is_some() || next.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {previous.map(|href| view! { <A href=href attr:rel="prev">"← Previous"</A> })}
                {next.map(|href| view! { <A href=href attr:rel="next">"Next →"</A> })}
            </nav>
        }
    })
}
