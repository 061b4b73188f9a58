//! Who may use the management API behind the settings page: a signed-in browser, never an API key.

use axum::{
    Json,
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use formbox_auth::{OrganizationId, management::ManagementAccess};
use serde_json::json;

use super::session::{Session, Sessions};

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "formbox_session";

/// The header every write must carry, holding the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Management requests act for the organization of the session named by the `formbox_session`
/// cookie; writes must also send that session's CSRF token in `x-csrf-token`. An `api-key`
/// header is ignored: a key pasted into a browser must not become a way into the page's API.
#[derive(Clone, Debug)]
pub struct SessionAccess {
    sessions: Sessions,
}

impl SessionAccess {
    pub fn new(sessions: Sessions) -> Self {
        Self { sessions }
    }

    /// The session a request belongs to, whatever its method.
    pub fn session(&self, headers: &HeaderMap) -> Option<Session> {
        session_id(headers).and_then(|id| self.sessions.find(id))
    }

    fn check(&self, parts: &Parts) -> Result<OrganizationId, AccessRejection> {
        let session = self
            .session(&parts.headers)
            .ok_or(AccessRejection::NotSignedIn)?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .map_or(&[][..], |value| value.as_bytes());
            if !session.csrf_token_matches(presented) {
                return Err(AccessRejection::InvalidCsrfToken);
            }
        }
        Ok(session.organization().clone())
    }
}

impl ManagementAccess for SessionAccess {
    type Rejection = AccessRejection;

    fn organization(
        &self,
        parts: &mut Parts,
    ) -> impl Future<Output = Result<OrganizationId, AccessRejection>> + Send {
        std::future::ready(self.check(parts))
    }
}

/// Why a management request from the page was refused, answered in the API's error format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessRejection {
    /// No cookie, or one naming no live session: 401.
    NotSignedIn,
    /// A write without the session's CSRF token: 403.
    InvalidCsrfToken,
}

impl IntoResponse for AccessRejection {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Self::NotSignedIn => (
                StatusCode::UNAUTHORIZED,
                "not_signed_in",
                "You are not signed in, or your session has expired. Open the sign-in link the \
                 server printed at start.",
            ),
            Self::InvalidCsrfToken => (
                StatusCode::FORBIDDEN,
                "invalid_csrf_token",
                "This request did not carry the page's CSRF token in x-csrf-token. Reload the \
                 page and try again.",
            ),
        };
        let body = json!({"error": {"code": code, "message": message}});
        let mut response = (status, Json(body)).into_response();
        // Tell outer layers (logging, metrics) why, without parsing the body.
        response.extensions_mut().insert(self);
        response
    }
}

/// The value of the `formbox_session` cookie, from any `Cookie` header. A cookie that is not
/// visible ASCII names no session.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
}
