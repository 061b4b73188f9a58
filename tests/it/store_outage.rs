//! Real database outages in the middle of a run, through the layer.
//!
//! While the database is gone, every request with a well-formed key that needs the store is
//! answered `503 key_store_unavailable` within the store timeout and never reaches the service;
//! a usage flush fails and keeps its batch. When the database is back, the same store and pool
//! serve requests again by themselves, and the next flush writes the pending last-used times.
//! A [`CachedStore`] keeps serving the keys it holds, while keys it does not hold still fail
//! closed.
//!
//! - SQLite (feature `sqlite`): another connection holds an exclusive lock on the database file,
//!   and the store's pool gives up waiting for it after 100 ms (`SQLITE_BUSY`). In WAL mode the
//!   same lock only blocks writers: requests keep working and only last-used writes fail.
//! - PostgreSQL (feature `postgres`, a server in `FORMBOX_TEST_POSTGRES_URL`; without it these
//!   tests fail): the pool connects through a TCP proxy in this file. During the outage the proxy
//!   either closes every connection and turns new ones away, as when the server crashed, or keeps
//!   them open and lets nothing through, as a network that drops packets does (then the store
//!   timeout answers each request); afterwards it forwards again. By default a cache with an
//!   invalidation listener keeps serving the keys it holds through the outage, while keys it does
//!   not hold, and key management, fail closed within the default store timeout; once the
//!   listener has subscribed again, it drops the cache once, so that a revocation made elsewhere
//!   meanwhile takes effect, and revocations are heard at once again. With
//!   `OnListenerLoss::DropAll` the cache is emptied when the connection is lost, so even the keys
//!   it held fail closed.
//!
//! Each test prints its request counts and timings to stderr (`cargo test -- --nocapture` shows
//! them).
#![cfg(all(feature = "tokio", any(feature = "sqlite", feature = "postgres")))]

use crate::common;

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use common::{assert_rejected, counting_service, issue_key};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    Authenticator, KeyFormat, KeyId, KeyManager, KeyRecord, KeyStore, Permission,
    store::{CachedStore, StoreError},
};
use http::{Request, Response, StatusCode};
use tower::{Layer, ServiceExt, util::BoxCloneService};

/// How long the authenticator waits for one store read.
const STORE_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest a request or a flush may take while the database is gone.
const PROMPT: Duration = Duration::from_secs(3);
/// Longest the database may take to be usable again once the outage has ended.
const RECOVERY: Duration = Duration::from_secs(10);
/// Requests per key in each phase.
const ROUNDS: usize = 10;
/// Concurrent requests sent at once during the outage.
const BURST: usize = 16;

/// A way to take the database away and give it back.
trait Outage {
    /// Returns once the database is unusable.
    async fn begin(&mut self);
    /// Returns once the database is usable again.
    async fn end(&mut self);
    /// Checks that a store call made during the outage failed the way this outage fails.
    fn check_error(&self, error: &StoreError);
    /// Requests per key during the outage: fewer where each one waits for the store timeout.
    fn rounds(&self) -> usize {
        ROUNDS
    }
}

/// What a request must be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// 200 from the inner service.
    Ok,
    /// 503 `key_store_unavailable`.
    Unavailable,
    /// 401 `invalid_api_key`.
    Invalid,
}

type Service = BoxCloneService<Request<String>, Response<String>, Infallible>;

#[derive(Debug, Default)]
struct Tally {
    tried: usize,
    ok: usize,
    unavailable: usize,
    invalid: usize,
    wrongly_accepted: usize,
    /// 503s while waiting for the database to come back, included in `unavailable`.
    unavailable_while_recovering: usize,
    slowest_during_outage: Duration,
}

/// A manager over the store under test, its layer around a counting service, and the counts.
struct Harness {
    test: &'static str,
    manager: KeyManager,
    service: Service,
    calls: Arc<AtomicUsize>,
    tally: Tally,
    started: SystemTime,
    reported: bool,
}

impl Drop for Harness {
    fn drop(&mut self) {
        // A failed test shows how far it got.
        if !self.reported {
            eprintln!("store_outage {}: stopped with {:?}", self.test, self.tally);
        }
    }
}

impl Harness {
    /// With this file's [`STORE_TIMEOUT`].
    fn new(test: &'static str, store: impl KeyStore) -> Self {
        let authenticator = Authenticator::new(store).with_store_timeout(STORE_TIMEOUT);
        Self::with_authenticator(test, authenticator)
    }

    /// The manager shares `authenticator`, and so its store and store timeout.
    fn with_authenticator(test: &'static str, authenticator: Authenticator) -> Self {
        let manager = KeyManager::new(authenticator);
        let (inner, calls) = counting_service();
        let service = BoxCloneService::new(
            ApiKeyAuthLayer::new(manager.authenticator().clone()).layer(inner),
        );
        Self {
            test,
            manager,
            service,
            calls,
            tally: Tally::default(),
            started: SystemTime::now(),
            reported: false,
        }
    }

    fn pending(&self) -> usize {
        self.manager.authenticator().pending_usage()
    }

    /// Sends one request and returns its response and how long it took; fails the test if no
    /// answer comes within [`PROMPT`].
    async fn send(&mut self, key: &str) -> (Response<String>, Duration) {
        let (response, took) = timed_request(self.service.clone(), key.to_owned()).await;
        self.count(&response);
        (response, took)
    }

    fn count(&mut self, response: &Response<String>) {
        self.tally.tried += 1;
        match response.status() {
            StatusCode::OK => self.tally.ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => self.tally.unavailable += 1,
            StatusCode::UNAUTHORIZED => self.tally.invalid += 1,
            _ => {}
        }
    }

    /// Checks one answer against what it must be.
    fn check(&mut self, response: &Response<String>, want: Want) {
        if response.status() == StatusCode::OK && want != Want::Ok {
            self.tally.wrongly_accepted += 1;
        }
        match want {
            Want::Ok => assert_eq!(response.status(), StatusCode::OK, "{}", response.body()),
            Want::Unavailable => assert_rejected(
                response,
                StatusCode::SERVICE_UNAVAILABLE,
                "key_store_unavailable",
            ),
            Want::Invalid => assert_rejected(response, StatusCode::UNAUTHORIZED, "invalid_api_key"),
        }
        // The inner service ran exactly for the accepted requests, never for a rejected one.
        assert_eq!(self.calls.load(Ordering::SeqCst), self.tally.ok);
    }

    async fn expect(&mut self, key: &str, want: Want) {
        let (response, _) = self.send(key).await;
        self.check(&response, want);
    }

    /// Like [`expect`](Self::expect) during the outage, where answers must be prompt; returns
    /// how long the answer took.
    async fn expect_during_outage(&mut self, key: &str, want: Want) -> Duration {
        let (response, took) = self.send(key).await;
        self.tally.slowest_during_outage = self.tally.slowest_during_outage.max(took);
        self.check(&response, want);
        took
    }

    /// Sends [`BURST`] requests at once, cycling through `requests`.
    async fn burst_during_outage(&mut self, requests: &[(&str, Want)]) {
        let mut tasks = tokio::task::JoinSet::new();
        for (key, want) in requests.iter().cycle().take(BURST) {
            let service = self.service.clone();
            let key = (*key).to_owned();
            let want = *want;
            tasks.spawn(async move { (timed_request(service, key).await, want) });
        }
        let mut answers = Vec::new();
        while let Some(answer) = tasks.join_next().await {
            answers.push(answer.unwrap());
        }
        for ((response, took), _) in &answers {
            self.count(response);
            self.tally.slowest_during_outage = self.tally.slowest_during_outage.max(*took);
        }
        for ((response, _), want) in &answers {
            self.check(response, *want);
        }
    }

    /// Sends `key` until it is accepted; anything but 503 on the way fails the test. Returns how
    /// many requests that took.
    async fn until_accepted(&mut self, key: &str) -> usize {
        let start = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (response, _) = self.send(key).await;
            if response.status() == StatusCode::OK {
                self.check(&response, Want::Ok);
                return attempts;
            }
            self.tally.unavailable_while_recovering += 1;
            self.check(&response, Want::Unavailable);
            assert!(
                start.elapsed() < RECOVERY,
                "requests did not recover within {RECOVERY:?} after the outage ended"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A store read made directly during the outage fails the way the outage fails.
    fn store_read_failed(&self, outage: &impl Outage, read: Result<Option<KeyRecord>, StoreError>) {
        let error = read.expect_err("a store read during the outage succeeded");
        outage.check_error(&error);
        eprintln!(
            "store_outage {}: a store read during the outage: {error}",
            self.test
        );
    }

    /// A flush during the outage fails promptly and keeps every pending last-used time.
    async fn flush_fails_and_keeps(&self, pending: usize) {
        assert_eq!(self.pending(), pending);
        let start = Instant::now();
        let flushed = tokio::time::timeout(PROMPT, self.manager.authenticator().flush_usage())
            .await
            .expect("a flush during the outage hung");
        let error = flushed.expect_err("a flush during the outage succeeded");
        eprintln!(
            "store_outage {}: a flush during the outage failed after {:?}: {error}",
            self.test,
            start.elapsed()
        );
        assert_eq!(
            self.pending(),
            pending,
            "a failed flush lost last-used times"
        );
    }

    /// The next flush writes every pending key, and the store then has a last-used time for each
    /// of `ids`, from this run.
    async fn flush_writes(&self, raw: &impl KeyStore, ids: &[KeyId]) {
        for id in ids {
            let record = raw.get(id).await.unwrap().unwrap();
            assert_eq!(
                record.last_used_at, None,
                "{id} has a last use before the flush"
            );
        }
        assert_eq!(
            self.manager.authenticator().flush_usage().await.unwrap(),
            ids.len()
        );
        assert_eq!(self.pending(), 0);
        let (earliest, latest) = (
            self.started - Duration::from_secs(1),
            SystemTime::now() + Duration::from_secs(1),
        );
        for id in ids {
            let record = raw.get(id).await.unwrap().unwrap();
            let used = record
                .last_used_at
                .unwrap_or_else(|| panic!("{id} lost its last use"));
            assert!(earliest <= used && used <= latest, "{id}: {used:?}");
        }
    }

    /// Prints the counts; `recovery_attempts` is how many requests it took to be accepted again
    /// after the outage, if requests were refused during it.
    fn report(&mut self, recovery_attempts: Option<usize>) {
        self.reported = true;
        let t = &self.tally;
        let recovery = recovery_attempts.map_or_else(String::new, |attempts| {
            format!("; accepted again at attempt {attempts} after the outage")
        });
        eprintln!(
            "store_outage {}: {} requests tried, {} x 200, {} x 503 ({} while recovering), \
             {} x 401, {} wrongly accepted; slowest answer during the outage {:?}{recovery}",
            self.test,
            t.tried,
            t.ok,
            t.unavailable,
            t.unavailable_while_recovering,
            t.invalid,
            t.wrongly_accepted,
            t.slowest_during_outage,
        );
        assert_eq!(t.wrongly_accepted, 0);
    }
}

async fn timed_request(service: Service, key: String) -> (Response<String>, Duration) {
    let request = Request::get("/v1/forms")
        .header("api-key", key)
        .body(String::new())
        .unwrap();
    let start = Instant::now();
    let response = tokio::time::timeout(PROMPT, service.oneshot(request))
        .await
        .unwrap_or_else(|_| panic!("no answer within {PROMPT:?}"))
        .unwrap();
    (response, start.elapsed())
}

/// A well-formed key that no store knows.
fn unknown_key() -> String {
    KeyFormat::default()
        .generate()
        .unwrap()
        .expose_secret()
        .to_owned()
}

/// Through an uncached store: before, during and after an outage.
async fn uncached_outage<S>(test: &'static str, store: S, outage: &mut impl Outage)
where
    S: KeyStore + Clone,
{
    let (full, full_record) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let (read, read_record) = issue_key(&store, "org_b", Permission::ReadOnly).await;
    let (full, read, unknown) = (
        full.expose_secret().to_owned(),
        read.expose_secret().to_owned(),
        unknown_key(),
    );
    let mut h = Harness::new(test, store.clone());

    // Before the outage.
    h.expect(&full, Want::Ok).await;
    h.expect(&read, Want::Ok).await;
    h.expect(&unknown, Want::Invalid).await;
    assert_eq!(h.pending(), 2);

    outage.begin().await;
    h.store_read_failed(outage, store.get(&full_record.id).await);
    for _ in 0..outage.rounds() {
        for key in [&full, &read, &unknown] {
            h.expect_during_outage(key, Want::Unavailable).await;
        }
    }
    h.burst_during_outage(&[
        (&full, Want::Unavailable),
        (&read, Want::Unavailable),
        (&unknown, Want::Unavailable),
    ])
    .await;
    h.flush_fails_and_keeps(2).await;

    // After: the same manager, store and pool.
    outage.end().await;
    let attempts = h.until_accepted(&full).await;
    for _ in 0..ROUNDS {
        h.expect(&full, Want::Ok).await;
        h.expect(&read, Want::Ok).await;
        h.expect(&unknown, Want::Invalid).await;
    }
    h.flush_writes(&store, &[full_record.id, read_record.id])
        .await;
    h.report(Some(attempts));
}

/// Through a [`CachedStore`]: a key it holds keeps working during the outage, keys it does not
/// hold fail closed.
async fn cached_outage<S>(test: &'static str, store: S, outage: &mut impl Outage)
where
    S: KeyStore + Clone,
{
    let (hot, hot_record) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let (cold, cold_record) = issue_key(&store, "org_b", Permission::ReadOnly).await;
    // The hot key's id with another secret: the cached record must not let it in.
    let wrong_secret = KeyFormat::default()
        .generate_for(hot_record.id)
        .unwrap()
        .expose_secret()
        .to_owned();
    let (hot, cold, known_missing, unknown) = (
        hot.expose_secret().to_owned(),
        cold.expose_secret().to_owned(),
        unknown_key(),
        unknown_key(),
    );
    let cache = CachedStore::new(store.clone())
        .with_ttl(Duration::from_secs(60))
        .with_negative_ttl(Duration::from_secs(60));
    let mut h = Harness::new(test, cache.clone());

    // Before the outage the hot key and a missing key are looked up, so the cache holds both.
    h.expect(&hot, Want::Ok).await;
    h.expect(&known_missing, Want::Invalid).await;
    assert_eq!(h.pending(), 1);

    outage.begin().await;
    h.store_read_failed(outage, cache.get(&cold_record.id).await);
    for _ in 0..outage.rounds() {
        h.expect_during_outage(&hot, Want::Ok).await;
        h.expect_during_outage(&wrong_secret, Want::Invalid).await;
        h.expect_during_outage(&known_missing, Want::Invalid).await;
        h.expect_during_outage(&cold, Want::Unavailable).await;
        h.expect_during_outage(&unknown, Want::Unavailable).await;
    }
    h.burst_during_outage(&[
        (&hot, Want::Ok),
        (&cold, Want::Unavailable),
        (&unknown, Want::Unavailable),
        (&wrong_secret, Want::Invalid),
    ])
    .await;
    // The hot key was used during the outage too; its last use is what is pending.
    h.flush_fails_and_keeps(1).await;

    outage.end().await;
    let attempts = h.until_accepted(&cold).await;
    for _ in 0..ROUNDS {
        h.expect(&hot, Want::Ok).await;
        h.expect(&cold, Want::Ok).await;
        h.expect(&wrong_secret, Want::Invalid).await;
        h.expect(&unknown, Want::Invalid).await;
    }
    h.flush_writes(cache.get_ref(), &[hot_record.id, cold_record.id])
        .await;
    h.report(Some(attempts));
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;

    use formbox_auth::{
        sqlx::{
            self, Connection, SqliteConnection,
            sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
        },
        store::SqliteStore,
    };

    use super::*;

    /// How long the store's connections wait for a lock before giving up.
    const BUSY_TIMEOUT: Duration = Duration::from_millis(100);

    fn options(path: &Path, journal_mode: SqliteJournalMode) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(journal_mode)
    }

    /// A migrated store in a new file, its pool's connections waiting [`BUSY_TIMEOUT`] for
    /// locks, and the outage that locks it.
    async fn setup(
        journal_mode: SqliteJournalMode,
    ) -> (SqliteStore, ExclusiveLock, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(1))
            .connect_with(options(&path, journal_mode).busy_timeout(BUSY_TIMEOUT))
            .await
            .unwrap();
        let store = SqliteStore::new(pool);
        store.migrate().await.unwrap();
        let lock = ExclusiveLock {
            options: options(&path, journal_mode),
            holder: None,
        };
        (store, lock, dir)
    }

    /// Another connection to the same file in an exclusive transaction, as a long migration,
    /// a backup tool or another process does.
    struct ExclusiveLock {
        options: SqliteConnectOptions,
        holder: Option<SqliteConnection>,
    }

    impl Outage for ExclusiveLock {
        async fn begin(&mut self) {
            let mut connection = SqliteConnection::connect_with(&self.options).await.unwrap();
            sqlx::raw_sql("BEGIN EXCLUSIVE")
                .execute(&mut connection)
                .await
                .unwrap();
            self.holder = Some(connection);
        }

        async fn end(&mut self) {
            let mut connection = self.holder.take().expect("no outage to end");
            sqlx::raw_sql("ROLLBACK")
                .execute(&mut connection)
                .await
                .unwrap();
            connection.close().await.unwrap();
        }

        fn check_error(&self, error: &StoreError) {
            assert!(
                matches!(error, StoreError::Backend(_)) && error.to_string().contains("locked"),
                "expected SQLITE_BUSY, got {error}"
            );
        }
    }

    /// With a rollback journal (SQLite's default), an exclusive transaction keeps readers out too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_locked_by_another_connection_fails_closed_and_recovers() {
        let (store, mut lock, _dir) = setup(SqliteJournalMode::Delete).await;
        let pool = store.pool().clone();
        uncached_outage("sqlite/uncached", store, &mut lock).await;
        assert!(!pool.is_closed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_locked_behind_a_cache_serves_cached_keys_and_fails_closed_for_others() {
        let (store, mut lock, _dir) = setup(SqliteJournalMode::Delete).await;
        cached_outage("sqlite/cached", store, &mut lock).await;
    }

    /// In WAL mode readers never wait for the writer: the same exclusive transaction stops only
    /// the last-used writes, which fail without losing anything.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_wal_write_lock_keeps_requests_working_and_only_delays_last_used_times() {
        let (store, mut lock, _dir) = setup(SqliteJournalMode::Wal).await;
        let (key, record) = issue_key(&store, "org_a", Permission::FullAccess).await;
        let (key, unknown) = (key.expose_secret().to_owned(), unknown_key());
        let mut h = Harness::new("sqlite/wal-write-lock", store.clone());
        h.expect(&key, Want::Ok).await;

        lock.begin().await;
        for _ in 0..ROUNDS {
            h.expect_during_outage(&key, Want::Ok).await;
            h.expect_during_outage(&unknown, Want::Invalid).await;
        }
        h.burst_during_outage(&[(&key, Want::Ok), (&unknown, Want::Invalid)])
            .await;
        h.flush_fails_and_keeps(1).await;
        h.flush_fails_and_keeps(1).await;

        lock.end().await;
        h.expect(&key, Want::Ok).await;
        h.flush_writes(&store, &[record.id]).await;
        h.report(None);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::common::{
        databases::{postgres_url, unique_table},
        proxy::{Failure, Proxy},
    };
    use formbox_auth::{
        OrganizationId,
        lifecycle::{ManageError, ManageResult},
        sqlx::postgres::{PgConnectOptions, PgPoolOptions},
        store::{CachedLookup, InvalidationListener, OnListenerLoss, PostgresStore},
    };

    impl Outage for Proxy {
        async fn begin(&mut self) {
            self.fail().await;
        }

        async fn end(&mut self) {
            self.recover().await;
        }

        fn check_error(&self, error: &StoreError) {
            match self.failure() {
                Failure::Cut => assert!(
                    matches!(error, StoreError::Backend(_)),
                    "expected a connection error, got {error}"
                ),
                // The pool's acquire timeout: no connection answered its check in time.
                Failure::Stall => assert!(
                    matches!(error, StoreError::Timeout),
                    "expected a timeout, got {error}"
                ),
            }
        }

        fn rounds(&self) -> usize {
            match self.failure() {
                Failure::Cut => ROUNDS,
                // Every request there waits for the store timeout.
                Failure::Stall => 2,
            }
        }
    }

    /// A migrated store in a table of its own, its pool connected through a new proxy.
    async fn setup(failure: Failure) -> (PostgresStore, Proxy) {
        let options: PgConnectOptions = postgres_url()
            .parse()
            .expect("FORMBOX_TEST_POSTGRES_URL is not a PostgreSQL URL");
        let (host, port) = (options.get_host().to_owned(), options.get_port());
        assert!(
            !host.starts_with('/'),
            "FORMBOX_TEST_POSTGRES_URL must name a TCP host, not the socket directory {host}"
        );
        let proxy = Proxy::start(format!("{host}:{port}"), failure).await;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            // Bounds how long a flush waits for a connection that will not come.
            .acquire_timeout(Duration::from_secs(1))
            // Connections the outage closed are found dead and replaced, not handed out.
            .test_before_acquire(true)
            .connect_with(options.host("127.0.0.1").port(proxy.port()))
            .await
            .unwrap_or_else(|error| panic!("cannot connect to FORMBOX_TEST_POSTGRES_URL: {error}"));
        let store = PostgresStore::new(pool)
            .with_table_name(&unique_table("outage"))
            .unwrap();
        store.migrate().await.unwrap();
        (store, proxy)
    }

    fn report_proxy(test: &str, proxy: &Proxy) {
        let (forwarded, turned_away) = proxy.counts();
        eprintln!(
            "store_outage {test}: the proxy forwarded {forwarded} connections and turned away \
             {turned_away} during the outage"
        );
        assert!(turned_away > 0, "the pool never tried to reconnect");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_connection_loss_fails_closed_and_recovers() {
        let (store, mut proxy) = setup(Failure::Cut).await;
        let pool = store.pool().clone();
        uncached_outage("postgres/cut/uncached", store, &mut proxy).await;
        assert!(!pool.is_closed());
        report_proxy("postgres/cut/uncached", &proxy);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_connection_loss_behind_a_cache_serves_cached_keys_and_fails_closed_for_others()
     {
        let (store, mut proxy) = setup(Failure::Cut).await;
        cached_outage("postgres/cut/cached", store, &mut proxy).await;
        report_proxy("postgres/cut/cached", &proxy);
    }

    /// Nothing comes back: the store timeout answers each request, the pool's acquire timeout
    /// ends the flush.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_silent_network_answers_within_the_store_timeout_and_recovers() {
        let (store, mut proxy) = setup(Failure::Stall).await;
        let pool = store.pool().clone();
        uncached_outage("postgres/stall/uncached", store, &mut proxy).await;
        assert!(!pool.is_closed());
        report_proxy("postgres/stall/uncached", &proxy);
    }

    /// How long the database stays away in the test of a listening cache's defaults.
    const OUTAGE: Duration = Duration::from_secs(5);
    /// Longest a `503` may take with the default store timeout
    /// ([`Authenticator::DEFAULT_STORE_TIMEOUT`]): the timeout, and room for a loaded machine.
    const DEFAULT_PROMPT: Duration = Duration::from_millis(2_500);
    /// Longest a revocation made through another instance may take to reach a listening cache.
    const HEARD: Duration = Duration::from_secs(1);

    impl Harness {
        /// With the authenticator's default settings, its store timeout included.
        fn with_defaults(test: &'static str, store: impl KeyStore) -> Self {
            let authenticator = Authenticator::new(store);
            assert_eq!(
                authenticator.store_timeout(),
                Some(Authenticator::DEFAULT_STORE_TIMEOUT)
            );
            Self::with_authenticator(test, authenticator)
        }

        /// Sends `key`, accepted until then, until it is rejected as revoked; returns how long
        /// that took, which must be less than `within`.
        async fn until_revoked(&mut self, key: &str, within: Duration) -> Duration {
            let start = Instant::now();
            loop {
                let (response, _) = self.send(key).await;
                if response.status() == StatusCode::UNAUTHORIZED {
                    assert_rejected(&response, StatusCode::UNAUTHORIZED, "revoked_api_key");
                    return start.elapsed();
                }
                self.check(&response, Want::Ok);
                assert!(
                    start.elapsed() < within,
                    "the revocation did not reach the cache within {within:?}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }

        /// A `503` during the outage, within [`DEFAULT_PROMPT`]; returns how long it took.
        async fn unavailable_within_default_timeout(&mut self, key: &str) -> Duration {
            let took = self.expect_during_outage(key, Want::Unavailable).await;
            assert!(took < DEFAULT_PROMPT, "a 503 took {took:?}");
            took
        }
    }

    /// Another instance of the service over the same table: its own pool straight to the server,
    /// not through the proxy, and its own cache and listener.
    async fn other_instance(store: &PostgresStore) -> (KeyManager, InvalidationListener) {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&postgres_url())
            .await
            .unwrap_or_else(|error| panic!("cannot connect to FORMBOX_TEST_POSTGRES_URL: {error}"));
        let store = PostgresStore::new(pool)
            .with_table_name(store.table_name())
            .unwrap();
        let cache = CachedStore::new(store.clone());
        let listener = store.listen_invalidations(&cache).await.unwrap();
        (KeyManager::new(cache), listener)
    }

    fn organization() -> OrganizationId {
        OrganizationId::from("org_a")
    }

    /// A key of `org_a` in the store.
    struct Key {
        secret: String,
        id: KeyId,
    }

    impl Key {
        async fn issue(store: &PostgresStore) -> Self {
            let (key, record) = issue_key(store, "org_a", Permission::FullAccess).await;
            Self {
                secret: key.expose_secret().to_owned(),
                id: record.id,
            }
        }
    }

    /// The keys of the test of a listening cache's defaults.
    struct Keys {
        /// Looked up just before the outage, and used all through it.
        hot: Key,
        /// Looked up just before the outage, and revoked during it through another instance.
        revoked_elsewhere: Key,
        /// Looked up just before the outage; revoking it here during the outage fails.
        revoked_here: Key,
        /// In the store, never looked up before the outage.
        cold: Key,
        /// Well-formed, and in no store.
        unknown: String,
    }

    impl Keys {
        async fn issue(store: &PostgresStore) -> Self {
            Self {
                hot: Key::issue(store).await,
                revoked_elsewhere: Key::issue(store).await,
                revoked_here: Key::issue(store).await,
                cold: Key::issue(store).await,
                unknown: unknown_key(),
            }
        }
    }

    /// Timings taken during the outage.
    #[derive(Debug, Default)]
    struct DuringOutage {
        hot_served: usize,
        hot_slowest: Duration,
        cold_slowest: Duration,
        unknown_slowest: Duration,
        create_failed_after: Duration,
        revoke_failed_after: Duration,
        manage_error: String,
    }

    /// Timings taken after the outage, each from its end.
    #[derive(Debug)]
    struct AfterOutage {
        /// Until a key created then was accepted.
        new_key_works: Duration,
        /// Until the revocation made elsewhere during the outage took effect here.
        missed_revocation_applies: Duration,
        /// From a revocation made elsewhere, once the listener was back, until it took effect.
        revocation_heard: Duration,
    }

    /// A manager call during the outage, which must fail with a store error within
    /// [`DEFAULT_PROMPT`]; returns how long it took, and the error.
    async fn manage_fails<T>(call: impl Future<Output = ManageResult<T>>) -> (Duration, String) {
        let start = Instant::now();
        let outcome = tokio::time::timeout(PROMPT, call)
            .await
            .expect("a manager call during the outage hung");
        let took = start.elapsed();
        match outcome {
            Err(error @ ManageError::Store(_)) => {
                assert!(
                    took < DEFAULT_PROMPT,
                    "a manager call failed after {took:?}"
                );
                (took, error.to_string())
            }
            other => panic!("expected a store error, got {:?}", other.err()),
        }
    }

    /// Sends the hot key every 50 ms for [`OUTAGE`] and the keys the cache does not hold about
    /// once a second; first, manages keys here and revokes one through the other instance.
    async fn during_outage(h: &mut Harness, keys: &Keys, elsewhere: &KeyManager) -> DuringOutage {
        let began = Instant::now();
        let mut figures = DuringOutage::default();
        let mut round = 0;
        while began.elapsed() < OUTAGE {
            let took = h.expect_during_outage(&keys.hot.secret, Want::Ok).await;
            figures.hot_served += 1;
            figures.hot_slowest = figures.hot_slowest.max(took);
            if round == 0 {
                manage_during_outage(h, keys, &mut figures).await;
                revoke_elsewhere_during_outage(h, keys, elsewhere).await;
            }
            if round % 20 == 0 {
                let cold = h
                    .unavailable_within_default_timeout(&keys.cold.secret)
                    .await;
                let unknown = h.unavailable_within_default_timeout(&keys.unknown).await;
                figures.cold_slowest = figures.cold_slowest.max(cold);
                figures.unknown_slowest = figures.unknown_slowest.max(unknown);
            }
            round += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        figures
    }

    /// Creating and revoking keys here fails with a store error within the store timeout.
    async fn manage_during_outage(h: &mut Harness, keys: &Keys, figures: &mut DuringOutage) {
        let organization = organization();
        let create = h.manager.create(
            &organization,
            NewKey::new("during the outage", Permission::ReadOnly),
        );
        (figures.create_failed_after, figures.manage_error) = manage_fails(create).await;
        let revoke = h.manager.revoke(&organization, keys.revoked_here.id);
        (figures.revoke_failed_after, _) = manage_fails(revoke).await;
        // Whatever became of the write, the cache forgot the key, so it is not served from there.
        h.expect_during_outage(&keys.revoked_here.secret, Want::Unavailable)
            .await;
    }

    /// Another instance, which still reaches the database, revokes a key this one holds: this
    /// one cannot hear it until its listener is back, and, by default, keeps serving the key
    /// meanwhile, within the cache's time to live.
    async fn revoke_elsewhere_during_outage(h: &mut Harness, keys: &Keys, elsewhere: &KeyManager) {
        elsewhere
            .revoke(&organization(), keys.revoked_elsewhere.id)
            .await
            .unwrap();
        h.expect_during_outage(&keys.revoked_elsewhere.secret, Want::Ok)
            .await;
    }

    /// Creates a key here as soon as the store takes writes again.
    async fn create_once_back(manager: &KeyManager) -> String {
        let start = Instant::now();
        loop {
            let created = manager
                .create(
                    &organization(),
                    NewKey::new("after the outage", Permission::ReadOnly),
                )
                .await;
            match created {
                Ok(created) => return created.key.expose_secret().to_owned(),
                Err(ManageError::Store(error)) => assert!(
                    start.elapsed() < RECOVERY,
                    "no key could be created within {RECOVERY:?} after the outage: {error}"
                ),
                Err(error) => panic!("creating a key after the outage: {error}"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A key created after the outage works; the revocation made elsewhere during it takes
    /// effect once the listener is back, and then a new one is heard within [`HEARD`]. Returns
    /// the timings and how many requests it took the new key to be accepted.
    async fn after_outage(
        h: &mut Harness,
        cache: &CachedStore<PostgresStore>,
        keys: &Keys,
        elsewhere: &KeyManager,
    ) -> (AfterOutage, usize) {
        let ended = Instant::now();
        let new_key = create_once_back(&h.manager).await;
        let attempts = h.until_accepted(&new_key).await;
        let new_key_works = ended.elapsed();
        // Still fresh in the cache: only the listener dropping the cache once back lets it go.
        h.until_revoked(&keys.revoked_elsewhere.secret, RECOVERY)
            .await;
        let missed_revocation_applies = ended.elapsed();

        h.expect(&keys.hot.secret, Want::Ok).await;
        assert!(
            matches!(cache.get_cached(&keys.hot.id), CachedLookup::Found(_)),
            "the hot key is not cached: its revocation would not need the listener"
        );
        elsewhere
            .revoke(&organization(), keys.hot.id)
            .await
            .unwrap();
        let revocation_heard = h.until_revoked(&keys.hot.secret, HEARD).await;
        let figures = AfterOutage {
            new_key_works,
            missed_revocation_applies,
            revocation_heard,
        };
        (figures, attempts)
    }

    /// By default ([`OnListenerLoss::KeepUntilExpiry`]) losing the listener's connection keeps
    /// the cache: a key it holds keeps working through the outage, while keys it does not hold
    /// and key management fail closed within the default store timeout. Once back, the listener
    /// drops the cache once, so a revocation made elsewhere meanwhile takes effect, and hears
    /// revocations again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_connection_loss_keeps_a_listening_cache_serving_until_the_listener_is_back() {
        const TEST: &str = "postgres/cut/cached+listener";
        let (store, mut proxy) = setup(Failure::Cut).await;
        let keys = Keys::issue(&store).await;
        let cache = CachedStore::new(store.clone());
        let listener = store.listen_invalidations(&cache).await.unwrap();
        let (elsewhere, _elsewhere_listener) = other_instance(&store).await;
        let mut h = Harness::with_defaults(TEST, cache.clone());
        // Just before the outage, so that the cache holds them.
        for key in [&keys.hot, &keys.revoked_elsewhere, &keys.revoked_here] {
            h.expect(&key.secret, Want::Ok).await;
        }

        proxy.begin().await;
        let during = during_outage(&mut h, &keys, &elsewhere).await;
        h.flush_fails_and_keeps(3).await;

        proxy.end().await;
        let (after, attempts) = after_outage(&mut h, &cache, &keys, &elsewhere).await;
        h.expect(&keys.cold.secret, Want::Ok).await;
        h.expect(&keys.unknown, Want::Invalid).await;
        // The revocation that failed here during the outage changed nothing.
        h.expect(&keys.revoked_here.secret, Want::Ok).await;
        assert!(!listener.is_finished());
        report_listening_cache(&during, &after);
        h.report(Some(attempts));
        report_proxy(TEST, &proxy);
    }

    fn report_listening_cache(during: &DuringOutage, after: &AfterOutage) {
        eprintln!(
            "store_outage postgres/cut/cached+listener: during the {OUTAGE:?} outage the hot key \
             was answered 200 {} times, the slowest in {:?}; a cold key 503 in {:?} at most, an \
             unknown key 503 in {:?} at most",
            during.hot_served, during.hot_slowest, during.cold_slowest, during.unknown_slowest,
        );
        eprintln!(
            "store_outage postgres/cut/cached+listener: during the outage a create failed after \
             {:?} ({}), a revocation after {:?}",
            during.create_failed_after, during.manage_error, during.revoke_failed_after,
        );
        eprintln!(
            "store_outage postgres/cut/cached+listener: after the outage a new key worked after \
             {:?}; the revocation made elsewhere during the outage took effect after {:?}; a \
             revocation made elsewhere then was heard in {:?}",
            after.new_key_works, after.missed_revocation_applies, after.revocation_heard,
        );
    }

    /// With [`OnListenerLoss::DropAll`], losing the connection empties the cache, since
    /// revocations made meanwhile would go unheard: the hot key then fails closed as well, until
    /// the database is back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_connection_loss_empties_a_cache_whose_listener_drops_all() {
        const TEST: &str = "postgres/cut/cached+listener/drop-all";
        let (store, mut proxy) = setup(Failure::Cut).await;
        let (hot, hot_record) = issue_key(&store, "org_a", Permission::FullAccess).await;
        let (hot, unknown) = (hot.expose_secret().to_owned(), unknown_key());
        let cache = CachedStore::new(store.clone()).with_ttl(Duration::from_secs(60));
        let listener = store
            .listen_invalidations_with(&cache, OnListenerLoss::DropAll)
            .await
            .unwrap();
        let mut h = Harness::new(TEST, cache.clone());
        h.expect(&hot, Want::Ok).await;
        h.expect(&hot, Want::Ok).await;

        proxy.begin().await;
        // Until the listener has seen its connection close, the hot key may still be served.
        let start = Instant::now();
        let mut served_before_noticed = 0;
        loop {
            let (response, _) = h.send(&hot).await;
            if response.status() != StatusCode::OK {
                h.check(&response, Want::Unavailable);
                break;
            }
            h.check(&response, Want::Ok);
            served_before_noticed += 1;
            assert!(
                start.elapsed() < PROMPT,
                "the listener never noticed the lost connection"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for _ in 0..ROUNDS {
            h.expect_during_outage(&hot, Want::Unavailable).await;
            h.expect_during_outage(&unknown, Want::Unavailable).await;
        }
        h.flush_fails_and_keeps(1).await;

        proxy.end().await;
        let attempts = h.until_accepted(&hot).await;
        h.expect(&unknown, Want::Invalid).await;
        // Subscribed again, and it hears revocations as before.
        KeyManager::new(store.clone())
            .revoke(&organization(), hot_record.id)
            .await
            .unwrap();
        h.until_revoked(&hot, RECOVERY).await;
        assert!(!listener.is_finished());
        eprintln!(
            "store_outage {TEST}: the hot key was served {served_before_noticed} time(s) before \
             the listener noticed"
        );
        h.report(Some(attempts));
        report_proxy(TEST, &proxy);
    }
}
