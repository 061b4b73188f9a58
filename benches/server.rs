//! The example server's whole router without the network: `GET /health`, open, against
//! `GET /v1/forms` with a hot read-only key, through the routes and layers of
//! `cargo run --example server` (`examples/server/app.rs`): the Prometheus recorder counting
//! into `AuthMetrics`, the in-process rate limiter with the key's own limit, the routes'
//! `PermissionPolicy`, the handler and its JSON. What `scripts/load.sh` measures under wrk, less
//! hyper and the sockets.
//!
//! `cargo bench --bench server --features management,metrics`
//!
//! `server/forms` minus `server/health` is what authenticating costs a request end to end;
//! `server/forms_no_limit` is the same route with a key that has no rate limit of its own.

#[path = "../examples/server/app.rs"]
#[allow(dead_code)]
mod app;

use axum::{Router, body::Body};
use criterion::{Criterion, criterion_group, criterion_main};
use formbox_auth::{
    Authenticator, KeyManager, MemoryStore, OrganizationId, Permission,
    lifecycle::NewKey,
    metrics::AuthMetrics,
    rate_limit::{MemoryLimiter, RateLimit, RateLimits},
};
use http::{Request, StatusCode};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// Keys the authenticated benches take in turn. Each is limited to the most a limit allows
/// (1,000,000 a second) and comes round every 16 requests, so that none is ever refused unless
/// a whole request through the router took under 62 ns.
const HOT_KEYS: usize = 16;

/// The example's router over a memory store, as `main` assembles it with `--store memory
/// --limiter memory`, with the recorder installed first; and `HOT_KEYS` read-only keys of the
/// demo organization with a limit of their own, then `HOT_KEYS` without.
fn server(runtime: &Runtime) -> (Router, Vec<String>, Vec<String>) {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    let authenticator = Authenticator::new(MemoryStore::new()).with_metrics(AuthMetrics::new());
    let manager = KeyManager::new(authenticator)
        .with_resources(app::resources::declare().unwrap())
        .with_max_keys_per_organization(2 * HOT_KEYS);
    let limit = RateLimit::new(RateLimit::MAX_REQUESTS, 1).unwrap();
    let organization = OrganizationId::from(app::DEMO_ORGANIZATION);
    let create = |name: String, limit: Option<RateLimit>| {
        let new = NewKey::new(name, Permission::ReadOnly).rate_limit(limit);
        let created = runtime
            .block_on(manager.create(&organization, new))
            .unwrap();
        created.key.expose_secret().to_owned()
    };
    let limited = (0..HOT_KEYS)
        .map(|i| create(format!("limited {i}"), Some(limit)))
        .collect();
    let unlimited = (0..HOT_KEYS)
        .map(|i| create(format!("unlimited {i}"), None))
        .collect();
    let limits = RateLimits::new(MemoryLimiter::new());
    let router = app::app(app::AppState::new(manager).with_rate_limits(limits));
    (router, limited, unlimited)
}

/// One request through a clone of `router`, as a server calls it; panics unless it answered
/// `200` with a body.
async fn get(router: &Router, path: &str, key: Option<&str>) {
    let mut request = Request::get(path);
    if let Some(key) = key {
        request = request.header("api-key", key);
    }
    let request = request.body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(!body.is_empty(), "{path}");
}

fn routes(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (router, limited, unlimited) = server(&runtime);
    let mut group = c.benchmark_group("server");
    group.bench_function("health", |b| {
        b.to_async(&runtime).iter(|| get(&router, "/health", None))
    });
    for (name, keys) in [("forms", &limited), ("forms_no_limit", &unlimited)] {
        let mut next = 0;
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                next = (next + 1) % keys.len();
                get(&router, "/v1/forms", Some(&keys[next]))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, routes);
criterion_main!(benches);
