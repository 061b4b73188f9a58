//! Renaming keys and changing their expiry and rate limit in one write, keys created with a rate
//! limit, and names that are unique among an organization's active keys.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use formbox_auth::{
    Authenticator, KeyId, KeyManager, KeyStore, MemoryStore, OrganizationId, Permission,
    clock::Clock,
    events::KeyEvent,
    lifecycle::{KeyChanges, ManageError, NewKey},
    rate_limit::RateLimit,
    testing::{ManualClock, Method, TestStore},
};

struct Fixture {
    manager: KeyManager,
    store: TestStore<MemoryStore>,
    clock: ManualClock,
    org: OrganizationId,
    events: Arc<Mutex<Vec<KeyEvent>>>,
}

impl Fixture {
    fn new() -> Self {
        let store = TestStore::new(MemoryStore::new());
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let authenticator = Authenticator::new(store.clone())
            .with_clock(clock.clone())
            .with_events(move |event: &KeyEvent| sink.lock().unwrap().push(event.clone()));
        Self {
            manager: KeyManager::new(authenticator),
            store,
            clock,
            org: OrganizationId::from("org_a"),
            events,
        }
    }

    async fn create(&self, name: &str) -> Result<KeyId, ManageError> {
        let created = self
            .manager
            .create(&self.org, NewKey::new(name, Permission::ReadOnly));
        Ok(created.await?.info.id)
    }

    async fn update(&self, id: KeyId, changes: KeyChanges) -> Result<String, ManageError> {
        Ok(self.manager.update(&self.org, id, changes).await?.name)
    }

    async fn revision(&self, id: KeyId) -> u64 {
        self.store.inner().get(&id).await.unwrap().unwrap().revision
    }

    fn updates(&self) -> usize {
        self.store.calls(Method::Update)
    }

    /// The events since the last call.
    fn take_events(&self) -> Vec<KeyEvent> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

#[tokio::test]
async fn name_and_expiry_change_in_one_write() {
    let f = Fixture::new();
    let id = f.create("CI").await.unwrap();
    f.take_events();
    let expires_at = f.clock.now() + Duration::from_secs(3_600);
    let changes = KeyChanges::new()
        .name("  Deploys ")
        .expires_at(Some(expires_at));
    let info = f.manager.update(&f.org, id, changes).await.unwrap();
    assert_eq!(info.name, "Deploys");
    assert_eq!(info.expires_at, Some(expires_at));
    assert_eq!(f.updates(), 1, "one compare-and-swap");
    assert_eq!(f.revision(id).await, 1, "the revision moves once");
    assert_eq!(f.manager.get(&f.org, id).await.unwrap(), info);
    let org = f.org.clone();
    assert_eq!(
        f.take_events(),
        [
            KeyEvent::Renamed {
                organization: org.clone(),
                key_id: id
            },
            KeyEvent::ExpiryChanged {
                organization: org,
                key_id: id,
                expires_at: Some(expires_at)
            },
        ]
    );
}

#[tokio::test]
async fn changes_that_change_nothing_write_nothing() {
    let f = Fixture::new();
    let id = f.create("CI").await.unwrap();
    f.take_events();
    let before = f.manager.get(&f.org, id).await.unwrap();
    let info = f
        .manager
        .update(&f.org, id, KeyChanges::new())
        .await
        .unwrap();
    assert_eq!(info, before);
    // The values the key has already.
    let same = KeyChanges::new().name("CI").expires_at(None);
    assert_eq!(f.manager.update(&f.org, id, same).await.unwrap(), before);
    assert_eq!(f.updates(), 0);
    assert_eq!(f.revision(id).await, 0);
    assert!(f.take_events().is_empty());
}

#[tokio::test]
async fn an_expiry_must_be_in_the_future_but_may_be_cleared() {
    let f = Fixture::new();
    let id = f.create("CI").await.unwrap();
    let now = f.clock.now();
    for past in [now, now - Duration::from_secs(1)] {
        let changes = KeyChanges::new().name("renamed").expires_at(Some(past));
        assert!(matches!(
            f.manager.update(&f.org, id, changes).await,
            Err(ManageError::ExpiryInPast)
        ));
        assert!(matches!(
            f.manager
                .update(&f.org, id, KeyChanges::new().expires_at(Some(past)))
                .await,
            Err(ManageError::ExpiryInPast)
        ));
    }
    assert_eq!(f.updates(), 0, "a refused change writes nothing");
    let later = now + Duration::from_secs(60);
    f.manager
        .update(&f.org, id, KeyChanges::new().expires_at(Some(later)))
        .await
        .unwrap();
    let cleared = f
        .manager
        .update(&f.org, id, KeyChanges::new().expires_at(None));
    assert_eq!(cleared.await.unwrap().expires_at, None);
    assert_eq!(f.revision(id).await, 2);
}

#[tokio::test]
async fn a_revoked_key_cannot_change() {
    let f = Fixture::new();
    let id = f.create("CI").await.unwrap();
    f.manager.revoke(&f.org, id).await.unwrap();
    let writes = f.updates();
    for changes in [
        KeyChanges::new().name("renamed"),
        KeyChanges::new().expires_at(None),
        KeyChanges::new().rate_limit(Some(RateLimit::new(5, 60).unwrap())),
        KeyChanges::new().rate_limit(None),
        KeyChanges::new(),
    ] {
        assert!(matches!(
            f.manager.update(&f.org, id, changes).await,
            Err(ManageError::Revoked)
        ));
    }
    assert_eq!(f.updates(), writes);
}

#[tokio::test]
async fn new_names_are_validated_like_at_creation() {
    let f = Fixture::new();
    let id = f.create("CI").await.unwrap();
    for bad in ["", "  ", "tab\tinside", &"x".repeat(101)] {
        assert!(
            matches!(
                f.update(id, KeyChanges::new().name(bad)).await,
                Err(ManageError::InvalidName(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(f.updates(), 0);
}

#[tokio::test]
async fn a_key_of_another_organization_is_not_found_whatever_the_name() {
    let f = Fixture::new();
    f.create("CI").await.unwrap();
    let theirs = f
        .manager
        .create(&"org_b".into(), NewKey::new("theirs", Permission::ReadOnly))
        .await
        .unwrap()
        .info
        .id;
    for changes in [KeyChanges::new().name("ci"), KeyChanges::new().name("free")] {
        assert!(matches!(
            f.update(theirs, changes).await,
            Err(ManageError::NotFound)
        ));
    }
}

#[tokio::test]
async fn names_are_unique_among_active_keys_ignoring_case_and_spaces() {
    let f = Fixture::new();
    let ci = f.create("CI").await.unwrap();
    for taken in ["CI", "ci", "  Ci "] {
        assert!(
            matches!(f.create(taken).await, Err(ManageError::NameTaken)),
            "{taken:?}"
        );
    }
    let zapier = f.create("Zapier").await.unwrap();
    assert!(matches!(
        f.update(zapier, KeyChanges::new().name("cI")).await,
        Err(ManageError::NameTaken)
    ));
    let renamed = KeyChanges::new().name("cI").expires_at(None);
    assert!(matches!(
        f.update(zapier, renamed).await,
        Err(ManageError::NameTaken)
    ));
    let stored = f.store.inner().get(&zapier).await.unwrap().unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.revision),
        ("Zapier", 0),
        "a taken name changes nothing"
    );
    // Another organization has names of its own.
    let other = OrganizationId::from("org_b");
    let theirs = f
        .manager
        .create(&other, NewKey::new("CI", Permission::ReadOnly));
    assert!(theirs.await.is_ok());
    // A key may take its own name in another case.
    assert_eq!(
        f.update(ci, KeyChanges::new().name("ci")).await.unwrap(),
        "ci"
    );
    assert_eq!(f.manager.list(&f.org).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_revoked_key_gives_its_name_up() {
    let f = Fixture::new();
    let old = f.create("CI").await.unwrap();
    let other = f.create("Zapier").await.unwrap();
    f.manager.revoke(&f.org, old).await.unwrap();
    let replacement = f.create("ci").await.unwrap();
    f.manager.revoke(&f.org, replacement).await.unwrap();
    assert_eq!(
        f.update(other, KeyChanges::new().name("CI")).await.unwrap(),
        "CI"
    );
}

#[tokio::test]
async fn an_expired_key_keeps_its_name() {
    let f = Fixture::new();
    let expires_at = f.clock.now() + Duration::from_secs(60);
    let created = f
        .manager
        .create(
            &f.org,
            NewKey::new("CI", Permission::ReadOnly).expires_at(Some(expires_at)),
        )
        .await;
    created.unwrap();
    f.clock.advance(Duration::from_secs(120));
    assert!(matches!(f.create("CI").await, Err(ManageError::NameTaken)));
}

fn per_minute(requests: u32) -> RateLimit {
    RateLimit::new(requests, 60).unwrap()
}

impl Fixture {
    /// A key created with `limit` as its own rate limit.
    async fn create_limited(&self, name: &str, limit: RateLimit) -> KeyId {
        let key = NewKey::new(name, Permission::ReadOnly).rate_limit(Some(limit));
        let created = self.manager.create(&self.org, key).await.unwrap();
        assert_eq!(created.info.rate_limit, Some(limit));
        created.info.id
    }

    async fn stored_rate_limit(&self, id: KeyId) -> Option<RateLimit> {
        self.store
            .inner()
            .get(&id)
            .await
            .unwrap()
            .unwrap()
            .rate_limit
    }
}

#[tokio::test]
async fn a_key_is_created_with_its_own_rate_limit_or_none() {
    let f = Fixture::new();
    let limited = f.create_limited("limited", per_minute(600)).await;
    assert_eq!(f.stored_rate_limit(limited).await, Some(per_minute(600)));
    let info = f.manager.get(&f.org, limited).await.unwrap();
    assert_eq!(info.rate_limit, Some(per_minute(600)));
    let plain = f.create("plain").await.unwrap();
    assert_eq!(f.stored_rate_limit(plain).await, None);
    let expires_at = f.clock.now() + Duration::from_secs(60);
    let key = NewKey::new(" dated ", Permission::FullAccess).expires_at(Some(expires_at));
    let created = f.manager.create(&f.org, key).await.unwrap();
    assert_eq!(
        (created.info.name.as_str(), created.info.access),
        ("dated", Permission::FullAccess.into())
    );
    assert_eq!(
        (created.info.expires_at, created.info.rate_limit),
        (Some(expires_at), None)
    );
}

#[tokio::test]
async fn create_key_checks_what_create_checks() {
    let f = Fixture::new();
    f.create("CI").await.unwrap();
    let key = |name: &str| NewKey::new(name, Permission::ReadOnly).rate_limit(Some(per_minute(5)));
    assert!(matches!(
        f.manager.create(&f.org, key("ci")).await,
        Err(ManageError::NameTaken)
    ));
    assert!(matches!(
        f.manager.create(&f.org, key("  ")).await,
        Err(ManageError::InvalidName(_))
    ));
    let past = key("later").expires_at(Some(f.clock.now()));
    assert!(matches!(
        f.manager.create(&f.org, past).await,
        Err(ManageError::ExpiryInPast)
    ));
    assert_eq!(f.manager.list(&f.org).await.unwrap().len(), 1);
}

#[tokio::test]
async fn name_and_rate_limit_change_in_one_write() {
    let f = Fixture::new();
    let id = f.create("CI").await.unwrap();
    f.take_events();
    let changes = KeyChanges::new()
        .name("Deploys")
        .rate_limit(Some(per_minute(600)));
    let info = f.manager.update(&f.org, id, changes).await.unwrap();
    assert_eq!(
        (info.name.as_str(), info.rate_limit),
        ("Deploys", Some(per_minute(600)))
    );
    assert_eq!(f.updates(), 1, "one compare-and-swap");
    assert_eq!(f.revision(id).await, 1);
    assert_eq!(f.stored_rate_limit(id).await, Some(per_minute(600)));
    let org = f.org.clone();
    assert_eq!(
        f.take_events(),
        [
            KeyEvent::Renamed {
                organization: org.clone(),
                key_id: id
            },
            KeyEvent::RateLimitChanged {
                organization: org,
                key_id: id,
                rate_limit: Some(per_minute(600))
            },
        ]
    );
}

#[tokio::test]
async fn a_rate_limit_is_changed_and_removed_and_the_same_one_writes_nothing() {
    let f = Fixture::new();
    let id = f.create_limited("CI", per_minute(600)).await;
    f.take_events();
    let same = KeyChanges::new().rate_limit(Some(per_minute(600)));
    f.manager.update(&f.org, id, same).await.unwrap();
    assert_eq!((f.updates(), f.take_events()), (0, vec![]));

    let other = RateLimit::new(600, 3_600).unwrap();
    let changed = KeyChanges::new().rate_limit(Some(other));
    let info = f.manager.update(&f.org, id, changed).await.unwrap();
    assert_eq!(info.rate_limit, Some(other));
    let removed = f
        .manager
        .update(&f.org, id, KeyChanges::new().rate_limit(None));
    assert_eq!(removed.await.unwrap().rate_limit, None);
    assert_eq!(f.stored_rate_limit(id).await, None);
    let org = f.org.clone();
    let changed_to = |rate_limit| KeyEvent::RateLimitChanged {
        organization: org.clone(),
        key_id: id,
        rate_limit,
    };
    assert_eq!(f.take_events(), [changed_to(Some(other)), changed_to(None)]);
    // Removing a limit the key does not have changes nothing.
    f.manager
        .update(&f.org, id, KeyChanges::new().rate_limit(None))
        .await
        .unwrap();
    assert_eq!((f.updates(), f.revision(id).await), (2, 2));
    // Other changes leave the limit as it is.
    let id = f.create_limited("other", per_minute(5)).await;
    let renamed = KeyChanges::new().name("renamed").expires_at(None);
    let info = f.manager.update(&f.org, id, renamed).await.unwrap();
    assert_eq!(info.rate_limit, Some(per_minute(5)));
}

#[test]
fn changes_with_a_rate_limit_are_not_empty() {
    assert!(KeyChanges::new().is_empty());
    let removed = KeyChanges::new().rate_limit(None);
    assert!(!removed.is_empty());
    assert_eq!(removed.rate_limit, Some(None));
    let set = KeyChanges::new().rate_limit(Some(per_minute(1)));
    assert_eq!(set.rate_limit, Some(Some(per_minute(1))));
}

#[tokio::test]
async fn regenerating_and_revoking_keep_the_rate_limit() {
    let f = Fixture::new();
    let id = f.create_limited("CI", per_minute(600)).await;
    let rotated = f.manager.regenerate(&f.org, id, None).await.unwrap();
    assert_eq!(rotated.info.rate_limit, Some(per_minute(600)));
    let grace = Some(Duration::from_secs(60));
    let rotated = f.manager.regenerate(&f.org, id, grace).await.unwrap();
    assert_eq!(rotated.info.rate_limit, Some(per_minute(600)));
    let context = f
        .manager
        .authenticator()
        .authenticate(rotated.key.expose_secret())
        .await
        .unwrap();
    assert_eq!(context.rate_limit(), Some(per_minute(600)));
    let revoked = f.manager.revoke(&f.org, id).await.unwrap();
    assert_eq!(revoked.rate_limit, Some(per_minute(600)));
    assert_eq!(f.stored_rate_limit(id).await, Some(per_minute(600)));
}

#[tokio::test]
async fn names_are_stored_composed_and_compared_composed() {
    let f = Fixture::new();
    let created = f
        .manager
        .create(
            &f.org,
            NewKey::new(" Cafe\u{301} Bot ", Permission::ReadOnly),
        )
        .await
        .unwrap();
    assert_eq!(created.info.name, "Caf\u{e9} Bot", "trimmed and composed");
    let stored = f
        .store
        .inner()
        .get(&created.info.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Caf\u{e9} Bot");
    for same in ["caf\u{e9} bot", "CAFE\u{301} BOT", "Caf\u{e9} Bot"] {
        assert!(
            matches!(f.create(same).await, Err(ManageError::NameTaken)),
            "{same:?}"
        );
    }
    let other = f.create("Zapier").await.unwrap();
    assert!(matches!(
        f.update(other, KeyChanges::new().name("cafe\u{301} BOT"))
            .await,
        Err(ManageError::NameTaken)
    ));
    assert_eq!(
        f.update(other, KeyChanges::new().name("Zapier x\u{301}"))
            .await
            .unwrap(),
        "Zapier x\u{301}",
        "an accent with nothing to compose with stays a combining mark"
    );
    assert_eq!(
        f.update(created.info.id, KeyChanges::new().name("CAFE\u{301} BOT"))
            .await
            .unwrap(),
        "CAF\u{c9} BOT",
        "a key takes its own name in another case and composition"
    );
}

#[tokio::test]
async fn invisible_characters_are_refused_at_creation_and_rename() {
    let f = Fixture::new();
    let demo = f.create("demo full access").await.unwrap();
    for invisible in [
        "demo full access\u{200b}",
        "\u{202e}evil",
        "demo\u{200d}full",
        "demo\u{2066}full\u{2069}",
        "\u{feff}demo",
        "de\u{ad}mo",
    ] {
        for outcome in [
            f.create(invisible).await.map(|_| ()),
            f.update(demo, KeyChanges::new().name(invisible))
                .await
                .map(|_| ()),
        ] {
            match outcome {
                Err(ManageError::InvalidName(reason)) => {
                    assert!(reason.contains("invisible formatting"), "{reason}");
                }
                other => panic!("{invisible:?}: {other:?}"),
            }
        }
    }
    assert!(matches!(
        f.create("line\u{2028}break").await,
        Err(ManageError::InvalidName(
            "the name contains line or paragraph separators"
        ))
    ));
    assert_eq!(f.manager.list(&f.org).await.unwrap().len(), 1);
    assert_eq!(f.updates(), 0);
    let error = ManageError::InvalidName("the name contains invisible formatting characters");
    assert!(
        error
            .to_string()
            .contains("invisible formatting characters")
    );
}

#[tokio::test]
async fn a_rename_refused_by_the_store_changes_nothing_and_says_name_taken() {
    let f = Fixture::new();
    let ci = f.create("CI").await.unwrap();
    let zapier = f.create("Zapier").await.unwrap();
    // The store, not an earlier read, decides: the rename reaches it and is refused there.
    let writes = f.updates();
    assert!(matches!(
        f.update(zapier, KeyChanges::new().name(" ci ").expires_at(None))
            .await,
        Err(ManageError::NameTaken)
    ));
    assert_eq!(f.updates(), writes + 1);
    assert_eq!(f.revision(zapier).await, 0);
    f.manager.revoke(&f.org, ci).await.unwrap();
    assert_eq!(
        f.update(zapier, KeyChanges::new().name(" ci "))
            .await
            .unwrap(),
        "ci"
    );
}
