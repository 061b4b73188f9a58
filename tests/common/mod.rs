//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod faults;

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::SystemTime,
};

use async_trait::async_trait;
use formbox_auth::{
    AuthContext, KeyFormat, KeyId, KeyRecord, KeyStore, KeyUsage, MemoryStore, OrganizationId,
    Permission, PlaintextKey, StoreError, store,
};
use http::{Request, Response, StatusCode};
use tower::{BoxError, service_fn};

/// A key of `organization` with `permission`, inserted into `store`.
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
        SystemTime::now(),
    );
    assert!(store.insert(&record).await.unwrap());
    (key, record)
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

/// A store whose every call fails, as an unreachable database does.
#[derive(Debug, Default)]
pub struct FailingStore {
    pub calls: AtomicUsize,
}

impl FailingStore {
    fn fail<T>(&self) -> store::Result<T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::backend(BoxError::from("connection refused")))
    }
}

#[async_trait]
impl KeyStore for FailingStore {
    async fn get(&self, _: &KeyId) -> store::Result<Option<KeyRecord>> {
        self.fail()
    }
    async fn insert(&self, _: &KeyRecord) -> store::Result<bool> {
        self.fail()
    }
    async fn update(&self, _: &KeyRecord) -> store::Result<bool> {
        self.fail()
    }
    async fn list(&self, _: &OrganizationId) -> store::Result<Vec<KeyRecord>> {
        self.fail()
    }
    async fn delete(&self, _: &KeyId) -> store::Result<bool> {
        self.fail()
    }
    async fn record_usage(&self, _: &[KeyUsage]) -> store::Result<()> {
        self.fail()
    }
}

/// A memory store that counts reads, to show which requests reach the store.
#[derive(Debug, Default, Clone)]
pub struct CountingStore {
    pub inner: MemoryStore,
    pub gets: Arc<AtomicUsize>,
}

#[async_trait]
impl KeyStore for CountingStore {
    async fn get(&self, id: &KeyId) -> store::Result<Option<KeyRecord>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id).await
    }
    async fn insert(&self, record: &KeyRecord) -> store::Result<bool> {
        self.inner.insert(record).await
    }
    async fn update(&self, record: &KeyRecord) -> store::Result<bool> {
        self.inner.update(record).await
    }
    async fn list(&self, organization: &OrganizationId) -> store::Result<Vec<KeyRecord>> {
        self.inner.list(organization).await
    }
    async fn delete(&self, id: &KeyId) -> store::Result<bool> {
        self.inner.delete(id).await
    }
    async fn record_usage(&self, usage: &[KeyUsage]) -> store::Result<()> {
        self.inner.record_usage(usage).await
    }
}
