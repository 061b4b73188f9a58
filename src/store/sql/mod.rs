//! Keys in a SQL database: the layer SQLite and PostgreSQL share.
//!
//! One list of columns ([`columns`]) writes every statement ([`statements`]) and binds every
//! record; a [`SqlDialect`] supplies the little that differs between the databases.

mod columns;
mod dialect;
mod error;
mod names;
mod raw_record;
mod statements;
mod store;
mod table_name;
mod time;

use std::sync::Arc;

pub(crate) use columns::{Column, Value};
pub(crate) use dialect::{Dialect, Query, bound};
pub(crate) use names::{NamedRow, name_keys};
#[cfg(all(test, feature = "sqlite"))]
pub(crate) use statements::Statements;
pub(crate) use store::Writes;
pub use store::{SqlDialect, SqlStore};
pub use table_name::InvalidTableName;

/// Hands a statement to `sqlx`.
///
/// `sqlx` only accepts SQL that is a literal or explicitly vouched for. Every statement of the SQL
/// stores is a literal with a validated table name spliced in, which holds nothing but
/// `[A-Za-z0-9_]`; values always travel as bind parameters.
pub(crate) fn sql(statement: &Arc<str>) -> sqlx::AssertSqlSafe<Arc<str>> {
    sqlx::AssertSqlSafe(Arc::clone(statement))
}
