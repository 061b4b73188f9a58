//! What `AuthMetrics` records, series by series, through a real tower stack: each test makes a
//! known sequence of requests and checks every count it should have moved, and that the others
//! stayed at zero.
#![cfg(feature = "metrics")]

use crate::common;

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use common::{change, counting_service, issue_key};
use formbox_auth::{
    Access, ApiKeyAuthLayer, Authenticator, KeyFormat, KeyManager, MemoryStore, Permission,
    PermissionPolicy,
    metrics::AuthMetrics,
    permission::Resources,
    rate_limit::{MemoryLimiter, RateLimit, RateLimits},
    store::CachedStore,
    testing::{Fault, Method, TestStore},
};
use http::{Method as HttpMethod, Request, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tower::{Layer, ServiceExt};

const REQUESTS: &str = "formbox_auth_requests_total";
const DURATION: &str = "formbox_auth_verification_duration_seconds";
const LOOKUPS: &str = "formbox_auth_cache_lookups_total";
const STORE_ERRORS: &str = "formbox_auth_store_errors_total";
const FLUSHES: &str = "formbox_auth_usage_flushes_total";
const FLUSHED_KEYS: &str = "formbox_auth_usage_flushed_keys_total";

const CODES: [&str; 8] = [
    "missing_api_key",
    "invalid_api_key",
    "revoked_api_key",
    "expired_api_key",
    "insufficient_permissions",
    "ambiguous_api_key",
    "key_store_unavailable",
    "rate_limited",
];

/// Metrics registered with a recorder of their own, and what reads it.
fn recorded_metrics() -> (AuthMetrics, Snapshotter) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let metrics = metrics::with_local_recorder(&recorder, AuthMetrics::new);
    (metrics, snapshotter)
}

/// One snapshot: every series by name and sorted labels.
struct Recorded {
    series: BTreeMap<(String, Vec<(String, String)>), DebugValue>,
    described: BTreeMap<String, (Option<metrics::Unit>, String)>,
}

impl Recorded {
    /// Reads (and resets) what `snapshotter` holds.
    fn take(snapshotter: &Snapshotter) -> Self {
        let mut series = BTreeMap::new();
        let mut described = BTreeMap::new();
        for (key, unit, help, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<_> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            let name = key.name().to_owned();
            if let Some(help) = help {
                described.insert(name.clone(), (unit, help.to_string()));
            }
            series.insert((name, labels), value);
        }
        Self { series, described }
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        let mut labels: Vec<_> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        labels.sort();
        self.series.get(&(name.to_owned(), labels))
    }

    /// A counter's value; fails the test if the series was never registered.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.value(name, labels) {
            Some(DebugValue::Counter(value)) => *value,
            other => panic!("{name} {labels:?}: not a registered counter: {other:?}"),
        }
    }

    /// How many samples a histogram took.
    fn samples(&self, name: &str) -> usize {
        match self.value(name, &[]) {
            Some(DebugValue::Histogram(values)) => values.len(),
            other => panic!("{name}: not a registered histogram: {other:?}"),
        }
    }

    fn rejected(&self, code: &str) -> u64 {
        self.counter(REQUESTS, &[("outcome", "rejected"), ("code", code)])
    }

    fn admitted(&self) -> u64 {
        self.counter(REQUESTS, &[("outcome", "admitted")])
    }

    fn store_errors(&self, operation: &str, kind: &str) -> u64 {
        self.counter(STORE_ERRORS, &[("operation", operation), ("kind", kind)])
    }

    /// The sum of every counter series of `name`.
    fn total(&self, name: &str) -> u64 {
        self.series
            .iter()
            .filter(|((series, _), _)| series == name)
            .map(|(_, value)| match value {
                DebugValue::Counter(value) => *value,
                other => panic!("{name}: not a counter: {other:?}"),
            })
            .sum()
    }

    /// Whether any series carries the label `label`.
    fn has_label(&self, label: &str) -> bool {
        self.series
            .keys()
            .any(|(_, labels)| labels.iter().any(|(key, _)| key == label))
    }
}

fn request(method: HttpMethod, headers: &[(&str, &str)]) -> Request<String> {
    let mut builder = Request::builder().method(method).uri("/v1/forms");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(String::new()).unwrap()
}

/// Sends a `GET /v1/forms` with `key` in its `api-key` header through a fresh service of
/// `layer`, and returns the status.
async fn get(layer: &ApiKeyAuthLayer, key: &str) -> StatusCode {
    send(layer, request(HttpMethod::GET, &[("api-key", key)])).await
}

async fn send(layer: &ApiKeyAuthLayer, request: Request<String>) -> StatusCode {
    let (inner, _) = counting_service();
    layer.layer(inner).oneshot(request).await.unwrap().status()
}

#[test]
fn every_series_exists_at_zero_with_its_description_once_built() {
    let (_metrics, snapshotter) = recorded_metrics();
    let recorded = Recorded::take(&snapshotter);

    assert_eq!(recorded.admitted(), 0);
    for code in CODES.into_iter().chain(["insufficient_scope"]) {
        assert_eq!(recorded.rejected(code), 0, "{code}");
    }
    assert_eq!(recorded.samples(DURATION), 0);
    for result in ["hit", "miss"] {
        assert_eq!(recorded.counter(LOOKUPS, &[("result", result)]), 0);
    }
    for operation in ["lookup", "record_usage"] {
        for kind in ["backend", "decode", "timeout"] {
            assert_eq!(recorded.store_errors(operation, kind), 0);
        }
    }
    for result in ["ok", "error"] {
        assert_eq!(recorded.counter(FLUSHES, &[("result", result)]), 0);
    }
    assert_eq!(recorded.counter(FLUSHED_KEYS, &[]), 0);
    // 1 admitted + 9 codes, 1 histogram, 2 lookups, 6 store errors, 2 flushes, 1 flushed keys.
    assert_eq!(recorded.series.len(), 22, "{:?}", recorded.series.keys());

    let (unit, help) = &recorded.described[DURATION];
    assert_eq!(*unit, Some(metrics::Unit::Seconds));
    assert!(help.contains("not timed"), "{help}");
    for name in [REQUESTS, LOOKUPS, STORE_ERRORS, FLUSHES, FLUSHED_KEYS] {
        let (unit, help) = &recorded.described[name];
        assert_eq!(*unit, Some(metrics::Unit::Count), "{name}");
        assert!(!help.is_empty(), "{name}");
    }
}

/// The series are registered when `AuthMetrics` is built: requests made after the recorder
/// scope closed still reach them.
#[tokio::test]
async fn each_rejection_is_counted_under_its_code() {
    let (metrics, snapshotter) = recorded_metrics();
    let store = MemoryStore::new();
    let (full, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let (read_only, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let (revoked, record) = issue_key(&store, "org_a", Permission::FullAccess).await;
    change(&store, &record, |next| {
        next.revoked_at = Some(SystemTime::now())
    })
    .await;
    let (expired, record) = issue_key(&store, "org_a", Permission::FullAccess).await;
    change(&store, &record, |next| {
        next.expires_at = Some(SystemTime::now() - Duration::from_secs(60))
    })
    .await;
    let layer =
        ApiKeyAuthLayer::new(Authenticator::new(store.clone()).with_metrics(metrics.clone()));
    let unknown = KeyFormat::default().generate().unwrap();

    // A distinct number of each, so that two codes swapped would show.
    assert_eq!(send(&layer, request(HttpMethod::GET, &[])).await, 401);
    for key in ["garbage", unknown.expose_secret()] {
        assert_eq!(get(&layer, key).await, 401);
    }
    for _ in 0..3 {
        assert_eq!(get(&layer, revoked.expose_secret()).await, 401);
    }
    for _ in 0..4 {
        assert_eq!(get(&layer, expired.expose_secret()).await, 401);
    }
    for _ in 0..5 {
        let post = request(HttpMethod::POST, &[("api-key", read_only.expose_secret())]);
        assert_eq!(send(&layer, post).await, 403);
    }
    for _ in 0..6 {
        let twice = [
            ("api-key", full.expose_secret()),
            ("api-key", full.expose_secret()),
        ];
        assert_eq!(send(&layer, request(HttpMethod::GET, &twice)).await, 400);
    }
    let failing = TestStore::new(store.clone());
    failing.fault(Method::Get, Fault::Error);
    let failing = ApiKeyAuthLayer::new(Authenticator::new(failing).with_metrics(metrics.clone()));
    for _ in 0..7 {
        assert_eq!(get(&failing, full.expose_secret()).await, 503);
    }
    let one_a_minute = RateLimit::new(1, 60).unwrap();
    let limits =
        RateLimits::new(MemoryLimiter::new()).default_for(Permission::FullAccess, one_a_minute);
    let limited = ApiKeyAuthLayer::new(Authenticator::new(store).with_metrics(metrics))
        .with_rate_limits(limits);
    for expected in [200, 429, 429, 429, 429, 429, 429, 429, 429] {
        assert_eq!(get(&limited, full.expose_secret()).await, expected);
    }

    let recorded = Recorded::take(&snapshotter);
    for (count, code) in (1..).zip(CODES) {
        assert_eq!(recorded.rejected(code), count, "{code}");
    }
    assert_eq!(recorded.admitted(), 1);
    assert_eq!(recorded.total(REQUESTS), 1 + (1..=8).sum::<u64>());
}

/// A restricted key refused for a scope counts under `insufficient_scope`, on both verification
/// paths, and a preset refused on the same route under `insufficient_permissions`.
#[tokio::test]
async fn a_missing_scope_is_counted_under_insufficient_scope() {
    let (metrics, snapshotter) = recorded_metrics();
    let resources = Resources::new(["forms"]).unwrap();
    let memory = MemoryStore::new();
    let reader = Access::Restricted(resources.scopes(["forms:read"]).unwrap());
    let (restricted, _) = issue_key(&memory, "org_a", reader).await;
    let (read_only, _) = issue_key(&memory, "org_a", Permission::ReadOnly).await;
    let policy = PermissionPolicy::new().resource("/v1/forms", resources.get("forms").unwrap());
    let uncached = TestStore::new(memory.clone()).without_cached_lookups();
    let synchronous =
        ApiKeyAuthLayer::new(Authenticator::new(memory).with_metrics(metrics.clone()))
            .with_policy(policy.clone());
    let asynchronous = ApiKeyAuthLayer::new(Authenticator::new(uncached).with_metrics(metrics))
        .with_policy(policy);
    let post = |key: &str| request(HttpMethod::POST, &[("api-key", key)]);
    for _ in 0..2 {
        assert_eq!(
            send(&synchronous, post(restricted.expose_secret())).await,
            403
        );
    }
    for _ in 0..3 {
        assert_eq!(
            send(&asynchronous, post(restricted.expose_secret())).await,
            403
        );
    }
    assert_eq!(
        send(&synchronous, post(read_only.expose_secret())).await,
        403
    );
    assert_eq!(get(&synchronous, restricted.expose_secret()).await, 200);

    let recorded = Recorded::take(&snapshotter);
    assert_eq!(recorded.rejected("insufficient_scope"), 5);
    assert_eq!(recorded.rejected("insufficient_permissions"), 1);
    assert_eq!(recorded.admitted(), 1);
    assert_eq!(recorded.total(REQUESTS), 7);
}

#[tokio::test]
async fn admitted_requests_are_counted_on_both_verification_paths() {
    let (metrics, snapshotter) = recorded_metrics();
    let memory = MemoryStore::new();
    let (key, _) = issue_key(&memory, "org_a", Permission::FullAccess).await;
    // Answered from memory, without a future of its own...
    let synchronous =
        ApiKeyAuthLayer::new(Authenticator::new(memory.clone()).with_metrics(metrics.clone()));
    for _ in 0..2 {
        assert_eq!(get(&synchronous, key.expose_secret()).await, 200);
    }
    // ...and through the store's `get`.
    let uncached = TestStore::new(memory).without_cached_lookups();
    let asynchronous = ApiKeyAuthLayer::new(Authenticator::new(uncached).with_metrics(metrics));
    for _ in 0..3 {
        assert_eq!(get(&asynchronous, key.expose_secret()).await, 200);
    }

    let recorded = Recorded::take(&snapshotter);
    assert_eq!(recorded.admitted(), 5);
    assert_eq!(recorded.total(REQUESTS), 5);
}

#[tokio::test]
async fn store_verifications_are_timed_and_cache_hits_are_not() {
    let (metrics, snapshotter) = recorded_metrics();
    let behind = TestStore::new(MemoryStore::new()).without_cached_lookups();
    let (key, _) = issue_key(&behind, "org_a", Permission::FullAccess).await;
    let unknown = KeyFormat::default().generate().unwrap();
    let layer = ApiKeyAuthLayer::new(
        Authenticator::new(CachedStore::new(behind.clone())).with_metrics(metrics),
    );

    // A miss that fills the cache, then hits.
    for _ in 0..3 {
        assert_eq!(get(&layer, key.expose_secret()).await, 200);
    }
    let recorded = Recorded::take(&snapshotter);
    assert_eq!(behind.calls(Method::Get), 1);
    assert_eq!(recorded.counter(LOOKUPS, &[("result", "miss")]), 1);
    assert_eq!(recorded.counter(LOOKUPS, &[("result", "hit")]), 2);
    assert_eq!(recorded.samples(DURATION), 1);

    // An unknown key: a miss, then answered by the negative cache.
    for _ in 0..2 {
        assert_eq!(get(&layer, unknown.expose_secret()).await, 401);
    }
    let recorded = Recorded::take(&snapshotter);
    assert_eq!(behind.calls(Method::Get), 2);
    assert_eq!(recorded.counter(LOOKUPS, &[("result", "miss")]), 1);
    assert_eq!(recorded.counter(LOOKUPS, &[("result", "hit")]), 1);
    assert_eq!(recorded.samples(DURATION), 1);
}

#[tokio::test]
async fn a_store_that_answers_from_memory_is_never_timed() {
    let (metrics, snapshotter) = recorded_metrics();
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let authenticator = Authenticator::new(store).with_metrics(metrics);
    for _ in 0..4 {
        authenticator
            .authenticate(key.expose_secret())
            .await
            .unwrap();
    }

    let recorded = Recorded::take(&snapshotter);
    assert_eq!(recorded.counter(LOOKUPS, &[("result", "hit")]), 4);
    assert_eq!(recorded.counter(LOOKUPS, &[("result", "miss")]), 0);
    assert_eq!(recorded.samples(DURATION), 0);
}

#[tokio::test]
async fn store_errors_are_counted_by_kind() {
    let (metrics, snapshotter) = recorded_metrics();
    let store = TestStore::new(MemoryStore::new());
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let layer =
        ApiKeyAuthLayer::new(Authenticator::new(store.clone()).with_metrics(metrics.clone()));

    store.fault(Method::Get, Fault::Error);
    assert_eq!(get(&layer, key.expose_secret()).await, 503);
    store.fault(Method::Get, Fault::Timeout);
    for _ in 0..2 {
        assert_eq!(get(&layer, key.expose_secret()).await, 503);
    }
    // A store that hangs, cut off by the authenticator's own timeout.
    store.fault(Method::Get, Fault::Hang);
    let impatient = Authenticator::new(store.clone())
        .with_store_timeout(Duration::from_millis(20))
        .with_metrics(metrics);
    let impatient = ApiKeyAuthLayer::new(impatient);
    assert_eq!(get(&impatient, key.expose_secret()).await, 503);
    store.fault(Method::Get, Fault::Decode);
    for _ in 0..4 {
        assert_eq!(get(&layer, key.expose_secret()).await, 503);
    }

    let recorded = Recorded::take(&snapshotter);
    assert_eq!(recorded.store_errors("lookup", "backend"), 1);
    assert_eq!(recorded.store_errors("lookup", "timeout"), 3);
    assert_eq!(recorded.store_errors("lookup", "decode"), 4);
    assert_eq!(recorded.total(STORE_ERRORS), 8);
    assert_eq!(recorded.rejected("key_store_unavailable"), 8);
    // Failed verifications went to the store too: timed, a stuck one included.
    assert_eq!(recorded.samples(DURATION), 8);
    assert_eq!(recorded.counter(LOOKUPS, &[("result", "miss")]), 8);
}

#[tokio::test]
async fn usage_flushes_are_counted_with_the_keys_they_wrote() {
    let (metrics, snapshotter) = recorded_metrics();
    let store = TestStore::new(MemoryStore::new());
    let (first, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let (second, _) = issue_key(&store, "org_b", Permission::ReadOnly).await;
    let manager = KeyManager::new(Authenticator::new(store.clone()).with_metrics(metrics));
    let layer = ApiKeyAuthLayer::new(manager.authenticator().clone());

    for key in [&first, &second, &first] {
        assert_eq!(get(&layer, key.expose_secret()).await, 200);
    }
    assert_eq!(manager.authenticator().flush_usage().await.unwrap(), 2);
    assert_eq!(get(&layer, first.expose_secret()).await, 200);
    store.fault(Method::RecordUsage, Fault::Error);
    assert!(manager.authenticator().flush_usage().await.is_err());
    store.fault(Method::RecordUsage, Fault::Timeout);
    assert!(manager.authenticator().flush_usage().await.is_err());
    store.clear_faults();
    // The batch that failed twice, written now; then nothing left.
    assert_eq!(manager.authenticator().flush_usage().await.unwrap(), 1);
    assert_eq!(manager.authenticator().flush_usage().await.unwrap(), 0);

    let recorded = Recorded::take(&snapshotter);
    assert_eq!(recorded.counter(FLUSHES, &[("result", "ok")]), 3);
    assert_eq!(recorded.counter(FLUSHES, &[("result", "error")]), 2);
    assert_eq!(recorded.counter(FLUSHED_KEYS, &[]), 3);
    assert_eq!(recorded.store_errors("record_usage", "backend"), 1);
    assert_eq!(recorded.store_errors("record_usage", "timeout"), 1);
    assert_eq!(recorded.store_errors("lookup", "backend"), 0);
    // The layer came from the manager, so its requests count there too.
    assert_eq!(recorded.admitted(), 4);
}

/// Key labels are registered per request, so this test keeps the recorder installed (on this
/// thread) while it sends them.
#[test]
fn key_labels_are_added_to_admitted_requests_only_when_asked() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = MemoryStore::new();
            let (full, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
            let (read_only, _) = issue_key(&store, "org_b", Permission::ReadOnly).await;
            let sequence = async |layer: &ApiKeyAuthLayer| {
                for _ in 0..2 {
                    assert_eq!(get(layer, full.expose_secret()).await, 200);
                }
                assert_eq!(get(layer, read_only.expose_secret()).await, 200);
                let post = request(HttpMethod::POST, &[("api-key", read_only.expose_secret())]);
                assert_eq!(send(layer, post).await, 403);
                assert_eq!(get(layer, "garbage").await, 401);
            };

            let plain = ApiKeyAuthLayer::new(
                Authenticator::new(store.clone()).with_metrics(AuthMetrics::new()),
            );
            assert!(!plain.authenticator().metrics().unwrap().key_labels());
            sequence(&plain).await;
            let recorded = Recorded::take(&snapshotter);
            assert_eq!(recorded.admitted(), 3);
            assert!(
                !recorded.has_label("key_id"),
                "{:?}",
                recorded.series.keys()
            );
            assert!(!recorded.has_label("organization"));

            let labelled = ApiKeyAuthLayer::new(
                Authenticator::new(store).with_metrics(AuthMetrics::new().with_key_labels(true)),
            );
            sequence(&labelled).await;
            let recorded = Recorded::take(&snapshotter);
            assert_eq!(recorded.admitted(), 3);
            let by_key = |key: &formbox_auth::key::PlaintextKey, organization: &str| {
                recorded.counter(
                    REQUESTS,
                    &[
                        ("outcome", "admitted"),
                        ("key_id", &key.id().to_string()),
                        ("organization", organization),
                    ],
                )
            };
            assert_eq!(by_key(&full, "org_a"), 2);
            assert_eq!(by_key(&read_only, "org_b"), 1);
            // Rejections stay unlabelled, and no label holds a secret.
            assert_eq!(recorded.rejected("insufficient_permissions"), 1);
            assert_eq!(recorded.rejected("invalid_api_key"), 1);
            let labelled_series = recorded
                .series
                .keys()
                .filter(|(_, labels)| labels.iter().any(|(key, _)| key == "key_id"))
                .count();
            assert_eq!(labelled_series, 2);
            for (_, labels) in recorded.series.keys() {
                for (_, value) in labels {
                    assert!(!value.starts_with("fbsk_"), "a key in a label: {value}");
                }
            }
        });
    });
}

/// Without `with_metrics`, nothing reaches even an installed recorder.
#[test]
fn nothing_is_recorded_without_metrics() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = TestStore::new(MemoryStore::new());
            let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
            let manager = KeyManager::new(CachedStore::new(store.clone()));
            let layer = ApiKeyAuthLayer::new(manager.authenticator().clone());
            assert!(layer.authenticator().metrics().is_none());
            assert_eq!(get(&layer, key.expose_secret()).await, 200);
            assert_eq!(get(&layer, "garbage").await, 401);
            store.fault(Method::Get, Fault::Error);
            let unknown = KeyFormat::default().generate().unwrap();
            assert_eq!(get(&layer, unknown.expose_secret()).await, 503);
            assert_eq!(manager.authenticator().flush_usage().await.unwrap(), 1);
            store.clear_faults();
            store.fault(Method::RecordUsage, Fault::Error);
            assert_eq!(get(&layer, key.expose_secret()).await, 200);
            assert!(manager.authenticator().flush_usage().await.is_err());
        });
    });
    let recorded = Recorded::take(&snapshotter);
    assert!(recorded.series.is_empty(), "{:?}", recorded.series.keys());
}
