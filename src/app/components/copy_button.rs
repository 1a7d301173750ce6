//! Copying to the clipboard: a button that appears once JavaScript runs (it could do nothing
//! without), and a text field with that button for a share link. Without JavaScript the text
//! remains, to select by hand. A link can also be shown as a QR code, for a phone to scan.

use leptos::prelude::*;

/// How long the button says "Copied".
const COPIED_FOR: std::time::Duration = std::time::Duration::from_secs(2);

#[component]
pub fn CopyField(
    /// What to copy.
    text: String,
    /// Accessible name of the field.
    label: &'static str,
) -> impl IntoView {
    view! {
        <span class="copy-field">
            <input type="text" readonly value=text.clone() aria-label=label data-testid="copy-text"
                on:focus=|ev| browser::select_all(&ev)/>
            <CopyButton text/>
        </span>
    }
}

/// A link made to be passed on: the field with its Copy button, and its QR code behind a
/// disclosure (works without JavaScript).
#[component]
pub fn LinkField(
    url: String,
    /// The link as a QR code: an SVG `data:` URL.
    qr_code: String,
    /// Accessible name of the field.
    label: &'static str,
) -> impl IntoView {
    view! {
        <CopyField text=url label/>
        <details class="qr-code" data-testid="qr-code">
            <summary>"Show QR code"</summary>
            <img src=qr_code alt=format!("QR code of the {}", label.to_lowercase())
                width="200" height="200" class="qr"/>
        </details>
    }
}

#[component]
pub fn CopyButton(
    /// What to copy.
    text: String,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    let copied = RwSignal::new(false);
    // Effects run only in the browser, so the button shows only where it can work.
    Effect::new(move |_| hydrated.set(true));
    let copy = move |_| {
        browser::copy(&text);
        copied.set(true);
        // "Copied" for a moment, then the button is ready to copy again.
        set_timeout(move || copied.set(false), COPIED_FOR);
    };
    view! {
        <button type="button" hidden=move || !hydrated.get() on:click=copy data-testid="copy">
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
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
