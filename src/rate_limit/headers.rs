//! The rate limit header fields of draft-ietf-httpapi-ratelimit-headers-10, and `Retry-After`.
//!
//! ```text
//! RateLimit-Policy: "default";q=600;w=60
//! RateLimit: "default";r=599;t=1
//! ```
//!
//! `q` and `w` are the limit's requests and window; `r` is how many requests the key may still
//! make at once, and `t` the seconds until it may make one more (so on a refusal, `Retry-After`).

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::{RateDecision, RateLimit};

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Room for the longest field this module writes: `"default";q=<u64>;w=<u64>`.
const MAX_FIELD: usize = 64;

/// The `RateLimit-Policy` field of `limit`.
pub(crate) fn policy_field(limit: RateLimit) -> Option<HeaderValue> {
    let (requests, window) = (limit.requests(), limit.per_seconds());
    field(b"q", requests.into(), b"w", window.into())
}

/// The two fields of one decision, made before the response exists (the response future
/// carries them), so that adding them afterwards is two inserts.
#[derive(Debug)]
pub(crate) struct RateLimitFields {
    policy: HeaderValue,
    state: HeaderValue,
}

impl RateLimitFields {
    /// The fields for `decision` under the limit whose `RateLimit-Policy` is `policy`.
    pub(crate) fn new(policy: HeaderValue, decision: &RateDecision) -> Option<Self> {
        let wait = delay_seconds(until_more(decision));
        let state = field(b"r", decision.remaining.into(), b"t", wait)?;
        Some(Self { policy, state })
    }

    /// Adds the fields to a response's `headers`.
    pub(crate) fn add_to(self, headers: &mut HeaderMap) {
        headers.insert(&RATELIMIT_POLICY, self.policy);
        headers.insert(&RATELIMIT, self.state);
    }
}

/// Adds `Retry-After` to a refusal's `headers`: the same wait as the `RateLimit` field's `t`.
pub(crate) fn add_retry_after(headers: &mut HeaderMap, retry_after: Duration) {
    let seconds = HeaderValue::from(delay_seconds(retry_after));
    headers.insert(header::RETRY_AFTER, seconds);
}

/// A wait as HTTP's delay-seconds: whole seconds, rounded up, and at least 1, so that a client
/// that waits that long finds a request admitted.
pub(crate) fn delay_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

/// Until the key may make one more request than `decision.remaining`: its retry time when
/// refused; when admitted, until the budget grows by one. A GCRA budget is whole at
/// `reset_after` and grows by one every interval before that.
fn until_more(decision: &RateDecision) -> Duration {
    if !decision.allowed {
        return decision.retry_after;
    }
    let limit = decision.limit;
    let missing = limit
        .requests()
        .saturating_sub(decision.remaining.saturating_add(1));
    let interval = Duration::from_nanos(limit.emission_interval_nanos());
    let refills = interval.checked_mul(missing).unwrap_or(Duration::MAX);
    decision.reset_after.saturating_sub(refills)
}

/// The field value `"default";<a>=<a_value>;<b>=<b_value>`, written on the stack: the value
/// itself is the one allocation (`core::fmt` would cost more than the rest of the field).
fn field(a: &[u8], a_value: u64, b: &[u8], b_value: u64) -> Option<HeaderValue> {
    let (mut a_digits, mut b_digits) = ([0; 20], [0; 20]);
    let parts = [
        &b"\"default\";"[..],
        a,
        b"=",
        digits(a_value, &mut a_digits),
        b";",
        b,
        b"=",
        digits(b_value, &mut b_digits),
    ];
    let mut buffer = [0u8; MAX_FIELD];
    let mut len = 0;
    for part in parts {
        len = append(&mut buffer, len, part)?;
    }
    HeaderValue::from_bytes(buffer.get(..len)?).ok()
}

/// Copies `part` into `buffer` at `len`; the new length, or `None` if it does not fit.
fn append(buffer: &mut [u8], len: usize, part: &[u8]) -> Option<usize> {
    let end = len.checked_add(part.len())?;
    buffer.get_mut(len..end)?.copy_from_slice(part);
    Some(end)
}

/// The decimal digits of `value`, written into the end of `scratch`.
fn digits(mut value: u64, scratch: &mut [u8; 20]) -> &[u8] {
    let mut start = scratch.len();
    loop {
        start -= 1;
        scratch[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &scratch[start..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(allowed: bool, remaining: u32, reset_after: u64, retry_after: u64) -> RateDecision {
        RateDecision {
            limit: RateLimit::new(5, 60).unwrap(),
            allowed,
            remaining,
            reset_after: Duration::from_millis(reset_after),
            retry_after: Duration::from_millis(retry_after),
        }
    }

    fn fields(decision: &RateDecision) -> HeaderMap {
        let policy = policy_field(decision.limit).unwrap();
        let mut headers = HeaderMap::new();
        RateLimitFields::new(policy, decision)
            .unwrap()
            .add_to(&mut headers);
        if !decision.allowed {
            add_retry_after(&mut headers, decision.retry_after);
        }
        headers
    }

    #[test]
    fn the_policy_is_the_limit_as_a_structured_field() {
        let limit = RateLimit::new(1_000_000, 86_400).unwrap();
        assert_eq!(
            policy_field(limit).unwrap(),
            r#""default";q=1000000;w=86400"#
        );
    }

    #[test]
    fn an_admitted_request_says_what_is_left_and_when_one_more_fits() {
        // Two of five spent at once: whole in 24 s, one more in 12 s.
        let headers = fields(&decision(true, 3, 24_000, 0));
        assert_eq!(headers["ratelimit-policy"], r#""default";q=5;w=60"#);
        assert_eq!(headers["ratelimit"], r#""default";r=3;t=12"#);
        assert!(!headers.contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn a_refused_request_says_when_to_retry_in_both_fields() {
        let headers = fields(&decision(false, 0, 60_000, 11_001));
        assert_eq!(headers["ratelimit"], r#""default";r=0;t=12"#);
        assert_eq!(headers[header::RETRY_AFTER], "12");
    }

    #[test]
    fn the_largest_figures_fit() {
        assert_eq!(
            field(b"r", u64::MAX, b"t", 0).unwrap(),
            r#""default";r=18446744073709551615;t=0"#
        );
    }

    #[test]
    fn delays_round_up_to_at_least_a_second() {
        assert_eq!(delay_seconds(Duration::ZERO), 1);
        assert_eq!(delay_seconds(Duration::from_nanos(1)), 1);
        assert_eq!(delay_seconds(Duration::from_secs(12)), 12);
        assert_eq!(delay_seconds(Duration::from_millis(12_001)), 13);
    }

    #[test]
    fn figures_a_limiter_got_wrong_give_no_panic_and_no_negative_wait() {
        let headers = fields(&decision(true, 7, 0, 0));
        assert_eq!(headers["ratelimit"], r#""default";r=7;t=1"#);
    }
}
