//! The task that forwards the changes announced on a table's channel to a cache.

use std::time::Duration;

use sqlx::{PgPool, postgres::PgListener};

use crate::{
    KeyId,
    store::{Invalidate, Result, StoreError},
};

/// The task started by [`listen_invalidations`](crate::store::SqlStore::listen_invalidations).
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

/// Subscribes to `channel`, then spawns the task that feeds `target`.
pub(super) async fn listen<I: Invalidate + Clone>(
    pool: &PgPool,
    channel: &str,
    target: &I,
) -> Result<InvalidationListener> {
    let runtime = tokio::runtime::Handle::try_current().map_err(StoreError::backend)?;
    let listener = subscribe(pool, channel).await?;
    // Anything remembered before the subscription may already be stale.
    target.invalidate_all();
    let task = runtime.spawn(forward(
        listener,
        pool.clone(),
        channel.to_owned(),
        target.clone(),
    ));
    Ok(InvalidationListener { task })
}

async fn subscribe(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

/// Longest pause between attempts to subscribe again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

async fn forward<I: Invalidate>(
    mut listener: PgListener,
    pool: PgPool,
    channel: String,
    target: I,
) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match notification.payload().parse::<KeyId>() {
                Ok(id) => target.invalidate(&id),
                Err(_) => {
                    tracing::warn!(
                        channel,
                        "unexpected key store notification; dropping all cached keys"
                    );
                    target.invalidate_all();
                }
            },
            // The connection was lost and `PgListener` has already subscribed again.
            Ok(None) => {
                tracing::warn!(
                    channel,
                    "key store notifications were interrupted; dropping all cached keys"
                );
                target.invalidate_all();
            }
            Err(sqlx::Error::PoolClosed) => {
                target.invalidate_all();
                return;
            }
            Err(error) => {
                tracing::warn!(channel, %error, "lost key store notifications; dropping all cached keys and subscribing again");
                target.invalidate_all();
                drop(listener);
                let Some(again) = resubscribe(&pool, &channel).await else {
                    return;
                };
                listener = again;
                // Changes made while unsubscribed were never announced.
                target.invalidate_all();
            }
        }
    }
}

/// Subscribes again, waiting longer after each failure; `None` once the pool is closed.
async fn resubscribe(pool: &PgPool, channel: &str) -> Option<PgListener> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        match subscribe(pool, channel).await {
            Ok(listener) => return Some(listener),
            Err(sqlx::Error::PoolClosed) => return None,
            Err(error) => {
                tracing::warn!(channel, %error, "cannot subscribe to key store notifications");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
