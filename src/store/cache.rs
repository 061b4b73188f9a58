//! A bounded, time-limited cache in front of any store.

use std::{
    collections::{HashMap, VecDeque, hash_map},
    fmt,
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;

use super::{
    ActiveKeyLimit, CachedLookup, Inserted, Invalidate, KeyStore, KeyUsage, ListCursor, Result,
    StoreError, Updated,
};
use crate::{
    clock::{Clock, SystemClock},
    key::{IdBuildHasher, KeyId},
    record::{KeyRecord, OrganizationId, whole_micros},
};

/// A store that remembers what another store answered to [`get`](KeyStore::get), so that most
/// requests cost no store read at all.
///
/// - **Bounded**: at most [`with_capacity`](Self::with_capacity) records and, separately, at
///   most [`with_negative_capacity`](Self::with_negative_capacity) unknown ids; the oldest
///   entry makes room for a new one. Unknown ids have their own bound so that a flood of
///   made-up keys cannot push real ones out.
/// - **Time to live**: a record is served for [`with_ttl`](Self::with_ttl) after it was read,
///   the answer "no such key" for [`with_negative_ttl`](Self::with_negative_ttl), timed by
///   [`Clock::now_coarse`] (on Linux the kernel's last tick: a read costs a few nanoseconds, and
///   entries age from up to a tick before they were read, never later). Without
///   invalidations from other instances, the time to live is how long a change made elsewhere
///   (a revocation) can go unseen.
/// - **Invalidation**: an insert or update through the cache drops the key at once, in
///   every clone, whatever the outcome of the write. Writes go to the store behind, which
///   decides them (a taken name included): the cache never answers for a write. [`invalidate`](Self::invalidate) and
///   [`invalidate_all`](Self::invalidate_all) do the same for changes made elsewhere;
///   `PostgresStore::listen_invalidations` (feature `postgres`) and `RedisInvalidation::listen`
///   (feature `redis`) call them for every change any instance makes.
/// - **Race safety**: a lookup that was already on its way to the store when the key was
///   invalidated returns what it read, but does not cache it, so a revoked key cannot come back
///   from a read that started before the revocation.
/// - **Outages**: when the store fails to answer for a record that expired less than
///   [`with_stale_if_error`](Self::with_stale_if_error) ago (30 s by default), that record is
///   served instead of the error, so keys in use keep working through a short outage; unknown
///   keys still fail.
/// - Errors are never cached, and [`list_page`](KeyStore::list_page) always asks the store.
/// - [`record_usage`](KeyStore::record_usage) writes through and moves the cached
///   `last_used_at` forward; records cached from another instance's writes show the
///   `last_used_at` they were read with.
///
/// Clones share the cached entries. `Debug` shows the settings, never a record.
///
/// ```
/// use formbox_auth::{store::CachedStore, KeyFormat, KeyRecord, KeyStore, MemoryStore, Permission};
/// use std::time::{Duration, SystemTime};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let cache = CachedStore::new(store.clone()).with_ttl(Duration::from_secs(30));
///
/// let key = KeyFormat::default().generate()?;
/// let record = KeyRecord::new(key.id(), "org_1".into(), "CI", Permission::ReadOnly, key.digest(), SystemTime::now());
/// cache.insert(&record, None).await?;
/// assert_eq!(cache.get(&key.id()).await?.map(|r| r.revoked_at), Some(None));
///
/// // Another instance revokes the key: this one serves its cached copy until the time to live
/// // ends, or until it is told.
/// let mut revoked = record.next_revision();
/// revoked.revoked_at = Some(SystemTime::now());
/// store.update(&revoked, record.revision).await?;
/// assert_eq!(cache.get(&key.id()).await?.map(|r| r.revoked_at), Some(None));
/// cache.invalidate(&key.id());
/// assert!(cache.get(&key.id()).await?.is_some_and(|r| r.revoked_at.is_some()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct CachedStore<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    config: Config,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Clone, Copy)]
struct Config {
    capacity: usize,
    negative_capacity: usize,
    ttl: Duration,
    negative_ttl: Duration,
    stale_if_error: Duration,
}

impl Config {
    /// How records age: fresh for the time to live, then kept for serving while the store fails.
    fn hits(&self) -> Lifetime {
        Lifetime {
            ttl: self.ttl,
            kept: self.stale_if_error,
        }
    }

    /// How "no such key" ages: never served once expired, so unknown keys fail closed.
    fn misses(&self) -> Lifetime {
        Lifetime {
            ttl: self.negative_ttl,
            kept: Duration::ZERO,
        }
    }
}

/// While the store fails, how long a record served stale is served from memory before the store
/// is asked again: a probe a second per key, instead of every request waiting for the failure.
const STALE_RETRY: Duration = Duration::from_secs(1);

impl<S> CachedStore<S> {
    /// Records cached at most, unless changed.
    pub const DEFAULT_CAPACITY: usize = 10_000;
    /// Unknown ids cached at most, unless changed.
    pub const DEFAULT_NEGATIVE_CAPACITY: usize = 1_000;
    /// How long a record is served from the cache, unless changed.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
    /// How long "no such key" is served from the cache, unless changed.
    pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(5);
    /// How long past its time to live a record is still served while the store fails, unless
    /// changed.
    pub const DEFAULT_STALE_IF_ERROR: Duration = Duration::from_secs(30);

    /// Caches lookups of `store` with the default bounds and times to live.
    pub fn new(store: S) -> Self {
        Self {
            store: Arc::new(store),
            clock: Arc::new(SystemClock),
            config: Config {
                capacity: Self::DEFAULT_CAPACITY,
                negative_capacity: Self::DEFAULT_NEGATIVE_CAPACITY,
                ttl: Self::DEFAULT_TTL,
                negative_ttl: Self::DEFAULT_NEGATIVE_TTL,
                stale_if_error: Self::DEFAULT_STALE_IF_ERROR,
            },
            state: Arc::default(),
        }
    }

    /// Caches at most `capacity` records; `0` caches none.
    ///
    /// Set the cache up before cloning it: settings belong to each clone, entries are shared.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.config.capacity = capacity;
        self
    }

    /// Caches at most `capacity` unknown ids; `0` turns negative caching off.
    pub fn with_negative_capacity(mut self, capacity: usize) -> Self {
        self.config.negative_capacity = capacity;
        self
    }

    /// Serves a record for `ttl` after it was read from the store.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = ttl;
        self
    }

    /// Serves "no such key" for `ttl` after the store said so.
    pub fn with_negative_ttl(mut self, ttl: Duration) -> Self {
        self.config.negative_ttl = ttl;
        self
    }

    /// Serves a record for up to `window` past its time to live when the store fails to answer
    /// for it (an outage, a timeout), so that keys in use keep working through a short database
    /// outage; [`Duration::ZERO`] turns it off, and lookups then fail closed as soon as their
    /// record expired.
    ///
    /// Such a record is what the store said at most `ttl + window` ago: a key revoked meanwhile
    /// through another instance that can still reach the store keeps working here for at most
    /// that long. "No such key" is never served stale, so unknown keys fail closed. While a
    /// record is served stale, the store is asked again for it about once a second.
    pub fn with_stale_if_error(mut self, window: Duration) -> Self {
        self.config.stale_if_error = window;
        self
    }

    /// Reads the time from `clock` to decide when entries expire.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The store behind the cache.
    pub fn get_ref(&self) -> &S {
        &self.store
    }

    /// Drops what is cached about `id`, and makes lookups already on their way to the store not
    /// cache what they bring back.
    pub fn invalidate(&self, id: &KeyId) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.hits.remove(id);
        state.misses.remove(id);
    }

    /// Drops every cached entry, for when changes may have gone unannounced.
    pub fn invalidate_all(&self) {
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        state.hits.clear();
        state.misses.clear();
    }

    /// The answer when the store failed to look `id` up: the expired record, while its stale
    /// window lasts, else the error.
    fn stale(&self, id: &KeyId, error: StoreError) -> Result<Option<KeyRecord>> {
        let now = self.clock.now_coarse();
        let mut state = self.lock();
        match state.hits.stale(id, now, self.config.hits()) {
            Some(record) => {
                tracing::warn!(key_id = %id, %error, "key store failed; serving the key's cached record");
                Ok(Some(KeyRecord::clone(record)))
            }
            None => Err(error),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent between its statements, and none
        // runs user code, so a poisoned lock holds a usable state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: Send + Sync + 'static> Invalidate for CachedStore<S> {
    fn invalidate(&self, id: &KeyId) {
        CachedStore::invalidate(self, id);
    }

    fn invalidate_all(&self) {
        CachedStore::invalidate_all(self);
    }
}

impl<S> Clone for CachedStore<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            config: self.config,
            state: Arc::clone(&self.state),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for CachedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("store", &self.store)
            .field("capacity", &self.config.capacity)
            .field("negative_capacity", &self.config.negative_capacity)
            .field("ttl", &self.config.ttl)
            .field("negative_ttl", &self.config.negative_ttl)
            .field("stale_if_error", &self.config.stale_if_error)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: KeyStore> KeyStore for CachedStore<S> {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        // Entries age from before the read, so none outlives its time to live counted from
        // when the store answered.
        let read_at = self.clock.now_coarse();
        let generation = {
            let mut state = self.lock();
            if let Some(record) = state.hits.fresh(id, read_at, self.config.hits()) {
                return Ok(Some(KeyRecord::clone(record)));
            }
            if state
                .misses
                .fresh(id, read_at, self.config.misses())
                .is_some()
            {
                return Ok(None);
            }
            state.generation
        };
        let found = match self.store.get(id).await {
            Ok(found) => found,
            Err(error) => return self.stale(id, error),
        };
        let mut state = self.lock();
        // Something was invalidated while the store was being asked: what came back may be
        // the very record that was revoked, so it is returned but not kept.
        if state.generation == generation {
            match &found {
                Some(record) => {
                    state.misses.remove(id);
                    state
                        .hits
                        .put(*id, Arc::new(record.clone()), read_at, self.config.capacity);
                }
                None => {
                    state.hits.remove(id);
                    state
                        .misses
                        .put(*id, (), read_at, self.config.negative_capacity);
                }
            }
        }
        Ok(found)
    }

    /// A fresh cached answer, without copying the record; otherwise whatever the store behind
    /// can answer at once (nothing, for a database), which is not cached.
    fn get_cached(&self, id: &KeyId) -> CachedLookup {
        let now = self.clock.now_coarse();
        {
            let mut state = self.lock();
            if let Some(record) = state.hits.fresh(id, now, self.config.hits()) {
                return CachedLookup::Found(Arc::clone(record));
            }
            if state.misses.fresh(id, now, self.config.misses()).is_some() {
                return CachedLookup::Absent;
            }
        }
        self.store.get_cached(id)
    }

    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let inserted = self.store.insert(record, limit).await;
        self.invalidate(&record.id);
        inserted
    }

    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        let updated = self.store.update(record, expected_revision).await;
        self.invalidate(&record.id);
        updated
    }

    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        self.store.list_page(organization, after, limit).await
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        self.store.record_usage(usage).await?;
        let mut state = self.lock();
        for use_ in usage {
            if let Some(record) = state.hits.get_mut(&use_.id)
                && record.last_used_at < Some(whole_micros(use_.used_at))
            {
                // Copies the record only if a request is still holding the old one.
                Arc::make_mut(record).last_used_at = Some(whole_micros(use_.used_at));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct State {
    /// Moves on every invalidation; a lookup caches its answer only if it has not moved since
    /// the lookup began.
    generation: u64,
    /// Shared, so that a hit hands the record out without copying it. Only ids the store knows
    /// (issued by the server, random) get here, so the fast id hasher is safe.
    hits: Fifo<Arc<KeyRecord>, IdBuildHasher>,
    /// Ids come from requests, so an attacker chooses what is inserted: SipHash with a random key.
    misses: Fifo<(), RandomState>,
}

/// A map that forgets its oldest entry when full.
///
/// `order` lists insertions oldest first; an insertion whose entry was since removed or
/// replaced is skipped when its turn comes, and swept out when such leftovers pile up.
#[derive(Debug)]
struct Fifo<V, H> {
    entries: HashMap<KeyId, Entry<V>, H>,
    order: VecDeque<(KeyId, u64)>,
    next_sequence: u64,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    stored_at: SystemTime,
    /// Set while the value is served stale: until then it counts as fresh again.
    retry_at: Option<SystemTime>,
    sequence: u64,
}

/// How an entry ages.
#[derive(Debug, Clone, Copy)]
struct Lifetime {
    /// Fresh for this long after it was stored.
    ttl: Duration,
    /// Then kept this much longer, for [`Fifo::stale`].
    kept: Duration,
}

impl<V> Entry<V> {
    /// Whether the entry can be served at `now` without asking the store. A clock that went
    /// backwards makes its age unknown: it is then expired.
    fn is_fresh(&self, now: SystemTime, lifetime: Lifetime) -> bool {
        self.stored_at <= now
            && (before(now, self.stored_at, lifetime.ttl)
                || self.retry_at.is_some_and(|retry_at| now < retry_at))
    }

    /// Whether the entry can still be served when the store fails.
    fn is_kept(&self, now: SystemTime, lifetime: Lifetime) -> bool {
        self.stored_at <= now && self.kept_until(lifetime).is_none_or(|end| now < end)
    }

    /// When the entry stops being served even for a failing store; `None`: beyond any time.
    fn kept_until(&self, lifetime: Lifetime) -> Option<SystemTime> {
        let age = lifetime.ttl.checked_add(lifetime.kept)?;
        self.stored_at.checked_add(age)
    }
}

/// Whether `now` is less than `age` after `start`.
fn before(now: SystemTime, start: SystemTime, age: Duration) -> bool {
    start.checked_add(age).is_none_or(|end| now < end)
}

impl<V, H: Default> Default for Fifo<V, H> {
    fn default() -> Self {
        Self {
            entries: HashMap::default(),
            order: VecDeque::new(),
            next_sequence: 0,
        }
    }
}

impl<V, H: BuildHasher> Fifo<V, H> {
    /// The value for `id` if it is fresh; an expired one is removed once it is no longer kept
    /// for a failing store.
    fn fresh(&mut self, id: &KeyId, now: SystemTime, lifetime: Lifetime) -> Option<&V> {
        // One hash lookup on the hot path: the entry is only looked up again to remove it.
        match self.entries.entry(*id) {
            hash_map::Entry::Occupied(entry) => {
                if entry.get().is_fresh(now, lifetime) {
                    Some(&entry.into_mut().value)
                } else {
                    if !entry.get().is_kept(now, lifetime) {
                        entry.remove();
                    }
                    None
                }
            }
            hash_map::Entry::Vacant(_) => None,
        }
    }

    /// The value for `id`, expired or not, while it is kept for a failing store; it is then
    /// served as fresh for [`STALE_RETRY`], within what is kept.
    fn stale(&mut self, id: &KeyId, now: SystemTime, lifetime: Lifetime) -> Option<&V> {
        let entry = self.entries.get_mut(id)?;
        if !entry.is_kept(now, lifetime) {
            return None;
        }
        let retry_at = now.checked_add(STALE_RETRY);
        entry.retry_at = match (retry_at, entry.kept_until(lifetime)) {
            (Some(retry_at), Some(kept_until)) => Some(retry_at.min(kept_until)),
            (retry_at, kept_until) => retry_at.or(kept_until),
        };
        Some(&entry.value)
    }

    fn get_mut(&mut self, id: &KeyId) -> Option<&mut V> {
        self.entries.get_mut(id).map(|entry| &mut entry.value)
    }

    fn put(&mut self, id: KeyId, value: V, stored_at: SystemTime, capacity: usize) {
        if capacity == 0 {
            return;
        }
        self.entries.remove(&id);
        while self.entries.len() >= capacity {
            let Some((oldest, sequence)) = self.order.pop_front() else {
                break;
            };
            if self
                .entries
                .get(&oldest)
                .is_some_and(|entry| entry.sequence == sequence)
            {
                self.entries.remove(&oldest);
            }
        }
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.entries.insert(
            id,
            Entry {
                value,
                stored_at,
                retry_at: None,
                sequence,
            },
        );
        self.order.push_back((id, sequence));
        if self.order.len() > 2 * capacity.max(16) {
            let entries = &self.entries;
            self.order.retain(|(id, sequence)| {
                entries
                    .get(id)
                    .is_some_and(|entry| entry.sequence == *sequence)
            });
        }
    }

    fn remove(&mut self, id: &KeyId) {
        self.entries.remove(id);
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetime(ttl: Duration) -> Lifetime {
        Lifetime {
            ttl,
            kept: Duration::ZERO,
        }
    }

    fn id(n: usize) -> KeyId {
        format!("{n:012}").parse().unwrap()
    }

    #[test]
    fn fifo_never_holds_more_than_its_capacity_and_forgets_the_oldest() {
        let now = SystemTime::UNIX_EPOCH;
        let mut fifo: Fifo<_, RandomState> = Fifo::default();
        for n in 0..100 {
            fifo.put(id(n), n, now, 10);
            assert!(fifo.entries.len() <= 10);
        }
        let kept: Vec<usize> = (0..100)
            .filter(|&n| fifo.fresh(&id(n), now, lifetime(Duration::MAX)).is_some())
            .collect();
        assert_eq!(kept, (90..100).collect::<Vec<_>>());
        assert!(fifo.order.len() <= 2 * 16);
    }

    #[test]
    fn fifo_bookkeeping_stays_bounded_under_replacements_and_removals() {
        let now = SystemTime::UNIX_EPOCH;
        let mut fifo: Fifo<_, RandomState> = Fifo::default();
        for round in 0..1_000 {
            fifo.put(id(round % 3), round, now, 4);
            fifo.remove(&id((round + 1) % 3));
        }
        assert!(fifo.entries.len() <= 4);
        assert!(fifo.order.len() <= 2 * 16);
    }

    #[test]
    fn an_entry_from_the_future_counts_as_expired() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let mut fifo: Fifo<_, RandomState> = Fifo::default();
        fifo.put(id(1), (), now + Duration::from_secs(1), 10);
        assert!(
            fifo.fresh(&id(1), now, lifetime(Duration::from_secs(60)))
                .is_none()
        );
    }
}
