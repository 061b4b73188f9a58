//! The example server's routes: a health check, a small forms API, and key management.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use formbox_auth::{
    AuthContext, KeyId, KeyInfo, KeyManager, ManageError, OrganizationId, Permission,
    PermissionPolicy,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::json;

/// The organization the server creates demo keys for.
pub const DEMO_ORGANIZATION: &str = "org_demo";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub manager: KeyManager,
    forms: Arc<Mutex<HashMap<OrganizationId, Vec<Form>>>>,
}

impl AppState {
    pub fn new(manager: KeyManager) -> Self {
        Self {
            manager,
            forms: Arc::default(),
        }
    }
}

/// The routes: `/health` is open, everything under `/v1` needs a key.
pub fn app(state: AppState) -> Router {
    // Listing keys is a GET, but only full-access keys may manage keys.
    let policy = PermissionPolicy::new()
        .route(Method::GET, "/v1/api-keys", Permission::FullAccess)
        .route(Method::GET, "/v1/api-keys/{id}", Permission::FullAccess);
    let protected = Router::new()
        .route("/v1/me", get(me))
        .route("/v1/forms", get(list_forms).post(create_form))
        .route("/v1/api-keys", get(list_keys).post(create_key))
        .route("/v1/api-keys/{id}", get(get_key).delete(revoke_key))
        .route("/v1/api-keys/{id}/regenerate", post(regenerate_key))
        .layer(state.manager.layer().with_policy(policy));
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .merge(protected)
        .with_state(state)
}

/// Creates the demo organization's two keys unless it has keys already. Returns them in plaintext.
pub async fn ensure_demo_keys(
    manager: &KeyManager,
) -> Result<Vec<(Permission, String)>, ManageError> {
    let organization = OrganizationId::from(DEMO_ORGANIZATION);
    if !manager.list(&organization).await?.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    for (permission, name) in [
        (Permission::FullAccess, "demo full access"),
        (Permission::ReadOnly, "demo read only"),
    ] {
        let created = manager
            .create(&organization, name, permission, None)
            .await?;
        keys.push((permission, created.key.expose_secret().to_owned()));
    }
    Ok(keys)
}

async fn me(context: AuthContext) -> Json<AuthContext> {
    Json(context)
}

#[derive(Debug, Clone, Serialize)]
struct Form {
    id: u64,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewForm {
    name: String,
}

async fn list_forms(State(state): State<AppState>, context: AuthContext) -> Json<Vec<Form>> {
    let forms = state.forms.lock().unwrap_or_else(|e| e.into_inner());
    Json(
        forms
            .get(context.organization())
            .cloned()
            .unwrap_or_default(),
    )
}

async fn create_form(
    State(state): State<AppState>,
    context: AuthContext,
    body: Bytes,
) -> Result<(StatusCode, Json<Form>), ApiError> {
    let NewForm { name } = parse_body(&body)?;
    if name.trim().is_empty() {
        return Err(ApiError::bad_request("`name` must not be empty"));
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    permission: Permission,
    /// Unix seconds.
    expires_at: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Regenerate {
    grace_seconds: Option<u64>,
}

/// A key shown once, with its details.
#[derive(Serialize)]
struct CreatedKey<'a> {
    key: &'a str,
    #[serde(flatten)]
    info: &'a KeyInfo,
}

impl<'a> From<&'a formbox_auth::CreatedKey> for CreatedKey<'a> {
    fn from(created: &'a formbox_auth::CreatedKey) -> Self {
        Self {
            key: created.key.expose_secret(),
            info: &created.info,
        }
    }
}

async fn list_keys(
    State(state): State<AppState>,
    context: AuthContext,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    Ok(Json(state.manager.list(context.organization()).await?))
}

async fn get_key(
    State(state): State<AppState>,
    context: AuthContext,
    Path(id): Path<String>,
) -> Result<Json<KeyInfo>, ApiError> {
    Ok(Json(
        state
            .manager
            .get(context.organization(), key_id(&id)?)
            .await?,
    ))
}

async fn create_key(
    State(state): State<AppState>,
    context: AuthContext,
    body: Bytes,
) -> Result<Response, ApiError> {
    let NewKey {
        name,
        permission,
        expires_at,
    } = parse_body(&body)?;
    let expires_at =
        expires_at.map(|seconds| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds));
    let created = state
        .manager
        .create(context.organization(), &name, permission, expires_at)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedKey::from(&created))).into_response())
}

async fn regenerate_key(
    State(state): State<AppState>,
    context: AuthContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = key_id(&id)?;
    let Regenerate { grace_seconds } = if body.is_empty() {
        Regenerate::default()
    } else {
        parse_body(&body)?
    };
    let grace = grace_seconds.map(Duration::from_secs);
    let created = state
        .manager
        .regenerate(context.organization(), id, grace)
        .await?;
    Ok(Json(CreatedKey::from(&created)).into_response())
}

async fn revoke_key(
    State(state): State<AppState>,
    context: AuthContext,
    Path(id): Path<String>,
) -> Result<Json<KeyInfo>, ApiError> {
    Ok(Json(
        state
            .manager
            .revoke(context.organization(), key_id(&id)?)
            .await?,
    ))
}

/// A malformed id names no key: 404, like an unknown one.
fn key_id(text: &str) -> Result<KeyId, ApiError> {
    text.parse().map_err(|_| ApiError::not_found())
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))
}

/// An error answered as `{"error": {"code": ..., "message": ...}}`, like the layer's.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message: message.into(),
        }
    }

    fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "api_key_not_found",
            message: "no such API key".into(),
        }
    }
}

impl From<ManageError> for ApiError {
    fn from(error: ManageError) -> Self {
        let (status, code) = match &error {
            ManageError::NotFound => return Self::not_found(),
            ManageError::Revoked => (StatusCode::CONFLICT, "api_key_revoked"),
            ManageError::TooManyKeys { .. } => (StatusCode::CONFLICT, "too_many_api_keys"),
            ManageError::Conflict => (StatusCode::CONFLICT, "concurrent_change"),
            ManageError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "key_store_unavailable"),
            ManageError::InvalidName(_)
            | ManageError::EmptyOrganization
            | ManageError::ExpiryInPast => (StatusCode::BAD_REQUEST, "invalid_request"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        };
        if status.is_server_error() {
            tracing::error!(%error, "key operation failed");
        }
        Self {
            status,
            code,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
