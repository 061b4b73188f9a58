//! `CachedStore`: bounds, times to live, invalidation, and the race between a lookup and a
//! revocation. (It also runs the whole store conformance suite, in `conformance.rs`.)

use std::time::Duration;

use crate::common::{at, record};
use formbox_auth::lifecycle::NewKey;
use formbox_auth::store::{Inserted, Updated};
use formbox_auth::{
    KeyId, KeyRecord, KeyStore, MemoryStore, OrganizationId, Permission,
    store::{CachedLookup, CachedStore, KeyUsage, ListCursor, StoreError},
    testing::{Fault, Gate, ManualClock, Method, TestStore},
};

/// A memory store that counts lookups, can be told to fail, and can hold a lookup. It answers
/// nothing synchronously, as a database does, so that every synchronous answer of the cache is
/// its own.
type ProbedStore = TestStore<MemoryStore>;

/// `record` revoked, one revision on: what to write over it.
fn revoked(record: &KeyRecord) -> KeyRecord {
    let mut revoked = record.next_revision();
    revoked.revoked_at = Some(at(1_700_000_100, 0));
    revoked
}

/// Writes [`revoked`] over `record` through `store`.
async fn revoke(store: &impl KeyStore, record: &KeyRecord) -> Result<bool, StoreError> {
    let updated = store.update(&revoked(record), record.revision).await?;
    Ok(updated == Updated::Stored)
}

fn unknown_id(n: usize) -> KeyId {
    format!("unknown{n:05}").parse().unwrap()
}

/// A cache over a probed store, with a clock that only moves when told.
fn setup() -> (CachedStore<ProbedStore>, ProbedStore, ManualClock) {
    let store = TestStore::new(MemoryStore::new()).without_cached_lookups();
    let clock = ManualClock::new(at(1_750_000_000, 0));
    let cache = CachedStore::new(store.clone())
        .with_ttl(Duration::from_secs(30))
        .with_negative_ttl(Duration::from_secs(5))
        .with_clock(clock.clone());
    (cache, store, clock)
}

#[tokio::test]
async fn a_hit_is_served_without_asking_the_store() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    cache.insert(&record, None).await.unwrap();
    for _ in 0..5 {
        assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
    }
    assert_eq!(store.calls(Method::Get), 1);
}

#[tokio::test]
async fn a_record_is_served_until_its_ttl_ends_then_read_again() {
    let (cache, store, clock) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));

    // Revoked by another instance, without telling this one.
    assert!(revoke(&store, &record).await.unwrap());
    clock.advance(Duration::from_secs(29));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(store.calls(Method::Get), 1);

    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(revoked(&record)));
    assert_eq!(store.calls(Method::Get), 2);
}

#[tokio::test]
async fn an_unknown_id_is_cached_for_the_negative_ttl_only() {
    let (cache, store, clock) = setup();
    let record = record("org_1", "late", at(1_700_000_000, 0));
    assert_eq!(cache.get(&record.id).await.unwrap(), None);
    assert_eq!(cache.get(&record.id).await.unwrap(), None);
    assert_eq!(store.calls(Method::Get), 1);

    // Created by another instance: this one keeps saying "unknown" for the negative TTL, which
    // is shorter than the TTL of records.
    store.insert(&record, None).await.unwrap();
    clock.advance(Duration::from_secs(4));
    assert_eq!(cache.get(&record.id).await.unwrap(), None);
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record));
    assert_eq!(store.calls(Method::Get), 2);
}

#[tokio::test]
async fn an_insert_through_the_cache_replaces_a_cached_miss_at_once() {
    let (cache, _, _) = setup();
    let record = record("org_1", "new", at(1_700_000_000, 0));
    assert_eq!(cache.get(&record.id).await.unwrap(), None);
    assert_eq!(cache.insert(&record, None).await.unwrap(), Inserted::Stored);
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record));
}

#[tokio::test]
async fn updates_through_the_cache_take_effect_at_once() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    cache.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();

    let revoked = revoked(&record);
    assert_eq!(
        cache.update(&revoked, record.revision).await.unwrap(),
        Updated::Stored
    );
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(revoked.clone()));
    let mut renamed = revoked.next_revision();
    renamed.name = "renamed".into();
    assert_eq!(
        cache.update(&renamed, revoked.revision).await.unwrap(),
        Updated::Stored
    );
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(renamed));
    assert_eq!(store.calls(Method::Get), 3);
}

#[tokio::test]
async fn a_lost_compare_and_swap_still_drops_the_cached_record() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();

    // Another instance revoked the key; a rename through this cache, from the cached revision,
    // loses, and the next lookup reads the revocation instead of the stale cached record.
    let revoked = revoked(&record);
    assert_eq!(
        store.update(&revoked, record.revision).await.unwrap(),
        Updated::Stored
    );
    let mut renamed = record.next_revision();
    renamed.name = "renamed".into();
    assert_eq!(
        cache.update(&renamed, record.revision).await.unwrap(),
        Updated::Stale
    );
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(revoked));
    assert_eq!(store.calls(Method::Get), 2);
}

#[tokio::test]
async fn a_failed_write_still_drops_the_cached_record() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();

    // The write may or may not have reached the database before the error.
    store.fault_all(Fault::Error);
    assert!(revoke(&cache, &record).await.is_err());
    store.clear_faults();
    cache.get(&record.id).await.unwrap();
    assert_eq!(store.calls(Method::Get), 2);
}

#[tokio::test]
async fn invalidate_and_invalidate_all_drop_entries_changed_elsewhere() {
    let (cache, store, _) = setup();
    let first = record("org_1", "first", at(1_700_000_000, 0));
    let second = record("org_1", "second", at(1_700_000_000, 0));
    for record in [&first, &second] {
        store.insert(record, None).await.unwrap();
        cache.get(&record.id).await.unwrap();
    }
    assert!(revoke(&store, &first).await.unwrap());
    assert!(revoke(&store, &second).await.unwrap());

    cache.invalidate(&first.id);
    assert_eq!(cache.get(&first.id).await.unwrap(), Some(revoked(&first)));
    assert_eq!(cache.get(&second.id).await.unwrap(), Some(second.clone()));

    cache.invalidate_all();
    assert_eq!(cache.get(&second.id).await.unwrap(), Some(revoked(&second)));
    assert_eq!(store.calls(Method::Get), 4);
}

#[tokio::test]
async fn clones_share_entries_and_invalidations() {
    let (cache, store, _) = setup();
    let other = cache.clone();
    let record = record("org_1", "shared", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();
    other.get(&record.id).await.unwrap();
    assert_eq!(store.calls(Method::Get), 1);

    assert!(revoke(&other, &record).await.unwrap());
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(revoked(&record)));
}

#[tokio::test]
async fn the_cache_holds_at_most_its_capacity_and_forgets_the_oldest_first() {
    let (cache, store, _) = setup();
    let cache = cache.with_capacity(3);
    let records: Vec<KeyRecord> = (0..10)
        .map(|n| record("org_1", &format!("key {n}"), at(1_700_000_000, 0)))
        .collect();
    for record in &records {
        store.insert(record, None).await.unwrap();
        cache.get(&record.id).await.unwrap();
    }
    assert_eq!(store.calls(Method::Get), 10);

    // The three most recent are cached...
    for record in records[7..].iter().rev() {
        assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
    }
    assert_eq!(store.calls(Method::Get), 10);
    // ... and nothing older.
    cache.get(&records[6].id).await.unwrap();
    assert_eq!(store.calls(Method::Get), 11);
    cache.get(&records[0].id).await.unwrap();
    assert_eq!(store.calls(Method::Get), 12);
}

#[tokio::test]
async fn a_flood_of_unknown_ids_cannot_push_records_out() {
    let (cache, store, _) = setup();
    let cache = cache.with_capacity(2).with_negative_capacity(2);
    let records = [
        record("org_1", "first", at(1_700_000_000, 0)),
        record("org_1", "second", at(1_700_000_000, 0)),
    ];
    for record in &records {
        store.insert(record, None).await.unwrap();
        cache.get(&record.id).await.unwrap();
    }
    for n in 0..50 {
        assert_eq!(cache.get(&unknown_id(n)).await.unwrap(), None);
    }
    assert_eq!(store.calls(Method::Get), 52);

    for record in &records {
        assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
    }
    assert_eq!(store.calls(Method::Get), 52);
    // Misses are bounded too: only the two latest are still remembered.
    cache.get(&unknown_id(49)).await.unwrap();
    cache.get(&unknown_id(48)).await.unwrap();
    assert_eq!(store.calls(Method::Get), 52);
    cache.get(&unknown_id(0)).await.unwrap();
    assert_eq!(store.calls(Method::Get), 53);
}

#[tokio::test]
async fn zero_capacity_caches_nothing() {
    let (cache, store, _) = setup();
    let cache = cache.with_capacity(0).with_negative_capacity(0);
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    for _ in 0..3 {
        assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
        assert_eq!(cache.get(&unknown_id(1)).await.unwrap(), None);
    }
    assert_eq!(store.calls(Method::Get), 6);
}

#[tokio::test]
async fn errors_are_not_cached() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();

    store.fault_all(Fault::Error);
    assert!(matches!(
        cache.get(&record.id).await,
        Err(StoreError::Backend(_))
    ));
    assert!(cache.get(&unknown_id(1)).await.is_err());
    store.clear_faults();
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(cache.get(&unknown_id(1)).await.unwrap(), None);
    assert_eq!(store.calls(Method::Get), 4);
}

#[tokio::test]
async fn a_clock_that_went_back_makes_entries_expire() {
    let (cache, store, clock) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();
    clock.set(at(1_749_999_000, 0));
    cache.get(&record.id).await.unwrap();
    assert_eq!(store.calls(Method::Get), 2);
}

#[tokio::test]
async fn record_usage_writes_through_and_moves_the_cached_last_used_forward() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();

    let use_at = |seconds| {
        [KeyUsage {
            id: record.id,
            used_at: at(seconds, 0),
        }]
    };
    cache.record_usage(&use_at(1_700_000_500)).await.unwrap();
    cache.record_usage(&use_at(1_700_000_400)).await.unwrap();
    let cached = cache.get(&record.id).await.unwrap().unwrap();
    assert_eq!(cached.last_used_at, Some(at(1_700_000_500, 0)));
    assert_eq!(store.calls(Method::Get), 1);
    let stored = store.inner().get(&record.id).await.unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(at(1_700_000_500, 0)));
}

#[tokio::test]
async fn list_always_asks_the_store() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    cache.insert(&record, None).await.unwrap();
    let mut late = crate::common::record("org_1", "late", at(1_700_000_000, 0));
    late.created_at = at(1_700_000_001, 0);
    store.insert(&late, None).await.unwrap();
    assert_eq!(
        cache
            .list_page(&OrganizationId::from("org_1"), None, usize::MAX)
            .await
            .unwrap(),
        vec![late, record]
    );
}

#[tokio::test]
async fn a_page_is_the_stores_own_page_never_cached() {
    let (cache, store, _) = setup();
    let org = OrganizationId::from("org_1");
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    cache.insert(&record, None).await.unwrap();
    let first = cache.list_page(&org, None, 10).await.unwrap();
    assert_eq!(ids(&first), [record.id]);
    let mut late = crate::common::record("org_1", "late", at(1_700_000_000, 0));
    late.created_at = at(1_700_000_001, 0);
    store.insert(&late, None).await.unwrap();
    let after = ListCursor::after(&late).unwrap();
    assert_eq!(
        cache.list_page(&org, None, 10).await.unwrap(),
        [late, record.clone()]
    );
    assert_eq!(
        cache.list_page(&org, Some(&after), 10).await.unwrap(),
        [record]
    );
    // Every page is the store's own answer.
    assert_eq!(store.calls(Method::ListPage), 3);
}

fn ids(records: &[KeyRecord]) -> Vec<KeyId> {
    records.iter().map(|record| record.id).collect()
}

/// Starts a lookup that reads `record` from the store and then waits; returns once it has read.
async fn start_held_lookup(
    cache: &CachedStore<ProbedStore>,
    store: &ProbedStore,
    id: KeyId,
) -> (tokio::task::JoinHandle<Option<KeyRecord>>, Gate) {
    let gate = store.gate(Method::Get);
    let lookup = tokio::spawn({
        let cache = cache.clone();
        async move { cache.get(&id).await.unwrap() }
    });
    gate.entered().await;
    (lookup, gate)
}

#[tokio::test]
async fn a_lookup_racing_with_an_invalidation_does_not_cache_the_stale_record() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();

    let (lookup, gate) = start_held_lookup(&cache, &store, record.id).await;
    // While the lookup holds the old record, another instance revokes the key and the
    // notification arrives.
    assert!(revoke(&store, &record).await.unwrap());
    cache.invalidate(&record.id);
    gate.open();
    // The lookup began before the revocation, so it may answer with what it read...
    assert_eq!(lookup.await.unwrap(), Some(record.clone()));
    // ... but it must not have cached it.
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(revoked(&record)));
    assert_eq!(store.calls(Method::Get), 2);
}

#[tokio::test]
async fn a_lookup_racing_with_a_revocation_through_the_cache_does_not_cache_the_stale_record() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();

    let (lookup, gate) = start_held_lookup(&cache, &store, record.id).await;
    assert!(revoke(&cache, &record).await.unwrap());
    gate.open();
    assert_eq!(lookup.await.unwrap(), Some(record.clone()));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(revoked(&record)));
}

#[tokio::test]
async fn a_miss_racing_with_an_insert_does_not_cache_the_miss() {
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));

    let (lookup, gate) = start_held_lookup(&cache, &store, record.id).await;
    cache.insert(&record, None).await.unwrap();
    gate.open();
    assert_eq!(lookup.await.unwrap(), None);
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record));
}

#[tokio::test]
async fn a_lookup_without_a_race_is_cached() {
    // The control for the race tests: the held lookup itself does fill the cache.
    let (cache, store, _) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    let (lookup, gate) = start_held_lookup(&cache, &store, record.id).await;
    gate.open();
    assert_eq!(lookup.await.unwrap(), Some(record.clone()));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record));
    assert_eq!(store.calls(Method::Get), 1);
}

#[tokio::test]
async fn debug_shows_settings_but_no_cached_record() {
    let (cache, store, _) = setup();
    let record = record("org_1", "secret-looking name", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();
    // The store behind shows what it holds in its own `Debug`; the cache adds nothing of it.
    let behind = format!("{:?}", cache.get_ref());
    let debug = format!("{cache:?}").replace(&behind, "");
    assert!(debug.contains("ttl: 30s"), "{debug}");
    assert!(!debug.contains("secret-looking name"), "{debug}");
    assert!(!debug.contains(record.id.as_str()), "{debug}");
}

#[tokio::test]
async fn a_warm_cache_answers_at_once_and_only_while_fresh() {
    let (cache, store, clock) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    assert_eq!(cache.get_cached(&record.id), CachedLookup::Unknown);
    assert_eq!(cache.get_cached(&unknown_id(1)), CachedLookup::Unknown);

    cache.get(&record.id).await.unwrap();
    cache.get(&unknown_id(1)).await.unwrap();
    let CachedLookup::Found(hit) = cache.get_cached(&record.id) else {
        panic!("a cached record is not answered at once");
    };
    assert_eq!(*hit, record);
    assert_eq!(cache.get_cached(&unknown_id(1)), CachedLookup::Absent);
    assert_eq!(store.calls(Method::Get), 2);

    // Invalidation and expiry apply to the synchronous path as well.
    assert!(revoke(&cache, &record).await.unwrap());
    assert_eq!(cache.get_cached(&record.id), CachedLookup::Unknown);
    clock.advance(Duration::from_secs(5));
    assert_eq!(cache.get_cached(&unknown_id(1)), CachedLookup::Unknown);
}

#[tokio::test]
async fn a_revocation_through_the_cache_rejects_a_hot_key_at_once() {
    let (cache, _, _) = setup();
    let manager = formbox_auth::KeyManager::new(cache.clone());
    let org = OrganizationId::from("org_1");
    let created = manager
        .create(&org, NewKey::new("hot", Permission::FullAccess))
        .await
        .unwrap();
    let auth = manager.authenticator();
    for _ in 0..3 {
        auth.authenticate(created.key.expose_secret())
            .await
            .unwrap();
    }
    assert!(matches!(
        cache.get_cached(&created.info.id),
        CachedLookup::Found(_)
    ));
    manager.revoke(&org, created.info.id).await.unwrap();
    assert!(matches!(
        auth.authenticate(created.key.expose_secret()).await,
        Err(formbox_auth::authenticator::AuthError::RevokedKey)
    ));
}

#[tokio::test]
async fn a_failing_store_is_answered_with_the_expired_record_within_the_stale_window() {
    let (cache, store, clock) = setup();
    let cache = cache.with_stale_if_error(Duration::from_secs(30));
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));

    store.fault_all(Fault::Error);
    clock.advance(Duration::from_secs(31));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(store.calls(Method::Get), 2, "the store was asked first");
    // Served from memory for a second, then the store is asked again.
    assert!(matches!(
        cache.get_cached(&record.id),
        CachedLookup::Found(_)
    ));
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        cache.get_cached(&record.id),
        CachedLookup::Unknown
    ));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(store.calls(Method::Get), 3);

    // Sixty seconds after the store last answered, the error goes through.
    clock.set(at(1_750_000_060, 0));
    assert!(matches!(
        cache.get(&record.id).await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        cache.get_cached(&record.id),
        CachedLookup::Unknown
    ));
}

#[tokio::test]
async fn without_a_stale_window_an_expired_record_fails_closed() {
    let (cache, store, clock) = setup();
    let cache = cache.with_stale_if_error(Duration::ZERO);
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();

    store.fault_all(Fault::Error);
    clock.advance(Duration::from_secs(30));
    assert!(cache.get(&record.id).await.is_err());
}

#[tokio::test]
async fn unknown_keys_are_never_served_stale() {
    let (cache, store, clock) = setup();
    assert_eq!(cache.get(&unknown_id(1)).await.unwrap(), None);
    store.fault_all(Fault::Error);
    clock.advance(Duration::from_secs(5));
    assert!(cache.get(&unknown_id(1)).await.is_err());
    assert!(cache.get(&unknown_id(2)).await.is_err());
}

#[tokio::test]
async fn a_store_that_answers_again_replaces_the_stale_record() {
    let (cache, store, clock) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();
    store.fault_all(Fault::Error);
    clock.advance(Duration::from_secs(31));
    cache.get(&record.id).await.unwrap();

    // Revoked meanwhile by another instance; once the store answers, that is what counts.
    store.clear_faults();
    revoke(store.inner(), &record).await.unwrap();
    clock.advance(Duration::from_secs(1));
    assert_eq!(cache.get(&record.id).await.unwrap(), Some(revoked(&record)));
}

#[tokio::test]
async fn an_invalidated_record_is_not_served_stale() {
    let (cache, store, clock) = setup();
    let record = record("org_1", "CI", at(1_700_000_000, 0));
    store.insert(&record, None).await.unwrap();
    cache.get(&record.id).await.unwrap();
    cache.invalidate_all();
    store.fault_all(Fault::Error);
    clock.advance(Duration::from_secs(31));
    assert!(cache.get(&record.id).await.is_err());
}
