//! What the layer answers when it turns a request away.

use std::fmt;

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::Permission;

/// Why the layer turned a request away. Each maps to one status and error code.
///
/// The layer also puts it into the response's extensions, whatever [`OnRejection`] built the
/// body, so that an outer layer can count rejections by reason:
/// `response.extensions().get::<Rejection>()`.
///
/// ```
/// use formbox_auth::{Permission, Rejection};
/// use http::StatusCode;
///
/// let rejection = Rejection::InsufficientPermissions { required: Permission::FullAccess };
/// assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
/// assert_eq!(rejection.code(), "insufficient_permissions");
/// assert!(rejection.message().contains("full_access"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The request carries no key.
    MissingKey,
    /// The key is malformed, has a bad checksum, is unknown or has a wrong secret.
    InvalidKey,
    /// The key was revoked.
    RevokedKey,
    /// The key has expired.
    ExpiredKey,
    /// The key's permission is too low for this request.
    InsufficientPermissions {
        /// The permission the request needs.
        required: Permission,
    },
    /// The request carries more than one key.
    AmbiguousKey,
    /// The key store failed or timed out; nothing was let through.
    StoreUnavailable,
}

impl Rejection {
    /// The HTTP status of the response.
    pub const fn status(&self) -> StatusCode {
        match self {
            Self::MissingKey | Self::InvalidKey | Self::RevokedKey | Self::ExpiredKey => {
                StatusCode::UNAUTHORIZED
            }
            Self::InsufficientPermissions { .. } => StatusCode::FORBIDDEN,
            Self::AmbiguousKey => StatusCode::BAD_REQUEST,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The machine-readable error code, such as `invalid_api_key`.
    pub const fn code(&self) -> &'static str {
        self.text().code
    }

    /// A sentence for the person reading the error. It never contains the presented key.
    pub const fn message(&self) -> &'static str {
        self.text().message
    }

    /// The JSON body: `{"error": {"code": ..., "message": ...}}`, plus `required_permission`
    /// for permission errors. Fixed per rejection, so answering one allocates nothing.
    pub const fn json(&self) -> &'static str {
        self.text().json
    }

    const fn text(&self) -> &'static Text {
        match self {
            Self::MissingKey => &MISSING_KEY,
            Self::InvalidKey => &INVALID_KEY,
            Self::RevokedKey => &REVOKED_KEY,
            Self::ExpiredKey => &EXPIRED_KEY,
            Self::InsufficientPermissions {
                required: Permission::FullAccess,
            } => &NEEDS_FULL_ACCESS,
            Self::InsufficientPermissions {
                required: Permission::ReadOnly,
            } => &NEEDS_READ_ONLY,
            Self::AmbiguousKey => &AMBIGUOUS_KEY,
            Self::StoreUnavailable => &STORE_UNAVAILABLE,
        }
    }
}

/// Code, message and the JSON body built from them at compile time.
struct Text {
    code: &'static str,
    message: &'static str,
    json: &'static str,
}

/// Defines a [`Text`]. Codes and messages contain no `"` or `\`, so they need no escaping.
macro_rules! text {
    ($name:ident, $code:literal, $message:literal $(, $extra:literal)?) => {
        const $name: Text = Text {
            code: $code,
            message: $message,
            json: concat!(
                r#"{"error":{"code":""#, $code, r#"","message":""#, $message, '"', $($extra,)? "}}"
            ),
        };
    };
}

text!(
    MISSING_KEY,
    "missing_api_key",
    "this request needs an API key in the `api-key` header"
);
text!(INVALID_KEY, "invalid_api_key", "the API key is not valid");
text!(
    REVOKED_KEY,
    "revoked_api_key",
    "the API key has been revoked"
);
text!(EXPIRED_KEY, "expired_api_key", "the API key has expired");
text!(
    NEEDS_FULL_ACCESS,
    "insufficient_permissions",
    "this request needs an API key with the `full_access` permission",
    r#","required_permission":"full_access""#
);
text!(
    NEEDS_READ_ONLY,
    "insufficient_permissions",
    "this request needs an API key with the `read_only` permission",
    r#","required_permission":"read_only""#
);
text!(
    AMBIGUOUS_KEY,
    "ambiguous_api_key",
    "the request carries more than one API key; send exactly one"
);
text!(
    STORE_UNAVAILABLE,
    "key_store_unavailable",
    "API keys cannot be checked right now; try again later"
);

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Turns a [`Rejection`] into a response. Replace it to match an application's own error format.
///
/// Closures `Fn(Rejection) -> Response<B>` implement it:
///
/// ```
/// use formbox_auth::{ApiKeyAuthLayer, MemoryStore, Rejection};
/// use http::Response;
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
/// `WWW-Authenticate` on 401s.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonRejection;

impl<B: From<&'static str>> OnRejection<B> for JsonRejection {
    fn on_rejection(&self, rejection: Rejection) -> Response<B> {
        // Sized for the two headers: a map's first insert otherwise allocates room for many more.
        let mut headers = HeaderMap::with_capacity(2);
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
        let mut response = Response::new(B::from(rejection.json()));
        *response.status_mut() = rejection.status();
        *response.headers_mut() = headers;
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Rejection; 8] = [
        Rejection::MissingKey,
        Rejection::InvalidKey,
        Rejection::RevokedKey,
        Rejection::ExpiredKey,
        Rejection::InsufficientPermissions {
            required: Permission::FullAccess,
        },
        Rejection::InsufficientPermissions {
            required: Permission::ReadOnly,
        },
        Rejection::AmbiguousKey,
        Rejection::StoreUnavailable,
    ];

    #[test]
    fn every_body_is_json_with_its_code_and_message() {
        for rejection in ALL {
            let body: serde_json::Value = serde_json::from_str(rejection.json()).unwrap();
            assert_eq!(body["error"]["code"], rejection.code());
            assert_eq!(body["error"]["message"], rejection.message());
        }
    }

    #[test]
    fn permission_error_names_the_required_permission() {
        let body: serde_json::Value = serde_json::from_str(
            Rejection::InsufficientPermissions {
                required: Permission::FullAccess,
            }
            .json(),
        )
        .unwrap();
        assert_eq!(body["error"]["required_permission"], "full_access");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("full_access")
        );
    }
}
