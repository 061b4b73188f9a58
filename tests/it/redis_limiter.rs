//! `RedisLimiter` against a real Redis: budgets shared by instances and by concurrent checks,
//! and the in-process fallback when Redis is unreachable or silent.
//!
//! The tests that need Redis use the server in `FORMBOX_TEST_REDIS_URL` (`scripts/redis.sh`
//! starts one). Without the variable they say they are skipped and pass, except under CI (`CI`
//! set), where they fail: a CI run must not skip them silently. The fallback tests need no Redis.
#![cfg(feature = "redis")]

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use crate::common::{
    databases::{closed_port, redis_url},
    limit,
};
use formbox_auth::{
    KeyFormat, KeyId,
    rate_limit::{Check, MemoryLimiter, RateDecision, RateLimit, RateLimiter, RedisLimiter},
    redis::{self, AsyncCommands},
};

/// A prefix no other test, nor an earlier run, uses.
fn unique_prefix() -> String {
    format!("formbox-test:{}:", new_key())
}

fn new_key() -> KeyId {
    KeyFormat::default().generate().unwrap().id()
}

/// One instance of a service: its own connection to Redis and its own fallback.
fn instance(url: &str, prefix: &str) -> RedisLimiter {
    RedisLimiter::open(url, MemoryLimiter::new())
        .unwrap()
        .with_prefix(prefix)
        // Generous, so that a loaded machine does not turn a Redis answer into a fallback one.
        .with_timeout(Duration::from_secs(5))
}

async fn decide(limiter: &impl RateLimiter, key: KeyId, limit: RateLimit) -> RateDecision {
    match limiter.check(key, limit) {
        Check::Ready(decision) => decision,
        Check::Pending(decision) => decision.await,
    }
}

/// A plain connection, to look at what the limiter wrote.
async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn five_per_minute_admits_five_then_asks_to_retry_in_twelve_seconds() {
    let Some(url) = redis_url("five_per_minute_admits_five") else {
        return;
    };
    let limiter = instance(&url, &unique_prefix());
    let (key, limit) = (new_key(), limit(5, 60));
    for remaining in (0..5).rev() {
        let decision = decide(&limiter, key, limit).await;
        assert!(decision.allowed);
        assert_eq!(decision.remaining, remaining);
        assert_eq!(decision.retry_after, Duration::ZERO);
    }
    let refused = decide(&limiter, key, limit).await;
    assert!(!refused.allowed);
    assert_eq!(refused.remaining, 0);
    assert!(
        (Duration::from_secs(11)..=Duration::from_secs(12)).contains(&refused.retry_after),
        "retry after {:?}",
        refused.retry_after
    );
    assert!(refused.reset_after > Duration::from_secs(59));
}

#[tokio::test]
async fn two_instances_share_one_budget() {
    let Some(url) = redis_url("two_instances_share_one_budget") else {
        return;
    };
    let prefix = unique_prefix();
    let (first, second) = (instance(&url, &prefix), instance(&url, &prefix));
    let (key, limit) = (new_key(), limit(10, 60));
    let mut admitted = 0;
    for round in 0..20 {
        let limiter = if round % 2 == 0 { &first } else { &second };
        admitted += u32::from(decide(limiter, key, limit).await.allowed);
    }
    assert_eq!(admitted, 10);
    assert!(!decide(&first, key, limit).await.allowed);
    assert!(!decide(&second, key, limit).await.allowed);
}

#[tokio::test]
async fn instances_with_different_prefixes_keep_separate_budgets() {
    let Some(url) = redis_url("instances_with_different_prefixes") else {
        return;
    };
    let (first, second) = (
        instance(&url, &unique_prefix()),
        instance(&url, &unique_prefix()),
    );
    let (key, limit) = (new_key(), limit(1, 60));
    assert!(decide(&first, key, limit).await.allowed);
    assert!(decide(&second, key, limit).await.allowed);
    assert!(!decide(&first, key, limit).await.allowed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_checks_of_a_ten_per_window_key_admit_exactly_ten() {
    let Some(url) = redis_url("fifty_concurrent_checks") else {
        return;
    };
    let prefix = unique_prefix();
    let instances = [instance(&url, &prefix), instance(&url, &prefix)];
    let (key, limit) = (new_key(), limit(10, 60));
    let checks: Vec<_> = (0..50)
        .map(|n| {
            let limiter = instances[n % 2].clone();
            tokio::spawn(async move { decide(&limiter, key, limit).await.allowed })
        })
        .collect();
    let mut admitted = 0;
    for check in checks {
        admitted += u32::from(check.await.unwrap());
    }
    assert_eq!(admitted, 10);
}

#[tokio::test]
async fn the_budget_refills_one_request_per_interval() {
    let Some(url) = redis_url("the_budget_refills") else {
        return;
    };
    let limiter = instance(&url, &unique_prefix());
    // One request every 250 ms.
    let (key, limit) = (new_key(), limit(4, 1));
    for _ in 0..4 {
        assert!(decide(&limiter, key, limit).await.allowed);
    }
    let refused = decide(&limiter, key, limit).await;
    assert!(!refused.allowed);
    tokio::time::sleep(refused.retry_after + Duration::from_millis(20)).await;
    let refilled = decide(&limiter, key, limit).await;
    assert!(refilled.allowed);
    assert_eq!(refilled.remaining, 0);
}

#[tokio::test]
async fn the_budget_expires_when_it_is_whole_again() {
    let Some(url) = redis_url("the_budget_expires") else {
        return;
    };
    let prefix = unique_prefix();
    let limiter = instance(&url, &prefix);
    let (key, limit) = (new_key(), limit(5, 60));
    assert!(decide(&limiter, key, limit).await.allowed);

    let ttl: i64 = connect(&url)
        .await
        .pttl(format!("{prefix}{key}"))
        .await
        .unwrap();
    // One request of five per minute is whole again after 12 s.
    assert!((1..=12_000).contains(&ttl), "PTTL {ttl}");
}

#[tokio::test]
async fn budgets_live_under_the_default_prefix_unless_told_otherwise() {
    let Some(url) = redis_url("budgets_live_under_the_default_prefix") else {
        return;
    };
    let limiter = RedisLimiter::open(&url, MemoryLimiter::new()).unwrap();
    let key = new_key();
    assert!(decide(&limiter, key, limit(5, 60)).await.allowed);
    let ttl: i64 = connect(&url)
        .await
        .pttl(format!("formbox:rl:{key}"))
        .await
        .unwrap();
    assert!(ttl > 0, "PTTL {ttl}");
}

#[tokio::test]
async fn a_lowered_limit_refuses_for_one_interval_not_for_the_old_window() {
    let Some(url) = redis_url("a_lowered_limit") else {
        return;
    };
    let limiter = instance(&url, &unique_prefix());
    let key = new_key();
    // The whole of 10 per day: the next request would fit in 2.4 hours.
    for _ in 0..10 {
        assert!(decide(&limiter, key, limit(10, 86_400)).await.allowed);
    }
    let refused = decide(&limiter, key, limit(5, 60)).await;
    assert!(!refused.allowed);
    assert!(refused.retry_after <= Duration::from_secs(12));
}

#[tokio::test]
async fn a_value_that_is_not_a_budget_is_overwritten() {
    let Some(url) = redis_url("a_value_that_is_not_a_budget") else {
        return;
    };
    let prefix = unique_prefix();
    let limiter = instance(&url, &prefix);
    let key = new_key();
    let () = connect(&url)
        .await
        .set(format!("{prefix}{key}"), "not a time")
        .await
        .unwrap();
    let decision = decide(&limiter, key, limit(5, 60)).await;
    assert!(decision.allowed);
    assert_eq!(decision.remaining, 4);
}

#[tokio::test]
async fn an_unreachable_redis_leaves_the_limit_to_the_fallback() {
    let limiter = RedisLimiter::open(
        &format!("redis://127.0.0.1:{}", closed_port()),
        MemoryLimiter::new(),
    )
    .unwrap();
    let (key, limit) = (new_key(), limit(3, 60));
    let started = Instant::now();
    let decisions = [
        decide(&limiter, key, limit).await,
        decide(&limiter, key, limit).await,
        decide(&limiter, key, limit).await,
        decide(&limiter, key, limit).await,
    ];
    let allowed: Vec<bool> = decisions.iter().map(|decision| decision.allowed).collect();
    assert_eq!(allowed, [true, true, true, false]);
    assert!(decisions[3].retry_after > Duration::from_secs(19));
    assert!(
        started.elapsed() < RedisLimiter::DEFAULT_TIMEOUT * 3,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_silent_redis_is_given_up_on_at_the_timeout() {
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let accepting = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            connections.push(connection);
        }
    });
    let timeout = Duration::from_millis(50);
    let limiter = RedisLimiter::open(&url, MemoryLimiter::new())
        .unwrap()
        .with_timeout(timeout);
    let (key, limit) = (new_key(), limit(1, 60));

    let started = Instant::now();
    let first = decide(&limiter, key, limit).await;
    let waited = started.elapsed();
    assert!(first.allowed);
    // Well before the client's own timeouts (500 ms for an answer, 1 s to connect).
    assert!(
        (timeout..timeout * 6).contains(&waited),
        "waited {waited:?}"
    );
    // Redis failed a moment ago: the next check does not wait for it again.
    let second = limiter.check(key, limit);
    let Check::Ready(second) = second else {
        panic!("the check after a timeout waited for Redis again: {second:?}");
    };
    assert!(!second.allowed);
    accepting.abort();
}

#[test]
fn opening_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let opened = RedisLimiter::open("redis://127.0.0.1:6379", MemoryLimiter::new());
    assert!(opened.is_err());
}

#[tokio::test]
async fn a_malformed_url_is_an_error() {
    assert!(RedisLimiter::open("not a url", MemoryLimiter::new()).is_err());
}
