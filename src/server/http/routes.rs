//! What Coffer's routes are, by their templates: the paths they are registered under, which
//! axum hands to middleware as [`MatchedPath`]. Two facts live here and nowhere else: which
//! routes take a file as their body (the 1 MiB body cap leaves them to the upload rules), and
//! which path parameters are secrets (kept out of every log line). The body cap, the request
//! log, the CSRF log and the tests over every route of the router all ask here.

use axum::{extract::MatchedPath, http::Request};

/// The templates of the routes whose bodies are files: bounded by the upload rules (size limit,
/// quota, a request's byte limit) while they stream, instead of by the 1 MiB cap on the rest.
pub const UPLOADS: &[&str] = &[
    // A user's own files: multipart (REST and the page without script) and tus.
    "/api/v1/files/upload",
    "/files/upload",
    "/api/v1/uploads",
    "/api/v1/uploads/{id}",
    // A sender's file into an upload request: REST and the sender's page.
    "/api/v1/r/{token}/files",
    "/r/{token}/upload",
];

/// The path parameters a log line may show: ids, which give nothing to whoever reads them
/// without a token or session of their own, and the server function's name. Every other
/// parameter is taken for a secret (a share link's or an upload request's token, and any new
/// parameter until it is named here).
pub const SHOWN_PARAMS: &[&str] = &["id", "file_id", "fn_name"];

/// What a log line shows of a secret.
pub const HIDDEN: &str = "[redacted]";

/// The template of the route `req` matched; `None` for a request no route took (the site's
/// files under `/pkg`, the pages' fallback).
pub fn template<B>(req: &Request<B>) -> Option<&str> {
    req.extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
}

/// Whether the route `req` matched takes a file as its body.
pub fn takes_file<B>(req: &Request<B>) -> bool {
    template(req).is_some_and(|t| UPLOADS.contains(&t))
}

/// Whether a template's segment is a parameter whose value is a secret.
fn is_secret(segment: &str) -> bool {
    match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(param) => !SHOWN_PARAMS.contains(&param.trim_start_matches('*')),
        None => false,
    }
}

/// The path and query of `req` as a log line may show them: each secret path parameter of the
/// matched route, and every `token` query value, replaced by `[redacted]`. A request that
/// matched no route shows its first segment only (beyond the site's own files under `/pkg/`):
/// a mistyped link still carries its token.
pub fn path_for_logs<B>(req: &Request<B>) -> String {
    let path = req.uri().path();
    let mut text = match template(req) {
        Some(template) => redact_path(template, path),
        None => unmatched_path(path),
    };
    if let Some(query) = req.uri().query() {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().ends_with("token") => {
                    format!("{key}={HIDDEN}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        text.push('?');
        text.push_str(&pairs.join("&"));
    }
    text
}

/// `path` with the segments its route's `template` names as secret parameters hidden; a
/// wildcard (`{*rest}`) that is secret hides everything from there on.
pub fn redact_path(template: &str, path: &str) -> String {
    let mut shown: Vec<&str> = Vec::new();
    let mut actual = path.split('/');
    for segment in template.split('/') {
        let Some(value) = actual.next() else { break };
        if is_secret(segment) {
            shown.push(HIDDEN);
            if segment.starts_with("{*") {
                return shown.join("/");
            }
        } else {
            shown.push(value);
        }
    }
    // A path longer than its template only under a wildcard that is shown.
    shown.extend(actual);
    shown.join("/")
}

fn unmatched_path(path: &str) -> String {
    if path.starts_with("/pkg/") {
        return path.to_owned();
    }
    let rest = path.strip_prefix('/').unwrap_or(path);
    match rest.split_once('/') {
        Some((first, _)) => format!("/{first}/{HIDDEN}"),
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, template: Option<&str>) -> Request<()> {
        let mut req = Request::new(());
        *req.uri_mut() = path.parse().unwrap();
        if let Some(template) = template {
            // `MatchedPath` is axum's to make; a one-route router makes it.
            req.extensions_mut().insert(matched(template));
        }
        req
    }

    /// The `MatchedPath` axum gives a request to `template`.
    fn matched(template: &str) -> MatchedPath {
        use axum::{routing::get, Router};
        use tower::ServiceExt;
        let (tx, rx) = std::sync::mpsc::channel();
        let app = Router::new().route(
            template,
            get(move |path: MatchedPath| {
                let tx = tx.clone();
                async move { tx.send(path).unwrap() }
            }),
        );
        let concrete: Vec<&str> = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect();
        let req = Request::get(concrete.join("/"))
            .body(axum::body::Body::empty())
            .unwrap();
        futures::executor::block_on(app.oneshot(req)).unwrap();
        rx.recv().unwrap()
    }

    #[test]
    fn secret_parameters_and_token_queries_are_hidden() {
        let shown = |path: &str, template: &str| path_for_logs(&request(path, Some(template)));
        assert_eq!(shown("/s/abc123", "/s/{token}"), "/s/[redacted]");
        assert_eq!(
            shown("/s/abc123/download", "/s/{token}/download"),
            "/s/[redacted]/download"
        );
        assert_eq!(
            shown("/api/v1/r/abc/files", "/api/v1/r/{token}/files"),
            "/api/v1/r/[redacted]/files"
        );
        assert_eq!(
            shown(
                "/api/v1/files/f1/share/abc",
                "/api/v1/files/{id}/share/{share_token}"
            ),
            "/api/v1/files/f1/share/[redacted]"
        );
        assert_eq!(
            shown("/api/v1/r/abc/more/x", "/api/v1/{*rest}"),
            "/api/v1/[redacted]"
        );
        assert_eq!(shown("/app/login", "/app/{*fn_name}"), "/app/login");
        assert_eq!(
            shown(
                "/api/v1/files/token-download?token=f1.99.sig&x=1",
                "/api/v1/files/token-download"
            ),
            "/api/v1/files/token-download?token=[redacted]&x=1"
        );
        assert_eq!(
            shown("/api/v1/files?limit=5", "/api/v1/files"),
            "/api/v1/files?limit=5"
        );
    }

    #[test]
    fn a_path_no_route_took_shows_its_first_segment() {
        let shown = |path: &str| path_for_logs(&request(path, None));
        assert_eq!(shown("/s/abc123/typo"), "/s/[redacted]");
        assert_eq!(shown("/favicon.ico"), "/favicon.ico");
        assert_eq!(shown("/pkg/coffer.abc.wasm"), "/pkg/coffer.abc.wasm");
    }

    #[test]
    fn uploads_are_known_by_their_template() {
        assert!(takes_file(&request(
            "/api/v1/r/abc/files",
            Some("/api/v1/r/{token}/files")
        )));
        assert!(takes_file(&request(
            "/r/abc/upload",
            Some("/r/{token}/upload")
        )));
        assert!(!takes_file(&request(
            "/api/v1/r/abc",
            Some("/api/v1/r/{token}")
        )));
        assert!(!takes_file(&request("/api/v1/files/upload", None)));
    }
}
