//! The example server's routes: a health check, a small forms API, the key management API and
//! its OpenAPI description.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{Json, Router, body::Bytes, extract::State, http::StatusCode, routing::get};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::{
    AuthContext, KeyManager, OrganizationId, Permission,
    management::{ApiError, KeySecurity, ManagementApi},
    utoipa::{self, OpenApi, ToSchema},
};
use serde::{Deserialize, Serialize};

// The demo keys are the gRPC example's too: one definition, under `app::` for the server and
// its tests (which each use only some of it).
#[path = "../support/demo.rs"]
mod demo;
#[allow(unused_imports)]
pub use demo::{DEMO_ORGANIZATION, ensure_demo_keys};

/// The most active keys the example server lets an organization have (`--max-keys`): creating
/// one more answers `409 too_many_api_keys`.
pub const MAX_KEYS_PER_ORGANIZATION: usize = 100;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub manager: KeyManager,
    /// The rate limits the layer enforces (`--limiter`); none unless set.
    rate_limits: Option<formbox_auth::rate_limit::RateLimits>,
    forms: Arc<Mutex<HashMap<OrganizationId, Vec<Form>>>>,
}

impl AppState {
    pub fn new(manager: KeyManager) -> Self {
        Self {
            manager,
            rate_limits: None,
            forms: Arc::default(),
        }
    }

    /// Limits each key's requests with `limits`.
    pub fn with_rate_limits(mut self, limits: formbox_auth::rate_limit::RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// The layer in front of `/v1`: the manager's, with the rate limits if any.
    fn auth_layer(&self) -> formbox_auth::ApiKeyAuthLayer {
        let layer = ApiKeyAuthLayer::new(self.manager.authenticator().clone());
        match &self.rate_limits {
            Some(limits) => layer.with_rate_limits(limits.clone()),
            None => layer,
        }
    }
}

/// The routes: `/health` and `/openapi.json` are open, everything under `/v1` needs a key, and
/// the key management routes (`/v1/api-keys...`) need a `full_access` one.
pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .route("/v1/me", get(me))
        .route("/v1/forms", get(list_forms).post(create_form))
        .nest("/v1", ManagementApi::new(state.manager.clone()).router())
        .layer(state.auth_layer());
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .merge(protected)
        .with_state(state)
}

/// The server's OpenAPI 3.1 description: its own routes and the management API under `/v1`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ServerDoc::openapi().nest("/v1", ManagementApi::openapi())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Formbox example server",
        description = "A forms API authenticated by Formbox-style API keys (`api-key` header), \
            and the management of those keys.",
    ),
    paths(health, me, list_forms, create_form),
    components(schemas(Me, Form)),
    tags((name = "Forms", description = "The organization's forms.")),
    modifiers(&KeySecurity),
)]
struct ServerDoc;

#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Whether the server is up. Needs no key.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The key a request was made with, as the layer authenticated it.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of `AuthContext`'s JSON.
struct Me {
    organization: String,
    key_id: String,
    key_name: String,
    #[schema(value_type = String, example = "read_only")]
    permission: Permission,
    /// The key's own rate limit, or `null`.
    #[schema(schema_with = rate_limit_or_null, required = true)]
    rate_limit: Option<formbox_auth::rate_limit::RateLimit>,
}

/// `null`, or a `RateLimit` as the key management answers show it.
fn rate_limit_or_null() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::{
        Ref,
        schema::{ObjectBuilder, OneOfBuilder, Schema, Type},
    };
    let one_of = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(Ref::from_schema_name("RateLimit"));
    Schema::OneOf(one_of.build())
}

/// The organization and key the request acts as. Any key may ask.
#[utoipa::path(
    get,
    path = "/v1/me",
    responses((status = 200, description = "The request's key.", body = Me)),
    security(("api_key" = [])),
)]
async fn me(context: AuthContext) -> Json<AuthContext> {
    Json(context)
}

/// A form of the organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
struct Form {
    id: u64,
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewForm {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

/// The organization's forms. Any key may read them.
#[utoipa::path(
    get,
    path = "/v1/forms",
    tag = "Forms",
    responses((status = 200, description = "Every form of the organization.", body = Vec<Form>)),
    security(("api_key" = [])),
)]
async fn list_forms(State(state): State<AppState>, context: AuthContext) -> Json<Vec<Form>> {
    let forms = state.forms.lock().unwrap_or_else(|e| e.into_inner());
    Json(
        forms
            .get(context.organization())
            .cloned()
            .unwrap_or_default(),
    )
}

/// Creates a form. Needs a `full_access` key.
#[utoipa::path(
    post,
    path = "/v1/forms",
    tag = "Forms",
    request_body = NewForm,
    responses(
        (status = 201, description = "The new form.", body = Form),
        (status = 400, description = "`invalid_request`: the body is not a JSON object with a \
            `name` of 1 to 200 characters.", body = ApiError),
    ),
    security(("api_key" = [])),
)]
async fn create_form(
    State(state): State<AppState>,
    context: AuthContext,
    body: Bytes,
) -> Result<(StatusCode, Json<Form>), ApiError> {
    let NewForm { name } = serde_json::from_slice(&body)
        .map_err(|error| ApiError::invalid_request(None, format!("invalid JSON body: {error}")))?;
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid_request(
            Some("name"),
            "`name` must be 1 to 200 characters",
        ));
    }
    let mut forms = state.forms.lock().unwrap_or_else(|e| e.into_inner());
    let list = forms.entry(context.organization().clone()).or_default();
    let form = Form {
        id: list.len() as u64 + 1,
        name,
    };
    list.push(form.clone());
    Ok((StatusCode::CREATED, Json(form)))
}
