//! Keys in a SQLite database: the embedded default.

use std::collections::BTreeMap;

use sqlx::{
    Row, Sqlite, SqlitePool,
    sqlite::{SqliteQueryResult, SqliteRow},
};

use super::{
    Result,
    sql::{
        Column, Dialect, NamedRow, Query, SqlDialect, SqlStore, Value, Writes, bound, name_keys,
        sql,
    },
};
use crate::key::KeyId;

/// A store in a SQLite database, for a service that runs as one process and must keep its keys
/// across restarts.
///
/// It takes a [`SqlitePool`] and keeps its records in one table (`formbox_api_keys` unless
/// [`with_table_name`](SqlStore::with_table_name) says otherwise), which
/// [`migrate`](SqlStore::migrate) creates. Clones share the pool.
///
/// # Schema
///
/// The key id is the primary key; an index on `(organization, created_at, id)` serves
/// each [`list_page`](crate::KeyStore::list_page). Digests
/// are `BLOB`s, `revision` an `INTEGER`, and a rate limit two nullable `INTEGER`s. Timestamps are
/// `INTEGER` microseconds since the Unix epoch: SQLite has no timestamp type, and an integer
/// keeps every microsecond exactly, sorts and compares as a number (`ORDER BY`, `MAX`) and needs
/// no parsing, where text would depend on one formatting convention.
/// `datetime(created_at / 1000000, 'unixepoch')` shows one to a person.
///
/// # Speed
///
/// sqlx runs each SQLite connection on a thread of its own, so an uncached read costs two thread
/// hand-offs (tens of microseconds) more than the query. Wrap the store in a
/// [`CachedStore`](crate::store::CachedStore) so hot keys need no read at all, and build the pool with
/// `test_before_acquire(false)`: pinging an in-process database before every checkout only adds
/// another hand-off.
///
/// # Example
///
/// ```no_run
/// use formbox_auth::{store::SqliteStore, KeyStore};
/// use formbox_auth::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let options = SqliteConnectOptions::new()
///     .filename("keys.db")
///     .create_if_missing(true)
///     // Readers do not block the writer, and the other way round.
///     .journal_mode(SqliteJournalMode::Wal);
/// let store = SqliteStore::new(SqlitePool::connect_with(options).await?);
/// store.migrate().await?;
/// assert!(store.list_page(&"org_1".into(), None, 10).await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub type SqliteStore = SqlStore<Sqlite>;

/// Whether the table (`?1`) has the column `?2` yet. SQLite has no `ADD COLUMN IF NOT EXISTS`.
const HAS_COLUMN: &str = "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2";

/// Whether the index `?1` exists yet.
const HAS_INDEX: &str = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?1";

impl SqlDialect for Sqlite {}

impl Dialect for Sqlite {
    const STORE_NAME: &'static str = "SqliteStore";
    const PLACEHOLDER: char = '?';
    // STRICT makes SQLite refuse values of the wrong type instead of storing them; WITHOUT ROWID
    // keeps rows in the primary key's B-tree, so a lookup by id is one search, not two.
    const TABLE_OPTIONS: &'static str = " STRICT, WITHOUT ROWID";
    // Times are plain integers.
    const EARLIEST_MICROS: i64 = i64::MIN;

    fn declaration(column: &Column) -> &'static str {
        column.sqlite
    }

    /// SQLite has no notifications; a `SqliteStore` serves one process, whose cache is told of
    /// its changes as it makes them.
    fn announced(_: &str, write: &str) -> String {
        write.to_owned()
    }

    fn record_usage_statement(table: &str) -> String {
        // SQLite's two-argument MAX is NULL if either argument is.
        format!(
            r#"UPDATE "{table}" SET last_used_at = MAX(COALESCE(last_used_at, ?2), ?2)
                WHERE id = ?1"#
        )
    }

    fn bind(query: Query<Self>, value: Value<'_>) -> Result<Query<Self>> {
        Ok(match value {
            Value::Text(text) => query.bind(text),
            Value::OptionalText(text) => query.bind(text),
            Value::Bytes(bytes) => query.bind(bytes),
            Value::Time(micros) => query.bind(micros),
            Value::Integer(integer) => query.bind(integer),
        })
    }

    fn text(row: &SqliteRow, column: &str) -> Result<Option<String>> {
        Ok(row.try_get(column)?)
    }

    fn bytes(row: &SqliteRow, column: &str) -> Result<Option<Vec<u8>>> {
        Ok(row.try_get(column)?)
    }

    fn time(row: &SqliteRow, column: &str) -> Result<Option<i64>> {
        Ok(row.try_get(column)?)
    }

    fn integer(row: &SqliteRow, column: &str) -> Result<Option<i64>> {
        Ok(row.try_get(column)?)
    }

    async fn fetch_optional(pool: &SqlitePool, query: Query<Self>) -> Result<Option<SqliteRow>> {
        Ok(query.fetch_optional(pool).await?)
    }

    async fn fetch_all(pool: &SqlitePool, query: Query<Self>) -> Result<Vec<SqliteRow>> {
        Ok(query.fetch_all(pool).await?)
    }

    async fn execute(pool: &SqlitePool, query: Query<Self>) -> sqlx::Result<u64> {
        let done: SqliteQueryResult = query.execute(pool).await?;
        Ok(done.rows_affected())
    }
}

impl Writes for Sqlite {
    /// SQLite runs one writer at a time, and a writing statement takes the write lock before it
    /// reads anything: the statement's count and insert are one step as they are.
    async fn insert_capped(store: &SqliteStore, _: &str, query: Query<Self>) -> sqlx::Result<u64> {
        Self::execute(store.pool(), query).await
    }

    async fn migrate(store: &SqliteStore) -> Result<()> {
        let statements = store.statements();
        // IMMEDIATE takes the write lock at once, so no other connection changes the table
        // between the look for a column and its addition.
        let mut transaction = store.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(sql(&statements.create_table))
            .execute(&mut *transaction)
            .await?;
        for (column, add) in &statements.add_columns {
            let has_column: i64 = sqlx::query_scalar(HAS_COLUMN)
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
        let has_index: i64 = sqlx::query_scalar(HAS_INDEX)
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

    async fn record_usage(store: &SqliteStore, latest: &BTreeMap<KeyId, i64>) -> Result<()> {
        // One transaction per batch: one fsync instead of one per key. Its first statement is
        // a write, so it takes the write lock at once and never has to upgrade a read lock.
        let mut transaction = store.pool().begin().await?;
        for (id, &used_at) in latest {
            let values = [Value::Text(id.as_str()), Value::Time(Some(used_at))];
            bound::<Self>(&store.statements().record_usage, values)?
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod plans {
    use std::sync::Arc;

    use sqlx::{Row, sqlite::SqlitePoolOptions};

    use super::*;
    use crate::store::sql::Statements;

    /// What SQLite plans for `statement`, bound to `values`, on a table `migrate()` made.
    async fn plan(statement: impl Fn(&Statements) -> &Arc<str>, values: &[i64]) -> String {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let store = SqliteStore::new(pool.clone());
        store.migrate().await.unwrap();
        let explain = format!("EXPLAIN QUERY PLAN {}", statement(store.statements()));
        let query = values.iter().fold(
            sqlx::query(sqlx::AssertSqlSafe(explain)).bind("org_a"),
            |query, value| query.bind(*value),
        );
        let rows = query.fetch_all(&pool).await.unwrap();
        let details: Vec<String> = rows.iter().map(|row| row.get("detail")).collect();
        details.join("\n")
    }

    #[tokio::test]
    async fn a_page_is_read_through_the_organization_index_in_its_order() {
        let page = plan(|s| &s.list_page, &[1_700_000_000_000_000, 12, 10]).await;
        assert!(
            page.contains(
                "SEARCH formbox_api_keys USING INDEX formbox_api_keys_organization_idx \
                 (organization=? AND created_at<?)"
            ),
            "{page}"
        );
        assert!(
            !page.contains("TEMP B-TREE"),
            "sorted after reading: {page}"
        );
        let first = plan(|s| &s.list_first_page, &[10]).await;
        assert!(
            first.contains("USING INDEX formbox_api_keys_organization_idx (organization=?)"),
            "{first}"
        );
        assert!(
            !first.contains("TEMP B-TREE"),
            "sorted after reading: {first}"
        );
    }
}
