//! `KeyManager::ensure_key`: an organization's first key, created once however often a service
//! asks for it.

use crate::common::Fixture;

use std::time::Duration;

use formbox_auth::lifecycle::{EnsuredKey, ManageError, NewKey};
use formbox_auth::testing::Method;
use formbox_auth::{OrganizationId, Permission, clock::Clock};

impl Fixture {
    async fn ensure(&self, name: &str, permission: Permission) -> Result<EnsuredKey, ManageError> {
        self.manager.ensure_key(&self.org, name, permission).await
    }

    async fn key_count(&self) -> usize {
        self.manager.list(&self.org).await.unwrap().len()
    }
}

#[tokio::test]
async fn creates_the_key_once_and_then_returns_it_without_plaintext() {
    let f = Fixture::new();
    let EnsuredKey::Created(created) = f.ensure("bootstrap", Permission::FullAccess).await.unwrap()
    else {
        panic!("the first call creates the key");
    };
    assert_eq!(created.info.name, "bootstrap");
    assert_eq!(created.info.access, Permission::FullAccess);
    let key = created.key.expose_secret().to_owned();
    assert!(f.manager.authenticator().authenticate(&key).await.is_ok());

    // The same name as `create` compares names: trimmed, in any case.
    for name in ["bootstrap", " Bootstrap ", "BOOTSTRAP"] {
        match f.ensure(name, Permission::FullAccess).await.unwrap() {
            EnsuredKey::Existing(info) => assert_eq!(info.id, created.info.id, "{name:?}"),
            EnsuredKey::Created(_) => panic!("{name:?} created a second key"),
        }
    }
    assert_eq!(f.key_count().await, 1);
}

#[tokio::test]
async fn an_existing_key_is_found_without_a_write() {
    let f = Fixture::new();
    let _ = f.ensure("bootstrap", Permission::ReadOnly).await.unwrap();
    let (inserts, updates) = (f.store.calls(Method::Insert), f.store.calls(Method::Update));
    let _ = f.ensure("bootstrap", Permission::ReadOnly).await.unwrap();
    assert_eq!(f.store.calls(Method::Insert), inserts);
    assert_eq!(f.store.calls(Method::Update), updates);
}

#[tokio::test]
async fn a_key_with_the_name_and_another_permission_is_refused_and_left_alone() {
    let f = Fixture::new();
    let read_only = f.ensure("bootstrap", Permission::ReadOnly).await.unwrap();
    assert!(matches!(
        f.ensure("Bootstrap", Permission::FullAccess).await,
        Err(ManageError::NameTaken)
    ));
    let keys = f.manager.list(&f.org).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, read_only.info().id);
    assert_eq!(keys[0].access, Permission::ReadOnly);
    assert!(keys[0].revoked_at.is_none());
}

#[tokio::test]
async fn a_revoked_key_is_replaced_by_a_new_one() {
    let f = Fixture::new();
    let first = f.ensure("bootstrap", Permission::FullAccess).await.unwrap();
    f.manager.revoke(&f.org, first.info().id).await.unwrap();

    let EnsuredKey::Created(second) = f.ensure("bootstrap", Permission::FullAccess).await.unwrap()
    else {
        panic!("a revoked key is not handed back");
    };
    assert_ne!(second.info.id, first.info().id);
    let key = second.key.expose_secret();
    assert!(f.manager.authenticator().authenticate(key).await.is_ok());
    assert!(matches!(
        f.ensure("bootstrap", Permission::FullAccess).await.unwrap(),
        EnsuredKey::Existing(info) if info.id == second.info.id
    ));
}

#[tokio::test]
async fn an_expired_key_is_never_handed_back() {
    let f = Fixture::new();
    let expires_at = f.clock.now() + Duration::from_secs(60);
    let key = NewKey::new("bootstrap", Permission::FullAccess).expires_at(Some(expires_at));
    let expiring = f.manager.create(&f.org, key).await.unwrap();
    assert!(matches!(
        f.ensure("bootstrap", Permission::FullAccess).await.unwrap(),
        EnsuredKey::Existing(info) if info.id == expiring.info.id
    ));

    f.clock.advance(Duration::from_secs(61));
    // An expired key that is not revoked still holds its name: it is neither handed back nor
    // replaced.
    match f.ensure("bootstrap", Permission::FullAccess).await {
        Err(ManageError::NameTaken) => {}
        other => panic!("an expired key was handed back or replaced: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_at_the_same_moment_create_one_key() {
    let f = Fixture::new();
    let calls = (0..16).map(|_| {
        let (manager, org) = (f.manager.clone(), f.org.clone());
        async move {
            manager
                .ensure_key(&org, "bootstrap", Permission::FullAccess)
                .await
        }
    });
    let answers = futures_join_all(calls).await;
    let created = answers
        .iter()
        .filter(|answer| matches!(answer, Ok(EnsuredKey::Created(_))))
        .count();
    assert_eq!(created, 1, "{answers:?}");
    let ids: std::collections::BTreeSet<_> = answers
        .iter()
        .map(|answer| answer.as_ref().unwrap().info().id)
        .collect();
    assert_eq!(ids.len(), 1, "every call answers the one key");
    assert_eq!(f.manager.list(&f.org).await.unwrap().len(), 1);
}

/// Runs `futures` at once on the test's runtime, answering in order.
async fn futures_join_all<F: Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

#[tokio::test]
async fn a_key_created_between_the_read_and_the_create_is_returned_as_existing() {
    let f = Fixture::new();
    // Hold ensure_key's read (it found nothing) while another caller creates the key.
    let read = f.store.gate(Method::ListPage);
    let ensuring = tokio::spawn({
        let (manager, org) = (f.manager.clone(), f.org.clone());
        async move {
            manager
                .ensure_key(&org, "bootstrap", Permission::FullAccess)
                .await
        }
    });
    read.entered().await;
    let other = f
        .manager
        .create(&f.org, NewKey::new("bootstrap", Permission::FullAccess))
        .await
        .unwrap();
    read.open();

    match ensuring.await.unwrap().unwrap() {
        EnsuredKey::Existing(info) => assert_eq!(info.id, other.info.id),
        EnsuredKey::Created(created) => panic!("a second key: {}", created.info.id),
    }
    assert_eq!(f.key_count().await, 1);
}

#[tokio::test]
async fn names_and_organizations_are_checked_as_create_checks_them() {
    let f = Fixture::new();
    assert!(matches!(
        f.ensure("  ", Permission::FullAccess).await,
        Err(ManageError::InvalidName(_))
    ));
    let nobody = OrganizationId::from("");
    assert!(matches!(
        f.manager
            .ensure_key(&nobody, "bootstrap", Permission::FullAccess)
            .await,
        Err(ManageError::EmptyOrganization)
    ));
    assert_eq!(f.store.calls(Method::Insert), 0);
}
