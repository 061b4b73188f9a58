//! The axum extractor for [`AuthContext`].

use axum_core::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    response::{IntoResponse, Response},
};
use http::{HeaderValue, StatusCode, header, request::Parts};

use crate::context::AuthContext;

/// Takes the [`AuthContext`] the layer put into the request.
///
/// ```
/// use axum::{Router, routing::get};
/// use formbox_auth::{ApiKeyAuthLayer, AuthContext, MemoryStore};
///
/// async fn forms(context: AuthContext) -> String {
///     format!("forms of {}", context.organization())
/// }
///
/// let app: Router = Router::new()
///     .route("/v1/forms", get(forms))
///     .layer(ApiKeyAuthLayer::new(MemoryStore::new()));
/// ```
impl<S: Send + Sync> FromRequestParts<S> for AuthContext {
    type Rejection = MissingAuthContext;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuthContext>()
            .cloned()
            .ok_or(MissingAuthContext)
    }
}

/// `Option<AuthContext>` is `None` on routes the layer does not cover.
impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<AuthContext>().cloned())
    }
}

/// A handler asked for an [`AuthContext`] on a route that [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer)
/// does not cover. This is a bug in the application's routing, so it answers 500.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no AuthContext in the request: is ApiKeyAuthLayer installed on this route?")]
pub struct MissingAuthContext;

impl IntoResponse for MissingAuthContext {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        let body = r#"{"error":{"code":"authentication_not_configured","message":"no AuthContext in the request: is ApiKeyAuthLayer installed on this route?"}}"#;
        let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}
