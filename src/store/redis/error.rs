//! How a failure of the redis client reaches the crate.

use crate::store::StoreError;

impl From<redis::RedisError> for StoreError {
    /// [`StoreError::Backend`], keeping what the client said (a timeout included, so that the
    /// message names the command that went unanswered).
    fn from(error: redis::RedisError) -> Self {
        Self::Backend(Box::new(error))
    }
}
