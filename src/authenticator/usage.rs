//! Last-used times, recorded in memory and written in batches.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
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
        self.lock().used.insert(id, ());
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
