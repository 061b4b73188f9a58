//! Opens the store named by `--store`, shared by the `server`, `grpc` and `keys` examples, with
//! the cache invalidation named by `--invalidation`.
//!
//! Each example uses part of it: only `server` and `keys` take `--invalidation`, and only `keys`
//! announces without listening.
#![allow(dead_code)]

use std::{error::Error, sync::Arc, time::Duration};

use super::args::Flag;
use formbox_auth::{
    Authenticator, KeyStore, MemoryStore,
    sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    store::{CachedStore, RedisInvalidation, SqliteStore},
};

/// The store used when `--store` is not given: a SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite:formbox-auth.db";

/// `--store SPEC`.
pub const STORE_FLAG: Flag = Flag::new(
    "store",
    "SPEC",
    "memory, sqlite:PATH or postgres:URL (built with --features postgres); default sqlite:formbox-auth.db",
);

/// `--invalidation SPEC`.
pub const INVALIDATION_FLAG: Flag = Flag::new(
    "invalidation",
    "SPEC",
    "how caches hear of keys other processes change: postgres (LISTEN/NOTIFY, the default with a \
     postgres: store, which it needs) or redis:URL (Redis pub/sub, with a sqlite: or postgres: \
     store; no PostgreSQL connection held open); a memory store has no other processes",
);

/// How long a server serves a cached key before reading it again when nothing tells it of
/// changes. With SQLite, a key revoked by another process (the `keys` command line) stops working
/// within this time, unless `--invalidation redis:URL` pushes changes at once, as PostgreSQL does.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// How a process's cache hears of the keys other processes change, and how it tells them of its
/// own changes: `--invalidation`.
pub enum Invalidation {
    /// What the store offers: PostgreSQL's `LISTEN`/`NOTIFY`; for SQLite, the cache's time to
    /// live alone.
    Store,
    /// Redis pub/sub: every write announced, and, when `listen`, every announcement heard.
    Redis {
        invalidation: RedisInvalidation,
        listen: bool,
    },
}

impl Invalidation {
    /// Reads `--invalidation` (`spec`; absent: [`Invalidation::Store`]) for the store named by
    /// `store_spec`, or says what is wrong with it. The error never repeats the value, which may
    /// hold a password.
    pub fn parse(spec: Option<&str>, store_spec: &str) -> Result<Self, String> {
        let shared_store = store_spec.starts_with("sqlite:") || store_spec.starts_with("postgres:");
        match spec.map(|spec| spec.split_once(':').unwrap_or((spec, ""))) {
            None => Ok(Self::Store),
            Some(("postgres", "")) if store_spec.starts_with("postgres:") => Ok(Self::Store),
            Some(("postgres", "")) => {
                Err("--invalidation postgres needs a postgres:URL store (--store)".to_owned())
            }
            Some(("redis", url)) if !url.is_empty() && shared_store => {
                let invalidation = RedisInvalidation::new(url)
                    .map_err(|error| format!("--invalidation redis:URL: {error}"))?;
                Ok(Self::Redis {
                    invalidation,
                    listen: true,
                })
            }
            Some(("redis", url)) if !url.is_empty() => Err(
                "--invalidation redis:URL needs a store other processes share (sqlite:PATH or \
                 postgres:URL): a memory store is this process's own"
                    .to_owned(),
            ),
            Some(_) => Err("unknown --invalidation: use postgres or redis:URL".to_owned()),
        }
    }

    /// For a process that only writes, and has no cache worth keeping fresh (a command line):
    /// its writes are still announced, but it subscribes to nothing.
    pub fn announce_only(self) -> Self {
        match self {
            Self::Redis { invalidation, .. } => Self::Redis {
                invalidation,
                listen: false,
            },
            store => store,
        }
    }
}

/// How long a pool waits for a connection: the store timeout every request and key operation
/// has, so that an outage answers `503` within it rather than when sqlx's own 30 s run out.
const ACQUIRE_TIMEOUT: Duration = Authenticator::DEFAULT_STORE_TIMEOUT;

/// Opens `memory`, `sqlite:PATH` or `postgres:URL`, creating the schema if needed, behind a cache
/// that hears of other processes' changes as `invalidation` says.
pub async fn open_store(
    spec: &str,
    invalidation: &Invalidation,
) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    match spec.split_once(':') {
        None if spec == "memory" => Ok(Arc::new(MemoryStore::new())),
        Some(("sqlite", path)) if !path.is_empty() => open_sqlite(path, invalidation).await,
        Some(("postgres", url)) if !url.is_empty() => open_postgres(url, invalidation).await,
        _ => Err(format!("unknown store {spec:?}: use memory, sqlite:PATH or postgres:URL").into()),
    }
}

/// `store` behind a cache that announces its writes on Redis and, when `listen`, hears every
/// process's announcements there: a key revoked anywhere stops working here at once.
async fn through_redis(
    store: impl KeyStore,
    invalidation: &RedisInvalidation,
    listen: bool,
) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    let cache = CachedStore::new(invalidation.announcing(store));
    if listen {
        // Runs for the life of the process. If its connection is lost, cached keys keep working
        // until their time to live ends, and the cache is dropped once it is back.
        invalidation.listen(&cache).await?;
    }
    Ok(Arc::new(cache))
}

async fn open_sqlite(
    path: &str,
    invalidation: &Invalidation,
) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
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
    match invalidation {
        Invalidation::Store => Ok(Arc::new(CachedStore::new(store).with_ttl(CACHE_TTL))),
        Invalidation::Redis {
            invalidation,
            listen,
        } => through_redis(store, invalidation, *listen).await,
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(
    url: &str,
    invalidation: &Invalidation,
) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    let pool = formbox_auth::sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await?;
    let store = formbox_auth::store::PostgresStore::new(pool);
    store.migrate().await?;
    if let Invalidation::Redis {
        invalidation,
        listen,
    } = invalidation
    {
        // No LISTEN connection: the pool's connections all serve queries.
        return through_redis(store, invalidation, *listen).await;
    }
    let cache = CachedStore::new(store.clone());
    // Runs until the pool closes: every instance's cache drops a key as soon as it changes. If
    // its connection is lost, cached keys keep working until their time to live ends (and past
    // it while the database cannot answer), and the cache is dropped once it is back.
    store.listen_invalidations(&cache).await?;
    Ok(Arc::new(cache))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(
    _url: &str,
    _invalidation: &Invalidation,
) -> Result<Arc<dyn KeyStore>, Box<dyn Error>> {
    Err("this build has no PostgreSQL support: run with `--features postgres`".into())
}
