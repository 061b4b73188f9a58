//! The GCRA as one Lua script that Redis runs atomically, and what its reply means.

use std::{sync::LazyLock, time::Duration};

use redis::{RedisResult, Script, aio::ConnectionLike};

use crate::rate_limit::{RateDecision, RateLimit};

/// The script, sent once per connection (`SCRIPT LOAD` on the first `NOSCRIPT`) and run by its
/// digest after that: one round trip per check.
static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("gcra.lua")));

/// The script's reply: allowed (1 or 0), remaining, reset after and retry after in milliseconds.
type Reply = (i64, i64, i64, i64);

/// Spends one request of the budget kept at `key` under `limit`, by Redis's clock.
pub(super) async fn spend(
    connection: &mut impl ConnectionLike,
    key: &str,
    limit: RateLimit,
) -> RedisResult<RateDecision> {
    let interval = limit.emission_interval_nanos();
    // At most a day in nanoseconds (8.64e13): the script's arithmetic stays exact.
    let capacity = interval.saturating_mul(u64::from(limit.requests()));
    let reply: Reply = GCRA
        .key(key)
        .arg(interval)
        .arg(capacity)
        .invoke_async(connection)
        .await?;
    Ok(decision(limit, reply))
}

/// Reads the script's reply, clamping what cannot come from it rather than trusting it.
fn decision(limit: RateLimit, (allowed, remaining, reset, retry): Reply) -> RateDecision {
    let allowed = allowed == 1;
    let remaining = u32::try_from(remaining.max(0))
        .unwrap_or(u32::MAX)
        .min(limit.requests());
    RateDecision {
        limit,
        allowed,
        remaining: if allowed { remaining } else { 0 },
        reset_after: millis(reset).min(limit.window()),
        retry_after: if allowed {
            Duration::ZERO
        } else {
            millis(retry).min(limit.window())
        },
    }
}

fn millis(millis: i64) -> Duration {
    Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit() -> RateLimit {
        RateLimit::new(5, 60).expect("a valid limit")
    }

    #[test]
    fn an_admitting_reply_has_no_retry() {
        let decision = decision(limit(), (1, 4, 12_000, 0));
        assert!(decision.allowed);
        assert_eq!(decision.remaining, 4);
        assert_eq!(decision.reset_after, Duration::from_secs(12));
        assert_eq!(decision.retry_after, Duration::ZERO);
    }

    #[test]
    fn a_refusing_reply_leaves_nothing_and_says_when_to_retry() {
        let decision = decision(limit(), (0, 3, 60_000, 12_000));
        assert!(!decision.allowed);
        assert_eq!(decision.remaining, 0);
        assert_eq!(decision.retry_after, Duration::from_secs(12));
    }

    #[test]
    fn out_of_range_replies_are_clamped_to_the_limit() {
        let decision = decision(limit(), (1, i64::MAX, i64::MAX, -5));
        assert_eq!(decision.remaining, 5);
        assert_eq!(decision.reset_after, Duration::from_secs(60));
        let decision = super::decision(limit(), (0, -1, -1, i64::MAX));
        assert_eq!(decision.reset_after, Duration::ZERO);
        assert_eq!(decision.retry_after, Duration::from_secs(60));
    }
}
