//! [`RateLimits`]: which keys the layer limits, with which limiter, and whether responses say so.

use std::{fmt, sync::Arc};

use http::HeaderValue;

use super::{
    Check, RateDecision, RateLimit, RateLimiter,
    headers::{RateLimitFields, key_policy_field, static_policy_field},
};
use crate::{
    context::AuthContext,
    permission::{Access, Permission},
};

/// Per-key rate limits for [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer): a limiter, a default
/// limit per permission, and whether responses carry the rate limit header fields.
///
/// A key's own limit ([`AuthContext::rate_limit`]) wins; a key without one gets the default of
/// its permission (a restricted key: `full_access`'s if any of its scopes writes,
/// `read_only`'s otherwise); a key with neither is not limited. Without any `RateLimits`, nothing is.
///
/// Requests are counted after authentication and the permission check: a wrong secret or a
/// request the key may not make never spends its budget. A request over the limit is answered
/// `429 Too Many Requests` with the code `rate_limited`, `Retry-After` (whole seconds, rounded
/// up) and the limit and the wait in the JSON body.
///
/// The rate limit fields of draft-ietf-httpapi-ratelimit-headers-10,
/// `RateLimit-Policy: "default";q=600;w=60` (the limit) and `RateLimit: "default";r=599;t=1`
/// (requests left, and seconds until one more fits), come with every refusal, and with every
/// admitted response of a limited key unless [`without_headers`](Self::without_headers).
///
/// ```
/// use formbox_auth::{rate_limit::{MemoryLimiter, RateLimit, RateLimits}, ApiKeyAuthLayer, MemoryStore, Permission};
///
/// let limits = RateLimits::new(MemoryLimiter::new())
///     .default_for(Permission::ReadOnly, RateLimit::new(600, 60)?)
///     .default_for(Permission::FullAccess, RateLimit::new(120, 60)?);
/// let layer = ApiKeyAuthLayer::new(MemoryStore::new()).with_rate_limits(limits);
/// # Ok::<(), formbox_auth::rate_limit::InvalidRateLimit>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct RateLimits {
    limiter: Arc<dyn RateLimiter>,
    read_only: Option<DefaultLimit>,
    full_access: Option<DefaultLimit>,
    headers: bool,
}

/// A default limit, with its `RateLimit-Policy` field made once rather than per response.
#[derive(Debug, Clone)]
struct DefaultLimit {
    limit: RateLimit,
    field: Option<HeaderValue>,
}

impl RateLimits {
    /// Limits kept by `limiter` (a [`MemoryLimiter`](crate::rate_limit::MemoryLimiter) on one instance),
    /// with no defaults and with headers.
    pub fn new(limiter: impl RateLimiter) -> Self {
        Self {
            limiter: Arc::new(limiter),
            read_only: None,
            full_access: None,
            headers: true,
        }
    }

    /// Limits keys with `permission` and no limit of their own to `limit`.
    pub fn default_for(mut self, permission: Permission, limit: RateLimit) -> Self {
        let default = Some(DefaultLimit {
            limit,
            field: static_policy_field(limit),
        });
        match permission {
            Permission::ReadOnly => self.read_only = default,
            Permission::FullAccess => self.full_access = default,
        }
        self
    }

    /// Leaves the rate limit fields off admitted responses; refusals still carry them.
    pub fn without_headers(mut self) -> Self {
        self.headers = false;
        self
    }

    /// The limit of `context`'s key: its own, else its permission's default.
    pub(crate) fn limit_for(&self, context: &AuthContext) -> Option<RateLimit> {
        let default = || self.default(context.access()).map(|d| d.limit);
        context.rate_limit().or_else(default)
    }

    /// Spends one request of `context`'s key, or `None` if the key is not limited.
    pub(crate) fn check(&self, context: &AuthContext) -> Option<Check> {
        let limit = self.limit_for(context)?;
        Some(self.limiter.check(context.key_id(), limit))
    }

    /// The header fields for `decision`: always on a refusal, on an admission unless turned
    /// off.
    pub(crate) fn fields(&self, decision: &RateDecision) -> Option<RateLimitFields> {
        if decision.allowed && !self.headers {
            return None;
        }
        RateLimitFields::new(self.policy(decision.limit)?, decision)
    }

    /// The `RateLimit-Policy` field of `limit`: a default's, or a key's own, each made once.
    fn policy(&self, limit: RateLimit) -> Option<HeaderValue> {
        let made = [&self.read_only, &self.full_access]
            .into_iter()
            .flatten()
            .find(|default| default.limit == limit);
        match made {
            Some(default) => default.field.clone(),
            None => key_policy_field(limit),
        }
    }

    /// The default of a key with `access`: a restricted key has the default of the preset its
    /// scopes reach up to, `full_access`'s if any scope writes and `read_only`'s otherwise, so
    /// that restricting a key never lifts its limit.
    fn default(&self, access: &Access) -> Option<&DefaultLimit> {
        let writes = match access {
            Access::ReadOnly => false,
            Access::FullAccess => true,
            Access::Restricted(scopes) => scopes.writes_any(),
        };
        if writes {
            self.full_access.as_ref()
        } else {
            self.read_only.as_ref()
        }
    }
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit = |default: &Option<DefaultLimit>| default.as_ref().map(|d| d.limit);
        f.debug_struct("RateLimits")
            .field("limiter", &self.limiter)
            .field("read_only", &limit(&self.read_only))
            .field("full_access", &limit(&self.full_access))
            .field("headers", &self.headers)
            .finish()
    }
}
