//! `migrate()` upgrades older tables in place: one written by version 0.1, which had no `revision`
//! column, one with `revision` but without the rate limit's two columns, one with both but
//! without `name_key`, and one with `name_key` but without `scopes`. Every key such a table holds
//! keeps working, starts at revision 0 (or keeps its revision), has no rate limit, and takes part
//! in compare-and-swap updates from then on, which can give it a limit. Keys an older version let
//! share a name (ignoring case and composition) keep working too: the oldest keeps the name, and
//! a later one takes part in the uniqueness once it is renamed. Keys of a table from before
//! restricted keys stay presets, and restricted keys can be written to it once it is upgraded.
//!
//! Each test builds the older schema with the statements that version ran, fills it with raw SQL,
//! and upgrades it, against SQLite (feature `sqlite`, a file in a temporary directory) and PostgreSQL
//! (feature `postgres`, the server in `FORMBOX_TEST_POSTGRES_URL`, which `scripts/postgres.sh`
//! starts, each test in a table of its own). With the `postgres` feature on and the variable
//! missing, the PostgreSQL tests fail: a CI run must not skip them silently.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::at;
use formbox_auth::store::{Inserted, Updated};
use formbox_auth::{
    Access, Authenticator, KeyFormat, KeyRecord, KeyStore, OrganizationId, Permission,
    key::PlaintextKey, permission::Resources, rate_limit::RateLimit, store::PreviousSecret,
};

/// Microseconds since the Unix epoch, as the raw rows hold times.
fn micros(time: SystemTime) -> i64 {
    let micros = time.duration_since(UNIX_EPOCH).unwrap().as_micros();
    i64::try_from(micros).unwrap()
}

/// What an older version left in a table, and the records the upgraded store must return for it.
struct Legacy {
    /// A key the older version issued; it must still authenticate.
    key: PlaintextKey,
    /// Its record: nothing optional set.
    issued: KeyRecord,
    /// A regenerated, expiring, revoked and used key: every optional column set.
    full: KeyRecord,
}

impl Legacy {
    fn new() -> Self {
        let organization = OrganizationId::from("org_legacy");
        let key = KeyFormat::default().generate().unwrap();
        let issued = KeyRecord::new(
            key.id(),
            organization.clone(),
            "issued by 0.1",
            Permission::FullAccess,
            key.digest(),
            at(1_700_000_000, 42),
        );
        let [current, old] = [(); 2].map(|()| KeyFormat::default().generate().unwrap());
        let mut full = KeyRecord::new(
            current.id(),
            organization,
            "it's \"quoted\" – ünïcode",
            Permission::ReadOnly,
            current.digest(),
            at(1_700_000_100, 7),
        );
        full.previous = Some(Box::new(PreviousSecret {
            digest: old.digest(),
            valid_until: at(4_000_000_000, 1),
        }));
        full.expires_at = Some(at(4_100_000_000, 2));
        full.revoked_at = Some(at(1_700_000_200, 3));
        full.last_used_at = Some(at(1_700_000_150, 999_999));
        Self { key, issued, full }
    }

    fn records(&self) -> [&KeyRecord; 2] {
        [&self.issued, &self.full]
    }
}

/// What every upgraded store must do with the keys an older version left.
async fn assert_upgraded<S: KeyStore + Clone>(store: &S, legacy: &Legacy) {
    let (issued, full) = (&legacy.issued, &legacy.full);
    for record in legacy.records() {
        let found = store.get(&record.id).await.unwrap().unwrap();
        assert_eq!(&found, record);
        assert_eq!((found.revision, found.rate_limit), (0, None));
    }
    let listed = store
        .list_page(&issued.organization, None, usize::MAX)
        .await
        .unwrap();
    assert_eq!(listed, [full.clone(), issued.clone()]);

    let context = Authenticator::new(store.clone())
        .authenticate(legacy.key.expose_secret())
        .await
        .unwrap();
    assert_eq!(context.key_id(), issued.id);
    assert_eq!(context.rate_limit(), None);

    let mut next = issued.next_revision();
    next.name = "renamed after the upgrade".into();
    next.rate_limit = Some(RateLimit::new(600, 60).unwrap());
    assert_eq!(store.update(&next, 0).await.unwrap(), Updated::Stored);
    let stored = store.get(&issued.id).await.unwrap().unwrap();
    assert_eq!((stored.revision, &stored), (1, &next));

    let mut stale = issued.next_revision();
    stale.name = "written over a revision that is gone".into();
    assert_eq!(store.update(&stale, 0).await.unwrap(), Updated::Stale);
    assert_eq!(store.get(&issued.id).await.unwrap(), Some(next));
}

/// A key restricted to `forms:write submissions:read`, of the legacy keys' organization and
/// newer than them: what a table from before restricted keys can hold once upgraded.
fn restricted_record() -> KeyRecord {
    let resources = Resources::new(["forms", "submissions"]).unwrap();
    let scopes = resources
        .scopes(["forms:write", "submissions:read"])
        .unwrap();
    let key = KeyFormat::default().generate().unwrap();
    KeyRecord::new(
        key.id(),
        OrganizationId::from("org_legacy"),
        "restricted after the upgrade",
        Access::Restricted(scopes),
        key.digest(),
        at(1_700_000_300, 5),
    )
}

/// What every store upgraded from the version before restricted keys must do: the keys it held
/// read back as the presets they were, and a restricted key is written and read back with its
/// scopes, alone and in its organization's list. Answers the restricted key.
async fn assert_scopes_upgraded<S: KeyStore + Clone>(store: &S, legacy: &Legacy) -> KeyRecord {
    for record in legacy.records() {
        let found = store.get(&record.id).await.unwrap().unwrap();
        assert_eq!(&found, record);
        assert!(found.access.preset().is_some(), "{}", found.access);
    }
    let restricted = restricted_record();
    assert_eq!(
        store.insert(&restricted, None).await.unwrap(),
        Inserted::Stored
    );
    let found = store.get(&restricted.id).await.unwrap();
    assert_eq!(found.as_ref(), Some(&restricted));
    let listed = store
        .list_page(&restricted.organization, None, usize::MAX)
        .await
        .unwrap();
    let newest_first = [&restricted, &legacy.full, &legacy.issued];
    assert_eq!(listed.iter().collect::<Vec<_>>(), newest_first);
    restricted
}

/// The `id`, `permission` and `scopes` columns the rows of `records` must have, by id: presets
/// with null scopes, restricted keys with their scopes' text form.
fn access_rows(records: &[&KeyRecord]) -> Vec<(String, String, Option<String>)> {
    let mut rows: Vec<_> = records
        .iter()
        .map(|record| {
            let scopes = record.access.scopes().map(ToString::to_string);
            (
                record.id.to_string(),
                record.access.as_str().to_owned(),
                scopes,
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Keys an older version let share a name key in one organization, oldest first.
struct SharedNames {
    /// Revoked, the oldest of the name: outside the uniqueness.
    revoked: KeyRecord,
    /// The oldest active key of the name: it keeps it.
    first: KeyRecord,
    /// The same name in another case and with spaces around, later: it keeps working, without a
    /// name key until it is renamed.
    later: KeyRecord,
    /// The first's name in another organization.
    elsewhere: KeyRecord,
    /// A name with a decomposed `é`, and a later key with the same name composed.
    decomposed: KeyRecord,
    composed: KeyRecord,
}

impl SharedNames {
    fn new() -> Self {
        let key = |organization: &str, name: &str, created_at| {
            let key = KeyFormat::default().generate().unwrap();
            let organization = OrganizationId::from(organization);
            let permission = Permission::ReadOnly;
            KeyRecord::new(
                key.id(),
                organization,
                name,
                permission,
                key.digest(),
                created_at,
            )
        };
        let mut revoked = key("org_shared", "DEPLOY", at(1_700_000_000, 0));
        revoked.revoked_at = Some(at(1_700_000_500, 0));
        Self {
            revoked,
            first: key("org_shared", "Deploy", at(1_700_000_001, 0)),
            later: key("org_shared", " deploy ", at(1_700_000_002, 0)),
            elsewhere: key("org_other", "Deploy", at(1_700_000_001, 0)),
            decomposed: key("org_shared", "Cafe\u{301}", at(1_700_000_003, 0)),
            composed: key("org_shared", "caf\u{e9}", at(1_700_000_004, 0)),
        }
    }

    fn records(&self) -> [&KeyRecord; 6] {
        [
            &self.revoked,
            &self.first,
            &self.later,
            &self.elsewhere,
            &self.decomposed,
            &self.composed,
        ]
    }

    /// The `name_key` column `migrate()` must leave for each key, by id.
    fn name_keys(&self) -> Vec<(String, Option<String>)> {
        let key =
            |record: &KeyRecord, key: Option<&str>| (record.id.to_string(), key.map(str::to_owned));
        let mut expected = vec![
            key(&self.revoked, Some("deploy")),
            key(&self.first, Some("deploy")),
            key(&self.later, None),
            key(&self.elsewhere, Some("deploy")),
            key(&self.decomposed, Some("caf\u{e9}")),
            key(&self.composed, None),
        ];
        expected.sort();
        expected
    }
}

/// What every upgraded store must do with keys an older version let share a name.
async fn assert_names_upgraded<S: KeyStore>(store: &S, shared: &SharedNames) {
    for record in shared.records() {
        assert_eq!(store.get(&record.id).await.unwrap().as_ref(), Some(record));
    }
    let fresh = |organization: &str, name: &str| {
        let key = KeyFormat::default().generate().unwrap();
        let organization = OrganizationId::from(organization);
        let (permission, created_at) = (Permission::ReadOnly, at(1_700_001_000, 0));
        KeyRecord::new(
            key.id(),
            organization,
            name,
            permission,
            key.digest(),
            created_at,
        )
    };
    for (organization, name) in [
        ("org_shared", "deploy"),
        ("org_shared", "CAF\u{c9}"),
        ("org_other", "DEPLOY"),
    ] {
        let taken = fresh(organization, name);
        assert_eq!(
            store.insert(&taken, None).await.unwrap(),
            Inserted::NameTaken,
            "{name:?} in {organization}"
        );
    }

    // The later key keeps working: a regeneration writes it, as does its revocation.
    let mut regenerated = shared.later.next_revision();
    regenerated.digest = KeyFormat::default().generate().unwrap().digest();
    assert_eq!(
        store.update(&regenerated, 0).await.unwrap(),
        Updated::Stored
    );
    // Renamed, it takes part: not into the taken name, into a free one.
    let mut into_taken = regenerated.next_revision();
    into_taken.name = "DEPLOY".into();
    assert_eq!(
        store.update(&into_taken, 1).await.unwrap(),
        Updated::NameTaken
    );
    let mut renamed = regenerated.next_revision();
    renamed.name = "Deploy (old)".into();
    assert_eq!(store.update(&renamed, 1).await.unwrap(), Updated::Stored);
    let mut again = fresh("org_shared", "deploy (OLD)");
    assert_eq!(
        store.insert(&again, None).await.unwrap(),
        Inserted::NameTaken
    );

    // Revoking the first frees the name.
    let mut revoked = shared.first.next_revision();
    revoked.revoked_at = Some(at(1_700_002_000, 0));
    assert_eq!(store.update(&revoked, 0).await.unwrap(), Updated::Stored);
    again.name = " Deploy".into();
    assert_eq!(store.insert(&again, None).await.unwrap(), Inserted::Stored);
}

/// What a store whose table `migrate()` created must do, however often it ran.
async fn assert_fresh<S: KeyStore>(store: &S) {
    let key = KeyFormat::default().generate().unwrap();
    let mut record = KeyRecord::new(
        key.id(),
        "org_fresh".into(),
        "fresh",
        Permission::ReadOnly,
        key.digest(),
        at(1_700_000_000, 0),
    );
    record.rate_limit = Some(RateLimit::new(5, 1).unwrap());
    assert_eq!(store.insert(&record, None).await.unwrap(), Inserted::Stored);
    assert_eq!(store.get(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(
        store.update(&record.next_revision(), 0).await.unwrap(),
        Updated::Stored
    );
    assert_eq!(store.get(&record.id).await.unwrap().unwrap().revision, 1);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use formbox_auth::store::SqliteStore;
    use sqlx::SqlitePool;
    use tempfile::TempDir;

    use super::*;
    use crate::common::databases::sqlite_pool;

    /// The schema of version 0.1, as it created it.
    const CREATE_TABLE_0_1: &str = r#"CREATE TABLE IF NOT EXISTS "formbox_api_keys" (
                    id TEXT NOT NULL PRIMARY KEY,
                    organization TEXT NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BLOB NOT NULL,
                    previous_digest BLOB,
                    previous_valid_until INTEGER,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    revoked_at INTEGER,
                    last_used_at INTEGER
                ) STRICT, WITHOUT ROWID"#;
    const CREATE_INDEX_0_1: &str = r#"CREATE INDEX IF NOT EXISTS "formbox_api_keys_organization_idx"
                    ON "formbox_api_keys" (organization, created_at DESC, id DESC)"#;

    /// The schema of the version before rate limits, with `revision` and without the rate
    /// limit's columns, as it created it.
    const CREATE_TABLE_WITH_REVISION: &str = r#"CREATE TABLE IF NOT EXISTS "formbox_api_keys" (
                    id TEXT NOT NULL PRIMARY KEY,
                    organization TEXT NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BLOB NOT NULL,
                    previous_digest BLOB,
                    previous_valid_until INTEGER,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    revoked_at INTEGER,
                    last_used_at INTEGER,
                    revision INTEGER NOT NULL DEFAULT 0
                ) STRICT, WITHOUT ROWID"#;

    /// The schema of the version before name keys, with the rate limit's columns and without
    /// `name_key`, as it created it.
    const CREATE_TABLE_WITH_RATE_LIMITS: &str = r#"CREATE TABLE IF NOT EXISTS "formbox_api_keys" (
                    id TEXT NOT NULL PRIMARY KEY,
                    organization TEXT NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BLOB NOT NULL,
                    previous_digest BLOB,
                    previous_valid_until INTEGER,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    revoked_at INTEGER,
                    last_used_at INTEGER,
                    revision INTEGER NOT NULL DEFAULT 0,
                    rate_limit_requests INTEGER,
                    rate_limit_per_seconds INTEGER
                ) STRICT, WITHOUT ROWID"#;

    /// The schema of the version before restricted keys, with `name_key` and without `scopes`,
    /// as it created it, and the index that keeps name keys unique.
    const CREATE_TABLE_WITH_NAME_KEYS: &str = r#"CREATE TABLE IF NOT EXISTS "formbox_api_keys" (
                    id TEXT NOT NULL PRIMARY KEY,
                    organization TEXT NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BLOB NOT NULL,
                    previous_digest BLOB,
                    previous_valid_until INTEGER,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,
                    revoked_at INTEGER,
                    last_used_at INTEGER,
                    revision INTEGER NOT NULL DEFAULT 0,
                    rate_limit_requests INTEGER,
                    rate_limit_per_seconds INTEGER,
                    name_key TEXT
                ) STRICT, WITHOUT ROWID"#;
    const CREATE_NAME_INDEX: &str = r#"CREATE UNIQUE INDEX IF NOT EXISTS "formbox_api_keys_name_key_idx"
                    ON "formbox_api_keys" (organization, name_key) WHERE revoked_at IS NULL"#;

    /// A database file of its own, with several connections, as in production.
    async fn pool() -> (SqlitePool, TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir.path().join("keys.db")).await;
        (pool, dir)
    }

    /// A database as an older version left it, with the table `create_table` made, holding
    /// `records`.
    async fn legacy_database(
        records: &[&KeyRecord],
        create_table: &'static str,
    ) -> (SqlitePool, TempDir) {
        let (pool, dir) = pool().await;
        for statement in [create_table, CREATE_INDEX_0_1] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        for record in records {
            let previous = record.previous.as_deref();
            sqlx::query(
                "INSERT INTO formbox_api_keys (id, organization, name, permission, digest,
                    previous_digest, previous_valid_until, created_at, expires_at, revoked_at,
                    last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .bind(record.id.as_str())
            .bind(record.organization.as_str())
            .bind(&record.name)
            .bind(record.access.as_str())
            .bind(record.digest.as_bytes().as_slice())
            .bind(previous.map(|previous| previous.digest.as_bytes().to_vec()))
            .bind(previous.map(|previous| micros(previous.valid_until)))
            .bind(micros(record.created_at))
            .bind(record.expires_at.map(micros))
            .bind(record.revoked_at.map(micros))
            .bind(record.last_used_at.map(micros))
            .execute(&pool)
            .await
            .unwrap();
        }
        (pool, dir)
    }

    /// A database as the version before restricted keys left it, holding `records`, each with
    /// the name key that version wrote.
    async fn database_before_scopes(records: &[&KeyRecord]) -> (SqlitePool, TempDir) {
        let (pool, dir) = legacy_database(records, CREATE_TABLE_WITH_NAME_KEYS).await;
        for record in records {
            sqlx::query("UPDATE formbox_api_keys SET name_key = ?1 WHERE id = ?2")
                .bind(record.name_key())
                .bind(record.id.as_str())
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::query(CREATE_NAME_INDEX).execute(&pool).await.unwrap();
        (pool, dir)
    }

    /// The table's columns, with their declared types, in their order.
    async fn columns(pool: &SqlitePool) -> Vec<(String, String)> {
        sqlx::query_as("SELECT name, type FROM pragma_table_info('formbox_api_keys') ORDER BY cid")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// The `permission` and `scopes` columns, by id.
    async fn access_columns(pool: &SqlitePool) -> Vec<(String, String, Option<String>)> {
        sqlx::query_as("SELECT id, permission, scopes FROM formbox_api_keys ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn migrate_adds_the_scopes_column_and_keeps_every_preset() {
        let legacy = Legacy::new();
        let (pool, _dir) = database_before_scopes(&legacy.records()).await;
        let scopes = ("scopes".to_owned(), "TEXT".to_owned());
        assert!(!columns(&pool).await.contains(&scopes));
        let store = SqliteStore::new(pool.clone());
        store.migrate().await.unwrap();
        assert_eq!(columns(&pool).await.last(), Some(&scopes));
        assert_eq!(access_columns(&pool).await, access_rows(&legacy.records()));
        let restricted = assert_scopes_upgraded(&store, &legacy).await;
        let [issued, full] = legacy.records();
        let rows = access_columns(&pool).await;
        assert_eq!(rows, access_rows(&[issued, full, &restricted]));

        // Run again, it finds every column and the index, and changes no row.
        let (schema, names) = (columns(&pool).await, name_keys(&pool).await);
        store.migrate().await.unwrap();
        assert_eq!(columns(&pool).await, schema);
        assert_eq!(access_columns(&pool).await, rows);
        assert_eq!(name_keys(&pool).await, names);
        for record in [issued, full, &restricted] {
            let found = store.get(&record.id).await.unwrap();
            assert_eq!(found.as_ref(), Some(record));
        }
    }

    #[tokio::test]
    async fn migrate_upgrades_a_0_1_table_and_keeps_every_key() {
        let legacy = Legacy::new();
        let (pool, _dir) = legacy_database(&legacy.records(), CREATE_TABLE_0_1).await;
        let store = SqliteStore::new(pool);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_upgraded(&store, &legacy).await;
    }

    #[tokio::test]
    async fn migrate_adds_the_rate_limit_columns_and_keeps_every_key_without_a_limit() {
        let legacy = Legacy::new();
        let (pool, _dir) = legacy_database(&legacy.records(), CREATE_TABLE_WITH_REVISION).await;
        let store = SqliteStore::new(pool);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_upgraded(&store, &legacy).await;
        store.migrate().await.unwrap();
        let issued = store.get(&legacy.issued.id).await.unwrap().unwrap();
        assert!(
            issued.rate_limit.is_some(),
            "a migration keeps limits set since"
        );
    }

    /// The `name_key` column, by id.
    async fn name_keys(pool: &SqlitePool) -> Vec<(String, Option<String>)> {
        sqlx::query_as("SELECT id, name_key FROM formbox_api_keys ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn migrate_gives_every_key_its_name_key_and_keeps_keys_that_shared_a_name() {
        let shared = SharedNames::new();
        let (pool, _dir) = legacy_database(&shared.records(), CREATE_TABLE_WITH_RATE_LIMITS).await;
        let store = SqliteStore::new(pool.clone());
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(name_keys(&pool).await, shared.name_keys());
        assert_names_upgraded(&store, &shared).await;
        // Run again, it finds the index and leaves the name keys as the writes left them.
        let before = name_keys(&pool).await;
        store.migrate().await.unwrap();
        assert_eq!(name_keys(&pool).await, before);
    }

    #[tokio::test]
    async fn migrating_a_fresh_database_twice_changes_nothing() {
        let (pool, _dir) = pool().await;
        let store = SqliteStore::new(pool);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_fresh(&store).await;
        store.migrate().await.unwrap();
        assert_eq!(
            store
                .list_page(&"org_fresh".into(), None, usize::MAX)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn concurrent_migrations_of_an_older_table_all_succeed() {
        for create_table in [
            CREATE_TABLE_0_1,
            CREATE_TABLE_WITH_REVISION,
            CREATE_TABLE_WITH_RATE_LIMITS,
        ] {
            let legacy = Legacy::new();
            let (pool, _dir) = legacy_database(&legacy.records(), create_table).await;
            let tasks: Vec<_> = (0..6)
                .map(|_| {
                    let store = SqliteStore::new(pool.clone());
                    tokio::spawn(async move { store.migrate().await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            assert_upgraded(&SqliteStore::new(pool), &legacy).await;
        }
        let legacy = Legacy::new();
        let (pool, _dir) = database_before_scopes(&legacy.records()).await;
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let store = SqliteStore::new(pool.clone());
                tokio::spawn(async move { store.migrate().await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_scopes_upgraded(&SqliteStore::new(pool), &legacy).await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use formbox_auth::store::PostgresStore;
    use sqlx::PgPool;

    use super::*;
    use crate::common::databases::{postgres_pool, unique_table};

    /// The schema of version 0.1, as it created it, for the table `{t}`.
    const CREATE_TABLE_0_1: &str = r#"CREATE TABLE IF NOT EXISTS "{t}" (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    organization TEXT COLLATE "C" NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BYTEA NOT NULL,
                    previous_digest BYTEA,
                    previous_valid_until TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL,
                    expires_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ,
                    last_used_at TIMESTAMPTZ
                )"#;
    const CREATE_INDEX_0_1: &str = r#"CREATE INDEX IF NOT EXISTS "{t}_organization_idx"
                    ON "{t}" (organization, created_at DESC, id DESC)"#;

    /// The schema of the version before rate limits, with `revision` and without the rate
    /// limit's columns, as it created it, for the table `{t}`.
    const CREATE_TABLE_WITH_REVISION: &str = r#"CREATE TABLE IF NOT EXISTS "{t}" (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    organization TEXT COLLATE "C" NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BYTEA NOT NULL,
                    previous_digest BYTEA,
                    previous_valid_until TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL,
                    expires_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ,
                    last_used_at TIMESTAMPTZ,
                    revision BIGINT NOT NULL DEFAULT 0
                )"#;

    /// The schema of the version before name keys, with the rate limit's columns and without
    /// `name_key`, as it created it, for the table `{t}`.
    const CREATE_TABLE_WITH_RATE_LIMITS: &str = r#"CREATE TABLE IF NOT EXISTS "{t}" (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    organization TEXT COLLATE "C" NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BYTEA NOT NULL,
                    previous_digest BYTEA,
                    previous_valid_until TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL,
                    expires_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ,
                    last_used_at TIMESTAMPTZ,
                    revision BIGINT NOT NULL DEFAULT 0,
                    rate_limit_requests BIGINT,
                    rate_limit_per_seconds BIGINT
                )"#;

    /// The schema of the version before restricted keys, with `name_key` and without `scopes`,
    /// as it created it, and the index that keeps name keys unique, for the table `{t}`.
    const CREATE_TABLE_WITH_NAME_KEYS: &str = r#"CREATE TABLE IF NOT EXISTS "{t}" (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    organization TEXT COLLATE "C" NOT NULL,
                    name TEXT NOT NULL,
                    permission TEXT NOT NULL,
                    digest BYTEA NOT NULL,
                    previous_digest BYTEA,
                    previous_valid_until TIMESTAMPTZ,
                    created_at TIMESTAMPTZ NOT NULL,
                    expires_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ,
                    last_used_at TIMESTAMPTZ,
                    revision BIGINT NOT NULL DEFAULT 0,
                    rate_limit_requests BIGINT,
                    rate_limit_per_seconds BIGINT,
                    name_key TEXT COLLATE "C"
                )"#;
    const CREATE_NAME_INDEX: &str = r#"CREATE UNIQUE INDEX IF NOT EXISTS "{t}_name_key_idx"
                    ON "{t}" (organization, name_key) WHERE revoked_at IS NULL"#;

    fn store(pool: &PgPool, table: &str) -> PostgresStore {
        PostgresStore::new(pool.clone())
            .with_table_name(table)
            .unwrap()
    }

    /// A table as an older version left it, made by `create_table`, holding `records`. Times go
    /// in as microseconds after the epoch, which PostgreSQL adds exactly.
    async fn legacy_table(pool: &PgPool, records: &[&KeyRecord], create_table: &str) -> String {
        let table = unique_table("migrate");
        for statement in [create_table, CREATE_INDEX_0_1] {
            let statement = statement.replace("{t}", &table);
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(pool)
                .await
                .unwrap();
        }
        let time =
            |n: u8| format!("'epoch'::timestamptz + ${n}::bigint * interval '1 microsecond'");
        let insert = format!(
            r#"INSERT INTO "{table}" (id, organization, name, permission, digest, previous_digest,
                previous_valid_until, created_at, expires_at, revoked_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, $6, {}, {}, {}, {}, {})"#,
            time(7),
            time(8),
            time(9),
            time(10),
            time(11),
        );
        for record in records {
            let previous = record.previous.as_deref();
            sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                .bind(record.id.as_str())
                .bind(record.organization.as_str())
                .bind(&record.name)
                .bind(record.access.as_str())
                .bind(record.digest.as_bytes().as_slice())
                .bind(previous.map(|previous| previous.digest.as_bytes().to_vec()))
                .bind(previous.map(|previous| micros(previous.valid_until)))
                .bind(micros(record.created_at))
                .bind(record.expires_at.map(micros))
                .bind(record.revoked_at.map(micros))
                .bind(record.last_used_at.map(micros))
                .execute(pool)
                .await
                .unwrap();
        }
        table
    }

    /// A table as the version before restricted keys left it, holding `records`, each with the
    /// name key that version wrote.
    async fn table_before_scopes(pool: &PgPool, records: &[&KeyRecord]) -> String {
        let table = legacy_table(pool, records, CREATE_TABLE_WITH_NAME_KEYS).await;
        let set_name_key = format!(r#"UPDATE "{table}" SET name_key = $1 WHERE id = $2"#);
        for record in records {
            sqlx::query(sqlx::AssertSqlSafe(set_name_key.clone()))
                .bind(record.name_key())
                .bind(record.id.as_str())
                .execute(pool)
                .await
                .unwrap();
        }
        let create_index = CREATE_NAME_INDEX.replace("{t}", &table);
        sqlx::query(sqlx::AssertSqlSafe(create_index))
            .execute(pool)
            .await
            .unwrap();
        table
    }

    /// The columns of `table`, with their types, in their order.
    async fn columns(pool: &PgPool, table: &str) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap()
    }

    /// The `permission` and `scopes` columns of `table`, by id.
    async fn access_columns(pool: &PgPool, table: &str) -> Vec<(String, String, Option<String>)> {
        let select = format!(r#"SELECT id, permission, scopes FROM "{table}" ORDER BY id"#);
        sqlx::query_as(sqlx::AssertSqlSafe(select))
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn migrate_adds_the_scopes_column_and_keeps_every_preset() {
        let legacy = Legacy::new();
        let pool = postgres_pool(8).await;
        let table = table_before_scopes(&pool, &legacy.records()).await;
        let scopes = ("scopes".to_owned(), "text".to_owned());
        assert!(!columns(&pool, &table).await.contains(&scopes));
        let store = store(&pool, &table);
        store.migrate().await.unwrap();
        assert_eq!(columns(&pool, &table).await.last(), Some(&scopes));
        assert_eq!(
            access_columns(&pool, &table).await,
            access_rows(&legacy.records())
        );
        let restricted = assert_scopes_upgraded(&store, &legacy).await;
        let [issued, full] = legacy.records();
        let rows = access_columns(&pool, &table).await;
        assert_eq!(rows, access_rows(&[issued, full, &restricted]));

        // Run again, it finds every column and the index, and changes no row.
        let schema = columns(&pool, &table).await;
        let names = name_keys(&pool, &table).await;
        store.migrate().await.unwrap();
        assert_eq!(columns(&pool, &table).await, schema);
        assert_eq!(access_columns(&pool, &table).await, rows);
        assert_eq!(name_keys(&pool, &table).await, names);
        for record in [issued, full, &restricted] {
            let found = store.get(&record.id).await.unwrap();
            assert_eq!(found.as_ref(), Some(record));
        }
    }

    #[tokio::test]
    async fn migrate_upgrades_a_0_1_table_and_keeps_every_key() {
        let legacy = Legacy::new();
        let pool = postgres_pool(8).await;
        let table = legacy_table(&pool, &legacy.records(), CREATE_TABLE_0_1).await;
        let store = store(&pool, &table);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_upgraded(&store, &legacy).await;
    }

    #[tokio::test]
    async fn migrate_adds_the_rate_limit_columns_and_keeps_every_key_without_a_limit() {
        let legacy = Legacy::new();
        let pool = postgres_pool(8).await;
        let table = legacy_table(&pool, &legacy.records(), CREATE_TABLE_WITH_REVISION).await;
        let store = store(&pool, &table);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_upgraded(&store, &legacy).await;
        store.migrate().await.unwrap();
        let issued = store.get(&legacy.issued.id).await.unwrap().unwrap();
        assert!(
            issued.rate_limit.is_some(),
            "a migration keeps limits set since"
        );
    }

    /// The `name_key` column of `table`, by id.
    async fn name_keys(pool: &PgPool, table: &str) -> Vec<(String, Option<String>)> {
        let select = format!(r#"SELECT id, name_key FROM "{table}" ORDER BY id"#);
        sqlx::query_as(sqlx::AssertSqlSafe(select))
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn migrate_gives_every_key_its_name_key_and_keeps_keys_that_shared_a_name() {
        let shared = SharedNames::new();
        let pool = postgres_pool(8).await;
        let table = legacy_table(&pool, &shared.records(), CREATE_TABLE_WITH_RATE_LIMITS).await;
        let store = store(&pool, &table);
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(name_keys(&pool, &table).await, shared.name_keys());
        assert_names_upgraded(&store, &shared).await;
        let before = name_keys(&pool, &table).await;
        store.migrate().await.unwrap();
        assert_eq!(name_keys(&pool, &table).await, before);
    }

    #[tokio::test]
    async fn migrating_a_fresh_database_twice_changes_nothing() {
        let store = store(&postgres_pool(8).await, &unique_table("migrate"));
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_fresh(&store).await;
        store.migrate().await.unwrap();
        assert_eq!(
            store
                .list_page(&"org_fresh".into(), None, usize::MAX)
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn six_instances_upgrading_an_older_table_at_once_all_succeed() {
        let pool = postgres_pool(8).await;
        for create_table in [
            CREATE_TABLE_0_1,
            CREATE_TABLE_WITH_REVISION,
            CREATE_TABLE_WITH_RATE_LIMITS,
        ] {
            let legacy = Legacy::new();
            let table = legacy_table(&pool, &legacy.records(), create_table).await;
            let tasks: Vec<_> = (0..6)
                .map(|_| {
                    let store = store(&pool, &table);
                    tokio::spawn(async move { store.migrate().await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            assert_upgraded(&store(&pool, &table), &legacy).await;
        }
        let legacy = Legacy::new();
        let table = table_before_scopes(&pool, &legacy.records()).await;
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let store = store(&pool, &table);
                tokio::spawn(async move { store.migrate().await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_scopes_upgraded(&store(&pool, &table), &legacy).await;
    }
}
