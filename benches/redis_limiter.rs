//! What sharing rate limits through Redis adds to a request, in one run: a check through
//! `RedisLimiter`, one through `MemoryLimiter`, and a bare `PING` on the same connection (the
//! round trip no shared limiter can avoid).
//!
//! `scripts/redis.sh run cargo bench --bench redis_limiter`; without `FORMBOX_TEST_REDIS_URL` it
//! says it is skipped and measures nothing.

use std::{hint::black_box, time::Duration};

use criterion::Criterion;
use formbox_auth::{
    KeyFormat, KeyId,
    rate_limit::{Check, MemoryLimiter, RateLimit, RateLimiter, RedisLimiter},
    redis::{self, aio::ConnectionManager},
};
use tokio::runtime::Runtime;

/// Requests a key may make: more than a run spends, so every check admits and writes.
fn limit() -> RateLimit {
    RateLimit::new(1_000_000, 86_400).unwrap()
}

fn key() -> KeyId {
    KeyFormat::default().generate().unwrap().id()
}

async fn decide(limiter: &impl RateLimiter, key: KeyId) -> bool {
    match limiter.check(key, limit()) {
        Check::Ready(decision) => decision.allowed,
        Check::Pending(decision) => decision.await.allowed,
    }
}

fn limiters(c: &mut Criterion, runtime: &Runtime, url: &str) {
    let connection = runtime.block_on(async {
        ConnectionManager::new(redis::Client::open(url).unwrap())
            .await
            .unwrap()
    });
    let redis_limiter = RedisLimiter::new(connection.clone(), MemoryLimiter::new())
        .with_prefix(format!("formbox-bench:{}:", std::process::id()))
        // A fallback decision would measure the wrong limiter: the check must wait for Redis.
        .with_timeout(Duration::from_secs(5));
    let memory = MemoryLimiter::new();
    let (redis_key, memory_key) = (key(), key());

    let mut group = c.benchmark_group("rate_limit");
    group.bench_function("memory", |b| {
        b.to_async(runtime)
            .iter(|| async { black_box(decide(&memory, memory_key).await) })
    });
    group.bench_function("redis", |b| {
        b.to_async(runtime)
            .iter(|| async { black_box(decide(&redis_limiter, redis_key).await) })
    });
    group.bench_function("redis_ping", |b| {
        b.to_async(runtime).iter(|| async {
            let mut connection = connection.clone();
            let pong: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .unwrap();
            black_box(pong)
        })
    });
    group.finish();
}

fn main() {
    let Ok(url) = std::env::var("FORMBOX_TEST_REDIS_URL") else {
        eprintln!(
            "skipped: FORMBOX_TEST_REDIS_URL is not set (scripts/redis.sh run cargo bench --bench \
             redis_limiter)"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut criterion = Criterion::default().configure_from_args();
    limiters(&mut criterion, &runtime, &url);
    criterion.final_summary();
}
