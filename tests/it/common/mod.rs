//! What the integration tests share.
#![allow(dead_code, unreachable_pub)]

pub mod databases;
pub mod proxy;

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::{Body, Bytes},
};
use formbox_auth::{
    Access, AuthContext, Authenticator, KeyFormat, KeyManager, KeyRecord, KeyStore, OrganizationId,
    Permission,
    key::PlaintextKey,
    rate_limit::RateLimit,
    store::{Inserted, Updated},
    testing::ManualClock,
};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt, service_fn};

/// `seconds` and `micros` after the Unix epoch: a whole microsecond, the precision every store
/// keeps.
pub fn at(seconds: u64, micros: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(seconds, micros * 1_000)
}

/// A read-only key's record of `organization`, created at `created_at`, not stored anywhere.
pub fn record(organization: &str, name: &str, created_at: SystemTime) -> KeyRecord {
    let key = KeyFormat::default().generate().unwrap();
    KeyRecord::new(
        key.id(),
        OrganizationId::from(organization),
        name,
        Permission::ReadOnly,
        key.digest(),
        created_at,
    )
}

/// A valid rate limit.
pub fn limit(requests: u32, per_seconds: u32) -> RateLimit {
    RateLimit::new(requests, per_seconds).unwrap()
}

/// `request`'s response from a clone of `service`, which never fails.
pub async fn send<S>(service: &S, request: Request<String>) -> Response<String>
where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
{
    service.clone().oneshot(request).await.unwrap()
}

/// `time` to the whole microsecond, the precision every store keeps, so that a record built
/// with it compares equal to the one read back.
pub fn whole_micros(time: SystemTime) -> SystemTime {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_micros(since_epoch.as_micros().try_into().unwrap())
}

/// A key of `organization` with `access` (a [`Permission`], or scopes), inserted into `store`,
/// and its record as stored.
pub async fn issue_key(
    store: &impl KeyStore,
    organization: &str,
    access: impl Into<Access>,
) -> (PlaintextKey, KeyRecord) {
    let key = KeyFormat::default().generate().unwrap();
    let record = KeyRecord::new(
        key.id(),
        OrganizationId::from(organization),
        format!("test key {}", key.id()),
        access,
        key.digest(),
        whole_micros(SystemTime::now()),
    );
    assert_eq!(store.insert(&record, None).await.unwrap(), Inserted::Stored);
    (key, record)
}

/// Polls `store` (an instance's cache) for `id` until `done` holds for what it serves, and returns
/// how long that took; fails after 10 s, showing what it served last.
pub async fn served_within(
    store: &impl KeyStore,
    id: formbox_auth::KeyId,
    done: impl Fn(Option<&KeyRecord>) -> bool,
) -> Duration {
    let start = std::time::Instant::now();
    loop {
        let served = store.get(&id).await.unwrap();
        if done(served.as_ref()) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the change never reached this instance; it serves {served:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Writes `record` with `edit` applied over the stored `record`, and returns what was written.
/// Fails the test if the stored record moved on since `record` was read.
pub async fn change(
    store: &impl KeyStore,
    record: &KeyRecord,
    edit: impl FnOnce(&mut KeyRecord),
) -> KeyRecord {
    let mut next = record.next_revision();
    edit(&mut next);
    assert_eq!(
        store.update(&next, record.revision).await.unwrap(),
        Updated::Stored,
        "the stored record is no longer at revision {}",
        record.revision
    );
    next
}

/// An inner service that counts its calls and answers 200 with the organization it was given.
pub fn counting_service() -> (
    impl tower::Service<
        Request<String>,
        Response = Response<String>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + 'static,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let service = service_fn(move |request: Request<String>| {
        counter.fetch_add(1, Ordering::SeqCst);
        let organization = request
            .extensions()
            .get::<AuthContext>()
            .map(|context| context.organization().to_string())
            .unwrap_or_default();
        async move { Ok::<_, Infallible>(Response::new(organization)) }
    });
    (service, calls)
}

/// Status, error code and body of a response.
pub fn error_code(response: &Response<String>) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(response.body()).ok()?;
    body["error"]["code"].as_str().map(str::to_owned)
}

pub fn assert_rejected(response: &Response<String>, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status, "body: {}", response.body());
    assert_eq!(
        error_code(response).as_deref(),
        Some(code),
        "body: {}",
        response.body()
    );
    assert_eq!(
        response.headers()[http::header::CONTENT_TYPE],
        "application/json"
    );
}

/// The answer of `router` to `request` with `body` (none: empty), its body collected.
pub async fn through(
    router: &Router,
    request: http::request::Builder,
    body: Option<&str>,
) -> Response<Bytes> {
    let body = body.map_or_else(Body::empty, |text| Body::from(text.to_owned()));
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

/// The status of a response [`through`] collected, and its body as JSON (`null` when empty).
pub fn status_and_json(response: Response<Bytes>) -> (StatusCode, serde_json::Value) {
    let status = response.status();
    let bytes = response.into_body();
    let value = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

/// A manager over `store` whose clock the test moves, starting in 2027.
pub fn manager_with_clock<S: KeyStore>(store: S) -> (KeyManager, ManualClock) {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let authenticator = Authenticator::new(store).with_clock(clock.clone());
    (KeyManager::new(authenticator), clock)
}

/// A manager over a counting memory store with a manual clock, and the organization a test
/// manages. Test modules add their own methods.
pub struct Fixture {
    pub manager: KeyManager,
    pub store: formbox_auth::testing::TestStore<formbox_auth::MemoryStore>,
    pub clock: ManualClock,
    pub org: OrganizationId,
}

impl Fixture {
    pub fn new() -> Self {
        let store = formbox_auth::testing::TestStore::new(formbox_auth::MemoryStore::new());
        let (manager, clock) = manager_with_clock(store.clone());
        Self {
            manager,
            store,
            clock,
            org: OrganizationId::from("org_a"),
        }
    }
}
