//! Serves the site's static files (found by [`SiteFiles`]): `/pkg/*` with the encoding the
//! browser takes, made once at build time (`cargo leptos build --release --precompress` writes
//! `<name>.br` and `<name>.gz` beside each), and cached for a year as immutable when the build
//! named them after their content: a new build has new names. Without a hash file (a debug
//! build run by hand) the same files are revalidated on every load instead.

use axum::{
    http::{header, HeaderValue, StatusCode},
    middleware::map_response,
    response::Response,
    Router,
};
use tower_http::services::ServeDir;

use crate::server::site_files::SiteFiles;

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// `/pkg/*`: precompressed (brotli, gzip) when the build made the compressed copies, and
/// cached for good when the names carry hashes.
pub fn pkg_service(site: &SiteFiles) -> Router {
    let caching = if site.hash_file().is_some() {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let files = ServeDir::new(site.pkg_dir())
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(map_response(move |res: Response| {
            let caching = caching.clone();
            async move { cache_headers(res, caching) }
        }))
}

fn cache_headers(mut res: Response, caching: HeaderValue) -> Response {
    let ok = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let headers = res.headers_mut();
    // The same address answers in several encodings: a shared cache must keep them apart.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if ok {
        headers.insert(header::CACHE_CONTROL, caching);
    }
    res
}
