//! The task that forwards the changes announced on a table's channel to a cache.

use std::time::Duration;

use sqlx::{PgPool, postgres::PgListener};

use crate::{
    key::KeyId,
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

/// What a listener does with the cache when its connection is lost, and so notifications may be
/// missed until it is back: [`listen_invalidations_with`](crate::store::SqlStore::listen_invalidations_with).
///
/// Either way, the cache is emptied once the listener has subscribed again, since changes made in
/// between were never announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub enum OnListenerLoss {
    /// Keep serving what is cached until each entry's own time to live ends. A revocation made
    /// elsewhere while notifications are down takes effect here within the cache's time to live
    /// (30 s by default), the bound that holds without notifications; hot keys keep working
    /// through a short database outage.
    #[default]
    KeepUntilExpiry,
    /// Forget everything at once: until the listener is back, every request asks the store, so
    /// no revocation is missed even for a moment, and during a database outage every key fails
    /// closed.
    DropAll,
}

/// Subscribes to `channel`, then spawns the task that feeds `target`.
pub(super) async fn listen<I: Invalidate + Clone>(
    pool: &PgPool,
    channel: &str,
    target: &I,
    on_loss: OnListenerLoss,
) -> Result<InvalidationListener> {
    let runtime = tokio::runtime::Handle::try_current().map_err(StoreError::backend)?;
    let listener = subscribe(pool, channel).await?;
    // Anything remembered before the subscription may already be stale.
    target.invalidate_all();
    let forwarding = Forwarding {
        pool: pool.clone(),
        channel: channel.to_owned(),
        target: target.clone(),
        on_loss,
    };
    let task = runtime.spawn(forwarding.run(listener));
    Ok(InvalidationListener { task })
}

async fn subscribe(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}

/// Longest pause between attempts to subscribe again: short, because until the listener is
/// back, revocations made elsewhere are heard only through the cache's time to live. Two refused
/// connections a second are nothing to a database that is down or starting.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What the listening task needs besides its connection.
struct Forwarding<I> {
    pool: PgPool,
    channel: String,
    target: I,
    on_loss: OnListenerLoss,
}

impl<I: Invalidate> Forwarding<I> {
    async fn run(self, mut listener: PgListener) {
        let channel = &self.channel;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match notification.payload().parse::<KeyId>() {
                    Ok(id) => self.target.invalidate(&id),
                    Err(_) => {
                        tracing::warn!(
                            channel,
                            "unexpected key store notification; dropping all cached keys"
                        );
                        self.target.invalidate_all();
                    }
                },
                Err(sqlx::Error::PoolClosed) => {
                    self.target.invalidate_all();
                    return;
                }
                // `Ok(None)`: the connection was lost.
                lost => {
                    let error = lost.err().map(|error| error.to_string());
                    tracing::warn!(channel, error, on_loss = ?self.on_loss, "lost key store notifications; subscribing again");
                    if self.on_loss == OnListenerLoss::DropAll {
                        self.target.invalidate_all();
                    }
                    drop(listener);
                    let Some(again) = resubscribe(&self.pool, channel).await else {
                        self.target.invalidate_all();
                        return;
                    };
                    listener = again;
                    // Changes made while unsubscribed were never announced.
                    tracing::info!(
                        channel,
                        "key store notifications are back; dropping all cached keys once"
                    );
                    self.target.invalidate_all();
                }
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
