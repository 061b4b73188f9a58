//! The layer: configuration only.

use std::{fmt, sync::Arc};

use tower_layer::Layer;

use super::{ApiKeyAuth, JsonRejection};
use crate::{Authenticator, KeyStore, PermissionPolicy, rate_limit::RateLimits};

/// Authenticates every request by its `api-key` header, enforces the key's permission and, when
/// configured, its rate limit.
///
/// Defaults are the secure ones: keys only from the `api-key` header, permission from the
/// method ([`PermissionPolicy`]), JSON rejections ([`JsonRejection`]). No rate limit unless
/// [`with_rate_limits`](Self::with_rate_limits) sets some.
///
/// ```
/// use formbox_auth::{ApiKeyAuthLayer, MemoryStore, Permission, PermissionPolicy};
/// use http::Method;
///
/// let layer = ApiKeyAuthLayer::new(MemoryStore::new())
///     .with_policy(PermissionPolicy::new().route(Method::POST, "/v1/search", Permission::ReadOnly))
///     .with_bearer(true);
/// ```
#[derive(Clone)]
#[must_use]
pub struct ApiKeyAuthLayer<C = PermissionPolicy, R = JsonRejection> {
    authenticator: Authenticator,
    classifier: C,
    on_rejection: R,
    accept_bearer: bool,
    rate_limits: Option<RateLimits>,
}

/// What every clone of one service shares, so that cloning it per request is one reference count.
pub(crate) struct Shared<C, R> {
    pub(crate) authenticator: Authenticator,
    pub(crate) classifier: C,
    pub(crate) on_rejection: R,
    pub(crate) accept_bearer: bool,
    pub(crate) rate_limits: Option<RateLimits>,
}

impl ApiKeyAuthLayer {
    /// Checks keys of the default format against `store`.
    pub fn new(store: impl KeyStore) -> Self {
        Self::from_authenticator(Authenticator::new(store))
    }

    /// Checks keys with a configured [`Authenticator`] (its format, clock and store).
    pub fn from_authenticator(authenticator: Authenticator) -> Self {
        Self {
            authenticator,
            classifier: PermissionPolicy::new(),
            on_rejection: JsonRejection,
            accept_bearer: false,
            rate_limits: None,
        }
    }
}

impl<C, R> ApiKeyAuthLayer<C, R> {
    /// Takes the required permission from `policy`: the method, with per-route exceptions.
    pub fn with_policy(self, policy: PermissionPolicy) -> ApiKeyAuthLayer<PermissionPolicy, R> {
        self.with_classifier(policy)
    }

    /// Takes the required permission from a [`ClassifyPermission`](crate::ClassifyPermission)
    /// of the application's own.
    pub fn with_classifier<C2>(self, classifier: C2) -> ApiKeyAuthLayer<C2, R> {
        ApiKeyAuthLayer {
            authenticator: self.authenticator,
            classifier,
            on_rejection: self.on_rejection,
            accept_bearer: self.accept_bearer,
            rate_limits: self.rate_limits,
        }
    }

    /// Answers rejections with `on_rejection` instead of the JSON body.
    pub fn with_rejection<R2>(self, on_rejection: R2) -> ApiKeyAuthLayer<C, R2> {
        ApiKeyAuthLayer {
            authenticator: self.authenticator,
            classifier: self.classifier,
            on_rejection,
            accept_bearer: self.accept_bearer,
            rate_limits: self.rate_limits,
        }
    }

    /// Also reads the key from `Authorization: Bearer <key>` (off by default). A request that
    /// carries a key in both is rejected as ambiguous.
    pub fn with_bearer(mut self, accept: bool) -> Self {
        self.accept_bearer = accept;
        self
    }

    /// Limits each key's requests with `limits`, after authentication and the permission
    /// check; see [`RateLimits`].
    ///
    /// ```
    /// use formbox_auth::{ApiKeyAuthLayer, MemoryLimiter, MemoryStore, Permission, RateLimit, RateLimits};
    ///
    /// let layer = ApiKeyAuthLayer::new(MemoryStore::new()).with_rate_limits(
    ///     RateLimits::new(MemoryLimiter::new())
    ///         .default_for(Permission::ReadOnly, RateLimit::new(600, 60)?),
    /// );
    /// # Ok::<(), formbox_auth::InvalidRateLimit>(())
    /// ```
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Counts requests, by outcome and rejection code, into `metrics`, with the verifications
    /// behind them (feature `metrics`): it sets them on this layer's
    /// [`authenticator`](Self::authenticator). Build `metrics` after installing the recorder;
    /// see [`AuthMetrics`](crate::AuthMetrics).
    ///
    /// A [`KeyManager`](crate::KeyManager)'s usage flusher runs on the manager's own
    /// authenticator: for its last-used writes to be counted too, give the metrics to the
    /// authenticator instead
    /// ([`Authenticator::with_metrics`](crate::Authenticator::with_metrics)) and take the layer
    /// from the manager.
    ///
    /// ```
    /// use formbox_auth::{ApiKeyAuthLayer, AuthMetrics, MemoryStore};
    ///
    /// // metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()? first.
    /// let layer = ApiKeyAuthLayer::new(MemoryStore::new()).with_metrics(AuthMetrics::new());
    /// assert!(layer.authenticator().metrics().is_some());
    /// ```
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn with_metrics(mut self, metrics: crate::metrics::AuthMetrics) -> Self {
        self.authenticator = self.authenticator.with_metrics(metrics);
        self
    }

    /// The authenticator keys are checked with.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

impl<S, C: Clone, R: Clone> Layer<S> for ApiKeyAuthLayer<C, R> {
    type Service = ApiKeyAuth<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        let shared = Shared {
            authenticator: self.authenticator.clone(),
            classifier: self.classifier.clone(),
            on_rejection: self.on_rejection.clone(),
            accept_bearer: self.accept_bearer,
            rate_limits: self.rate_limits.clone(),
        };
        ApiKeyAuth::from_shared(inner, Arc::new(shared))
    }
}

impl<C, R> fmt::Debug for ApiKeyAuthLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            authenticator,
            accept_bearer,
            rate_limits,
            ..
        } = self;
        debug_config::<C, R>(
            f,
            "ApiKeyAuthLayer",
            authenticator,
            *accept_bearer,
            rate_limits,
        )
    }
}

impl<C, R> fmt::Debug for Shared<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            authenticator,
            accept_bearer,
            rate_limits,
            ..
        } = self;
        debug_config::<C, R>(f, "Shared", authenticator, *accept_bearer, rate_limits)
    }
}

/// Closures have no `Debug`, so classifier and rejection show as their type names.
fn debug_config<C, R>(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    authenticator: &Authenticator,
    accept_bearer: bool,
    rate_limits: &Option<RateLimits>,
) -> fmt::Result {
    f.debug_struct(name)
        .field("authenticator", authenticator)
        .field("classifier", &std::any::type_name::<C>())
        .field("on_rejection", &std::any::type_name::<R>())
        .field("accept_bearer", &accept_bearer)
        .field("rate_limits", rate_limits)
        .finish()
}
