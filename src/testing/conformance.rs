//! The behaviours every [`KeyStore`] must show, one function each.
//!
//! [`key_store_conformance!`](crate::key_store_conformance) runs all of them, each as a test of
//! its own on a fresh store; call one directly to look at a single behaviour. Each panics, with
//! what it expected, when the store misbehaves.
//!
//! Every function takes an empty store. Records use times in whole microseconds between 1969 and
//! 2400: what every store must keep exactly.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    AuthError, Authenticator, KeyChanges, KeyDigest, KeyFormat, KeyId, KeyManager, KeyRecord,
    KeyStore, KeyUsage, NewKey, OrganizationId, Permission, PreviousSecret,
    rate_limit::{MAX_RATE_LIMIT_REQUESTS, MAX_RATE_LIMIT_WINDOW, RateLimit},
    store::{ActiveKeyLimit, CachedLookup, Inserted, ListPosition},
    testing::ManualClock,
};

/// Whole microseconds after the Unix epoch.
fn at(seconds: u64, micros: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(seconds, micros * 1_000)
}

fn record(organization: &str, name: &str, created_at: SystemTime) -> KeyRecord {
    let key = KeyFormat::default()
        .generate()
        .unwrap_or_else(|error| panic!("no randomness: {error}"));
    KeyRecord::new(
        key.id(),
        OrganizationId::from(organization),
        name,
        Permission::ReadOnly,
        key.digest(),
        created_at,
    )
}

fn digest(byte: u8) -> KeyDigest {
    KeyDigest::from_bytes([byte; 32])
}

fn rate_limit(requests: u32, per_seconds: u32) -> RateLimit {
    RateLimit::new(requests, per_seconds)
        .unwrap_or_else(|error| panic!("{requests} per {per_seconds} s: {error}"))
}

fn id(text: &str) -> KeyId {
    text.parse()
        .unwrap_or_else(|_| panic!("{text} is not a key id"))
}

fn ids(records: &[KeyRecord]) -> Vec<KeyId> {
    records.iter().map(|record| record.id).collect()
}

/// Unwraps an answer, naming the call that failed.
fn ok<T, E: std::fmt::Display>(answer: Result<T, E>, call: &str) -> T {
    answer.unwrap_or_else(|error| panic!("`{call}` failed: {error}"))
}

async fn get(store: &impl KeyStore, id: &KeyId) -> Option<KeyRecord> {
    ok(store.get(id).await, "get")
}

async fn list(store: &impl KeyStore, organization: &str) -> Vec<KeyRecord> {
    ok(
        store.list(&OrganizationId::from(organization)).await,
        "list",
    )
}

async fn list_page(
    store: &impl KeyStore,
    organization: &str,
    after: Option<&ListPosition>,
    limit: usize,
) -> Vec<KeyRecord> {
    let organization = OrganizationId::from(organization);
    ok(
        store.list_page(&organization, after, limit).await,
        "list_page",
    )
}

/// Every page of `limit` records, following each page from its last record, until one is short.
async fn all_pages(store: &impl KeyStore, organization: &str, limit: usize) -> Vec<KeyRecord> {
    let mut listed: Vec<KeyRecord> = Vec::new();
    loop {
        let after = listed.last().map(ListPosition::from);
        let page = list_page(store, organization, after.as_ref(), limit).await;
        assert!(
            page.len() <= limit,
            "a page of limit {limit} held {} records",
            page.len()
        );
        let full = page.len() == limit;
        // A page that repeats or goes back would page forever.
        if let (Some(after), Some(first)) = (after, page.first()) {
            assert!(
                after.precedes(first),
                "a page of limit {limit} after {after:?} starts with {:?}, not after it",
                first.id
            );
        }
        listed.extend(page);
        if !full {
            return listed;
        }
    }
}

/// A position at `created_at` with the id `text`.
fn position(created_at: SystemTime, text: &str) -> ListPosition {
    ListPosition {
        created_at,
        id: id(text),
    }
}

async fn insert(store: &impl KeyStore, record: &KeyRecord) -> bool {
    ok(store.insert(record).await, "insert")
}

async fn update(store: &impl KeyStore, record: &KeyRecord, expected_revision: u64) -> bool {
    ok(store.update(record, expected_revision).await, "update")
}

async fn insert_within(
    store: &impl KeyStore,
    record: &KeyRecord,
    limit: ActiveKeyLimit,
) -> Inserted {
    ok(store.insert_within(record, limit).await, "insert_within")
}

async fn record_usage(store: &impl KeyStore, usage: &[KeyUsage]) {
    ok(store.record_usage(usage).await, "record_usage");
}

/// `insert` then `get` returns the record unchanged, with a rate limit or without.
pub async fn insert_then_get_returns_the_same_record(store: impl KeyStore) {
    let plain = record("org_a", "CI", at(1_700_000_000, 123_456));
    let mut limited = record("org_a", "limited", at(1_700_000_001, 0));
    limited.rate_limit = Some(rate_limit(600, 60));
    for record in [plain, limited] {
        assert!(insert(&store, &record).await, "insert of a new id");
        assert_eq!(get(&store, &record.id).await, Some(record));
    }
}

/// `get` of an id never inserted is `None`, not an error.
pub async fn get_of_an_unknown_id_is_none(store: impl KeyStore) {
    assert_eq!(get(&store, &id("unknownKey00")).await, None);
    insert(&store, &record("org_a", "CI", at(1_700_000_000, 0))).await;
    assert_eq!(get(&store, &id("unknownKey00")).await, None);
}

/// `insert` of an existing id answers `false` and changes nothing.
pub async fn duplicate_id_is_refused_without_overwriting(store: impl KeyStore) {
    let original = record("org_a", "original", at(1_700_000_000, 1));
    assert!(insert(&store, &original).await);
    let mut impostor = original.clone();
    impostor.organization = OrganizationId::from("org_b");
    impostor.name = "impostor".into();
    impostor.permission = Permission::FullAccess;
    impostor.digest = digest(9);
    assert!(
        !insert(&store, &impostor).await,
        "a second insert of one id must answer false"
    );
    assert_eq!(get(&store, &original.id).await, Some(original));
    assert!(list(&store, "org_b").await.is_empty());
}

/// `list` returns exactly the organization's records, newest first, ties by id in byte order.
pub async fn list_is_per_organization_and_newest_first(store: impl KeyStore) {
    let old = record("org_a", "old", at(1_700_000_000, 0));
    let new = record("org_a", "new", at(1_700_000_100, 0));
    let middle = record("org_a", "middle", at(1_700_000_050, 999_999));
    // Same creation time: the larger id in byte order comes first, whatever the locale.
    let mut tie_lower = record("org_a", "tie", at(1_700_000_075, 0));
    tie_lower.id = id("aaaaaaaaaaaa");
    let mut tie_upper = record("org_a", "tie", at(1_700_000_075, 0));
    tie_upper.id = id("BBBBBBBBBBBB");
    let other = record("org_b", "other", at(1_700_000_200, 0));
    let prefix = record("org_a_suffix", "prefix", at(1_700_000_300, 0));
    for record in [&old, &new, &tie_upper, &other, &middle, &tie_lower, &prefix] {
        assert!(insert(&store, record).await);
    }

    let listed = list(&store, "org_a").await;
    assert_eq!(
        ids(&listed),
        vec![new.id, tie_lower.id, tie_upper.id, middle.id, old.id],
        "org_a's keys, newest first"
    );
    assert_eq!(listed[0], new);
    assert_eq!(list(&store, "org_b").await, vec![other]);
    assert!(list(&store, "org_c").await.is_empty());
    assert!(
        list(&store, "ORG_A").await.is_empty(),
        "ids are case-sensitive"
    );
}

/// Pages of every size, each following the last record of the one before, concatenate to
/// exactly `list`: no record lost or repeated at a page boundary, ties in `created_at` included.
pub async fn list_pages_of_every_size_concatenate_to_list(store: impl KeyStore) {
    let mut records = Vec::new();
    for (n, seconds) in [100, 300, 200, 200, 200, 50, 300, 400]
        .into_iter()
        .enumerate()
    {
        let created_at = at(1_700_000_000 + seconds, (n % 2) as u32);
        records.push(record("org_a", &format!("key {n}"), created_at));
    }
    for organization in ["org_b", "org_a_suffix"] {
        records.push(record(organization, "other", at(1_700_000_250, 0)));
    }
    for record in &records {
        assert!(insert(&store, record).await);
    }
    let listed = list(&store, "org_a").await;
    assert_eq!(listed.len(), 8);
    for limit in 1..=listed.len() + 1 {
        assert_eq!(
            all_pages(&store, "org_a", limit).await,
            listed,
            "pages of {limit}, put together, must be `list`"
        );
    }
}

/// Keys created in the same microsecond follow each other by id, descending in byte order
/// (`"z" > "a" > "Z" > "0"`), across page boundaries too.
pub async fn list_page_orders_ties_by_id_across_page_boundaries(store: impl KeyStore) {
    let tie = at(1_700_000_100, 7);
    let mut expected = vec![record("org_a", "newer", at(1_700_000_100, 8))];
    for text in [
        "zzzzzzzzzzzz",
        "aaaaaaaaaaaa",
        "ZZZZZZZZZZZZ",
        "000000000000",
    ] {
        let mut tied = record("org_a", "tied", tie);
        tied.id = id(text);
        expected.push(tied);
    }
    expected.push(record("org_a", "older", at(1_700_000_100, 6)));
    // Inserted in an order that is neither the list's nor its reverse.
    for n in [3, 0, 5, 1, 4, 2] {
        assert!(insert(&store, &expected[n]).await);
    }
    for limit in [1, 2, 3] {
        assert_eq!(
            ids(&all_pages(&store, "org_a", limit).await),
            ids(&expected),
            "pages of {limit}: newest first, ties by id descending in byte order"
        );
    }
    let after_tie = list_page(&store, "org_a", Some(&position(tie, "aaaaaaaaaaaa")), 10).await;
    assert_eq!(ids(&after_tie), ids(&expected[3..]));
}

/// A position need not name a stored key: a page follows any place in the list order, to the
/// microsecond.
pub async fn list_page_continues_after_a_position_of_no_key(store: impl KeyStore) {
    let old = record("org_a", "old", at(1_700_000_100, 0));
    let mut middle = record("org_a", "middle", at(1_700_000_200, 0));
    middle.id = id("mmmmmmmmmmmm");
    let new = record("org_a", "new", at(1_700_000_300, 0));
    for record in [&old, &middle, &new] {
        assert!(insert(&store, record).await);
    }
    let page = |after: ListPosition| {
        let store = &store;
        async move { ids(&list_page(store, "org_a", Some(&after), 10).await) }
    };
    // Between two keys, whatever the id.
    assert_eq!(
        page(position(at(1_700_000_250, 0), "zzzzzzzzzzzz")).await,
        ids(&[middle.clone(), old.clone()])
    );
    // In the same microsecond as a key: the id decides.
    let same = middle.created_at;
    assert_eq!(
        page(position(same, "nnnnnnnnnnnn")).await,
        ids(&[middle.clone(), old.clone()])
    );
    assert_eq!(page(position(same, "llllllllllll")).await, vec![old.id]);
    // The position of a key of another organization is only a place in the order.
    let theirs = record("org_b", "theirs", at(1_700_000_150, 0));
    assert!(insert(&store, &theirs).await);
    assert_eq!(page(ListPosition::from(&theirs)).await, vec![old.id]);
    // After the last key, nothing.
    assert!(page(ListPosition::from(&old)).await.is_empty());
}

/// A position far before or after every key gives a page, not an error: nothing after one
/// earlier than every key, everything after one later, even beyond what a database's timestamps
/// or a 64-bit count of microseconds hold.
pub async fn list_page_after_a_position_far_in_the_past_or_future(store: impl KeyStore) {
    let kept = record("org_a", "kept", at(1_700_000_000, 0));
    assert!(insert(&store, &kept).await);
    const YEAR: u64 = 365 * 86_400;
    // 7,000 years before 1970, earlier than some databases' timestamps reach, and 200,000
    // years after.
    let past = UNIX_EPOCH - Duration::from_secs(7_000 * YEAR);
    let future = UNIX_EPOCH + Duration::from_secs(200_000 * YEAR);
    assert!(
        list_page(&store, "org_a", Some(&position(past, "zzzzzzzzzzzz")), 10)
            .await
            .is_empty()
    );
    assert_eq!(
        list_page(&store, "org_a", Some(&position(future, "000000000000")), 10).await,
        vec![kept.clone()]
    );
    // Beyond what a 64-bit count of microseconds holds, where the platform's time reaches.
    let beyond = Duration::from_secs(400_000 * YEAR);
    if let Some(past) = UNIX_EPOCH.checked_sub(beyond) {
        let after = position(past, "zzzzzzzzzzzz");
        assert!(
            list_page(&store, "org_a", Some(&after), 10)
                .await
                .is_empty()
        );
    }
    if let Some(future) = UNIX_EPOCH.checked_add(beyond) {
        let after = position(future, "000000000000");
        assert_eq!(
            list_page(&store, "org_a", Some(&after), 10).await,
            vec![kept]
        );
    }
}

/// A limit of `0` answers no record, a limit beyond every count answers them all.
pub async fn list_page_limit_zero_is_empty_and_a_huge_limit_is_everything(store: impl KeyStore) {
    let first = record("org_a", "first", at(1_700_000_000, 0));
    let second = record("org_a", "second", at(1_700_000_001, 0));
    for record in [&first, &second] {
        assert!(insert(&store, record).await);
    }
    assert!(list_page(&store, "org_a", None, 0).await.is_empty());
    let after = ListPosition::from(&second);
    assert!(list_page(&store, "org_a", Some(&after), 0).await.is_empty());
    assert_eq!(
        list_page(&store, "org_a", None, usize::MAX).await,
        vec![second, first.clone()]
    );
    assert_eq!(
        list_page(&store, "org_a", Some(&after), usize::MAX).await,
        vec![first]
    );
}

/// Pages hold only the organization's records: never another's, not one whose id is a prefix
/// or differs only in case.
pub async fn list_page_is_per_organization(store: impl KeyStore) {
    let mut ours = Vec::new();
    for (n, organization) in ["org_a", "org_b", "org_a_suffix", "ORG_A", "org_a", "org"]
        .into_iter()
        .enumerate()
    {
        let record = record(organization, "key", at(1_700_000_000 + n as u64, 0));
        assert!(insert(&store, &record).await);
        if organization == "org_a" {
            ours.insert(0, record);
        }
    }
    for limit in [1, 2, 10] {
        assert_eq!(all_pages(&store, "org_a", limit).await, ours);
    }
    assert!(list_page(&store, "org_c", None, 10).await.is_empty());
    let after = position(at(1_800_000_000, 0), "zzzzzzzzzzzz");
    assert!(
        list_page(&store, "org_c", Some(&after), 10)
            .await
            .is_empty()
    );
}

/// `update` writes every field and the revision, but keeps the stored `last_used_at`; it sets
/// optional fields (the rate limit among them) and clears them.
pub async fn update_writes_everything_but_last_used_at(store: impl KeyStore) {
    let original = record("org_a", "before", at(1_700_000_000, 0));
    insert(&store, &original).await;
    let used_at = at(1_700_000_500, 7);
    record_usage(
        &store,
        &[KeyUsage {
            id: original.id,
            used_at,
        }],
    )
    .await;

    let mut changed = original.next_revision();
    changed.organization = OrganizationId::from("org_b");
    changed.name = "after".into();
    changed.permission = Permission::FullAccess;
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
    assert!(update(&store, &changed, original.revision).await);
    let mut expected = changed.clone();
    expected.last_used_at = Some(used_at);
    assert_eq!(get(&store, &original.id).await, Some(expected));
    assert_eq!(ids(&list(&store, "org_b").await), vec![original.id]);
    assert!(list(&store, "org_a").await.is_empty());

    // Clearing optional fields clears them too.
    let mut cleared = changed.next_revision();
    cleared.previous = None;
    cleared.expires_at = None;
    cleared.rate_limit = None;
    cleared.revoked_at = None;
    assert!(update(&store, &cleared, changed.revision).await);
    let mut expected = cleared;
    expected.last_used_at = Some(used_at);
    assert_eq!(get(&store, &original.id).await, Some(expected));
}

/// `update` of an id that does not exist answers `false` and creates nothing.
pub async fn update_of_an_unknown_id_changes_nothing(store: impl KeyStore) {
    let ghost = record("org_a", "ghost", at(1_700_000_000, 0));
    assert!(!update(&store, &ghost.next_revision(), ghost.revision).await);
    assert_eq!(get(&store, &ghost.id).await, None);
    assert!(list(&store, "org_a").await.is_empty());
}

/// `update` at a revision other than the stored one answers `false` and changes nothing: the
/// second of two writers that read the same record loses.
pub async fn update_at_a_stale_revision_is_refused(store: impl KeyStore) {
    let original = record("org_a", "CI", at(1_700_000_000, 5));
    insert(&store, &original).await;
    let read = get(&store, &original.id)
        .await
        .unwrap_or_else(|| panic!("inserted"));

    let mut revoked = read.next_revision();
    revoked.revoked_at = Some(at(1_700_000_200, 0));
    let mut regenerated = read.next_revision();
    regenerated.digest = digest(9);

    assert!(update(&store, &revoked, read.revision).await);
    assert!(
        !update(&store, &regenerated, read.revision).await,
        "an update at a stale revision must answer false"
    );
    let stored = get(&store, &original.id)
        .await
        .unwrap_or_else(|| panic!("kept"));
    assert_eq!(stored, revoked, "the first writer's change stays");

    // From the revision stored now, it wins; a revision from the future loses too.
    let mut regenerated = stored.next_revision();
    regenerated.digest = digest(9);
    assert!(!update(&store, &regenerated, stored.revision + 1).await);
    assert!(update(&store, &regenerated, stored.revision).await);
    assert_eq!(get(&store, &original.id).await, Some(regenerated));
}

/// `update` is one atomic compare-and-swap: 32 tasks incrementing one record, each retrying
/// until its write lands, lose no increment.
pub async fn update_is_atomic_under_concurrent_writers(store: impl KeyStore) {
    const WRITERS: u64 = 32;
    const INCREMENTS: u64 = 5;
    let store = Arc::new(store);
    let counter = record("org_a", "0", at(1_700_000_000, 0));
    insert(&*store, &counter).await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut landed = 0;
                while landed < INCREMENTS {
                    let current = get(&*store, &counter.id)
                        .await
                        .unwrap_or_else(|| panic!("kept"));
                    let mut next = current.next_revision();
                    let count: u64 = current.name.parse().unwrap_or_else(|_| panic!("a count"));
                    next.name = (count + 1).to_string();
                    if update(&*store, &next, current.revision).await {
                        landed += 1;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
    }
    let stored = get(&*store, &counter.id)
        .await
        .unwrap_or_else(|| panic!("kept"));
    let total = WRITERS * INCREMENTS;
    assert_eq!(
        (stored.name.as_str(), stored.revision),
        (total.to_string().as_str(), total),
        "every successful update must apply on top of the previous one"
    );
}

/// `insert_within` counts only the organization's active keys at `limit.at`: revoked keys,
/// keys expired by then (a key expiring exactly at `limit.at` included) and other organizations'
/// keys do not count. `LimitReached` and `IdTaken` change nothing.
pub async fn insert_within_counts_only_active_keys_of_the_organization(store: impl KeyStore) {
    let now = at(1_750_000_000, 500_000);
    let limit = ActiveKeyLimit { max: 3, at: now };
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
    let others = [
        record("org_b", "other", created_at),
        record("org_b", "other", created_at),
        record("org_b", "other", created_at),
        record("org_a_suffix", "prefix", created_at),
    ];
    let org_a = [
        &revoked,
        &expired,
        &expiring_now,
        &expiring_later,
        &open_ended,
    ];
    for record in org_a.into_iter().chain(&others) {
        assert!(insert(&store, record).await);
    }

    // Active: expiring later and open-ended. Room for one more.
    let mut third = record("org_a", "third", at(1_750_000_000, 0));
    third.rate_limit = Some(rate_limit(5, 1));
    assert_eq!(
        insert_within(&store, &third, limit).await,
        Inserted::Stored,
        "two of org_a's keys are active at `limit.at`, the maximum is three"
    );
    assert_eq!(get(&store, &third.id).await, Some(third.clone()));
    let before = list(&store, "org_a").await;
    let fourth = record("org_a", "fourth", at(1_750_000_000, 1));
    assert_eq!(
        insert_within(&store, &fourth, limit).await,
        Inserted::LimitReached,
        "three of org_a's keys are active, a key expiring after `limit.at` included"
    );
    assert_eq!(get(&store, &fourth.id).await, None);
    assert_eq!(list(&store, "org_a").await, before);

    // An existing id is `IdTaken`, whether its organization is full or empty.
    for organization in ["org_a", "org_c"] {
        let mut impostor = record(organization, "impostor", at(1_750_000_000, 2));
        impostor.id = third.id;
        assert_eq!(
            insert_within(&store, &impostor, limit).await,
            Inserted::IdTaken
        );
    }
    assert_eq!(get(&store, &third.id).await, Some(third.clone()));
    assert!(list(&store, "org_c").await.is_empty());

    // A revocation frees its slot; no room at all is no room.
    let mut revoked_third = third.next_revision();
    revoked_third.revoked_at = Some(now);
    assert!(update(&store, &revoked_third, third.revision).await);
    assert_eq!(
        insert_within(&store, &fourth, limit).await,
        Inserted::Stored
    );
    let closed = ActiveKeyLimit { max: 0, at: now };
    let nowhere = record("org_d", "nowhere", created_at);
    assert_eq!(
        insert_within(&store, &nowhere, closed).await,
        Inserted::LimitReached
    );
    assert!(list(&store, "org_d").await.is_empty());
}

/// `insert_within` counts and inserts in one atomic step: 32 tasks inserting a key of one
/// organization at once, with room for 5, store exactly 5.
pub async fn insert_within_is_atomic_under_concurrent_writers(store: impl KeyStore) {
    const WRITERS: usize = 32;
    const MAX: u32 = 5;
    let store = Arc::new(store);
    let start = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let limit = ActiveKeyLimit {
        max: MAX,
        at: at(1_750_000_000, 0),
    };
    let tasks: Vec<_> = (0..WRITERS)
        .map(|task| {
            let (store, start) = (Arc::clone(&store), Arc::clone(&start));
            let key = record("org_a", &format!("task {task}"), at(1_700_000_000, 0));
            tokio::spawn(async move {
                start.wait().await;
                insert_within(&*store, &key, limit).await
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        let inserted = task
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
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
    assert_eq!(list(&*store, "org_a").await.len(), MAX as usize);
}

/// `record_usage` moves `last_used_at` forward only, skips unknown ids and changes nothing else.
pub async fn record_usage_moves_last_used_forward_only(store: impl KeyStore) {
    let mut first = record("org_a", "first", at(1_700_000_000, 0));
    first.rate_limit = Some(rate_limit(100, 3_600));
    let second = record("org_a", "second", at(1_700_000_000, 1));
    let never = record("org_a", "never", at(1_700_000_000, 2));
    for record in [&first, &second, &never] {
        insert(&store, record).await;
    }
    record_usage(&store, &[]).await;

    let use_ = |id, used_at| KeyUsage { id, used_at };
    record_usage(
        &store,
        &[
            use_(first.id, at(1_700_000_100, 0)),
            use_(id("unknownKey00"), at(1_700_000_100, 0)),
            // The same key twice in one batch: the later use wins, in either order.
            use_(second.id, at(1_700_000_300, 5)),
            use_(second.id, at(1_700_000_200, 0)),
        ],
    )
    .await;
    let last_used = |record: Option<KeyRecord>| record.and_then(|record| record.last_used_at);
    assert_eq!(
        last_used(get(&store, &first.id).await),
        Some(at(1_700_000_100, 0))
    );
    assert_eq!(
        last_used(get(&store, &second.id).await),
        Some(at(1_700_000_300, 5))
    );
    assert_eq!(last_used(get(&store, &never.id).await), None);
    assert_eq!(get(&store, &id("unknownKey00")).await, None);

    // An older flush (a slow instance) does not move it back; a newer one moves it on.
    record_usage(
        &store,
        &[
            use_(first.id, at(1_700_000_050, 0)),
            use_(second.id, at(1_700_000_400, 0)),
        ],
    )
    .await;
    assert_eq!(
        last_used(get(&store, &first.id).await),
        Some(at(1_700_000_100, 0))
    );
    assert_eq!(
        last_used(get(&store, &second.id).await),
        Some(at(1_700_000_400, 0))
    );
    // Nothing but last_used_at changed, not the revision either.
    let mut expected = first;
    expected.last_used_at = Some(at(1_700_000_100, 0));
    assert_eq!(get(&store, &expected.id).await, Some(expected));
}

/// Every field, at the edges of what it can hold, comes back exactly: digests, microseconds on
/// both sides of 1970, far-future expiries, large revisions.
pub async fn every_field_round_trips_exactly(store: impl KeyStore) {
    let mut digest_bytes = [0u8; 32];
    for (byte, value) in digest_bytes.iter_mut().zip((0u8..).step_by(8)) {
        *byte = value;
    }
    let mut full = record("org_full", "every field", at(1_700_000_000, 1));
    full.id = id("Zz09aZxbYc12");
    full.permission = Permission::FullAccess;
    full.digest = KeyDigest::from_bytes(digest_bytes);
    full.previous = Some(Box::new(PreviousSecret {
        digest: digest(0xff),
        valid_until: at(1_700_086_400, 999_999),
    }));
    // Far from today on both sides: year 2400, and 1969.
    full.expires_at = Some(at(13_569_465_600, 500_000));
    full.rate_limit = Some(rate_limit(MAX_RATE_LIMIT_REQUESTS, MAX_RATE_LIMIT_WINDOW));
    full.revoked_at = Some(UNIX_EPOCH - Duration::from_micros(86_400_000_001));
    full.last_used_at = Some(at(1_700_000_123, 456_789));
    full.revision = 1 << 40;
    let plain = record("org_full", "no optional field", at(0, 0));
    let mut smallest = record("org_full", "the smallest limit", at(0, 1));
    smallest.rate_limit = Some(rate_limit(1, 1));
    for record in [&full, &plain, &smallest] {
        assert!(insert(&store, record).await);
        assert_eq!(get(&store, &record.id).await.as_ref(), Some(record));
    }
    assert_eq!(list(&store, "org_full").await, vec![full, smallest, plain]);
}

/// Times keep every microsecond, in every field and through every write.
pub async fn times_keep_every_microsecond(store: impl KeyStore) {
    for (n, micros) in [1, 999, 1_001, 123_457, 999_999].into_iter().enumerate() {
        let time = at(1_750_000_000 + n as u64, micros);
        let mut record = record("org_time", "micro", time);
        record.expires_at = Some(time);
        insert(&store, &record).await;
        assert_eq!(
            get(&store, &record.id).await,
            Some(record.clone()),
            "{micros} µs"
        );

        let mut next = record.next_revision();
        next.revoked_at = Some(time + Duration::from_micros(1));
        next.previous = Some(Box::new(PreviousSecret {
            digest: digest(1),
            valid_until: time + Duration::from_micros(3),
        }));
        assert!(update(&store, &next, record.revision).await);
        record_usage(
            &store,
            &[KeyUsage {
                id: record.id,
                used_at: time + Duration::from_micros(2),
            }],
        )
        .await;
        next.last_used_at = Some(time + Duration::from_micros(2));
        assert_eq!(get(&store, &record.id).await, Some(next), "{micros} µs");
    }
}

/// Names and organizations with quotes, SQL and any Unicode are kept as text, not code.
pub async fn names_with_quotes_and_unicode_round_trip(store: impl KeyStore) {
    let organization = "org'; DROP TABLE formbox_api_keys; --";
    let mut odd = record(organization, "", at(1_700_000_000, 0));
    odd.name = "Zapier's \"integration\" — ключ 🔑 \\ %_".into();
    let empty_name = record(organization, "", at(1_700_000_001, 0));
    assert!(insert(&store, &odd).await);
    assert!(insert(&store, &empty_name).await);
    assert_eq!(get(&store, &odd.id).await, Some(odd.clone()));
    assert_eq!(list(&store, organization).await, vec![empty_name, odd]);
}

/// What `get_cached` answers from memory agrees with `get`.
pub async fn get_cached_agrees_with_get(store: impl KeyStore) {
    let kept = record("org_a", "kept", at(1_700_000_000, 0));
    insert(&store, &kept).await;
    // A cache learns from a read.
    get(&store, &kept.id).await;
    get(&store, &id("unknownKey00")).await;
    for key_id in [kept.id, id("unknownKey00")] {
        let stored = get(&store, &key_id).await;
        match store.get_cached(&key_id) {
            CachedLookup::Found(record) => assert_eq!(Some(&*record), stored.as_ref()),
            CachedLookup::Absent => assert_eq!(stored, None, "answered absent"),
            CachedLookup::Unknown => {}
        }
    }
    // After a write through the store, no stale answer.
    let mut revoked = kept.next_revision();
    revoked.revoked_at = Some(at(1_700_000_001, 0));
    assert!(update(&store, &revoked, kept.revision).await);
    if let CachedLookup::Found(record) = store.get_cached(&kept.id) {
        assert_eq!(*record, revoked, "a cached answer after an update");
    }
}

/// Concurrent inserts, updates and usage writes from 32 tasks all land.
pub async fn many_tasks_insert_and_update_concurrently(store: impl KeyStore) {
    const TASKS: usize = 32;
    const KEYS_PER_TASK: usize = 10;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let organization = format!("org_{}", task % 4);
                let mut records = Vec::new();
                for n in 0..KEYS_PER_TASK {
                    let created_at = at(1_700_000_000 + (task * KEYS_PER_TASK + n) as u64, 0);
                    let record = record(&organization, &format!("task {task} key {n}"), created_at);
                    assert!(insert(&*store, &record).await);
                    records.push(record);
                }
                let used_at = at(1_900_000_000, u32::try_from(task).unwrap_or_default());
                for (n, record) in records.iter_mut().enumerate() {
                    let mut next = record.next_revision();
                    next.name = format!("task {task} key {n} renamed");
                    if n % 2 == 0 {
                        next.revoked_at = Some(at(1_800_000_000, 0));
                    }
                    assert!(update(&*store, &next, record.revision).await);
                    next.last_used_at = Some(used_at);
                    *record = next;
                }
                let usage: Vec<KeyUsage> = records
                    .iter()
                    .map(|record| KeyUsage {
                        id: record.id,
                        used_at,
                    })
                    .collect();
                record_usage(&*store, &usage).await;
                records
            })
        })
        .collect();
    let mut expected = Vec::new();
    for task in tasks {
        let records = task
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        expected.extend(records);
    }
    for record in &expected {
        assert_eq!(get(&*store, &record.id).await.as_ref(), Some(record));
    }
    let mut listed = 0;
    for org in 0..4 {
        let records = list(&*store, &format!("org_{org}")).await;
        assert!(
            records
                .windows(2)
                .all(|w| w[0].created_at > w[1].created_at)
        );
        listed += records.len();
    }
    assert_eq!(listed, TASKS * KEYS_PER_TASK);
}

/// A manager over `store` whose clock stands at a whole microsecond.
fn manager(store: impl KeyStore) -> (KeyManager, ManualClock) {
    let clock = ManualClock::new(at(1_750_000_000, 250_000));
    let authenticator = Authenticator::new(store).with_clock(clock.clone());
    (KeyManager::from_authenticator(authenticator), clock)
}

/// Through the crate: a revoked key is rejected as revoked, from the next request on.
pub async fn revoked_key_is_rejected_after_revocation(store: impl KeyStore) {
    let store = Arc::new(store);
    let (manager, clock) = manager(Arc::clone(&store));
    let org = OrganizationId::from("org_a");
    let created = ok(
        manager
            .create(&org, "to revoke", Permission::FullAccess, None)
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
    let stored = get(&*store, &created.info.id)
        .await
        .unwrap_or_else(|| panic!("kept"));
    assert_eq!(stored.revoked_at, Some(at(1_750_000_010, 250_000)));
    assert_eq!(stored.revision, 1);
}

/// Through the crate: a regenerated key's old secret works only during its grace period.
pub async fn regenerated_key_honours_its_grace_period(store: impl KeyStore) {
    let store = Arc::new(store);
    let (manager, clock) = manager(Arc::clone(&store));
    let org = OrganizationId::from("org_a");
    let created = ok(
        manager
            .create(&org, "to rotate", Permission::ReadOnly, None)
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

    let stored = get(&*store, &created.info.id)
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

async fn stored_rate_limit(store: &impl KeyStore, id: &KeyId) -> Option<RateLimit> {
    let record = get(store, id).await;
    record.unwrap_or_else(|| panic!("kept")).rate_limit
}

/// Through the crate: a key's own rate limit is stored as created, survives a usage flush and a
/// regeneration, and is removed and set again by updates.
pub async fn rate_limit_is_kept_through_every_change_of_a_key(store: impl KeyStore) {
    let store = Arc::new(store);
    let (manager, _clock) = manager(Arc::clone(&store));
    let org = OrganizationId::from("org_a");
    let first = rate_limit(600, 60);
    let key = NewKey::new("limited", Permission::ReadOnly).rate_limit(Some(first));
    let created = ok(manager.create_key(&org, key).await, "create_key");
    let id = created.info.id;
    assert_eq!(stored_rate_limit(&*store, &id).await, Some(first));

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
    ok(manager.flush_usage().await, "record_usage");
    let rotated = ok(manager.regenerate(&org, id, None).await, "regenerate");
    assert_eq!(rotated.info.rate_limit, Some(first));
    assert_eq!(stored_rate_limit(&*store, &id).await, Some(first));

    let removed = ok(
        manager
            .update(&org, id, KeyChanges::new().rate_limit(None))
            .await,
        "update",
    );
    assert_eq!(removed.rate_limit, None);
    assert_eq!(stored_rate_limit(&*store, &id).await, None);
    let second = rate_limit(5, 1);
    let changes = KeyChanges::new().rate_limit(Some(second));
    ok(manager.update(&org, id, changes).await, "update");
    assert_eq!(stored_rate_limit(&*store, &id).await, Some(second));
}

/// Through the crate: a usage flush records when each used key was last used.
pub async fn usage_flush_records_last_used(store: impl KeyStore) {
    let (manager, clock) = manager(store);
    let org = OrganizationId::from("org_a");
    let used = ok(
        manager
            .create(&org, "used", Permission::ReadOnly, None)
            .await,
        "create",
    );
    let idle = ok(
        manager
            .create(&org, "idle", Permission::ReadOnly, None)
            .await,
        "create",
    );
    let auth = manager.authenticator();
    for _ in 0..3 {
        assert!(auth.authenticate(used.key.expose_secret()).await.is_ok());
    }
    clock.advance(Duration::from_secs(60));
    assert_eq!(ok(manager.flush_usage().await, "record_usage"), 1);

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

/// Runs every behaviour of [`conformance`](crate::testing::conformance) against a store, each
/// as a `#[tokio::test]` of its own on a fresh store from the async block.
///
/// ```ignore
/// // tests/my_store.rs of a backend crate, with formbox-auth's `testing` feature and tokio
/// // (features `macros` and `rt-multi-thread`) as dev-dependencies.
/// formbox_auth::key_store_conformance!(async { MyStore::connect().await });
/// ```
///
/// When the store needs something kept alive beside it (a temporary directory, a container),
/// let the block return both and say so; the guard is dropped after the test:
///
/// ```ignore
/// formbox_auth::key_store_conformance!(with_guard: async {
///     let dir = tempfile::tempdir().unwrap();
///     (MyStore::open(dir.path()).await, dir)
/// });
/// ```
///
/// The tests run on a two-thread runtime, so that concurrent writers really race. To run the
/// suite against several stores in one file, call the macro in a module per store.
#[macro_export]
macro_rules! key_store_conformance {
    (@each $fresh:expr; __behaviours__) => {
        $crate::key_store_conformance!(@each $fresh;
            insert_then_get_returns_the_same_record,
            get_of_an_unknown_id_is_none,
            duplicate_id_is_refused_without_overwriting,
            list_is_per_organization_and_newest_first,
            list_pages_of_every_size_concatenate_to_list,
            list_page_orders_ties_by_id_across_page_boundaries,
            list_page_continues_after_a_position_of_no_key,
            list_page_after_a_position_far_in_the_past_or_future,
            list_page_limit_zero_is_empty_and_a_huge_limit_is_everything,
            list_page_is_per_organization,
            update_writes_everything_but_last_used_at,
            update_of_an_unknown_id_changes_nothing,
            update_at_a_stale_revision_is_refused,
            update_is_atomic_under_concurrent_writers,
            insert_within_counts_only_active_keys_of_the_organization,
            insert_within_is_atomic_under_concurrent_writers,
            record_usage_moves_last_used_forward_only,
            every_field_round_trips_exactly,
            times_keep_every_microsecond,
            names_with_quotes_and_unicode_round_trip,
            get_cached_agrees_with_get,
            many_tasks_insert_and_update_concurrently,
            revoked_key_is_rejected_after_revocation,
            regenerated_key_honours_its_grace_period,
            rate_limit_is_kept_through_every_change_of_a_key,
            usage_flush_records_last_used,
        );
    };
    (@each $fresh:expr; $($behaviour:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $behaviour() {
                let (store, _guard) = $fresh.await;
                $crate::testing::conformance::$behaviour(store).await;
            }
        )*
    };
    (with_guard: $fresh:expr) => {
        $crate::key_store_conformance!(@each $fresh; __behaviours__);
    };
    ($fresh:expr) => {
        $crate::key_store_conformance!(with_guard: async { ($fresh.await, ()) });
    };
}
