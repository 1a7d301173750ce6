//! Coffer's browser entry point, built to wasm by cargo-leptos (`lib-package`): the pages are
//! `coffer::app`, rendered on the server and hydrated here.

/// Attaches the app to the server-rendered page.
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
        leptos::mount::hydrate_from_async(body, coffer::app::App)
            .await
            .forget();
        // When the page became interactive: every handler is attached. The page-load benchmark
        // (end2end/bench/page-load.mjs) measures up to this mark.
        if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
            let _ = performance.mark("coffer-hydrated");
        }
    });
}
