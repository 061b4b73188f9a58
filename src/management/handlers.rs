//! The management routes' handlers, each with its OpenAPI description.

use std::time::{Duration, SystemTime};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State, rejection::BytesRejection, rejection::QueryRejection},
};
use http::StatusCode;
use serde::Deserialize;

use super::{
    ApiError,
    access::Acting,
    body::Object,
    wire::{
        ApiKey, ApiKeyChanges, ApiKeyPage, ApiRateLimit, MAX_GRACE_SECONDS, MAX_UNIX_SECONDS,
        NewApiKey, NewSecret, Regeneration,
    },
};
use crate::{
    key::KeyId,
    lifecycle::{KeyChanges, KeyPage, NewKey, manager::KeyManager},
    permission::{Access, InvalidScope, Resources},
    record::RateLimit,
    store::ListCursor,
};

/// The tag of every management operation.
pub(crate) const TAG: &str = "API keys";

/// What `GET /api-keys` reads from its query. Kept as text so that an error can name the
/// parameter, rather than axum's generic query error.
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Lists the organization's keys, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api-keys",
    tag = TAG,
    operation_id = "listApiKeys",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100,
            description = "How many keys to return: 1 to 100, default 50."),
        ("cursor" = Option<String>, Query,
            description = "The `next_cursor` of the previous page; absent for the first page."),
    ),
    responses(
        (status = 200, description = "One page of keys.", body = ApiKeyPage),
        (status = 400, description = "`invalid_request`: `limit` is not 1 to 100, or `cursor` \
            is not one this API gave (`field` names which).", body = ApiError),
    ),
    security(("api_key" = [])),
)]
pub(crate) async fn list_keys(
    State(manager): State<KeyManager>,
    acting: Acting,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ApiKeyPage>, ApiError> {
    let Query(query) = query.map_err(|error| ApiError::invalid_request(None, error.body_text()))?;
    let limit = match query.limit.as_deref() {
        None => KeyPage::DEFAULT_LIMIT,
        Some(text) => text.parse().map_err(|_| {
            ApiError::invalid_request(
                Some("limit"),
                "`limit` must be a whole number from 1 to 100",
            )
        })?,
    };
    let cursor = match query.cursor.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<ListCursor>().map_err(|_| {
            ApiError::invalid_request(Some("cursor"), "`cursor` is not a cursor from this API")
        })?),
    };
    let page = manager
        .list_page(&acting.organization, cursor.as_ref(), limit)
        .await?;
    Ok(Json(page.into()))
}

/// Creates a key. The answer is the only one that ever shows it in full.
#[utoipa::path(
    post,
    path = "/api-keys",
    tag = TAG,
    operation_id = "createApiKey",
    request_body = NewApiKey,
    responses(
        (status = 201, description = "The new key, shown in full this once.", body = NewSecret),
        (status = 400, description = "`invalid_request`: the body is not JSON, or `name`, \
            `permission`, `scopes`, `expires_at` or `rate_limit` is missing or invalid (`field` \
            names which; `scopes` over a resource the service does not declare included).",
            body = ApiError),
        (status = 403, description = "The calling key may not grant this: \
            `insufficient_permissions` (a preset needs `full_access`, named in \
            `required_permission`) or `insufficient_scope` (a scope the key lacks, named in \
            `required_scope`).", body = ApiError),
        (status = 409, description = "`api_key_name_taken`: another key of the organization \
            that is not revoked has this name. `too_many_api_keys`: the organization has as \
            many active keys as allowed.", body = ApiError),
        (status = 413, description = "`body_too_large`: the body is over 16 KiB.", body = ApiError),
        (status = 500, description = "`internal_error`: no randomness for a new key.", body = ApiError),
    ),
    security(("api_key" = [])),
)]
pub(crate) async fn create_key(
    State(manager): State<KeyManager>,
    acting: Acting,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<NewSecret>), ApiError> {
    let mut body = Object::parse(&read(body)?, false)?;
    let name: String = body.required("name")?;
    let permission: String = body.required("permission")?;
    let scopes = body.take::<Vec<String>>("scopes")?.flatten();
    let expires_at = body.take::<i64>("expires_at")?.flatten();
    let rate_limit = body.take::<ApiRateLimit>("rate_limit")?.flatten();
    body.finish()?;
    let access = requested_access(manager.resources(), Some(&permission), scopes)?;
    let key = NewKey::new(name, access)
        .expires_at(expires_at.map(expiry).transpose()?)
        .rate_limit(rate_limit.map(checked_rate_limit).transpose()?);
    let created = acting
        .manager(&manager)
        .create(&acting.organization, key)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// One key of the organization.
#[utoipa::path(
    get,
    path = "/api-keys/{id}",
    tag = TAG,
    operation_id = "getApiKey",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The key.", body = ApiKey),
        (status = 404, description = "`api_key_not_found`: the organization has no key with \
            this id.", body = ApiError),
    ),
    security(("api_key" = [])),
)]
pub(crate) async fn get_key(
    State(manager): State<KeyManager>,
    acting: Acting,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(
        manager
            .get(&acting.organization, key_id(&id)?)
            .await?
            .into(),
    ))
}

/// Renames a key, changes its expiry, its rate limit or its permission and scopes, in one
/// write.
#[utoipa::path(
    patch,
    path = "/api-keys/{id}",
    tag = TAG,
    operation_id = "updateApiKey",
    params(("id" = String, Path, description = "The key's id.")),
    request_body = ApiKeyChanges,
    responses(
        (status = 200, description = "The key as changed.", body = ApiKey),
        (status = 400, description = "`invalid_request`: the body is not JSON, or `name`, \
            `expires_at`, `rate_limit`, `permission` or `scopes` is invalid (`field` names \
            which).", body = ApiError),
        (status = 403, description = "`insufficient_permissions` or `insufficient_scope`: the \
            calling key may not grant the new permission or scopes, or the key may do more than \
            the calling key (`required_permission` or `required_scope` names what it lacks). \
            `cannot_loosen_own_limits`: a key tried to raise or remove its own rate limit, or \
            to move or remove its own expiry.", body = ApiError),
        (status = 404, description = "`api_key_not_found`: the organization has no key with \
            this id.", body = ApiError),
        (status = 409, description = "`api_key_name_taken`: another key of the organization \
            that is not revoked has this name. `api_key_revoked`: the key is revoked. \
            `api_key_expired`: the key has expired, and its expiry cannot change. \
            `concurrent_change`: the key kept changing; try again.", body = ApiError),
        (status = 413, description = "`body_too_large`: the body is over 16 KiB.", body = ApiError),
    ),
    security(("api_key" = [])),
)]
pub(crate) async fn update_key(
    State(manager): State<KeyManager>,
    acting: Acting,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ApiKey>, ApiError> {
    let id = key_id(&id)?;
    let mut body = Object::parse(&read(body)?, false)?;
    let mut changes = KeyChanges::new();
    if let Some(name) = not_null(body.take::<String>("name")?, "name")? {
        changes = changes.name(name);
    }
    if let Some(expires_at) = body.take::<i64>("expires_at")? {
        changes = changes.expires_at(expires_at.map(expiry).transpose()?);
    }
    if let Some(rate_limit) = body.take::<ApiRateLimit>("rate_limit")? {
        changes = changes.rate_limit(rate_limit.map(checked_rate_limit).transpose()?);
    }
    let permission = not_null(body.take::<String>("permission")?, "permission")?;
    let scopes = not_null(body.take::<Vec<String>>("scopes")?, "scopes")?;
    body.finish()?;
    if permission.is_some() || scopes.is_some() {
        changes = changes.access(requested_access(
            manager.resources(),
            permission.as_deref(),
            scopes,
        )?);
    }
    Ok(Json(
        acting
            .manager(&manager)
            .update(&acting.organization, id, changes)
            .await?
            .into(),
    ))
}

/// Gives a key a new secret, shown in full this once. The old secret stops working at once, or
/// after the grace period.
#[utoipa::path(
    post,
    path = "/api-keys/{id}/regenerate",
    tag = TAG,
    operation_id = "regenerateApiKey",
    params(("id" = String, Path, description = "The key's id.")),
    request_body(content = Option<Regeneration>, description = "Optional: an empty body is no \
        grace period."),
    responses(
        (status = 200, description = "The key with its new secret, shown in full this once.",
            body = NewSecret),
        (status = 400, description = "`invalid_request`: the body is not JSON, or \
            `grace_period_seconds` is invalid (`field` names it).", body = ApiError),
        (status = 404, description = "`api_key_not_found`: the organization has no key with \
            this id.", body = ApiError),
        (status = 409, description = "`api_key_revoked`: the key is revoked. \
            `concurrent_change`: the key kept changing; try again.", body = ApiError),
        (status = 413, description = "`body_too_large`: the body is over 16 KiB.", body = ApiError),
        (status = 500, description = "`internal_error`: no randomness for a new secret.", body = ApiError),
    ),
    security(("api_key" = [])),
)]
pub(crate) async fn regenerate_key(
    State(manager): State<KeyManager>,
    acting: Acting,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<NewSecret>, ApiError> {
    let id = key_id(&id)?;
    let mut body = Object::parse(&read(body)?, true)?;
    let grace = body.take::<u64>("grace_period_seconds")?.flatten();
    body.finish()?;
    if grace.is_some_and(|seconds| seconds > MAX_GRACE_SECONDS) {
        return Err(ApiError::invalid_request(
            Some("grace_period_seconds"),
            "`grace_period_seconds` must be at most 2592000 (30 days)",
        ));
    }
    let grace = grace
        .filter(|&seconds| seconds > 0)
        .map(Duration::from_secs);
    let created = acting
        .manager(&manager)
        .regenerate(&acting.organization, id, grace)
        .await?;
    Ok(Json(created.into()))
}

/// Revokes a key: every request with it is refused from now on. Revoking a revoked key changes
/// nothing.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = TAG,
    operation_id = "revokeApiKey",
    params(("id" = String, Path, description = "The key's id.")),
    responses(
        (status = 200, description = "The key, revoked.", body = ApiKey),
        (status = 404, description = "`api_key_not_found`: the organization has no key with \
            this id.", body = ApiError),
        (status = 409, description = "`concurrent_change`: the key kept changing; try again.",
            body = ApiError),
    ),
    security(("api_key" = [])),
)]
pub(crate) async fn revoke_key(
    State(manager): State<KeyManager>,
    acting: Acting,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    Ok(Json(
        acting
            .manager(&manager)
            .revoke(&acting.organization, key_id(&id)?)
            .await?
            .into(),
    ))
}

/// The access a body asks for: a preset `permission`, or `restricted` with `scopes` (which
/// alone mean `restricted` too), each over a declared resource.
fn requested_access(
    resources: &Resources,
    permission: Option<&str>,
    scopes: Option<Vec<String>>,
) -> Result<Access, ApiError> {
    let invalid = |field, error: InvalidScope| {
        ApiError::invalid_request(Some(field), format!("`{field}`: {error}"))
    };
    let scopes = scopes.map(|scopes| resources.scopes(&scopes)).transpose();
    let scopes = scopes.map_err(|error| invalid("scopes", error))?;
    let permission = permission.unwrap_or("restricted");
    Access::from_parts(permission, scopes).map_err(|error| match error {
        InvalidScope::UnknownPermission(_) => invalid("permission", error),
        _ => invalid("scopes", error),
    })
}

/// A field that may be absent but not `null`.
fn not_null<T>(value: Option<Option<T>>, field: &'static str) -> Result<Option<T>, ApiError> {
    match value {
        Some(None) => Err(ApiError::invalid_request(
            Some(field),
            format!("`{field}` must not be null"),
        )),
        Some(Some(value)) => Ok(Some(value)),
        None => Ok(None),
    }
}

/// A malformed id names no key: `404`, like an unknown one.
fn key_id(text: &str) -> Result<KeyId, ApiError> {
    text.parse().map_err(|_| ApiError::key_not_found())
}

/// The body, or why it could not be read.
fn read(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the body is over 16 KiB",
        ),
        _ => ApiError::invalid_request(None, rejection.body_text()),
    })
}

/// A rate limit as read, checked: out of range is an error about `rate_limit` that says which
/// value is wrong.
fn checked_rate_limit(limit: ApiRateLimit) -> Result<RateLimit, ApiError> {
    RateLimit::new(limit.requests, limit.per_seconds).map_err(|error| {
        ApiError::invalid_request(
            Some("rate_limit"),
            format!("`rate_limit` is invalid: {error}"),
        )
    })
}

/// An expiry from Unix seconds, within what every store keeps.
fn expiry(seconds: i64) -> Result<SystemTime, ApiError> {
    let invalid = || {
        ApiError::invalid_request(
            Some("expires_at"),
            "`expires_at` must be Unix seconds from now to the year 9999",
        )
    };
    let seconds = u64::try_from(seconds).map_err(|_| invalid())?;
    if seconds > MAX_UNIX_SECONDS.unsigned_abs() {
        return Err(invalid());
    }
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds))
        .ok_or_else(invalid)
}
