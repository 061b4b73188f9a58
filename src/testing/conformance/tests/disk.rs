//! A store that answers from memory and writes to a simulated disk, with a defect or without:
//! what a reopen reads back.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::SystemTime,
};

use async_trait::async_trait;

use crate::{
    key::KeyId,
    permission::Access,
    record::{
        KeyRecord, OrganizationId,
        micros::{from_unix_micros, unix_micros},
    },
    store::{
        ActiveKeyLimit, CachedLookup, Inserted, KeyStore, KeyUsage, ListCursor, Result, Updated,
        memory::MemoryStore,
    },
};

/// What the disk gets wrong; memory is always right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Defect {
    /// Nothing.
    None,
    /// Times are written to the millisecond.
    Milliseconds,
    /// The rate limit is not written.
    DropsRateLimit,
    /// `update` writes the `last_used_at` it is given.
    UpdateWritesLastUsed,
    /// A restricted key is written as `read_only`.
    RestrictedAsReadOnly,
    /// A restricted key is written without its first scope.
    LosesAScope,
}

type Records = Arc<Mutex<HashMap<KeyId, KeyRecord>>>;

/// A [`MemoryStore`] that writes each record it changes to a simulated disk, as its [`Defect`]
/// has it. [`reopen`](Self::reopen) reads the disk into a new memory.
#[derive(Debug)]
pub(super) struct Disk {
    memory: MemoryStore,
    disk: Records,
    defect: Defect,
    /// Held over a write and its save, so that the disk gets the writes in memory's order.
    writing: tokio::sync::Mutex<()>,
}

impl Disk {
    pub(super) fn new(defect: Defect) -> Self {
        Self::over(Records::default(), MemoryStore::new(), defect)
    }

    fn over(disk: Records, memory: MemoryStore, defect: Defect) -> Self {
        Self {
            memory,
            disk,
            defect,
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// A new store over this one's disk: what it wrote, and nothing it held only in memory.
    pub(super) async fn reopen(self) -> Self {
        let written: Vec<KeyRecord> = self.on_disk().values().cloned().collect();
        let memory = MemoryStore::new();
        for record in &written {
            let stored = memory.insert(record, None).await;
            assert!(
                matches!(stored, Ok(Inserted::Stored)),
                "the disk holds {} twice",
                record.id
            );
        }
        Self::over(self.disk, memory, self.defect)
    }

    fn on_disk(&self) -> std::sync::MutexGuard<'_, HashMap<KeyId, KeyRecord>> {
        self.disk.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the record with `id`, as memory holds it after `update` wrote `updated` (or
    /// after another write), to the disk.
    async fn save(&self, id: &KeyId, updated: Option<&KeyRecord>) -> Result<()> {
        let Some(mut record) = self.memory.get(id).await? else {
            return Ok(());
        };
        match (self.defect, updated) {
            (Defect::Milliseconds, _) => record.map_times(milliseconds),
            (Defect::DropsRateLimit, _) => record.rate_limit = None,
            (Defect::UpdateWritesLastUsed, Some(updated)) => {
                record.last_used_at = updated.last_used_at;
            }
            (Defect::RestrictedAsReadOnly, _) if record.access.scopes().is_some() => {
                record.access = Access::ReadOnly;
            }
            (Defect::LosesAScope, _) => {
                if let Some(scopes) = record.access.scopes() {
                    record.access = Access::Restricted(scopes.iter().skip(1).collect());
                }
            }
            (Defect::None | Defect::UpdateWritesLastUsed | Defect::RestrictedAsReadOnly, _) => {}
        }
        self.on_disk().insert(*id, record);
        Ok(())
    }
}

/// `time` rounded down to a whole millisecond, as a store writing milliseconds keeps it.
fn milliseconds(time: SystemTime) -> SystemTime {
    unix_micros(time)
        .and_then(|micros| from_unix_micros(micros.div_euclid(1_000) * 1_000))
        .unwrap_or(time)
}

#[async_trait]
impl KeyStore for Disk {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        self.memory.get(id).await
    }

    fn get_cached(&self, id: &KeyId) -> CachedLookup {
        self.memory.get_cached(id)
    }

    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let _writing = self.writing.lock().await;
        let inserted = self.memory.insert(record, limit).await?;
        self.save(&record.id, None).await?;
        Ok(inserted)
    }

    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        let _writing = self.writing.lock().await;
        let updated = self.memory.update(record, expected_revision).await?;
        if updated == Updated::Stored {
            self.save(&record.id, Some(record)).await?;
        }
        Ok(updated)
    }

    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        self.memory.list_page(organization, after, limit).await
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        let _writing = self.writing.lock().await;
        self.memory.record_usage(usage).await?;
        for used in usage {
            self.save(&used.id, None).await?;
        }
        Ok(())
    }
}
