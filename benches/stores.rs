//! Verification latency per store, with and without a warm cache, in one run:
//! `cargo bench --bench stores` (add `--features postgres` and set `FORMBOX_TEST_POSTGRES_URL`, as
//! `scripts/postgres.sh run` does, for the PostgreSQL rows).

use std::{hint::black_box, sync::Arc, time::SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use formbox_auth::{
    Authenticator, KeyFormat, KeyRecord, KeyStore, MemoryStore, OrganizationId, Permission,
    sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    store::{CachedStore, Inserted, SqliteStore},
};
use tokio::runtime::Runtime;

const KEYS: usize = 1_000;

/// Fills `store` with keys and returns the plaintext of one of them.
async fn fill(store: &dyn KeyStore) -> String {
    let format = KeyFormat::default();
    let mut last = String::new();
    for i in 0..KEYS {
        let key = format.generate().unwrap();
        let organization = OrganizationId::from(format!("org_{}", i % 50));
        let record = KeyRecord::new(
            key.id(),
            organization,
            format!("bench {i}"),
            Permission::FullAccess,
            key.digest(),
            SystemTime::now(),
        );
        assert_eq!(store.insert(&record, None).await.unwrap(), Inserted::Stored);
        last = key.expose_secret().to_owned();
    }
    last
}

async fn sqlite() -> SqliteStore {
    let path = std::env::temp_dir().join(format!("formbox-auth-bench-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    // A ping before every checkout would be a second round trip to the connection's thread.
    let pool = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .unwrap();
    let store = SqliteStore::new(pool);
    store.migrate().await.unwrap();
    store
}

#[cfg(feature = "postgres")]
async fn postgres() -> Option<formbox_auth::store::PostgresStore> {
    let url = std::env::var("FORMBOX_TEST_POSTGRES_URL").ok()?;
    let pool = formbox_auth::sqlx::PgPool::connect(&url).await.unwrap();
    let table = format!("bench_keys_{}", std::process::id());
    let store = formbox_auth::store::PostgresStore::new(pool)
        .with_table_name(&table)
        .unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

/// Verifications of `key` through `store`.
fn bench_store(
    c: &mut Criterion,
    runtime: &Runtime,
    name: &str,
    store: Arc<dyn KeyStore>,
    key: &str,
) {
    let authenticator = Authenticator::new(store);
    c.bench_function(&format!("verify/{name}"), |b| {
        b.to_async(runtime)
            .iter(|| async { black_box(authenticator.authenticate(key).await.is_ok()) })
    });
}

fn stores(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let memory = MemoryStore::new();
    let key = runtime.block_on(fill(&memory));
    bench_store(c, &runtime, "memory", Arc::new(memory), &key);
    // Each database is filled once, then read through a cache and without one.
    let sqlite = runtime.block_on(sqlite());
    let key = runtime.block_on(fill(&sqlite));
    let cached = Arc::new(CachedStore::new(sqlite.clone()));
    bench_store(c, &runtime, "sqlite_cached", cached, &key);
    bench_store(c, &runtime, "sqlite", Arc::new(sqlite), &key);
    #[cfg(feature = "postgres")]
    if let Some(postgres) = runtime.block_on(postgres()) {
        let key = runtime.block_on(fill(&postgres));
        let cached = Arc::new(CachedStore::new(postgres.clone()));
        bench_store(c, &runtime, "postgres_cached", cached, &key);
        bench_store(c, &runtime, "postgres", Arc::new(postgres), &key);
    }
}

criterion_group!(benches, stores);
criterion_main!(benches);
