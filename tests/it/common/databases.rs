//! The databases the integration tests run against: SQLite files, and the PostgreSQL server in
//! `FORMBOX_TEST_POSTGRES_URL` that `scripts/postgres.sh` starts.

use formbox_auth::KeyFormat;

/// A table name no other test, nor an earlier run, uses.
pub fn unique_table(prefix: &str) -> String {
    format!("{prefix}_{}", KeyFormat::default().generate().unwrap().id())
}

/// A database file at `path`, created if missing, in WAL mode as in production.
#[cfg(feature = "sqlite")]
pub fn sqlite_options(path: &std::path::Path) -> formbox_auth::sqlx::sqlite::SqliteConnectOptions {
    formbox_auth::sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(formbox_auth::sqlx::sqlite::SqliteJournalMode::Wal)
}

/// Four connections to the file at `path`, so that writes really run at once.
#[cfg(feature = "sqlite")]
pub async fn sqlite_pool(path: &std::path::Path) -> formbox_auth::sqlx::SqlitePool {
    formbox_auth::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(sqlite_options(path))
        .await
        .unwrap()
}

/// The test server's URL. Its absence fails the test: with the `postgres` feature on, a CI run
/// must not skip the PostgreSQL tests silently.
#[cfg(feature = "postgres")]
pub fn postgres_url() -> String {
    std::env::var("FORMBOX_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "the `postgres` feature is on but FORMBOX_TEST_POSTGRES_URL is not set; start a \
             throw-away server with `eval \"$(scripts/postgres.sh start)\"`, or run \
             `scripts/postgres.sh run cargo test --features postgres`"
        )
    })
}

/// A pool of `max_connections` to the test server.
#[cfg(feature = "postgres")]
pub async fn postgres_pool(max_connections: u32) -> formbox_auth::sqlx::PgPool {
    formbox_auth::sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect(&postgres_url())
        .await
        .unwrap_or_else(|error| panic!("cannot connect to FORMBOX_TEST_POSTGRES_URL: {error}"))
}
