//! Keys held in process memory.

use std::{
    cmp::Ordering,
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use async_trait::async_trait;

use super::{ActiveKeyLimit, CachedLookup, Inserted, KeyStore, KeyUsage, ListCursor, Result};
use crate::key::{IdBuildHasher, KeyId};
use crate::record::{KeyRecord, OrganizationId, whole_micros};

/// A store in process memory, for tests and single-process services. Clones share the same keys.
///
/// Keys are lost when the process exits; use a persistent store in production. Times are kept to
/// the microsecond, as in the SQL stores, so that code tested against this store behaves the
/// same on them.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    records: Arc<RwLock<Records>>,
}

/// Records sit behind `Arc`s so that a lookup hands one out without copying the name.
type Records = HashMap<KeyId, Arc<KeyRecord>, IdBuildHasher>;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(&self, f: impl FnOnce(&Records) -> T) -> T {
        // A panic elsewhere while holding the lock cannot leave a record half-written: every
        // write below replaces whole values.
        f(&self.records.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut Records) -> T) -> T {
        f(&mut self.records.write().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        Ok(self.read(|records| records.get(id).map(|record| KeyRecord::clone(record))))
    }

    fn get_cached(&self, id: &KeyId) -> CachedLookup {
        match self.read(|records| records.get(id).cloned()) {
            Some(record) => CachedLookup::Found(record),
            None => CachedLookup::Absent,
        }
    }

    /// Counts and inserts under one write lock, so no other write lands in between.
    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let record = Arc::new(record.with_whole_micros());
        Ok(self.write(|records| {
            if records.contains_key(&record.id) {
                return Inserted::IdTaken;
            }
            if limit.is_some_and(|limit| !has_room(records, &record.organization, limit)) {
                return Inserted::LimitReached;
            }
            records.insert(record.id, record);
            Inserted::Stored
        }))
    }

    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<bool> {
        let mut record = record.with_whole_micros();
        Ok(self.write(|records| match records.get_mut(&record.id) {
            Some(stored) if stored.revision == expected_revision => {
                record.last_used_at = stored.last_used_at;
                *stored = Arc::new(record);
                true
            }
            _ => false,
        }))
    }

    /// Sorts only the organization's keys after the position, and copies only the page.
    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let mut found: Vec<Arc<KeyRecord>> = self.read(|records| {
            records
                .values()
                .filter(|record| {
                    record.organization == *organization
                        && after.is_none_or(|after| after.precedes(record))
                })
                .cloned()
                .collect()
        });
        found.sort_by(|a, b| newest_first(a, b));
        Ok(found
            .iter()
            .take(limit)
            .map(|record| KeyRecord::clone(record))
            .collect())
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        self.write(|records| {
            for use_ in usage {
                if let Some(record) = records.get_mut(&use_.id) {
                    let record = Arc::make_mut(record);
                    let used_at = whole_micros(use_.used_at);
                    record.last_used_at = record.last_used_at.max(Some(used_at));
                }
            }
        });
        Ok(())
    }
}

/// List order: `created_at` descending, then id descending.
fn newest_first(a: &KeyRecord, b: &KeyRecord) -> Ordering {
    b.created_at
        .cmp(&a.created_at)
        .then_with(|| b.id.cmp(&a.id))
}

/// Whether `organization` has fewer than `limit.max` keys active at `limit.at`.
fn has_room(records: &Records, organization: &OrganizationId, limit: ActiveKeyLimit) -> bool {
    let active = records
        .values()
        .filter(|record| {
            record.organization == *organization
                && record.revoked_at.is_none()
                && !record.is_expired_at(limit.at)
        })
        .count();
    u64::try_from(active).is_ok_and(|active| active < u64::from(limit.max))
}
