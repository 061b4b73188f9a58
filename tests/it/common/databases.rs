//! The databases the integration tests run against: SQLite files, the PostgreSQL server in
//! `FORMBOX_TEST_POSTGRES_URL` that `scripts/postgres.sh` starts, and the Redis server in
//! `FORMBOX_TEST_REDIS_URL` that `scripts/redis.sh` starts.

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

/// The Redis test server's URL, or `None` (after saying so) when the tests that need it are
/// skipped: without the variable they pass, except under CI (`CI` set), where they fail, so that
/// a CI run does not skip them silently.
#[cfg(feature = "redis")]
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var("FORMBOX_TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("FORMBOX_TEST_REDIS_URL is not set under CI: run `scripts/redis.sh run ...`")
        }
        Err(_) => {
            eprintln!(
                "skipped {test}: FORMBOX_TEST_REDIS_URL is not set (scripts/redis.sh run cargo \
                 test --all-features --test it)"
            );
            None
        }
    }
}

/// A port nothing listens on: connections to it are refused at once.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}
