//! The example server's routes: a health check, small forms and submissions APIs, the key
//! management API and its OpenAPI description.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{Method, StatusCode},
    routing::get,
};
use formbox_auth::{ApiKeyAuthLayer, PermissionPolicy};
use formbox_auth::{
    AuthContext, KeyManager, OrganizationId, Permission,
    management::{ApiError, KeySecurity, ManagementApi},
    permission::Resources,
    policy::Requirement,
    utoipa::{self, OpenApi, ToSchema},
};
use serde::{Deserialize, Serialize};

// The demo keys are the gRPC example's too: one definition, under `app::` for the server and
// its tests (which each use only some of it).
#[path = "../support/demo.rs"]
mod demo;
#[allow(unused_imports)]
pub use demo::{DEMO_ORGANIZATION, ensure_demo_keys};

/// The resources restricted keys are scoped over: one declaration, the `keys` command line's
/// too.
#[path = "../support/resources.rs"]
pub mod resources;

/// Which resource each group of routes belongs to: every method of a group needs a scope over
/// it, `:read` for `GET`, `HEAD` and `OPTIONS` and `:write` for the others. Preset keys pass as
/// the method says (`read_only` reads, `full_access` writes), as before scopes existed.
///
/// `/v1/me` is in no group: it is about the key itself, so any valid key may ask it
/// (`Requirement::AnyKey`), restricted ones included.
const SCOPED_ROUTES: [(&str, &str); 3] = [
    ("/v1/forms/{*rest}", resources::FORMS),
    ("/v1/submissions/{*rest}", resources::SUBMISSIONS),
    (KEY_ROUTES, resources::API_KEYS),
];

/// The key management API's routes, whose reads need `api_keys:write` too (see [`policy`]).
const KEY_ROUTES: &str = "/v1/api-keys/{*rest}";

/// The most active keys the example server lets an organization have (`--max-keys`): creating
/// one more answers `409 too_many_api_keys`.
pub const MAX_KEYS_PER_ORGANIZATION: usize = 100;

/// How the routes are built: the key manager, the layer's rate limits and policy, and the
/// data the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub manager: KeyManager,
    /// The rate limits the layer enforces (`--limiter`); none unless set.
    rate_limits: Option<formbox_auth::rate_limit::RateLimits>,
    /// What each route needs, over the resources the manager declares.
    policy: PermissionPolicy,
    data: SharedData,
}

/// The handlers' state: what they read, behind one reference count. axum clones a route's
/// state for every request (and once more for each `State` extractor), so it clones in one
/// step.
type SharedData = Arc<Data>;

/// The organizations' forms and submissions.
#[derive(Default)]
struct Data {
    forms: Mutex<HashMap<OrganizationId, Vec<Form>>>,
    submissions: Mutex<HashMap<OrganizationId, Vec<Submission>>>,
}

impl AppState {
    /// The state of a server whose keys `manager` manages; its resources
    /// ([`resources::declare`]) are the ones the routes' scopes are over.
    pub fn new(manager: KeyManager) -> Self {
        Self {
            policy: policy(manager.resources()),
            manager,
            rate_limits: None,
            data: SharedData::default(),
        }
    }

    /// Limits each key's requests with `limits`.
    pub fn with_rate_limits(mut self, limits: formbox_auth::rate_limit::RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// The layer in front of `/v1`: the manager's, with the routes' policy and the rate limits
    /// if any.
    fn auth_layer(&self) -> ApiKeyAuthLayer<PermissionPolicy> {
        let layer = ApiKeyAuthLayer::new(self.manager.authenticator().clone())
            .with_policy(self.policy.clone());
        match &self.rate_limits {
            Some(limits) => layer.with_rate_limits(limits.clone()),
            None => layer,
        }
    }
}

/// The routes' policy: each group of [`SCOPED_ROUTES`] whose resource `resources` declares
/// needs a scope over it. A group whose resource is not declared keeps the presets' rules by
/// method, which no restricted key passes: a manager built without the declaration fails closed.
fn policy(resources: &Resources) -> PermissionPolicy {
    let mut policy = PermissionPolicy::new().route(Method::GET, "/v1/me", Requirement::AnyKey);
    // The management API asks `api_keys:write` of every request, listing included
    // (`ApiKeyAccess`): the layer asks the same of reads (the first matching rule wins), so
    // that a refused key is told the one scope that lets it in.
    if let Some(api_keys) = resources.get(resources::API_KEYS) {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            policy = policy.route(method, KEY_ROUTES, api_keys.write());
        }
    }
    SCOPED_ROUTES
        .iter()
        .fold(policy, |policy, (pattern, name)| {
            match resources.get(name) {
                Some(resource) => policy.resource(pattern, resource),
                None => policy,
            }
        })
}

/// The routes: `/health` and `/openapi.json` are open, everything under `/v1` needs a key, with
/// the scope of its resource ([`SCOPED_ROUTES`]); managing keys (`/v1/api-keys...`) needs
/// `api_keys:write`, which `full_access` holds.
pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .route("/v1/me", get(me))
        .route("/v1/forms", get(list_forms).post(create_form))
        .route(
            "/v1/submissions",
            get(list_submissions).post(create_submission),
        )
        .nest("/v1", ManagementApi::new(state.manager.clone()).router())
        .layer(state.auth_layer());
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .merge(protected)
        .with_state(state.data)
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
    paths(health, me, list_forms, create_form, list_submissions, create_submission),
    components(schemas(Me, Form, Submission)),
    tags(
        (name = "Forms", description = "The organization's forms: `forms:read` and `forms:write`."),
        (name = "Submissions", description = "What people sent through the forms: \
            `submissions:read` and `submissions:write`."),
    ),
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

/// The organization and key the request acts as. Any preset key may ask; a restricted key is
/// refused (`insufficient_permissions`), since the route is over no resource.
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

/// The organization's forms. Needs `forms:read` (a `read_only` key holds it).
#[utoipa::path(
    get,
    path = "/v1/forms",
    tag = "Forms",
    responses((status = 200, description = "Every form of the organization.", body = Vec<Form>)),
    security(("api_key" = [])),
)]
async fn list_forms(State(data): State<SharedData>, context: AuthContext) -> Json<Vec<Form>> {
    let forms = data.forms.lock().unwrap_or_else(|e| e.into_inner());
    Json(
        forms
            .get(context.organization())
            .cloned()
            .unwrap_or_default(),
    )
}

/// Creates a form. Needs `forms:write` (a `full_access` key holds it).
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
    State(data): State<SharedData>,
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
    let mut forms = data.forms.lock().unwrap_or_else(|e| e.into_inner());
    let list = forms.entry(context.organization().clone()).or_default();
    let form = Form {
        id: list.len() as u64 + 1,
        name,
    };
    list.push(form.clone());
    Ok((StatusCode::CREATED, Json(form)))
}

/// The most answers one submission carries.
const MAX_ANSWERS: usize = 50;

/// The longest answer, in characters.
const MAX_ANSWER_CHARS: usize = 2_000;

/// What someone sent through a form.
#[derive(Debug, Clone, Serialize, ToSchema)]
struct Submission {
    id: u64,
    form_id: u64,
    /// The answers, by field name.
    answers: BTreeMap<String, String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewSubmission {
    /// A form of the organization.
    form_id: u64,
    /// At most 50 answers of at most 2,000 characters, by field name.
    answers: BTreeMap<String, String>,
}

/// The organization's submissions. Needs `submissions:read` (a `read_only` key holds it).
#[utoipa::path(
    get,
    path = "/v1/submissions",
    tag = "Submissions",
    responses((status = 200, description = "Every submission of the organization.",
        body = Vec<Submission>)),
    security(("api_key" = [])),
)]
async fn list_submissions(
    State(data): State<SharedData>,
    context: AuthContext,
) -> Json<Vec<Submission>> {
    let submissions = data.submissions.lock().unwrap_or_else(|e| e.into_inner());
    Json(
        submissions
            .get(context.organization())
            .cloned()
            .unwrap_or_default(),
    )
}

/// Records a submission of one of the organization's forms, as a form's public page would.
/// Needs `submissions:write` (a `full_access` key holds it); the form need not be readable by
/// the key.
#[utoipa::path(
    post,
    path = "/v1/submissions",
    tag = "Submissions",
    request_body = NewSubmission,
    responses(
        (status = 201, description = "The new submission.", body = Submission),
        (status = 400, description = "`invalid_request`: the body is not a JSON object with a \
            `form_id` of the organization's and at most 50 `answers` of at most 2,000 \
            characters.", body = ApiError),
    ),
    security(("api_key" = [])),
)]
async fn create_submission(
    State(data): State<SharedData>,
    context: AuthContext,
    body: Bytes,
) -> Result<(StatusCode, Json<Submission>), ApiError> {
    let NewSubmission { form_id, answers } = serde_json::from_slice(&body)
        .map_err(|error| ApiError::invalid_request(None, format!("invalid JSON body: {error}")))?;
    if answers.len() > MAX_ANSWERS
        || answers
            .values()
            .any(|answer| answer.chars().count() > MAX_ANSWER_CHARS)
    {
        return Err(ApiError::invalid_request(
            Some("answers"),
            "at most 50 `answers` of at most 2,000 characters",
        ));
    }
    let organization = context.organization();
    if !has_form(&data, organization, form_id) {
        return Err(ApiError::invalid_request(
            Some("form_id"),
            format!("the organization has no form {form_id}"),
        ));
    }
    let mut submissions = data.submissions.lock().unwrap_or_else(|e| e.into_inner());
    let list = submissions.entry(organization.clone()).or_default();
    let submission = Submission {
        id: list.len() as u64 + 1,
        form_id,
        answers,
    };
    list.push(submission.clone());
    Ok((StatusCode::CREATED, Json(submission)))
}

/// Whether `organization` has the form `id`. Forms are never deleted, so the answer holds after
/// the lock is let go.
fn has_form(data: &Data, organization: &OrganizationId, id: u64) -> bool {
    let forms = data.forms.lock().unwrap_or_else(|e| e.into_inner());
    forms
        .get(organization)
        .is_some_and(|list| list.iter().any(|form| form.id == id))
}
