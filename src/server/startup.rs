//! Builds the application from [`Settings`]: database (migrated), Redis, session store, rate
//! limits, router; then serves until a shutdown signal, finishing in-flight requests.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::Router;
use tokio::net::TcpListener;
use tower_sessions_redis_store::fred::{
    clients::Pool as RedisPool,
    interfaces::ClientLike,
    types::{config::Config as RedisConfig, Builder as RedisBuilder},
};

use crate::server::{
    clock::Clock,
    config::{redact_url, ConfigError, Settings},
    db::Database,
    http::{self, session_store::SessionBackend},
    master_keys::{KeyError, MasterKeys},
    rate_limiter::RateLimiter,
    scanner,
    service::{key_rotation, scanning, upkeep, webhooks},
    state::{AppState, Parts},
    storage::BlobStore,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("cannot connect to Redis {url}: {message}")]
    Redis { url: String, message: String },
    #[error("cannot use the blob storage: {0}")]
    Storage(String),
    #[error("cannot load the master key: {0}")]
    MasterKey(#[from] KeyError),
    #[error(
        "the database has values sealed by master keys this server does not hold: {}; add them \
         behind the current key in COFFER_MASTER_KEY (or restore the key file)",
        .0.iter().map(|(id, rows)| format!("{id} ({rows} values)")).collect::<Vec<_>>().join(", ")
    )]
    KeysMissing(Vec<(String, i64)>),
    #[error("cannot prepare the sealed values: {0}")]
    Sealed(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The state and session store, without a listener (also used by CLI commands).
pub async fn build_state(
    settings: Settings,
    clock: Clock,
) -> Result<(AppState, SessionBackend), StartupError> {
    ensure_data_dir(&settings)?;
    let url = settings.data.database_url.clone();
    let database = Database::connect(&url)
        .await
        .map_err(|source| StartupError::Database {
            url: redact_url(&url),
            source,
        })?;
    let (limiter, redis, sessions) = match &settings.data.redis_url {
        Some(redis_url) => {
            let pool = connect_redis(redis_url).await?;
            (
                RateLimiter::redis(pool.clone(), &settings.data.redis_prefix, clock.clone()),
                Some(pool.clone()),
                SessionBackend::redis(pool),
            )
        }
        None => {
            let sessions =
                SessionBackend::sql(&url)
                    .await
                    .map_err(|source| StartupError::Database {
                        url: redact_url(&url),
                        source,
                    })?;
            (RateLimiter::in_memory(clock.clone()), None, sessions)
        }
    };
    let storage = BlobStore::connect(&settings.data.storage)
        .await
        .map_err(|e| StartupError::Storage(e.to_string()))?;
    let keys = MasterKeys::load(&settings)?;
    let scanner = scanner::from_settings(&settings);
    let parts = Parts {
        clock,
        db: database,
        limiter,
        redis,
        storage,
        keys,
        scanner,
    };
    let state = AppState::new(settings, parts);
    let sealed_error = |e: crate::server::error::Error| StartupError::Sealed(e.chain());
    let missing = key_rotation::keys_missing(&state)
        .await
        .map_err(sealed_error)?;
    if !missing.is_empty() {
        return Err(StartupError::KeysMissing(missing));
    }
    key_rotation::bind_unbound(&state)
        .await
        .map_err(sealed_error)?;
    Ok((state, sessions))
}

fn ensure_data_dir(settings: &Settings) -> Result<(), StartupError> {
    let dir = &settings.data.dir;
    std::fs::create_dir_all(dir).map_err(|source| StartupError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    #[cfg(unix)]
    {
        // The data dir will hold the master key and the blobs: owner only.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

async fn connect_redis(url: &str) -> Result<RedisPool, StartupError> {
    let err = |message: String| StartupError::Redis {
        url: redact_url(url),
        message,
    };
    let config = RedisConfig::from_url(url).map_err(|e| err(e.to_string()))?;
    let pool = RedisBuilder::from_config(config)
        .with_connection_config(|c| c.connection_timeout = Duration::from_secs(5))
        .set_policy(
            tower_sessions_redis_store::fred::types::config::ReconnectPolicy::new_exponential(
                0, 100, 30_000, 2,
            ),
        )
        .build_pool(4)
        .map_err(|e| err(e.to_string()))?;
    pool.init().await.map_err(|e| err(e.to_string()))?;
    Ok(pool)
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    sessions: SessionBackend,
}

impl Application {
    /// Builds the application on `clock` (`Clock::system()`, but in tests).
    pub async fn build(settings: Settings, clock: Clock) -> Result<Self, StartupError> {
        // Installed before the first request, whose counts would otherwise go nowhere.
        crate::server::metrics::handle();
        let addr = settings.site.addr;
        let (state, sessions) = build_state(settings, clock).await?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Listen { addr, source })?;
        let router = http::router(state.clone(), sessions.clone());
        Ok(Self {
            listener,
            router,
            state,
            sessions,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets requests in flight finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep_periodically(
            self.state.clone(),
            self.sessions.clone(),
        ));
        let scan_worker = self
            .state
            .settings()
            .scanning
            .worker
            .then(|| tokio::spawn(scanning::run_worker(self.state.clone())));
        tokio::spawn(scanning::log_scanner(self.state.clone()));
        let webhook_worker = tokio::spawn(webhooks::run_worker(self.state.clone()));
        let metrics_upkeep = tokio::spawn(crate::server::metrics::run_upkeep());
        tracing::info!(addr = %self.local_addr(), "coffer is listening");
        let settings = self.state.settings();
        let limits = http::serve::ConnectionLimits {
            max_connections: settings.connections.max,
            header_timeout: settings.connections.header_timeout,
        };
        http::serve::serve(self.listener, self.router, limits, shutdown).await;
        sweeper.abort();
        webhook_worker.abort();
        metrics_upkeep.abort();
        if let Some(worker) = scan_worker {
            worker.abort();
        }
        tracing::info!("coffer stopped");
        Ok(())
    }
}

/// Runs the upkeep (`service::upkeep`) every sweep interval, and deletes expired cookie
/// sessions from the session store.
async fn sweep_periodically(state: AppState, sessions: SessionBackend) {
    let mut tick = tokio::time::interval(state.settings().upkeep.sweep_interval);
    loop {
        tick.tick().await;
        upkeep::sweep(&state).await;
        if let Err(e) = sessions.delete_expired().await {
            tracing::warn!(error = %e, "could not sweep expired cookie sessions");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
