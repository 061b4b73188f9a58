//! Announcements heard through Redis `SUBSCRIBE`, on a connection of their own.

use std::{pin::Pin, time::Duration};

use futures_core::Stream;
use redis::{
    Client, RedisError, Value,
    aio::{PubSubSink, PubSubStream},
};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::{bounded::bounded, channel::ChannelName};
use crate::store::listener::{Announcements, Heard, Refused};

/// How long connecting and subscribing may take before the attempt counts as failed.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an idle subscription asks Redis whether it is still there. A connection dropped
/// without a word (a NAT or load balancer forgetting an idle flow) delivers nothing and reports
/// nothing; a `PING` that goes unanswered is how the listener learns that it is deaf.
const PING_EVERY: Duration = Duration::from_secs(10);

/// How long a `PING` may go unanswered before the connection counts as lost.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A Redis channel, subscribed to with a connection made by `client`.
pub(super) struct PubSubChannel {
    pub(super) client: Client,
    pub(super) channel: ChannelName,
}

/// One subscribed connection: its messages, the half that sends `PING`, and when to.
pub(super) struct Subscribed {
    sink: PubSubSink,
    messages: PubSubStream,
    ping: Interval,
}

impl Announcements for PubSubChannel {
    type Subscription = Subscribed;
    type Error = RedisError;

    fn channel(&self) -> &str {
        self.channel.as_str()
    }

    /// Never [`Refused::Closed`]: a client has no pool to close, so it may always try again.
    async fn subscribe(&self) -> Result<Subscribed, Refused<RedisError>> {
        let subscribing = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(self.channel.as_str()).await?;
            Ok(pubsub)
        };
        let pubsub = bounded(SUBSCRIBE_TIMEOUT, "SUBSCRIBE", subscribing)
            .await
            .map_err(Refused::Failed)?;
        let (sink, messages) = pubsub.split();
        let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ok(Subscribed {
            sink,
            messages,
            ping,
        })
    }

    async fn next(&self, subscribed: &mut Subscribed) -> Heard {
        loop {
            let message =
                std::future::poll_fn(|cx| Pin::new(&mut subscribed.messages).poll_next(cx));
            tokio::select! {
                message = message => {
                    return match message {
                        // A payload that is not UTF-8 is no key id: it drops everything.
                        Some(message) => Heard::Payload(
                            String::from_utf8_lossy(message.get_payload_bytes()).into_owned(),
                        ),
                        None => Heard::Lost(None),
                    };
                }
                _ = subscribed.ping.tick() => {
                    let pong = bounded(PING_TIMEOUT, "PING", subscribed.sink.ping::<Value>()).await;
                    if let Err(error) = pong {
                        return Heard::Lost(Some(error.to_string()));
                    }
                }
            }
        }
    }
}
