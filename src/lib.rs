//! Coffer: self-hosted secure file transfer and sharing.
//!
//! `app` is what the browser sees (server-rendered, then hydrated by the wasm build of this
//! crate); `model` the types both sides share; `server` is everything that runs only on the
//! server.

#![recursion_limit = "256"]

pub mod app;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;

/// The wasm entry point: attaches the app to the server-rendered page.
///
/// Most pages are lazy routes (split into their own wasm chunks by `cargo leptos --split`), so
/// hydration is asynchronous: it waits for the current page's chunk before it walks the page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_from_async` sets up wasm-bindgen's executor for the reactive system itself.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        // When the page became interactive: every handler is attached. The page-load benchmark
        // (end2end/bench/page-load.mjs) measures up to this mark.
        if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
            let _ = performance.mark("coffer-hydrated");
        }
    });
}
