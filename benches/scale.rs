//! One million keys in `MemoryStore`: memory per key and the cost of a request with a random key.
//! One million limited keys in `MemoryLimiter`: memory per key and the cost of a check.
//!
//! `cargo bench --bench scale`. Memory is the growth of the process's resident set size
//! (`/proc/self/statm`) while the keys are inserted, divided by their number; it includes the
//! records, their names, and the hash table (for the limiter: its tables of arrival times).

use std::{convert::Infallible, hint::black_box, time::SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use formbox_auth::{
    ApiKeyAuthLayer, KeyFormat, KeyId, KeyRecord, KeyStore, MemoryStore, OrganizationId,
    Permission,
    rate_limit::{MemoryLimiter, RateLimit},
};
use http::{Request, Response};
use tower::{Layer, Service, ServiceExt, service_fn};

/// Keys in the store and in the limiter: a million, or a thousand in a smoke run
/// (`cargo test --benches`, or `cargo bench -- --test`), which checks that the benches run to
/// the end and measures nothing.
fn keys() -> usize {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    if measuring { 1_000_000 } else { 1_000 }
}
/// Every this many keys, one plaintext is kept to send in requests.
const SAMPLE_EVERY: usize = 97;

/// Resident set size in bytes, or 0 where `/proc` is missing.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn populate(runtime: &tokio::runtime::Runtime) -> (MemoryStore, Vec<String>) {
    let store = MemoryStore::new();
    let format = KeyFormat::default();
    let organizations: Vec<OrganizationId> = (0..10_000)
        .map(|i| OrganizationId::from(format!("org_{i}")))
        .collect();
    let count = keys();
    let mut sample = Vec::with_capacity(count / SAMPLE_EVERY + 1);
    let before = rss();
    runtime.block_on(async {
        for i in 0..count {
            let key = format.generate().unwrap();
            let record = KeyRecord::new(
                key.id(),
                organizations[i % organizations.len()].clone(),
                // Unique in its organization, as names are; as short as most.
                format!("prod {}", i / organizations.len()),
                Permission::FullAccess,
                key.digest(),
                SystemTime::now(),
            );
            store.insert(&record, None).await.unwrap();
            if i % SAMPLE_EVERY == 0 {
                sample.push(key.expose_secret().to_owned());
            }
        }
    });
    let grown = rss().saturating_sub(before);
    eprintln!(
        "memory: {count} keys grew RSS by {:.1} MiB = {} bytes per key",
        grown as f64 / (1 << 20) as f64,
        grown / count
    );
    (store, sample)
}

fn million_keys(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, sample) = populate(&runtime);
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let layered = ApiKeyAuthLayer::new(store).layer(handler);
    let mut next = 0usize;
    let mut group = c.benchmark_group("million_keys");
    group.bench_function("bare", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 7919) % sample.len();
            let request = Request::get("/v1/forms")
                .header("api-key", sample[next].as_str())
                .body(String::new())
                .unwrap();
            async move { handler.oneshot(request).await.unwrap().status() }
        })
    });
    group.bench_function("random_key", |b| {
        b.to_async(&runtime).iter(|| {
            next = (next + 7919) % sample.len();
            let request = Request::get("/v1/forms")
                .header("api-key", sample[next].as_str())
                .body(String::new())
                .unwrap();
            let mut service = layered.clone();
            async move {
                black_box(
                    service
                        .ready()
                        .await
                        .unwrap()
                        .call(request)
                        .await
                        .unwrap()
                        .status(),
                )
            }
        })
    });
    group.finish();
}

/// One million keys, each limited (one request spent of 1,000 an hour, so none is forgotten),
/// then checks of random ones among them.
fn million_limited_keys(c: &mut Criterion) {
    let limit = RateLimit::new(1_000, 3_600).unwrap();
    let count = keys();
    let ids: Vec<KeyId> = (0..count)
        .map(|_| KeyFormat::default().generate().unwrap().id())
        .collect();
    let limiter = MemoryLimiter::new();
    let before = rss();
    for &id in &ids {
        assert!(limiter.decide(id, limit).allowed);
    }
    let grown = rss().saturating_sub(before);
    eprintln!(
        "limiter memory: {} keys grew RSS by {:.1} MiB = {} bytes per key",
        limiter.tracked_keys(),
        grown as f64 / (1 << 20) as f64,
        grown / count
    );
    let mut next = 0usize;
    c.bench_function("million_keys/limiter_random_key", |b| {
        b.iter(|| {
            next = (next + 7919) % ids.len();
            limiter.decide(black_box(ids[next]), limit).allowed
        })
    });
}

criterion_group!(benches, million_limited_keys, million_keys);
criterion_main!(benches);
