//! The service: authenticates each request, then calls the inner service or rejects.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower_service::Service;

use super::{
    OnRejection, ResponseFuture,
    extract::{mark_keys_sensitive, presented_key},
    future::{Admitted, Verification},
    limit::{check, settle},
    shared::{Answer, Shared},
};
use crate::{
    authenticator::AuthError,
    context::AuthContext,
    key::KeyId,
    permission::Required,
    policy::{ClassifyPermission, Requirement},
    rate_limit::Check,
    rejection::{Rejection, grpc::is_grpc},
};

/// The middleware [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer) produces. See there for configuration.
pub struct ApiKeyAuth<S, C, R> {
    inner: S,
    shared: Arc<Shared<C, R>>,
}

impl<S, C, R> ApiKeyAuth<S, C, R> {
    pub(crate) fn from_shared(inner: S, shared: Arc<Shared<C, R>>) -> Self {
        Self { inner, shared }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for ApiKeyAuth<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: ClassifyPermission<ReqBody> + Send + Sync + 'static,
    R: OnRejection<ResBody> + Send + Sync + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let required = match shared.classifier.requirement(&request) {
            Requirement::Open => return self.call_open(request),
            requirement => requirement.required(),
        };
        let parsed = presented(
            &shared.authenticator,
            request.headers_mut(),
            shared.accept_bearer,
        );
        let (id, digest) = match parsed {
            Ok(parsed) => parsed,
            Err(rejection) => {
                return ResponseFuture::rejected(shared.reject(
                    None,
                    rejection,
                    Answer::to(request),
                ));
            }
        };
        // Hot path: a store that answers from memory and an in-process limiter need no task
        // switch and no boxed future.
        if let Some(outcome) = shared.authenticator.verify_cached(id, &digest) {
            return match authorize(outcome, required) {
                Ok(context) => self.limit_and_call(request, id, context),
                Err(rejection) => ResponseFuture::rejected(shared.reject(
                    Some(id),
                    rejection,
                    Answer::to(request),
                )),
            };
        }
        // The request moves into the response future, so whether to answer as gRPC is decided
        // now.
        let grpc = is_grpc(&request);
        let shared = Arc::clone(shared);
        self.verifying(request, async move {
            let outcome = shared.authenticator.verify(id, digest).await;
            let context = authorize(outcome, required)
                .map_err(|rejection| shared.reject(Some(id), rejection, Answer::new(grpc)))?;
            let fields = match check(&shared, &context) {
                None => None,
                Some(Check::Ready(decision)) => settle(&shared, id, decision, || grpc)?,
                Some(Check::Pending(decision)) => settle(&shared, id, decision.await, || grpc)?,
            };
            shared.authenticator.count_admitted(&context);
            Ok(Admitted { context, fields })
        })
    }
}

impl<S, C, R> ApiKeyAuth<S, C, R> {
    /// Applies the rate limit to an authenticated request, then calls the inner service or
    /// answers the refusal; a limiter that answers later is awaited first.
    fn limit_and_call<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
        id: KeyId,
        context: AuthContext,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        R: OnRejection<ResBody> + Send + Sync + 'static,
        C: Send + Sync + 'static,
        ResBody: Send + 'static,
    {
        let fields = match check(&self.shared, &context) {
            None => None,
            Some(Check::Ready(decision)) => {
                match settle(&self.shared, id, decision, || is_grpc(&request)) {
                    Ok(fields) => fields,
                    Err(response) => return ResponseFuture::rejected(response),
                }
            }
            Some(Check::Pending(decision)) => {
                let grpc = is_grpc(&request);
                let shared = Arc::clone(&self.shared);
                return self.verifying(request, async move {
                    let fields = settle(&shared, id, decision.await, || grpc)?;
                    shared.authenticator.count_admitted(&context);
                    Ok(Admitted { context, fields })
                });
            }
        };
        self.shared.authenticator.count_admitted(&context);
        request.extensions_mut().insert(context);
        ResponseFuture::calling(self.inner.call(request), fields)
    }

    /// Calls the inner service with a request the classifier opened to everyone: no key is
    /// read or checked, and no context is added. Keys it carries anyway are marked sensitive,
    /// as on every other request.
    fn call_open<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        mark_keys_sensitive(request.headers_mut(), self.shared.accept_bearer);
        ResponseFuture::calling(self.inner.call(request), None)
    }

    /// A response future that first awaits `verification`, then calls the inner service.
    fn verifying<ReqBody, ResBody>(
        &mut self,
        request: Request<ReqBody>,
        verification: impl Future<Output = Result<Admitted, Response<ResBody>>> + Send + 'static,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    {
        let verification: Verification<Response<ResBody>> = Box::pin(verification);
        // The clone may not be ready; the original is, so it serves this request.
        let inner = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, inner);
        ResponseFuture::verifying(verification, request, inner)
    }
}

/// Authenticates the key in `headers` with the layer's rules, for checks outside the layer
/// (the management routes). Emits the layer's event on rejection. Any permission passes: the
/// caller decides what it needs.
#[cfg(feature = "management")]
pub(crate) async fn authenticate_headers(
    authenticator: &crate::authenticator::Authenticator,
    headers: &mut http::HeaderMap,
) -> Result<AuthContext, Rejection> {
    let (id, digest) = presented(authenticator, headers, false).inspect_err(|rejection| {
        authenticator.emit(&crate::events::KeyEvent::Rejected {
            key_id: None,
            code: rejection.code(),
        });
    })?;
    let outcome = authenticator.verify(id, digest).await;
    authorize(outcome, None).inspect_err(|rejection| {
        authenticator.emit(&crate::events::KeyEvent::Rejected {
            key_id: Some(id),
            code: rejection.code(),
        });
    })
}

/// The id and digest of the one key `headers` carry, checked offline: what the layer and
/// `authenticate_headers` look up.
fn presented(
    authenticator: &crate::authenticator::Authenticator,
    headers: &mut http::HeaderMap,
    accept_bearer: bool,
) -> Result<(KeyId, crate::key::KeyDigest), Rejection> {
    let raw = presented_key(headers, accept_bearer)?;
    let parsed = authenticator.format().parse_bytes(raw);
    let parsed = parsed.map_err(|_| Rejection::InvalidKey)?;
    Ok((parsed.id(), parsed.digest()))
}

/// Turns a verification outcome and what the request needs (`None`: any valid key) into a
/// context or a rejection.
#[inline]
fn authorize(
    outcome: Result<AuthContext, AuthError>,
    required: impl Into<Option<Required>>,
) -> Result<AuthContext, Rejection> {
    match outcome {
        Ok(context) => match required.into().and_then(|r| context.access().lacks(r)) {
            None => Ok(context),
            Some(lacking) => Err(Rejection::insufficient(lacking)),
        },
        Err(AuthError::InvalidKey) => Err(Rejection::InvalidKey),
        Err(AuthError::RevokedKey) => Err(Rejection::RevokedKey),
        Err(AuthError::ExpiredKey) => Err(Rejection::ExpiredKey),
        Err(AuthError::Store(error)) => {
            tracing::error!(%error, "key store failed; request rejected");
            Err(Rejection::StoreUnavailable)
        }
    }
}

impl<S: Clone, C, R> Clone for ApiKeyAuth<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for ApiKeyAuth<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyAuth")
            .field("inner", &self.inner)
            .field("config", &self.shared)
            .finish()
    }
}
