//! How a failure of sqlx reaches the crate.

use crate::store::StoreError;

impl From<sqlx::Error> for StoreError {
    /// A pool that found no connection in time is [`StoreError::Timeout`], a value that does not
    /// decode is [`StoreError::Decode`], and everything else is [`StoreError::Backend`].
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => Self::Timeout,
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::TypeNotFound { .. } => Self::Decode(error.to_string()),
            error => Self::Backend(Box::new(error)),
        }
    }
}

/// Whether `error` is a write refused by the unique index `index`, the one on name keys: an
/// answer ([`NameTaken`](crate::store::Inserted::NameTaken)), not a failure. PostgreSQL names the
/// index; SQLite names its columns (`UNIQUE constraint failed: t.organization, t.name_key`).
pub(crate) fn refused_by_name_index(error: &sqlx::Error, index: &str) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    error.kind() == sqlx::error::ErrorKind::UniqueViolation
        && match error.constraint() {
            Some(constraint) => constraint == index,
            None => error.message().ends_with(".name_key"),
        }
}
