//! Key lifecycle through the manager and the real layer.

use crate::common::{self, Fixture};

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use common::{assert_rejected, counting_service};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::lifecycle::KeyChanges;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    Authenticator, KeyManager, MemoryStore, OrganizationId, Permission,
    clock::Clock,
    events::KeyEvent,
    lifecycle::{LeakOutcome, ManageError},
    testing::{self, Fault, TestStore},
};
use http::{Method, Request, Response, StatusCode};
use tower::{Layer, ServiceExt};

/// A memory store that counts usage writes and can be told to fail them or to refuse inserts.
type ObservedStore = TestStore<MemoryStore>;

/// Usage writes the store was asked for.
fn usage_writes(store: &ObservedStore) -> usize {
    store.calls(testing::Method::RecordUsage)
}

impl Fixture {
    async fn status(&self, method: Method, key: &str) -> Response<String> {
        let service =
            ApiKeyAuthLayer::new(self.manager.authenticator().clone()).layer(counting_service().0);
        let request = Request::builder()
            .method(method)
            .uri("/v1/forms")
            .header("api-key", key)
            .body(String::new())
            .unwrap();
        service.oneshot(request).await.unwrap()
    }

    /// A new key of the fixture's organization, in plaintext.
    async fn key(
        &self,
        name: &str,
        permission: Permission,
        expires_at: Option<SystemTime>,
    ) -> formbox_auth::key::PlaintextKey {
        let created = self.manager.create(
            &self.org,
            NewKey::new(name, permission).expires_at(expires_at),
        );
        created.await.unwrap().key
    }

    async fn assert_ok(&self, key: &str) {
        assert_eq!(self.status(Method::GET, key).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn create_use_list_regenerate_then_only_the_new_key_works() {
    let f = Fixture::new();
    let created = f
        .manager
        .create(&f.org, NewKey::new("CI", Permission::FullAccess))
        .await
        .unwrap();
    let old = created.key;
    f.assert_ok(old.expose_secret()).await;
    assert_eq!(
        f.status(Method::POST, old.expose_secret()).await.status(),
        StatusCode::OK
    );

    let listed = f.manager.list(&f.org).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, old.id());
    assert_eq!(listed[0].name, "CI");
    assert_eq!(listed[0].display, format!("fbsk_{}_…", old.id()));
    let shown = format!("{listed:?}");
    assert!(
        !shown.contains(&old.expose_secret()[18..]),
        "secret in list output"
    );
    assert!(
        !shown.to_lowercase().contains("digest"),
        "digest in list output: {shown}"
    );

    let new = f.manager.regenerate(&f.org, old.id(), None).await.unwrap();
    assert_eq!(new.info.id, old.id());
    assert_eq!(new.info.name, "CI");
    assert_eq!(new.info.access, Permission::FullAccess);
    assert_rejected(
        &f.status(Method::GET, old.expose_secret()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    );
    f.assert_ok(new.key.expose_secret()).await;
}

#[tokio::test]
async fn regenerate_with_grace_accepts_both_secrets_until_the_grace_ends() {
    let f = Fixture::new();
    let old = f.key("CI", Permission::ReadOnly, None).await;
    let new = f
        .manager
        .regenerate(&f.org, old.id(), Some(Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(
        new.info.previous_secret_valid_until,
        Some(f.clock.now() + Duration::from_secs(600))
    );
    f.assert_ok(old.expose_secret()).await;
    f.assert_ok(new.key.expose_secret()).await;

    f.clock.advance(Duration::from_secs(599));
    f.assert_ok(old.expose_secret()).await;
    f.clock.advance(Duration::from_secs(1));
    assert_rejected(
        &f.status(Method::GET, old.expose_secret()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    );
    f.assert_ok(new.key.expose_secret()).await;
}

#[tokio::test]
async fn grace_period_ends_no_later_than_the_key_expiry() {
    let f = Fixture::new();
    let expiry = f.clock.now() + Duration::from_secs(100);
    let old = f.key("CI", Permission::ReadOnly, Some(expiry)).await;
    let new = f
        .manager
        .regenerate(&f.org, old.id(), Some(Duration::from_secs(3600)))
        .await
        .unwrap();
    assert_eq!(new.info.previous_secret_valid_until, Some(expiry));
}

#[tokio::test]
async fn any_grace_period_ends_at_the_latest_in_the_year_9999() {
    let f = Fixture::new();
    let old = f.key("CI", Permission::ReadOnly, None).await;
    let new = f
        .manager
        .regenerate(&f.org, old.id(), Some(Duration::MAX))
        .await
        .unwrap();
    let end_of_9999 = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    assert_eq!(new.info.previous_secret_valid_until, Some(end_of_9999));
    f.assert_ok(old.expose_secret()).await;
}

#[tokio::test]
async fn revoked_key_answers_revoked_api_key_and_revoke_is_idempotent() {
    let f = Fixture::new();
    let key = f.key("CI", Permission::ReadOnly, None).await;
    let first = f.manager.revoke(&f.org, key.id()).await.unwrap();
    assert_eq!(first.revoked_at, Some(f.clock.now()));
    assert_rejected(
        &f.status(Method::GET, key.expose_secret()).await,
        StatusCode::UNAUTHORIZED,
        "revoked_api_key",
    );

    f.clock.advance(Duration::from_secs(5));
    let second = f.manager.revoke(&f.org, key.id()).await.unwrap();
    assert_eq!(
        second.revoked_at, first.revoked_at,
        "the first revocation time stays"
    );
    assert!(matches!(
        f.manager.regenerate(&f.org, key.id(), None).await,
        Err(ManageError::Revoked)
    ));
}

#[tokio::test]
async fn an_expired_key_stays_expired_while_an_active_one_can_move_its_expiry() {
    let f = Fixture::new();
    let expiry = f.clock.now() + Duration::from_secs(60);
    let key = f.key("CI", Permission::ReadOnly, Some(expiry)).await;
    let later = f.clock.now() + Duration::from_secs(120);
    f.manager
        .update(&f.org, key.id(), KeyChanges::new().expires_at(Some(later)))
        .await
        .unwrap();
    f.assert_ok(key.expose_secret()).await;
    f.clock.advance(Duration::from_secs(120));
    assert_rejected(
        &f.status(Method::GET, key.expose_secret()).await,
        StatusCode::UNAUTHORIZED,
        "expired_api_key",
    );

    let extended = f.clock.now() + Duration::from_secs(60);
    for changes in [
        KeyChanges::new().expires_at(Some(extended)),
        KeyChanges::new().expires_at(None),
    ] {
        assert!(matches!(
            f.manager.update(&f.org, key.id(), changes).await,
            Err(ManageError::Expired)
        ));
    }
    assert_rejected(
        &f.status(Method::GET, key.expose_secret()).await,
        StatusCode::UNAUTHORIZED,
        "expired_api_key",
    );
    // Anything else of it can still change.
    let renamed = f
        .manager
        .update(&f.org, key.id(), KeyChanges::new().name("CI (expired)"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "CI (expired)");
}

#[tokio::test]
async fn expiry_in_the_past_is_refused() {
    let f = Fixture::new();
    let past = f.clock.now() - Duration::from_secs(1);
    assert!(matches!(
        f.manager
            .create(
                &f.org,
                NewKey::new("CI", Permission::ReadOnly).expires_at(Some(past))
            )
            .await,
        Err(ManageError::ExpiryInPast)
    ));
    assert!(f.manager.list(&f.org).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_organizations_key_is_not_found() {
    let f = Fixture::new();
    let other = OrganizationId::from("org_b");
    let key = f
        .manager
        .create(&other, NewKey::new("theirs", Permission::FullAccess))
        .await
        .unwrap()
        .key;
    let id = key.id();
    assert!(matches!(
        f.manager.get(&f.org, id).await,
        Err(ManageError::NotFound)
    ));
    assert!(matches!(
        f.manager.revoke(&f.org, id).await,
        Err(ManageError::NotFound)
    ));
    assert!(matches!(
        f.manager.regenerate(&f.org, id, None).await,
        Err(ManageError::NotFound)
    ));
    assert!(matches!(
        f.manager
            .update(&f.org, id, KeyChanges::new().expires_at(None))
            .await,
        Err(ManageError::NotFound)
    ));
    assert!(f.manager.list(&f.org).await.unwrap().is_empty());
    f.assert_ok(key.expose_secret()).await;
}

#[tokio::test]
async fn list_is_newest_first() {
    let f = Fixture::new();
    for name in ["first", "second", "third"] {
        f.manager
            .create(&f.org, NewKey::new(name, Permission::ReadOnly))
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(1));
    }
    let names: Vec<String> = f
        .manager
        .list(&f.org)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["third", "second", "first"]);
}

#[tokio::test]
async fn names_are_trimmed_and_validated() {
    let f = Fixture::new();
    let created = f
        .manager
        .create(&f.org, NewKey::new("  Zapier  ", Permission::ReadOnly))
        .await
        .unwrap();
    assert_eq!(created.info.name, "Zapier");
    for bad in ["", "   ", "tab\tinside", &"x".repeat(101)] {
        assert!(
            matches!(
                f.manager
                    .create(&f.org, NewKey::new(bad, Permission::ReadOnly))
                    .await,
                Err(ManageError::InvalidName(_))
            ),
            "{bad:?}"
        );
    }
    assert!(
        f.manager
            .create(&f.org, NewKey::new("é".repeat(100), Permission::ReadOnly))
            .await
            .is_ok()
    );
    assert!(matches!(
        f.manager
            .create(
                &OrganizationId::from(""),
                NewKey::new("x", Permission::ReadOnly)
            )
            .await,
        Err(ManageError::EmptyOrganization)
    ));
}

#[tokio::test]
async fn id_collisions_are_retried_without_overwriting() {
    let f = Fixture::new();
    f.store
        .fault_next(testing::Method::Insert, 2, Fault::Refuse);
    let created = f
        .manager
        .create(&f.org, NewKey::new("CI", Permission::ReadOnly))
        .await
        .unwrap();
    f.assert_ok(created.key.expose_secret()).await;

    f.store.fault(testing::Method::Insert, Fault::Refuse);
    assert!(matches!(
        f.manager
            .create(&f.org, NewKey::new("CI 2", Permission::ReadOnly))
            .await,
        Err(ManageError::IdCollision)
    ));
}

#[tokio::test]
async fn cap_counts_only_active_keys() {
    let f = Fixture::new();
    let manager = f.manager.clone().with_max_keys_per_organization(2);
    let first = manager
        .create(&f.org, NewKey::new("a", Permission::ReadOnly))
        .await
        .unwrap();
    manager
        .create(&f.org, NewKey::new("b", Permission::ReadOnly))
        .await
        .unwrap();
    assert!(matches!(
        manager
            .create(&f.org, NewKey::new("c", Permission::ReadOnly))
            .await,
        Err(ManageError::TooManyKeys { limit: 2 })
    ));
    manager.revoke(&f.org, first.info.id).await.unwrap();
    manager
        .create(&f.org, NewKey::new("c", Permission::ReadOnly))
        .await
        .unwrap();
    let other = OrganizationId::from("org_b");
    manager
        .create(&other, NewKey::new("theirs", Permission::ReadOnly))
        .await
        .unwrap();
}

#[tokio::test]
async fn last_used_is_written_once_per_flush_not_per_request() {
    let f = Fixture::new();
    let a = f.key("a", Permission::ReadOnly, None).await;
    let b = f.key("b", Permission::ReadOnly, None).await;
    for _ in 0..50 {
        f.assert_ok(a.expose_secret()).await;
        f.assert_ok(b.expose_secret()).await;
    }
    assert_eq!(usage_writes(&f.store), 0, "no write per request");
    assert!(
        f.manager
            .get(&f.org, a.id())
            .await
            .unwrap()
            .last_used_at
            .is_none()
    );

    assert_eq!(f.manager.authenticator().flush_usage().await.unwrap(), 2);
    assert_eq!(usage_writes(&f.store), 1, "one write for the batch");
    let used_at = f.manager.get(&f.org, a.id()).await.unwrap().last_used_at;
    assert_eq!(used_at, Some(f.clock.now()));

    assert_eq!(
        f.manager.authenticator().flush_usage().await.unwrap(),
        0,
        "nothing used since"
    );
    assert_eq!(usage_writes(&f.store), 1);
}

#[tokio::test]
async fn failed_usage_flush_is_retried_and_loses_nothing() {
    let f = Fixture::new();
    let key = f.key("a", Permission::ReadOnly, None).await;
    f.assert_ok(key.expose_secret()).await;
    let used_around = f.clock.now();

    f.store.fault(testing::Method::RecordUsage, Fault::Timeout);
    assert!(f.manager.authenticator().flush_usage().await.is_err());
    f.assert_ok(key.expose_secret()).await;
    assert_eq!(f.manager.authenticator().pending_usage(), 1);

    f.clock.advance(Duration::from_secs(30));
    f.store.clear_faults();
    assert_eq!(f.manager.authenticator().flush_usage().await.unwrap(), 1);
    let last_used = f.manager.get(&f.org, key.id()).await.unwrap().last_used_at;
    assert_eq!(last_used, Some(used_around + Duration::from_secs(30)));
}

#[tokio::test]
async fn flusher_writes_on_its_interval_and_on_shutdown() {
    let f = Fixture::new();
    let key = f.key("a", Permission::ReadOnly, None).await;
    let flusher = f
        .manager
        .authenticator()
        .spawn_usage_flusher(Duration::from_millis(20));
    f.assert_ok(key.expose_secret()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while usage_writes(&f.store) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no flush within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    f.assert_ok(key.expose_secret()).await;
    flusher.shutdown().await;
    assert_eq!(
        f.manager.authenticator().pending_usage(),
        0,
        "shutdown flushed the rest"
    );
}

#[tokio::test]
async fn leaked_keys_are_revoked_from_their_plaintext_alone() {
    let f = Fixture::new();
    let leaked = f.key("a", Permission::FullAccess, None).await;
    let rotated_old = f.key("b", Permission::FullAccess, None).await;
    let rotated_new = f
        .manager
        .regenerate(&f.org, rotated_old.id(), Some(Duration::from_secs(600)))
        .await
        .unwrap()
        .key;
    let forged = formbox_auth::KeyFormat::default()
        .generate_for(leaked.id())
        .unwrap();
    let unknown = formbox_auth::KeyFormat::default().generate().unwrap();

    let outcomes = f
        .manager
        .revoke_leaked([
            leaked.expose_secret(),
            leaked.expose_secret(),
            rotated_old.expose_secret(),
            forged.expose_secret(),
            unknown.expose_secret(),
            "not a key",
        ])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        [
            LeakOutcome::Revoked {
                organization: f.org.clone(),
                key_id: leaked.id()
            },
            LeakOutcome::AlreadyRevoked {
                organization: f.org.clone(),
                key_id: leaked.id()
            },
            LeakOutcome::GraceEnded {
                organization: f.org.clone(),
                key_id: rotated_old.id()
            },
            LeakOutcome::Unknown,
            LeakOutcome::Unknown,
            LeakOutcome::Malformed,
        ]
    );
    assert_rejected(
        &f.status(Method::GET, leaked.expose_secret()).await,
        StatusCode::UNAUTHORIZED,
        "revoked_api_key",
    );
    assert_rejected(
        &f.status(Method::GET, rotated_old.expose_secret()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    );
    f.assert_ok(rotated_new.expose_secret()).await;
}

#[tokio::test]
async fn events_report_changes_and_rejections_without_secrets() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let authenticator = Authenticator::new(MemoryStore::new())
        .with_events(move |event: &KeyEvent| sink.lock().unwrap().push(event.clone()));
    let manager = KeyManager::new(authenticator);
    let org = OrganizationId::from("org_a");
    let key = manager
        .create(&org, NewKey::new("a", Permission::ReadOnly))
        .await
        .unwrap()
        .key;
    let new = manager.regenerate(&org, key.id(), None).await.unwrap().key;
    let service = ApiKeyAuthLayer::new(manager.authenticator().clone()).layer(counting_service().0);
    let request = Request::post("/v1/forms")
        .header("api-key", new.expose_secret())
        .body(String::new())
        .unwrap();
    service.clone().oneshot(request).await.unwrap();
    let request = Request::get("/v1/forms")
        .header("api-key", "junk")
        .body(String::new())
        .unwrap();
    service.oneshot(request).await.unwrap();
    manager.revoke(&org, key.id()).await.unwrap();

    let events = events.lock().unwrap().clone();
    assert_eq!(
        events,
        [
            KeyEvent::Created {
                organization: org.clone(),
                key_id: key.id(),
                access: Permission::ReadOnly.into()
            },
            KeyEvent::Regenerated {
                organization: org.clone(),
                key_id: key.id(),
                grace: None
            },
            KeyEvent::Rejected {
                key_id: Some(key.id()),
                code: "insufficient_permissions"
            },
            KeyEvent::Rejected {
                key_id: None,
                code: "invalid_api_key"
            },
            KeyEvent::Revoked {
                organization: org.clone(),
                key_id: key.id(),
                leaked: false
            },
        ]
    );
    let shown = format!("{events:?}");
    assert!(
        !shown.contains(&key.expose_secret()[18..]) && !shown.contains(&new.expose_secret()[18..])
    );
}
