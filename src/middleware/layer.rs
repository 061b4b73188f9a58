//! The layer: configuration only.

use std::{fmt, sync::Arc};

use tower_layer::Layer;

use super::{
    ApiKeyAuth, JsonRejection,
    shared::{Shared, debug_config},
};
use crate::{authenticator::Authenticator, policy::PermissionPolicy, rate_limit::RateLimits};

/// Authenticates every request by its `api-key` header, enforces the key's permission and, when
/// configured, its rate limit.
///
/// Defaults are the secure ones: keys only from the `api-key` header, permission from the
/// method ([`PermissionPolicy`]), JSON rejections ([`JsonRejection`]). No rate limit unless
/// [`with_rate_limits`](Self::with_rate_limits) sets some.
///
/// ```
/// use formbox_auth::{ApiKeyAuthLayer, MemoryStore, Permission, PermissionPolicy};
/// use axum::http::Method;
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

impl ApiKeyAuthLayer {
    /// Checks keys against a store, or with a configured [`Authenticator`] (its format, clock,
    /// events, metrics and store timeout): anything that converts into one.
    ///
    /// Give it a [`KeyManager`](crate::KeyManager)'s authenticator
    /// (`manager.authenticator().clone()`), so that the manager's changes take effect for the
    /// next request and the layer's last-used times reach the manager's store.
    pub fn new(authenticator: impl Into<Authenticator>) -> Self {
        Self {
            authenticator: authenticator.into(),
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

    /// Takes the required permission from a [`ClassifyPermission`](crate::policy::ClassifyPermission)
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
    /// use formbox_auth::{rate_limit::{MemoryLimiter, RateLimit, RateLimits}, ApiKeyAuthLayer, MemoryStore, Permission};
    ///
    /// let layer = ApiKeyAuthLayer::new(MemoryStore::new()).with_rate_limits(
    ///     RateLimits::new(MemoryLimiter::new())
    ///         .default_for(Permission::ReadOnly, RateLimit::new(600, 60)?),
    /// );
    /// # Ok::<(), formbox_auth::rate_limit::InvalidRateLimit>(())
    /// ```
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
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
