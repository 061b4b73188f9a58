//! An organization's keys: only its own, newest first.

use super::{
    calls::{insert, list, list_page},
    compare::assert_same_records,
    fixtures::{at, id, position, record},
    pages::all_pages,
    reopen::StoreUnderTest,
};

/// `list` returns exactly the organization's records, newest first, ties by id in byte order.
pub async fn list_is_per_organization_and_newest_first(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "list_is_per_organization_and_newest_first";
    let old = record("org_a", "old", at(1_700_000_000, 0));
    let new = record("org_a", "new", at(1_700_000_100, 0));
    let middle = record("org_a", "middle", at(1_700_000_050, 999_999));
    // Same creation time: the larger id in byte order comes first, whatever the locale.
    let mut tie_lower = record("org_a", "tie lower", at(1_700_000_075, 0));
    tie_lower.id = id("aaaaaaaaaaaa");
    let mut tie_upper = record("org_a", "tie upper", at(1_700_000_075, 0));
    tie_upper.id = id("BBBBBBBBBBBB");
    let other = record("org_b", "other", at(1_700_000_200, 0));
    let prefix = record("org_a_suffix", "prefix", at(1_700_000_300, 0));
    for record in [&old, &new, &tie_upper, &other, &middle, &tie_lower, &prefix] {
        assert!(insert(&store, record).await);
    }

    let org_a = [new, tie_lower, tie_upper, middle, old];
    let when = format!("{BEHAVIOUR}, org_a's keys, newest first");
    assert_same_records(&when, &org_a, &list(&store, "org_a").await);
    assert_same_records(BEHAVIOUR, &[other], &list(&store, "org_b").await);
    assert_same_records(BEHAVIOUR, &[], &list(&store, "org_c").await);
    let when = format!("{BEHAVIOUR}, organization ids are case-sensitive");
    assert_same_records(&when, &[], &list(&store, "ORG_A").await);
}

/// Pages hold only the organization's records: never another's, not one whose id is a prefix
/// or differs only in case.
pub async fn list_page_is_per_organization(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "list_page_is_per_organization";
    let mut ours = Vec::new();
    for (n, organization) in ["org_a", "org_b", "org_a_suffix", "ORG_A", "org_a", "org"]
        .into_iter()
        .enumerate()
    {
        let record = record(
            organization,
            &format!("key {n}"),
            at(1_700_000_000 + n as u64, 0),
        );
        assert!(insert(&store, &record).await);
        if organization == "org_a" {
            ours.insert(0, record);
        }
    }
    for limit in [1, 2, 10] {
        let when = format!("{BEHAVIOUR}, pages of {limit} of org_a");
        assert_same_records(&when, &ours, &all_pages(&store, "org_a", limit).await);
    }
    let when = format!("{BEHAVIOUR}, an organization without keys");
    assert_same_records(&when, &[], &list_page(&store, "org_c", None, 10).await);
    let after = position(at(1_800_000_000, 0), "zzzzzzzzzzzz");
    let page = list_page(&store, "org_c", Some(&after), 10).await;
    assert_same_records(&when, &[], &page);
}
