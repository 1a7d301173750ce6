//! An in-process Coffer per test: [`spawn_app`] starts one on a random port with its own
//! database, storage and settings. It is an [`Api`] (the HTTP calls, in `client.rs`) with the
//! server's state beside it.

use std::{ops::Deref, sync::Arc};

use coffer::server::{
    clock::Clock,
    config::{Settings, StorageSettings},
    startup::Application,
    state::AppState,
};
use sqlx::{Connection, Executor};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub use crate::client::*;

pub struct TestApp {
    pub api: Api,
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
    settings.site.addr = "127.0.0.1:0".parse().unwrap();
    if let Ok(redis) = std::env::var("COFFER_TEST_REDIS_URL") {
        if !redis.is_empty() {
            settings.data.redis_url = Some(redis);
            settings.data.redis_prefix = format!("coffer-test-{}", uuid::Uuid::new_v4().simple());
        }
    }
    if let Ok(endpoint) = std::env::var("COFFER_TEST_S3_ENDPOINT") {
        if !endpoint.is_empty() {
            let var = |name: &str| std::env::var(name).expect(name);
            settings.data.storage = StorageSettings::S3 {
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
    start(settings, Arc::new(data_dir), Clock::system()).await
}

async fn start(settings: Settings, data_dir: Arc<TempDir>, clock: Clock) -> TestApp {
    let app = Application::build(settings.clone(), clock)
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
        api: Api::new(base),
        state,
        settings,
        data_dir,
        shutdown,
        stopped,
    }
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

impl Deref for TestApp {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl TestApp {
    /// Stops this server and starts a new one on the same database, data directory and storage.
    pub async fn restart(self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let _ = self.shutdown.send(());
        let _ = self.stopped.await;
        let mut settings = self.settings;
        settings.site.addr = "127.0.0.1:0".parse().unwrap();
        configure(&mut settings);
        let clock = self.state.clock().clone();
        start(settings, self.data_dir, clock).await
    }

    /// Starts one more instance beside this one, as a fleet behind a load balancer: the same
    /// database, data directory and storage, its own port, rate limiter and scan worker.
    pub async fn another_instance(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        configure(&mut settings);
        start(settings, self.data_dir.clone(), self.state.clock().clone()).await
    }

    /// Moves this app's clock to the start of the next TOTP step and returns that time: a code
    /// made for it is current for the whole step, however slow the requests that follow.
    pub fn at_step_start(&self) -> i64 {
        let into_step = self.state.now().rem_euclid(TOTP_STEP);
        self.state.clock().advance(TOTP_STEP - into_step);
        self.state.now()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// Runs every due scan job now (for apps started with the scan worker off).
    pub async fn run_scans(&self) {
        while coffer::server::service::scanning::run_next(&self.state)
            .await
            .expect("scan queue readable")
        {}
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
}

/// How many audit entries have this action.
pub async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&app.state.db().pool)
        .await
        .unwrap()
}
