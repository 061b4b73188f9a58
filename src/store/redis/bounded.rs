//! Redis calls that give up after a while, so that a server that stopped answering (a dropped
//! route, a paused process) is noticed rather than waited on forever.

use std::{io, time::Duration};

use redis::{RedisError, RedisResult};

/// `call`, or a timeout error naming `what` once `limit` has passed.
pub(super) async fn bounded<T>(
    limit: Duration,
    what: &str,
    call: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(answer) => answer,
        Err(_) => Err(RedisError::from(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: no answer within {} ms", limit.as_millis()),
        ))),
    }
}
