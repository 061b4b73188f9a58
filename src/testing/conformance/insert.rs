//! Writing new keys: plain, and capped by the organization's count of active keys.

use std::{sync::Arc, time::Duration};

use super::{
    at_once::at_once,
    calls::{get, insert, insert_capped, inserted, list, update},
    compare::{assert_absent, assert_same_record, assert_same_records},
    fixtures::{at, digest, rate_limit, record},
    read_back::read_back,
    reopen::StoreUnderTest,
};
use crate::{
    permission::Access,
    record::{KeyRecord, OrganizationId},
    store::{ActiveKeyLimit, Inserted},
};

/// `insert` then `get` returns the record unchanged, with a rate limit or without.
pub async fn insert_then_get_returns_the_same_record(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "insert_then_get_returns_the_same_record";
    let plain = record("org_a", "CI", at(1_700_000_000, 123_456));
    let mut limited = record("org_a", "limited", at(1_700_000_001, 0));
    limited.rate_limit = Some(rate_limit(600, 60));
    for record in [&plain, &limited] {
        assert!(
            insert(&store, record).await,
            "{BEHAVIOUR}: insert of a new id"
        );
        let read = get(&store, &record.id).await;
        let read = read.unwrap_or_else(|| panic!("{BEHAVIOUR}: key {} is missing", record.id));
        assert_same_record(BEHAVIOUR, record, &read);
    }
    read_back(BEHAVIOUR, store, &[&plain, &limited]).await;
}

/// `insert` of an existing id answers `IdTaken` and changes nothing.
pub async fn duplicate_id_is_refused_without_overwriting(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "duplicate_id_is_refused_without_overwriting";
    let original = record("org_a", "original", at(1_700_000_000, 1));
    assert!(insert(&store, &original).await);
    let mut impostor = original.clone();
    impostor.organization = OrganizationId::from("org_b");
    impostor.name = "impostor".into();
    impostor.access = Access::FullAccess;
    impostor.digest = digest(9);
    assert_eq!(
        inserted(&store, &impostor).await,
        Inserted::IdTaken,
        "{BEHAVIOUR}: a second insert of one id"
    );
    let store = read_back(BEHAVIOUR, store, &[&original]).await;
    assert_same_records(BEHAVIOUR, &[], &list(&store, "org_b").await);
}

/// Five keys of `org_a`, of which two are active at `now` (one expiring a microsecond later),
/// and four keys of other organizations.
fn keys_around(now: std::time::SystemTime) -> Vec<KeyRecord> {
    let micro = Duration::from_micros(1);
    let created_at = at(1_700_000_000, 0);
    let mut revoked = record("org_a", "revoked", created_at);
    revoked.revoked_at = Some(at(1_740_000_000, 0));
    let mut expired = record("org_a", "expired", created_at);
    expired.expires_at = Some(now - micro);
    let mut expiring_now = record("org_a", "expiring now", created_at);
    expiring_now.expires_at = Some(now);
    let mut expiring_later = record("org_a", "expiring later", created_at);
    expiring_later.expires_at = Some(now + micro);
    let open_ended = record("org_a", "open-ended", created_at);
    vec![
        revoked,
        expired,
        expiring_now,
        expiring_later,
        open_ended,
        record("org_b", "other 1", created_at),
        record("org_b", "other 2", created_at),
        record("org_b", "other 3", created_at),
        record("org_a_suffix", "prefix", created_at),
    ]
}

const CAPPED: &str = "capped_insert_counts_only_active_keys_of_the_organization";

/// A capped `insert` counts only the organization's active keys at `limit.at`: revoked keys,
/// keys expired by then (a key expiring exactly at `limit.at` included) and other organizations'
/// keys do not count. `LimitReached` and `IdTaken` change nothing.
pub async fn capped_insert_counts_only_active_keys_of_the_organization(store: impl StoreUnderTest) {
    let now = at(1_750_000_000, 500_000);
    let limit = ActiveKeyLimit { max: 3, at: now };
    for record in &keys_around(now) {
        assert!(insert(&store, record).await);
    }
    let mut third = record("org_a", "third", at(1_750_000_000, 0));
    third.rate_limit = Some(rate_limit(5, 1));
    let fourth = record("org_a", "fourth", at(1_750_000_000, 1));
    let store = the_last_slot_is_taken_once(store, limit, &third, &fourth).await;
    let store = a_taken_id_is_refused_whatever_the_room(store, limit, &third).await;
    a_revocation_frees_a_slot(store, limit, &third, &fourth).await;
}

/// Two of org_a's keys are active: `third` fills the last slot, `fourth` finds none.
async fn the_last_slot_is_taken_once<T: StoreUnderTest>(
    store: T,
    limit: ActiveKeyLimit,
    third: &KeyRecord,
    fourth: &KeyRecord,
) -> T {
    assert_eq!(
        insert_capped(&store, third, limit).await,
        Inserted::Stored,
        "{CAPPED}: two of org_a's keys are active at `limit.at`, the maximum is three"
    );
    let store = read_back(CAPPED, store, &[third]).await;
    let before = list(&store, "org_a").await;
    assert_eq!(
        insert_capped(&store, fourth, limit).await,
        Inserted::LimitReached,
        "{CAPPED}: three of org_a's keys are active, a key expiring after `limit.at` included"
    );
    assert_absent(CAPPED, &fourth.id, get(&store, &fourth.id).await.as_ref());
    assert_same_records(CAPPED, &before, &list(&store, "org_a").await);
    store
}

/// An existing id is `IdTaken`, whether its organization is full or empty.
async fn a_taken_id_is_refused_whatever_the_room<T: StoreUnderTest>(
    store: T,
    limit: ActiveKeyLimit,
    taken: &KeyRecord,
) -> T {
    for organization in ["org_a", "org_c"] {
        let mut impostor = record(organization, "impostor", at(1_750_000_000, 2));
        impostor.id = taken.id;
        assert_eq!(
            insert_capped(&store, &impostor, limit).await,
            Inserted::IdTaken,
            "{CAPPED}: an insert of a taken id in {organization}"
        );
    }
    let store = read_back(CAPPED, store, &[taken]).await;
    assert_same_records(CAPPED, &[], &list(&store, "org_c").await);
    store
}

/// Revoking `third` frees the slot `fourth` takes; no room at all is no room.
async fn a_revocation_frees_a_slot(
    store: impl StoreUnderTest,
    limit: ActiveKeyLimit,
    third: &KeyRecord,
    fourth: &KeyRecord,
) {
    let mut revoked = third.next_revision();
    revoked.revoked_at = Some(limit.at);
    assert!(update(&store, &revoked, third.revision).await);
    assert_eq!(
        insert_capped(&store, fourth, limit).await,
        Inserted::Stored,
        "{CAPPED}: a revocation frees a slot"
    );
    let closed = ActiveKeyLimit { max: 0, ..limit };
    let nowhere = record("org_d", "nowhere", at(1_700_000_000, 0));
    assert_eq!(
        insert_capped(&store, &nowhere, closed).await,
        Inserted::LimitReached,
        "{CAPPED}: a maximum of 0"
    );
    assert_same_records(CAPPED, &[], &list(&store, "org_d").await);
}

/// A capped `insert` counts and inserts in one atomic step: 32 tasks inserting a key of one
/// organization at once, with room for 5, store exactly 5.
pub async fn capped_insert_is_atomic_under_concurrent_writers(store: impl StoreUnderTest) {
    const WRITERS: usize = 32;
    const MAX: u32 = 5;
    let store = Arc::new(store.into_store());
    let limit = ActiveKeyLimit {
        max: MAX,
        at: at(1_750_000_000, 0),
    };
    let inserts = (0..WRITERS).map(|task| {
        let store = Arc::clone(&store);
        let key = record("org_a", &format!("task {task}"), at(1_700_000_000, 0));
        async move { insert_capped(&store, &key, limit).await }
    });
    let mut stored = 0;
    for inserted in at_once(inserts).await {
        match inserted {
            Inserted::Stored => stored += 1,
            Inserted::LimitReached => {}
            other => panic!("a fresh id answered {other:?}"),
        }
    }
    assert_eq!(
        stored, MAX,
        "exactly `max` of {WRITERS} concurrent capped inserts must be stored"
    );
    assert_eq!(list(&store, "org_a").await.len(), MAX as usize);
}
