//! Links to the pages before and after one of a paged list.

use leptos::prelude::*;
use leptos_router::components::A;

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
