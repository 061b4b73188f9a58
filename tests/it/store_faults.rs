//! Store failures: requests fail closed, time out, recover, and lose no last-used time.

use crate::common;

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use common::{assert_rejected, counting_service, issue_key};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    Authenticator, KeyManager, KeyStore, MemoryStore, OrganizationId, Permission,
    lifecycle::{CreatedKey, ManageError},
    testing::{Fault, Method, TestStore},
};
use http::{Request, Response, StatusCode};
use tower::{Layer, ServiceExt};

struct Setup {
    store: TestStore<MemoryStore>,
    manager: KeyManager,
    key: String,
}

async fn setup(timeout: Duration) -> Setup {
    let memory = MemoryStore::new();
    let (key, _) = issue_key(&memory, "org_a", Permission::FullAccess).await;
    // Every lookup takes the store's asynchronous path, as on a database, so that the faults
    // and the timeout apply to requests between faults too.
    let store = TestStore::new(memory).without_cached_lookups();
    let authenticator = Authenticator::new(store.clone()).with_store_timeout(timeout);
    Setup {
        store,
        manager: KeyManager::new(authenticator),
        key: key.expose_secret().to_owned(),
    }
}

impl Setup {
    async fn send(&self) -> (Response<String>, usize) {
        let (inner, calls) = counting_service();
        let service = ApiKeyAuthLayer::new(self.manager.authenticator().clone()).layer(inner);
        let request = Request::get("/v1/forms")
            .header("api-key", &self.key)
            .body(String::new())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        (response, calls.load(Ordering::SeqCst))
    }
}

#[tokio::test]
async fn store_error_fails_closed_and_the_service_is_never_called() {
    let setup = setup(Duration::from_secs(5)).await;
    setup.store.fault_all(Fault::Error);
    for _ in 0..20 {
        let (response, calls) = setup.send().await;
        assert_rejected(
            &response,
            StatusCode::SERVICE_UNAVAILABLE,
            "key_store_unavailable",
        );
        assert_eq!(calls, 0);
    }
    assert_eq!(setup.store.failures(), 20);
}

#[tokio::test]
async fn a_hanging_store_times_out_with_503() {
    let setup = setup(Duration::from_millis(50)).await;
    setup.store.fault_all(Fault::Hang);
    let started = Instant::now();
    let (response, calls) = setup.send().await;
    assert_rejected(
        &response,
        StatusCode::SERVICE_UNAVAILABLE,
        "key_store_unavailable",
    );
    assert_eq!(calls, 0);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_store_within_the_timeout_still_authenticates() {
    let setup = setup(Duration::from_secs(2)).await;
    setup
        .store
        .fault_all(Fault::Delay(Duration::from_millis(20)));
    let (response, calls) = setup.send().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn requests_recover_by_themselves_when_the_store_comes_back() {
    let setup = setup(Duration::from_millis(50)).await;
    setup.store.fault_all(Fault::Error);
    assert_eq!(
        setup.send().await.0.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    setup.store.fault_all(Fault::Hang);
    assert_eq!(
        setup.send().await.0.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    setup.store.clear_faults();
    let (response, calls) = setup.send().await;
    assert_eq!((response.status(), calls), (StatusCode::OK, 1));
}

#[tokio::test]
async fn failed_flushes_lose_no_last_used_time() {
    let setup = setup(Duration::from_secs(5)).await;
    let org = OrganizationId::from("org_a");
    let created = setup
        .manager
        .create(&org, NewKey::new("second", Permission::ReadOnly))
        .await
        .unwrap();
    assert_eq!(setup.send().await.0.status(), StatusCode::OK);

    setup.store.fault_all(Fault::Error);
    for _ in 0..3 {
        assert!(setup.manager.authenticator().flush_usage().await.is_err());
    }
    // Used during the outage: the other key cannot authenticate, but the first key's use is pending.
    assert_eq!(setup.manager.authenticator().pending_usage(), 1);

    setup.store.clear_faults();
    let service =
        ApiKeyAuthLayer::new(setup.manager.authenticator().clone()).layer(counting_service().0);
    let request = Request::get("/")
        .header("api-key", created.key.expose_secret())
        .body(String::new())
        .unwrap();
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        setup.manager.authenticator().flush_usage().await.unwrap(),
        2
    );
    for info in setup.manager.list(&org).await.unwrap() {
        assert!(
            info.last_used_at.is_some(),
            "{} lost its last use",
            info.name
        );
    }
}

#[tokio::test]
async fn management_operations_report_store_failures_without_changing_anything() {
    let setup = setup(Duration::from_secs(5)).await;
    let org = OrganizationId::from("org_a");
    let before = setup.manager.list(&org).await.unwrap();
    setup.store.fault_all(Fault::Error);
    assert!(
        setup
            .manager
            .create(&org, NewKey::new("x", Permission::ReadOnly))
            .await
            .is_err()
    );
    assert!(setup.manager.revoke(&org, before[0].id).await.is_err());
    assert!(
        setup
            .manager
            .regenerate(&org, before[0].id, None)
            .await
            .is_err()
    );
    setup.store.clear_faults();
    assert_eq!(setup.manager.list(&org).await.unwrap(), before);
    assert_eq!(setup.send().await.0.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_flush_cancelled_while_the_store_hangs_loses_nothing() {
    let setup = setup(Duration::from_secs(5)).await;
    let org = OrganizationId::from("org_a");
    assert_eq!(setup.send().await.0.status(), StatusCode::OK);
    setup.store.fault_all(Fault::Hang);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        setup.manager.authenticator().flush_usage(),
    )
    .await;
    assert!(cancelled.is_err(), "the flush should still be waiting");
    assert_eq!(setup.manager.authenticator().pending_usage(), 1);

    setup.store.clear_faults();
    assert_eq!(
        setup.manager.authenticator().flush_usage().await.unwrap(),
        1
    );
    let keys = setup.manager.list(&org).await.unwrap();
    assert!(keys[0].last_used_at.is_some());
}

#[tokio::test]
async fn a_hanging_usage_write_times_out_and_is_kept() {
    let setup = setup(Duration::from_millis(50)).await;
    assert_eq!(setup.send().await.0.status(), StatusCode::OK);
    setup.store.fault_all(Fault::Hang);
    let outcome = tokio::time::timeout(
        Duration::from_secs(2),
        setup.manager.authenticator().flush_usage(),
    )
    .await;
    assert!(
        matches!(outcome, Ok(Err(formbox_auth::store::StoreError::Timeout))),
        "{outcome:?}"
    );
    assert_eq!(setup.manager.authenticator().pending_usage(), 1);
    setup.store.clear_faults();
    assert_eq!(
        setup.manager.authenticator().flush_usage().await.unwrap(),
        1
    );
}

/// Sends `key` through `manager`'s layer and returns the status.
async fn status_with(manager: &KeyManager, key: &str) -> StatusCode {
    let service = ApiKeyAuthLayer::new(manager.authenticator().clone()).layer(counting_service().0);
    let request = Request::get("/v1/forms")
        .header("api-key", key)
        .body(String::new())
        .unwrap();
    service.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_hanging_store_answers_503_within_the_default_timeout() {
    let memory = MemoryStore::new();
    let (key, _) = issue_key(&memory, "org_a", Permission::FullAccess).await;
    let store = TestStore::new(memory).without_cached_lookups();
    let manager = KeyManager::new(store.clone());
    assert_eq!(
        manager.authenticator().store_timeout(),
        Some(Authenticator::DEFAULT_STORE_TIMEOUT)
    );
    store.fault_all(Fault::Hang);

    let started = Instant::now();
    let status = status_with(&manager, key.expose_secret()).await;
    let request_took = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let started = Instant::now();
    let org = OrganizationId::from("org_a");
    let created = manager
        .create(&org, NewKey::new("x", Permission::ReadOnly))
        .await;
    let create_took = started.elapsed();
    assert!(
        matches!(
            created,
            Err(ManageError::Store(formbox_auth::store::StoreError::Timeout))
        ),
        "{created:?}"
    );
    for took in [request_took, create_took] {
        assert!(
            (Duration::from_secs(2)..Duration::from_millis(2_500)).contains(&took),
            "took {took:?}"
        );
    }
}

#[tokio::test]
async fn without_a_store_timeout_a_hanging_store_is_waited_for() {
    let store = TestStore::new(MemoryStore::new()).without_cached_lookups();
    let authenticator = Authenticator::new(store.clone()).without_store_timeout();
    assert_eq!(authenticator.store_timeout(), None);
    store.fault_all(Fault::Hang);
    let key = formbox_auth::KeyFormat::default().generate().unwrap();
    let waited = tokio::time::timeout(
        Duration::from_millis(2_500),
        authenticator.authenticate(key.expose_secret()),
    )
    .await;
    assert!(waited.is_err(), "{waited:?}");
}

/// A manager with a short store timeout over `store`, and a key of `org_a` issued through it.
async fn manager_with_key(store: &TestStore<MemoryStore>) -> (KeyManager, CreatedKey) {
    let authenticator =
        Authenticator::new(store.clone()).with_store_timeout(Duration::from_millis(200));
    let manager = KeyManager::new(authenticator);
    let created = manager
        .create(
            &"org_a".into(),
            NewKey::new("rotated", Permission::FullAccess),
        )
        .await
        .unwrap();
    (manager, created)
}

#[tokio::test]
async fn a_regeneration_whose_answer_was_lost_hands_out_the_key_that_now_works() {
    let store = TestStore::new(MemoryStore::new());
    let (manager, created) = manager_with_key(&store).await;
    let org = OrganizationId::from("org_a");
    // The write lands, but its answer never comes back in time.
    let gate = store.gate(Method::Update);
    let regenerated = manager.regenerate(&org, created.info.id, None).await;
    gate.open();
    let regenerated = regenerated.expect("the write landed: its key must be handed out");
    assert_eq!(
        status_with(&manager, regenerated.key.expose_secret()).await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&manager, created.key.expose_secret()).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_regeneration_that_never_landed_fails_and_can_no_longer_land() {
    let store = TestStore::new(MemoryStore::new());
    let (manager, created) = manager_with_key(&store).await;
    let org = OrganizationId::from("org_a");
    let before = store.get(&created.info.id).await.unwrap().unwrap();
    // The write is lost on its way.
    store.fault_next(Method::Update, 1, Fault::Hang);
    let regenerated = manager.regenerate(&org, created.info.id, None).await;
    assert!(
        matches!(
            regenerated,
            Err(ManageError::Store(formbox_auth::store::StoreError::Timeout))
        ),
        "{regenerated:?}"
    );
    // The old key still works; only the revision moved, so the lost write can never land.
    let after = store.get(&created.info.id).await.unwrap().unwrap();
    assert_eq!(after.digest, before.digest);
    assert_eq!(after.revision, before.revision + 1);
    assert_eq!(
        store
            .update(&before.next_revision(), before.revision)
            .await
            .unwrap(),
        formbox_auth::store::Updated::Stale
    );
    assert_eq!(
        status_with(&manager, created.key.expose_secret()).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_regeneration_during_a_whole_outage_fails_and_changes_nothing() {
    let store = TestStore::new(MemoryStore::new());
    let (manager, created) = manager_with_key(&store).await;
    let org = OrganizationId::from("org_a");
    let before = store.get(&created.info.id).await.unwrap().unwrap();
    store.fault(Method::Update, Fault::Error);
    store.fault_next(Method::Get, 1, Fault::Error);
    let regenerated = manager.regenerate(&org, created.info.id, None).await;
    assert!(regenerated.is_err(), "{regenerated:?}");
    store.fault_all(Fault::Error);
    assert!(
        manager
            .regenerate(&org, created.info.id, None)
            .await
            .is_err()
    );
    store.clear_faults();
    assert_eq!(store.get(&created.info.id).await.unwrap(), Some(before));
    assert_eq!(
        status_with(&manager, created.key.expose_secret()).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_creation_whose_answer_was_lost_hands_out_the_key_that_now_works() {
    let store = TestStore::new(MemoryStore::new());
    let authenticator =
        Authenticator::new(store.clone()).with_store_timeout(Duration::from_millis(200));
    let manager = KeyManager::new(authenticator);
    let gate = store.gate(Method::Insert);
    let created = manager
        .create(&"org_a".into(), NewKey::new("new", Permission::ReadOnly))
        .await;
    gate.open();
    let created = created.expect("the insert landed: its key must be handed out");
    assert_eq!(
        status_with(&manager, created.key.expose_secret()).await,
        StatusCode::OK
    );
}
