//! Storage used against a quota, as a bar (the users table, the files page).

use leptos::prelude::*;

/// Storage used against a quota, as a bar.
#[component]
pub fn UsageBar(percent: u64) -> impl IntoView {
    let width = percent.min(100);
    let class = if percent >= 100 {
        "usage-bar full"
    } else if percent >= 90 {
        "usage-bar high"
    } else {
        "usage-bar"
    };
    view! {
        <div class=class role="meter" aria-valuemin="0" aria-valuemax="100"
            aria-valuenow=width.to_string() aria-label="Storage used">
            <div class="usage-fill" style=format!("width: {width}%")></div>
        </div>
    }
}
