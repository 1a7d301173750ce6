//! The frame a page shows its data in: "Loading…" until the data is there, then the view of it.

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// "Loading…" until `data` is there, then `show` of it; while new data loads (a filter, the
/// next page) the previous view stays, as a transition.
#[component]
pub fn Loading<T, S>(data: Resource<T>, show: S) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    S: Fn(T) -> AnyView + Send + Sync + 'static,
{
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || data.get().map(&show)}
        </Transition>
    }
}
