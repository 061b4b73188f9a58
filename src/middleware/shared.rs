//! What every clone of one service shares, and the rejection every path of it answers with.

use std::fmt;

use http::{Extensions, HeaderMap, Request, Response};

use super::OnRejection;
use crate::{
    authenticator::Authenticator,
    events::KeyEvent,
    key::KeyId,
    rate_limit::RateLimits,
    rejection::{Rejection, grpc::is_grpc},
};

/// What every clone of one service shares, so that cloning it per request is one reference count.
pub(crate) struct Shared<C, R> {
    pub(crate) authenticator: Authenticator,
    pub(crate) classifier: C,
    pub(crate) on_rejection: R,
    pub(crate) accept_bearer: bool,
    pub(crate) rate_limits: Option<RateLimits>,
}

impl<C, R> Shared<C, R> {
    /// Reports a rejection as an event and builds its response (a gRPC status for a gRPC request),
    /// which carries the [`Rejection`] in its extensions.
    pub(super) fn reject<B>(
        &self,
        key_id: Option<KeyId>,
        rejection: Rejection,
        answer: Answer,
    ) -> Response<B>
    where
        R: OnRejection<B>,
    {
        let code = rejection.code();
        self.authenticator.count_rejected(&rejection);
        self.authenticator
            .emit(&KeyEvent::Rejected { key_id, code });
        let mut response = if answer.grpc {
            self.on_rejection.on_grpc_rejection(rejection)
        } else {
            self.on_rejection
                .on_rejection_reusing(rejection, answer.headers)
        };
        let extensions = response.extensions_mut();
        if extensions.is_empty() {
            *extensions = answer.extensions;
        }
        // An outer layer (metrics, access logs) reads why without parsing the body.
        extensions.insert(rejection);
        response
    }
}

/// What a rejected request leaves to its answer: whether to answer as gRPC, and its header map
/// and extensions, emptied, which the response reuses rather than allocating its own.
pub(crate) struct Answer {
    grpc: bool,
    headers: HeaderMap,
    extensions: Extensions,
}

impl Answer {
    /// The answer to `request`, which is dropped. Emptying its header map drops the key it
    /// carried: nothing of the request reaches the response.
    pub(crate) fn to<B>(mut request: Request<B>) -> Self {
        let grpc = is_grpc(&request);
        let mut headers = std::mem::take(request.headers_mut());
        headers.clear();
        let mut extensions = std::mem::take(request.extensions_mut());
        extensions.clear();
        Self {
            grpc,
            headers,
            extensions,
        }
    }

    /// The answer to a request already passed on, with nothing to reuse.
    pub(crate) fn new(grpc: bool) -> Self {
        Self {
            grpc,
            headers: HeaderMap::new(),
            extensions: Extensions::new(),
        }
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
pub(super) fn debug_config<C, R>(
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
