//! The two migration folders, `migrations/sqlite` and `migrations/postgres`, describe one
//! schema: the repositories send the same SQL to both. Nothing but these tests keeps them in step.

use std::collections::BTreeMap;

use coffer::server::db::Database;
use sqlx::{AnyPool, Row};

use crate::helpers::checkout_file;

fn migration_files(dir: &str) -> BTreeMap<String, String> {
    let dir = checkout_file("migrations").join(dir);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The statements of a migration with comments and layout dropped, and the one type name the
/// two databases spell differently (binary columns) written one way.
fn normalised(sql: &str) -> String {
    let code: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect();
    code.join(" ")
        .split_whitespace()
        .map(|word| word.replace("BYTEA", "BLOB"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_migration_has_a_twin_with_the_same_statements() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "the folders must hold the same migrations"
    );
    for (name, sql) in &sqlite {
        assert_eq!(
            normalised(sql),
            normalised(&postgres[name]),
            "{name}: the SQLite and PostgreSQL versions differ"
        );
    }
}

/// A column as both databases can report it: name, a type family, and whether it may be null.
type Columns = BTreeMap<(String, String), (&'static str, bool)>;

fn type_family(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "text" => "text",
        "bigint" => "integer",
        "blob" | "bytea" => "binary",
        other => panic!("a column type the schema check does not know: {other}"),
    }
}

async fn sqlite_columns(pool: &AnyPool) -> Columns {
    let rows = sqlx::query(
        "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                p.\"notnull\" AS not_null, p.pk AS pk \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
           AND m.name <> 'tower_sessions'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.iter()
        .map(|row| {
            let not_null = row.get::<i64, _>("not_null") == 1 || row.get::<i64, _>("pk") > 0;
            (
                (row.get("table_name"), row.get("column_name")),
                (type_family(&row.get::<String, _>("data_type")), !not_null),
            )
        })
        .collect()
}

async fn postgres_columns(pool: &AnyPool) -> Columns {
    let rows = sqlx::query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                data_type::text AS data_type, is_nullable::text AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.iter()
        .map(|row| {
            (
                (row.get("table_name"), row.get("column_name")),
                (
                    type_family(&row.get::<String, _>("data_type")),
                    row.get::<String, _>("nullable") == "YES",
                ),
            )
        })
        .collect()
}

/// With a real PostgreSQL (`COFFER_TEST_POSTGRES_URL`, as in the test command's PostgreSQL
/// stage): both folders, applied to real databases, give the same tables and columns.
#[tokio::test]
async fn both_databases_end_up_with_the_same_tables_and_columns() {
    let Some(postgres_url) = crate::helpers::fresh_postgres_database().await else {
        eprintln!("COFFER_TEST_POSTGRES_URL is not set: the SQLite-only run checks the files");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}/schema.db?mode=rwc", dir.path().display());
    let sqlite = Database::connect(&sqlite_url).await.unwrap();
    let postgres = Database::connect(&postgres_url).await.unwrap();
    let (sqlite, postgres) = (
        sqlite_columns(&sqlite.pool).await,
        postgres_columns(&postgres.pool).await,
    );
    assert!(sqlite.len() > 20, "{sqlite:?}");
    assert_eq!(sqlite, postgres);
}
