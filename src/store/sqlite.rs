//! Keys in a SQLite database: the embedded default.

use std::{fmt, sync::Arc};

use async_trait::async_trait;
use sqlx::{
    Row, Sqlite, SqlitePool,
    sqlite::{SqliteArguments, SqliteRow},
};

use super::{
    KeyRecord, KeyStore, KeyUsage, OrganizationId, Result,
    sql::{COLUMNS, Columns, InvalidTableName, RawRecord, TableName, latest_use_per_key, sql},
};
use crate::KeyId;

/// A store in a SQLite database, for a service that runs as one process and must keep its keys
/// across restarts.
///
/// It takes a [`SqlitePool`] and keeps its records in one table (`formbox_api_keys` unless
/// [`with_table_name`](Self::with_table_name) says otherwise), which [`migrate`](Self::migrate)
/// creates. Clones share the pool.
///
/// # Schema
///
/// The key id is the primary key; an index on `(organization, created_at, id)` serves
/// [`list`](KeyStore::list). Digests are `BLOB`s. Timestamps are `INTEGER` microseconds since the
/// Unix epoch: SQLite has no timestamp type, and an integer keeps every microsecond exactly,
/// sorts and compares as a number (`ORDER BY`, `MAX`) and needs no parsing, where text would
/// depend on one formatting convention. `datetime(created_at / 1000000, 'unixepoch')` shows one
/// to a person.
///
/// # Speed
///
/// sqlx runs each SQLite connection on a thread of its own, so an uncached read costs two thread
/// hand-offs (tens of microseconds) more than the query. Wrap the store in a
/// [`CachedStore`](super::CachedStore) so hot keys need no read at all, and build the pool with
/// `test_before_acquire(false)`: pinging an in-process database before every checkout only adds
/// another hand-off.
///
/// # Example
///
/// ```no_run
/// use formbox_auth::{KeyStore, store::SqliteStore};
/// use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let options = SqliteConnectOptions::new()
///     .filename("keys.db")
///     .create_if_missing(true)
///     // Readers do not block the writer, and the other way round.
///     .journal_mode(SqliteJournalMode::Wal);
/// let store = SqliteStore::new(SqlitePool::connect_with(options).await?);
/// store.migrate().await?;
/// assert!(store.list(&"org_1".into()).await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub struct SqliteStore {
    pool: SqlitePool,
    table: TableName,
    queries: Arc<Queries>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("pool", &self.pool)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Every statement, written once per table name.
#[derive(Debug)]
struct Queries {
    create_table: Arc<str>,
    create_index: Arc<str>,
    get: Arc<str>,
    insert: Arc<str>,
    update: Arc<str>,
    update_if: Arc<str>,
    list: Arc<str>,
    delete: Arc<str>,
    record_usage: Arc<str>,
}

impl Queries {
    fn new(table: &TableName) -> Self {
        let t = table.as_str();
        Self {
            // STRICT makes SQLite refuse values of the wrong type instead of storing them;
            // WITHOUT ROWID keeps rows in the primary key's B-tree, so a lookup by id is one
            // search, not two.
            create_table: format!(
                r#"CREATE TABLE IF NOT EXISTS "{t}" (
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
                ) STRICT, WITHOUT ROWID"#
            )
            .into(),
            create_index: format!(
                r#"CREATE INDEX IF NOT EXISTS "{t}_organization_idx"
                    ON "{t}" (organization, created_at DESC, id DESC)"#
            )
            .into(),
            get: format!(r#"SELECT {COLUMNS} FROM "{t}" WHERE id = ?1"#).into(),
            insert: format!(
                r#"INSERT INTO "{t}" ({COLUMNS})
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                    ON CONFLICT (id) DO NOTHING"#
            )
            .into(),
            update: format!(
                r#"UPDATE "{t}" SET organization = ?2, name = ?3, permission = ?4, digest = ?5,
                    previous_digest = ?6, previous_valid_until = ?7, created_at = ?8,
                    expires_at = ?9, revoked_at = ?10
                    WHERE id = ?1"#
            )
            .into(),
            // The compare-and-swap of `update_if`: ?11.. are the record as it was read. `IS`
            // compares NULLs as equal.
            update_if: format!(
                r#"UPDATE "{t}" SET organization = ?2, name = ?3, permission = ?4, digest = ?5,
                    previous_digest = ?6, previous_valid_until = ?7, created_at = ?8,
                    expires_at = ?9, revoked_at = ?10
                    WHERE id = ?1 AND organization = ?11 AND name = ?12 AND permission = ?13
                    AND digest = ?14 AND previous_digest IS ?15 AND previous_valid_until IS ?16
                    AND created_at = ?17 AND expires_at IS ?18 AND revoked_at IS ?19"#
            )
            .into(),
            list: format!(
                r#"SELECT {COLUMNS} FROM "{t}" WHERE organization = ?1
                    ORDER BY created_at DESC, id DESC"#
            )
            .into(),
            delete: format!(r#"DELETE FROM "{t}" WHERE id = ?1"#).into(),
            // SQLite's two-argument MAX is NULL if either argument is.
            record_usage: format!(
                r#"UPDATE "{t}" SET last_used_at = MAX(COALESCE(last_used_at, ?2), ?2)
                    WHERE id = ?1"#
            )
            .into(),
        }
    }
}

impl SqliteStore {
    /// A store using the default table, `formbox_api_keys`.
    pub fn new(pool: SqlitePool) -> Self {
        let table = TableName::default_name();
        Self {
            pool,
            queries: Arc::new(Queries::new(&table)),
            table,
        }
    }

    /// Uses the table `name` instead, for example to keep two sets of keys in one database.
    ///
    /// The name must match `[A-Za-z_][A-Za-z0-9_]{0,62}`. The index is named after it, with
    /// `_organization_idx` appended.
    pub fn with_table_name(mut self, name: &str) -> Result<Self, InvalidTableName> {
        self.table = TableName::new(name)?;
        self.queries = Arc::new(Queries::new(&self.table));
        Ok(self)
    }

    /// The table the records live in.
    pub fn table_name(&self) -> &str {
        self.table.as_str()
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Creates the table and its index unless they exist. Running it again changes nothing.
    pub async fn migrate(&self) -> Result<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(sql(&self.queries.create_table))
            .execute(&mut *transaction)
            .await?;
        sqlx::query(sql(&self.queries.create_index))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }
}

fn decode(row: &SqliteRow) -> Result<KeyRecord> {
    RawRecord {
        id: row.try_get("id")?,
        organization: row.try_get("organization")?,
        name: row.try_get("name")?,
        permission: row.try_get("permission")?,
        digest: row.try_get("digest")?,
        previous_digest: row.try_get("previous_digest")?,
        previous_valid_until: row.try_get("previous_valid_until")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    }
    .into_record()
}

/// A statement of this store with its arguments.
type Statement<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// Binds what `update` writes, in the order the statements list them: every column but the id
/// and `last_used_at`.
fn bind_fields<'q>(query: Statement<'q>, c: &Columns<'_>) -> Statement<'q> {
    query
        .bind(c.organization)
        .bind(c.name)
        .bind(c.permission)
        .bind(c.digest)
        .bind(c.previous_digest)
        .bind(c.previous_valid_until)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.revoked_at)
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        let row = sqlx::query(sql(&self.queries.get))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn insert(&self, record: &KeyRecord) -> Result<bool> {
        let c = Columns::new(record)?;
        let query = sqlx::query(sql(&self.queries.insert)).bind(c.id);
        let done = bind_fields(query, &c)
            .bind(c.last_used_at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn update(&self, record: &KeyRecord) -> Result<bool> {
        let c = Columns::new(record)?;
        let query = sqlx::query(sql(&self.queries.update)).bind(c.id);
        let done = bind_fields(query, &c).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn update_if(&self, current: &KeyRecord, new: &KeyRecord) -> Result<bool> {
        let (c, n) = (Columns::new(current)?, Columns::new(new)?);
        if c.id != n.id {
            return Ok(false);
        }
        // The new record's fields, then the ones it must find in place.
        let query = sqlx::query(sql(&self.queries.update_if)).bind(n.id);
        let done = bind_fields(bind_fields(query, &n), &c)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list(&self, organization: &OrganizationId) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query(sql(&self.queries.list))
            .bind(organization.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn delete(&self, id: &KeyId) -> Result<bool> {
        let done = sqlx::query(sql(&self.queries.delete))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        let latest = latest_use_per_key(usage)?;
        if latest.is_empty() {
            return Ok(());
        }
        // One transaction per batch: one fsync instead of one per key. Its first statement is
        // a write, so it takes the write lock at once and never has to upgrade a read lock.
        let mut transaction = self.pool.begin().await?;
        for (id, used_at) in &latest {
            sqlx::query(sql(&self.queries.record_usage))
                .bind(id.as_str())
                .bind(*used_at)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}
