//! A text field holding something to copy (a share link), with a copy button once JavaScript
//! runs. Without it the field alone remains, selectable by hand.

use leptos::prelude::*;

#[component]
pub fn CopyField(
    /// What to copy.
    text: String,
    /// Accessible name of the field.
    label: &'static str,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    let copied = RwSignal::new(false);
    // Effects run only in the browser, so the button shows only where it can work.
    Effect::new(move |_| hydrated.set(true));
    let to_copy = text.clone();
    let copy = move |_| {
        browser::copy(&to_copy);
        copied.set(true);
    };
    view! {
        <span class="copy-field">
            <input type="text" readonly value=text aria-label=label data-testid="copy-text"
                on:focus=|ev| browser::select_all(&ev)/>
            <button type="button" hidden=move || !hydrated.get() on:click=copy data-testid="copy">
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </span>
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn copy(_: &str) {}
    pub fn select_all(_: &leptos::ev::FocusEvent) {}
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsCast;

    pub fn copy(text: &str) {
        // The promise is not awaited: the clipboard either takes the text or the field stays
        // there to copy by hand.
        let _ = leptos::prelude::window()
            .navigator()
            .clipboard()
            .write_text(text);
    }

    pub fn select_all(ev: &leptos::ev::FocusEvent) {
        if let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
}
