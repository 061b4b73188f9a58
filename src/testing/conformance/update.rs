//! Changing a key: a compare-and-swap on its revision that writes everything but `last_used_at`.

use std::sync::Arc;

use super::{
    at_once::at_once,
    calls::{get, insert, list, record_usage, update, updated},
    compare::{assert_absent, assert_same_records},
    fixtures::{at, digest, ids, rate_limit, record, restricted, used},
    read_back::read_back,
    reopen::StoreUnderTest,
};
use crate::{
    key::KeyId,
    record::{KeyRecord, OrganizationId, PreviousSecret},
    store::Updated,
};

/// `original` with every field but its id changed, one revision on.
fn everything_changed(original: &KeyRecord) -> KeyRecord {
    let mut changed = original.next_revision();
    changed.organization = OrganizationId::from("org_b");
    changed.name = "after".into();
    changed.access = restricted("conformance_forms:write conformance_submissions:read");
    changed.digest = digest(2);
    changed.previous = Some(Box::new(PreviousSecret {
        digest: original.digest,
        valid_until: at(1_700_003_600, 0),
    }));
    changed.created_at = at(1_700_000_001, 1);
    changed.expires_at = Some(at(1_800_000_000, 0));
    changed.rate_limit = Some(rate_limit(600, 60));
    changed.revoked_at = Some(at(1_700_000_900, 0));
    // Only record_usage moves it.
    changed.last_used_at = Some(at(1_600_000_000, 0));
    changed
}

/// `update` writes every field and the revision, but keeps the stored `last_used_at`; it sets
/// optional fields (the rate limit among them) and clears them.
pub async fn update_writes_everything_but_last_used_at(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "update_writes_everything_but_last_used_at";
    let original = record("org_a", "before", at(1_700_000_000, 0));
    insert(&store, &original).await;
    let used_at = at(1_700_000_500, 7);
    record_usage(&store, &[used(original.id, used_at)]).await;

    let changed = everything_changed(&original);
    assert!(update(&store, &changed, original.revision).await);
    let mut expected = changed.clone();
    expected.last_used_at = Some(used_at);
    let store = read_back(BEHAVIOUR, store, &[&expected]).await;
    assert_eq!(ids(&list(&store, "org_b").await), vec![original.id]);
    assert_same_records(BEHAVIOUR, &[], &list(&store, "org_a").await);

    let mut cleared = changed.next_revision();
    cleared.previous = None;
    cleared.expires_at = None;
    cleared.rate_limit = None;
    cleared.revoked_at = None;
    assert!(update(&store, &cleared, changed.revision).await);
    let mut expected = cleared;
    expected.last_used_at = Some(used_at);
    let when = format!("{BEHAVIOUR}, optional fields cleared");
    read_back(&when, store, &[&expected]).await;
}

/// `update` of an id that does not exist answers `Stale` and creates nothing.
pub async fn update_of_an_unknown_id_changes_nothing(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "update_of_an_unknown_id_changes_nothing";
    let ghost = record("org_a", "ghost", at(1_700_000_000, 0));
    assert_eq!(
        updated(&store, &ghost.next_revision(), ghost.revision).await,
        Updated::Stale,
        "{BEHAVIOUR}: an update of an unknown id"
    );
    let store = store.reopen().await;
    assert_absent(BEHAVIOUR, &ghost.id, get(&store, &ghost.id).await.as_ref());
    assert_same_records(BEHAVIOUR, &[], &list(&store, "org_a").await);
}

/// `update` at a revision other than the stored one answers `Stale` and changes nothing: the
/// second of two writers that read the same record loses.
pub async fn update_at_a_stale_revision_is_refused(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "update_at_a_stale_revision_is_refused";
    let original = record("org_a", "CI", at(1_700_000_000, 5));
    insert(&store, &original).await;
    let read = get(&store, &original.id).await;
    let read = read.unwrap_or_else(|| panic!("{BEHAVIOUR}: the inserted key is missing"));

    let mut revoked = read.next_revision();
    revoked.revoked_at = Some(at(1_700_000_200, 0));
    let mut regenerated = read.next_revision();
    regenerated.digest = digest(9);

    assert!(update(&store, &revoked, read.revision).await);
    assert_eq!(
        updated(&store, &regenerated, read.revision).await,
        Updated::Stale,
        "{BEHAVIOUR}: an update at a stale revision"
    );
    let when = format!("{BEHAVIOUR}, the first writer's change stays");
    let store = read_back(&when, store, &[&revoked]).await;

    // From the revision stored now, it wins; a revision from the future loses too.
    let mut regenerated = revoked.next_revision();
    regenerated.digest = digest(9);
    assert_eq!(
        updated(&store, &regenerated, revoked.revision + 1).await,
        Updated::Stale,
        "{BEHAVIOUR}: an update at a revision from the future"
    );
    assert!(update(&store, &regenerated, revoked.revision).await);
    read_back(BEHAVIOUR, store, &[&regenerated]).await;
}

/// `update` is one atomic compare-and-swap: 32 tasks incrementing one record, each retrying
/// until its write lands, lose no increment.
pub async fn update_is_atomic_under_concurrent_writers(store: impl StoreUnderTest) {
    const WRITERS: u64 = 32;
    const INCREMENTS: u64 = 5;
    let store = Arc::new(store.into_store());
    let counter = record("org_a", "0", at(1_700_000_000, 0));
    insert(&store, &counter).await;
    let counter = counter.id;
    let writers = (0..WRITERS).map(|_| {
        let store = Arc::clone(&store);
        async move {
            let mut landed = 0;
            while landed < INCREMENTS {
                if increment(&store, counter).await {
                    landed += 1;
                }
            }
        }
    });
    at_once(writers).await;
    let stored = get(&store, &counter).await;
    let stored = stored.unwrap_or_else(|| panic!("the counter is missing"));
    let total = WRITERS * INCREMENTS;
    assert_eq!(
        (stored.name.as_str(), stored.revision),
        (total.to_string().as_str(), total),
        "every successful update must apply on top of the previous one"
    );
}

/// Reads the counter and writes its name, a count, one higher: whether the write landed.
async fn increment(store: &impl StoreUnderTest, counter: KeyId) -> bool {
    let current = get(store, &counter).await;
    let current = current.unwrap_or_else(|| panic!("the counter is missing"));
    let count: u64 = current.name.parse().unwrap_or_else(|_| panic!("a count"));
    let mut next = current.next_revision();
    next.name = (count + 1).to_string();
    update(store, &next, current.revision).await
}
