//! [`RedisLimiter`]: budgets kept in Redis, so that every instance of a service spends the same
//! ones.

mod outage;
mod script;

use std::{fmt, sync::Arc, time::Duration};

use redis::{
    Client, ErrorKind, RedisError, RedisResult,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::key::KeyId;
use crate::rate_limit::{Check, RateDecision, RateLimit, RateLimiter};
use outage::Outage;

/// Rate limits shared by every instance of a service through one Redis.
///
/// Each check runs the same GCRA as the in-process limiter in one atomic Lua script (one round
/// trip): it reads the key's theoretical arrival time, decides, and writes the new one with an
/// expiry at the moment the budget is whole again, so idle keys leave nothing behind. Time is
/// Redis's own clock, so instances whose clocks disagree still agree on every budget. Budgets
/// live under a prefix (`formbox:rl:` by default) followed by the key id.
///
/// A limiter never fails: when Redis fails or takes longer than the timeout (100 ms by default),
/// the fallback limiter (usually a `MemoryLimiter`) decides in process, and a warning is logged
/// at most once a second. During an outage each instance thus enforces every limit on its own:
/// requests are neither refused for the outage nor let through without a limit. After a failure
/// checks skip Redis for a second, so an unreachable Redis does not add the timeout to every
/// request.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// use formbox_auth::rate_limit::{MemoryLimiter, RateLimit, RateLimits, RedisLimiter};
/// use formbox_auth::{ApiKeyAuthLayer, MemoryStore, Permission};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Connects on the first check: a server starts while Redis is down, and limits in process
/// // until it is up.
/// let limiter = RedisLimiter::open("redis://127.0.0.1:6379", MemoryLimiter::new())?
///     .with_prefix("forms:rl:")
///     .with_timeout(Duration::from_millis(50));
/// let layer = ApiKeyAuthLayer::new(MemoryStore::new()).with_rate_limits(
///     RateLimits::new(limiter).default_for(Permission::ReadOnly, RateLimit::new(600, 60)?),
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    connection: ConnectionManager,
    fallback: Arc<dyn RateLimiter>,
    prefix: Arc<str>,
    timeout: Duration,
    outage: Arc<Outage>,
}

impl RedisLimiter {
    /// The prefix of the Redis keys that hold budgets, unless [`with_prefix`](Self::with_prefix)
    /// sets another.
    pub const DEFAULT_KEY_PREFIX: &str = "formbox:rl:";

    /// How long a check waits for Redis before the fallback decides, unless
    /// [`with_timeout`](Self::with_timeout) sets another.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);

    /// Keeps budgets in the Redis behind `connection`; `fallback` decides while Redis cannot.
    pub fn new(connection: ConnectionManager, fallback: impl RateLimiter) -> Self {
        Self {
            connection,
            fallback: Arc::new(fallback),
            prefix: Arc::from(Self::DEFAULT_KEY_PREFIX),
            timeout: Self::DEFAULT_TIMEOUT,
            outage: Arc::new(Outage::new()),
        }
    }

    /// Keeps budgets in the Redis at `url` (`redis://[user:password@]host[:port][/db]`),
    /// connecting on the first check and again whenever the connection is lost: until Redis
    /// answers, `fallback` decides.
    ///
    /// Fails only on a malformed URL, or when called outside a Tokio runtime (the connection
    /// lives on it).
    pub fn open(url: &str, fallback: impl RateLimiter) -> RedisResult<Self> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RedisError::from((
                ErrorKind::Client,
                "RedisLimiter::open must be called within a Tokio runtime",
            )));
        }
        let client = Client::open(url)?;
        let connection =
            ConnectionManager::new_lazy_with_config(client, ConnectionManagerConfig::new())?;
        Ok(Self::new(connection, fallback))
    }

    /// Keeps budgets under `prefix` followed by the key id: instances share budgets exactly when
    /// they share the Redis and the prefix.
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// Waits at most `timeout` for Redis before the fallback decides: the most a limiter adds to
    /// a request while Redis is slow.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The Redis key that holds `key`'s budget.
    fn budget_key(&self, key: KeyId) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    /// Asks Redis, or the fallback when Redis fails or is late.
    async fn decide(self, key: KeyId, limit: RateLimit) -> RateDecision {
        // The connection and the timer live on Tokio: without it there is no Redis to ask.
        if tokio::runtime::Handle::try_current().is_err() {
            self.outage.failed(&"the check ran outside a Tokio runtime");
            return self.fallback(key, limit).await;
        }
        let budget = self.budget_key(key);
        let mut connection = self.connection.clone();
        let asked = script::spend(&mut connection, &budget, limit);
        match tokio::time::timeout(self.timeout, asked).await {
            Ok(Ok(decision)) => {
                self.outage.answered();
                return decision;
            }
            Ok(Err(error)) => self.outage.failed(&error),
            Err(_) => self.outage.failed(&format_args!(
                "no answer within {} ms",
                self.timeout.as_millis()
            )),
        }
        self.fallback(key, limit).await
    }

    async fn fallback(&self, key: KeyId, limit: RateLimit) -> RateDecision {
        match self.fallback.check(key, limit) {
            Check::Ready(decision) => decision,
            Check::Pending(decision) => decision.await,
        }
    }
}

impl RateLimiter for RedisLimiter {
    fn check(&self, key: KeyId, limit: RateLimit) -> Check {
        if self.outage.skips_redis() {
            return self.fallback.check(key, limit);
        }
        Check::Pending(Box::pin(self.clone().decide(key, limit)))
    }
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}
