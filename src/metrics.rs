//! Counters and histograms through the [`metrics`] facade (feature `metrics`).
//!
//! [`AuthMetrics`] registers every series it writes once, when it is built, from the recorder
//! installed at that moment: a request then costs one atomic increment, not a registry lookup.
//! **Install the recorder first** (for Prometheus,
//! `metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()`), then build
//! `AuthMetrics` and hand it to [`Authenticator::with_metrics`](crate::Authenticator::with_metrics),
//! the one place it is set: the layer, the last-used writer and the manager sharing that
//! authenticator all count into it. Built before any recorder, its handles go nowhere.
//!
//! [`AuthMetrics`] lists the series; none names a key or an organization unless asked.
//!
//! # Example
//!
//! ```
//! use formbox_auth::{ApiKeyAuthLayer, Authenticator, MemoryStore, metrics::AuthMetrics};
//! use metrics_util::debugging::DebuggingRecorder;
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! // A service installs its recorder globally at start; a test can scope one to a closure.
//! let metrics = metrics::with_local_recorder(&recorder, AuthMetrics::new);
//! let authenticator = Authenticator::new(MemoryStore::new()).with_metrics(metrics);
//! let layer = ApiKeyAuthLayer::new(authenticator);
//! # drop(layer);
//! // Every series exists, at zero, before the first request.
//! assert!(snapshotter.snapshot().into_vec().len() >= 16);
//! ```

use std::{fmt, time::Duration};

use metrics::{Counter, Histogram, Unit};

use crate::{context::AuthContext, rejection::Rejection, store::StoreError};

/// Requests the layer let through or turned away.
const REQUESTS_TOTAL: &str = "formbox_auth_requests_total";
/// How long a verification that went to the store took.
const VERIFICATION_DURATION_SECONDS: &str = "formbox_auth_verification_duration_seconds";
/// Lookups the store answered from memory, or not.
const CACHE_LOOKUPS_TOTAL: &str = "formbox_auth_cache_lookups_total";
/// Store calls that failed.
const STORE_ERRORS_TOTAL: &str = "formbox_auth_store_errors_total";
/// Writes of last-used times.
const USAGE_FLUSHES_TOTAL: &str = "formbox_auth_usage_flushes_total";
/// Keys whose last-used time was written.
const USAGE_FLUSHED_KEYS_TOTAL: &str = "formbox_auth_usage_flushed_keys_total";

/// The `kind` label of each [`StoreError`] variant.
const STORE_ERROR_KINDS: [&str; 3] = ["backend", "decode", "timeout"];

/// The store calls whose errors are counted, by their `operation` label.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StoreOperation {
    /// The read of a key being verified.
    Lookup,
    /// The batched write of last-used times.
    RecordUsage,
}

impl StoreOperation {
    const ALL: [Self; 2] = [Self::Lookup, Self::RecordUsage];

    const fn label(self) -> &'static str {
        match self {
            Self::Lookup => "lookup",
            Self::RecordUsage => "record_usage",
        }
    }
}

/// The handles of the crate's metrics, registered once with the recorder installed when it
/// was built, so that counting costs an atomic increment. Cloning is cheap.
///
/// Install the recorder before building it: built before any recorder, its handles go
/// nowhere.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `formbox_auth_requests_total` | counter | `outcome` (`admitted`, `rejected`), `code` (rejected only: a [`Rejection::code`](crate::Rejection::code)) |
/// | `formbox_auth_verification_duration_seconds` | histogram | none: verifications that went to the store |
/// | `formbox_auth_cache_lookups_total` | counter | `result` (`hit`, `miss`) |
/// | `formbox_auth_store_errors_total` | counter | `operation` (`lookup`, `record_usage`), `kind` (`backend`, `decode`, `timeout`) |
/// | `formbox_auth_usage_flushes_total` | counter | `result` (`ok`, `error`) |
/// | `formbox_auth_usage_flushed_keys_total` | counter | none |
///
/// No series names a key or an organization unless [`with_key_labels`](Self::with_key_labels)
/// asks for it: with many keys that is a series each.
///
/// What it counts:
///
/// - every request [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer) lets through
///   (`formbox_auth_requests_total{outcome="admitted"}`) or turns away
///   (`{outcome="rejected",code="invalid_api_key"}` and so on, one series per
///   [`Rejection::code`](crate::Rejection::code));
/// - how long each verification that reached the store took, lookup and checks
///   (`formbox_auth_verification_duration_seconds`, in seconds). A lookup the store answers
///   from memory (a warm [`CachedStore`](crate::store::CachedStore), a
///   [`MemoryStore`](crate::MemoryStore)) is not timed: it takes about 100 ns, and the two
///   clock reads would add almost half of that to every request;
/// - whether the store answered a lookup from memory
///   (`formbox_auth_cache_lookups_total{result="hit"}`) or had to be asked (`"miss"`). A
///   `MemoryStore` counts every lookup as a hit, a store without a cache every one as a miss;
/// - failed store calls of verifications and of last-used writes
///   (`formbox_auth_store_errors_total{operation="lookup"|"record_usage",kind="backend"|"decode"|"timeout"}`);
/// - last-used writes ([`Authenticator::flush_usage`](crate::Authenticator::flush_usage)):
///   `formbox_auth_usage_flushes_total{result="ok"|"error"}` and the keys written,
///   `formbox_auth_usage_flushed_keys_total`.
///
/// Requests are counted by the layer; verifications, lookups and store errors by the
/// [`Authenticator`](crate::Authenticator) that has it, whoever asks it (the management routes
/// too); flushes by the authenticator the flusher runs on (a
/// [`KeyManager`](crate::KeyManager)'s). Give it to the authenticator that the manager and the
/// layer share to see everything:
///
/// ```
/// use formbox_auth::{ApiKeyAuthLayer, Authenticator, KeyManager, MemoryStore, metrics::AuthMetrics};
///
/// // metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()? first.
/// let authenticator = Authenticator::new(MemoryStore::new()).with_metrics(AuthMetrics::new());
/// let manager = KeyManager::new(authenticator.clone());
/// let layer = ApiKeyAuthLayer::new(authenticator); // counts requests, and the flushes
/// # drop(layer);
/// ```
#[derive(Clone)]
pub struct AuthMetrics {
    admitted: Counter,
    /// One per [`Rejection::CODES`] entry, in its order.
    rejected: [Counter; Rejection::CODES.len()],
    verification_duration: Histogram,
    cache_hits: Counter,
    cache_misses: Counter,
    /// By [`StoreOperation`], then by [`STORE_ERROR_KINDS`].
    store_errors: [[Counter; STORE_ERROR_KINDS.len()]; 2],
    flushes_ok: Counter,
    flushes_error: Counter,
    flushed_keys: Counter,
    key_labels: bool,
}

impl AuthMetrics {
    /// Bucket bounds, in seconds, that suit `formbox_auth_verification_duration_seconds`: from
    /// an in-process store (tens of microseconds) to the default store timeout (2 s). The
    /// Prometheus exporter renders histograms as summaries unless given buckets:
    ///
    /// ```no_run
    /// use formbox_auth::metrics::AuthMetrics;
    /// use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    ///
    /// let handle = PrometheusBuilder::new()
    ///     .set_buckets_for_metric(
    ///         Matcher::Full(AuthMetrics::VERIFICATION_DURATION_SECONDS.to_owned()),
    ///         AuthMetrics::VERIFICATION_BUCKETS,
    ///     )?
    ///     .install_recorder()?;
    /// let metrics = AuthMetrics::new();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const VERIFICATION_BUCKETS: &[f64] = &[
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1.0, 2.0, 5.0,
    ];

    /// The name of the request counter.
    pub const REQUESTS_TOTAL: &str = REQUESTS_TOTAL;
    /// The name of the verification latency histogram.
    pub const VERIFICATION_DURATION_SECONDS: &str = VERIFICATION_DURATION_SECONDS;
    /// The name of the cache lookup counter.
    pub const CACHE_LOOKUPS_TOTAL: &str = CACHE_LOOKUPS_TOTAL;
    /// The name of the store error counter.
    pub const STORE_ERRORS_TOTAL: &str = STORE_ERRORS_TOTAL;
    /// The name of the last-used write counter.
    pub const USAGE_FLUSHES_TOTAL: &str = USAGE_FLUSHES_TOTAL;
    /// The name of the counter of keys whose last-used time was written.
    pub const USAGE_FLUSHED_KEYS_TOTAL: &str = USAGE_FLUSHED_KEYS_TOTAL;

    /// Describes the metrics to the installed recorder and registers every series with it,
    /// at zero. Build it after installing the recorder: handles registered before that go
    /// nowhere.
    #[must_use]
    pub fn new() -> Self {
        describe();
        let requests =
            |outcome: &'static str| metrics::counter!(REQUESTS_TOTAL, "outcome" => outcome);
        let rejected = Rejection::CODES
            .map(|code| metrics::counter!(REQUESTS_TOTAL, "outcome" => "rejected", "code" => code));
        let lookups =
            |result: &'static str| metrics::counter!(CACHE_LOOKUPS_TOTAL, "result" => result);
        let store_errors = StoreOperation::ALL.map(|operation| {
            STORE_ERROR_KINDS.map(|kind| {
                metrics::counter!(
                    STORE_ERRORS_TOTAL,
                    "operation" => operation.label(),
                    "kind" => kind,
                )
            })
        });
        let flushes =
            |result: &'static str| metrics::counter!(USAGE_FLUSHES_TOTAL, "result" => result);
        Self {
            admitted: requests("admitted"),
            rejected,
            verification_duration: metrics::histogram!(VERIFICATION_DURATION_SECONDS),
            cache_hits: lookups("hit"),
            cache_misses: lookups("miss"),
            store_errors,
            flushes_ok: flushes("ok"),
            flushes_error: flushes("error"),
            flushed_keys: metrics::counter!(USAGE_FLUSHED_KEYS_TOTAL),
            key_labels: false,
        }
    }

    /// Also counts each admitted request under the `key_id` and `organization` of its key
    /// (off by default), beside the unlabelled total.
    ///
    /// Each key that makes requests then has a series of its own, so turn it on only where the
    /// number of keys is small enough for the metrics backend. Such a request costs a registry
    /// lookup and two small allocations (the labels) on top of the atomic increment. Rejected
    /// requests never carry key labels: before a key is authenticated, its id is whatever the
    /// client sent. Key ids and organization ids are not secret; the key itself never appears
    /// in a label.
    #[must_use]
    pub fn with_key_labels(mut self, enabled: bool) -> Self {
        self.key_labels = enabled;
        self
    }

    /// Whether admitted requests are also counted by key and organization.
    pub fn key_labels(&self) -> bool {
        self.key_labels
    }

    /// Counts a request the layer let through, by its key when asked to.
    #[inline]
    pub(crate) fn admitted(&self, context: &AuthContext) {
        self.admitted.increment(1);
        if self.key_labels {
            self.admitted_by_key(context);
        }
    }

    #[cold]
    fn admitted_by_key(&self, context: &AuthContext) {
        metrics::counter!(
            REQUESTS_TOTAL,
            "outcome" => "admitted",
            "key_id" => context.key_id().to_string(),
            "organization" => context.organization().as_str().to_owned(),
        )
        .increment(1);
    }

    /// Counts a request the layer turned away, by its error code.
    #[inline]
    pub(crate) fn rejected(&self, rejection: &Rejection) {
        self.rejected[rejection.code_index()].increment(1);
    }

    /// Records how long a verification that went to the store took.
    pub(crate) fn verified_by_store(&self, elapsed: Duration) {
        self.verification_duration.record(elapsed.as_secs_f64());
    }

    /// Counts a lookup the store answered from memory (`hit`) or could not (`miss`).
    #[inline]
    pub(crate) fn cache_lookup(&self, hit: bool) {
        if hit {
            self.cache_hits.increment(1);
        } else {
            self.cache_misses.increment(1);
        }
    }

    /// Counts a failed store call.
    pub(crate) fn store_error(&self, operation: StoreOperation, error: &StoreError) {
        let kind = match error {
            StoreError::Backend(_) => 0,
            StoreError::Decode(_) => 1,
            StoreError::Timeout => 2,
        };
        self.store_errors[operation as usize][kind].increment(1);
    }

    /// Counts a write of last-used times and the keys it wrote.
    pub(crate) fn flushed(&self, result: &Result<usize, StoreError>) {
        match result {
            Ok(keys) => {
                self.flushes_ok.increment(1);
                self.flushed_keys
                    .increment(u64::try_from(*keys).unwrap_or(u64::MAX));
            }
            Err(error) => {
                self.flushes_error.increment(1);
                self.store_error(StoreOperation::RecordUsage, error);
            }
        }
    }
}

impl Default for AuthMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for AuthMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthMetrics")
            .field("key_labels", &self.key_labels)
            .finish_non_exhaustive()
    }
}

/// The help texts and units, for exporters that show them.
fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        Unit::Count,
        "Requests the API key layer let through (outcome=admitted) or turned away \
         (outcome=rejected, by error code)."
    );
    metrics::describe_histogram!(
        VERIFICATION_DURATION_SECONDS,
        Unit::Seconds,
        "Time to verify an API key against the key store (lookup and checks); lookups \
         answered from memory are not timed."
    );
    metrics::describe_counter!(
        CACHE_LOOKUPS_TOTAL,
        Unit::Count,
        "API key lookups the store answered from memory (result=hit) or had to fetch \
         (result=miss)."
    );
    metrics::describe_counter!(
        STORE_ERRORS_TOTAL,
        Unit::Count,
        "Key store calls that failed, by operation and kind."
    );
    metrics::describe_counter!(
        USAGE_FLUSHES_TOTAL,
        Unit::Count,
        "Batched writes of last-used times, by result."
    );
    metrics::describe_counter!(
        USAGE_FLUSHED_KEYS_TOTAL,
        Unit::Count,
        "Keys whose last-used time was written."
    );
}
