//! The Settings › API Keys page: sign-in links, browser sessions, the page itself and the
//! management API it calls.
//!
//! - `GET /dashboard/sign-in?token=...` consumes a one-time sign-in token (the server prints a link
//!   at start), opens a session and redirects to the page with the `formbox_session` cookie.
//! - `GET /settings/api-keys` is the page (HTML, CSS and a little JavaScript, no build step), with
//!   the session's CSRF token in `<meta name="csrf-token">`.
//! - `/dashboard/api/...` is the crate's `ManagementApi`, reached only with the session cookie,
//!   and for writes the CSRF token in `x-csrf-token` ([`SessionAccess`]).

mod access;
mod session;

use axum::{
    Router,
    extract::{Query, State},
    http::{
        HeaderMap, HeaderName, HeaderValue, StatusCode,
        header::{
            CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
            SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
        },
    },
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use formbox_auth::{KeyManager, OrganizationId, management::ManagementApi};
use serde::Deserialize;

use access::{SESSION_COOKIE, SessionAccess};
use session::{RandomnessError, SESSION_LIFETIME, Sessions};

/// Where the page lives.
pub const PAGE_PATH: &str = "/settings/api-keys";

const PAGE_HTML: &str = include_str!("page.html");
const NOTICE_HTML: &str = include_str!("notice.html");
const PAGE_CSS: &str = include_str!("page.css");
const PAGE_JS: &str = include_str!("page.js");

/// Only the server's own files, no inline code: what the page inserts from the API cannot run.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// The page's routes and the sessions they share.
#[derive(Clone)]
pub struct Dashboard {
    manager: KeyManager,
    sessions: Sessions,
}

impl Dashboard {
    pub fn new(manager: KeyManager) -> Self {
        Self {
            manager,
            sessions: Sessions::new(),
        }
    }

    /// A one-time token for `/dashboard/sign-in?token=...`, signing in to `organization`.
    pub fn sign_in_token(&self, organization: OrganizationId) -> Result<String, RandomnessError> {
        self.sessions.sign_in_token(organization)
    }

    /// The sign-in route, the page, its files and the management API behind it.
    pub fn router(&self) -> Router {
        let access = SessionAccess::new(self.sessions.clone());
        let api = ManagementApi::new(self.manager.clone())
            .with_access(access.clone())
            .router()
            // A created key is in a response body: no cache may keep it.
            .layer(middleware::map_response(no_store));
        Router::new()
            .route("/dashboard/sign-in", get(sign_in))
            .route(PAGE_PATH, get(page))
            .route("/dashboard/page.css", get(|| asset("text/css", PAGE_CSS)))
            .route(
                "/dashboard/page.js",
                get(|| asset("text/javascript", PAGE_JS)),
            )
            .with_state(Pages {
                sessions: self.sessions.clone(),
                access,
            })
            .nest("/dashboard/api", api)
    }
}

#[derive(Clone)]
struct Pages {
    sessions: Sessions,
    access: SessionAccess,
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    token: String,
}

async fn sign_in(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Query(SignIn { token }): Query<SignIn>,
) -> Response {
    let id = match pages.sessions.redeem(&token) {
        Ok(Some(id)) => id,
        Ok(None) => {
            return notice(
                StatusCode::UNAUTHORIZED,
                "This sign-in link does not work",
                "Each sign-in link works once and for an hour. Restart the server to print a new \
                 one.",
            );
        }
        Err(error) => {
            tracing::error!(%error, "cannot open a session");
            return notice(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Signing in failed",
                "The server could not create a session. Try the link again.",
            );
        }
    };
    // HttpOnly: the page's script never needs the session id (it sends the CSRF token instead).
    // SameSite=Strict: no other site can make the browser send it. Secure only behind a proxy
    // that terminated HTTPS (the server itself cannot tell otherwise): the demo listens on plain
    // http://, where browsers drop a Secure cookie unless the host is localhost, so signing in
    // would fail whenever the server is reached by another name. A forged `x-forwarded-proto`
    // can only make the cookie stricter, never weaker.
    let secure = if forwarded_https(&headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs(),
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static(PAGE_PATH));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The sign-in URL holds the (now used) token: never pass it on as a referrer.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    match HeaderValue::try_from(cookie) {
        Ok(value) => {
            headers.insert(SET_COOKIE, value);
        }
        // Unreachable: the id is hex digits.
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
    response
}

async fn page(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    let Some(session) = pages.access.session(&headers) else {
        return notice(
            StatusCode::UNAUTHORIZED,
            "Sign in to manage API keys",
            "Open the sign-in link the server printed at start: the line that begins with \
             \u{201c}dashboard:\u{201d}.",
        );
    };
    let html = PAGE_HTML
        .replace("{{csrf_token}}", &escape(session.csrf_token()))
        .replace("{{organization}}", &escape(session.organization().as_str()));
    html_response(StatusCode::OK, html)
}

/// A small page that says what happened and what to do.
fn notice(status: StatusCode, title: &str, message: &str) -> Response {
    let html = NOTICE_HTML
        .replace("{{title}}", &escape(title))
        .replace("{{message}}", &escape(message));
    html_response(status, html)
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    // The page holds the session's CSRF token.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn forwarded_https(headers: &HeaderMap) -> bool {
    const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    headers
        .get(FORWARDED_PROTO)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// Text made safe inside HTML elements and quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}
