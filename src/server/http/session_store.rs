//! Where cookie sessions are kept: the SQL database by default (they survive a restart), Redis
//! when `REDIS_URL` is set (shared by every instance). The stores are the tower-sessions crates';
//! this enum only lets one `SessionManagerLayer` type serve all three.

use async_trait::async_trait;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};
use tower_sessions_redis_store::{fred::clients::Pool as RedisPool, RedisStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Clone, Debug)]
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
    Redis(RedisStore<RedisPool>),
}

impl SessionBackend {
    /// Opens the SQL store on its own small pool (the stores need a concrete sqlx pool) and
    /// creates its table if missing.
    pub async fn sql(database_url: &str) -> Result<Self, sqlx::Error> {
        if database_url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(
                    database_url
                        .parse::<sqlx::sqlite::SqliteConnectOptions>()?
                        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                        .busy_timeout(std::time::Duration::from_secs(5)),
                )
                .await?;
            let store = SqliteStore::new(pool);
            store.migrate().await?;
            Ok(Self::Sqlite(store))
        } else {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect(database_url)
                .await?;
            let store = PostgresStore::new(pool);
            store.migrate().await?;
            Ok(Self::Postgres(store))
        }
    }

    pub fn redis(pool: RedisPool) -> Self {
        Self::Redis(RedisStore::new(pool))
    }

    /// Deletes expired sessions (Redis expires them itself).
    pub async fn delete_expired(&self) -> session_store::Result<()> {
        use tower_sessions::ExpiredDeletion;
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
            Self::Redis(_) => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
            Self::Redis(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
            Self::Redis(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
            Self::Redis(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
            Self::Redis(s) => s.delete(id).await,
        }
    }
}
