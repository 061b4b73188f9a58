//! Last-used times, recorded in memory and written in batches.

use std::{
    collections::HashMap,
    hash::BuildHasher,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use crate::{
    clock::Clock,
    key::{IdBuildHasher, KeyId},
    store::{KeyStore, KeyUsage, Result},
};

/// Remembers which keys were used since the last flush, so a request costs a set insertion
/// instead of a store write.
///
/// A flush writes every key used since the previous one, stamped with the flush time: at most
/// one write per key per flush, and last-used times precise to the flush interval. A failed flush
/// keeps its batch, with its original times, for the next one.
#[derive(Debug, Default)]
pub(crate) struct UsageRecorder {
    pending: Mutex<Pending>,
    noted: Noted,
}

#[derive(Debug, Default)]
struct Pending {
    /// Used since the last flush; the time is the flush that will write them.
    used: HashMap<KeyId, (), IdBuildHasher>,
    /// From flushes that failed, with the times they were stamped with.
    retry: HashMap<KeyId, SystemTime, IdBuildHasher>,
}

impl UsageRecorder {
    /// Notes that `id` was used now.
    pub(crate) fn touch(&self, id: KeyId) {
        if self.noted.since_last_take(id) {
            return;
        }
        let mut pending = self.lock();
        pending.used.insert(id, ());
        self.noted.note(id);
    }

    /// Writes what was used since the last flush. Returns how many keys were written.
    pub(crate) async fn flush(&self, store: &dyn KeyStore, clock: &dyn Clock) -> Result<usize> {
        let batch = self.take(clock.now());
        if batch.is_empty() {
            return Ok(0);
        }
        // The batch goes back unless it was written: on an error, and also when the caller
        // drops this future (a timeout around a hanging store), which would otherwise lose it.
        let mut unwritten = Unwritten {
            recorder: self,
            batch,
        };
        store.record_usage(&unwritten.batch).await?;
        Ok(std::mem::take(&mut unwritten.batch).len())
    }

    /// Number of keys waiting to be written.
    pub(crate) fn pending(&self) -> usize {
        let pending = self.lock();
        pending.used.len()
            + pending
                .retry
                .keys()
                .filter(|id| !pending.used.contains_key(id))
                .count()
    }

    fn take(&self, now: SystemTime) -> Vec<KeyUsage> {
        let mut pending = self.lock();
        self.noted.forget_all();
        let mut batch: HashMap<KeyId, SystemTime, IdBuildHasher> =
            std::mem::take(&mut pending.retry);
        batch.extend(pending.used.drain().map(|(id, ())| (id, now)));
        batch
            .into_iter()
            .map(|(id, used_at)| KeyUsage { id, used_at })
            .collect()
    }

    fn put_back(&self, batch: Vec<KeyUsage>) {
        let mut pending = self.lock();
        for usage in batch {
            let time = pending.retry.entry(usage.id).or_insert(usage.used_at);
            *time = (*time).max(usage.used_at);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // The critical sections cannot panic halfway, so a poisoned lock still holds whole data.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Which keys are in the `used` set already, readable without its lock.
///
/// Most requests come from keys used moments before, and for them a touch is then two relaxed
/// loads, where the lock would be a write to memory that every core's requests share. Each slot
/// holds a tag of the key last noted in it, mixed with the number of the current period (bumped
/// by every take), so that one increment forgets every slot. Two keys in one slot take turns and
/// go through the lock; a tag is a 64-bit hash of a random id, so a key mistaken for another
/// would need a one in 2^64 coincidence, and would lose one flush's last-used time.
///
/// Whatever a tag says, the set decides what is written: a key is only ever skipped here when the
/// lock saw it inserted in the current period.
struct Noted {
    period: AtomicU64,
    slots: Box<[AtomicU64]>,
}

/// Slots of [`Noted`]: 32 KiB, for as many keys in use at once before they take turns.
const NOTED_SLOTS: usize = 4_096;

impl Noted {
    /// Whether `id` was noted since the last take.
    fn since_last_take(&self, id: KeyId) -> bool {
        let (slot, tag) = self.slot_and_tag(id);
        slot.load(Ordering::Relaxed) == tag
    }

    /// Notes `id`; called under the recorder's lock, after inserting it into the set.
    fn note(&self, id: KeyId) {
        let (slot, tag) = self.slot_and_tag(id);
        slot.store(tag, Ordering::Relaxed);
    }

    /// Forgets every key at once; called under the recorder's lock, as the set is taken.
    fn forget_all(&self) {
        self.period.fetch_add(1, Ordering::Relaxed);
    }

    fn slot_and_tag(&self, id: KeyId) -> (&AtomicU64, u64) {
        let hash = IdBuildHasher::default().hash_one(id);
        // The high bits pick the slot (the hash multiplies last, so they are the best mixed);
        // the tag is never 0, the value of a slot never used.
        let index = (hash >> (u64::BITS - NOTED_SLOTS.trailing_zeros())) as usize;
        let period = self.period.load(Ordering::Relaxed);
        let tag = (hash ^ period.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1;
        (&self.slots[index % self.slots.len()], tag)
    }
}

impl Default for Noted {
    fn default() -> Self {
        Self {
            period: AtomicU64::new(0),
            slots: (0..NOTED_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl std::fmt::Debug for Noted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Noted")
            .field("period", &self.period.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A batch on its way to the store; dropped before it is written, it returns to the recorder.
struct Unwritten<'a> {
    recorder: &'a UsageRecorder,
    batch: Vec<KeyUsage>,
}

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        if !self.batch.is_empty() {
            self.recorder.put_back(std::mem::take(&mut self.batch));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::format::KeyFormat;

    fn ids(count: usize) -> Vec<KeyId> {
        let format = KeyFormat::default();
        (0..count)
            .map(|_| format.generate().unwrap().id())
            .collect()
    }

    fn taken(recorder: &UsageRecorder) -> Vec<KeyId> {
        let mut ids: Vec<KeyId> = recorder
            .take(SystemTime::UNIX_EPOCH)
            .into_iter()
            .map(|usage| usage.id)
            .collect();
        ids.sort_by_key(|id| id.to_string());
        ids
    }

    fn sorted(mut ids: Vec<KeyId>) -> Vec<KeyId> {
        ids.sort_by_key(|id| id.to_string());
        ids
    }

    #[test]
    fn a_key_used_again_after_a_take_is_taken_again() {
        let recorder = UsageRecorder::default();
        let [id] = ids(1)[..] else { unreachable!() };
        for _ in 0..3 {
            recorder.touch(id);
            recorder.touch(id);
            assert_eq!(taken(&recorder), [id]);
            assert_eq!(taken(&recorder), []);
        }
    }

    #[test]
    fn more_keys_than_slots_are_all_taken() {
        let recorder = UsageRecorder::default();
        let used = ids(NOTED_SLOTS * 2);
        for round in 0..2 {
            for &id in &used {
                recorder.touch(id);
                recorder.touch(id);
            }
            assert_eq!(recorder.pending(), used.len(), "round {round}");
            assert_eq!(taken(&recorder), sorted(used.clone()), "round {round}");
        }
    }

    #[test]
    fn touches_from_many_threads_are_all_taken() {
        let recorder = UsageRecorder::default();
        let used = ids(64);
        std::thread::scope(|scope| {
            for chunk in used.chunks(16) {
                let recorder = &recorder;
                scope.spawn(move || {
                    for _ in 0..100 {
                        chunk.iter().for_each(|&id| recorder.touch(id));
                    }
                });
            }
        });
        assert_eq!(taken(&recorder), sorted(used));
    }
}
