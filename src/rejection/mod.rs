//! Why a request was turned away: [`Rejection`], a plain value with its HTTP status, error code,
//! message, JSON body and gRPC status in one table. The middleware renders it; metrics count it.

pub(crate) mod grpc;

use std::{borrow::Cow, fmt, time::Duration};

use http::StatusCode;

use crate::{
    permission::{Permission, Required, Scope},
    record::RateLimit,
};

/// Why the layer turned a request away. Each maps to one status and error code.
///
/// The layer also puts it into the response's extensions, whatever [`OnRejection`](crate::middleware::OnRejection) built the
/// body, so that an outer layer can count rejections by reason:
/// `response.extensions().get::<Rejection>()`.
///
/// ```
/// use formbox_auth::{Permission, Rejection};
/// use axum::http::StatusCode;
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
    /// The key's preset is too low for this request, or a restricted key met a request that
    /// needs a preset.
    InsufficientPermissions {
        /// The permission the request needs.
        required: Permission,
    },
    /// The restricted key does not hold the scope this request needs.
    InsufficientScope {
        /// The scope the request needs.
        required: Scope,
    },
    /// The request carries more than one key.
    AmbiguousKey,
    /// The key store failed or timed out; nothing was let through.
    StoreUnavailable,
    /// The key has spent its rate limit. Whatever [`OnRejection`](crate::middleware::OnRejection) built, the layer adds
    /// `Retry-After` and the rate limit header fields to the response.
    RateLimited {
        /// The limit the key is over.
        limit: RateLimit,
        /// Until the key may make a request again.
        retry_after: Duration,
    },
}

impl Rejection {
    /// The HTTP status of the response.
    pub const fn status(&self) -> StatusCode {
        match self {
            Self::MissingKey | Self::InvalidKey | Self::RevokedKey | Self::ExpiredKey => {
                StatusCode::UNAUTHORIZED
            }
            Self::InsufficientPermissions { .. } | Self::InsufficientScope { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::AmbiguousKey => StatusCode::BAD_REQUEST,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
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
    /// for permission errors, `required_scope` for scope errors, and `rate_limit` (`requests`,
    /// `per_seconds`) and `retry_after_seconds` when rate limited. Fixed, so borrowed and
    /// allocation-free, for every rejection but `InsufficientScope` and `RateLimited`.
    pub fn json(&self) -> Cow<'static, str> {
        match self {
            Self::RateLimited { limit, retry_after } => {
                Cow::Owned(rate_limited_json(*limit, *retry_after))
            }
            Self::InsufficientScope { required } => Cow::Owned(opened(
                &INSUFFICIENT_SCOPE,
                &format!(r#","required_scope":"{required}""#),
            )),
            _ => Cow::Borrowed(self.text().json),
        }
    }

    /// The body when it is fixed: every rejection's but those that carry a value
    /// (`RateLimited`, `InsufficientScope`), whose [`json`](Self::json) is built.
    pub(crate) const fn fixed_json(&self) -> Option<&'static str> {
        match self {
            Self::RateLimited { .. } | Self::InsufficientScope { .. } => None,
            _ => Some(self.text().json),
        }
    }

    /// The refusal of a key that lacks `required`.
    pub const fn insufficient(required: Required) -> Self {
        match required {
            Required::Permission(required) => Self::InsufficientPermissions { required },
            Required::Scope(required) => Self::InsufficientScope { required },
        }
    }

    /// One of each rejection, both permissions and a rate limit included: for tests.
    #[cfg(test)]
    pub(crate) const EVERY: [Rejection; 9] = [
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
        Rejection::RateLimited {
            limit: match RateLimit::new(5, 60) {
                Ok(limit) => limit,
                Err(_) => panic!("a valid limit"),
            },
            retry_after: Duration::from_millis(11_500),
        },
    ];

    /// Every error code, each once, in the order of [`code_index`](Self::code_index): what a
    /// per-code counter is registered for.
    #[cfg(feature = "metrics")]
    pub(crate) const CODES: [&'static str; 9] = [
        MISSING_KEY.code,
        INVALID_KEY.code,
        REVOKED_KEY.code,
        EXPIRED_KEY.code,
        NEEDS_FULL_ACCESS.code,
        AMBIGUOUS_KEY.code,
        STORE_UNAVAILABLE.code,
        RATE_LIMITED.code,
        INSUFFICIENT_SCOPE.code,
    ];

    /// Where [`code`](Self::code) is in [`CODES`](Self::CODES).
    #[cfg(feature = "metrics")]
    pub(crate) const fn code_index(&self) -> usize {
        match self {
            Self::MissingKey => 0,
            Self::InvalidKey => 1,
            Self::RevokedKey => 2,
            Self::ExpiredKey => 3,
            Self::InsufficientPermissions { .. } => 4,
            Self::AmbiguousKey => 5,
            Self::StoreUnavailable => 6,
            Self::RateLimited { .. } => 7,
            Self::InsufficientScope { .. } => 8,
        }
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
            Self::RateLimited { .. } => &RATE_LIMITED,
            Self::InsufficientScope { .. } => &INSUFFICIENT_SCOPE,
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
    INSUFFICIENT_SCOPE,
    "insufficient_scope",
    "this request needs an API key holding the scope in `required_scope`"
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

text!(
    RATE_LIMITED,
    "rate_limited",
    "this API key has made too many requests; retry after the time in `Retry-After`"
);

/// The rate-limited body: the fixed one with the limit and the wait.
fn rate_limited_json(limit: RateLimit, retry_after: Duration) -> String {
    let (requests, per_seconds) = (limit.requests(), limit.per_seconds());
    let seconds = delay_seconds(retry_after);
    opened(
        &RATE_LIMITED,
        &format!(
            r#","rate_limit":{{"requests":{requests},"per_seconds":{per_seconds}}},"retry_after_seconds":{seconds}"#
        ),
    )
}

/// A fixed body opened again to add `fields` (JSON members, each led by a comma) to its error.
fn opened(text: &Text, fields: &str) -> String {
    let head = text.json.strip_suffix("}}").unwrap_or(text.json);
    format!("{head}{fields}}}}}")
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A wait as HTTP's delay-seconds: whole seconds, rounded up, and at least 1, so that a client
/// that waits that long finds a request admitted.
pub(crate) fn delay_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    const ALL: [Rejection; 9] = Rejection::EVERY;

    #[test]
    fn every_body_is_json_with_its_code_and_message() {
        for rejection in ALL {
            let body: serde_json::Value = serde_json::from_str(&rejection.json()).unwrap();
            assert_eq!(body["error"]["code"], rejection.code());
            assert_eq!(body["error"]["message"], rejection.message());
        }
    }

    #[test]
    fn codes_lists_each_code_once_where_code_index_says() {
        for rejection in ALL {
            assert_eq!(
                Rejection::CODES[rejection.code_index()],
                rejection.code(),
                "{rejection:?}"
            );
        }
        let distinct: std::collections::HashSet<_> = Rejection::CODES.iter().collect();
        assert_eq!(distinct.len(), Rejection::CODES.len());
    }

    #[test]
    fn permission_error_names_the_required_permission() {
        let body: serde_json::Value = serde_json::from_str(
            &Rejection::InsufficientPermissions {
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

    #[test]
    fn scope_error_names_the_required_scope() {
        let resources = crate::permission::Resources::new(["rejection_forms"]).unwrap();
        let required = resources.scope("rejection_forms:write").unwrap();
        let rejection = Rejection::InsufficientScope { required };
        assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
        #[cfg(feature = "metrics")]
        assert_eq!(
            Rejection::CODES[rejection.code_index()],
            "insufficient_scope"
        );
        let body: serde_json::Value = serde_json::from_str(&rejection.json()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": "insufficient_scope",
                "message": rejection.message(),
                "required_scope": "rejection_forms:write",
            }})
        );
        assert_eq!(
            Rejection::insufficient(Required::Scope(required)),
            rejection
        );
    }

    #[test]
    fn rate_limited_body_has_the_limit_and_the_wait_in_whole_seconds() {
        let rejection = ALL[8];
        assert_eq!(rejection.status(), StatusCode::TOO_MANY_REQUESTS);
        let body: serde_json::Value = serde_json::from_str(&rejection.json()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": "rate_limited",
                "message": rejection.message(),
                "rate_limit": {"requests": 5, "per_seconds": 60},
                "retry_after_seconds": 12,
            }})
        );
    }

    #[test]
    fn fixed_bodies_are_borrowed() {
        for rejection in &ALL[..8] {
            assert!(
                matches!(rejection.json(), Cow::Borrowed(_)),
                "{rejection:?}"
            );
        }
    }

    #[test]
    fn delay_seconds_round_up_to_at_least_one() {
        assert_eq!(delay_seconds(Duration::ZERO), 1);
        assert_eq!(delay_seconds(Duration::from_nanos(1)), 1);
        assert_eq!(delay_seconds(Duration::from_secs(12)), 12);
        assert_eq!(delay_seconds(Duration::from_millis(12_001)), 13);
    }
}
