//! Reading one key: by id, and from memory without waiting.

use super::{
    calls::{get, get_cached, insert, update},
    compare::{assert_absent, assert_same_record},
    fixtures::{at, id, record},
    reopen::StoreUnderTest,
};
use crate::store::CachedLookup;

/// `get` of an id never inserted is `None`, not an error.
pub async fn get_of_an_unknown_id_is_none(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "get_of_an_unknown_id_is_none";
    let unknown = id("unknownKey00");
    assert_absent(BEHAVIOUR, &unknown, get(&store, &unknown).await.as_ref());
    insert(&store, &record("org_a", "CI", at(1_700_000_000, 0))).await;
    assert_absent(BEHAVIOUR, &unknown, get(&store, &unknown).await.as_ref());
}

/// What `get_cached` answers from memory agrees with `get`.
pub async fn get_cached_agrees_with_get(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "get_cached_agrees_with_get";
    let kept = record("org_a", "kept", at(1_700_000_000, 0));
    let unknown = id("unknownKey00");
    insert(&store, &kept).await;
    // A cache learns from a read.
    get(&store, &kept.id).await;
    get(&store, &unknown).await;
    for key_id in [kept.id, unknown] {
        let stored = get(&store, &key_id).await;
        match (get_cached(&store, &key_id), stored) {
            (CachedLookup::Found(cached), Some(stored)) => {
                assert_same_record(BEHAVIOUR, &stored, &cached);
            }
            (CachedLookup::Found(cached), None) => {
                assert_absent(BEHAVIOUR, &key_id, Some(&cached));
            }
            (CachedLookup::Absent, Some(_)) => {
                panic!("{BEHAVIOUR}: `get_cached` answered key {key_id} absent, `get` found it")
            }
            (CachedLookup::Absent | CachedLookup::Unknown, _) => {}
        }
    }
    // After a write through the store, no stale answer.
    let mut revoked = kept.next_revision();
    revoked.revoked_at = Some(at(1_700_000_001, 0));
    assert!(update(&store, &revoked, kept.revision).await);
    if let CachedLookup::Found(cached) = get_cached(&store, &kept.id) {
        assert_same_record(&format!("{BEHAVIOUR}, after an update"), &revoked, &cached);
    }
}
