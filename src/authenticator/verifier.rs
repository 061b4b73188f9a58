//! Verification of a presented key: the one place the rules live.

use std::{fmt, hint::black_box, sync::Arc, time::Duration};

use subtle::ConstantTimeEq;

#[cfg(feature = "metrics")]
use crate::metrics::{AuthMetrics, StoreOperation};
use crate::{
    authenticator::{
        deadline::{Deadline, bounded_by},
        usage::UsageRecorder,
    },
    clock::{Clock, SystemClock},
    context::AuthContext,
    events::{EventSink, KeyEvent, TracingEvents},
    key::{KeyDigest, KeyFormat, KeyId},
    record::KeyRecord,
    rejection::Rejection,
    secret::{SecretMatch, match_secret},
    store::{CachedLookup, KeyStore, StoreError},
};

/// Why a presented key was not accepted.
///
/// Every kind of mismatch (malformed, bad checksum, unknown id, wrong secret) is the one opaque
/// [`InvalidKey`](Self::InvalidKey), so a caller cannot learn which part was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The key is malformed, unknown, or its secret is wrong.
    #[error("the API key is not valid")]
    InvalidKey,
    /// The key was revoked.
    #[error("the API key has been revoked")]
    RevokedKey,
    /// The key has expired.
    #[error("the API key has expired")]
    ExpiredKey,
    /// The store failed, so the key could not be checked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks presented keys against a store.
///
/// It hashes the key, makes exactly one store read, compares digests in constant time (against a
/// dummy digest when the id is unknown, so a miss costs the same), and only then looks at
/// revocation and expiry. Cloning is cheap.
///
/// ```
/// use formbox_auth::{authenticator::AuthError, Authenticator, KeyFormat, KeyRecord, KeyStore, MemoryStore, Permission};
/// use std::time::SystemTime;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let key = KeyFormat::default().generate()?;
/// let record = KeyRecord::new(key.id(), "org_1".into(), "CI", Permission::ReadOnly, key.digest(), SystemTime::now());
/// store.insert(&record, None).await?;
///
/// let authenticator = Authenticator::new(store);
/// let context = authenticator.authenticate(key.expose_secret()).await?;
/// assert_eq!(context.organization().as_str(), "org_1");
/// assert!(matches!(authenticator.authenticate("fbsk_nope").await, Err(AuthError::InvalidKey)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    store: Arc<dyn KeyStore>,
    format: KeyFormat,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
    usage: Arc<UsageRecorder>,
    store_timeout: Option<Duration>,
    #[cfg(feature = "metrics")]
    metrics: Option<AuthMetrics>,
}

/// The store timeout unless changed: bounded wherever Tokio can time it.
const DEFAULT_STORE_TIMEOUT: Option<Duration> = if cfg!(feature = "tokio") {
    Some(Authenticator::DEFAULT_STORE_TIMEOUT)
} else {
    None
};

/// Compared against on an unknown id, so that a miss does the same work as a wrong secret.
const DUMMY_DIGEST: KeyDigest = KeyDigest::from_bytes([0x5a; 32]);

impl Authenticator {
    /// How long a store call may take before it fails with [`StoreError::Timeout`], unless
    /// changed (feature `tokio`): long enough for a healthy database under load, short enough
    /// that an outage answers `503` before clients give up.
    pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);

    /// Verifies keys of the default `fbsk` format against `store`. Any [`KeyStore`] also
    /// converts into an `Authenticator` with `into()`, which is how
    /// [`ApiKeyAuthLayer::new`](crate::ApiKeyAuthLayer::new) and
    /// [`KeyManager::new`](crate::KeyManager::new) take either.
    ///
    /// A store already shared as `Arc<dyn KeyStore>` is kept as it is, not wrapped again.
    pub fn new(store: impl KeyStore) -> Self {
        Self::from_shared(shared(store))
    }

    fn from_shared(store: Arc<dyn KeyStore>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                format: KeyFormat::default(),
                clock: Arc::new(SystemClock),
                events: Arc::new(TracingEvents),
                usage: Arc::default(),
                store_timeout: DEFAULT_STORE_TIMEOUT,
                #[cfg(feature = "metrics")]
                metrics: None,
            }),
        }
    }

    /// Accepts keys of `format` instead of the default `fbsk` one.
    #[must_use]
    pub fn with_format(mut self, format: KeyFormat) -> Self {
        Arc::make_mut(&mut self.inner).format = format;
        self
    }

    /// Reads the time from `clock` for expiry and grace periods.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        Arc::make_mut(&mut self.inner).clock = Arc::new(clock);
        self
    }

    /// Sends [`KeyEvent`]s to `sink` instead of `tracing` ([`TracingEvents`]).
    #[must_use]
    pub fn with_events(mut self, sink: impl EventSink) -> Self {
        Arc::make_mut(&mut self.inner).events = Arc::new(sink);
        self
    }

    /// Gives up on a store call after `timeout` instead of the default 2 s
    /// ([`DEFAULT_STORE_TIMEOUT`](Self::DEFAULT_STORE_TIMEOUT)): a request is then rejected with
    /// `503 key_store_unavailable` ([`StoreError::Timeout`]) instead of waiting on a stuck
    /// database. A [`KeyManager`](crate::KeyManager) operation gets the same time for all its
    /// store calls together, plus a tenth of it to settle a write that failed (whether it landed:
    /// a key is never left changed without the caller knowing), then fails with that error.
    ///
    /// The timeout needs Tokio's timer, which `#[tokio::main]` and `#[tokio::test]` enable; outside
    /// a Tokio runtime, store calls are not bounded.
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    #[must_use]
    pub fn with_store_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.inner).store_timeout = Some(timeout);
        self
    }

    /// Waits for the store as long as it takes. Only for a store that bounds its own calls: with
    /// a stuck database, requests then hang instead of failing.
    #[must_use]
    pub fn without_store_timeout(mut self) -> Self {
        Arc::make_mut(&mut self.inner).store_timeout = None;
        self
    }

    /// Counts verifications, cache lookups, store errors and last-used writes into `metrics`
    /// (feature `metrics`); a layer built on this authenticator also counts its requests
    /// there. Build `metrics` after installing the recorder: see [`AuthMetrics`].
    ///
    /// ```
    /// use formbox_auth::{metrics::AuthMetrics, Authenticator, MemoryStore};
    ///
    /// // metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()? first.
    /// let authenticator = Authenticator::new(MemoryStore::new()).with_metrics(AuthMetrics::new());
    /// assert!(authenticator.metrics().is_some());
    /// ```
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    #[must_use]
    pub fn with_metrics(mut self, metrics: AuthMetrics) -> Self {
        Arc::make_mut(&mut self.inner).metrics = Some(metrics);
        self
    }

    /// The metrics this authenticator counts into, if any (feature `metrics`).
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(&self) -> Option<&AuthMetrics> {
        self.inner.metrics.as_ref()
    }

    /// How long a store call may take, if bounded.
    pub fn store_timeout(&self) -> Option<Duration> {
        self.inner.store_timeout
    }

    /// The key format this authenticator accepts.
    pub fn format(&self) -> &KeyFormat {
        &self.inner.format
    }

    /// The store keys are checked against.
    pub(crate) fn store(&self) -> &dyn KeyStore {
        &*self.inner.store
    }

    /// The clock expiry is decided by.
    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    /// Hands `event` to the configured [`EventSink`].
    pub(crate) fn emit(&self, event: &KeyEvent) {
        self.inner.events.record(event);
    }

    /// Counts a request the layer let through, also under its key's id and organization
    /// when the metrics ask for key labels (feature `metrics`).
    #[inline]
    pub(crate) fn count_admitted(&self, context: &AuthContext) {
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.inner.metrics {
            metrics.admitted(context);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = context;
    }

    /// Counts a request the layer turned away, by its error code (feature `metrics`).
    #[inline]
    pub(crate) fn count_rejected(&self, rejection: &Rejection) {
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.inner.metrics {
            metrics.rejected(rejection);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = rejection;
    }

    /// Writes the last-used times of keys used since the previous flush: one store write for
    /// the whole batch. On failure the batch is kept for the next flush. Returns how many keys
    /// were written.
    ///
    /// The store timeout, when set, bounds the write too; a batch that timed out is kept.
    pub async fn flush_usage(&self) -> Result<usize, StoreError> {
        let inner = &*self.inner;
        let flushed = self
            .bounded(inner.usage.flush(&*inner.store, &*inner.clock))
            .await;
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &inner.metrics {
            metrics.flushed(&flushed);
        }
        flushed
    }

    /// How many keys have a last-used time waiting to be written.
    pub fn pending_usage(&self) -> usize {
        self.inner.usage.pending()
    }

    /// Checks a presented key: offline first, then against the store.
    pub async fn authenticate(&self, key: &str) -> Result<AuthContext, AuthError> {
        let parsed = self
            .inner
            .format
            .parse(key)
            .map_err(|_| AuthError::InvalidKey)?;
        self.verify(parsed.id(), parsed.digest()).await
    }

    /// Checks a key that already passed [`KeyFormat::parse`], given its id and digest.
    pub async fn verify(&self, id: KeyId, digest: KeyDigest) -> Result<AuthContext, AuthError> {
        if let Some(outcome) = self.verify_cached(id, &digest) {
            return outcome;
        }
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.inner.metrics {
            // Counted here rather than in `verify_cached`, which the layer calls before this
            // too: one miss per verification that reaches the store.
            metrics.cache_lookup(false);
            let started = std::time::Instant::now();
            let outcome = self.verify_in_store(id, &digest).await;
            metrics.verified_by_store(started.elapsed());
            if let Err(AuthError::Store(error)) = &outcome {
                metrics.store_error(StoreOperation::Lookup, error);
            }
            return outcome;
        }
        self.verify_in_store(id, &digest).await
    }

    /// The store's answer for `id`, then the rules.
    async fn verify_in_store(
        &self,
        id: KeyId,
        digest: &KeyDigest,
    ) -> Result<AuthContext, AuthError> {
        let record = self.lookup(&id).await?.map(Arc::new);
        self.decide(id, record, digest)
    }

    /// Like [`verify`](Self::verify), if the store can answer from memory without waiting.
    pub(crate) fn verify_cached(
        &self,
        id: KeyId,
        digest: &KeyDigest,
    ) -> Option<Result<AuthContext, AuthError>> {
        let record = match self.inner.store.get_cached(&id) {
            CachedLookup::Found(record) => Some(record),
            CachedLookup::Absent => None,
            CachedLookup::Unknown => return None,
        };
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.inner.metrics {
            metrics.cache_lookup(true);
        }
        Some(self.decide(id, record, digest))
    }

    fn decide(
        &self,
        id: KeyId,
        record: Option<Arc<KeyRecord>>,
        digest: &KeyDigest,
    ) -> Result<AuthContext, AuthError> {
        let Some(record) = record else {
            black_box(DUMMY_DIGEST.ct_eq(black_box(digest)));
            return Err(AuthError::InvalidKey);
        };
        self.check(&record, digest)?;
        self.inner.usage.touch(id);
        Ok(AuthContext::new(record))
    }

    /// One store read, bounded by the store timeout when one is set.
    async fn lookup(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        self.bounded(self.inner.store.get(id)).await
    }

    /// Gives up on a store call after the store timeout, when one is set and a Tokio runtime
    /// can time it.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded_by(call, self.inner.store_timeout).await
    }

    /// A deadline for every store call of one key operation.
    pub(crate) fn deadline(&self) -> Deadline {
        Deadline::after(self.inner.store_timeout)
    }

    /// The rules, in an order that reveals nothing before the secret matched.
    fn check(&self, record: &KeyRecord, digest: &KeyDigest) -> Result<(), AuthError> {
        // Only keys that can expire, or have a superseded secret, pay for reading the clock.
        let now = (record.expires_at.is_some() || record.previous.is_some())
            .then(|| self.inner.clock.now());
        if match_secret(record, digest, now) == SecretMatch::Neither {
            return Err(AuthError::InvalidKey);
        }
        if record.revoked_at.is_some() {
            return Err(AuthError::RevokedKey);
        }
        if now.is_some_and(|now| record.is_expired_at(now)) {
            return Err(AuthError::ExpiredKey);
        }
        Ok(())
    }
}

/// `store` as the `Arc<dyn KeyStore>` the authenticator keeps: itself if it already is one, so
/// that every lookup goes through one pointer, not two.
fn shared<S: KeyStore>(store: S) -> Arc<dyn KeyStore> {
    if let Some(shared) = (&store as &dyn std::any::Any).downcast_ref::<Arc<dyn KeyStore>>() {
        return Arc::clone(shared);
    }
    Arc::new(store)
}

impl<S: KeyStore> From<S> for Authenticator {
    fn from(store: S) -> Self {
        Self::new(store)
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Authenticator");
        debug
            .field("store", &self.inner.store)
            .field("format", &self.inner.format)
            .field("clock", &self.inner.clock)
            .field("pending_usage", &self.pending_usage());
        #[cfg(feature = "metrics")]
        debug.field("metrics", &self.inner.metrics);
        debug.finish_non_exhaustive()
    }
}
