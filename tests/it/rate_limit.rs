//! Per-key rate limits through the real layer: what is counted, what a refusal says, and what the
//! limiter remembers.

use crate::common;

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, SystemTime},
};

use crate::common::limit;
use common::{assert_rejected, change, counting_service, issue_key};
use formbox_auth::{
    ApiKeyAuthLayer, Authenticator, KeyFormat, KeyId, KeyRecord, MemoryStore, Permission,
    Rejection,
    events::KeyEvent,
    key::PlaintextKey,
    rate_limit::{Check, MemoryLimiter, RateDecision, RateLimit, RateLimiter, RateLimits},
    testing::{ManualClock, TestStore},
};
use http::{Method, Request, Response, StatusCode, header};
use tower::{Layer, Service, ServiceExt};

type Reply = Response<String>;

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

/// The layer over a counting service, with `limits` and an in-process limiter on `clock`.
fn service(
    store: MemoryStore,
    limits: impl FnOnce(RateLimits) -> RateLimits,
    clock: &ManualClock,
) -> impl Service<Request<String>, Response = Reply, Error = Infallible, Future = impl Send>
+ Clone
+ Send
+ 'static {
    let limits = limits(RateLimits::new(MemoryLimiter::with_clock(clock.clone())));
    ApiKeyAuthLayer::new(store)
        .with_rate_limits(limits)
        .layer(counting_service().0)
}

async fn send<S>(service: &S, method: Method, key: &str) -> Reply
where
    S: Service<Request<String>, Response = Reply, Error = Infallible> + Clone,
{
    let request = Request::builder()
        .method(method)
        .uri("/v1/forms")
        .header("api-key", key)
        .body(String::new())
        .unwrap();
    service.clone().oneshot(request).await.unwrap()
}

async fn get<S>(service: &S, key: &PlaintextKey) -> Reply
where
    S: Service<Request<String>, Response = Reply, Error = Infallible> + Clone,
{
    send(service, Method::GET, key.expose_secret()).await
}

/// A key with `permission` and its own `rate_limit`, if any.
async fn key_with(
    store: &MemoryStore,
    permission: Permission,
    rate_limit: Option<RateLimit>,
) -> (PlaintextKey, KeyRecord) {
    let (key, record) = issue_key(store, "org_a", permission).await;
    let record = change(store, &record, |record| record.rate_limit = rate_limit).await;
    (key, record)
}

/// How many of `times` GETs with `key` are admitted; fails on any other refusal.
async fn admitted<S>(service: &S, key: &PlaintextKey, times: u32) -> u32
where
    S: Service<Request<String>, Response = Reply, Error = Infallible> + Clone,
{
    let mut admitted = 0;
    for _ in 0..times {
        let response = get(service, key).await;
        match response.status() {
            StatusCode::OK => admitted += 1,
            _ => assert_rejected(&response, StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        }
    }
    admitted
}

fn body(response: &Reply) -> serde_json::Value {
    serde_json::from_str(response.body()).unwrap()
}

#[tokio::test]
async fn five_per_minute_admits_five_then_refuses_until_twelve_seconds_pass() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, _) = key_with(&store, Permission::FullAccess, Some(limit(5, 60))).await;
    let service = service(store, |limits| limits, &clock);
    for _ in 0..5 {
        assert_eq!(get(&service, &key).await.status(), StatusCode::OK);
    }
    let refused = get(&service, &key).await;
    assert_rejected(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(refused.headers()[header::RETRY_AFTER], "12");
    let body = body(&refused);
    assert_eq!(body["error"]["rate_limit"]["requests"], 5);
    assert_eq!(body["error"]["rate_limit"]["per_seconds"], 60);
    assert_eq!(body["error"]["retry_after_seconds"], 12);
    assert!(body["error"]["message"].is_string());

    clock.advance(Duration::from_secs(11));
    assert_eq!(
        get(&service, &key).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&service, &key).await.status(), StatusCode::OK);
    assert_eq!(
        get(&service, &key).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_refusal_carries_the_rejection_and_reports_an_event() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, record) = key_with(&store, Permission::FullAccess, Some(limit(1, 60))).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let authenticator = Authenticator::new(store)
        .with_events(move |event: &KeyEvent| sink.lock().unwrap().push(event.clone()));
    let limits = RateLimits::new(MemoryLimiter::with_clock(clock.clone()));
    let service = ApiKeyAuthLayer::new(authenticator)
        .with_rate_limits(limits)
        .layer(counting_service().0);
    get(&service, &key).await;
    let refused = get(&service, &key).await;
    assert_eq!(
        refused.extensions().get::<Rejection>(),
        Some(&Rejection::RateLimited {
            limit: limit(1, 60),
            retry_after: Duration::from_secs(60),
        })
    );
    let rejected: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|event| matches!(event, KeyEvent::Rejected { .. }))
        .cloned()
        .collect();
    assert_eq!(
        rejected,
        [KeyEvent::Rejected {
            key_id: Some(record.id),
            code: "rate_limited",
        }]
    );
}

#[tokio::test]
async fn another_key_keeps_its_own_budget() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (spent, _) = key_with(&store, Permission::FullAccess, Some(limit(2, 60))).await;
    let (other, _) = key_with(&store, Permission::FullAccess, Some(limit(2, 60))).await;
    let service = service(store, |limits| limits, &clock);
    assert_eq!(admitted(&service, &spent, 5).await, 2);
    assert_eq!(admitted(&service, &other, 5).await, 2);
}

#[tokio::test]
async fn a_permissions_default_limits_keys_without_their_own_and_their_own_wins() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (read_only, _) = key_with(&store, Permission::ReadOnly, None).await;
    let (full_access, _) = key_with(&store, Permission::FullAccess, None).await;
    let (own, _) = key_with(&store, Permission::ReadOnly, Some(limit(4, 60))).await;
    let service = service(
        store,
        |limits| {
            limits
                .default_for(Permission::ReadOnly, limit(2, 60))
                .default_for(Permission::FullAccess, limit(3, 60))
        },
        &clock,
    );
    assert_eq!(admitted(&service, &read_only, 10).await, 2);
    assert_eq!(admitted(&service, &full_access, 10).await, 3);
    assert_eq!(admitted(&service, &own, 10).await, 4);
}

#[tokio::test]
async fn a_key_without_a_limit_or_a_default_is_not_limited() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (full_access, _) = key_with(&store, Permission::FullAccess, None).await;
    let service = service(
        store.clone(),
        |limits| limits.default_for(Permission::ReadOnly, limit(1, 60)),
        &clock,
    );
    assert_eq!(admitted(&service, &full_access, 20).await, 20);
    let response = get(&service, &full_access).await;
    assert!(!response.headers().contains_key("ratelimit"));

    let (own, _) = key_with(&store, Permission::FullAccess, Some(limit(1, 60))).await;
    let without_limits = ApiKeyAuthLayer::new(store).layer(counting_service().0);
    assert_eq!(admitted(&without_limits, &own, 20).await, 20);
}

#[tokio::test]
async fn admitted_responses_carry_the_rate_limit_fields() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, _) = key_with(&store, Permission::FullAccess, Some(limit(5, 60))).await;
    let service = service(store, |limits| limits, &clock);
    let first = get(&service, &key).await;
    assert_eq!(first.headers()["ratelimit-policy"], r#""default";q=5;w=60"#);
    assert_eq!(first.headers()["ratelimit"], r#""default";r=4;t=12"#);
    assert!(!first.headers().contains_key(header::RETRY_AFTER));
    clock.advance(Duration::from_secs(5));
    let second = get(&service, &key).await;
    assert_eq!(second.headers()["ratelimit"], r#""default";r=3;t=7"#);
}

#[tokio::test]
async fn without_headers_only_refusals_carry_the_fields() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, _) = key_with(&store, Permission::FullAccess, None).await;
    let service = service(
        store,
        |limits| {
            limits
                .default_for(Permission::FullAccess, limit(1, 60))
                .without_headers()
        },
        &clock,
    );
    let admitted = get(&service, &key).await;
    assert_eq!(admitted.status(), StatusCode::OK);
    assert!(!admitted.headers().contains_key("ratelimit-policy"));
    assert!(!admitted.headers().contains_key("ratelimit"));
    let refused = get(&service, &key).await;
    assert_eq!(
        refused.headers()["ratelimit-policy"],
        r#""default";q=1;w=60"#
    );
    assert_eq!(refused.headers()["ratelimit"], r#""default";r=0;t=60"#);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "60");
}

#[tokio::test]
async fn a_refusal_in_an_applications_own_format_still_says_when_to_retry() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, _) = key_with(&store, Permission::FullAccess, Some(limit(1, 60))).await;
    let limits = RateLimits::new(MemoryLimiter::with_clock(clock.clone()));
    let service = ApiKeyAuthLayer::new(store)
        .with_rate_limits(limits)
        .with_rejection(|rejection: Rejection| {
            let mut response = Response::new(format!("<error>{}</error>", rejection.code()));
            *response.status_mut() = rejection.status();
            response
        })
        .layer(counting_service().0);
    get(&service, &key).await;
    let refused = get(&service, &key).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body(), "<error>rate_limited</error>");
    assert_eq!(refused.headers()[header::RETRY_AFTER], "60");
    assert_eq!(refused.headers()["ratelimit"], r#""default";r=0;t=60"#);
}

#[tokio::test]
async fn a_wrong_secret_spends_nothing() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, record) = key_with(&store, Permission::FullAccess, Some(limit(1, 60))).await;
    let service = service(store, |limits| limits, &clock);
    let wrong = KeyFormat::default().generate_for(record.id).unwrap();
    for _ in 0..5 {
        let response = send(&service, Method::GET, wrong.expose_secret()).await;
        assert_rejected(&response, StatusCode::UNAUTHORIZED, "invalid_api_key");
    }
    assert_eq!(get(&service, &key).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_the_key_may_not_make_spends_nothing() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, _) = key_with(&store, Permission::ReadOnly, Some(limit(1, 60))).await;
    let service = service(store, |limits| limits, &clock);
    for _ in 0..5 {
        let response = send(&service, Method::POST, key.expose_secret()).await;
        assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_permissions");
    }
    assert_eq!(get(&service, &key).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn keys_read_from_a_slow_store_are_limited_too() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, _) = key_with(&store, Permission::FullAccess, Some(limit(2, 60))).await;
    let store = TestStore::new(store).without_cached_lookups();
    let limits = RateLimits::new(MemoryLimiter::with_clock(clock.clone()));
    let service = ApiKeyAuthLayer::new(store)
        .with_rate_limits(limits)
        .layer(counting_service().0);
    assert_eq!(admitted(&service, &key, 5).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_of_one_key_never_exceed_its_limit() {
    let (store, clock) = (MemoryStore::new(), clock());
    let (key, _) = key_with(&store, Permission::FullAccess, Some(limit(50, 3_600))).await;
    let service = service(store, |limits| limits, &clock);
    let key = Arc::new(key);
    let tasks: Vec<_> = (0..400)
        .map(|_| {
            let (service, key) = (service.clone(), Arc::clone(&key));
            tokio::spawn(async move { get(&service, &key).await.status() })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 50);
}

/// A shared limiter's shape: every answer comes after a round trip. Admits `budget` requests.
#[derive(Debug)]
struct RoundTripLimiter {
    budget: u32,
    checks: Arc<AtomicU32>,
}

impl RateLimiter for RoundTripLimiter {
    fn check(&self, _key: KeyId, limit: RateLimit) -> Check {
        let spent = self.checks.fetch_add(1, Ordering::SeqCst);
        let allowed = spent < self.budget;
        Check::Pending(Box::pin(async move {
            tokio::task::yield_now().await;
            RateDecision {
                limit,
                allowed,
                remaining: 0,
                reset_after: Duration::from_secs(30),
                retry_after: if allowed {
                    Duration::ZERO
                } else {
                    Duration::from_secs(30)
                },
            }
        }))
    }
}

#[tokio::test]
async fn a_limiter_that_answers_later_is_awaited_on_both_paths() {
    for cached_lookups in [true, false] {
        let store = MemoryStore::new();
        let (key, _) = key_with(&store, Permission::FullAccess, Some(limit(9, 60))).await;
        let mut store = TestStore::new(store);
        if !cached_lookups {
            store = store.without_cached_lookups();
        }
        let checks = Arc::new(AtomicU32::new(0));
        let limiter = RoundTripLimiter {
            budget: 2,
            checks: Arc::clone(&checks),
        };
        let service = ApiKeyAuthLayer::new(store)
            .with_rate_limits(RateLimits::new(limiter))
            .layer(counting_service().0);
        let first = get(&service, &key).await;
        assert_eq!(first.headers()["ratelimit-policy"], r#""default";q=9;w=60"#);
        assert_eq!(
            admitted(&service, &key, 3).await,
            1,
            "cached: {cached_lookups}"
        );
        let refused = get(&service, &key).await;
        assert_eq!(refused.headers()[header::RETRY_AFTER], "30");
        assert_eq!(checks.load(Ordering::SeqCst), 5);
    }
}

#[test]
fn the_limiter_forgets_keys_whose_budget_refilled() {
    let clock = clock();
    let limiter = MemoryLimiter::with_clock(clock.clone());
    let keys_per_round = 5_000;
    for round in 0..20u32 {
        for n in 0..keys_per_round {
            let key: KeyId = format!("{:06}{n:06}", round).parse().unwrap();
            assert!(limiter.decide(key, limit(1, 1)).allowed);
        }
        // Every budget above is whole again after a second.
        clock.advance(Duration::from_secs(2));
        let tracked = limiter.tracked_keys();
        assert!(
            tracked <= 3 * keys_per_round as usize,
            "round {round}: {tracked} keys held"
        );
    }
}
