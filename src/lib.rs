//! Coffer: self-hosted secure file transfer and sharing.
//!
//! `app` is what the browser sees (server-rendered, then hydrated by the wasm build of this
//! crate); `server` is everything that runs only on the server.

#![recursion_limit = "256"]

pub mod app;
#[cfg(feature = "ssr")]
pub mod server;

/// The wasm entry point: attaches the app to the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // When the page became interactive: every handler is attached. The page-load benchmark
    // (end2end/bench/page-load.mjs) measures up to this mark.
    if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
        let _ = performance.mark("coffer-hydrated");
    }
}
