//! Records, times and ids the behaviours are built from.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{
    key::{KeyDigest, KeyFormat, KeyId},
    permission::{Access, Permission},
    record::RateLimit,
    record::{KeyRecord, OrganizationId},
    store::{KeyUsage, ListCursor},
};

/// Whole microseconds after the Unix epoch.
pub(super) fn at(seconds: u64, micros: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(seconds, micros * 1_000)
}

/// A fresh read-only record with a new random id and digest.
pub(super) fn record(organization: &str, name: &str, created_at: SystemTime) -> KeyRecord {
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

/// A restricted access with `scopes` in their text form. Parsing names the resources for the
/// whole process, as a store's decoding does; the behaviours use a fixed handful.
pub(super) fn restricted(scopes: &str) -> Access {
    Access::Restricted(
        scopes
            .parse()
            .unwrap_or_else(|error| panic!("scopes {scopes:?}: {error}")),
    )
}

/// A digest of 32 times `byte`.
pub(super) fn digest(byte: u8) -> KeyDigest {
    KeyDigest::from_bytes([byte; 32])
}

pub(super) fn rate_limit(requests: u32, per_seconds: u32) -> RateLimit {
    RateLimit::new(requests, per_seconds)
        .unwrap_or_else(|error| panic!("{requests} per {per_seconds} s: {error}"))
}

pub(super) fn id(text: &str) -> KeyId {
    text.parse()
        .unwrap_or_else(|_| panic!("{text} is not a key id"))
}

pub(super) fn ids(records: &[KeyRecord]) -> Vec<KeyId> {
    records.iter().map(|record| record.id).collect()
}

/// A use of key `id` at `used_at`.
pub(super) fn used(id: KeyId, used_at: SystemTime) -> KeyUsage {
    KeyUsage { id, used_at }
}

/// A position at `created_at` with the id `text`.
pub(super) fn position(created_at: SystemTime, text: &str) -> ListCursor {
    ListCursor::new(created_at, id(text))
        .unwrap_or_else(|| panic!("no cursor holds {created_at:?}"))
}

/// The cursor after `record`: where the page that ends with it continues.
pub(super) fn cursor_after(record: &KeyRecord) -> ListCursor {
    ListCursor::after(record).unwrap_or_else(|| panic!("no cursor holds {:?}", record.created_at))
}
