//! What differs between the databases a [`SqlStore`](super::SqlStore) runs on.

use std::{future::Future, sync::Arc};

use sqlx::{Database, Pool};

use super::{Column, Value, sql};
use crate::store::Result;

/// A statement with the values bound so far.
pub(crate) type Query<DB> = sqlx::query::Query<'static, DB, <DB as Database>::Arguments>;

/// Everything in which the databases differ. The rest of the SQL layer is written once, against
/// this: in particular it never names a sqlx type that needs bounds only a concrete database
/// meets.
pub trait Dialect: Database {
    /// The name `Debug` shows for the store.
    const STORE_NAME: &'static str;
    /// What precedes a bind parameter's position, as in `?1` or `$1`.
    const PLACEHOLDER: char;
    /// What follows the column list of `CREATE TABLE`.
    const TABLE_OPTIONS: &'static str;
    /// The earliest time a time column holds, in Unix microseconds: no key was created before,
    /// and a time before it may not even be sent as a parameter.
    const EARLIEST_MICROS: i64;

    /// `column`'s type and constraints.
    fn declaration(column: &Column) -> &'static str;

    /// `write`, a statement that changes one row of `table`, made to also announce the change to
    /// other instances, in the same statement.
    fn announced(table: &str, write: &str) -> String;

    /// The statement [`record_usage`](Self::record_usage) runs.
    fn record_usage_statement(table: &str) -> String;

    /// `query` with `value` bound as its next parameter.
    fn bind(query: Query<Self>, value: Value<'_>) -> Result<Query<Self>>;

    /// A `TEXT` column of `row`.
    fn text(row: &Self::Row, column: &str) -> Result<Option<String>>;
    /// A `BLOB` or `BYTEA` column of `row`.
    fn bytes(row: &Self::Row, column: &str) -> Result<Option<Vec<u8>>>;
    /// A time column of `row`, in whole microseconds since the Unix epoch.
    fn time(row: &Self::Row, column: &str) -> Result<Option<i64>>;
    /// An integer column of `row`.
    fn integer(row: &Self::Row, column: &str) -> Result<Option<i64>>;

    /// The row `query` reads, if any.
    fn fetch_optional(
        pool: &Pool<Self>,
        query: Query<Self>,
    ) -> impl Future<Output = Result<Option<Self::Row>>> + Send;
    /// Every row `query` reads.
    fn fetch_all(
        pool: &Pool<Self>,
        query: Query<Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>>> + Send;
    /// Runs `query`, a write, and counts the rows it changed. The error is sqlx's own, so that a
    /// write refused by the name index can be told from a failure.
    fn execute(
        pool: &Pool<Self>,
        query: Query<Self>,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send;
}

/// `statement` with `values` bound in order: the one place a statement gets its values.
pub(crate) fn bound<'a, DB: Dialect>(
    statement: &Arc<str>,
    values: impl IntoIterator<Item = Value<'a>>,
) -> Result<Query<DB>> {
    values
        .into_iter()
        .try_fold(sqlx::query(sql(statement)), DB::bind)
}
