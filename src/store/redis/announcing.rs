//! [`Announcing`]: a store whose writes are announced on a Redis channel.

use std::{fmt, sync::Arc, time::Duration};

use async_trait::async_trait;
use redis::{
    Client, RedisResult,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::OnceCell;

use super::{bounded::bounded, channel::ChannelName};
use crate::{
    key::KeyId,
    record::{KeyRecord, OrganizationId},
    store::{
        ActiveKeyLimit, CachedLookup, Inserted, KeyStore, KeyUsage, ListCursor, Result, Updated,
    },
};

/// How long a write waits for its announcement to leave: long enough for a Redis that answers
/// (a command-line tool that exits right after its write still announces it), short enough that
/// a Redis that does not answer delays a write by no more than this. The announcement goes on
/// in the background after it.
const ANNOUNCE_WAIT: Duration = Duration::from_millis(200);

/// How long one `PUBLISH` may take.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);

/// Attempts to publish one announcement, the first pause between two, and the longest: a blip of
/// Redis (a failover, a restart) loses nothing; a longer outage gives up within a few seconds,
/// and the time to live of the other instances' caches takes over.
const PUBLISH_ATTEMPTS: u32 = 4;
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_millis(500);

/// A store that announces the id of every key it writes on a Redis channel, where
/// [`RedisInvalidation::listen`](super::RedisInvalidation::listen) hears it on every instance:
/// made by [`RedisInvalidation::announcing`](super::RedisInvalidation::announcing).
///
/// Reads go straight to the store behind. An [`insert`](KeyStore::insert) or
/// [`update`](KeyStore::update) is announced once the store has answered, when it wrote the
/// record ([`Inserted::Stored`], [`Updated::Stored`]) or failed, since a write whose answer was
/// lost may still have landed; a refusal changed nothing and is not announced.
/// [`record_usage`](KeyStore::record_usage) is not announced: it moves only `last_used_at`, which
/// other instances' caches are allowed to show as they read it.
///
/// An announcement never fails the write, which has happened: a write waits at most 200 ms for
/// it, then it goes on in the background, retried for about a second, and if Redis cannot take
/// it, a warning is logged. An announcement lost that way means the other instances see the
/// change when their cached copy expires, within their cache's time to live (30 s by default),
/// as without announcements; their listeners empty their caches when they lose their own
/// connection, not when a publish fails.
///
/// Put the instance's own [`CachedStore`](crate::store::CachedStore) in front, so that the write
/// drops the key from it too: `CachedStore::new(invalidation.announcing(store))`. Clones share
/// the store and the connection. `Debug` shows the store and the channel, never the Redis URL.
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub struct Announcing<S> {
    store: S,
    publisher: Publisher,
}

impl<S> Announcing<S> {
    pub(super) fn new(store: S, publisher: Publisher) -> Self {
        Self { store, publisher }
    }

    /// The store behind.
    pub fn get_ref(&self) -> &S {
        &self.store
    }

    /// The store behind, no longer announced.
    pub fn into_inner(self) -> S {
        self.store
    }
}

impl<S: Clone> Clone for Announcing<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            publisher: self.publisher.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Announcing<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Announcing")
            .field("store", &self.store)
            .field("channel", &self.publisher.channel)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: KeyStore> KeyStore for Announcing<S> {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        self.store.get(id).await
    }

    fn get_cached(&self, id: &KeyId) -> CachedLookup {
        self.store.get_cached(id)
    }

    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let inserted = self.store.insert(record, limit).await;
        if matches!(inserted, Ok(Inserted::Stored) | Err(_)) {
            self.publisher.announce(record.id).await;
        }
        inserted
    }

    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        let updated = self.store.update(record, expected_revision).await;
        if matches!(updated, Ok(Updated::Stored) | Err(_)) {
            self.publisher.announce(record.id).await;
        }
        updated
    }

    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        self.store.list_page(organization, after, limit).await
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        self.store.record_usage(usage).await
    }
}

/// Publishes key ids on a channel, through one connection shared by its clones, made on the
/// first announcement (within the Tokio runtime it lives on) and made again whenever it is lost.
#[derive(Clone)]
pub(super) struct Publisher {
    client: Client,
    channel: ChannelName,
    connection: Arc<OnceCell<ConnectionManager>>,
}

impl Publisher {
    pub(super) fn new(
        client: Client,
        channel: ChannelName,
        connection: Arc<OnceCell<ConnectionManager>>,
    ) -> Self {
        Self {
            client,
            channel,
            connection,
        }
    }

    /// Announces that `id` changed, waiting at most [`ANNOUNCE_WAIT`]; the attempts go on in a
    /// task of their own, which neither a slow Redis nor a caller that gives up on the write
    /// can stop.
    async fn announce(&self, id: KeyId) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                channel = self.channel.as_str(),
                key_id = %id,
                "cannot announce a key change outside a Tokio runtime; other instances see it \
                 when their cached copy expires"
            );
            return;
        };
        let publishing = runtime.spawn(self.clone().publish(id));
        // Whatever becomes of the announcement, the write has happened and is answered as such.
        let _ = tokio::time::timeout(ANNOUNCE_WAIT, publishing).await;
    }

    /// Publishes `id`, trying again after a failure, and warns if every attempt failed.
    async fn publish(self, id: KeyId) {
        let channel = self.channel.as_str();
        let mut pause = FIRST_RETRY;
        for attempt in 1..=PUBLISH_ATTEMPTS {
            let error = match self.publish_once(id).await {
                Ok(()) => return,
                Err(error) => error,
            };
            if attempt == PUBLISH_ATTEMPTS {
                tracing::warn!(
                    channel,
                    key_id = %id,
                    %error,
                    "cannot announce a key change on Redis; other instances see it when their \
                     cached copy expires"
                );
                return;
            }
            tracing::debug!(channel, key_id = %id, %error, attempt, "announcing a key change failed; trying again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_RETRY);
        }
    }

    async fn publish_once(&self, id: KeyId) -> RedisResult<()> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                // Attempts and pauses are the publisher's own (above): the connection's would
                // only multiply them.
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(1)
                    .set_connection_timeout(Some(PUBLISH_TIMEOUT))
                    .set_response_timeout(Some(PUBLISH_TIMEOUT));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await?;
        let mut connection = connection.clone();
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(self.channel.as_str()).arg(id.as_str());
        let published = publish.query_async::<i64>(&mut connection);
        bounded(PUBLISH_TIMEOUT, "PUBLISH", published).await?;
        Ok(())
    }
}
