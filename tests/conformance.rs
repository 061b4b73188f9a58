//! One suite, every store: each backend must keep and return records exactly as `MemoryStore`
//! does.
//!
//! `conformance!` generates the same tests for every store from the generic bodies in `suite`.
//! `MemoryStore` and `CachedStore` always run them; `SqliteStore` with the `sqlite` feature;
//! `PostgresStore` with the `postgres` feature, against the server in
//! `FORMBOX_TEST_POSTGRES_URL` (`scripts/postgres.sh` starts one), each test in a table of its
//! own. With the feature on and the variable missing, the PostgreSQL tests fail: a CI run must not
//! skip them silently.

use std::{
    any::Any,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use formbox_auth::{
    AuthError, Authenticator, KeyDigest, KeyFormat, KeyId, KeyManager, KeyRecord, KeyStore,
    KeyUsage, ManualClock, MemoryStore, OrganizationId, Permission, PreviousSecret, StoreError,
    store::CachedStore,
};

/// A fresh, empty store, and whatever must live as long as it (a temporary directory).
type Fixture = (Arc<dyn KeyStore>, Box<dyn Any + Send>);

/// Whole microseconds after the Unix epoch: every store keeps at least that precision.
fn at(seconds: u64, micros: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(seconds, micros * 1_000)
}

fn record(organization: &str, name: &str, created_at: SystemTime) -> KeyRecord {
    let key = KeyFormat::default().generate().unwrap();
    KeyRecord::new(
        key.id(),
        OrganizationId::from(organization),
        name,
        Permission::ReadOnly,
        key.digest(),
        created_at,
    )
}

fn digest(byte: u8) -> KeyDigest {
    KeyDigest::from_bytes([byte; 32])
}

fn id(text: &str) -> KeyId {
    text.parse().unwrap()
}

fn ids(records: &[KeyRecord]) -> Vec<KeyId> {
    records.iter().map(|record| record.id).collect()
}

macro_rules! conformance {
    ($module:ident, $fresh:expr) => {
        mod $module {
            use super::*;

            conformance!(@tests $fresh;
                insert_then_get_returns_the_same_record,
                get_of_an_unknown_id_is_none,
                duplicate_id_is_refused_without_overwriting,
                list_is_per_organization_and_newest_first,
                update_replaces_everything_but_last_used_at,
                update_of_an_unknown_id_changes_nothing,
                update_if_writes_only_over_the_record_it_read,
                delete_removes_only_that_record,
                record_usage_moves_last_used_forward_only_and_skips_unknown_ids,
                every_field_round_trips_exactly,
                names_with_quotes_and_unicode_round_trip,
                revoked_key_is_rejected_after_revocation,
                regenerated_key_honours_its_grace_period,
                usage_flush_records_last_used,
                many_tasks_insert_and_update_concurrently,
            );
        }
    };
    (@tests $fresh:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (store, _guard): Fixture = $fresh.await;
                suite::$test(store).await;
            }
        )*
    };
}

mod suite {
    use super::*;

    pub(super) async fn insert_then_get_returns_the_same_record(store: Arc<dyn KeyStore>) {
        let record = record("org_a", "CI", at(1_700_000_000, 123_456));
        assert!(store.insert(&record).await.unwrap());
        assert_eq!(store.get(&record.id).await.unwrap(), Some(record));
    }

    pub(super) async fn get_of_an_unknown_id_is_none(store: Arc<dyn KeyStore>) {
        assert_eq!(store.get(&id("unknownKey00")).await.unwrap(), None);
        store
            .insert(&record("org_a", "CI", at(1_700_000_000, 0)))
            .await
            .unwrap();
        assert_eq!(store.get(&id("unknownKey00")).await.unwrap(), None);
    }

    pub(super) async fn duplicate_id_is_refused_without_overwriting(store: Arc<dyn KeyStore>) {
        let original = record("org_a", "original", at(1_700_000_000, 1));
        assert!(store.insert(&original).await.unwrap());
        let impostor = KeyRecord {
            organization: OrganizationId::from("org_b"),
            name: "impostor".into(),
            permission: Permission::FullAccess,
            digest: digest(9),
            ..original.clone()
        };
        assert!(!store.insert(&impostor).await.unwrap());
        assert_eq!(store.get(&original.id).await.unwrap(), Some(original));
        assert!(
            store
                .list(&OrganizationId::from("org_b"))
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub(super) async fn list_is_per_organization_and_newest_first(store: Arc<dyn KeyStore>) {
        let old = record("org_a", "old", at(1_700_000_000, 0));
        let new = record("org_a", "new", at(1_700_000_100, 0));
        let middle = record("org_a", "middle", at(1_700_000_050, 999_999));
        // Same creation time: the larger id (byte order) comes first, whatever the locale.
        let tie_lower = KeyRecord {
            id: id("aaaaaaaaaaaa"),
            ..record("org_a", "tie", at(1_700_000_075, 0))
        };
        let tie_upper = KeyRecord {
            id: id("BBBBBBBBBBBB"),
            ..record("org_a", "tie", at(1_700_000_075, 0))
        };
        let other = record("org_b", "other", at(1_700_000_200, 0));
        let prefix = record("org_a_suffix", "prefix", at(1_700_000_300, 0));
        for record in [&old, &new, &tie_upper, &other, &middle, &tie_lower, &prefix] {
            assert!(store.insert(record).await.unwrap());
        }

        let listed = store.list(&OrganizationId::from("org_a")).await.unwrap();
        assert_eq!(
            ids(&listed),
            vec![new.id, tie_lower.id, tie_upper.id, middle.id, old.id]
        );
        assert_eq!(listed[0], new);
        assert_eq!(
            store.list(&OrganizationId::from("org_b")).await.unwrap(),
            vec![other]
        );
        assert!(
            store
                .list(&OrganizationId::from("org_c"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .list(&OrganizationId::from("ORG_A"))
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub(super) async fn update_replaces_everything_but_last_used_at(store: Arc<dyn KeyStore>) {
        let original = record("org_a", "before", at(1_700_000_000, 0));
        store.insert(&original).await.unwrap();
        let used_at = at(1_700_000_500, 7);
        store
            .record_usage(&[KeyUsage {
                id: original.id,
                used_at,
            }])
            .await
            .unwrap();

        let changed = KeyRecord {
            organization: OrganizationId::from("org_b"),
            name: "after".into(),
            permission: Permission::FullAccess,
            digest: digest(2),
            previous: Some(Box::new(PreviousSecret {
                digest: original.digest,
                valid_until: at(1_700_003_600, 0),
            })),
            created_at: at(1_700_000_001, 1),
            expires_at: Some(at(1_800_000_000, 0)),
            revoked_at: Some(at(1_700_000_900, 0)),
            // Only record_usage moves it.
            last_used_at: Some(at(1_600_000_000, 0)),
            ..original.clone()
        };
        assert!(store.update(&changed).await.unwrap());
        let stored = store.get(&original.id).await.unwrap().unwrap();
        assert_eq!(
            stored,
            KeyRecord {
                last_used_at: Some(used_at),
                ..changed.clone()
            }
        );
        assert_eq!(
            ids(&store.list(&OrganizationId::from("org_b")).await.unwrap()),
            vec![original.id]
        );
        assert!(
            store
                .list(&OrganizationId::from("org_a"))
                .await
                .unwrap()
                .is_empty()
        );

        // Clearing optional fields clears them too.
        let cleared = KeyRecord {
            previous: None,
            expires_at: None,
            revoked_at: None,
            ..changed
        };
        assert!(store.update(&cleared).await.unwrap());
        assert_eq!(
            store.get(&original.id).await.unwrap().unwrap(),
            KeyRecord {
                last_used_at: Some(used_at),
                ..cleared
            }
        );
    }

    pub(super) async fn update_if_writes_only_over_the_record_it_read(store: Arc<dyn KeyStore>) {
        let original = record("org_a", "CI", at(1_700_000_000, 5));
        store.insert(&original).await.unwrap();
        store
            .record_usage(&[KeyUsage {
                id: original.id,
                used_at: at(1_700_000_100, 0),
            }])
            .await
            .unwrap();
        // What a manager read: last_used_at differs from the stored one, which does not matter.
        let read = store.get(&original.id).await.unwrap().unwrap();
        let revoked = KeyRecord {
            revoked_at: Some(at(1_700_000_200, 0)),
            ..read.clone()
        };
        let regenerated = KeyRecord {
            digest: digest(9),
            previous: Some(Box::new(PreviousSecret {
                digest: read.digest,
                valid_until: at(1_700_003_600, 0),
            })),
            ..read.clone()
        };
        assert!(store.update_if(&original, &revoked).await.unwrap());
        // A second writer that read the same record loses: the revocation stays.
        assert!(!store.update_if(&read, &regenerated).await.unwrap());
        let stored = store.get(&original.id).await.unwrap().unwrap();
        assert_eq!(stored.revoked_at, revoked.revoked_at);
        assert_eq!(stored.digest, original.digest);
        assert_eq!(stored.last_used_at, read.last_used_at);
        // Over what is stored now, it wins.
        let regenerated = KeyRecord {
            revoked_at: stored.revoked_at,
            ..regenerated
        };
        assert!(store.update_if(&stored, &regenerated).await.unwrap());
        assert_eq!(
            store.get(&original.id).await.unwrap().unwrap().digest,
            digest(9)
        );
        let ghost = record("org_a", "ghost", at(1_700_000_000, 0));
        assert!(!store.update_if(&ghost, &ghost).await.unwrap());
        assert_eq!(store.get(&ghost.id).await.unwrap(), None);
    }

    pub(super) async fn update_of_an_unknown_id_changes_nothing(store: Arc<dyn KeyStore>) {
        let ghost = record("org_a", "ghost", at(1_700_000_000, 0));
        assert!(!store.update(&ghost).await.unwrap());
        assert_eq!(store.get(&ghost.id).await.unwrap(), None);
        assert!(
            store
                .list(&OrganizationId::from("org_a"))
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub(super) async fn delete_removes_only_that_record(store: Arc<dyn KeyStore>) {
        let doomed = record("org_a", "doomed", at(1_700_000_000, 0));
        let kept = record("org_a", "kept", at(1_700_000_001, 0));
        store.insert(&doomed).await.unwrap();
        store.insert(&kept).await.unwrap();

        assert!(store.delete(&doomed.id).await.unwrap());
        assert_eq!(store.get(&doomed.id).await.unwrap(), None);
        assert!(!store.delete(&doomed.id).await.unwrap());
        assert!(!store.delete(&id("unknownKey00")).await.unwrap());
        assert_eq!(store.get(&kept.id).await.unwrap(), Some(kept.clone()));
        assert_eq!(
            store.list(&OrganizationId::from("org_a")).await.unwrap(),
            vec![kept]
        );
        // The id is free again.
        assert!(store.insert(&doomed).await.unwrap());
    }

    pub(super) async fn record_usage_moves_last_used_forward_only_and_skips_unknown_ids(
        store: Arc<dyn KeyStore>,
    ) {
        let first = record("org_a", "first", at(1_700_000_000, 0));
        let second = record("org_a", "second", at(1_700_000_000, 1));
        let never = record("org_a", "never", at(1_700_000_000, 2));
        for record in [&first, &second, &never] {
            store.insert(record).await.unwrap();
        }
        store.record_usage(&[]).await.unwrap();

        let use_ = |id, used_at| KeyUsage { id, used_at };
        store
            .record_usage(&[
                use_(first.id, at(1_700_000_100, 0)),
                use_(id("unknownKey00"), at(1_700_000_100, 0)),
                // The same key twice in one batch: the later use wins, in either order.
                use_(second.id, at(1_700_000_300, 5)),
                use_(second.id, at(1_700_000_200, 0)),
            ])
            .await
            .unwrap();
        let last_used = |record: Option<KeyRecord>| record.unwrap().last_used_at;
        assert_eq!(
            last_used(store.get(&first.id).await.unwrap()),
            Some(at(1_700_000_100, 0))
        );
        assert_eq!(
            last_used(store.get(&second.id).await.unwrap()),
            Some(at(1_700_000_300, 5))
        );
        assert_eq!(last_used(store.get(&never.id).await.unwrap()), None);
        assert_eq!(store.get(&id("unknownKey00")).await.unwrap(), None);

        // An older flush (a slow instance) does not move it back; a newer one moves it on.
        store
            .record_usage(&[
                use_(first.id, at(1_700_000_050, 0)),
                use_(second.id, at(1_700_000_400, 0)),
            ])
            .await
            .unwrap();
        assert_eq!(
            last_used(store.get(&first.id).await.unwrap()),
            Some(at(1_700_000_100, 0))
        );
        assert_eq!(
            last_used(store.get(&second.id).await.unwrap()),
            Some(at(1_700_000_400, 0))
        );
        // Nothing but last_used_at changed.
        let stored = store.get(&first.id).await.unwrap().unwrap();
        assert_eq!(
            stored,
            KeyRecord {
                last_used_at: Some(at(1_700_000_100, 0)),
                ..first
            }
        );
    }

    pub(super) async fn every_field_round_trips_exactly(store: Arc<dyn KeyStore>) {
        let mut digest_bytes = [0u8; 32];
        for (index, byte) in digest_bytes.iter_mut().enumerate() {
            *byte = u8::try_from(index * 8).unwrap();
        }
        let full = KeyRecord {
            id: id("Zz09aZxbYc12"),
            organization: OrganizationId::from("org_full"),
            name: "every field".into(),
            permission: Permission::FullAccess,
            digest: KeyDigest::from_bytes(digest_bytes),
            previous: Some(Box::new(PreviousSecret {
                digest: digest(0xff),
                valid_until: at(1_700_086_400, 999_999),
            })),
            created_at: at(1_700_000_000, 1),
            // Far from today on both sides: year 2400, and 1969.
            expires_at: Some(at(13_569_465_600, 500_000)),
            revoked_at: Some(UNIX_EPOCH - Duration::from_micros(86_400_000_001)),
            last_used_at: Some(at(1_700_000_123, 456_789)),
        };
        let plain = record("org_full", "no optional field", at(0, 0));
        assert!(store.insert(&full).await.unwrap());
        assert!(store.insert(&plain).await.unwrap());
        assert_eq!(store.get(&full.id).await.unwrap(), Some(full.clone()));
        assert_eq!(store.get(&plain.id).await.unwrap(), Some(plain.clone()));
        assert_eq!(
            store.list(&OrganizationId::from("org_full")).await.unwrap(),
            vec![full, plain]
        );
    }

    pub(super) async fn names_with_quotes_and_unicode_round_trip(store: Arc<dyn KeyStore>) {
        let organization = "org'; DROP TABLE formbox_api_keys; --";
        let odd = KeyRecord {
            name: "Zapier's \"integration\" — ключ 🔑 \\ %_".into(),
            ..record(organization, "", at(1_700_000_000, 0))
        };
        let empty_name = record(organization, "", at(1_700_000_001, 0));
        assert!(store.insert(&odd).await.unwrap());
        assert!(store.insert(&empty_name).await.unwrap());
        assert_eq!(store.get(&odd.id).await.unwrap(), Some(odd.clone()));
        assert_eq!(
            store
                .list(&OrganizationId::from(organization))
                .await
                .unwrap(),
            vec![empty_name, odd]
        );
    }

    /// A manager over `store` whose clock stands at a whole microsecond.
    fn manager(store: Arc<dyn KeyStore>) -> (KeyManager, ManualClock) {
        let clock = ManualClock::new(at(1_750_000_000, 250_000));
        let authenticator = Authenticator::from_shared(store).with_clock(clock.clone());
        (KeyManager::from_authenticator(authenticator), clock)
    }

    pub(super) async fn revoked_key_is_rejected_after_revocation(store: Arc<dyn KeyStore>) {
        let (manager, clock) = manager(Arc::clone(&store));
        let org = OrganizationId::from("org_a");
        let created = manager
            .create(&org, "to revoke", Permission::FullAccess, None)
            .await
            .unwrap();
        let key = created.key.expose_secret().to_owned();
        let auth = manager.authenticator();
        assert_eq!(
            auth.authenticate(&key).await.unwrap().key_id(),
            created.info.id
        );

        clock.advance(Duration::from_secs(10));
        manager.revoke(&org, created.info.id).await.unwrap();
        assert!(matches!(
            auth.authenticate(&key).await,
            Err(AuthError::RevokedKey)
        ));
        let stored = store.get(&created.info.id).await.unwrap().unwrap();
        assert_eq!(stored.revoked_at, Some(at(1_750_000_010, 250_000)));
    }

    pub(super) async fn regenerated_key_honours_its_grace_period(store: Arc<dyn KeyStore>) {
        let (manager, clock) = manager(Arc::clone(&store));
        let org = OrganizationId::from("org_a");
        let created = manager
            .create(&org, "to rotate", Permission::ReadOnly, None)
            .await
            .unwrap();
        let old_key = created.key.expose_secret().to_owned();
        let rotated = manager
            .regenerate(&org, created.info.id, Some(Duration::from_secs(3_600)))
            .await
            .unwrap();
        let new_key = rotated.key.expose_secret().to_owned();
        assert_eq!(rotated.info.id, created.info.id);

        let stored = store.get(&created.info.id).await.unwrap().unwrap();
        let previous = stored.previous.unwrap();
        assert_eq!(previous.valid_until, at(1_750_003_600, 250_000));
        assert_ne!(previous.digest, stored.digest);

        let auth = manager.authenticator();
        assert!(auth.authenticate(&old_key).await.is_ok());
        assert!(auth.authenticate(&new_key).await.is_ok());
        clock.advance(Duration::from_secs(3_600));
        assert!(matches!(
            auth.authenticate(&old_key).await,
            Err(AuthError::InvalidKey)
        ));
        assert!(auth.authenticate(&new_key).await.is_ok());

        // Without a grace period the old secret fails at once.
        let again = manager
            .regenerate(&org, created.info.id, None)
            .await
            .unwrap();
        assert!(matches!(
            auth.authenticate(&new_key).await,
            Err(AuthError::InvalidKey)
        ));
        assert!(auth.authenticate(again.key.expose_secret()).await.is_ok());
        assert_eq!(
            store.get(&created.info.id).await.unwrap().unwrap().previous,
            None
        );
    }

    pub(super) async fn usage_flush_records_last_used(store: Arc<dyn KeyStore>) {
        let (manager, clock) = manager(Arc::clone(&store));
        let org = OrganizationId::from("org_a");
        let used = manager
            .create(&org, "used", Permission::ReadOnly, None)
            .await
            .unwrap();
        let idle = manager
            .create(&org, "idle", Permission::ReadOnly, None)
            .await
            .unwrap();
        let auth = manager.authenticator();
        for _ in 0..3 {
            auth.authenticate(used.key.expose_secret()).await.unwrap();
        }
        clock.advance(Duration::from_secs(60));
        assert_eq!(manager.flush_usage().await.unwrap(), 1);

        let listed = manager.list(&org).await.unwrap();
        let last_used = |id: KeyId| {
            listed
                .iter()
                .find(|info| info.id == id)
                .unwrap()
                .last_used_at
        };
        assert_eq!(last_used(used.info.id), Some(at(1_750_000_060, 250_000)));
        assert_eq!(last_used(idle.info.id), None);
    }

    pub(super) async fn many_tasks_insert_and_update_concurrently(store: Arc<dyn KeyStore>) {
        const TASKS: usize = 32;
        const KEYS_PER_TASK: usize = 20;
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let organization = format!("org_{}", task % 4);
                let mut records = Vec::new();
                for n in 0..KEYS_PER_TASK {
                    let created_at = at(1_700_000_000 + (task * KEYS_PER_TASK + n) as u64, 0);
                    let record = record(&organization, &format!("task {task} key {n}"), created_at);
                    assert!(store.insert(&record).await.unwrap());
                    records.push(record);
                }
                for (n, record) in records.iter_mut().enumerate() {
                    record.name = format!("task {task} key {n} renamed");
                    if n % 2 == 0 {
                        record.revoked_at = Some(at(1_800_000_000, u32::try_from(n).unwrap()));
                    }
                    assert!(store.update(record).await.unwrap());
                }
                let usage: Vec<KeyUsage> = records
                    .iter()
                    .map(|record| KeyUsage {
                        id: record.id,
                        used_at: at(1_900_000_000, u32::try_from(task).unwrap()),
                    })
                    .collect();
                store.record_usage(&usage).await.unwrap();
                records
            }));
        }
        let mut expected = Vec::new();
        for task in tasks {
            expected.extend(task.await.unwrap());
        }
        assert_eq!(expected.len(), TASKS * KEYS_PER_TASK);
        for (index, record) in expected.iter().enumerate() {
            let task = index / KEYS_PER_TASK;
            let stored = store.get(&record.id).await.unwrap().unwrap();
            assert_eq!(
                stored,
                KeyRecord {
                    last_used_at: Some(at(1_900_000_000, u32::try_from(task).unwrap())),
                    ..record.clone()
                }
            );
        }
        let mut listed = 0;
        for org in 0..4 {
            let records = store
                .list(&OrganizationId::from(format!("org_{org}")))
                .await
                .unwrap();
            assert!(
                records
                    .windows(2)
                    .all(|w| w[0].created_at > w[1].created_at)
            );
            listed += records.len();
        }
        assert_eq!(listed, TASKS * KEYS_PER_TASK);
    }
}

/// Calls every method of a store whose backend cannot be reached: each must fail with a
/// `StoreError`, promptly, and nothing may panic.
async fn assert_every_method_fails(store: &dyn KeyStore) {
    let record = record("org_a", "unreachable", at(1_700_000_000, 0));
    let usage = [KeyUsage {
        id: record.id,
        used_at: at(1_700_000_001, 0),
    }];
    let calls = async {
        let errors: Vec<StoreError> = vec![
            store.get(&record.id).await.unwrap_err(),
            store.insert(&record).await.unwrap_err(),
            store.update(&record).await.unwrap_err(),
            store.list(&record.organization).await.unwrap_err(),
            store.delete(&record.id).await.unwrap_err(),
            store.record_usage(&usage).await.unwrap_err(),
        ];
        errors
    };
    let errors = tokio::time::timeout(Duration::from_secs(30), calls)
        .await
        .expect("an unreachable store must fail, not hang");
    for error in errors {
        assert!(
            matches!(error, StoreError::Backend(_) | StoreError::Timeout),
            "{error:?}"
        );
    }
}

async fn memory() -> Fixture {
    (Arc::new(MemoryStore::new()), Box::new(()))
}

async fn cached_memory() -> Fixture {
    (Arc::new(CachedStore::new(MemoryStore::new())), Box::new(()))
}

conformance!(memory_store, memory());
conformance!(cached_store, cached_memory());

/// A backend that is never there.
#[derive(Debug)]
struct Unreachable;

#[async_trait::async_trait]
impl KeyStore for Unreachable {
    async fn get(&self, _: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        Err(StoreError::backend("connection refused"))
    }
    async fn insert(&self, _: &KeyRecord) -> Result<bool, StoreError> {
        Err(StoreError::backend("connection refused"))
    }
    async fn update(&self, _: &KeyRecord) -> Result<bool, StoreError> {
        Err(StoreError::backend("connection refused"))
    }
    async fn list(&self, _: &OrganizationId) -> Result<Vec<KeyRecord>, StoreError> {
        Err(StoreError::backend("connection refused"))
    }
    async fn delete(&self, _: &KeyId) -> Result<bool, StoreError> {
        Err(StoreError::backend("connection refused"))
    }
    async fn record_usage(&self, _: &[KeyUsage]) -> Result<(), StoreError> {
        Err(StoreError::backend("connection refused"))
    }
}

#[tokio::test]
async fn cached_store_over_an_unreachable_backend_gives_store_errors() {
    let cache = CachedStore::new(Unreachable);
    assert_every_method_fails(&cache).await;
    // Twice: a failure must not have been cached as "no such key".
    assert_every_method_fails(&cache).await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use formbox_auth::{InvalidTableName, store::SqliteStore};
    use sqlx::{
        SqlitePool,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
    };

    use super::*;

    fn options(path: &std::path::Path) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
    }

    async fn pool(path: &std::path::Path) -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options(path))
            .await
            .unwrap()
    }

    /// A store in a new database file, with several connections, as in production.
    pub(super) async fn fresh() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(pool(&dir.path().join("keys.db")).await);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        (Arc::new(store), Box::new(dir))
    }

    conformance!(sqlite_store, fresh());
    conformance!(cached_sqlite_store, async {
        let (store, guard) = fresh().await;
        let cached: Arc<dyn KeyStore> = Arc::new(CachedStore::new(store));
        (cached, guard)
    });

    #[tokio::test]
    async fn unreachable_database_gives_store_errors() {
        let dir = tempfile::tempdir().unwrap();
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(options(&dir.path().join("missing").join("keys.db")));
        let store = SqliteStore::new(pool);
        assert!(store.migrate().await.is_err());
        assert_every_method_fails(&store).await;
    }

    #[tokio::test]
    async fn keys_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.db");
        let record = record("org_a", "durable", at(1_700_000_000, 42));
        {
            let pool = pool(&path).await;
            let store = SqliteStore::new(pool.clone());
            store.migrate().await.unwrap();
            store.insert(&record).await.unwrap();
            pool.close().await;
        }
        let store = SqliteStore::new(pool(&path).await);
        store.migrate().await.unwrap();
        assert_eq!(store.get(&record.id).await.unwrap(), Some(record));
    }

    #[tokio::test]
    async fn tables_of_different_names_are_independent() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir.path().join("keys.db")).await;
        let first = SqliteStore::new(pool.clone());
        let second = SqliteStore::new(pool)
            .with_table_name("Tenant_Keys_2")
            .unwrap();
        assert_eq!(first.table_name(), "formbox_api_keys");
        assert_eq!(second.table_name(), "Tenant_Keys_2");
        first.migrate().await.unwrap();
        second.migrate().await.unwrap();
        let record = record("org_a", "first only", at(1_700_000_000, 0));
        first.insert(&record).await.unwrap();
        assert_eq!(second.get(&record.id).await.unwrap(), None);
        assert!(second.insert(&record).await.unwrap());
    }

    #[tokio::test]
    async fn table_names_must_be_plain_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir.path().join("keys.db")).await;
        for name in [
            "keys; DROP TABLE x",
            "1keys",
            "",
            "a-b",
            "\"q\"",
            &"k".repeat(64),
        ] {
            assert_eq!(
                SqliteStore::new(pool.clone())
                    .with_table_name(name)
                    .map(|_| ()),
                Err(InvalidTableName),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn malformed_rows_are_decode_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir.path().join("keys.db")).await;
        let store = SqliteStore::new(pool.clone());
        store.migrate().await.unwrap();
        let rows = [
            // id, permission, digest
            ("short", "read_only", vec![0u8; 32]),
            ("badPerm00000", "admin", vec![0u8; 32]),
            ("badDigest000", "read_only", vec![0u8; 3]),
        ];
        for (key_id, permission, digest) in rows {
            sqlx::query(
                "INSERT INTO formbox_api_keys (id, organization, name, permission, digest, created_at)
                 VALUES (?1, 'org_bad', 'bad', ?2, ?3, 0)",
            )
            .bind(key_id)
            .bind(permission)
            .bind(digest)
            .execute(&pool)
            .await
            .unwrap();
        }
        for key_id in ["badPerm00000", "badDigest000"] {
            assert!(
                matches!(store.get(&id(key_id)).await, Err(StoreError::Decode(_))),
                "{key_id}"
            );
        }
        assert!(matches!(
            store.list(&OrganizationId::from("org_bad")).await,
            Err(StoreError::Decode(_))
        ));
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use formbox_auth::{InvalidTableName, store::PostgresStore};
    use sqlx::{PgPool, postgres::PgPoolOptions};

    use super::*;

    /// The test server's URL; its absence fails the test, so that CI cannot skip these silently.
    pub(crate) fn url() -> String {
        std::env::var("FORMBOX_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "the `postgres` feature is on but FORMBOX_TEST_POSTGRES_URL is not set; start a \
                 throw-away server with `eval \"$(scripts/postgres.sh start)\"`, or run \
                 `scripts/postgres.sh run cargo test --features postgres`"
            )
        })
    }

    pub(crate) async fn pool() -> PgPool {
        PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url())
            .await
            .unwrap_or_else(|error| panic!("cannot connect to FORMBOX_TEST_POSTGRES_URL: {error}"))
    }

    /// A table name no other test (or earlier run) uses.
    pub(crate) fn unique_table() -> String {
        let suffix = KeyFormat::default().generate().unwrap().id();
        format!("conformance_{suffix}")
    }

    pub(super) async fn fresh() -> Fixture {
        let store = PostgresStore::new(pool().await)
            .with_table_name(&unique_table())
            .unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        (Arc::new(store), Box::new(()))
    }

    conformance!(postgres_store, fresh());
    conformance!(cached_postgres_store, async {
        let (store, guard) = fresh().await;
        let cached: Arc<dyn KeyStore> = Arc::new(CachedStore::new(store));
        (cached, guard)
    });

    #[tokio::test]
    async fn unreachable_server_gives_store_errors() {
        // Port 1 on the loopback interface: nothing listens there.
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(1))
            .connect_lazy("postgres://formbox@127.0.0.1:1/formbox")
            .unwrap();
        let store = PostgresStore::new(pool);
        assert!(store.migrate().await.is_err());
        assert_every_method_fails(&store).await;
        let cache = CachedStore::new(store.clone());
        assert!(store.listen_invalidations(&cache).await.is_err());
    }

    #[tokio::test]
    async fn migrate_is_idempotent_and_safe_to_run_from_many_instances_at_once() {
        let pool = pool().await;
        let table = unique_table();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let store = PostgresStore::new(pool.clone())
                .with_table_name(&table)
                .unwrap();
            tasks.push(tokio::spawn(async move { store.migrate().await }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let store = PostgresStore::new(pool).with_table_name(&table).unwrap();
        let record = record("org_a", "kept", at(1_700_000_000, 0));
        store.insert(&record).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.get(&record.id).await.unwrap(), Some(record));
    }

    #[tokio::test]
    async fn table_names_keep_their_case_and_must_be_plain_identifiers() {
        let pool = pool().await;
        let table = format!("Mixed_{}", unique_table());
        let mixed = PostgresStore::new(pool.clone())
            .with_table_name(&table)
            .unwrap();
        let lower = PostgresStore::new(pool.clone())
            .with_table_name(&table.to_lowercase())
            .unwrap();
        mixed.migrate().await.unwrap();
        lower.migrate().await.unwrap();
        let record = record("org_a", "mixed", at(1_700_000_000, 0));
        mixed.insert(&record).await.unwrap();
        assert_eq!(lower.get(&record.id).await.unwrap(), None);
        assert_eq!(mixed.table_name(), table);

        for name in [
            "keys; DROP TABLE x",
            "1keys",
            "",
            "a-b",
            "\"q\"",
            &"k".repeat(64),
        ] {
            assert_eq!(
                PostgresStore::new(pool.clone())
                    .with_table_name(name)
                    .map(|_| ()),
                Err(InvalidTableName),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn malformed_rows_are_decode_errors_not_panics() {
        let pool = pool().await;
        let table = unique_table();
        let store = PostgresStore::new(pool.clone())
            .with_table_name(&table)
            .unwrap();
        store.migrate().await.unwrap();
        let rows = [
            ("badPerm00000", "admin", vec![0u8; 32], "2024-01-01"),
            ("badDigest000", "read_only", vec![0u8; 3], "2024-01-01"),
            // Beyond what SystemTime arithmetic or a calendar type may hold.
            ("infinity0000", "read_only", vec![0u8; 32], "infinity"),
            ("minusInfinit", "read_only", vec![0u8; 32], "-infinity"),
        ];
        for (key_id, permission, digest, created_at) in rows {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO \"{table}\" (id, organization, name, permission, digest, created_at)
                 VALUES ($1, 'org_bad', 'bad', $2, $3, $4::text::timestamptz)"
            )))
            .bind(key_id)
            .bind(permission)
            .bind(digest)
            .bind(created_at)
            .execute(&pool)
            .await
            .unwrap();
        }
        for key_id in [
            "badPerm00000",
            "badDigest000",
            "infinity0000",
            "minusInfinit",
        ] {
            assert!(
                matches!(store.get(&id(key_id)).await, Err(StoreError::Decode(_))),
                "{key_id}"
            );
        }
        assert!(matches!(
            store.list(&OrganizationId::from("org_bad")).await,
            Err(StoreError::Decode(_))
        ));
        // A record far outside any calendar type's range is still written and read exactly.
        let far = KeyRecord {
            expires_at: Some(UNIX_EPOCH + Duration::from_secs(200_000 * 365 * 86_400)),
            ..record("org_far", "far", at(1_700_000_000, 0))
        };
        store.insert(&far).await.unwrap();
        assert_eq!(store.get(&far.id).await.unwrap(), Some(far));
    }
}
