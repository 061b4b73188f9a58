//! Caches of several instances hearing each other's changes through Redis pub/sub
//! (`RedisInvalidation`): a change made through any of them reaches the others long before the
//! cache's time to live, with no PostgreSQL connection held open for it, and the listener
//! recovers from a lost connection as PostgreSQL's does.
//!
//! The tests that need Redis use the server in `FORMBOX_TEST_REDIS_URL` (`scripts/redis.sh`
//! starts one). Without the variable they say they are skipped and pass, except under CI (`CI`
//! set), where they fail. The test over PostgreSQL also needs the `postgres` feature and a server
//! in `FORMBOX_TEST_POSTGRES_URL`, without which it fails. The tests of an unreachable Redis and
//! of `Debug` need neither.
#![cfg(feature = "redis")]

use std::time::{Duration, Instant};

use crate::common::{
    self,
    databases::{closed_port, redis_url},
    proxy::{Failure, Proxy},
};
use formbox_auth::{
    Authenticator, KeyFormat, KeyId, KeyManager, KeyStore, MemoryStore, OrganizationId, Permission,
    authenticator::AuthError,
    lifecycle::NewKey,
    redis::{self, AsyncCommands},
    store::{
        Announcing, CachedStore, Inserted, InvalidationListener, OnListenerLoss, RedisInvalidation,
        Updated,
    },
    testing::{Method, TestStore},
};

const TTL: Duration = Duration::from_secs(60);
/// How soon another instance must see a change: far within the time to live, so that only an
/// announcement explains it.
const PROPAGATION: Duration = Duration::from_secs(2);

/// A store behind an instance's announcements, counting the reads that reach it.
type Counted<S> = TestStore<Announcing<S>>;

/// One application instance: a cache with a long time to live over `S`, its writes announced and
/// its cache listening on one Redis channel.
struct Instance<S: KeyStore> {
    counted: Counted<S>,
    cache: CachedStore<Counted<S>>,
    manager: KeyManager,
    listener: InvalidationListener,
}

impl<S: KeyStore> Instance<S> {
    async fn start(store: S, url: &str, channel: &str, on_loss: OnListenerLoss) -> Self {
        let invalidation = RedisInvalidation::new(url)
            .unwrap()
            .with_channel(channel)
            .unwrap();
        let counted = TestStore::new(invalidation.announcing(store));
        let cache = CachedStore::new(counted.clone())
            .with_ttl(TTL)
            .with_negative_ttl(TTL);
        let listener = invalidation.listen_with(&cache, on_loss).await.unwrap();
        let manager = KeyManager::new(Authenticator::new(cache.clone()));
        Self {
            counted,
            cache,
            manager,
            listener,
        }
    }

    /// Reads that reached the store.
    fn reads(&self) -> usize {
        self.counted.calls(Method::Get)
    }

    /// Caches `id`, and checks that it is served from the cache from then on.
    async fn warm(&self, id: KeyId) {
        self.cache.get(&id).await.unwrap();
        let reads = self.reads();
        self.cache.get(&id).await.unwrap();
        assert_eq!(self.reads(), reads, "the cache did not keep {id}");
    }

    /// Polls the cache until a lookup of `id` reads the store again: the cache was emptied.
    async fn until_emptied(&self, id: KeyId, within: Duration) -> Duration {
        let (start, reads) = (Instant::now(), self.reads());
        loop {
            self.cache.get(&id).await.unwrap();
            if self.reads() > reads {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < within,
                "the cache was not emptied within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A channel no other test, nor an earlier run, uses.
fn unique_channel() -> String {
    format!("formbox-test:{}", new_id())
}

fn new_id() -> KeyId {
    KeyFormat::default().generate().unwrap().id()
}

fn org() -> OrganizationId {
    OrganizationId::from("org_1")
}

/// A plain connection, to publish what no instance would.
async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The test server's `HOST:PORT`, for a proxy in front of it.
fn host_and_port(url: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    client.get_connection_info().addr().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_instance_reaches_the_others_cache_through_redis() {
    let Some(url) = redis_url("a_revocation_through_one_instance_reaches") else {
        return;
    };
    let (store, channel) = (MemoryStore::new(), unique_channel());
    let keep = OnListenerLoss::KeepUntilExpiry;
    let a = Instance::start(store.clone(), &url, &channel, keep).await;
    let created = a
        .manager
        .create(&org(), NewKey::new("shared", Permission::FullAccess))
        .await
        .unwrap();
    // Started after the creation, so that its announcement cannot empty B's cache later on.
    let b = Instance::start(store, &url, &channel, keep).await;
    let (key, id) = (created.key.expose_secret().to_owned(), created.info.id);
    let auth_b = b.manager.authenticator();
    auth_b.authenticate(&key).await.unwrap();
    b.warm(id).await;

    a.manager.revoke(&org(), id).await.unwrap();
    let took = common::served_within(&b.cache, id, |served| {
        served.is_some_and(|r| r.revoked_at.is_some())
    })
    .await;
    assert!(took < PROPAGATION, "took {took:?}");
    assert!(matches!(
        auth_b.authenticate(&key).await,
        Err(AuthError::RevokedKey)
    ));
    assert!(!a.listener.is_finished() && !b.listener.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_elsewhere_replaces_a_cached_miss() {
    let Some(url) = redis_url("a_key_created_elsewhere_replaces_a_cached_miss") else {
        return;
    };
    let (store, channel) = (MemoryStore::new(), unique_channel());
    let keep = OnListenerLoss::KeepUntilExpiry;
    let a = Instance::start(store.clone(), &url, &channel, keep).await;
    let b = Instance::start(store, &url, &channel, keep).await;
    let record = common::record("org_1", "late", std::time::SystemTime::now());
    // B has been asked for this id before it existed (negative time to live: 60 s here).
    assert_eq!(b.cache.get(&record.id).await.unwrap(), None);

    assert_eq!(
        a.cache.insert(&record, None).await.unwrap(),
        Inserted::Stored
    );
    let took = common::served_within(&b.cache, record.id, |served| served.is_some()).await;
    assert!(took < PROPAGATION, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_is_not_a_key_id_drops_every_cached_key() {
    let Some(url) = redis_url("a_message_that_is_not_a_key_id") else {
        return;
    };
    let channel = unique_channel();
    let instance = Instance::start(MemoryStore::new(), &url, &channel, Default::default()).await;
    let (_, record) = common::issue_key(&instance.cache, "org_1", Permission::ReadOnly).await;
    instance.warm(record.id).await;

    let heard: i64 = connect(&url)
        .await
        .publish(&channel, "not a key id")
        .await
        .unwrap();
    assert_eq!(heard, 1, "one listener is subscribed");
    instance.until_emptied(record.id, PROPAGATION).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_empties_the_cache_once_subscribed() {
    let Some(url) = redis_url("listening_empties_the_cache_once_subscribed") else {
        return;
    };
    let counted = TestStore::new(MemoryStore::new());
    let cache = CachedStore::new(counted.clone()).with_ttl(TTL);
    let (_, record) = common::issue_key(&cache, "org_1", Permission::ReadOnly).await;
    cache.get(&record.id).await.unwrap();
    let reads = counted.calls(Method::Get);
    cache.get(&record.id).await.unwrap();
    assert_eq!(counted.calls(Method::Get), reads);

    // What was cached before may have changed unannounced.
    let invalidation = RedisInvalidation::new(&url)
        .unwrap()
        .with_channel(&unique_channel())
        .unwrap();
    let _listener = invalidation.listen(&cache).await.unwrap();
    cache.get(&record.id).await.unwrap();
    assert_eq!(counted.calls(Method::Get), reads + 1);
}

/// Two instances on one store: A writes through Redis directly, B listens through a proxy that
/// cuts its subscription when told. Returns them with the proxy, and a key B has cached.
async fn behind_a_proxy(
    url: &str,
    failure: Failure,
    on_loss: OnListenerLoss,
) -> (Instance<MemoryStore>, Instance<MemoryStore>, Proxy, KeyId) {
    let (store, channel) = (MemoryStore::new(), unique_channel());
    let proxy = Proxy::start(host_and_port(url), failure).await;
    let through_proxy = format!("redis://127.0.0.1:{}", proxy.port());
    let a = Instance::start(store.clone(), url, &channel, on_loss).await;
    let created = a
        .manager
        .create(&org(), NewKey::new("survivor", Permission::FullAccess))
        .await
        .unwrap();
    let b = Instance::start(store, &through_proxy, &channel, on_loss).await;
    let id = created.info.id;
    b.warm(id).await;
    (a, b, proxy, id)
}

/// Waits until the proxy has turned away an attempt to subscribe again: the listener has noticed
/// the loss, and done what it does about it.
async fn until_resubscribing(proxy: &Proxy) {
    let start = Instant::now();
    while proxy.counts().1 == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the listener never tried to subscribe again"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Once the proxy forwards again, the listener subscribes again and empties the cache once, then
/// hears announcements as before.
async fn recovers(a: &Instance<MemoryStore>, b: &Instance<MemoryStore>, proxy: &Proxy, id: KeyId) {
    b.warm(id).await;
    proxy.recover().await;
    b.until_emptied(id, Duration::from_secs(5)).await;
    // Once: a second emptying would come within the longest pause between attempts.
    b.warm(id).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let reads = b.reads();
    b.cache.get(&id).await.unwrap();
    assert_eq!(b.reads(), reads, "the cache was emptied more than once");

    a.manager.revoke(&org(), id).await.unwrap();
    let took = common::served_within(&b.cache, id, |served| {
        served.is_some_and(|r| r.revoked_at.is_some())
    })
    .await;
    assert!(took < PROPAGATION, "took {took:?}");
    assert!(!b.listener.is_finished());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_subscription_with_drop_all_empties_the_cache_until_subscribed_again() {
    let Some(url) = redis_url("losing_the_subscription_with_drop_all") else {
        return;
    };
    let (a, b, proxy, id) = behind_a_proxy(&url, Failure::Cut, OnListenerLoss::DropAll).await;

    proxy.fail().await;
    until_resubscribing(&proxy).await;
    let reads = b.reads();
    b.cache.get(&id).await.unwrap();
    assert_eq!(b.reads(), reads + 1, "the cache kept the key while deaf");

    // Read again while still deaf: emptied again before the next attempt, within 500 ms.
    b.warm(id).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let reads = b.reads();
    b.cache.get(&id).await.unwrap();
    assert_eq!(b.reads(), reads + 1, "a key read while deaf stayed cached");

    recovers(&a, &b, &proxy, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_subscription_by_default_keeps_the_cache_until_subscribed_again() {
    let Some(url) = redis_url("losing_the_subscription_by_default") else {
        return;
    };
    let keep = OnListenerLoss::KeepUntilExpiry;
    let (a, b, proxy, id) = behind_a_proxy(&url, Failure::Cut, keep).await;

    proxy.fail().await;
    until_resubscribing(&proxy).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reads = b.reads();
    b.cache.get(&id).await.unwrap();
    assert_eq!(
        b.reads(),
        reads,
        "the cache was emptied while the listener was away"
    );

    recovers(&a, &b, &proxy, id).await;
}

/// A connection that stays open but carries nothing (a NAT that forgot the flow) reports no
/// error: the listener's `PING` goes unanswered, which counts as a loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_that_silently_stops_answering_counts_as_lost() {
    let Some(url) = redis_url("a_subscription_that_silently_stops_answering") else {
        return;
    };
    let (a, b, proxy, id) = behind_a_proxy(&url, Failure::Stall, OnListenerLoss::DropAll).await;

    proxy.fail().await;
    // A ping every 10 s, given 5 s to answer.
    let took = b.until_emptied(id, Duration::from_secs(25)).await;
    eprintln!("redis_invalidation: a silent connection was noticed after {took:?}");

    recovers(&a, &b, &proxy, id).await;
}

#[tokio::test]
async fn an_unreachable_redis_fails_no_write() {
    let unreachable = format!("redis://127.0.0.1:{}", closed_port());
    let invalidation = RedisInvalidation::new(&unreachable).unwrap();
    let store = MemoryStore::new();
    let announcing = invalidation.announcing(store.clone());

    let start = Instant::now();
    let (_, record) = common::issue_key(&announcing, "org_1", Permission::ReadOnly).await;
    let mut revoked = record.next_revision();
    revoked.revoked_at = Some(common::whole_micros(std::time::SystemTime::now()));
    assert_eq!(
        announcing.update(&revoked, record.revision).await.unwrap(),
        Updated::Stored
    );
    // The write has happened: no wait for a Redis that cannot take its announcement.
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(store.get(&record.id).await.unwrap(), Some(revoked));

    // Nor through a manager, over the instance's cache.
    let manager = KeyManager::new(CachedStore::new(announcing));
    let created = manager
        .create(&org(), NewKey::new("offline", Permission::ReadOnly))
        .await
        .unwrap();
    manager.revoke(&org(), created.info.id).await.unwrap();
}

#[tokio::test]
async fn listening_fails_when_redis_cannot_be_reached() {
    let unreachable = format!("redis://127.0.0.1:{}", closed_port());
    let cache = CachedStore::new(MemoryStore::new());
    let invalidation = RedisInvalidation::new(&unreachable).unwrap();
    assert!(invalidation.listen(&cache).await.is_err());
}

#[test]
fn debug_and_errors_never_show_the_password_of_the_url() {
    let invalidation = RedisInvalidation::new("redis://app:s3cret-pass@127.0.0.1:6390/3")
        .unwrap()
        .with_channel("forms:keys")
        .unwrap();
    for shown in [
        format!("{invalidation:?}"),
        format!("{:?}", invalidation.announcing(MemoryStore::new())),
    ] {
        assert!(!shown.contains("s3cret-pass"), "{shown}");
        assert!(shown.contains("forms:keys"), "{shown}");
    }
    assert!(format!("{invalidation:?}").contains("127.0.0.1:6390"));

    let refused = RedisInvalidation::new("redis://app:s3cret-pass@[::1").unwrap_err();
    assert!(!refused.to_string().contains("s3cret-pass"), "{refused}");
    assert!(invalidation.with_channel("forms keys").is_err());
}

/// Over PostgreSQL, each instance's cache hears the others through Redis, and no instance holds a
/// `LISTEN` connection: every connection of its pool serves queries.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_postgresql_instances_hear_each_other_with_no_listen_connection() {
    use crate::common::databases::{postgres_pool, unique_table};
    use formbox_auth::store::PostgresStore;

    let Some(url) = redis_url("over_postgresql_instances_hear_each_other") else {
        return;
    };
    let (table, channel) = (unique_table("redis_invalidation"), unique_channel());
    let keep = OnListenerLoss::KeepUntilExpiry;
    let open = || async {
        let pool = postgres_pool(4).await;
        let store = PostgresStore::new(pool.clone())
            .with_table_name(&table)
            .unwrap();
        store.migrate().await.unwrap();
        (pool, store)
    };
    let (pool, store) = open().await;
    let a = Instance::start(store, &url, &channel, keep).await;
    let created = a
        .manager
        .create(&org(), NewKey::new("shared", Permission::FullAccess))
        .await
        .unwrap();
    let (_, store) = open().await;
    let b = Instance::start(store, &url, &channel, keep).await;
    let id = created.info.id;
    b.warm(id).await;

    a.manager.revoke(&org(), id).await.unwrap();
    let took = common::served_within(&b.cache, id, |served| {
        served.is_some_and(|r| r.revoked_at.is_some())
    })
    .await;
    assert!(took < PROPAGATION, "took {took:?}");

    // A PostgreSQL listener's connection last ran `LISTEN "<table>"`.
    let listening: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE query ILIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'",
    )
    .bind(&table)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(listening, 0, "a LISTEN connection is open for {table}");
}
