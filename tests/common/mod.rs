//! What the integration tests share.
#![allow(dead_code, unreachable_pub)]

pub mod databases;

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use formbox_auth::{
    AuthContext, KeyFormat, KeyRecord, KeyStore, OrganizationId, Permission, PlaintextKey,
};
use http::{Request, Response, StatusCode};
use tower::service_fn;

/// `time` to the whole microsecond, the precision every store keeps, so that a record built
/// with it compares equal to the one read back.
pub fn whole_micros(time: SystemTime) -> SystemTime {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_micros(since_epoch.as_micros().try_into().unwrap())
}

/// A key of `organization` with `permission`, inserted into `store`, and its record as stored.
pub async fn issue_key(
    store: &impl KeyStore,
    organization: &str,
    permission: Permission,
) -> (PlaintextKey, KeyRecord) {
    let key = KeyFormat::default().generate().unwrap();
    let record = KeyRecord::new(
        key.id(),
        OrganizationId::from(organization),
        "test key",
        permission,
        key.digest(),
        whole_micros(SystemTime::now()),
    );
    assert!(store.insert(&record).await.unwrap());
    (key, record)
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
    assert!(
        store.update(&next, record.revision).await.unwrap(),
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
