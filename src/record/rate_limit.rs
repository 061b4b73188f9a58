//! What a key may spend: so many requests per so many seconds.

use std::{fmt, time::Duration};

/// A rate limit: at most `requests` per `per_seconds`, which a client may also spend at once.
///
/// Limits are enforced with GCRA: one request every `per_seconds / requests` on average, and a
/// burst of up to `requests` after a quiet period. Over any run of `d` seconds a key is admitted at
/// most `requests + requests * d / per_seconds` times.
///
/// ```
/// use formbox_auth::rate_limit::RateLimit;
///
/// let limit = RateLimit::new(600, 60)?;
/// assert_eq!((limit.requests(), limit.per_seconds()), (600, 60));
/// assert!(RateLimit::new(0, 60).is_err());
/// # Ok::<(), formbox_auth::rate_limit::InvalidRateLimit>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "RawRateLimit"))]
pub struct RateLimit {
    requests: u32,
    per_seconds: u32,
}

impl RateLimit {
    /// Longest window, in seconds: one day.
    pub const MAX_WINDOW: u32 = 86_400;

    /// Most requests per window.
    pub const MAX_REQUESTS: u32 = 1_000_000;

    /// At most `requests` (1 to 1,000,000) per `per_seconds` (1 to 86,400).
    pub const fn new(requests: u32, per_seconds: u32) -> Result<Self, InvalidRateLimit> {
        if requests == 0 || requests > Self::MAX_REQUESTS {
            return Err(InvalidRateLimit::Requests);
        }
        if per_seconds == 0 || per_seconds > Self::MAX_WINDOW {
            return Err(InvalidRateLimit::Window);
        }
        Ok(Self {
            requests,
            per_seconds,
        })
    }

    /// How many requests the window allows.
    pub const fn requests(&self) -> u32 {
        self.requests
    }

    /// The window, in seconds.
    pub const fn per_seconds(&self) -> u32 {
        self.per_seconds
    }

    /// The window.
    pub const fn window(&self) -> Duration {
        Duration::from_secs(self.per_seconds as u64)
    }

    /// The average time between two requests: the window divided by the requests, in
    /// nanoseconds, rounded up.
    ///
    /// Rounded up so that the sustained rate never exceeds the limit: rounded down, 999,999 per
    /// second would admit about 86 requests a day too many.
    pub const fn emission_interval_nanos(&self) -> u64 {
        (self.per_seconds as u64 * 1_000_000_000).div_ceil(self.requests as u64)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} per {} s", self.requests, self.per_seconds)
    }
}

/// A rate limit out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRateLimit {
    /// `requests` is not 1 to 1,000,000.
    #[error("`requests` must be 1 to 1000000")]
    Requests,
    /// `per_seconds` is not 1 to 86,400.
    #[error("`per_seconds` must be 1 to 86400 (one day)")]
    Window,
}

/// The unchecked form serde reads, before [`RateLimit::new`] checks it.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    requests: u32,
    per_seconds: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<RawRateLimit> for RateLimit {
    type Error = InvalidRateLimit;

    fn try_from(raw: RawRateLimit) -> Result<Self, Self::Error> {
        Self::new(raw.requests, raw.per_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_rounds_up_so_the_rate_never_exceeds_the_limit() {
        // One second over 999,999 is 1,000.001 ns: 1,000 would admit one request too
        // many every 1,000 s.
        let limit = RateLimit::new(999_999, 1).unwrap();
        assert_eq!(limit.emission_interval_nanos(), 1_001);
        let limit = RateLimit::new(5, 60).unwrap();
        assert_eq!(limit.emission_interval_nanos(), 12_000_000_000);
    }
}
