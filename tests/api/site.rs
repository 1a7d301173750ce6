//! The site's static files: the build's content-hashed names in every page, `pkg/` sent in the
//! encoding the browser takes from the copies the build made, and cached for good only when
//! the names carry hashes.

use std::path::Path;

use reqwest::{header, StatusCode};

use crate::helpers::{spawn_app_with, TestApp};

const WASM: &[u8] = b"\0asm plain";
const WASM_BR: &[u8] = b"brotli bytes";
const WASM_GZ: &[u8] = b"gzip bytes";

/// A site as `scripts/build.sh` leaves it: hashed names, each with `.br` and `.gz` copies, and
/// the hash file in the site root.
fn hashed_site(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(root.join("hash.txt"), "js: Jh\nwasm: Wh\ncss: Ch\n").unwrap();
    std::fs::write(pkg.join("coffer.Jh.js"), "export default 1;").unwrap();
    std::fs::write(pkg.join("coffer.Ch.css"), "body{}").unwrap();
    std::fs::write(pkg.join("coffer.Wh.wasm"), WASM).unwrap();
    std::fs::write(pkg.join("coffer.Wh.wasm.br"), WASM_BR).unwrap();
    std::fs::write(pkg.join("coffer.Wh.wasm.gz"), WASM_GZ).unwrap();
}

/// An app serving a [`hashed_site`], configured further by `configure`; the site lives as long
/// as the returned directory.
async fn app_with_hashed_site(
    configure: impl FnOnce(&mut coffer::server::config::Settings),
) -> (tempfile::TempDir, TestApp) {
    let site = tempfile::tempdir().unwrap();
    hashed_site(site.path());
    let root = site.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(|s| {
        s.site.root = root;
        configure(s);
    })
    .await;
    (site, app)
}

async fn get(app: &TestApp, path: &str, accept_encoding: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(header::ACCEPT_ENCODING, accept_encoding)
        .send()
        .await
        .unwrap()
}

fn header_of(res: &reqwest::Response, name: header::HeaderName) -> &str {
    res.headers()
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn hashed_files_are_named_in_pages_sent_precompressed_and_cached_for_good() {
    let (_site, app) = app_with_hashed_site(|_| {}).await;

    // Every page names the build's files.
    let html = app.get("/register").await.text().await.unwrap();
    for name in ["/pkg/coffer.Ch.css", "/pkg/coffer.Jh.js", "coffer.Wh.wasm"] {
        assert!(html.contains(name), "{name} not in the page: {html}");
    }
    assert!(!html.contains("/pkg/coffer.css"), "{html}");

    // The encoding the browser prefers among the copies the build made, else the file itself.
    for (accepts, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), WASM_BR),
        ("gzip", Some("gzip"), WASM_GZ),
        ("identity", None, WASM),
    ] {
        let res = get(&app, "/pkg/coffer.Wh.wasm", accepts).await;
        assert_eq!(res.status(), StatusCode::OK, "{accepts}");
        assert_eq!(
            res.headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accepts}"
        );
        assert_eq!(header_of(&res, header::CONTENT_TYPE), "application/wasm");
        assert_eq!(
            header_of(&res, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header_of(&res, header::VARY), "accept-encoding");
        assert_eq!(res.bytes().await.unwrap(), body, "{accepts}");
    }
    // A file without compressed copies is sent as it is, cached the same way.
    let res = get(&app, "/pkg/coffer.Ch.css", "br, gzip").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(
        header_of(&res, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.text().await.unwrap(), "body{}");

    // A name the build did not make is a 404 nobody may keep.
    let res = get(&app, "/pkg/coffer.old.wasm", "br").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_ne!(
        res.headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("public, max-age=31536000, immutable")
    );
}

#[tokio::test]
async fn sign_in_and_share_link_pages_load_no_script_and_no_wasm() {
    let (_site, app) = app_with_hashed_site(|_| {}).await;

    for path in ["/login", "/login/code", "/s/no-such-link"] {
        let res = app.get(path).await;
        let html = res.text().await.unwrap();
        assert!(
            html.contains("/pkg/coffer.Ch.css"),
            "{path} keeps its styles: {html}"
        );
        for script in ["<script type=\"module\"", "coffer.Jh.js", "coffer.Wh.wasm"] {
            assert!(!html.contains(script), "{path} names {script}: {html}");
        }
    }
    // The pages past sign-in, and the one before it, still hydrate.
    for path in ["/", "/files", "/register"] {
        let html = app.get(path).await.text().await.unwrap();
        assert!(
            html.contains("coffer.Wh.wasm"),
            "{path} loads no wasm: {html}"
        );
    }
}

#[tokio::test]
async fn files_without_hashes_are_revalidated_on_every_load() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/coffer.css"), "body{}").unwrap();
    let root = site.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(|s| s.site.root = root).await;

    let html = app.get("/login").await.text().await.unwrap();
    assert!(html.contains("/pkg/coffer.css"), "{html}");
    let res = get(&app, "/pkg/coffer.css", "br").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache");
    assert!(res.headers().contains_key(header::LAST_MODIFIED));
}

#[tokio::test]
async fn the_too_many_requests_page_names_the_hashed_stylesheet() {
    let (_site, app) = app_with_hashed_site(|s| {
        s.rates.requests_per_sec = 1;
        s.rates.requests_burst = 1;
    })
    .await;
    let page = || {
        app.client
            .get(app.url("/login"))
            .header(header::ACCEPT, "text/html")
            .send()
    };
    let res =
        crate::client::until_limited(|| async { page().await.unwrap() }, StatusCode::OK).await;
    let html = res.text().await.unwrap();
    assert!(
        html.contains("href=\"/pkg/coffer.Ch.css\"") && html.contains("Too many requests"),
        "{html}"
    );
}
