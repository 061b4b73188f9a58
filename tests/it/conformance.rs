//! One suite, every store: `formbox_auth::key_store_conformance!`, the suite a backend crate
//! runs, against `MemoryStore`, `SqliteStore` (feature `sqlite`) and `PostgresStore` (feature
//! `postgres`), each with and without a `CachedStore` in front; then what is particular to each
//! SQL store. The SQL stores, cached or not, are reopened over the same database between writing
//! records and reading them back, as after a restart; the memory stores cannot be.
//!
//! The PostgreSQL tests use the server in `FORMBOX_TEST_POSTGRES_URL` (`scripts/postgres.sh`
//! starts one), each test in a table of its own. With the feature on and the variable missing,
//! they fail: a CI run must not skip them silently.

use std::time::{Duration, UNIX_EPOCH};

use crate::common::{at, record};
use formbox_auth::store::Inserted;
use formbox_auth::{
    KeyStore, MemoryStore, OrganizationId,
    store::{CachedStore, KeyUsage, ListCursor, StoreError},
    testing::{Fault, TestStore},
};

fn id(text: &str) -> formbox_auth::KeyId {
    text.parse().unwrap()
}

mod memory_store {
    formbox_auth::key_store_conformance!(async { formbox_auth::MemoryStore::new() });
}

mod cached_memory_store {
    formbox_auth::key_store_conformance!(async {
        formbox_auth::store::CachedStore::new(formbox_auth::MemoryStore::new())
    });
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
            store.insert(&record, None).await.unwrap_err(),
            store
                .update(&record.next_revision(), record.revision)
                .await
                .unwrap_err(),
            store
                .list_page(&record.organization, None, usize::MAX)
                .await
                .unwrap_err(),
            store
                .list_page(&record.organization, None, 10)
                .await
                .unwrap_err(),
            store
                .list_page(
                    &record.organization,
                    Some(&ListCursor::after(&record).unwrap()),
                    10,
                )
                .await
                .unwrap_err(),
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

#[tokio::test]
async fn cached_store_over_an_unreachable_backend_gives_store_errors() {
    let backend = TestStore::new(MemoryStore::new());
    backend.fault_all(Fault::Error);
    let cache = CachedStore::new(backend);
    assert_every_method_fails(&cache).await;
    // Twice: a failure must not have been cached as "no such key".
    assert_every_method_fails(&cache).await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use formbox_auth::store::{InvalidTableName, SqliteStore};
    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;
    use crate::common::databases::{sqlite_options, sqlite_pool};

    /// A store in a new database file, with several connections, as in production; the
    /// directory lives as long as the test.
    pub(crate) async fn fresh() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(sqlite_pool(&dir.path().join("keys.db")).await);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        (store, dir)
    }

    /// A restart: the store's connections closed, a new pool and store over the same file and
    /// table, migrated again.
    pub(crate) async fn reopen(store: SqliteStore) -> SqliteStore {
        let options = store.pool().connect_options();
        store.pool().close().await;
        let pool = sqlite_pool(options.get_filename()).await;
        let reopened = SqliteStore::new(pool)
            .with_table_name(store.table_name())
            .unwrap();
        reopened.migrate().await.unwrap();
        reopened
    }

    mod sqlite_store {
        formbox_auth::key_store_conformance!(
            with_guard: super::fresh(),
            reopen: super::reopen,
        );
    }

    mod cached_sqlite_store {
        use formbox_auth::store::{CachedStore, SqliteStore};

        formbox_auth::key_store_conformance!(
            with_guard: async {
                let (store, dir) = super::fresh().await;
                (CachedStore::new(store), dir)
            },
            reopen: |cache: CachedStore<SqliteStore>| async move {
                CachedStore::new(super::reopen(cache.get_ref().clone()).await)
            },
        );
    }

    #[tokio::test]
    async fn unreachable_database_gives_store_errors() {
        let dir = tempfile::tempdir().unwrap();
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(sqlite_options(&dir.path().join("missing").join("keys.db")));
        let store = SqliteStore::new(pool);
        assert!(store.migrate().await.is_err());
        assert_every_method_fails(&store).await;
    }

    #[tokio::test]
    async fn tables_of_different_names_are_independent() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir.path().join("keys.db")).await;
        let first = SqliteStore::new(pool.clone());
        let second = SqliteStore::new(pool)
            .with_table_name("Tenant_Keys_2")
            .unwrap();
        assert_eq!(first.table_name(), "formbox_api_keys");
        assert_eq!(second.table_name(), "Tenant_Keys_2");
        first.migrate().await.unwrap();
        second.migrate().await.unwrap();
        let record = record("org_a", "first only", at(1_700_000_000, 0));
        first.insert(&record, None).await.unwrap();
        assert_eq!(second.get(&record.id).await.unwrap(), None);
        assert_eq!(
            second.insert(&record, None).await.unwrap(),
            Inserted::Stored
        );
    }

    #[tokio::test]
    async fn table_names_must_be_plain_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir.path().join("keys.db")).await;
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
        let pool = sqlite_pool(&dir.path().join("keys.db")).await;
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
        let limits = [
            // id, requests, per_seconds
            ("halfLimit000", Some(5), None),
            ("otherHalf000", None, Some(60)),
            ("zeroRequests", Some(0), Some(60)),
            ("longWindow00", Some(5), Some(86_401)),
            ("negativeReqs", Some(-1), Some(60)),
            ("hugeRequests", Some(i64::MAX), Some(60)),
        ];
        for (key_id, requests, per_seconds) in limits {
            sqlx::query(
                "INSERT INTO formbox_api_keys (id, organization, name, permission, digest,
                    created_at, rate_limit_requests, rate_limit_per_seconds)
                 VALUES (?1, 'org_bad_limit', 'bad', 'read_only', zeroblob(32), 0, ?2, ?3)",
            )
            .bind(key_id)
            .bind(requests)
            .bind(per_seconds)
            .execute(&pool)
            .await
            .unwrap();
        }
        let malformed = ["badPerm00000", "badDigest000"];
        for key_id in malformed
            .into_iter()
            .chain(limits.map(|(key_id, ..)| key_id))
        {
            assert!(
                matches!(store.get(&id(key_id)).await, Err(StoreError::Decode(_))),
                "{key_id}"
            );
        }
        for organization in ["org_bad", "org_bad_limit"] {
            assert!(matches!(
                store
                    .list_page(&OrganizationId::from(organization), None, usize::MAX)
                    .await,
                Err(StoreError::Decode(_))
            ));
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use formbox_auth::store::{InvalidTableName, PostgresStore};
    use sqlx::postgres::PgPoolOptions;

    use super::*;
    use crate::common::databases::{postgres_pool, unique_table};

    pub(crate) async fn fresh() -> PostgresStore {
        let store = PostgresStore::new(postgres_pool(8).await)
            .with_table_name(&unique_table("conformance"))
            .unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// A restart: the store's connections closed, a new pool and store over the same database
    /// and table, migrated again.
    pub(crate) async fn reopen(store: PostgresStore) -> PostgresStore {
        store.pool().close().await;
        let reopened = PostgresStore::new(postgres_pool(8).await)
            .with_table_name(store.table_name())
            .unwrap();
        reopened.migrate().await.unwrap();
        reopened
    }

    mod postgres_store {
        formbox_auth::key_store_conformance!(fresh: super::fresh(), reopen: super::reopen);
    }

    mod cached_postgres_store {
        use formbox_auth::store::{CachedStore, PostgresStore};

        formbox_auth::key_store_conformance!(
            fresh: async { CachedStore::new(super::fresh().await) },
            reopen: |cache: CachedStore<PostgresStore>| async move {
                CachedStore::new(super::reopen(cache.get_ref().clone()).await)
            },
        );
    }

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
        let pool = postgres_pool(8).await;
        let table = unique_table("conformance");
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
        store.insert(&record, None).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.get(&record.id).await.unwrap(), Some(record));
    }

    #[tokio::test]
    async fn table_names_keep_their_case_and_must_be_plain_identifiers() {
        let pool = postgres_pool(8).await;
        let table = format!("Mixed_{}", unique_table("conformance"));
        let mixed = PostgresStore::new(pool.clone())
            .with_table_name(&table)
            .unwrap();
        let lower = PostgresStore::new(pool.clone())
            .with_table_name(&table.to_lowercase())
            .unwrap();
        mixed.migrate().await.unwrap();
        lower.migrate().await.unwrap();
        let record = record("org_a", "mixed", at(1_700_000_000, 0));
        mixed.insert(&record, None).await.unwrap();
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
        let pool = postgres_pool(8).await;
        let table = unique_table("conformance");
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
        let limits = [
            // id, requests, per_seconds
            ("halfLimit000", Some(5), None),
            ("otherHalf000", None, Some(60)),
            ("zeroRequests", Some(0), Some(60)),
            ("longWindow00", Some(5), Some(86_401)),
            ("negativeReqs", Some(-1), Some(60)),
            ("hugeRequests", Some(i64::MAX), Some(60)),
        ];
        for (key_id, requests, per_seconds) in limits {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO \"{table}\" (id, organization, name, permission, digest, created_at,
                    rate_limit_requests, rate_limit_per_seconds)
                 VALUES ($1, 'org_bad', 'bad', 'read_only', $2, now(), $3, $4)"
            )))
            .bind(key_id)
            .bind(vec![0u8; 32])
            .bind(requests)
            .bind(per_seconds)
            .execute(&pool)
            .await
            .unwrap();
        }
        let malformed = [
            "badPerm00000",
            "badDigest000",
            "infinity0000",
            "minusInfinit",
        ];
        for key_id in malformed
            .into_iter()
            .chain(limits.map(|(key_id, ..)| key_id))
        {
            assert!(
                matches!(store.get(&id(key_id)).await, Err(StoreError::Decode(_))),
                "{key_id}"
            );
        }
        assert!(matches!(
            store
                .list_page(&OrganizationId::from("org_bad"), None, usize::MAX)
                .await,
            Err(StoreError::Decode(_))
        ));
        // A record far outside any calendar type's range is still written and read exactly.
        let mut far = record("org_far", "far", at(1_700_000_000, 0));
        far.expires_at = Some(UNIX_EPOCH + Duration::from_secs(200_000 * 365 * 86_400));
        store.insert(&far, None).await.unwrap();
        assert_eq!(store.get(&far.id).await.unwrap(), Some(far));
    }
}
