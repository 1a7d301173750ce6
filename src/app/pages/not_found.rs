//! Any unknown path: a 404 page in words.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/">"Go to the start page"</A></p>
        </section>
    }
}
