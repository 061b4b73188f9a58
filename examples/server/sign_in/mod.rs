//! The demo's sign-in: the server prints a one-time link, and the browser that opens it manages
//! the demo organization's keys on the Settings › API Keys page for twelve hours.
//!
//! A real host has its own sign-in (passwords, OAuth, its session store); the page needs only
//! [`DashboardAccess`] from it: who is signed in, for which organization.
//!
//! - `GET /sign-in?token=...` consumes a token, opens a session and redirects to the page with
//!   the `formbox_session` cookie.
//! - [`DemoSignIn`] reads that cookie for the page.

mod sessions;

use axum::{
    Router,
    extract::{Query, State},
    http::{
        HeaderMap, HeaderName, HeaderValue, StatusCode,
        header::{CACHE_CONTROL, COOKIE, LOCATION, REFERRER_POLICY, SET_COOKIE},
        request::Parts,
    },
    response::{IntoResponse, Response},
    routing::get,
};
use formbox_auth::{
    OrganizationId,
    dashboard::{DashboardAccess, Viewer},
};
use serde::Deserialize;

use sessions::{RandomnessError, SESSION_LIFETIME, Sessions};

/// The cookie that carries the session id.
const SESSION_COOKIE: &str = "formbox_session";

/// The demo's sessions, and the page they open.
#[derive(Clone, Debug)]
pub struct DemoSignIn {
    sessions: Sessions,
    page: &'static str,
}

impl DemoSignIn {
    /// Sign-ins that land on the page at `page`.
    pub fn new(page: &'static str) -> Self {
        Self {
            sessions: Sessions::new(),
            page,
        }
    }

    /// A one-time token for `/sign-in?token=...`, signing in to `organization`.
    pub fn token(&self, organization: OrganizationId) -> Result<String, RandomnessError> {
        self.sessions.sign_in_token(organization)
    }

    /// `GET /sign-in`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/sign-in", get(sign_in))
            .with_state(self.clone())
    }
}

impl DashboardAccess for DemoSignIn {
    async fn viewer(&self, parts: &mut Parts) -> Option<Viewer> {
        let id = session_id(&parts.headers)?;
        let organization = self.sessions.find(id)?;
        Some(Viewer::new(id, organization))
    }
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    token: String,
}

async fn sign_in(
    State(demo): State<DemoSignIn>,
    headers: HeaderMap,
    Query(SignIn { token }): Query<SignIn>,
) -> Response {
    let id = match demo.sessions.redeem(&token) {
        Ok(Some(id)) => id,
        Ok(None) => {
            let message = "This sign-in link does not work: each works once and for an hour. \
                           Restart the server to print a new one.";
            return (StatusCode::UNAUTHORIZED, message).into_response();
        }
        Err(error) => {
            tracing::error!(%error, "cannot open a session");
            let message = "The server could not create a session. Try the link again.";
            return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
        }
    };
    // HttpOnly: the page's script never needs the session id. SameSite=Strict: no other site
    // can make the browser send it. Secure only behind a proxy that terminated HTTPS (the demo
    // listens on plain http://, where browsers drop a Secure cookie unless the host is
    // localhost). A forged `x-forwarded-proto` can only make the cookie stricter.
    let secure = if forwarded_https(&headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs(),
    );
    let Ok(cookie) = HeaderValue::try_from(cookie) else {
        // Unreachable: the id is hex digits.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static(demo.page));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The sign-in URL holds the (now used) token: never pass it on as a referrer.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(SET_COOKIE, cookie);
    response
}

fn forwarded_https(headers: &HeaderMap) -> bool {
    const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    headers
        .get(FORWARDED_PROTO)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The value of the `formbox_session` cookie, from any `Cookie` header.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
}
