//! Who is signed in: the host's answer, from its own sessions.

use std::fmt;

use http::request::Parts;

use crate::record::OrganizationId;

/// Tells the page who is signed in, from the host's own sign-in: a session cookie, OAuth, a
/// header set by a trusted proxy. The crate never sees passwords.
///
/// The page and every call of its management API ask this first; `None` answers `401`. Return
/// `None` too when the host's session store fails: the page then fails closed.
///
/// ```
/// use formbox_auth::{OrganizationId, dashboard::{DashboardAccess, Viewer}};
/// use axum::http::{header::COOKIE, request::Parts};
///
/// #[derive(Clone)]
/// struct SignedIn;
///
/// impl DashboardAccess for SignedIn {
///     async fn viewer(&self, parts: &mut Parts) -> Option<Viewer> {
///         let cookie = parts.headers.get(COOKIE)?.to_str().ok()?;
///         let session = cookie.split("; ").find_map(|pair| pair.strip_prefix("sid="))?;
///         // Look the session up in the host's own store here.
///         Some(Viewer::new(session, OrganizationId::from("org_1")))
///     }
/// }
/// ```
pub trait DashboardAccess: Clone + Send + Sync + 'static {
    /// Who made this request, or `None` if nobody is signed in.
    fn viewer(&self, parts: &mut Parts) -> impl Future<Output = Option<Viewer>> + Send;
}

/// Someone signed in to the host: the session they use and the organization whose keys they
/// manage.
///
/// The session is what the page's CSRF token is bound to: a value unique to this sign-in and
/// unknown to other sites, such as the host's session id. Another session's token does not work
/// with it. It is never shown to the page nor logged.
#[derive(Clone)]
pub struct Viewer {
    session: String,
    organization: OrganizationId,
}

impl Viewer {
    /// `organization`'s keys, managed in `session`.
    pub fn new(session: impl Into<String>, organization: OrganizationId) -> Self {
        Self {
            session: session.into(),
            organization,
        }
    }

    /// The organization whose keys the viewer manages.
    pub fn organization(&self) -> &OrganizationId {
        &self.organization
    }

    pub(super) fn session(&self) -> &str {
        &self.session
    }
}

impl fmt::Debug for Viewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Viewer")
            .field("session", &"[REDACTED]")
            .field("organization", &self.organization)
            .finish()
    }
}
