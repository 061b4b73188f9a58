//! Through the crate: keys created, used, revoked, regenerated and limited by a `KeyManager` over
//! the store.

use std::{sync::Arc, time::Duration};

use super::{
    calls::{get, ok},
    fixtures::{at, rate_limit},
    reopen::StoreUnderTest,
};
use crate::{
    authenticator::{AuthError, Authenticator},
    key::KeyId,
    lifecycle::{KeyChanges, NewKey, manager::KeyManager},
    permission::Permission,
    record::OrganizationId,
    record::RateLimit,
    store::KeyStore,
    testing::ManualClock,
};

/// A manager over `store` whose clock stands at a whole microsecond.
fn manager(store: impl KeyStore) -> (KeyManager, ManualClock) {
    let clock = ManualClock::new(at(1_750_000_000, 250_000));
    let authenticator = Authenticator::new(store).with_clock(clock.clone());
    (KeyManager::new(authenticator), clock)
}

/// Through the crate: a revoked key is rejected as revoked, from the next request on.
pub async fn revoked_key_is_rejected_after_revocation(store: impl StoreUnderTest) {
    let store = Arc::new(store.into_store());
    let (manager, clock) = manager(Arc::clone(&store));
    let org = OrganizationId::from("org_a");
    let created = ok(
        manager
            .create(&org, NewKey::new("to revoke", Permission::FullAccess))
            .await,
        "create",
    );
    let key = created.key.expose_secret().to_owned();
    let auth = manager.authenticator();
    assert!(auth.authenticate(&key).await.is_ok(), "a new key works");

    clock.advance(Duration::from_secs(10));
    ok(manager.revoke(&org, created.info.id).await, "revoke");
    assert!(matches!(
        auth.authenticate(&key).await,
        Err(AuthError::RevokedKey)
    ));
    let stored = get(&store, &created.info.id)
        .await
        .unwrap_or_else(|| panic!("kept"));
    assert_eq!(stored.revoked_at, Some(at(1_750_000_010, 250_000)));
    assert_eq!(stored.revision, 1);
}

/// Through the crate: a regenerated key's old secret works only during its grace period.
pub async fn regenerated_key_honours_its_grace_period(store: impl StoreUnderTest) {
    let store = Arc::new(store.into_store());
    let (manager, clock) = manager(Arc::clone(&store));
    let org = OrganizationId::from("org_a");
    let created = ok(
        manager
            .create(&org, NewKey::new("to rotate", Permission::ReadOnly))
            .await,
        "create",
    );
    let old_key = created.key.expose_secret().to_owned();
    let grace = Some(Duration::from_secs(3_600));
    let rotated = ok(
        manager.regenerate(&org, created.info.id, grace).await,
        "regenerate",
    );
    let new_key = rotated.key.expose_secret().to_owned();

    let stored = get(&store, &created.info.id)
        .await
        .unwrap_or_else(|| panic!("kept"));
    let previous = stored
        .previous
        .unwrap_or_else(|| panic!("a previous secret"));
    assert_eq!(previous.valid_until, at(1_750_003_600, 250_000));

    let auth = manager.authenticator();
    assert!(
        auth.authenticate(&old_key).await.is_ok(),
        "old key in grace"
    );
    assert!(auth.authenticate(&new_key).await.is_ok(), "new key");
    clock.advance(Duration::from_secs(3_600));
    assert!(matches!(
        auth.authenticate(&old_key).await,
        Err(AuthError::InvalidKey)
    ));
    assert!(auth.authenticate(&new_key).await.is_ok());
}

async fn stored_rate_limit(store: &impl StoreUnderTest, id: &KeyId) -> Option<RateLimit> {
    let record = get(store, id).await;
    record.unwrap_or_else(|| panic!("kept")).rate_limit
}

/// Through the crate: a key's own rate limit is stored as created, survives a usage flush and a
/// regeneration, and is removed and set again by updates.
pub async fn rate_limit_is_kept_through_every_change_of_a_key(store: impl StoreUnderTest) {
    let store = Arc::new(store.into_store());
    let (manager, _clock) = manager(Arc::clone(&store));
    let org = OrganizationId::from("org_a");
    let first = rate_limit(600, 60);
    let key = NewKey::new("limited", Permission::ReadOnly).rate_limit(Some(first));
    let created = ok(manager.create(&org, key).await, "create_key");
    let id = created.info.id;
    assert_eq!(stored_rate_limit(&store, &id).await, Some(first));

    let auth = manager.authenticator();
    let context = ok(
        auth.authenticate(created.key.expose_secret()).await,
        "authenticate",
    );
    assert_eq!(
        context.rate_limit(),
        Some(first),
        "the context has the key's limit"
    );
    ok(manager.authenticator().flush_usage().await, "record_usage");
    let rotated = ok(manager.regenerate(&org, id, None).await, "regenerate");
    assert_eq!(rotated.info.rate_limit, Some(first));
    assert_eq!(stored_rate_limit(&store, &id).await, Some(first));

    let removed = ok(
        manager
            .update(&org, id, KeyChanges::new().rate_limit(None))
            .await,
        "update",
    );
    assert_eq!(removed.rate_limit, None);
    assert_eq!(stored_rate_limit(&store, &id).await, None);
    let second = rate_limit(5, 1);
    let changes = KeyChanges::new().rate_limit(Some(second));
    ok(manager.update(&org, id, changes).await, "update");
    assert_eq!(stored_rate_limit(&store, &id).await, Some(second));
}

/// Through the crate: a usage flush records when each used key was last used.
pub async fn usage_flush_records_last_used(store: impl StoreUnderTest) {
    let (manager, clock) = manager(store.into_store());
    let org = OrganizationId::from("org_a");
    let used = ok(
        manager
            .create(&org, NewKey::new("used", Permission::ReadOnly))
            .await,
        "create",
    );
    let idle = ok(
        manager
            .create(&org, NewKey::new("idle", Permission::ReadOnly))
            .await,
        "create",
    );
    let auth = manager.authenticator();
    for _ in 0..3 {
        assert!(auth.authenticate(used.key.expose_secret()).await.is_ok());
    }
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        ok(manager.authenticator().flush_usage().await, "record_usage"),
        1
    );

    let listed = ok(manager.list(&org).await, "list");
    let last_used = |id: KeyId| {
        listed
            .iter()
            .find(|info| info.id == id)
            .and_then(|info| info.last_used_at)
    };
    assert_eq!(last_used(used.info.id), Some(at(1_750_000_060, 250_000)));
    assert_eq!(last_used(idle.info.id), None);
}
