//! Keyset pages of an organization's keys: each continues strictly after a position in list
//! order.

use std::time::{Duration, UNIX_EPOCH};

use super::{
    calls::{insert, list, list_page},
    compare::assert_same_records,
    fixtures::{at, cursor_after, id, ids, position, record},
    reopen::StoreUnderTest,
};
use crate::{record::KeyRecord, store::ListCursor};

/// Every page of `limit` records, following each page from its last record, until one is short.
pub(super) async fn all_pages(
    store: &impl StoreUnderTest,
    organization: &str,
    limit: usize,
) -> Vec<KeyRecord> {
    let mut listed: Vec<KeyRecord> = Vec::new();
    loop {
        let after = listed.last().map(cursor_after);
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

/// Pages of every size, each following the last record of the one before, concatenate to
/// exactly `list`: no record lost or repeated at a page boundary, ties in `created_at` included.
pub async fn list_pages_of_every_size_concatenate_to_list(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "list_pages_of_every_size_concatenate_to_list";
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
    assert_eq!(listed.len(), 8, "{BEHAVIOUR}: org_a's keys");
    for limit in 1..=listed.len() + 1 {
        let pages = all_pages(&store, "org_a", limit).await;
        let when = format!("{BEHAVIOUR}, pages of {limit} put together against `list`");
        assert_same_records(&when, &listed, &pages);
    }
}

/// Keys created in the same microsecond follow each other by id, descending in byte order
/// (`"z" > "a" > "Z" > "0"`), across page boundaries too.
pub async fn list_page_orders_ties_by_id_across_page_boundaries(store: impl StoreUnderTest) {
    let tie = at(1_700_000_100, 7);
    let mut expected = vec![record("org_a", "newer", at(1_700_000_100, 8))];
    for (n, text) in [
        "zzzzzzzzzzzz",
        "aaaaaaaaaaaa",
        "ZZZZZZZZZZZZ",
        "000000000000",
    ]
    .into_iter()
    .enumerate()
    {
        let mut tied = record("org_a", &format!("tied {n}"), tie);
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
pub async fn list_page_continues_after_a_position_of_no_key(store: impl StoreUnderTest) {
    let old = record("org_a", "old", at(1_700_000_100, 0));
    let mut middle = record("org_a", "middle", at(1_700_000_200, 0));
    middle.id = id("mmmmmmmmmmmm");
    let new = record("org_a", "new", at(1_700_000_300, 0));
    for record in [&old, &middle, &new] {
        assert!(insert(&store, record).await);
    }
    let page = |after: ListCursor| {
        let store = &store;
        async move { ids(&list_page(store, "org_a", Some(&after), 10).await) }
    };
    // Between two keys, whatever the id.
    assert_eq!(
        page(position(at(1_700_000_250, 0), "zzzzzzzzzzzz")).await,
        vec![middle.id, old.id]
    );
    // In the same microsecond as a key: the id decides.
    let same = middle.created_at;
    assert_eq!(
        page(position(same, "nnnnnnnnnnnn")).await,
        vec![middle.id, old.id]
    );
    assert_eq!(page(position(same, "llllllllllll")).await, vec![old.id]);
    // The position of a key of another organization is only a place in the order.
    let theirs = record("org_b", "theirs", at(1_700_000_150, 0));
    assert!(insert(&store, &theirs).await);
    assert_eq!(page(cursor_after(&theirs)).await, vec![old.id]);
    // After the last key, nothing.
    assert!(page(cursor_after(&old)).await.is_empty());
}

/// A cursor far before or after every key gives a page, not an error: nothing after one earlier
/// than every key, everything after one later, even beyond what a database's timestamps hold.
/// (A [`ListCursor`] holds no time beyond a 64-bit count of microseconds.)
pub async fn list_page_after_a_position_far_in_the_past_or_future(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "list_page_after_a_position_far_in_the_past_or_future";
    const YEAR: u64 = 365 * 86_400;
    let kept = record("org_a", "kept", at(1_700_000_000, 0));
    assert!(insert(&store, &kept).await);
    let everything = std::slice::from_ref(&kept);
    // 7,000 years before 1970, earlier than some databases' timestamps reach, and 200,000
    // years after.
    let near = Duration::from_secs(7_000 * YEAR);
    if let Some(past) = UNIX_EPOCH.checked_sub(near) {
        let after = position(past, "zzzzzzzzzzzz");
        let page = list_page(&store, "org_a", Some(&after), 10).await;
        let when = format!("{BEHAVIOUR}, after {after:?}");
        assert_same_records(&when, &[], &page);
    }
    let far = Duration::from_secs(200_000 * YEAR);
    if let Some(future) = UNIX_EPOCH.checked_add(far) {
        let after = position(future, "000000000000");
        let page = list_page(&store, "org_a", Some(&after), 10).await;
        let when = format!("{BEHAVIOUR}, after {after:?}");
        assert_same_records(&when, everything, &page);
    }
}

/// A limit of `0` answers no record, a limit beyond every count answers them all.
pub async fn list_page_limit_zero_is_empty_and_a_huge_limit_is_everything(
    store: impl StoreUnderTest,
) {
    const BEHAVIOUR: &str = "list_page_limit_zero_is_empty_and_a_huge_limit_is_everything";
    let first = record("org_a", "first", at(1_700_000_000, 0));
    let second = record("org_a", "second", at(1_700_000_001, 0));
    for record in [&first, &second] {
        assert!(insert(&store, record).await);
    }
    let after = cursor_after(&second);
    let when = format!("{BEHAVIOUR}, a limit of 0");
    assert_same_records(&when, &[], &list_page(&store, "org_a", None, 0).await);
    let page = list_page(&store, "org_a", Some(&after), 0).await;
    assert_same_records(&when, &[], &page);
    let when = format!("{BEHAVIOUR}, a limit of usize::MAX");
    let page = list_page(&store, "org_a", None, usize::MAX).await;
    assert_same_records(&when, &[second, first.clone()], &page);
    let page = list_page(&store, "org_a", Some(&after), usize::MAX).await;
    assert_same_records(&when, &[first], &page);
}
