//! The database: one `sqlx::AnyPool` over SQLite (embedded default) or PostgreSQL.
//!
//! Repository modules hold the only SQL in Coffer. Every statement is written once, in the
//! subset both databases share (`$n` parameters, TEXT ids, BIGINT unix-second times), so the
//! service layer never knows which database it talks to and the same tests cover both.

pub mod audit;
pub mod files;
pub mod requests;
pub mod scan_jobs;
pub mod sealed;
pub mod shares;
pub mod stats;
pub mod tokens;
pub mod two_factor;
pub mod uploads;
pub mod users;
pub mod web_sessions;
pub mod webhooks;

use std::{sync::Once, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, Executor,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Database {
    pub pool: AnyPool,
    pub backend: Backend,
}

impl Database {
    /// Connects and applies pending migrations for this backend.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during a write; busy_timeout queues writers
                        // instead of failing them; foreign keys enforce the cascades.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let db = Database { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Readiness probe: a round trip to the database.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Now, in unix seconds (the unit of every time column).
/// `$first, $first+1, …`: the placeholders of a list of `count` values bound from `$first` on,
/// for `IN (…)`; `NULL` for an empty list (which matches nothing).
pub fn placeholders(first: usize, count: usize) -> String {
    if count == 0 {
        return "NULL".to_owned();
    }
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fresh opaque id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fresh id that sorts after every id this process made with it before (a UUIDv7), and the
/// unix second it was made in, read from the id itself: rows written with both, ordered by
/// `(time, id)`, keep the order they were written in even within one second.
pub fn new_ordered_id() -> (String, i64) {
    let id = uuid::Uuid::now_v7();
    let at = id
        .get_timestamp()
        .map(|t| i64::try_from(t.to_unix().0).unwrap_or(i64::MAX))
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
    (id.to_string(), at)
}

/// Converts a time column to the API's date type.
pub fn to_datetime(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// True when the error is a unique-constraint violation (a lost race on insert).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A row refers to one that is gone (deleted while the request ran).
pub fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_ids_sort_in_the_order_they_were_made_and_carry_their_second() {
        let now = || time::OffsetDateTime::now_utc().unix_timestamp();
        let before = now();
        let made: Vec<(String, i64)> = (0..2000).map(|_| new_ordered_id()).collect();
        let after = now();
        let mut sorted = made.clone();
        sorted.sort();
        assert_eq!(sorted, made, "by (id) alone, and so by (time, id)");
        assert!(made.iter().all(|(_, at)| (before..=after).contains(at)));
    }
}
