use std::{sync::Arc, time::Duration};

use coffer::server::{
    config::{Settings, StorageSettings},
    startup::Application,
    state::AppState,
};
use reqwest::{redirect::Policy, Client, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    /// A client with a cookie jar that does not follow redirects.
    pub client: Client,
    pub state: AppState,
    pub settings: Settings,
    data_dir: Arc<TempDir>,
    shutdown: oneshot::Sender<()>,
    stopped: oneshot::Receiver<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app; `configure` may change settings first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let database_url = fresh_postgres_database().await;
    let mut settings = Settings::defaults_for(data_dir.path().to_path_buf(), database_url);
    settings.site_addr = "127.0.0.1:0".parse().unwrap();
    if let Ok(redis) = std::env::var("COFFER_TEST_REDIS_URL") {
        if !redis.is_empty() {
            settings.redis_url = Some(redis);
            settings.redis_prefix = format!("coffer-test-{}", uuid::Uuid::new_v4().simple());
        }
    }
    if let Ok(endpoint) = std::env::var("COFFER_TEST_S3_ENDPOINT") {
        if !endpoint.is_empty() {
            let var = |name: &str| std::env::var(name).expect(name);
            settings.storage = StorageSettings::S3 {
                endpoint: Some(endpoint),
                bucket: var("COFFER_TEST_S3_BUCKET"),
                region: "us-east-1".into(),
                access_key_id: Some(var("COFFER_TEST_S3_ACCESS_KEY_ID")),
                secret_access_key: Some(var("COFFER_TEST_S3_SECRET_ACCESS_KEY")),
                // One folder per test, so counting blobs sees only this test's.
                root: format!("/test-{}/", uuid::Uuid::new_v4().simple()),
            };
        }
    }
    configure(&mut settings);
    start(settings, Arc::new(data_dir)).await
}

async fn start(settings: Settings, data_dir: Arc<TempDir>) -> TestApp {
    let app = Application::build(settings.clone())
        .await
        .expect("app starts");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (shutdown, rx) = oneshot::channel::<()>();
    let (done, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .run_until(async {
                let _ = rx.await;
            })
            .await;
        let _ = done.send(());
    });
    TestApp {
        base,
        client: new_client(),
        state,
        settings,
        data_dir,
        shutdown,
        stopped,
    }
}

pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A new, empty database on the test PostgreSQL server (`COFFER_TEST_POSTGRES_URL`), if one is
/// configured.
pub async fn fresh_postgres_database() -> Option<String> {
    let base_url = std::env::var("COFFER_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    let name = format!("coffer_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base_url)
        .await
        .expect("postgres reachable");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let (prefix, _) = base_url.rsplit_once('/').expect("database url has a path");
    Some(format!("{prefix}/{name}"))
}

impl TestApp {
    /// Stops this server and starts a new one on the same database, data directory and storage.
    pub async fn restart(self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let _ = self.shutdown.send(());
        let _ = self.stopped.await;
        let mut settings = self.settings;
        settings.site_addr = "127.0.0.1:0".parse().unwrap();
        configure(&mut settings);
        start(settings, self.data_dir).await
    }

    /// Starts one more instance beside this one, as a fleet behind a load balancer: the same
    /// database, data directory and storage, its own port, rate limiter and scan worker.
    pub async fn another_instance(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        configure(&mut settings);
        start(settings, self.data_dir.clone()).await
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
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
}

/// File uploads and scans.
impl TestApp {
    pub async fn upload(&self, token: &str, name: &str, bytes: Vec<u8>) -> Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new().part("file", part);
        self.client
            .post(self.url("/api/v1/files/upload"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads and returns the new file's JSON.
    pub async fn upload_ok(&self, token: &str, name: &str, bytes: Vec<u8>) -> Value {
        let res = self.upload(token, name, bytes).await;
        assert_eq!(res.status(), StatusCode::CREATED, "upload {name}");
        res.json().await.unwrap()
    }

    /// Runs every due scan job now (for apps started with the scan worker off).
    pub async fn run_scans(&self) {
        while coffer::server::service::scanning::run_next(&self.state)
            .await
            .expect("scan queue readable")
        {}
    }

    /// Waits until the background worker has scanned the file; returns its status.
    pub async fn scanned_status(&self, token: &str, id: &str) -> String {
        for _ in 0..200 {
            let file: Value = self
                .get_bearer(&format!("/api/v1/files/{id}"), token)
                .await
                .json()
                .await
                .unwrap();
            let status = file["scan_status"].as_str().unwrap().to_owned();
            if status != "pending" {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("file {id} still pending after 10 s");
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

    /// Blobs in the store, whichever backend the tests run on.
    pub async fn blob_count(&self) -> usize {
        self.state.storage().list_keys().await.unwrap().len()
    }

    /// Uploads under way, and blobs marked for deletion, that the sweeper would look at.
    pub async fn pending_uploads(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM blob_uploads")
            .fetch_one(&self.state.db().pool)
            .await
            .unwrap()
    }

    pub async fn download(&self, token: &str, id: &str) -> Response {
        self.get_bearer(&format!("/api/v1/files/{id}/download"), token)
            .await
    }
}

/// Bytes that differ from position to position, so misplaced ranges show.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// A registered user signed in through the API (see [`TestApp::user`]).
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

/// How many audit entries have this action.
pub async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap()
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
