//! Who may manage the keys of which organization.

use axum::{
    extract::{FromRequestParts, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::request::Parts;

use super::ApiError;
use crate::{
    authenticator::Authenticator, context::AuthContext, permission::Permission,
    record::OrganizationId, rejection::Rejection,
};

/// Decides which organization a management request acts for.
///
/// [`ApiKeyAccess`] is the default: the request's own API key, with `full_access`. A host with its
/// own sign-in (sessions, OAuth) implements this trait to take the organization from its own
/// credentials instead. Whatever it returns is the only organization the request can see: a key
/// of any other organization answers `404`.
///
/// ```
/// use axum::response::IntoResponse;
/// use formbox_auth::{management::{ApiError, ManagementAccess}, OrganizationId};
/// use axum::http::{StatusCode, request::Parts};
///
/// /// The organization a trusted front proxy puts into `x-organization` after signing users in.
/// #[derive(Clone)]
/// struct FromProxy;
///
/// impl ManagementAccess for FromProxy {
///     type Rejection = ApiError;
///
///     async fn organization(&self, parts: &mut Parts) -> Result<OrganizationId, ApiError> {
///         parts
///             .headers
///             .get("x-organization")
///             .and_then(|value| value.to_str().ok())
///             .map(OrganizationId::from)
///             .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "not_signed_in", "sign in first"))
///     }
/// }
/// ```
pub trait ManagementAccess: Clone + Send + Sync + 'static {
    /// The answer to a request that may not manage keys.
    type Rejection: IntoResponse;

    /// The organization this request acts for, or the answer refusing it.
    fn organization(
        &self,
        parts: &mut Parts,
    ) -> impl Future<Output = Result<OrganizationId, Self::Rejection>> + Send;
}

/// The default [`ManagementAccess`]: the request's API key (`api-key` header) must have
/// `full_access`, and the organization is the key's.
///
/// When [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer) already authenticated the request (the
/// management routes nested inside a router it covers), the key is not checked again; otherwise
/// this checks it, with the layer's rules and rejections.
#[derive(Debug, Clone)]
pub struct ApiKeyAccess {
    authenticator: Authenticator,
}

impl ApiKeyAccess {
    /// Checks keys with `authenticator`.
    pub fn new(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl ManagementAccess for ApiKeyAccess {
    type Rejection = ApiError;

    async fn organization(&self, parts: &mut Parts) -> Result<OrganizationId, ApiError> {
        let context = match parts.extensions.get::<AuthContext>() {
            Some(context) => context.clone(),
            None => {
                crate::middleware::authenticate_headers(&self.authenticator, &mut parts.headers)
                    .await?
            }
        };
        let required = Permission::FullAccess;
        if !context.permission().allows(required) {
            let rejection = Rejection::InsufficientPermissions { required };
            self.authenticator.emit(&crate::events::KeyEvent::Rejected {
                key_id: Some(context.key_id()),
                code: rejection.code(),
            });
            return Err(rejection.into());
        }
        Ok(context.organization().clone())
    }
}

/// The organization a management request acts for, as [`ManagementAccess`] decided.
#[derive(Debug, Clone)]
pub(crate) struct Acting(pub(crate) OrganizationId);

/// Middleware in front of every management route: asks `access`, then hands the organization to
/// the handler, or answers with the refusal.
pub(crate) async fn decide<A: ManagementAccess>(
    State(access): State<A>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    // Settled before the next await, so that the refusal need not be `Send`.
    let organization = match access.organization(&mut parts).await {
        Ok(organization) => organization,
        Err(rejection) => return rejection.into_response(),
    };
    parts.extensions.insert(Acting(organization));
    next.run(Request::from_parts(parts, body)).await
}

impl<S: Send + Sync> FromRequestParts<S> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // `decide` runs before every handler, so the organization is always there.
        parts.extensions.get::<Acting>().cloned().ok_or_else(|| {
            ApiError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the management routes are mounted without their access check",
            )
        })
    }
}
