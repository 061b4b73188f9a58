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
