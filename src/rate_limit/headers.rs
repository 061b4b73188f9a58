//! The rate limit header fields of draft-ietf-httpapi-ratelimit-headers-10, and `Retry-After`.
//!
//! ```text
//! RateLimit-Policy: "default";q=600;w=60
//! RateLimit: "default";r=599;t=1
//! ```
//!
//! `q` and `w` are the limit's requests and window; `r` is how many requests the key may still
//! make at once, and `t` the seconds until it may make one more (so on a refusal, `Retry-After`).

use std::{
    sync::{Mutex, OnceLock, PoisonError},
    time::Duration,
};

use http::{HeaderMap, HeaderName, HeaderValue, header};

use super::{RateDecision, RateLimit};

static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Room for the longest field this module writes: `"default";q=<u64>;w=<u64>`.
const MAX_FIELD: usize = 64;

/// The `RateLimit-Policy` field of `limit`.
pub(crate) fn policy_field(limit: RateLimit) -> Option<HeaderValue> {
    HeaderValue::from_bytes(policy_text(limit, &mut [0; MAX_FIELD])?).ok()
}

/// The `RateLimit-Policy` field of `limit`, made once for the life of the process: what the
/// layer's default limits send. Copying it into a response copies a pointer, where a shared
/// value would have every request, on every core, change one reference count.
///
/// A limit is two numbers, and defaults are set when a service starts, so the texts kept are
/// few; past [`MAX_STATIC_POLICIES`] different ones, a limit gets a shared value instead.
pub(crate) fn static_policy_field(limit: RateLimit) -> Option<HeaderValue> {
    let mut buffer = [0; MAX_FIELD];
    let text = std::str::from_utf8(policy_text(limit, &mut buffer)?).ok()?;
    // Checked first, so that `from_static` below, which panics on a bad value, cannot.
    HeaderValue::from_str(text).ok()?;
    let mut kept = STATIC_POLICIES
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = kept.iter().find(|&&known| known == text) {
        return Some(HeaderValue::from_static(known));
    }
    if kept.len() >= MAX_STATIC_POLICIES {
        return policy_field(limit);
    }
    let text: &'static str = Box::leak(text.into());
    kept.push(text);
    Some(HeaderValue::from_static(text))
}

/// The texts [`static_policy_field`] made.
static STATIC_POLICIES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Most texts [`static_policy_field`] keeps: 256 of at most 64 bytes.
const MAX_STATIC_POLICIES: usize = 256;

/// The `RateLimit-Policy` field of a key's own limit, as cheap to add to a response as a
/// default's: the text of each limit is made once, in a table of [`KEY_POLICY_SLOTS`] slots
/// indexed by the limit, and a response copies a pointer to it. A limit whose slot holds another
/// one gets a value of its own, made for the response, as every key's limit did before.
///
/// Reading a slot takes no lock, so requests on every core read it at once; the table keeps at
/// most one text per slot (a few kilobytes), however many limits keys are given.
pub(crate) fn key_policy_field(limit: RateLimit) -> Option<HeaderValue> {
    policy_from(&KEY_POLICIES, limit)
}

/// Slots of [`key_policy_field`]'s table: more than the limits a service usually gives keys
/// (a handful of plans), few enough that the texts kept stay small.
const KEY_POLICY_SLOTS: usize = 64;

/// The fields [`key_policy_field`] made, each beside the limit it is the policy of.
static KEY_POLICIES: [PolicySlot; KEY_POLICY_SLOTS] = [const { OnceLock::new() }; KEY_POLICY_SLOTS];

/// A limit and its policy field (over a `'static` text, so that copying it changes no
/// reference count), set by the first limit that falls into the slot.
type PolicySlot = OnceLock<Option<(RateLimit, HeaderValue)>>;

/// [`key_policy_field`] over `table`.
fn policy_from(table: &[PolicySlot], limit: RateLimit) -> Option<HeaderValue> {
    let slot = &table[slot_of(limit, table.len())];
    let made = slot.get_or_init(|| {
        let mut buffer = [0; MAX_FIELD];
        let text = std::str::from_utf8(policy_text(limit, &mut buffer)?).ok()?;
        // Checked here, so that `from_static` below, which panics on a bad value, cannot.
        HeaderValue::from_str(text).ok()?;
        let text: &'static str = Box::leak(text.into());
        Some((limit, HeaderValue::from_static(text)))
    });
    match made {
        Some((known, field)) if *known == limit => Some(field.clone()),
        _ => policy_field(limit),
    }
}

/// The slot of `limit` in a table of `slots`: the high half of a multiplicative hash of its two
/// figures (the half every bit of them reaches), scaled to the table.
fn slot_of(limit: RateLimit, slots: usize) -> usize {
    let figures = (u64::from(limit.requests()) << 32) | u64::from(limit.per_seconds());
    let high = figures.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    ((high * slots as u64) >> 32) as usize
}

/// `"default";q=<requests>;w=<window>`, in `buffer`.
fn policy_text(limit: RateLimit, buffer: &mut [u8; MAX_FIELD]) -> Option<&[u8]> {
    let (requests, window) = (limit.requests(), limit.per_seconds());
    field_text(b"q", requests.into(), b"w", window.into(), buffer)
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
    HeaderValue::from_bytes(field_text(a, a_value, b, b_value, &mut [0; MAX_FIELD])?).ok()
}

/// The text of [`field`], in `buffer`.
fn field_text<'b>(
    a: &[u8],
    a_value: u64,
    b: &[u8],
    b_value: u64,
    buffer: &'b mut [u8; MAX_FIELD],
) -> Option<&'b [u8]> {
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
    let mut len = 0;
    for part in parts {
        len = append(buffer, len, part)?;
    }
    buffer.get(..len)
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
    fn a_default_limits_policy_is_made_once_and_shared_without_a_count() {
        let limit = RateLimit::new(600, 60).unwrap();
        let (first, second) = (static_policy_field(limit), static_policy_field(limit));
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(first, policy_field(limit).unwrap());
        assert_eq!(first.as_bytes().as_ptr(), second.as_bytes().as_ptr());
    }

    #[test]
    fn a_keys_own_limit_gets_its_policy_made_once() {
        let table: [PolicySlot; 4] = [const { OnceLock::new() }; 4];
        let limit = RateLimit::new(1_000, 60).unwrap();
        let first = policy_from(&table, limit).unwrap();
        let second = policy_from(&table, limit).unwrap();
        assert_eq!(first, r#""default";q=1000;w=60"#);
        assert_eq!(first.as_bytes().as_ptr(), second.as_bytes().as_ptr());
    }

    #[test]
    fn limits_sharing_a_slot_each_get_their_own_policy() {
        let table: [PolicySlot; 1] = [const { OnceLock::new() }];
        for requests in 1..=50 {
            for per_seconds in [1, 60, 86_400] {
                let limit = RateLimit::new(requests, per_seconds).unwrap();
                assert_eq!(
                    policy_from(&table, limit).unwrap(),
                    format!(r#""default";q={requests};w={per_seconds}"#)
                );
            }
        }
        let (kept, _) = table[0].get().unwrap().as_ref().unwrap();
        assert_eq!(
            *kept,
            RateLimit::new(1, 1).unwrap(),
            "the first limit keeps the slot"
        );
    }

    #[test]
    fn key_limits_spread_over_the_slots() {
        let used: std::collections::HashSet<usize> = (1..=KEY_POLICY_SLOTS as u32)
            .map(|requests| {
                slot_of(
                    RateLimit::new(requests * 100, 60).unwrap(),
                    KEY_POLICY_SLOTS,
                )
            })
            .collect();
        assert!(
            used.len() > KEY_POLICY_SLOTS / 2,
            "{} slots of {KEY_POLICY_SLOTS}",
            used.len()
        );
        let limit = RateLimit::new(600, 60).unwrap();
        assert_eq!(
            key_policy_field(limit).unwrap(),
            policy_field(limit).unwrap()
        );
    }

    #[test]
    fn past_the_kept_texts_a_policy_is_still_right() {
        for requests in 1..=(MAX_STATIC_POLICIES as u32 + 20) {
            let limit = RateLimit::new(requests, 7).unwrap();
            assert_eq!(
                static_policy_field(limit).unwrap(),
                format!(r#""default";q={requests};w=7"#)
            );
        }
        let kept = STATIC_POLICIES.lock().unwrap().len();
        assert!(kept <= MAX_STATIC_POLICIES, "{kept}");
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
