//! What the layer answers when it turns a request away.

use std::fmt;

use http::{HeaderValue, Response, StatusCode, header};

use crate::Permission;

/// Why the layer turned a request away. Each maps to one status and error code.
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
        match self {
            Self::MissingKey => "missing_api_key",
            Self::InvalidKey => "invalid_api_key",
            Self::RevokedKey => "revoked_api_key",
            Self::ExpiredKey => "expired_api_key",
            Self::InsufficientPermissions { .. } => "insufficient_permissions",
            Self::AmbiguousKey => "ambiguous_api_key",
            Self::StoreUnavailable => "key_store_unavailable",
        }
    }

    /// A sentence for the person reading the error. It never contains the presented key.
    pub const fn message(&self) -> &'static str {
        match self {
            Self::MissingKey => "this request needs an API key in the `api-key` header",
            Self::InvalidKey => "the API key is not valid",
            Self::RevokedKey => "the API key has been revoked",
            Self::ExpiredKey => "the API key has expired",
            Self::InsufficientPermissions {
                required: Permission::FullAccess,
            } => "this request needs an API key with the `full_access` permission",
            Self::InsufficientPermissions {
                required: Permission::ReadOnly,
            } => "this request needs an API key with the `read_only` permission",
            Self::AmbiguousKey => "the request carries more than one API key; send exactly one",
            Self::StoreUnavailable => "API keys cannot be checked right now; try again later",
        }
    }

    /// The JSON body: `{"error": {"code": ..., "message": ..., ...}}`.
    ///
    /// Codes and messages are fixed ASCII without quotes or backslashes, so no escaping is needed.
    pub fn to_json(&self) -> String {
        let extra = match self {
            Self::InsufficientPermissions { required } => {
                format!(r#","required_permission":"{}""#, required.as_str())
            }
            _ => String::new(),
        };
        format!(
            r#"{{"error":{{"code":"{}","message":"{}"{extra}}}}}"#,
            self.code(),
            self.message()
        )
    }
}

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

impl<B: From<String>> OnRejection<B> for JsonRejection {
    fn on_rejection(&self, rejection: Rejection) -> Response<B> {
        let mut response = Response::new(B::from(rejection.to_json()));
        *response.status_mut() = rejection.status();
        let headers = response.headers_mut();
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
            let body: serde_json::Value = serde_json::from_str(&rejection.to_json()).unwrap();
            assert_eq!(body["error"]["code"], rejection.code());
            assert_eq!(body["error"]["message"], rejection.message());
        }
    }

    #[test]
    fn permission_error_names_the_required_permission() {
        let body: serde_json::Value = serde_json::from_str(
            &Rejection::InsufficientPermissions {
                required: Permission::FullAccess,
            }
            .to_json(),
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
