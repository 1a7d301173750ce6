//! Shows a form's error in words: from the hydrated action, or left in the session by a plain
//! form post (JavaScript off).

use leptos::prelude::*;

use crate::{app::api::auth::take_form_error, model::PageError};

/// The error a plain form post left for this page (read once, during server rendering).
pub fn flash_error() -> Resource<Option<PageError>> {
    Resource::new(|| (), |_| async { take_form_error().await.ok().flatten() })
}

#[component]
pub fn FormError(
    /// The latest result of the form's action.
    #[prop(into)]
    result: Signal<Option<Result<(), PageError>>>,
    /// The error left by a plain form post (one per page: give it to one `FormError`).
    #[prop(optional, into)]
    flash: Option<Resource<Option<PageError>>>,
) -> impl IntoView {
    let error = move || match result.get() {
        Some(Err(e)) => Some(e),
        Some(Ok(())) => None,
        None => flash.and_then(|flash| flash.get().flatten()),
    };
    view! {
        <Transition fallback=|| ()>
            {move || error().map(|e| view! {
                <p class="form-error" role="alert" data-code=e.code.clone()>{e.detail.clone()}</p>
            })}
        </Transition>
    }
}
