//! The response for a rejected request: [`OnRejection`], closures, and the default
//! [`JsonRejection`].

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::rejection::{Rejection, grpc::trailers_only};

/// Turns a [`Rejection`] into a response. Replace it to match an application's own error format.
///
/// Closures `Fn(Rejection) -> Response<B>` implement it:
///
/// ```
/// use formbox_auth::{ApiKeyAuthLayer, MemoryStore, Rejection};
/// use axum::http::Response;
///
/// let layer = ApiKeyAuthLayer::new(MemoryStore::new()).with_rejection(|rejection: Rejection| {
///     Response::builder()
///         .status(rejection.status())
///         .body(format!("<error>{}</error>", rejection.code()))
///         .unwrap_or_default()
/// });
/// ```
pub trait OnRejection<B> {
    /// The response for `rejection`.
    fn on_rejection(&self, rejection: Rejection) -> Response<B>;

    /// The response for `rejection` of a gRPC request (`content-type: application/grpc…`).
    /// [`on_rejection`](Self::on_rejection)'s unless overridden; [`JsonRejection`] answers with
    /// a gRPC status (see [`GrpcRejection`](crate::grpc::GrpcRejection)).
    fn on_grpc_rejection(&self, rejection: Rejection) -> Response<B> {
        self.on_rejection(rejection)
    }

    /// [`on_rejection`](Self::on_rejection), given `headers`: the rejected request's own header
    /// map, emptied, which the layer hands over so that the response can be built in it rather
    /// than in a newly allocated one. A flood of bad keys then costs one allocation less per
    /// request. The default drops it and calls `on_rejection`; [`JsonRejection`] uses it.
    fn on_rejection_reusing(&self, rejection: Rejection, headers: HeaderMap) -> Response<B> {
        drop(headers);
        self.on_rejection(rejection)
    }
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(Rejection) -> Response<B>,
{
    fn on_rejection(&self, rejection: Rejection) -> Response<B> {
        self(rejection)
    }
}

/// The default rejection: the documented JSON body with `Content-Type: application/json`, and
/// `WWW-Authenticate` on 401s; for a gRPC request, its gRPC status in a trailers-only response
/// instead (see [`GrpcRejection`](crate::grpc::GrpcRejection)), so one layer serves both.
///
/// Any body built from both a `&'static str` and a `String` works: `String`, axum's `Body`,
/// `http_body_util::Full<Bytes>`. Only the bodies that carry a value (the rate limit and the wait,
/// or the scope a restricted key lacks) are `String`s.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl<B: From<&'static str> + From<String>> OnRejection<B> for JsonRejection {
    fn on_rejection(&self, rejection: Rejection) -> Response<B> {
        self.on_rejection_reusing(rejection, HeaderMap::new())
    }

    fn on_rejection_reusing(&self, rejection: Rejection, mut headers: HeaderMap) -> Response<B> {
        // Room for the two headers: a new map's first insert otherwise allocates room for many
        // more, and a reused one has room already. (The layer adds three to a rate-limited
        // answer, which is rare enough to grow the map.)
        headers.reserve(2);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if rejection.status() == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("api-key"),
            );
        }
        let body = match rejection.fixed_json() {
            Some(json) => B::from(json),
            None => built_body(rejection),
        };
        let mut response = Response::new(body);
        *response.status_mut() = rejection.status();
        *response.headers_mut() = headers;
        response
    }

    fn on_grpc_rejection(&self, rejection: Rejection) -> Response<B> {
        trailers_only(rejection, B::from(""))
    }
}

/// A body that carries a value, built out of line, so that building a fixed body (the path of
/// every invalid request) stays small enough to inline.
#[cold]
#[inline(never)]
fn built_body<B: From<String>>(rejection: Rejection) -> B {
    B::from(rejection.json().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Rejection; 9] = Rejection::EVERY;

    #[cfg(feature = "metrics")]
    #[test]
    fn json_rejection_builds_the_common_body_types() {
        fn status<B: From<&'static str> + From<String>>() -> Vec<StatusCode> {
            ALL.iter()
                .map(|rejection| {
                    OnRejection::<B>::on_rejection(&JsonRejection, *rejection).status()
                })
                .collect()
        }
        let expected: Vec<_> = ALL.iter().map(Rejection::status).collect();
        assert_eq!(status::<String>(), expected);
        assert_eq!(status::<axum::body::Body>(), expected);
        assert_eq!(
            status::<http_body_util::Full<axum::body::Bytes>>(),
            expected
        );
    }

    #[test]
    fn json_rejection_body_is_the_rejections_json_scope_included() {
        let required = "response_forms:write".parse().unwrap();
        let scope = Rejection::InsufficientScope { required };
        for rejection in ALL.into_iter().chain([scope]) {
            let response: Response<String> = JsonRejection.on_rejection(rejection);
            assert_eq!(*response.body(), rejection.json(), "{rejection:?}");
        }
        let response: Response<String> = JsonRejection.on_rejection(scope);
        assert!(
            response
                .body()
                .ends_with(r#","required_scope":"response_forms:write"}}"#),
            "{}",
            response.body()
        );
    }

    #[test]
    fn json_rejection_answers_grpc_requests_with_an_empty_trailers_only_response() {
        for rejection in ALL {
            let response: Response<String> = JsonRejection.on_grpc_rejection(rejection);
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                response.headers()["grpc-status"],
                rejection.grpc_status().to_string()
            );
            assert!(response.body().is_empty());
            assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));
        }
    }
}
