//! Listing keys a page at a time through the manager: limits, cursors, and what the store is
//! asked.

use crate::common::Fixture;
use std::time::Duration;

use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    Authenticator, KeyId, KeyManager, MemoryStore, OrganizationId, Permission,
    lifecycle::{KeyPage, ManageError},
    store::{InvalidCursor, ListCursor, StoreError},
    testing::{Fault, Method, TestStore},
};

impl Fixture {
    /// Seven keys of the organization, three of them created in the same microsecond, and a key
    /// of another organization among them; returns the ids in list order.
    async fn seven_keys(&self) -> Vec<KeyId> {
        let other = OrganizationId::from("org_b");
        for n in 0..7 {
            if n % 3 == 0 {
                self.clock.advance(Duration::from_secs(1));
            }
            let name = format!("key {n}");
            let created = self
                .manager
                .create(&self.org, NewKey::new(&name, Permission::ReadOnly));
            created.await.unwrap();
            if n == 3 {
                let theirs = self
                    .manager
                    .create(&other, NewKey::new(&name, Permission::ReadOnly));
                theirs.await.unwrap();
            }
        }
        let listed = self.manager.list(&self.org).await.unwrap();
        listed.into_iter().map(|info| info.id).collect()
    }

    /// Every page of `limit`, following cursors: the ids of each page.
    async fn pages(&self, limit: usize) -> Vec<Vec<KeyId>> {
        let mut pages = Vec::new();
        let mut cursor: Option<ListCursor> = None;
        loop {
            let page = self.manager.list_page(&self.org, cursor.as_ref(), limit);
            let page = page.await.unwrap();
            pages.push(page.keys.iter().map(|info| info.id).collect());
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return pages,
            }
        }
    }
}

#[tokio::test]
async fn pages_of_every_limit_hold_each_key_once_in_list_order() {
    let f = Fixture::new();
    let listed = f.seven_keys().await;
    assert_eq!(listed.len(), 7);
    for limit in 1..=8 {
        let pages = f.pages(limit).await;
        assert_eq!(pages.concat(), listed, "limit {limit}");
        assert_eq!(pages.len(), listed.len().div_ceil(limit), "limit {limit}");
        let (last, full) = pages.split_last().unwrap();
        assert!(full.iter().all(|page| page.len() == limit), "limit {limit}");
        assert!(!last.is_empty(), "no empty last page at limit {limit}");
    }
}

#[tokio::test]
async fn a_page_that_ends_the_list_exactly_has_no_next_cursor() {
    let f = Fixture::new();
    f.seven_keys().await;
    let page = f.manager.list_page(&f.org, None, 7).await.unwrap();
    assert_eq!(page.keys.len(), 7);
    assert!(page.next_cursor.is_none());
    let page = f.manager.list_page(&f.org, None, 6).await.unwrap();
    assert!(page.next_cursor.is_some());
    let empty = OrganizationId::from("org_empty");
    let page = f.manager.list_page(&empty, None, 10).await.unwrap();
    assert!(page.keys.is_empty() && page.next_cursor.is_none());
}

#[tokio::test]
async fn limits_outside_1_to_100_are_refused_before_the_store_is_asked() {
    let f = Fixture::new();
    f.seven_keys().await;
    let before = f.store.calls(Method::ListPage);
    for limit in [0, KeyPage::MAX_LIMIT + 1, usize::MAX] {
        match f.manager.list_page(&f.org, None, limit).await {
            Err(error @ ManageError::InvalidPageLimit { limit: refused }) => {
                assert_eq!(refused, limit);
                assert!(error.to_string().contains("between 1 and 100"), "{error}");
            }
            other => panic!("limit {limit}: {other:?}"),
        }
    }
    assert_eq!(f.store.calls(Method::ListPage), before);
    let page = f.manager.list_page(&f.org, None, KeyPage::MAX_LIMIT).await;
    assert_eq!(page.unwrap().keys.len(), 7);
}

#[tokio::test]
async fn a_cursor_from_another_listing_still_works() {
    let f = Fixture::new();
    let listed = f.seven_keys().await;
    let first = f.manager.list_page(&f.org, None, 2).await.unwrap();
    let cursor = first.next_cursor.unwrap();
    // Handed to a client and back, then used with another limit.
    let cursor: ListCursor = cursor.to_string().parse().unwrap();
    let page = f.manager.list_page(&f.org, Some(&cursor), 3).await.unwrap();
    let ids: Vec<KeyId> = page.keys.iter().map(|info| info.id).collect();
    assert_eq!(ids, listed[2..5]);

    // The key it ended at is revoked and new keys are created: the cursor still continues
    // after the same place, and the new keys (the newest) are not on later pages.
    f.manager.revoke(&f.org, listed[1]).await.unwrap();
    f.clock.advance(Duration::from_secs(10));
    f.manager
        .create(&f.org, NewKey::new("newest", Permission::ReadOnly))
        .await
        .unwrap();
    let page = f
        .manager
        .list_page(&f.org, Some(&cursor), 10)
        .await
        .unwrap();
    let ids: Vec<KeyId> = page.keys.iter().map(|info| info.id).collect();
    assert_eq!(ids, listed[2..]);
    assert!(page.next_cursor.is_none());
}

#[tokio::test]
async fn garbage_cursors_are_invalid_cursor() {
    for text in [
        "",
        "abc",
        "not a cursor at all, not at all",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_eq!(text.parse::<ListCursor>(), Err(InvalidCursor), "{text:?}");
    }
    assert!(InvalidCursor.to_string().contains("next_cursor"));
}

#[tokio::test]
async fn a_page_is_one_store_read() {
    let f = Fixture::new();
    f.seven_keys().await;
    let pages = f.store.calls(Method::ListPage);
    f.manager.list_page(&f.org, None, 3).await.unwrap();
    assert_eq!(f.store.calls(Method::ListPage), pages + 1);
}

#[tokio::test]
async fn a_page_is_bounded_by_the_store_timeout() {
    let store = TestStore::new(MemoryStore::new());
    let authenticator =
        Authenticator::new(store.clone()).with_store_timeout(Duration::from_millis(50));
    let manager = KeyManager::new(authenticator);
    store.fault(Method::ListPage, Fault::Hang);
    let org = OrganizationId::from("org_a");
    let answer = tokio::time::timeout(Duration::from_secs(5), manager.list_page(&org, None, 10))
        .await
        .expect("the store timeout must end the call");
    assert!(matches!(
        answer,
        Err(ManageError::Store(StoreError::Timeout))
    ));
}

#[tokio::test]
async fn a_page_serializes_with_its_cursor_as_text() {
    let f = Fixture::new();
    f.seven_keys().await;
    let page = f.manager.list_page(&f.org, None, 5).await.unwrap();
    let json = serde_json::to_value(&page).unwrap();
    assert_eq!(json["keys"].as_array().unwrap().len(), 5);
    let cursor = page.next_cursor.unwrap().to_string();
    assert_eq!(json["next_cursor"], cursor.as_str());
    let last = f.manager.list_page(&f.org, None, 10).await.unwrap();
    assert!(serde_json::to_value(&last).unwrap()["next_cursor"].is_null());
}
