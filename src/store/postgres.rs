//! Keys in PostgreSQL, shared by many instances of a service.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use sqlx::{
    Decode, Encode, PgPool, Postgres, Row, Type,
    encode::IsNull,
    error::BoxDynError,
    postgres::{
        PgArgumentBuffer, PgArguments, PgHasArrayType, PgListener, PgRow, PgTypeInfo,
        PgValueFormat, PgValueRef, types::Oid,
    },
};

use super::{
    CachedStore, KeyRecord, KeyStore, KeyUsage, OrganizationId, Result, StoreError,
    sql::{COLUMNS, Columns, InvalidTableName, RawRecord, TableName, latest_use_per_key, sql},
};
use crate::KeyId;

/// A store in a PostgreSQL database, for a service that runs as many instances sharing their
/// keys.
///
/// It takes a [`PgPool`] and keeps its records in one table (`formbox_api_keys` unless
/// [`with_table_name`](Self::with_table_name) says otherwise), which [`migrate`](Self::migrate)
/// creates. Clones share the pool.
///
/// Every insert, update and delete publishes the key id on the `NOTIFY` channel named after the
/// table, in the same statement, so the notification goes out exactly when the change commits.
/// [`listen_invalidations`](Self::listen_invalidations) feeds those notifications to a
/// [`CachedStore`], so that a key revoked through one instance stops working on all of them at
/// once, not only after the cache's time to live.
///
/// # Schema
///
/// The key id (`TEXT`, byte-order collation) is the primary key; an index on
/// `(organization, created_at, id)` serves [`list`](KeyStore::list). Digests are `BYTEA` and
/// timestamps `TIMESTAMPTZ`, which keeps microseconds: the precision the store guarantees.
///
/// # Example
///
/// ```no_run
/// use formbox_auth::{
///     KeyStore,
///     store::{CachedStore, PostgresStore},
/// };
/// use sqlx::PgPool;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgPool::connect("postgres://app@localhost/app").await?;
/// let store = PostgresStore::new(pool);
/// store.migrate().await?;
///
/// // Every instance caches lookups and drops a key as soon as any instance changes it.
/// let cache = CachedStore::new(store.clone());
/// let _listener = store.listen_invalidations(&cache).await?;
/// assert!(cache.list(&"org_1".into()).await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub struct PostgresStore {
    pool: PgPool,
    table: TableName,
    queries: Arc<Queries>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

/// Every statement, written once per table name.
#[derive(Debug)]
struct Queries {
    lock: Arc<str>,
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
            // Instances that start together all migrate: without the lock, two concurrent
            // `CREATE TABLE IF NOT EXISTS` can both try to create the table, and one fails.
            lock: "SELECT pg_advisory_xact_lock(hashtext('formbox_auth.' || $1))".into(),
            // `COLLATE "C"` orders ids by their bytes, as every other store does, whatever the
            // database's locale.
            create_table: format!(
                r#"CREATE TABLE IF NOT EXISTS "{t}" (
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
                )"#
            )
            .into(),
            create_index: format!(
                r#"CREATE INDEX IF NOT EXISTS "{t}_organization_idx"
                    ON "{t}" (organization, created_at DESC, id DESC)"#
            )
            .into(),
            get: format!(r#"SELECT {COLUMNS} FROM "{t}" WHERE id = $1"#).into(),
            // Each change notifies in the statement that makes it, and only if it changed a row.
            insert: format!(
                r#"WITH inserted AS (
                    INSERT INTO "{t}" ({COLUMNS})
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    ON CONFLICT (id) DO NOTHING
                    RETURNING id
                )
                SELECT pg_notify('{t}', id) FROM inserted"#
            )
            .into(),
            update: format!(
                r#"WITH updated AS (
                    UPDATE "{t}" SET organization = $2, name = $3, permission = $4, digest = $5,
                        previous_digest = $6, previous_valid_until = $7, created_at = $8,
                        expires_at = $9, revoked_at = $10
                    WHERE id = $1
                    RETURNING id
                )
                SELECT pg_notify('{t}', id) FROM updated"#
            )
            .into(),
            // The compare-and-swap of `update_if`: $11.. are the record as it was read.
            update_if: format!(
                r#"WITH updated AS (
                    UPDATE "{t}" SET organization = $2, name = $3, permission = $4, digest = $5,
                        previous_digest = $6, previous_valid_until = $7, created_at = $8,
                        expires_at = $9, revoked_at = $10
                    WHERE id = $1 AND organization = $11 AND name = $12 AND permission = $13
                        AND digest = $14 AND previous_digest IS NOT DISTINCT FROM $15
                        AND previous_valid_until IS NOT DISTINCT FROM $16 AND created_at = $17
                        AND expires_at IS NOT DISTINCT FROM $18
                        AND revoked_at IS NOT DISTINCT FROM $19
                    RETURNING id
                )
                SELECT pg_notify('{t}', id) FROM updated"#
            )
            .into(),
            list: format!(
                r#"SELECT {COLUMNS} FROM "{t}" WHERE organization = $1
                    ORDER BY created_at DESC, id DESC"#
            )
            .into(),
            delete: format!(
                r#"WITH deleted AS (DELETE FROM "{t}" WHERE id = $1 RETURNING id)
                SELECT pg_notify('{t}', id) FROM deleted"#
            )
            .into(),
            // One statement per batch. Rows are locked in id order, so two instances flushing
            // overlapping batches at once wait for each other instead of deadlocking. GREATEST
            // ignores NULL, so a first use simply sets the column.
            record_usage: format!(
                r#"UPDATE "{t}" AS t SET last_used_at = GREATEST(t.last_used_at, u.used_at)
                FROM (
                    SELECT k.id, u.used_at
                    FROM UNNEST($1::text[], $2::timestamptz[]) AS u (id, used_at)
                    JOIN "{t}" AS k ON k.id = u.id
                    ORDER BY k.id
                    FOR UPDATE OF k
                ) AS u
                WHERE t.id = u.id"#
            )
            .into(),
        }
    }
}

impl PostgresStore {
    /// A store using the default table, `formbox_api_keys`.
    pub fn new(pool: PgPool) -> Self {
        let table = TableName::default_name();
        Self {
            pool,
            queries: Arc::new(Queries::new(&table)),
            table,
        }
    }

    /// Uses the table `name` instead, for example to keep two sets of keys in one database.
    ///
    /// The name must match `[A-Za-z_][A-Za-z0-9_]{0,62}`; it is quoted, so its case is kept. The
    /// `NOTIFY` channel has the same name, and the index is named after it, with
    /// `_organization_idx` appended.
    pub fn with_table_name(mut self, name: &str) -> Result<Self, InvalidTableName> {
        self.table = TableName::new(name)?;
        self.queries = Arc::new(Queries::new(&self.table));
        Ok(self)
    }

    /// The table the records live in, which is also the `NOTIFY` channel.
    pub fn table_name(&self) -> &str {
        self.table.as_str()
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the table and its index unless they exist. Running it again, or from several
    /// instances at once, changes nothing.
    pub async fn migrate(&self) -> Result<()> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(sql(&self.queries.lock))
            .bind(self.table.as_str())
            .execute(&mut *transaction)
            .await?;
        sqlx::query(sql(&self.queries.create_table))
            .execute(&mut *transaction)
            .await?;
        sqlx::query(sql(&self.queries.create_index))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Drops keys from `cache` as soon as any instance inserts, updates or deletes them.
    ///
    /// It subscribes to the table's `NOTIFY` channel on a connection of its own from the pool
    /// (held for as long as it runs), then returns a running task. That task calls
    /// [`CachedStore::invalidate`] for each notified key id, and [`CachedStore::invalidate_all`]
    /// whenever the connection was lost and is back, because notifications sent in between are
    /// gone. It also empties the cache when the connection drops, so during a database outage
    /// even hot keys are looked up again and fail closed, rather than being served from a cache
    /// that can no longer hear about revocations.
    /// The task ends when the pool is closed or [`InvalidationListener::abort`] is called;
    /// dropping the handle leaves it running.
    ///
    /// It must be called within a Tokio runtime; an error means the subscription failed.
    pub async fn listen_invalidations<S: KeyStore>(
        &self,
        cache: &CachedStore<S>,
    ) -> Result<InvalidationListener> {
        let runtime = tokio::runtime::Handle::try_current().map_err(StoreError::backend)?;
        let channel = self.table.as_str().to_owned();
        let listener = subscribe(&self.pool, &channel).await?;
        // Anything cached before the subscription may already be stale.
        cache.invalidate_all();
        let task = runtime.spawn(forward_invalidations(
            listener,
            self.pool.clone(),
            channel,
            cache.clone(),
        ));
        Ok(InvalidationListener { task })
    }
}

async fn subscribe(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

/// Longest pause between attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

async fn forward_invalidations<S: KeyStore>(
    mut listener: PgListener,
    pool: PgPool,
    channel: String,
    cache: CachedStore<S>,
) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match notification.payload().parse::<KeyId>() {
                Ok(id) => cache.invalidate(&id),
                Err(_) => {
                    tracing::warn!(
                        channel,
                        "unexpected key store notification; dropping all cached keys"
                    );
                    cache.invalidate_all();
                }
            },
            // The connection was lost and `PgListener` has already subscribed again.
            Ok(None) => {
                tracing::warn!(
                    channel,
                    "key store notifications were interrupted; dropping all cached keys"
                );
                cache.invalidate_all();
            }
            Err(sqlx::Error::PoolClosed) => {
                cache.invalidate_all();
                return;
            }
            Err(error) => {
                tracing::warn!(channel, %error, "lost key store notifications; dropping all cached keys and subscribing again");
                cache.invalidate_all();
                drop(listener);
                let mut backoff = FIRST_BACKOFF;
                listener = loop {
                    tokio::time::sleep(backoff).await;
                    match subscribe(&pool, &channel).await {
                        Ok(listener) => break listener,
                        Err(sqlx::Error::PoolClosed) => return,
                        Err(error) => {
                            tracing::warn!(channel, %error, "cannot subscribe to key store notifications");
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                };
                // Changes made while unsubscribed were never announced.
                cache.invalidate_all();
            }
        }
    }
}

/// The task started by [`PostgresStore::listen_invalidations`].
///
/// Dropping it leaves the task running: a cache that silently stopped hearing about revocations
/// would be worse than one that keeps listening for the life of the process.
#[derive(Debug)]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub struct InvalidationListener {
    task: tokio::task::JoinHandle<()>,
}

impl InvalidationListener {
    /// Stops listening. The cache then relies on its time to live alone.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the task has ended: aborted, or its pool was closed.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// A `TIMESTAMPTZ` as PostgreSQL sends it: microseconds since 2000-01-01 00:00 UTC.
///
/// Decoding through `time` or `chrono` would pass through calendar types whose conversions
/// panic on values outside their range (`'infinity'`, year 300000), which PostgreSQL can hold;
/// this maps the wire value to `SystemTime` exactly, with checked arithmetic.
#[derive(Debug, Clone, Copy)]
struct PgTimestamp(i64);

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// `timestamptz` and `timestamptz[]` in `pg_type`.
const TIMESTAMPTZ_OID: Oid = Oid(1184);
const TIMESTAMPTZ_ARRAY_OID: Oid = Oid(1185);

impl PgTimestamp {
    fn from_unix_micros(micros: i64) -> Result<Self> {
        micros
            .checked_sub(POSTGRES_EPOCH_MICROS)
            .map(Self)
            .ok_or_else(|| StoreError::backend("the timestamp is outside PostgreSQL's range"))
    }

    fn unix_micros(self, column: &str) -> Result<i64> {
        // PostgreSQL writes `'infinity'` and `'-infinity'` as the extreme values: no point in time.
        if self.0 == i64::MAX || self.0 == i64::MIN {
            return Err(StoreError::Decode(format!("`{column}` is infinite")));
        }
        self.0
            .checked_add(POSTGRES_EPOCH_MICROS)
            .ok_or_else(|| StoreError::Decode(format!("`{column}` is out of range")))
    }
}

impl Type<Postgres> for PgTimestamp {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(TIMESTAMPTZ_OID)
    }
}

impl PgHasArrayType for PgTimestamp {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(TIMESTAMPTZ_ARRAY_OID)
    }
}

impl Encode<'_, Postgres> for PgTimestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl Decode<'_, Postgres> for PgTimestamp {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => <i64 as Decode<'_, Postgres>>::decode(value).map(Self),
            PgValueFormat::Text => Err("a timestamp arrived in text format".into()),
        }
    }
}

fn timestamp(micros: i64) -> Result<PgTimestamp> {
    PgTimestamp::from_unix_micros(micros)
}

fn optional_timestamp(micros: Option<i64>) -> Result<Option<PgTimestamp>> {
    micros.map(timestamp).transpose()
}

fn decode(row: &PgRow) -> Result<KeyRecord> {
    let required = |column: &str| -> Result<i64> {
        row.try_get::<PgTimestamp, _>(column)?.unix_micros(column)
    };
    let optional = |column: &str| -> Result<Option<i64>> {
        row.try_get::<Option<PgTimestamp>, _>(column)?
            .map(|time| time.unix_micros(column))
            .transpose()
    };
    RawRecord {
        id: row.try_get("id")?,
        organization: row.try_get("organization")?,
        name: row.try_get("name")?,
        permission: row.try_get("permission")?,
        digest: row.try_get("digest")?,
        previous_digest: row.try_get("previous_digest")?,
        previous_valid_until: optional("previous_valid_until")?,
        created_at: required("created_at")?,
        expires_at: optional("expires_at")?,
        revoked_at: optional("revoked_at")?,
        last_used_at: optional("last_used_at")?,
    }
    .into_record()
}

/// A statement of this store with its arguments.
type Statement<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds what `update` writes, in the order the statements list them: every column but the id
/// and `last_used_at`.
fn bind_fields<'q>(query: Statement<'q>, c: &Columns<'_>) -> Result<Statement<'q>> {
    Ok(query
        .bind(c.organization)
        .bind(c.name)
        .bind(c.permission)
        .bind(c.digest)
        .bind(c.previous_digest)
        .bind(optional_timestamp(c.previous_valid_until)?)
        .bind(timestamp(c.created_at)?)
        .bind(optional_timestamp(c.expires_at)?)
        .bind(optional_timestamp(c.revoked_at)?))
}

#[async_trait]
impl KeyStore for PostgresStore {
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
        let inserted = bind_fields(query, &c)?
            .bind(optional_timestamp(c.last_used_at)?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(inserted.is_some())
    }

    async fn update(&self, record: &KeyRecord) -> Result<bool> {
        let c = Columns::new(record)?;
        let query = sqlx::query(sql(&self.queries.update)).bind(c.id);
        let updated = bind_fields(query, &c)?.fetch_optional(&self.pool).await?;
        Ok(updated.is_some())
    }

    async fn update_if(&self, current: &KeyRecord, new: &KeyRecord) -> Result<bool> {
        let (c, n) = (Columns::new(current)?, Columns::new(new)?);
        if c.id != n.id {
            return Ok(false);
        }
        // The new record's fields, then the ones it must find in place.
        let query = sqlx::query(sql(&self.queries.update_if)).bind(n.id);
        let updated = bind_fields(bind_fields(query, &n)?, &c)?
            .fetch_optional(&self.pool)
            .await?;
        Ok(updated.is_some())
    }

    async fn list(&self, organization: &OrganizationId) -> Result<Vec<KeyRecord>> {
        let rows = sqlx::query(sql(&self.queries.list))
            .bind(organization.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn delete(&self, id: &KeyId) -> Result<bool> {
        let deleted = sqlx::query(sql(&self.queries.delete))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(deleted.is_some())
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        let latest = latest_use_per_key(usage)?;
        if latest.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = latest.keys().map(KeyId::as_str).collect();
        let times = latest
            .values()
            .map(|&micros| timestamp(micros))
            .collect::<Result<Vec<_>>>()?;
        sqlx::query(sql(&self.queries.record_usage))
            .bind(ids)
            .bind(times)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
