//! Who may manage the keys of which organization.

use axum::{
    extract::{FromRequestParts, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::request::Parts;

use super::ApiError;
use crate::{
    authenticator::Authenticator,
    context::AuthContext,
    lifecycle::manager::KeyManager,
    permission::{Permission, Required, Resource},
    record::OrganizationId,
    rejection::Rejection,
};

/// Decides which organization a management request acts for.
///
/// [`ApiKeyAccess`] is the default: the request's own API key, with `full_access`. A host with its
/// own sign-in (sessions, OAuth) implements this trait to take the organization from its own
/// credentials instead. Whatever it returns is the only organization the request can see: a key
/// of any other organization answers `404`. A request that authenticated with an API key (an
/// [`AuthContext`] in its extensions, from this access or a layer in front) can then only grant
/// what that key holds ([`KeyManager::acting_as`](crate::KeyManager::acting_as)); a person
/// signed in some other way manages without that bound.
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

/// The default [`ManagementAccess`]: the request's API key (`api-key` header) must hold the
/// scope `api_keys:write` ([`API_KEYS`]), which `full_access` holds, and the organization is the
/// key's. What the key creates or changes is then bounded by its own access: see
/// [`KeyManager::acting_as`](crate::KeyManager::acting_as).
///
/// When [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer) already authenticated the request (the
/// management routes nested inside a router it covers), the key is not checked again; otherwise
/// this checks it, with the layer's rules and rejections.
#[derive(Debug, Clone)]
pub struct ApiKeyAccess {
    authenticator: Authenticator,
    /// `api_keys:write`, unless the process knows too many resources to name it: then only
    /// `full_access` manages keys.
    manage: Required,
}

/// The resource the management API's scopes are over: `api_keys:write` manages keys.
pub const API_KEYS: &str = "api_keys";

impl ApiKeyAccess {
    /// Checks keys with `authenticator`.
    pub fn new(authenticator: Authenticator) -> Self {
        let manage = Resource::intern(API_KEYS)
            .map_or(Required::Permission(Permission::FullAccess), |resource| {
                Required::Scope(resource.write())
            });
        Self {
            authenticator,
            manage,
        }
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
        if let Some(lacking) = context.access().lacks(self.manage) {
            let rejection = Rejection::insufficient(lacking);
            self.authenticator.emit(&crate::events::KeyEvent::Rejected {
                key_id: Some(context.key_id()),
                code: rejection.code(),
            });
            return Err(rejection.into());
        }
        let organization = context.organization().clone();
        // The handlers bound what the request may grant by the key that made it.
        parts.extensions.insert(context);
        Ok(organization)
    }
}

/// The organization a management request acts for, as [`ManagementAccess`] decided, and the
/// key that made the request, if one did.
#[derive(Debug, Clone)]
pub(crate) struct Acting {
    pub(crate) organization: OrganizationId,
    caller: Option<AuthContext>,
}

impl Acting {
    /// `manager`, bounded by the calling key when a key made the request: it never grants
    /// more than it holds. Reads need no bound: they show the organization's keys as they are.
    pub(crate) fn manager(&self, manager: &KeyManager) -> KeyManager {
        match &self.caller {
            Some(caller) => manager.acting_as(caller),
            None => manager.clone(),
        }
    }
}

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
    // A request that authenticated with a key (this crate's access, or a layer in front) is
    // bounded by it, whatever access decided the organization.
    let caller = parts.extensions.get::<AuthContext>().cloned();
    parts.extensions.insert(Acting {
        organization,
        caller,
    });
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
