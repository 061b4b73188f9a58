//! A store wrapper for tests: counts calls, injects faults, pauses calls.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::{
    key::KeyId,
    record::{KeyRecord, OrganizationId},
    store::{
        ActiveKeyLimit, CachedLookup, Inserted, KeyStore, KeyUsage, ListCursor, Result, StoreError,
        Updated,
    },
};

/// A [`KeyStore`] method, to count or to fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// [`KeyStore::get`].
    Get,
    /// [`KeyStore::get_cached`].
    GetCached,
    /// [`KeyStore::insert`].
    Insert,
    /// [`KeyStore::update`].
    Update,
    /// [`KeyStore::list_page`].
    ListPage,
    /// [`KeyStore::record_usage`].
    RecordUsage,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 6] = [
        Self::Get,
        Self::GetCached,
        Self::Insert,
        Self::Update,
        Self::ListPage,
        Self::RecordUsage,
    ];
}

/// What a faulted call does instead of, or before, reaching the inner store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Fails at once with [`StoreError::Backend`], as a refused connection does.
    Error,
    /// Fails at once with [`StoreError::Timeout`], as an exhausted pool does.
    Timeout,
    /// Fails at once with [`StoreError::Decode`], as a row the store cannot read does.
    Decode,
    /// Never answers, as a stuck database does.
    Hang,
    /// Reaches the inner store after this delay.
    Delay(Duration),
    /// Answers as if the key did not exist, writing nothing: `get` is `None`, `insert` is
    /// [`Inserted::IdTaken`] (an id collision), `update` is [`Updated::Stale`] (a lost
    /// compare-and-swap), `list_page` is empty and `record_usage` writes nothing.
    Refuse,
}

/// A fault and how many more calls it applies to (`None`: until cleared).
#[derive(Debug, Clone, Copy)]
struct Armed {
    fault: Fault,
    remaining: Option<usize>,
}

/// The same inner store with counters, faults and gates shared by every clone.
///
/// Every method is forwarded, [`get_cached`](KeyStore::get_cached) included, so wrapping a store
/// changes nothing until a fault or a gate is set. While [`Method::Get`] is faulted,
/// `get_cached` answers [`CachedLookup::Unknown`] so that lookups reach the fault.
///
/// ```
/// use formbox_auth::{authenticator::AuthError, store::StoreError, Authenticator, KeyFormat, MemoryStore};
/// use formbox_auth::testing::{Fault, Method, TestStore};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = TestStore::new(MemoryStore::new());
/// let authenticator = Authenticator::new(store.clone());
/// let key = KeyFormat::default().generate()?;
///
/// store.fault(Method::Get, Fault::Error);
/// let outcome = authenticator.authenticate(key.expose_secret()).await;
/// assert!(matches!(outcome, Err(AuthError::Store(StoreError::Backend(_)))));
/// assert_eq!(store.calls(Method::Get), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct TestStore<S> {
    inner: Arc<S>,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    calls: HashMap<Method, AtomicUsize>,
    failures: AtomicUsize,
    faults: Mutex<HashMap<Method, Armed>>,
    gates: Mutex<HashMap<Method, Gate>>,
    cached_lookups: AtomicBool,
}

/// Holds the next call of one method after the inner store answered it, until opened:
/// [`TestStore::gate`].
#[derive(Debug, Clone, Default)]
pub struct Gate {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl Gate {
    /// Waits until a call reached the gate (its inner call is done, its answer held back).
    pub async fn entered(&self) {
        self.entered.notified().await;
    }

    /// Lets the held call return, or the next one pass if none is held yet.
    pub fn open(&self) {
        self.release.notify_one();
    }

    async fn pass(&self) {
        self.entered.notify_one();
        self.release.notified().await;
    }
}

impl<S: KeyStore> TestStore<S> {
    /// Wraps `inner` with no fault and no gate.
    pub fn new(inner: S) -> Self {
        let shared = Shared {
            calls: Method::ALL
                .into_iter()
                .map(|method| (method, AtomicUsize::new(0)))
                .collect(),
            cached_lookups: AtomicBool::new(true),
            ..Shared::default()
        };
        Self {
            inner: Arc::new(inner),
            shared: Arc::new(shared),
        }
    }

    /// Makes [`get_cached`](KeyStore::get_cached) always answer [`CachedLookup::Unknown`], so
    /// that every lookup takes the asynchronous path through [`get`](KeyStore::get).
    #[must_use]
    pub fn without_cached_lookups(self) -> Self {
        self.shared.cached_lookups.store(false, Ordering::SeqCst);
        self
    }

    /// The store behind.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How often `method` was called.
    pub fn calls(&self, method: Method) -> usize {
        self.shared
            .calls
            .get(&method)
            .map_or(0, |calls| calls.load(Ordering::SeqCst))
    }

    /// Calls of [`get`](KeyStore::get) and [`get_cached`](KeyStore::get_cached): every way a
    /// request can look a key up.
    pub fn lookups(&self) -> usize {
        self.calls(Method::Get) + self.calls(Method::GetCached)
    }

    /// How many calls a fault answered.
    pub fn failures(&self) -> usize {
        self.shared.failures.load(Ordering::SeqCst)
    }

    /// Injects `fault` into every call of `method` until [`clear_faults`](Self::clear_faults).
    pub fn fault(&self, method: Method, fault: Fault) {
        self.arm(method, fault, None);
    }

    /// Injects `fault` into every call of every method.
    pub fn fault_all(&self, fault: Fault) {
        for method in Method::ALL {
            self.fault(method, fault);
        }
    }

    /// Injects `fault` into the next `times` calls of `method` only.
    pub fn fault_next(&self, method: Method, times: usize, fault: Fault) {
        self.arm(method, fault, Some(times));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Holds the next call of `method`, after the inner store answered it, until the returned
    /// gate is opened: a way to make a change land between a read and a write.
    pub fn gate(&self, method: Method) -> Gate {
        let gate = Gate::default();
        lock(&self.shared.gates).insert(method, gate.clone());
        gate
    }

    fn arm(&self, method: Method, fault: Fault, remaining: Option<usize>) {
        lock(&self.shared.faults).insert(method, Armed { fault, remaining });
    }

    fn count(&self, method: Method) {
        if let Some(calls) = self.shared.calls.get(&method) {
            calls.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Counts a call and takes the fault that applies to it, if any.
    fn enter(&self, method: Method) -> Option<Fault> {
        self.count(method);
        let mut faults = lock(&self.shared.faults);
        let armed = faults.get_mut(&method)?;
        let fault = armed.fault;
        match &mut armed.remaining {
            Some(0) => {
                faults.remove(&method);
                return None;
            }
            Some(remaining) => *remaining -= 1,
            None => {}
        }
        self.shared.failures.fetch_add(1, Ordering::SeqCst);
        Some(fault)
    }

    /// Runs `call` on the inner store under whatever fault and gate apply to `method`;
    /// `refused` is the answer of [`Fault::Refuse`].
    async fn run<T>(
        &self,
        method: Method,
        refused: impl FnOnce() -> T,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.enter(method) {
            None => {}
            Some(Fault::Error) => return Err(StoreError::backend("injected fault")),
            Some(Fault::Timeout) => return Err(StoreError::Timeout),
            Some(Fault::Decode) => return Err(StoreError::Decode("injected fault".into())),
            Some(Fault::Hang) => std::future::pending::<()>().await,
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::Refuse) => return Ok(refused()),
        }
        let answer = call.await;
        let gate = lock(&self.shared.gates).remove(&method);
        if let Some(gate) = gate {
            gate.pass().await;
        }
        answer
    }

    /// The fault armed for `method`, without taking it.
    fn armed(&self, method: Method) -> Option<Fault> {
        lock(&self.shared.faults)
            .get(&method)
            .filter(|armed| armed.remaining != Some(0))
            .map(|armed| armed.fault)
    }
}

/// The faults and gates hold plain data, so a test that panicked while holding the lock left
/// them usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl<S: KeyStore> KeyStore for TestStore<S> {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        self.run(Method::Get, || None, self.inner.get(id)).await
    }

    /// A fault on `get_cached` itself, or on `get`, sends the lookup to `get`; neither counts
    /// as a failure, since nothing failed yet.
    fn get_cached(&self, id: &KeyId) -> CachedLookup {
        self.count(Method::GetCached);
        let enabled = self.shared.cached_lookups.load(Ordering::SeqCst);
        match self.armed(Method::GetCached) {
            Some(Fault::Refuse) => CachedLookup::Absent,
            Some(_) => CachedLookup::Unknown,
            None if !enabled || self.armed(Method::Get).is_some() => CachedLookup::Unknown,
            None => self.inner.get_cached(id),
        }
    }

    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let call = self.inner.insert(record, limit);
        self.run(Method::Insert, || Inserted::IdTaken, call).await
    }

    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        let call = self.inner.update(record, expected_revision);
        self.run(Method::Update, || Updated::Stale, call).await
    }

    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let call = self.inner.list_page(organization, after, limit);
        self.run(Method::ListPage, Vec::new, call).await
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        let call = self.inner.record_usage(usage);
        self.run(Method::RecordUsage, || (), call).await
    }
}

impl<S> Clone for TestStore<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for TestStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestStore")
            .field("inner", &self.inner)
            .field("faults", &*lock(&self.shared.faults))
            .finish_non_exhaustive()
    }
}
