//! The task that forwards announced key changes to a cache, whatever carries them: PostgreSQL's
//! `LISTEN`/`NOTIFY` (feature `postgres`) or Redis pub/sub (feature `redis`).
//!
//! The rules for a lost connection live here once: subscribe again after 100 ms, doubling to at
//! most 500 ms between attempts, and empty the cache once subscribed again, since whatever was
//! announced in between is gone. With `OnListenerLoss::DropAll`, the cache is also emptied at the
//! loss and before every attempt, so nothing read while deaf is served for long.

use std::{fmt, time::Duration};

use crate::{
    key::KeyId,
    store::{Invalidate, Result, StoreError},
};

/// The task started by `PostgresStore::listen_invalidations` (feature `postgres`) or
/// `RedisInvalidation::listen` (feature `redis`).
///
/// Dropping it leaves the task running: a cache that silently stopped hearing about revocations
/// would be worse than one that keeps listening for the life of the process.
#[derive(Debug)]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "redis"))))]
pub struct InvalidationListener {
    task: tokio::task::JoinHandle<()>,
}

impl InvalidationListener {
    /// Stops listening. The cache then relies on its time to live alone.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the task has ended: aborted, or, for PostgreSQL, its pool was closed.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// What a listener does with the cache when its connection is lost, and so announcements may be
/// missed until it is back: `PostgresStore::listen_invalidations_with` (feature `postgres`),
/// `RedisInvalidation::listen_with` (feature `redis`).
///
/// Either way, the cache is emptied once the listener has subscribed again, since changes made in
/// between were never announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "redis"))))]
pub enum OnListenerLoss {
    /// Keep serving what is cached until each entry's own time to live ends. A revocation made
    /// elsewhere while announcements are down takes effect here within the cache's time to live
    /// (30 s by default), the bound that holds without announcements; hot keys keep working
    /// through a short outage.
    #[default]
    KeepUntilExpiry,
    /// Forget everything at once, and again before each attempt to subscribe (at most 500 ms
    /// apart) until the listener is back: a revocation made elsewhere meanwhile takes effect here
    /// within half a second instead of the time to live, and during a database outage every key
    /// fails closed.
    DropAll,
}

/// A channel that announces the ids of changed keys, and can be subscribed to again after its
/// connection was lost.
pub(crate) trait Announcements: Send + Sync + 'static {
    /// One subscription: a connection that receives what is announced.
    type Subscription: Send + 'static;
    /// Why subscribing failed.
    type Error: fmt::Display + Into<StoreError> + Send;

    /// The channel's name, for the log.
    fn channel(&self) -> &str;

    /// Subscribes on a connection of its own.
    fn subscribe(
        &self,
    ) -> impl Future<Output = Result<Self::Subscription, Refused<Self::Error>>> + Send;

    /// Waits for what `subscription` hears next.
    fn next(&self, subscription: &mut Self::Subscription) -> impl Future<Output = Heard> + Send;
}

/// What a subscription heard.
pub(crate) enum Heard {
    /// An announcement: a key id, or something else, which leaves every key in doubt.
    Payload(String),
    /// The connection was lost, with why when that is known: announcements may be missed until
    /// the listener has subscribed again.
    Lost(Option<String>),
    /// The source was closed for good (its pool): nothing can subscribe again.
    // Only a PostgreSQL pool closes; a Redis client can always connect again.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Closed,
}

/// Why subscribing failed.
pub(crate) enum Refused<E> {
    /// The source was closed for good (its pool): trying again is pointless.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Closed(E),
    /// This attempt failed; a later one may succeed.
    Failed(E),
}

impl<E> Refused<E> {
    fn into_error(self) -> E {
        match self {
            Self::Closed(error) | Self::Failed(error) => error,
        }
    }
}

/// Subscribes to `announcements`, then spawns the task that feeds `target`.
pub(crate) async fn listen<A: Announcements, I: Invalidate + Clone>(
    announcements: A,
    target: &I,
    on_loss: OnListenerLoss,
) -> Result<InvalidationListener> {
    let runtime = tokio::runtime::Handle::try_current().map_err(StoreError::backend)?;
    let subscription = announcements
        .subscribe()
        .await
        .map_err(|refused| refused.into_error().into())?;
    // Anything remembered before the subscription may already be stale.
    target.invalidate_all();
    let forwarding = Forwarding {
        announcements,
        target: target.clone(),
        on_loss,
    };
    let task = runtime.spawn(forwarding.run(subscription));
    Ok(InvalidationListener { task })
}

/// Longest pause between attempts to subscribe again: short, because until the listener is
/// back, revocations made elsewhere are heard only through the cache's time to live. Two refused
/// connections a second are nothing to a server that is down or starting.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What the listening task needs besides its subscription.
struct Forwarding<A, I> {
    announcements: A,
    target: I,
    on_loss: OnListenerLoss,
}

impl<A: Announcements, I: Invalidate> Forwarding<A, I> {
    async fn run(self, mut subscription: A::Subscription) {
        let channel = self.announcements.channel();
        loop {
            match self.announcements.next(&mut subscription).await {
                Heard::Payload(payload) => match payload.parse::<KeyId>() {
                    Ok(id) => self.target.invalidate(&id),
                    Err(_) => {
                        tracing::warn!(
                            channel,
                            "unexpected key store notification; dropping all cached keys"
                        );
                        self.target.invalidate_all();
                    }
                },
                Heard::Closed => {
                    self.target.invalidate_all();
                    return;
                }
                Heard::Lost(error) => {
                    tracing::warn!(channel, error, on_loss = ?self.on_loss, "lost key store notifications; subscribing again");
                    if self.on_loss == OnListenerLoss::DropAll {
                        self.target.invalidate_all();
                    }
                    drop(subscription);
                    let Some(again) = self.resubscribe().await else {
                        self.target.invalidate_all();
                        return;
                    };
                    subscription = again;
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

    /// Subscribes again, waiting longer after each failure; `None` once the source is closed.
    async fn resubscribe(&self) -> Option<A::Subscription> {
        let channel = self.announcements.channel();
        let mut backoff = FIRST_BACKOFF;
        loop {
            tokio::time::sleep(backoff).await;
            // What was read since the last emptying may have changed unannounced.
            if self.on_loss == OnListenerLoss::DropAll {
                self.target.invalidate_all();
            }
            match self.announcements.subscribe().await {
                Ok(subscription) => return Some(subscription),
                Err(Refused::Closed(_)) => return None,
                Err(Refused::Failed(error)) => {
                    tracing::warn!(channel, %error, "cannot subscribe to key store notifications");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}
