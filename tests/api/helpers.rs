use std::time::Duration;

use coffer::server::{config::Settings, startup::Application, state::AppState};
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
    _data_dir: TempDir,
    _shutdown: oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app; `configure` may change settings first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let database_url = match std::env::var("COFFER_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => Some(fresh_postgres_database(&base).await),
        _ => None,
    };
    let mut settings = Settings::defaults_for(data_dir.path().to_path_buf(), database_url);
    settings.site_addr = "127.0.0.1:0".parse().unwrap();
    if let Ok(redis) = std::env::var("COFFER_TEST_REDIS_URL") {
        if !redis.is_empty() {
            settings.redis_url = Some(redis);
            settings.redis_prefix = format!("coffer-test-{}", uuid::Uuid::new_v4().simple());
        }
    }
    configure(&mut settings);
    let app = Application::build(settings).await.expect("app starts");
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base,
        client: new_client(),
        state,
        _data_dir: data_dir,
        _shutdown: tx,
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

async fn fresh_postgres_database(base_url: &str) -> String {
    let name = format!("coffer_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(base_url)
        .await
        .expect("postgres reachable");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let (prefix, _) = base_url.rsplit_once('/').expect("database url has a path");
    format!("{prefix}/{name}")
}

impl TestApp {
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

    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn register(&self, username: &str) -> Value {
        let res = self
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": format!("{username}@example.org"), "username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {username}");
        res.json().await.unwrap()
    }

    pub async fn login(&self, username: &str) -> Tokens {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                &json!({"email": format!("{username}@example.org"), "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login {username}");
        let body: Value = res.json().await.unwrap();
        Tokens {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
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
        let res = client.get(self.url(path)).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }
}

pub struct Tokens {
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
