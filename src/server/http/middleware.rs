//! Protections every route inherits: security headers (with the CSP nonce the page renderer
//! uses), the cross-site request check, and a request id on every request and log line.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::nonce::Nonce;

use crate::server::{config::Settings, error::Error, state::AppState};

/// The header that carries each request's id: set on the way in (a client's own is dropped
/// first, `client_addr`), logged with the request, handed back in the response.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Sets the security headers. A fresh nonce per request goes into the request extensions; the
/// page renderer reads it from there (see `http::leptos_context`) so the inline hydration script
/// carries the same nonce the CSP names.
pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let is_docs = req.uri().path() == "/docs" || req.uri().path().starts_with("/docs/");
    // API answers and server functions carry tokens, secrets, recovery codes and private
    // listings: no cache, shared or not, may keep them (unless the handler chose otherwise).
    let is_private = req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/app/");
    let mut res = next.run(req).await;

    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let csp = if is_docs {
        // The vendored Swagger UI sets inline styles; it runs no inline script.
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            .to_owned()
    } else if is_html {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    } else {
        // JSON, files: nothing in them may ever run.
        "default-src 'none'; frame-ancestors 'none'; sandbox".to_owned()
    };
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    if (is_html || is_private) && !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show who is signed in: never let a shared cache keep them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings().site.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    res
}

/// Refuses state-changing browser requests that come from another site (CSRF).
///
/// Leptos server functions have no CSRF protection of their own, and the session cookie is
/// SameSite=Lax, so every non-GET request must prove it comes from one of our pages. The REST
/// API (`/api/v1`) is exempt: it authenticates with bearer tokens, never cookies.
pub async fn reject_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe
        || req.uri().path().starts_with("/api/v1/")
        || is_same_origin(req.headers(), state.settings())
    {
        next.run(req).await
    } else {
        let path = super::routes::path_for_logs(&req);
        tracing::warn!(path, "cross-site request refused");
        Error::CrossSiteRequest.into_response()
    }
}

/// `Sec-Fetch-Site` when the browser sends it (all current ones do, whatever the referrer
/// policy); else `Origin` unless it is the opaque `null`; else `Referer`. With none of them the
/// request is refused: our own pages always produce one.
pub fn is_same_origin(headers: &HeaderMap, settings: &Settings) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return site == "same-origin";
    }
    let host = text(header::HOST);
    let matches = |origin: &str| {
        origin == settings.site.public_origin()
            || host.is_some_and(|host| {
                origin
                    .split_once("://")
                    .is_some_and(|(_, authority)| authority == host)
            })
    };
    if let Some(origin) = text(header::ORIGIN).filter(|o| *o != "null") {
        return matches(origin);
    }
    if let Some(referer) = text(header::REFERER) {
        let after_scheme = referer.find("://").map_or(0, |i| i + 3);
        let end = referer[after_scheme..]
            .find('/')
            .map_or(referer.len(), |i| after_scheme + i);
        return matches(&referer[..end]);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn check(pairs: &[(&'static str, &str)]) -> bool {
        let settings = Settings::defaults_for(PathBuf::from("/tmp"), None);
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        is_same_origin(&headers, &settings)
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(check(&[("sec-fetch-site", "same-origin")]));
        assert!(!check(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:3000")
        ]));
        assert!(!check(&[("sec-fetch-site", "same-site")]));
    }

    #[test]
    fn origin_must_be_ours() {
        assert!(check(&[("origin", "http://127.0.0.1:3000")]));
        assert!(check(&[
            ("origin", "http://localhost:4000"),
            ("host", "localhost:4000")
        ]));
        assert!(!check(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000")
        ]));
        assert!(!check(&[("origin", "null")]));
    }

    #[test]
    fn referer_is_the_last_resort_and_absence_is_refused() {
        assert!(check(&[("referer", "http://127.0.0.1:3000/login")]));
        assert!(!check(&[(
            "referer",
            "http://127.0.0.1:3000.evil.example/login"
        )]));
        assert!(!check(&[]));
    }
}
