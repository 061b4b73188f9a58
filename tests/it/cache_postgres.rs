//! Caches of several instances sharing one PostgreSQL database: a change made through any of
//! them reaches the others through `LISTEN`/`NOTIFY`, long before the cache's time to live.
//!
//! Needs the `postgres` feature and a server in `FORMBOX_TEST_POSTGRES_URL`
//! (`scripts/postgres.sh` starts one); without the variable these tests fail.
#![cfg(feature = "postgres")]

use crate::common;

use std::time::{Duration, Instant};

use common::databases::{postgres_pool, unique_table};

use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    Authenticator, KeyFormat, KeyId, KeyManager, KeyRecord, KeyStore, OrganizationId, Permission,
    authenticator::AuthError,
    store::{CachedStore, InvalidationListener, PostgresStore, Updated},
    testing::{Method, TestStore},
};
use sqlx::PgPool;

const TTL: Duration = Duration::from_secs(60);
/// How soon another instance must see a change.
const PROPAGATION: Duration = Duration::from_secs(1);

/// A `PostgresStore` that counts lookups, to tell a cache hit from a read.
type Counted = TestStore<PostgresStore>;

/// One application instance: its own pool, a cache with a long TTL, and a listener.
struct Instance {
    pool: PgPool,
    counted: Counted,
    cache: CachedStore<Counted>,
    manager: KeyManager,
    listener: InvalidationListener,
}

impl Instance {
    async fn start(table: &str) -> Self {
        let pool = postgres_pool(4).await;
        let store = PostgresStore::new(pool.clone())
            .with_table_name(table)
            .unwrap();
        store.migrate().await.unwrap();
        let counted = TestStore::new(store.clone());
        let cache = CachedStore::new(counted.clone())
            .with_ttl(TTL)
            .with_negative_ttl(TTL);
        let listener = store.listen_invalidations(&cache).await.unwrap();
        let manager = KeyManager::new(Authenticator::new(cache.clone()));
        Self {
            pool,
            counted,
            cache,
            manager,
            listener,
        }
    }

    /// Polls this instance's cache until `done` holds for what it serves; returns how long that
    /// took.
    async fn wait_until(&self, id: KeyId, done: impl Fn(Option<&KeyRecord>) -> bool) -> Duration {
        common::served_within(&self.cache, id, done).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_instance_reaches_the_others_cache_within_a_second() {
    let table = unique_table("cache");
    let a = Instance::start(&table).await;
    let org = OrganizationId::from("org_1");
    let created = a
        .manager
        .create(&org, NewKey::new("shared", Permission::FullAccess))
        .await
        .unwrap();
    // Started after the creation, so that its announcement cannot empty B's cache later on.
    let b = Instance::start(&table).await;
    let key = created.key.expose_secret().to_owned();
    let id = created.info.id;

    // B's cache is warm: requests there no longer read the database.
    let auth_b = b.manager.authenticator();
    auth_b.authenticate(&key).await.unwrap();
    let reads = b.counted.calls(Method::Get);
    auth_b.authenticate(&key).await.unwrap();
    assert_eq!(b.counted.calls(Method::Get), reads);

    a.manager.revoke(&org, id).await.unwrap();
    let took = b
        .wait_until(id, |served| served.is_some_and(|r| r.revoked_at.is_some()))
        .await;
    assert!(took < PROPAGATION, "took {took:?}");
    assert!(matches!(
        auth_b.authenticate(&key).await,
        Err(AuthError::RevokedKey)
    ));
    assert!(!a.listener.is_finished() && !b.listener.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regeneration_and_updates_through_the_cache_reach_the_other_instance_too() {
    let table = unique_table("cache");
    let (a, b) = (Instance::start(&table).await, Instance::start(&table).await);
    let org = OrganizationId::from("org_1");
    let created = a
        .manager
        .create(&org, NewKey::new("rotated", Permission::ReadOnly))
        .await
        .unwrap();
    let id = created.info.id;
    let old_key = created.key.expose_secret().to_owned();
    b.manager
        .authenticator()
        .authenticate(&old_key)
        .await
        .unwrap();

    // Without a grace period the old secret stops working everywhere.
    let rotated = a.manager.regenerate(&org, id, None).await.unwrap();
    let new_digest = rotated.key.digest();
    let took = b
        .wait_until(id, |served| served.is_some_and(|r| r.digest == new_digest))
        .await;
    assert!(took < PROPAGATION, "took {took:?}");
    assert!(matches!(
        b.manager.authenticator().authenticate(&old_key).await,
        Err(AuthError::InvalidKey)
    ));

    // A write through the cache itself, not the manager, is announced the same way.
    let current = a.cache.get(&id).await.unwrap().unwrap();
    let mut upgraded = current.next_revision();
    upgraded.access = Permission::FullAccess.into();
    assert_eq!(
        a.cache.update(&upgraded, current.revision).await.unwrap(),
        Updated::Stored
    );
    let took = b
        .wait_until(id, |served| {
            served.is_some_and(|r| r.access == Permission::FullAccess)
        })
        .await;
    assert!(took < PROPAGATION, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_elsewhere_replaces_a_cached_miss() {
    let table = unique_table("cache");
    let (a, b) = (Instance::start(&table).await, Instance::start(&table).await);
    let key = KeyFormat::default().generate().unwrap();
    // B has been asked for this id before it existed (negative TTL: 60 s here).
    assert_eq!(b.cache.get(&key.id()).await.unwrap(), None);

    let record = KeyRecord::new(
        key.id(),
        OrganizationId::from("org_1"),
        "late",
        Permission::ReadOnly,
        key.digest(),
        std::time::SystemTime::now(),
    );
    a.cache.insert(&record, None).await.unwrap();
    let took = b.wait_until(key.id(), |served| served.is_some()).await;
    assert!(took < PROPAGATION, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_losing_its_connection_the_listener_drops_everything_and_keeps_listening() {
    let table = unique_table("cache");
    let a = Instance::start(&table).await;
    let org = OrganizationId::from("org_1");
    let created = a
        .manager
        .create(&org, NewKey::new("survivor", Permission::FullAccess))
        .await
        .unwrap();
    let b = Instance::start(&table).await;
    let id = created.info.id;
    b.cache.get(&id).await.unwrap();
    let reads = b.counted.calls(Method::Get);
    b.cache.get(&id).await.unwrap();
    assert_eq!(b.counted.calls(Method::Get), reads);

    // Kill the server side of both listeners' connections (the statement they last ran names
    // this test's table, so other tests' listeners are spared).
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'",
    )
    .bind(&table)
    .fetch_all(&a.pool)
    .await
    .unwrap();
    assert_eq!(killed, vec![true, true]);

    // Whatever was notified while it was down is lost, so B drops what it had cached...
    let start = Instant::now();
    while b.counted.calls(Method::Get) == reads {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B kept its cache"
        );
        b.cache.get(&id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ... and once subscribed again, hears about changes as before.
    a.manager.revoke(&org, id).await.unwrap();
    b.wait_until(id, |served| served.is_some_and(|r| r.revoked_at.is_some()))
        .await;
    assert!(!b.listener.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_the_listener_or_closing_the_pool_ends_it() {
    let table = unique_table("cache");
    let a = Instance::start(&table).await;
    let b = Instance::start(&table).await;

    a.listener.abort();
    b.pool.close().await;
    let start = Instant::now();
    while !(a.listener.is_finished() && b.listener.is_finished()) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a listener kept running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
