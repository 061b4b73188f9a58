//! A mountable management API for keys: axum routes, and their OpenAPI description.

mod access;
mod body;
mod error;
mod handlers;
mod openapi;
mod wire;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};

pub use access::{API_KEYS, ApiKeyAccess, ManagementAccess};
pub use error::ApiError;
pub use openapi::KeySecurity;

use crate::lifecycle::manager::KeyManager;

/// Largest request body the management routes read. Their bodies are a few fields.
const BODY_LIMIT: usize = 16 * 1024;

/// The key management routes, mounted by the host under any prefix:
///
/// | route | does |
/// |---|---|
/// | `GET /api-keys?limit=&cursor=` | a page of the organization's keys, newest first |
/// | `POST /api-keys` | creates a key, answered in full this once |
/// | `GET /api-keys/{id}` | one key |
/// | `PATCH /api-keys/{id}` | renames it, changes its expiry or its rate limit |
/// | `POST /api-keys/{id}/regenerate` | a new secret, with an optional grace period for the old |
/// | `DELETE /api-keys/{id}` | revokes it |
///
/// Which organization a request manages is decided by a [`ManagementAccess`]: by default
/// [`ApiKeyAccess`], the request's own key with `full_access`. Another organization's key is
/// `404`, never `403`. Errors are [`ApiError`]s, in the JSON shape of the layer's rejections.
/// [`ManagementApi::openapi`] describes it all.
///
/// ```
/// use axum::Router;
/// use formbox_auth::{management::ManagementApi, KeyManager, MemoryStore};
///
/// let manager = KeyManager::new(MemoryStore::new());
/// let app: Router = Router::new().nest("/v1", ManagementApi::new(manager).router());
/// ```
///
/// With the host's own sign-in instead of API keys, give it a [`ManagementAccess`]:
///
/// ```
/// # use axum::Router;
/// # use formbox_auth::{management::{ApiError, ManagementAccess, ManagementApi}, KeyManager, MemoryStore, OrganizationId};
/// # use axum::http::request::Parts;
/// # #[derive(Clone)]
/// # struct SessionAccess;
/// # impl ManagementAccess for SessionAccess {
/// #     type Rejection = ApiError;
/// #     async fn organization(&self, _: &mut Parts) -> Result<OrganizationId, ApiError> {
/// #         Ok(OrganizationId::from("org_1"))
/// #     }
/// # }
/// # let manager = KeyManager::new(MemoryStore::new());
/// let dashboard = ManagementApi::new(manager).with_access(SessionAccess);
/// let app: Router = Router::new().nest("/dashboard/api", dashboard.router());
/// ```
#[derive(Debug, Clone)]
pub struct ManagementApi<A = ApiKeyAccess> {
    manager: KeyManager,
    access: A,
}

impl ManagementApi {
    /// The management API of `manager`'s keys, for requests whose API key has `full_access`.
    pub fn new(manager: KeyManager) -> Self {
        let access = ApiKeyAccess::new(manager.authenticator().clone());
        Self { manager, access }
    }

    /// The OpenAPI 3.1 description, with paths relative to where the routes are mounted:
    /// nest it at the same prefix (`OpenApi::nest`).
    ///
    /// ```
    /// use formbox_auth::management::ManagementApi;
    ///
    /// let doc = utoipa::openapi::OpenApi::default().nest("/v1", ManagementApi::openapi());
    /// assert!(doc.paths.paths.contains_key("/v1/api-keys/{id}/regenerate"));
    /// ```
    pub fn openapi() -> utoipa::openapi::OpenApi {
        <openapi::ManagementDoc as utoipa::OpenApi>::openapi()
    }
}

impl<A: ManagementAccess> ManagementApi<A> {
    /// Decides with `access` which organization a request manages.
    pub fn with_access<B: ManagementAccess>(self, access: B) -> ManagementApi<B> {
        ManagementApi {
            manager: self.manager,
            access,
        }
    }

    /// The routes, relative: nest them under the prefix they should have.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let decide = middleware::from_fn_with_state(self.access, access::decide::<A>);
        Router::new()
            .route(
                "/api-keys",
                get(handlers::list_keys).post(handlers::create_key),
            )
            .route(
                "/api-keys/{id}",
                get(handlers::get_key)
                    .patch(handlers::update_key)
                    .delete(handlers::revoke_key),
            )
            .route("/api-keys/{id}/regenerate", post(handlers::regenerate_key))
            .route_layer(decide)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.manager)
    }
}
