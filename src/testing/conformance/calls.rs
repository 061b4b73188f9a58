//! Every call the suite makes to a store, one function per `KeyStore` method: each unwraps the
//! answer, naming the method that failed.

use super::reopen::StoreUnderTest;
use crate::{
    key::KeyId,
    record::{KeyRecord, OrganizationId},
    store::{ActiveKeyLimit, CachedLookup, Inserted, KeyStore, KeyUsage, ListCursor, Updated},
};

/// Unwraps an answer, naming the call that failed.
pub(super) fn ok<T, E: std::fmt::Display>(answer: Result<T, E>, call: &str) -> T {
    answer.unwrap_or_else(|error| panic!("`{call}` failed: {error}"))
}

pub(super) async fn get(store: &impl StoreUnderTest, id: &KeyId) -> Option<KeyRecord> {
    ok(store.store().get(id).await, "get")
}

pub(super) fn get_cached(store: &impl StoreUnderTest, id: &KeyId) -> CachedLookup {
    store.store().get_cached(id)
}

/// Whether the record was stored: `false` if its id (or its name) was taken.
pub(super) async fn insert(store: &impl StoreUnderTest, record: &KeyRecord) -> bool {
    inserted(store, record).await == Inserted::Stored
}

/// What an insert without a limit did.
pub(super) async fn inserted(store: &impl StoreUnderTest, record: &KeyRecord) -> Inserted {
    ok(store.store().insert(record, None).await, "insert")
}

/// What an insert capped at `limit` did.
pub(super) async fn insert_capped(
    store: &impl StoreUnderTest,
    record: &KeyRecord,
    limit: ActiveKeyLimit,
) -> Inserted {
    let inserted = store.store().insert(record, Some(limit)).await;
    ok(inserted, "insert with a limit")
}

/// Whether the record was written: `false` if the revision moved (or the name was taken).
pub(super) async fn update(
    store: &impl StoreUnderTest,
    record: &KeyRecord,
    expected_revision: u64,
) -> bool {
    updated(store, record, expected_revision).await == Updated::Stored
}

/// What an update did.
pub(super) async fn updated(
    store: &impl StoreUnderTest,
    record: &KeyRecord,
    expected_revision: u64,
) -> Updated {
    ok(
        store.store().update(record, expected_revision).await,
        "update",
    )
}

/// Every record of `organization`, in list order.
pub(super) async fn list(store: &impl StoreUnderTest, organization: &str) -> Vec<KeyRecord> {
    let organization = OrganizationId::from(organization);
    let all = store
        .store()
        .list_page(&organization, None, usize::MAX)
        .await;
    ok(all, "list_page of every record")
}

pub(super) async fn list_page(
    store: &impl StoreUnderTest,
    organization: &str,
    after: Option<&ListCursor>,
    limit: usize,
) -> Vec<KeyRecord> {
    let organization = OrganizationId::from(organization);
    let page = store.store().list_page(&organization, after, limit).await;
    ok(page, "list_page")
}

pub(super) async fn record_usage(store: &impl StoreUnderTest, usage: &[KeyUsage]) {
    ok(store.store().record_usage(usage).await, "record_usage");
}
