//! Keys in PostgreSQL, shared by many instances of a service.

mod listener;
mod queries;
mod timestamp;

use std::collections::BTreeMap;

use sqlx::{
    PgPool, Postgres, Row,
    postgres::{PgQueryResult, PgRow},
};

use listener::TableChannel;
use timestamp::PgTimestamp;

use super::{
    Invalidate, InvalidationListener, OnListenerLoss, Result,
    sql::{Column, Dialect, NamedRow, Query, SqlDialect, SqlStore, Value, Writes, name_keys, sql},
};
use crate::key::KeyId;

/// A store in a PostgreSQL database, for a service that runs as many instances sharing their
/// keys.
///
/// It takes a [`PgPool`] and keeps its records in one table (`formbox_api_keys` unless
/// [`with_table_name`](SqlStore::with_table_name) says otherwise), which
/// [`migrate`](SqlStore::migrate) creates. Clones share the pool.
///
/// Every insert and update publishes the key id on the `NOTIFY` channel named after the table, in
/// the same statement, so the notification goes out exactly when the change commits.
/// [`listen_invalidations`](SqlStore::listen_invalidations) feeds those notifications to a
/// [`CachedStore`](crate::store::CachedStore), so that a key revoked through one instance stops working
/// on all of them at once, not only after the cache's time to live.
///
/// # Schema
///
/// The key id (`TEXT`, byte-order collation) is the primary key; an index on
/// `(organization, created_at, id)` serves each
/// [`list_page`](crate::KeyStore::list_page). Digests are `BYTEA`,
/// `revision` and the rate limit's two nullable columns `BIGINT`, and timestamps `TIMESTAMPTZ`,
/// which keeps microseconds: the precision the store guarantees.
///
/// # Example
///
/// ```no_run
/// use formbox_auth::{store::{CachedStore, PostgresStore}, KeyStore};
/// use formbox_auth::sqlx::PgPool;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgPool::connect("postgres://app@localhost/app").await?;
/// let store = PostgresStore::new(pool);
/// store.migrate().await?;
///
/// // Every instance caches lookups and drops a key as soon as any instance changes it.
/// let cache = CachedStore::new(store.clone());
/// let _listener = store.listen_invalidations(&cache).await?;
/// assert!(cache.list_page(&"org_1".into(), None, 10).await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub type PostgresStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    /// Makes `target` (a [`CachedStore`](crate::store::CachedStore), usually) forget keys as soon as any
    /// instance inserts or updates them, keeping cached keys until their time to live ends when
    /// the listener's connection is lost ([`OnListenerLoss::KeepUntilExpiry`]).
    ///
    /// It subscribes to the table's `NOTIFY` channel on a connection of its own from the pool
    /// (held for as long as it runs), tells `target` to forget everything, since anything it
    /// holds may already be stale, then returns a running task. That task calls
    /// [`Invalidate::invalidate`] for each notified key id, and [`Invalidate::invalidate_all`]
    /// for a notification that is not a key id, and once whenever it has subscribed again after
    /// losing its connection, because notifications sent in between are gone. The task ends when
    /// the pool is closed or [`InvalidationListener::abort`] is called; dropping the handle leaves
    /// it running.
    ///
    /// It must be called within a Tokio runtime; an error means the subscription failed.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn listen_invalidations<I: Invalidate + Clone>(
        &self,
        target: &I,
    ) -> Result<InvalidationListener> {
        self.listen_invalidations_with(target, OnListenerLoss::default())
            .await
    }

    /// Like [`listen_invalidations`](Self::listen_invalidations), with the choice of what a lost
    /// connection does to `target` until the listener is back.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn listen_invalidations_with<I: Invalidate + Clone>(
        &self,
        target: &I,
        on_loss: OnListenerLoss,
    ) -> Result<InvalidationListener> {
        let channel = TableChannel {
            pool: self.pool().clone(),
            channel: self.table_name().to_owned(),
        };
        super::listener::listen(channel, target, on_loss).await
    }
}

impl SqlDialect for Postgres {}

impl Dialect for Postgres {
    const STORE_NAME: &'static str = "PostgresStore";
    const PLACEHOLDER: char = '$';
    const TABLE_OPTIONS: &'static str = "";
    /// `TIMESTAMPTZ` starts at 4714-11-24 BC; PostgreSQL refuses earlier parameters.
    const EARLIEST_MICROS: i64 = -210_866_803_200_000_000;

    fn declaration(column: &Column) -> &'static str {
        column.postgres
    }

    fn announced(table: &str, write: &str) -> String {
        queries::announced(table, write)
    }

    fn record_usage_statement(table: &str) -> String {
        queries::record_usage(table)
    }

    fn bind(query: Query<Self>, value: Value<'_>) -> Result<Query<Self>> {
        Ok(match value {
            Value::Text(text) => query.bind(text),
            Value::OptionalText(text) => query.bind(text),
            Value::Bytes(bytes) => query.bind(bytes),
            Value::Time(micros) => {
                query.bind(micros.map(PgTimestamp::from_unix_micros).transpose()?)
            }
            Value::Integer(integer) => query.bind(integer),
        })
    }

    fn text(row: &PgRow, column: &str) -> Result<Option<String>> {
        Ok(row.try_get(column)?)
    }

    fn bytes(row: &PgRow, column: &str) -> Result<Option<Vec<u8>>> {
        Ok(row.try_get(column)?)
    }

    fn time(row: &PgRow, column: &str) -> Result<Option<i64>> {
        row.try_get::<Option<PgTimestamp>, _>(column)?
            .map(|time| time.unix_micros(column))
            .transpose()
    }

    fn integer(row: &PgRow, column: &str) -> Result<Option<i64>> {
        Ok(row.try_get(column)?)
    }

    async fn fetch_optional(pool: &PgPool, query: Query<Self>) -> Result<Option<PgRow>> {
        Ok(query.fetch_optional(pool).await?)
    }

    async fn fetch_all(pool: &PgPool, query: Query<Self>) -> Result<Vec<PgRow>> {
        Ok(query.fetch_all(pool).await?)
    }

    /// A write that announces itself selects one row per row it changed, and PostgreSQL reports
    /// that count.
    async fn execute(pool: &PgPool, query: Query<Self>) -> sqlx::Result<u64> {
        let done: PgQueryResult = query.execute(pool).await?;
        Ok(done.rows_affected())
    }
}

impl Writes for Postgres {
    /// Under `READ COMMITTED`, two capped inserts can each count before the other's row is
    /// committed, and both insert. A lock on the table and organization, taken first and released
    /// when the insert commits, makes them queue: the second counts what the first wrote.
    async fn insert_capped(
        store: &PostgresStore,
        organization: &str,
        query: Query<Self>,
    ) -> sqlx::Result<u64> {
        let mut transaction = store.pool().begin().await?;
        sqlx::query(queries::ORGANIZATION_LOCK)
            .bind(store.table_name())
            .bind(organization)
            .execute(&mut *transaction)
            .await?;
        let done: PgQueryResult = query.execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(done.rows_affected())
    }

    async fn migrate(store: &PostgresStore) -> Result<()> {
        let statements = store.statements();
        let mut transaction = store.pool().begin().await?;
        sqlx::query(queries::LOCK)
            .bind(store.table_name())
            .execute(&mut *transaction)
            .await?;
        sqlx::query(sql(&statements.create_table))
            .execute(&mut *transaction)
            .await?;
        for (column, add) in &statements.add_columns {
            let has_column: i64 = sqlx::query_scalar(queries::HAS_COLUMN)
                .bind(store.table_name())
                .bind(*column)
                .fetch_one(&mut *transaction)
                .await?;
            if has_column == 0 {
                sqlx::query(sql(add)).execute(&mut *transaction).await?;
            }
        }
        sqlx::query(sql(&statements.create_index))
            .execute(&mut *transaction)
            .await?;
        let has_index: i64 = sqlx::query_scalar(queries::HAS_INDEX)
            .bind(&*statements.name_index)
            .fetch_one(&mut *transaction)
            .await?;
        if has_index == 0 {
            let rows = sqlx::query(sql(&statements.read_names))
                .fetch_all(&mut *transaction)
                .await?;
            let rows = rows.iter().map(NamedRow::read::<Self>);
            for (id, name_key) in name_keys(rows.collect::<Result<_>>()?) {
                sqlx::query(sql(&statements.set_name_key))
                    .bind(name_key)
                    .bind(id)
                    .execute(&mut *transaction)
                    .await?;
            }
            sqlx::query(sql(&statements.create_name_index))
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn record_usage(store: &PostgresStore, latest: &BTreeMap<KeyId, i64>) -> Result<()> {
        let ids: Vec<&str> = latest.keys().map(KeyId::as_str).collect();
        let times = latest
            .values()
            .map(|&micros| PgTimestamp::from_unix_micros(micros))
            .collect::<Result<Vec<_>>>()?;
        sqlx::query(sql(&store.statements().record_usage))
            .bind(ids)
            .bind(times)
            .execute(store.pool())
            .await?;
        Ok(())
    }
}
