//! Per-key rate limits: the limit, the limiters that keep budgets, and what they decide.

mod config;
mod decision;
pub(crate) mod headers;
mod memory;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::RedisLimiter;
pub use crate::record::{InvalidRateLimit, RateLimit};
pub use config::RateLimits;
pub use decision::{Check, RateDecision};
pub use memory::MemoryLimiter;

use crate::key::KeyId;

/// Keeps the budgets of keys and decides whether a request fits.
///
/// A limiter never fails: one that depends on a service (Redis) answers from a fallback when the
/// service cannot, so that a limiter outage neither refuses requests nor lifts limits.
pub trait RateLimiter: std::fmt::Debug + Send + Sync + 'static {
    /// Spends one request of `key`'s budget under `limit`, or says how long until one fits.
    fn check(&self, key: KeyId, limit: RateLimit) -> Check;
}
