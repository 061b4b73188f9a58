//! Keys held in process memory.

use std::{
    borrow::Borrow,
    cmp::Ordering,
    collections::{HashMap, HashSet},
    hash::{Hash, Hasher},
    sync::{Arc, PoisonError, RwLock},
};

use async_trait::async_trait;

use super::{
    ActiveKeyLimit, CachedLookup, Inserted, KeyStore, KeyUsage, ListCursor, Result, Updated,
};
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

/// Every record, found by its id, and each organization's ids, so that a write checks and a list
/// reads only the organization's keys.
#[derive(Debug, Default)]
struct Records {
    by_id: HashSet<Entry, IdBuildHasher>,
    by_organization: HashMap<OrganizationId, Vec<KeyId>>,
}

/// A record in the id table, hashed and compared by its id, which the record holds: a slot of the
/// table is one pointer, not an id beside it. A million keys take under 300 bytes each
/// (`benches/scale.rs`), and a lookup still reads the table, then the record. The record sits
/// behind an `Arc` so that a lookup hands it out without copying the name.
#[derive(Debug, Clone)]
struct Entry(Arc<KeyRecord>);

impl Borrow<KeyId> for Entry {
    fn borrow(&self) -> &KeyId {
        &self.0.id
    }
}

impl Hash for Entry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id.hash(state);
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for Entry {}

impl Records {
    fn get(&self, id: &KeyId) -> Option<&Arc<KeyRecord>> {
        self.by_id.get(id).map(|entry| &entry.0)
    }

    /// The records of `organization`.
    fn of<'a>(&'a self, organization: &OrganizationId) -> impl Iterator<Item = &'a Arc<KeyRecord>> {
        let ids = self.by_organization.get(organization).map(Vec::as_slice);
        ids.unwrap_or_default().iter().filter_map(|id| self.get(id))
    }

    /// Whether `record` may be written without two of its organization's keys that are not
    /// revoked sharing a name key. The record's own id, as stored, does not count.
    fn name_is_free(&self, record: &KeyRecord) -> bool {
        if record.revoked_at.is_some() {
            return true;
        }
        let key = record.name_key();
        !self.of(&record.organization).any(|other| {
            other.id != record.id && other.revoked_at.is_none() && other.name_key() == key
        })
    }

    /// Whether `organization` has fewer than `limit.max` keys active at `limit.at`.
    fn has_room(&self, organization: &OrganizationId, limit: ActiveKeyLimit) -> bool {
        let active = self
            .of(organization)
            .filter(|record| record.revoked_at.is_none() && !record.is_expired_at(limit.at))
            .count();
        u64::try_from(active).is_ok_and(|active| active < u64::from(limit.max))
    }

    /// Puts `record` in place of the record with its id, if any, keeping each organization's
    /// list of ids.
    fn put(&mut self, record: Arc<KeyRecord>) {
        let (id, organization) = (record.id, record.organization.clone());
        let moved_from = match self.by_id.replace(Entry(record)) {
            Some(old) if old.0.organization == organization => return,
            old => old.map(|old| old.0.organization.clone()),
        };
        if let Some(from) = moved_from
            && let Some(ids) = self.by_organization.get_mut(&from)
        {
            ids.retain(|kept| *kept != id);
            if ids.is_empty() {
                self.by_organization.remove(&from);
            }
        }
        self.by_organization
            .entry(organization)
            .or_default()
            .push(id);
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(&self, f: impl FnOnce(&Records) -> T) -> T {
        // A panic elsewhere while holding the lock cannot leave a record half-written: every
        // write below replaces whole values, after every check, and nothing that can panic runs
        // between taking a record out of the id table and putting it back.
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

    /// Counts, checks the name and inserts under one write lock, so no other write lands in
    /// between.
    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let record = Arc::new(record.with_whole_micros());
        Ok(self.write(|records| {
            if records.by_id.contains(&record.id) {
                return Inserted::IdTaken;
            }
            if limit.is_some_and(|limit| !records.has_room(&record.organization, limit)) {
                return Inserted::LimitReached;
            }
            if !records.name_is_free(&record) {
                return Inserted::NameTaken;
            }
            records.put(record);
            Inserted::Stored
        }))
    }

    /// Compares the revision, checks the name and writes under one write lock.
    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        let mut record = record.with_whole_micros();
        Ok(self.write(|records| {
            let last_used_at = match records.get(&record.id) {
                Some(stored) if stored.revision == expected_revision => stored.last_used_at,
                _ => return Updated::Stale,
            };
            if !records.name_is_free(&record) {
                return Updated::NameTaken;
            }
            record.last_used_at = last_used_at;
            records.put(Arc::new(record));
            Updated::Stored
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
                .of(organization)
                .filter(|record| after.is_none_or(|after| after.precedes(record)))
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
                // Out of the table and back, to change the record in place unless a lookup is
                // still holding it; its id, and so its place, stays.
                if let Some(Entry(mut record)) = records.by_id.take(&use_.id) {
                    let used_at = whole_micros(use_.used_at);
                    if record.last_used_at < Some(used_at) {
                        Arc::make_mut(&mut record).last_used_at = Some(used_at);
                    }
                    records.by_id.insert(Entry(record));
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
