//! A destructive action asked for twice: a disclosure ("Revoke…") that opens to say what will
//! happen, with the button that does it. Plain HTML (`<details>`), so it works without
//! JavaScript and on the pages sent without the wasm.

use leptos::prelude::*;

#[component]
pub fn Confirm(
    /// What the disclosure says, without its ellipsis: "Revoke".
    ask: &'static str,
    /// What the action does, in a sentence, shown above the button.
    #[prop(into)]
    warning: String,
    /// The form with the button that acts.
    children: Children,
) -> impl IntoView {
    view! {
        <details class="confirm">
            <summary>{ask} "…"</summary>
            <div class="confirm-panel">
                <p>{warning}</p>
                {children()}
            </div>
        </details>
    }
}
