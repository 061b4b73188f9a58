//! Cache invalidation through Redis pub/sub: every instance announces the keys it writes on a
//! channel, and every instance's cache hears them, with no PostgreSQL connection held open.

mod announcing;
mod bounded;
mod channel;
mod error;
mod subscription;

use std::{fmt, sync::Arc};

use redis::{Client, aio::ConnectionManager};
use tokio::sync::OnceCell;

pub use announcing::Announcing;
pub use channel::InvalidChannel;

use announcing::Publisher;
use channel::ChannelName;
use subscription::PubSubChannel;

use crate::store::{Invalidate, InvalidationListener, KeyStore, OnListenerLoss, Result};

/// Where the instances of a service announce the keys they change, and hear the others do: one
/// Redis server (or the primary of a replicated one) and a channel on it.
///
/// - [`announcing`](Self::announcing) wraps the store, so that every write is announced once it
///   is stored ([`Announcing`]).
/// - [`listen`](Self::listen) subscribes to the channel on a connection of its own and drops each
///   announced key from a cache ([`CachedStore`](crate::store::CachedStore), usually), with the
///   same rules as PostgreSQL's listener when the connection is lost
///   ([`OnListenerLoss`]).
///
/// Instances share announcements exactly when they share the Redis server and the channel
/// (`formbox_auth:invalidations` unless [`with_channel`](Self::with_channel) says otherwise).
/// Pub/sub ignores the URL's database number: give two services on one Redis two channels.
///
/// Announcements are fire and forget, as Redis pub/sub is: one made while an instance is not
/// subscribed never reaches it. Its listener empties its cache once subscribed again, so what it
/// missed is read from the store; an announcement that could not be published at all is seen
/// when the cached copy expires ([`Announcing`] says more).
///
/// PostgreSQL's own `LISTEN`/`NOTIFY` (`PostgresStore::listen_invalidations`, feature
/// `postgres`) holds one database connection per instance for as long as it listens: PgBouncer in
/// transaction mode cannot carry it, and a fleet of instances spends PostgreSQL's
/// `max_connections` on it. This holds that one connection to Redis instead, and works in front of
/// any store.
///
/// Clones share the publishing connection. `Debug` shows the server's address, the database
/// number and the channel, never a user name or password from the URL.
///
/// # Example
///
/// ```
/// use formbox_auth::{store::{CachedStore, RedisInvalidation}, KeyManager, KeyStore};
///
/// /// One instance's manager over `store`, which every instance shares (a `PostgresStore`,
/// /// usually).
/// async fn manager(store: impl KeyStore) -> Result<KeyManager, Box<dyn std::error::Error>> {
///     let invalidation = RedisInvalidation::new("redis://cache.internal:6379")?
///         .with_channel("forms:api_keys")?;
///     // Writes through this instance are announced on Redis once they are stored...
///     let cache = CachedStore::new(invalidation.announcing(store));
///     // ...and what any instance announces drops the key from this instance's cache.
///     let _listener = invalidation.listen(&cache).await?;
///     Ok(KeyManager::new(cache))
/// }
/// ```
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub struct RedisInvalidation {
    client: Client,
    channel: ChannelName,
    /// Made on the first announcement, within the Tokio runtime that runs it.
    publishing: Arc<OnceCell<ConnectionManager>>,
}

impl RedisInvalidation {
    /// The channel used unless [`with_channel`](Self::with_channel) names another.
    pub const DEFAULT_CHANNEL: &str = channel::DEFAULT_CHANNEL;

    /// Announces and listens through the Redis at `url`
    /// (`redis://[user:password@]host[:port][/db]`, or `unix:///path/to/redis.sock`).
    ///
    /// Connects to nothing yet: fails only on a URL the redis client cannot use, with
    /// [`StoreError::Backend`](crate::store::StoreError::Backend).
    pub fn new(url: &str) -> Result<Self> {
        let client = Client::open(url)?;
        Ok(Self {
            client,
            channel: ChannelName::default_name(),
            publishing: Arc::default(),
        })
    }

    /// Announces and listens on the channel `name`: 1 to 128 ASCII letters, digits, `_`, `:`,
    /// `.` or `-` ([`InvalidChannel`] otherwise). Every instance must use the same one.
    pub fn with_channel(mut self, name: &str) -> Result<Self, InvalidChannel> {
        self.channel = ChannelName::new(name)?;
        Ok(self)
    }

    /// The channel announcements go to and come from.
    pub fn channel(&self) -> &str {
        self.channel.as_str()
    }

    /// `store`, with each of its writes announced on the channel once stored: see
    /// [`Announcing`]. Put the instance's own cache in front of it.
    pub fn announcing<S: KeyStore>(&self, store: S) -> Announcing<S> {
        let publisher = Publisher::new(
            self.client.clone(),
            self.channel.clone(),
            Arc::clone(&self.publishing),
        );
        Announcing::new(store, publisher)
    }

    /// Makes `target` (a [`CachedStore`](crate::store::CachedStore), usually) forget keys as
    /// soon as any instance announces them, keeping cached keys until their time to live ends
    /// when the subscription's connection is lost ([`OnListenerLoss::KeepUntilExpiry`]).
    ///
    /// It subscribes to the channel on a connection of its own (held for as long as it runs),
    /// tells `target` to forget everything, since anything it holds may already be stale, then
    /// returns a running task. That task calls [`Invalidate::invalidate`] for each announced key
    /// id, and [`Invalidate::invalidate_all`] for a message that is not a key id, and once
    /// whenever it has subscribed again after losing its connection, because announcements made
    /// in between are gone. It asks Redis every 10 s whether the connection still answers, so
    /// that a connection dropped without a word counts as lost too. After a loss it subscribes
    /// again after 100 ms, then at most every 500 ms. The task ends only when
    /// [`InvalidationListener::abort`] is called; dropping the handle leaves it running.
    ///
    /// It must be called within a Tokio runtime; an error means the first subscription failed
    /// (Redis unreachable, or refusing the credentials).
    pub async fn listen<I: Invalidate + Clone>(&self, target: &I) -> Result<InvalidationListener> {
        self.listen_with(target, OnListenerLoss::default()).await
    }

    /// Like [`listen`](Self::listen), with the choice of what a lost connection does to `target`
    /// until the listener is back.
    pub async fn listen_with<I: Invalidate + Clone>(
        &self,
        target: &I,
        on_loss: OnListenerLoss,
    ) -> Result<InvalidationListener> {
        let channel = PubSubChannel {
            client: self.client.clone(),
            channel: self.channel.clone(),
        };
        crate::store::listener::listen(channel, target, on_loss).await
    }
}

impl fmt::Debug for RedisInvalidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.client.get_connection_info();
        f.debug_struct("RedisInvalidation")
            .field("server", &format_args!("{}", info.addr()))
            .field("db", &info.redis_settings().db())
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}
