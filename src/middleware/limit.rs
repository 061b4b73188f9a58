//! Enforcing the layer's [`RateLimits`](crate::rate_limit::RateLimits) on an authenticated request.

use http::Response;

use super::{
    OnRejection,
    shared::{Answer, Shared},
};
use crate::{
    context::AuthContext,
    key::KeyId,
    rate_limit::{
        Check, RateDecision,
        headers::{RateLimitFields, add_retry_after},
    },
    rejection::Rejection,
};

/// Spends one request of `context`'s key, or `None` if the layer does not limit it.
pub(crate) fn check<C, R>(shared: &Shared<C, R>, context: &AuthContext) -> Option<Check> {
    shared.rate_limits.as_ref()?.check(context)
}

/// Applies a decision: the fields for the response if the request is admitted, else the
/// `429` response (a gRPC status for a gRPC request), which carries them whatever
/// [`OnRejection`] built.
pub(crate) fn settle<C, R: OnRejection<B>, B>(
    shared: &Shared<C, R>,
    key_id: KeyId,
    decision: RateDecision,
    grpc: impl FnOnce() -> bool,
) -> Result<Option<RateLimitFields>, Response<B>> {
    let fields = shared
        .rate_limits
        .as_ref()
        .and_then(|l| l.fields(&decision));
    if decision.allowed {
        return Ok(fields);
    }
    let rejection = Rejection::RateLimited {
        limit: decision.limit,
        retry_after: decision.retry_after,
    };
    let mut response = shared.reject(Some(key_id), rejection, Answer::new(grpc()));
    let headers = response.headers_mut();
    add_retry_after(headers, decision.retry_after);
    if let Some(fields) = fields {
        fields.add_to(headers);
    }
    Err(response)
}
