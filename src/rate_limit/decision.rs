//! What a limiter answers for one request.

use std::{fmt, future::Future, pin::Pin, time::Duration};

use super::RateLimit;

/// Whether one request of a key fits its limit, and the state of its budget after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// The limit that was applied.
    pub limit: RateLimit,
    /// Whether the request is admitted (and spent one request of the budget).
    pub allowed: bool,
    /// Requests the key may still make at once.
    pub remaining: u32,
    /// Until the budget is whole again.
    pub reset_after: Duration,
    /// Until the next request would be admitted: zero when `allowed`.
    pub retry_after: Duration,
}

/// A limiter's answer: at once (an in-process limiter), or after a round trip (a shared one).
pub enum Check {
    /// The decision, made without waiting.
    Ready(RateDecision),
    /// The decision, once the future completes.
    Pending(Pin<Box<dyn Future<Output = RateDecision> + Send + 'static>>),
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready(decision) => f.debug_tuple("Ready").field(decision).finish(),
            Self::Pending(_) => f.write_str("Pending"),
        }
    }
}
