//! The page's management API is reached only by a signed-in browser, never by an API key.

use std::sync::Arc;

use http::{StatusCode, request::Parts};

use super::{
    access::{DashboardAccess, Viewer},
    csrf::{self, CSRF_HEADER, CsrfKey},
};
use crate::{
    management::{ApiError, ManagementAccess},
    record::OrganizationId,
};

/// What the page and its API check before anything else: who is signed in and, for writes, the
/// session's CSRF token and the request's origin.
#[derive(Debug, Clone)]
pub(super) struct Gate<A> {
    pub(super) access: A,
    pub(super) csrf: CsrfKey,
    pub(super) allowed_origins: Arc<[String]>,
}

impl<A: DashboardAccess> Gate<A> {
    /// The viewer of a request that may see the page or call its API.
    pub(super) async fn admit(&self, parts: &mut Parts) -> Result<Viewer, ApiError> {
        let viewer = self.access.viewer(parts).await.ok_or_else(not_signed_in)?;
        if csrf::is_write(&parts.method) {
            let authority = parts.uri.authority().map(|authority| authority.as_str());
            if !csrf::same_origin(&parts.headers, authority, &self.allowed_origins) {
                return Err(refused(
                    "cross_origin_request",
                    "the request's Origin is not this site's",
                ));
            }
            let presented = parts.headers.get(CSRF_HEADER);
            let presented = presented.map_or(&[][..], |value| value.as_bytes());
            if !self.csrf.verify(viewer.session(), presented) {
                return Err(refused(
                    "invalid_csrf_token",
                    "the request did not carry the page's CSRF token in x-csrf-token",
                ));
            }
        }
        Ok(viewer)
    }
}

impl<A: DashboardAccess> ManagementAccess for Gate<A> {
    type Rejection = ApiError;

    async fn organization(&self, parts: &mut Parts) -> Result<OrganizationId, ApiError> {
        Ok(self.admit(parts).await?.organization().clone())
    }
}

fn not_signed_in() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "not_signed_in",
        "nobody is signed in, or the session has expired",
    )
}

fn refused(code: &'static str, message: &'static str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}
