//! Parse, verify and whole-request costs, each against a baseline measured in the same run.
//!
//! `cargo bench --bench auth`
//!
//! Rate limits: `request/hot_keys` (16 hot keys in turn, no limit) against
//! `request/hot_keys_limited` (the same with an in-process limit that is never exceeded) and
//! `request/hot_keys_limited_no_headers`; `request/hot_keys_typed` against
//! `request/hot_keys_typed_limited` with an inner response that has a header already. The
//! malformed key against `request/bare_401`: a bare service answering the identical `401`.
//!
//! Metrics: `request/valid` against `request/valid_metrics`, the same request through a layer
//! with `AuthMetrics`, the Prometheus recorder installed
//! (`cargo bench --bench auth -- 'request/valid'`).
//!
//! Scopes: `scopes/restricted` against `scopes/preset`, the same `GET /v1/forms` through one layer
//! whose policy maps it to `forms:read`, with a restricted key holding five scopes and with a
//! `read_only` key; `scopes/preset_no_rules` is the preset through a policy without rules
//! (`cargo bench --bench auth -- 'scopes/'`).

use std::{borrow::Cow, convert::Infallible, hint::black_box, time::SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use formbox_auth::{
    Access, ApiKeyAuthLayer, Authenticator, KeyFormat, KeyRecord, KeyStore, MemoryStore,
    OrganizationId, Permission, PermissionPolicy, Rejection,
    key::PlaintextKey,
    metrics::AuthMetrics,
    permission::Resources,
    rate_limit::{MemoryLimiter, RateLimit, RateLimits},
};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt, service_fn};

/// A store with 1,000 keys, and one more key that is in it.
fn populated_store(runtime: &Runtime) -> (MemoryStore, PlaintextKey) {
    let (store, mut keys) = store_with_hot_keys(runtime, 1);
    (store, keys.remove(0))
}

/// A store with 1,000 keys, and the last `hot` of them.
fn store_with_hot_keys(runtime: &Runtime, hot: usize) -> (MemoryStore, Vec<PlaintextKey>) {
    let store = MemoryStore::new();
    let format = KeyFormat::default();
    let mut last = Vec::new();
    runtime.block_on(async {
        for i in 0..1_000 {
            let key = format.generate().unwrap();
            let organization = OrganizationId::from(format!("org_{}", i % 50));
            let record = KeyRecord::new(
                key.id(),
                organization,
                format!("bench {i}"),
                Permission::FullAccess,
                key.digest(),
                SystemTime::now(),
            );
            store.insert(&record, None).await.unwrap();
            if i >= 1_000 - hot {
                last.push(key);
            }
        }
    });
    (store, last)
}

/// Presented keys for every rejection path.
struct Presented {
    valid: String,
    wrong_secret: String,
    unknown: String,
    bad_checksum: String,
    malformed: String,
}

impl Presented {
    fn new(key: &PlaintextKey) -> Self {
        let format = KeyFormat::default();
        let valid = key.expose_secret().to_owned();
        let mut bad_checksum = valid.clone();
        let last = if valid.ends_with('0') { "1" } else { "0" };
        bad_checksum.replace_range(55..56, last);
        Self {
            wrong_secret: format
                .generate_for(key.id())
                .unwrap()
                .expose_secret()
                .to_owned(),
            unknown: format.generate().unwrap().expose_secret().to_owned(),
            bad_checksum,
            malformed: valid[..40].to_owned(),
            valid,
        }
    }

    fn cases(&self) -> [(&'static str, &str); 5] {
        [
            ("valid", &self.valid),
            ("wrong_secret", &self.wrong_secret),
            ("unknown_id", &self.unknown),
            ("bad_checksum", &self.bad_checksum),
            ("malformed", &self.malformed),
        ]
    }
}

fn baseline(c: &mut Criterion) {
    let input = [0x61u8; 48];
    c.bench_function("baseline/sha256_48_bytes", |b| {
        b.iter(|| Sha256::digest(black_box(input)))
    });
}

fn parse(c: &mut Criterion) {
    let format = KeyFormat::default();
    let key = format.generate().unwrap();
    let text = key.expose_secret();
    c.bench_function("parse/valid", |b| {
        b.iter(|| format.parse(black_box(text)).map(|p| p.id()))
    });
    c.bench_function("parse_and_digest/valid", |b| {
        b.iter(|| format.parse(black_box(text)).map(|p| p.digest()))
    });
}

/// Parse and check one key against its stored hash, without a store, beside the
/// `prefixed-api-key` crate doing the same (`from_string` + `check_hash`, its Seam defaults).
fn peer(c: &mut Criterion) {
    use prefixed_api_key::{PrefixedApiKey, PrefixedApiKeyController};

    let mut group = c.benchmark_group("parse_and_check");
    let format = KeyFormat::default();
    let key = format.generate().unwrap();
    let (text, stored) = (key.expose_secret().to_owned(), key.digest());
    group.bench_function("formbox_auth", |b| {
        b.iter(|| {
            format
                .parse(black_box(&text))
                .is_ok_and(|parsed| parsed.digest() == stored)
        })
    });

    let controller = PrefixedApiKeyController::configure()
        .prefix("fbsk".to_owned())
        .seam_defaults()
        .finalize()
        .unwrap();
    let (peer_key, peer_hash) = controller.try_generate_key_and_hash().unwrap();
    let peer_text = peer_key.to_string();
    group.bench_function("prefixed_api_key", |b| {
        b.iter(|| {
            PrefixedApiKey::from_string(black_box(&peer_text))
                .is_ok_and(|parsed| controller.check_hash(&parsed, &peer_hash))
        })
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (store, key) = populated_store(&runtime);
    let authenticator = Authenticator::new(store);
    let presented = Presented::new(&key);
    let mut group = c.benchmark_group("authenticate");
    for (name, text) in presented.cases() {
        group.bench_function(name, |b| {
            b.to_async(&runtime)
                .iter(|| async { authenticator.authenticate(black_box(text)).await.is_ok() })
        });
    }
    group.finish();
}

fn request(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (store, key) = populated_store(&runtime);
    let presented = Presented::new(&key);
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let store_for_metrics = store.clone();
    let layered = ApiKeyAuthLayer::new(store).layer(handler);
    let mut group = c.benchmark_group("request");
    group.bench_function("bare", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = Request::get("/v1/forms")
                .header("api-key", presented.valid.as_str())
                .body(String::new())
                .unwrap();
            handler.oneshot(request).await.unwrap().status()
        })
    });
    for (name, text) in presented.cases() {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| get_forms(&layered, text))
        });
    }
    with_metrics(&mut group, &runtime, store_for_metrics, &presented.valid);
    bare_401(&mut group, &runtime, &presented.malformed);
    rate_limited(&mut group, &runtime);
    group.finish();
}

/// `request/valid` with metrics: `valid_metrics_unrecorded` with handles built before any
/// recorder (the facade's default, which drops everything), then `valid_metrics` counting into
/// the Prometheus recorder, installed here (the layers of the other benches have no metrics, so
/// it costs them nothing).
fn with_metrics(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &Runtime,
    store: MemoryStore,
    valid: &str,
) {
    let unrecorded = AuthMetrics::new();
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    for (name, metrics) in [
        ("valid_metrics_unrecorded", unrecorded),
        ("valid_metrics", AuthMetrics::new()),
    ] {
        let handler = service_fn(|_: Request<String>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
        let authenticator = Authenticator::new(store.clone()).with_metrics(metrics);
        let layered = ApiKeyAuthLayer::new(authenticator).layer(handler);
        group.bench_function(name, |b| {
            b.to_async(runtime).iter(|| get_forms(&layered, valid))
        });
    }
}

/// One `GET /v1/forms` with `key` through a clone of `service`, as a server calls it.
async fn get_forms<S>(service: &S, key: &str) -> StatusCode
where
    S: Service<Request<String>, Response = Response<String>> + Clone,
    S::Error: std::fmt::Debug,
{
    let request = Request::get("/v1/forms")
        .header("api-key", key)
        .body(String::new())
        .unwrap();
    let mut service = service.clone();
    service
        .ready()
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap()
        .status()
}

/// The baseline of the malformed-key path: a service without the layer that answers the same
/// `401` (status, headers and static body) to the same request.
fn bare_401(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &Runtime,
    malformed: &str,
) {
    let Cow::Borrowed(json) = Rejection::InvalidKey.json() else {
        unreachable!("a fixed body")
    };
    let unauthorized = service_fn(move |_: Request<String>| async move {
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("api-key"),
        );
        let mut response = Response::new(String::from(json));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        *response.headers_mut() = headers;
        Ok::<_, Infallible>(response)
    });
    group.bench_function("bare_401", |b| {
        b.to_async(runtime).iter(|| async {
            let request = Request::get("/v1/forms")
                .header("api-key", malformed)
                .body(String::new())
                .unwrap();
            unauthorized.oneshot(request).await.unwrap().status()
        })
    });
}

/// Hot keys with and without an in-process limit. [`HOT_KEYS`] keys in turn, each limited to
/// the most a limit allows (1,000,000 a second), so that no request is ever refused. The inner
/// service answers an empty response, or (`typed`) one with `Content-Type`, as an axum handler
/// does, whose header map the rate limit fields then need not allocate.
fn rate_limited(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &Runtime,
) {
    let (store, keys) = store_with_hot_keys(runtime, HOT_KEYS);
    let keys: Vec<String> = keys.iter().map(|k| k.expose_secret().to_owned()).collect();
    let empty = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let typed = service_fn(|_: Request<String>| async {
        let mut response = Response::new(String::new());
        let text = HeaderValue::from_static("text/plain; charset=utf-8");
        response.headers_mut().insert(header::CONTENT_TYPE, text);
        Ok::<_, Infallible>(response)
    });
    let limit = RateLimit::new(1_000_000, 1).unwrap();
    let limits = RateLimits::new(MemoryLimiter::new()).default_for(Permission::FullAccess, limit);
    let unlimited = ApiKeyAuthLayer::new(store.clone());
    let limited = ApiKeyAuthLayer::new(store).with_rate_limits(limits.clone());
    let no_headers = limited.clone().with_rate_limits(limits.without_headers());
    let mut bench = |name, service| hot_keys(group, runtime, name, service, &keys);
    bench("hot_keys", unlimited.layer(empty));
    bench("hot_keys_limited", limited.layer(empty));
    bench("hot_keys_limited_no_headers", no_headers.layer(empty));
    let mut bench = |name, service| hot_keys(group, runtime, name, service, &keys);
    bench("hot_keys_typed", unlimited.layer(typed));
    bench("hot_keys_typed_limited", limited.layer(typed));
}

/// Keys the rate limit benches take in turn. A key comes round every 16 requests, so that it
/// stays under a limit's highest rate (one a microsecond) unless a whole request through the
/// layer, SHA-256 included, took under 62 ns.
const HOT_KEYS: usize = 16;

/// Requests with `keys` in turn through `service`, each of which must be admitted.
fn hot_keys<S>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &Runtime,
    name: &str,
    service: S,
    keys: &[String],
) where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
{
    let mut next = 0;
    group.bench_function(name, |b| {
        b.to_async(runtime).iter(|| {
            next = (next + 1) % keys.len();
            let request = Request::get("/v1/forms")
                .header("api-key", keys[next].as_str())
                .body(String::new())
                .unwrap();
            let mut service = service.clone();
            async move {
                let response = service.ready().await.unwrap().call(request).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                response.status()
            }
        })
    });
}

/// A preset key against a restricted one on a route that needs a scope: one layer whose policy
/// maps `/v1/forms` to the `forms` resource (`GET` needs `forms:read`), a memory store with 1,000
/// keys and the two, each hot. The `read_only` key passes by its level, the restricted key (five
/// scopes, `forms:read` among them) by its bitset. `preset_no_rules` is the `read_only` key
/// through a policy without rules, which skips the route match.
fn scopes(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let resources =
        Resources::new(["forms", "submissions", "webhooks", "members", "billing"]).unwrap();
    let held = resources
        .scopes([
            "forms:read",
            "submissions:write",
            "webhooks:read",
            "members:read",
            "billing:read",
        ])
        .unwrap();
    let (store, _) = store_with_hot_keys(&runtime, 0);
    let issue = |access: Access| {
        let key = KeyFormat::default().generate().unwrap();
        let record = KeyRecord::new(
            key.id(),
            OrganizationId::from("org_scopes"),
            format!("bench {access}"),
            access,
            key.digest(),
            SystemTime::now(),
        );
        runtime.block_on(store.insert(&record, None)).unwrap();
        key.expose_secret().to_owned()
    };
    let preset = issue(Access::ReadOnly);
    let restricted = issue(Access::Restricted(held));
    let handler = service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let forms = resources.get("forms").unwrap();
    let policy = PermissionPolicy::new().resource("/v1/forms/{*rest}", forms);
    let scoped = ApiKeyAuthLayer::new(store.clone())
        .with_policy(policy)
        .layer(handler);
    let unscoped = ApiKeyAuthLayer::new(store)
        .with_policy(PermissionPolicy::new())
        .layer(handler);
    let mut group = c.benchmark_group("scopes");
    for (name, service, key) in [
        ("preset_no_rules", &unscoped, &preset),
        ("preset", &scoped, &preset),
        ("restricted", &scoped, &restricted),
    ] {
        // A refused key would measure the rejection instead.
        assert_eq!(runtime.block_on(get_forms(service, key)), StatusCode::OK);
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| get_forms(service, key))
        });
    }
    group.finish();
}

/// One in-process limiter check of a hot key, and the clock read it contains.
///
/// Keys are taken in turn, [`LIMITER_KEYS`] of them, so that each comes round again only after
/// that many checks: at a limit's highest rate (one request a microsecond) a key is never
/// refused, however fast the machine. The decision is not asserted inside the loop, which
/// would measure the assertion; it is checked once afterwards.
fn limiter(c: &mut Criterion) {
    let limiter = MemoryLimiter::new();
    let format = KeyFormat::default();
    let keys: Vec<_> = (0..LIMITER_KEYS)
        .map(|_| format.generate().unwrap().id())
        .collect();
    let limit = RateLimit::new(1_000_000, 1).unwrap();
    let mut next = 0;
    let mut refused = 0u64;
    c.bench_function("limiter/decide", |b| {
        b.iter(|| {
            next = (next + 1) % keys.len();
            let decision = limiter.decide(black_box(keys[next]), limit);
            refused += u64::from(!decision.allowed);
        })
    });
    assert_eq!(refused, 0, "limiter/decide measured refusals");
    c.bench_function("limiter/instant_now", |b| b.iter(std::time::Instant::now));
}

/// Keys `limiter/decide` takes in turn: even at 1 ns a check, each key comes round every
/// 4 µs, four times slower than the highest rate a limit allows.
const LIMITER_KEYS: usize = 4_096;

criterion_group!(
    benches, baseline, parse, peer, verify, request, scopes, limiter
);
criterion_main!(benches);
