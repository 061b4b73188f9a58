//! The response future.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::{context::AuthContext, rate_limit::headers::RateLimitFields};

/// The pending store lookup, permission check and rate limit: the request's admission, or the
/// rejection response.
pub(crate) type Verification<Res> = Pin<Box<dyn Future<Output = Result<Admitted, Res>> + Send>>;

/// A request the layer lets through: who made it, and the rate limit fields its response gets.
pub(crate) struct Admitted {
    pub(crate) context: AuthContext,
    pub(crate) fields: Option<RateLimitFields>,
}

pin_project! {
    /// Response future of [`ApiKeyAuth`](super::ApiKeyAuth).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Verifying {
            verification: Verification<S::Response>,
            request: Option<Request<ReqBody>>,
            inner: Option<S>,
        },
        Calling {
            #[pin]
            future: S::Future,
            fields: Option<RateLimitFields>,
        },
        Rejected {
            response: Option<S::Response>,
        },
    }
}

/// Polling a finished future is a bug in the caller, as with every `Future`.
const POLLED_AFTER_COMPLETION: &str = "ResponseFuture polled after completion";

impl<S, ReqBody, ResBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    pub(crate) fn verifying(
        verification: Verification<Response<ResBody>>,
        request: Request<ReqBody>,
        inner: S,
    ) -> Self {
        Self {
            state: State::Verifying {
                verification,
                request: Some(request),
                inner: Some(inner),
            },
        }
    }

    pub(crate) fn calling(future: S::Future, fields: Option<RateLimitFields>) -> Self {
        Self {
            state: State::Calling { future, fields },
        }
    }

    pub(crate) fn rejected(response: Response<ResBody>) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Verifying {
                    verification,
                    request,
                    inner,
                } => {
                    let outcome = ready!(verification.as_mut().poll(cx));
                    match (outcome, request.take(), inner.take()) {
                        (Ok(admitted), Some(mut request), Some(mut inner)) => {
                            request.extensions_mut().insert(admitted.context);
                            State::Calling {
                                future: inner.call(request),
                                fields: admitted.fields,
                            }
                        }
                        (Err(response), _, _) => return Poll::Ready(Ok(response)),
                        _ => panic!("{POLLED_AFTER_COMPLETION}"),
                    }
                }
                StateProj::Calling { future, fields } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(fields) = fields.take() {
                        fields.add_to(response.headers_mut());
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Rejected { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        None => panic!("{POLLED_AFTER_COMPLETION}"),
                    };
                }
            };
            this.state.set(next);
        }
    }
}

impl<S, ReqBody> fmt::Debug for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
