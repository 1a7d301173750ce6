//! The HTTP side of the tests: a client for one Coffer by its base URL, with the calls the
//! tests make (register, sign in, upload, share, download…) and the checks they share. Used by
//! the in-process tests (`TestApp` derefs to an [`Api`]) and by the fleet tests, which talk to
//! real `coffer` processes.
#![allow(dead_code)] // each test binary uses its own part

use std::time::Duration;

use reqwest::{redirect::Policy, Client, Response, StatusCode};
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery";

/// One Coffer instance as a client sees it.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    /// A client with a cookie jar that does not follow redirects.
    pub client: Client,
}

impl Api {
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            client: new_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A request with no credentials (the client's cookie jar is empty unless a test fills it).
    pub async fn anonymous(&self, method: reqwest::Method, path: &str) -> Response {
        self.client
            .request(method, self.url(path))
            .send()
            .await
            .unwrap()
    }

    /// `GET path` with no credentials.
    pub async fn get(&self, path: &str) -> Response {
        self.anonymous(reqwest::Method::GET, path).await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `GET /metrics` with this bearer token: the Prometheus text format.
    pub async fn metrics(&self, token: &str) -> String {
        let res = self.get_bearer("/metrics", token).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()[reqwest::header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        res.text().await.unwrap()
    }

    /// `POST path` with this JSON body and bearer token.
    pub async fn post_bearer(&self, path: &str, token: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, username: &str) -> Value {
        let email = format!("{username}@example.org");
        let res = self.register_with(&email, username, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {username}");
        res.json().await.unwrap()
    }

    /// `POST /api/v1/auth/login` with these credentials.
    pub async fn login_with(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// `POST /api/v1/auth/register` with these fields.
    pub async fn register_with(&self, email: &str, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({ "email": email, "username": username, "password": password }),
        )
        .await
    }

    /// Registers `username` and signs them in through the API.
    pub async fn user(&self, username: &str) -> TestUser {
        let registered = self.register(username).await;
        let tokens = self.login(username).await;
        TestUser {
            id: registered["id"].as_str().unwrap().to_owned(),
            access: tokens.access,
            refresh: tokens.refresh,
        }
    }

    pub async fn login(&self, username: &str) -> Tokens {
        let res = self
            .login_with(&format!("{username}@example.org"), PASSWORD)
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login {username}");
        let body: Value = res.json().await.unwrap();
        Tokens {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// `POST /api/v1/auth/refresh` with this refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// `GET /api/v1/auth/me` with this access token.
    pub async fn me(&self, access_token: &str) -> Response {
        self.get_bearer("/api/v1/auth/me", access_token).await
    }

    /// `POST /api/v1/auth/logout` with this access token.
    pub async fn logout(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/logout"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    /// Asserts that neither token of a login works any more.
    pub async fn assert_tokens_revoked(&self, access: &str, refresh: &str) {
        assert_eq!(
            self.me(access).await.status(),
            StatusCode::UNAUTHORIZED,
            "the access token still works"
        );
        assert_eq!(
            error_code(self.refresh(refresh).await, StatusCode::UNAUTHORIZED).await,
            "invalid_token",
            "the refresh token still works"
        );
    }

    /// `PATCH /api/v1/admin/users/{user_id}` as `token`.
    pub async fn patch_user(&self, token: &str, user_id: &str, changes: &Value) -> Response {
        self.client
            .patch(self.url(&format!("/api/v1/admin/users/{user_id}")))
            .bearer_auth(token)
            .json(changes)
            .send()
            .await
            .unwrap()
    }

    /// The login form sent from `browser` (JavaScript off) for `username`.
    pub async fn login_form(&self, browser: &Client, username: &str, password: &str) -> Response {
        let email = format!("{username}@example.org");
        self.form_post(
            browser,
            "login",
            &[("email", email.as_str()), ("password", password)],
        )
        .await
    }

    /// A browser (its own cookie jar, JavaScript off) signed in as `username` through the login
    /// form.
    pub async fn browser_login(&self, username: &str) -> Client {
        let browser = new_client();
        let res = self.login_form(&browser, username, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::FOUND, "browser login {username}");
        browser
    }

    /// Whether the home page greets `browser` as signed in.
    pub async fn signed_in(&self, browser: &Client) -> bool {
        self.page(browser, "/").await.1.contains("Signed in as")
    }

    /// A plain HTML form post to a server function, as a browser without JavaScript sends it.
    pub async fn form_post(
        &self,
        client: &Client,
        endpoint: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(&format!("/app/{endpoint}")))
            .header("accept", "text/html,application/xhtml+xml")
            .header("origin", &self.base)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, client: &Client, path: &str) -> (StatusCode, String) {
        let res = client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e:?}"));
        (res.status(), res.text().await.unwrap())
    }

    pub async fn upload(&self, token: &str, name: &str, bytes: Vec<u8>) -> Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        self.send_upload(token, part).await.unwrap()
    }

    /// `POST /api/v1/files/upload` with `part` as the file; the transport's error, if the
    /// connection broke (a streamed part whose server went away).
    pub async fn send_upload(
        &self,
        token: &str,
        part: reqwest::multipart::Part,
    ) -> reqwest::Result<Response> {
        let form = reqwest::multipart::Form::new().part("file", part);
        self.client
            .post(self.url("/api/v1/files/upload"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
    }

    /// Uploads and returns the new file's JSON.
    pub async fn upload_ok(&self, token: &str, name: &str, bytes: Vec<u8>) -> Value {
        let res = self.upload(token, name, bytes).await;
        assert_eq!(res.status(), StatusCode::CREATED, "upload {name}");
        res.json().await.unwrap()
    }

    /// Waits until the background worker has scanned the file; returns its status.
    pub async fn scanned_status(&self, token: &str, id: &str) -> String {
        self.scanned(token, id).await["scan_status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits until the background worker has scanned the file; returns the file's JSON. The
    /// wait is long enough for the largest test files on the tests' unoptimised server, which
    /// seals and opens a few MB/s, on a busy 2-core machine: it only matters when a scan never
    /// finishes.
    pub async fn scanned(&self, token: &str, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + SCAN_WAIT;
        loop {
            let file: Value = self
                .get_bearer(&format!("/api/v1/files/{id}"), token)
                .await
                .json()
                .await
                .unwrap();
            if file["scan_status"] != "pending" {
                return file;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "file {id} still pending after {SCAN_WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn download_range(&self, token: &str, id: &str, range: impl AsRef<str>) -> Response {
        self.client
            .get(self.url(&format!("/api/v1/files/{id}/download")))
            .bearer_auth(token)
            .header(reqwest::header::RANGE, range.as_ref())
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/v1/files` as this token sees it.
    pub async fn list_files(&self, token: &str) -> Vec<Value> {
        let res = self.get_bearer("/api/v1/files", token).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn delete_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `POST /api/v1/files/{file_id}/share` with this body.
    pub async fn share(&self, token: &str, file_id: &str, body: Value) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/files/{file_id}/share")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a link and returns its JSON (with `share_token`).
    pub async fn share_ok(&self, token: &str, file_id: &str, body: Value) -> Value {
        let res = self.share(token, file_id, body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    pub async fn download(&self, token: &str, id: &str) -> Response {
        self.get_bearer(&format!("/api/v1/files/{id}/download"), token)
            .await
    }

    /// A tus request to `path` with `Tus-Resumable: 1.0.0` and this token.
    pub fn tus(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("tus-resumable", "1.0.0")
    }

    /// tus creation of an upload of `length` bytes named `name`; its URL path on success.
    pub async fn tus_create(&self, token: &str, name: &str, length: u64) -> Response {
        self.tus(reqwest::Method::POST, "/api/v1/uploads", token)
            .header("upload-length", length)
            .header("upload-metadata", tus_metadata(name))
            .send()
            .await
            .unwrap()
    }

    /// Creates an upload and returns its path (`/api/v1/uploads/{id}`).
    pub async fn tus_create_ok(&self, token: &str, name: &str, length: u64) -> String {
        let res = self.tus_create(token, name, length).await;
        assert_eq!(res.status(), StatusCode::CREATED, "tus creation of {name}");
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    /// tus PATCH of `bytes` at `offset`.
    pub async fn tus_patch(
        &self,
        token: &str,
        path: &str,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Response {
        self.tus(reqwest::Method::PATCH, path, token)
            .header("upload-offset", offset)
            .header("content-type", "application/offset+octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// tus PATCH of `bytes` at `offset`, sent again while another request holds the upload
    /// (423: one cut short, whose hold runs out), for up to 30 s. A 423 comes before the body
    /// is read, and the server then closes the connection: the client may see that (a broken
    /// pipe while it still sends) instead of the answer, and tries again as a tus client does.
    pub async fn tus_patch_when_free(
        &self,
        token: &str,
        path: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Response {
        for _ in 0..60 {
            let sent = self
                .tus(reqwest::Method::PATCH, path, token)
                .header("upload-offset", offset)
                .header("content-type", "application/offset+octet-stream")
                .body(bytes.to_vec())
                .send()
                .await;
            match sent {
                Ok(res) if res.status() != StatusCode::LOCKED => return res,
                Ok(_) => {}
                Err(e) => assert!(e.is_request(), "PATCH {path}: {e:?}"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("the upload {path} was still held after 30 s");
    }

    /// A tus PATCH at `offset` whose body the caller feeds (an `Err` breaks the connection):
    /// the sender, and the request under way.
    pub fn tus_patch_stream(
        &self,
        token: &str,
        path: &str,
        offset: u64,
    ) -> (
        tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
        tokio::task::JoinHandle<reqwest::Result<Response>>,
    ) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let body = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let req = self
            .tus(reqwest::Method::PATCH, path, token)
            .header("upload-offset", offset)
            .header("content-type", "application/offset+octet-stream")
            .body(reqwest::Body::wrap_stream(body));
        (tx, tokio::spawn(req.send()))
    }

    /// The upload's `Upload-Offset` by tus HEAD.
    pub async fn tus_offset(&self, token: &str, path: &str) -> u64 {
        let res = self
            .tus(reqwest::Method::HEAD, path, token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "HEAD {path}");
        res.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Uploads `bytes` through tus in `chunk`-byte requests; the new file's id.
    pub async fn tus_upload(&self, token: &str, name: &str, bytes: &[u8], chunk: usize) -> String {
        let path = self.tus_create_ok(token, name, bytes.len() as u64).await;
        let mut offset = 0;
        while offset < bytes.len() {
            let end = (offset + chunk).min(bytes.len());
            let res = self
                .tus_patch(token, &path, offset as u64, bytes[offset..end].to_vec())
                .await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "PATCH at {offset}");
            offset = res.headers()["upload-offset"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
        }
        path.rsplit('/').next().unwrap().to_owned()
    }
}

/// `Upload-Metadata` naming a file.
pub fn tus_metadata(name: &str) -> String {
    use base64::Engine as _;
    format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode(name)
    )
}

/// The longest a scan may take in the tests (see [`Api::scanned`]).
const SCAN_WAIT: Duration = Duration::from_secs(120);

/// The longest a request may take in the tests, body included: a hung server fails the test
/// instead of stalling the run, while the fleet's 100 MiB transfers through nginx, at the few
/// MB/s of the tests' unoptimised server on a busy 2-core machine, have room to finish.
const REQUEST_WAIT: Duration = Duration::from_secs(120);

/// How long the client keeps an idle connection for reuse. The server closes a connection that
/// sends no request head for `COFFER_HEADER_TIMEOUT_SECS` (15 s by default); a client that
/// reuses one just as the server closes it gets `IncompleteMessage` (seen after a 15 s tus
/// client run). reqwest keeps them 90 s by default; a client must let them go first.
const POOL_IDLE: Duration = Duration::from_secs(5);

pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(REQUEST_WAIT)
        .pool_idle_timeout(POOL_IDLE)
        .build()
        .unwrap()
}

/// Bytes that differ from position to position, so misplaced ranges show.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// A registered user signed in through the API (see [`Api::user`]).
pub struct TestUser {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

/// Asserts the API's error shape and returns the code.
pub async fn error_code(res: Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.expect("error body is JSON");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "no detail in {body}"
    );
    body["code"].as_str().expect("code").to_owned()
}

/// Now, in unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The length of a TOTP time step, in seconds.
pub const TOTP_STEP: i64 = 30;

/// Text (so `.txt` content checks pass) that differs from byte to byte, so a misplaced range
/// shows.
pub fn text(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i * 7 + i / 251) % 26) as u8)
        .collect()
}

/// The `Set-Cookie` header of Coffer's session cookie, if the response sets it.
pub fn session_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("coffer_session="))
        .map(str::to_owned)
}

/// A file of the checkout the tests run from. Its folder is read when they run, not when they
/// are compiled: a build shared by two checkouts (CI's and a developer's, one target folder)
/// would otherwise read the files of whichever compiled it.
pub fn checkout_file(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets it"))
        .join(relative)
}

/// Runs `tests/clients/tuspy_upload.py` (tuspy, the official Python tus client) as its own
/// process, with the Python that `scripts/test.sh` installs it for; its JSON answer.
pub async fn tuspy(args: &[&str]) -> Value {
    let python = std::env::var("COFFER_TEST_PYTHON").expect(
        "COFFER_TEST_PYTHON is not set: run the tests through scripts/test.sh, which installs tuspy",
    );
    let script = checkout_file("tests/clients/tuspy_upload.py");
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    // On a thread of its own: the server under test runs on this test's runtime.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    assert!(
        out.status.success(),
        "tuspy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("tuspy prints JSON")
}

/// Sends `send` until the rate limit refuses it, and returns the refusal. The bucket gains one
/// request a second: on a busy machine a few may pass first, each answered with `passing`.
pub async fn until_limited<F, Fut>(send: F, passing: StatusCode) -> reqwest::Response
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    for _ in 0..6 {
        let res = send().await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            return res;
        }
        assert_eq!(res.status(), passing);
    }
    panic!("six requests in a row passed the rate limit");
}
