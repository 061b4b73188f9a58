//! The gRPC status of a rejection, and the trailers-only response that carries it.

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};

use super::Rejection;

static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

impl Rejection {
    /// The gRPC status code a gRPC request is rejected with, as `tonic::Code` numbers them:
    /// `UNAUTHENTICATED` (16) for missing, invalid, revoked and expired keys,
    /// `PERMISSION_DENIED` (7), `INVALID_ARGUMENT` (3) for more than one key, `UNAVAILABLE`
    /// (14) when the store failed and `RESOURCE_EXHAUSTED` (8) when rate limited.
    ///
    /// ```
    /// use formbox_auth::{Permission, Rejection};
    ///
    /// assert_eq!(Rejection::MissingKey.grpc_status(), 16);
    /// let denied = Rejection::InsufficientPermissions { required: Permission::FullAccess };
    /// assert_eq!(denied.grpc_status(), 7);
    /// ```
    pub const fn grpc_status(&self) -> i32 {
        match self {
            Self::MissingKey | Self::InvalidKey | Self::RevokedKey | Self::ExpiredKey => 16,
            Self::InsufficientPermissions { .. } | Self::InsufficientScope { .. } => 7,
            Self::AmbiguousKey => 3,
            Self::StoreUnavailable => 14,
            Self::RateLimited { .. } => 8,
        }
    }

    /// [`grpc_status`](Self::grpc_status) as the `grpc-status` value.
    const fn grpc_status_text(&self) -> &'static str {
        match self.grpc_status() {
            16 => "16",
            7 => "7",
            3 => "3",
            14 => "14",
            _ => "8",
        }
    }
}

/// Whether `request` is a gRPC call: its content type is `application/grpc` or a subtype such
/// as `application/grpc+proto` (or gRPC-Web's `application/grpc-web…`, which accepts the same
/// trailers-only answer).
pub(crate) fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// The trailers-only response gRPC requires for a call that fails before any message: HTTP
/// `200`, with the status in the headers and `body` empty, so that the headers end the stream.
pub(crate) fn trailers_only<B>(rejection: Rejection, body: B) -> Response<B> {
    let mut headers = HeaderMap::with_capacity(3);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert(
        &GRPC_STATUS,
        HeaderValue::from_static(rejection.grpc_status_text()),
    );
    // gRPC percent-encodes `grpc-message` outside printable ASCII and `%`; the messages are
    // fixed printable ASCII without `%` (a test checks), and so are scopes, so they go as they
    // are.
    headers.insert(&GRPC_MESSAGE, grpc_message(rejection));
    let mut response = Response::new(body);
    *response.headers_mut() = headers;
    response
}

/// The message, naming the scope a scope error is about: gRPC has no body to carry it.
fn grpc_message(rejection: Rejection) -> HeaderValue {
    match rejection {
        Rejection::InsufficientScope { required } => HeaderValue::try_from(format!(
            "this request needs an API key holding `{required}`"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(rejection.message())),
        _ => HeaderValue::from_static(rejection.message()),
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;
    use crate::permission::Permission;

    #[test]
    fn each_rejection_has_its_grpc_status() {
        let statuses: Vec<i32> = Rejection::EVERY
            .iter()
            .map(Rejection::grpc_status)
            .collect();
        assert_eq!(statuses, [16, 16, 16, 16, 7, 7, 3, 14, 8]);
        for rejection in Rejection::EVERY {
            assert_eq!(
                rejection.grpc_status_text(),
                rejection.grpc_status().to_string()
            );
        }
    }

    #[test]
    fn a_trailers_only_response_is_200_with_the_status_in_its_headers() {
        let denied = Rejection::InsufficientPermissions {
            required: Permission::FullAccess,
        };
        let response = trailers_only(denied, ());
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "application/grpc");
        assert_eq!(headers["grpc-status"], "7");
        let message = headers["grpc-message"].to_str().unwrap();
        assert!(message.contains("`full_access`"), "{message}");
    }

    #[test]
    fn a_scope_refusal_names_the_scope_in_its_message() {
        let resources = crate::permission::Resources::new(["grpc_forms"]).unwrap();
        let required = resources.scope("grpc_forms:write").unwrap();
        let response = trailers_only(Rejection::InsufficientScope { required }, ());
        assert_eq!(response.headers()["grpc-status"], "7");
        assert_eq!(
            response.headers()["grpc-message"],
            "this request needs an API key holding `grpc_forms:write`"
        );
    }

    #[test]
    fn messages_need_no_percent_encoding() {
        for rejection in Rejection::EVERY {
            let message = rejection.message();
            assert!(
                message
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'%'),
                "{message}"
            );
        }
    }

    #[test]
    fn grpc_content_types_are_recognised() {
        let with = |content_type: &str| {
            Request::post("/formbox.v1.Forms/ListForms")
                .header(header::CONTENT_TYPE, content_type)
                .body(())
                .unwrap()
        };
        assert!(is_grpc(&with("application/grpc")));
        assert!(is_grpc(&with("application/grpc+proto")));
        assert!(is_grpc(&with("application/grpc-web+proto")));
        assert!(!is_grpc(&with("application/json")));
        assert!(!is_grpc(&Request::post("/x").body(()).unwrap()));
    }
}
