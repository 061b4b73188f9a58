//! Builds the rate limits named by `--limiter`, for the `server` example.

use std::error::Error;

use formbox_auth::rate_limit::{MemoryLimiter, RateLimits, RedisLimiter};

/// The limiter used when `--limiter` is not given: budgets in this process.
pub const DEFAULT_LIMITER: &str = "memory";

/// Opens `memory` (budgets in this process: exact on one instance) or `redis:URL` (budgets
/// shared by every instance on that Redis, kept in process while it cannot answer). Only keys
/// with a rate limit of their own are limited.
pub fn open_limiter(spec: &str) -> Result<RateLimits, Box<dyn Error>> {
    match spec.split_once(':') {
        None if spec == "memory" => Ok(RateLimits::new(MemoryLimiter::new())),
        Some(("redis", url)) if !url.is_empty() => {
            // Connects on the first check: the server starts even while Redis is down.
            let limiter = RedisLimiter::open(url, MemoryLimiter::new())?;
            Ok(RateLimits::new(limiter))
        }
        _ => Err(format!("unknown limiter {spec:?}: use memory or redis:URL").into()),
    }
}
