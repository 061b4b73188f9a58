//! The SQL store, written once for every [`SqlDialect`].

use std::{collections::BTreeMap, fmt, future::Future, sync::Arc};

use async_trait::async_trait;
use sqlx::Pool;

use super::{
    Dialect, Query, Value, bound,
    columns::{Derived, revision, updated_values, values},
    error::refused_by_name_index,
    raw_record::RawRecord,
    statements::Statements,
    table_name::{InvalidTableName, TableName},
    time::unix_micros,
};
use crate::{
    key::KeyId,
    record::{KeyRecord, OrganizationId},
    store::{ActiveKeyLimit, Inserted, KeyStore, KeyUsage, ListCursor, Result, Updated},
};

/// A database a [`SqlStore`] can keep keys in.
///
/// The trait is sealed: it is implemented for `sqlx::Sqlite` (feature `sqlite`), which makes
/// `SqliteStore`, and for `sqlx::Postgres` (feature `postgres`), which makes `PostgresStore`, and
/// cannot be implemented outside this crate. What a database must provide is then free to change
/// without a breaking release.
pub trait SqlDialect: Dialect + Writes {}

/// What a database does with a whole store: the writes that take more than one statement or a
/// lock of the database's own.
pub trait Writes: Dialect {
    /// Runs `query`, the capped insert of a record of `organization`, so that its count and its
    /// insert are one step among all capped inserts, and counts the rows it inserted:
    /// [`KeyStore::insert`](crate::KeyStore::insert) with a limit. The error is sqlx's own, as
    /// [`Dialect::execute`]'s.
    fn insert_capped(
        store: &SqlStore<Self>,
        organization: &str,
        query: Query<Self>,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send
    where
        Self: SqlDialect;

    /// Creates or upgrades `store`'s table: [`SqlStore::migrate`].
    fn migrate(store: &SqlStore<Self>) -> impl Future<Output = Result<()>> + Send
    where
        Self: SqlDialect;

    /// Moves each key's `last_used_at` forward to its latest use, given in id order as Unix
    /// microseconds: [`KeyStore::record_usage`](crate::store::KeyStore::record_usage).
    fn record_usage(
        store: &SqlStore<Self>,
        latest: &BTreeMap<KeyId, i64>,
    ) -> impl Future<Output = Result<()>> + Send
    where
        Self: SqlDialect;
}

/// Keys in a SQL database, through sqlx: `SqliteStore` (feature `sqlite`) or `PostgresStore`
/// (feature `postgres`), whose pages say what each database adds.
///
/// It takes a pool and keeps its records in one table (`formbox_api_keys` unless
/// [`with_table_name`](Self::with_table_name) says otherwise), which [`migrate`](Self::migrate)
/// creates. Clones share the pool.
///
/// # Schema
///
/// The key id is the primary key; an index on `(organization, created_at, id)` serves
/// each [`list_page`](KeyStore::list_page). Digests are binary,
/// times keep whole microseconds, `revision` is the integer that makes
/// [`update`](KeyStore::update) a compare-and-swap, and a key's rate limit is two nullable
/// integers, `rate_limit_requests` and `rate_limit_per_seconds`, both null (no limit) or both
/// set. A row holding anything else is a [`StoreError::Decode`](crate::store::StoreError::Decode).
///
/// `name_key` holds each key's [name key](KeyRecord::name_key), computed by the crate (SQL's
/// `lower()` does not lowercase and normalize Unicode the same way), and a partial unique index
/// on `(organization, name_key) WHERE revoked_at IS NULL` keeps names unique among an
/// organization's keys that are not revoked: a write it refuses is `NameTaken`, not an error.
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub struct SqlStore<DB: SqlDialect> {
    pool: Pool<DB>,
    table: TableName,
    statements: Arc<Statements>,
}

impl<DB: SqlDialect> SqlStore<DB> {
    /// A store using the default table, `formbox_api_keys`.
    pub fn new(pool: Pool<DB>) -> Self {
        Self::with_table(pool, TableName::default_name())
    }

    /// Uses the table `name` instead, for example to keep two sets of keys in one database.
    ///
    /// The name must match `[A-Za-z_][A-Za-z0-9_]{0,62}`. The indexes are named after it, with
    /// `_organization_idx` and `_name_key_idx` appended (for a name too long for PostgreSQL's 63
    /// bytes, the second keeps the name's start and a checksum of all of it). In PostgreSQL, where the quoted name keeps its case, the
    /// `NOTIFY` channel has the same name.
    pub fn with_table_name(self, name: &str) -> Result<Self, InvalidTableName> {
        Ok(Self::with_table(self.pool, TableName::new(name)?))
    }

    fn with_table(pool: Pool<DB>, table: TableName) -> Self {
        Self {
            statements: Arc::new(Statements::new::<DB>(&table)),
            pool,
            table,
        }
    }

    /// The table the records live in.
    pub fn table_name(&self) -> &str {
        self.table.as_str()
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// Creates the table and its indexes unless they exist, and upgrades an older table by
    /// adding the columns it lacks: `revision` (a table of version 0.1), at `0` for every key,
    /// the rate limit's two columns, null for every key, so no existing key gets a limit, and
    /// `name_key`. Running it again, or from several instances at once, changes nothing.
    ///
    /// Before it builds the unique index on name keys, it computes every key's name key (in
    /// Rust: SQL's `lower()` is not the crate's comparison). Where an older version let two keys
    /// of an organization that are not revoked share a name key, the oldest (by `created_at`,
    /// then id) keeps it and each later one gets none (`NULL`): it keeps working, regenerations
    /// and revocations included, stays outside the uniqueness, and gets its name key when it is
    /// next renamed, into a name no other active key has.
    ///
    /// Instances of an older version still running against an upgraded table keep working, but
    /// their changes neither set nor clear rate limits, their new keys and renames leave name
    /// keys unset or stale, and those of 0.1 do not move revisions: finish a rolling upgrade
    /// before two instances may change one key at the same time or keys are created and renamed.
    pub async fn migrate(&self) -> Result<()> {
        DB::migrate(self).await
    }

    pub(crate) fn statements(&self) -> &Statements {
        &self.statements
    }
}

impl<DB: SqlDialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            table: self.table.clone(),
            statements: Arc::clone(&self.statements),
        }
    }
}

impl<DB: SqlDialect> fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(DB::STORE_NAME)
            .field("pool", &self.pool)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// What a write did: changed rows, or nothing, refused by the name index.
enum Written {
    Rows(u64),
    NameTaken,
}

impl<DB: SqlDialect> SqlStore<DB> {
    /// The outcome of a write: a refusal by the name index is an answer, any other error a
    /// failure.
    fn written(&self, outcome: sqlx::Result<u64>) -> Result<Written> {
        match outcome {
            Ok(rows) => Ok(Written::Rows(rows)),
            Err(error) if refused_by_name_index(&error, &self.statements.name_index) => {
                Ok(Written::NameTaken)
            }
            Err(error) => Err(error.into()),
        }
    }
}

fn decode<DB: Dialect>(row: &DB::Row) -> Result<KeyRecord> {
    RawRecord::read::<DB>(row)?.into_record()
}

#[async_trait]
impl<DB: SqlDialect> KeyStore for SqlStore<DB> {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        let query = bound(&self.statements.get, [Value::Text(id.as_str())])?;
        let row = DB::fetch_optional(&self.pool, query).await?;
        row.as_ref().map(decode::<DB>).transpose()
    }

    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let derived = Derived::of(record);
        let values = values(record, &derived)?;
        let written = match limit {
            None => {
                let query = bound(&self.statements.insert, values)?;
                self.written(DB::execute(&self.pool, query).await)?
            }
            Some(limit) => {
                let counted = [
                    Value::Time(Some(unix_micros(limit.at)?)),
                    Value::Integer(Some(i64::from(limit.max))),
                ];
                let statement = &self.statements.insert_capped;
                let query = bound(statement, values.into_iter().chain(counted))?;
                let organization = record.organization.as_str();
                self.written(DB::insert_capped(self, organization, query).await)?
            }
        };
        let refused = match written {
            Written::Rows(0) if limit.is_some() => Inserted::LimitReached,
            Written::Rows(0) => return Ok(Inserted::IdTaken),
            Written::Rows(_) => return Ok(Inserted::Stored),
            Written::NameTaken => Inserted::NameTaken,
        };
        // The id, the limit or the name stood in the way, and which one the database does not
        // always say: a taken id does, whatever else. Ids are never deleted, so one that exists
        // now existed then.
        let query = bound(&self.statements.get, [Value::Text(record.id.as_str())])?;
        Ok(match DB::fetch_optional(&self.pool, query).await? {
            Some(_) => Inserted::IdTaken,
            None => refused,
        })
    }

    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        let found_by = [
            Value::Text(record.id.as_str()),
            Value::Integer(Some(revision(expected_revision)?)),
        ];
        let derived = Derived::of(record);
        let query = bound(
            &self.statements.update,
            updated_values(record, &derived)?.chain(found_by),
        )?;
        Ok(match self.written(DB::execute(&self.pool, query).await)? {
            Written::Rows(0) => Updated::Stale,
            Written::Rows(_) => Updated::Stored,
            Written::NameTaken => Updated::NameTaken,
        })
    }

    /// One keyset query, which reads only the page through the organization's index.
    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let organization = Value::Text(organization.as_str());
        // More rows than an i64 counts are all the rows.
        let limit = Value::Integer(Some(i64::try_from(limit).unwrap_or(i64::MAX)));
        let query = match after.map(position_in::<DB>) {
            None => bound(&self.statements.list_first_page, [organization, limit])?,
            Some(Position::BeforeEveryKey) => return Ok(Vec::new()),
            Some(Position::At(at, id)) => {
                let position = [Value::Time(Some(at)), Value::Text(id.as_str())];
                let values = [organization].into_iter().chain(position).chain([limit]);
                bound(&self.statements.list_page, values)?
            }
        };
        let rows = DB::fetch_all(&self.pool, query).await?;
        rows.iter().map(decode::<DB>).collect()
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        let latest = latest_use_per_key(usage)?;
        if latest.is_empty() {
            return Ok(());
        }
        DB::record_usage(self, &latest).await
    }
}

/// Where a [`ListCursor`] falls among the times a table can hold.
enum Position {
    /// Earlier than any time a key can have: no key comes after it.
    BeforeEveryKey,
    /// A time, in Unix microseconds, and an id, to bind.
    At(i64, KeyId),
}

/// A cursor before the earliest time a column holds has an answer without a query, where the
/// database might refuse the parameter. (A cursor's time is always within an `i64` of
/// microseconds, which every column reaches on the late side.)
fn position_in<DB: Dialect>(after: &ListCursor) -> Position {
    match after.unix_micros() {
        at if at < DB::EARLIEST_MICROS => Position::BeforeEveryKey,
        at => Position::At(at, after.id()),
    }
}

/// The latest use of each key in a batch, in id order (the order rows are locked in), as Unix
/// microseconds.
fn latest_use_per_key(usage: &[KeyUsage]) -> Result<BTreeMap<KeyId, i64>> {
    let mut latest = BTreeMap::new();
    for use_ in usage {
        let used_at = unix_micros(use_.used_at)?;
        latest
            .entry(use_.id)
            .and_modify(|known: &mut i64| *known = (*known).max(used_at))
            .or_insert(used_at);
    }
    Ok(latest)
}
