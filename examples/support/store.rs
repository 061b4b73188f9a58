//! Opens the store named by `--store`, shared by the `server` and `keys` examples.

use std::{error::Error, sync::Arc, time::Duration};

use super::args::Flag;
use formbox_auth::{
    Authenticator, KeyStore, MemoryStore,
    sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    store::{CachedStore, SqliteStore},
};

/// The store used when `--store` is not given: a SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite:formbox-auth.db";

/// `--store SPEC`.
pub const STORE_FLAG: Flag = Flag::new(
    "store",
    "SPEC",
    "memory, sqlite:PATH or postgres:URL (built with --features postgres); default sqlite:formbox-auth.db",
);

/// How long a server serves a cached key before reading it again. With SQLite, a key revoked by
/// another process (the `keys` command line) stops working within this time; PostgreSQL pushes
/// changes at once.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// How long a pool waits for a connection: the store timeout every request and key operation
/// has, so that an outage answers `503` within it rather than when sqlx's own 30 s run out.
const ACQUIRE_TIMEOUT: Duration = Authenticator::DEFAULT_STORE_TIMEOUT;

/// Opens `memory`, `sqlite:PATH` or `postgres:URL`, creating the schema if needed.
pub async fn open_store(spec: &str) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    match spec.split_once(':') {
        None if spec == "memory" => Ok(Arc::new(MemoryStore::new())),
        Some(("sqlite", path)) if !path.is_empty() => open_sqlite(path).await,
        Some(("postgres", url)) if !url.is_empty() => open_postgres(url).await,
        _ => Err(format!("unknown store {spec:?}: use memory, sqlite:PATH or postgres:URL").into()),
    }
}

async fn open_sqlite(path: &str) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    // The database is in-process: pinging it before every checkout only adds a round trip to
    // the connection's thread.
    let pool = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    let store = SqliteStore::new(pool);
    store.migrate().await?;
    Ok(Arc::new(CachedStore::new(store).with_ttl(CACHE_TTL)))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    let pool = formbox_auth::sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await?;
    let store = formbox_auth::store::PostgresStore::new(pool);
    store.migrate().await?;
    let cache = CachedStore::new(store.clone());
    // Runs until the pool closes: every instance's cache drops a key as soon as it changes. If
    // its connection is lost, cached keys keep working until their time to live ends (and past
    // it while the database cannot answer), and the cache is dropped once it is back.
    store.listen_invalidations(&cache).await?;
    Ok(Arc::new(cache))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_url: &str) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    Err("this build has no PostgreSQL support: run with `--features postgres`".into())
}
