//! Errors of the management API, in the JSON shape of the layer's rejections.

use std::borrow::Cow;

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use utoipa::{PartialSchema, ToSchema};

use crate::{
    lifecycle::ManageError,
    permission::{Permission, Required, Scope},
    rejection::Rejection,
};

/// An error answer in the shape of the layer's rejections:
/// `{"error": {"code": "...", "message": "...", "field": "..."}}`, `field` naming the request
/// field at fault when there is one.
///
/// [`ManagementApi`](crate::management::ManagementApi) answers with it; a host's own handlers can too, so
/// that every error of a service looks the same.
///
/// ```
/// use axum::response::IntoResponse;
/// use formbox_auth::{lifecycle::ManageError, management::ApiError};
/// use axum::http::StatusCode;
///
/// let error = ApiError::invalid_request(Some("name"), "`name` must not be empty");
/// assert_eq!(error.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(error.into_response().status(), StatusCode::BAD_REQUEST);
///
/// let error = ApiError::from(ManageError::NotFound);
/// assert_eq!((error.status(), error.code()), (StatusCode::NOT_FOUND, "api_key_not_found"));
/// ```
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    field: Option<Cow<'static, str>>,
    required_permission: Option<Permission>,
    required_scope: Option<Scope>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
            required_permission: None,
            required_scope: None,
        }
    }

    /// `400 invalid_request`, about `field` when given.
    pub fn invalid_request(
        field: Option<&'static str>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        let error = Self::new(StatusCode::BAD_REQUEST, "invalid_request", message);
        match field {
            Some(field) => error.with_field(field),
            None => error,
        }
    }

    /// `404 api_key_not_found`: no key with this id belongs to the organization. Another
    /// organization's key is not found either, so that ids cannot be probed.
    pub fn key_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "api_key_not_found",
            "no such API key",
        )
    }

    /// Names the request field the error is about.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code, such as `invalid_request`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// A sentence for the person reading the error.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request field the error is about.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl From<ManageError> for ApiError {
    fn from(error: ManageError) -> Self {
        let (status, code, field) = match &error {
            ManageError::NotFound => return Self::key_not_found(),
            ManageError::InsufficientAccess { required } => {
                return Self::insufficient(*required, error.to_string());
            }
            ManageError::InvalidScope(_) => {
                (StatusCode::BAD_REQUEST, "invalid_request", Some("scopes"))
            }
            ManageError::LoosensOwnLimits => {
                (StatusCode::FORBIDDEN, "cannot_loosen_own_limits", None)
            }
            ManageError::Expired => (StatusCode::CONFLICT, "api_key_expired", Some("expires_at")),
            ManageError::InvalidName(_) => {
                (StatusCode::BAD_REQUEST, "invalid_request", Some("name"))
            }
            ManageError::ExpiryInPast => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some("expires_at"),
            ),
            ManageError::InvalidPageLimit { .. } => {
                (StatusCode::BAD_REQUEST, "invalid_request", Some("limit"))
            }
            ManageError::EmptyOrganization => (StatusCode::BAD_REQUEST, "invalid_request", None),
            ManageError::NameTaken => (StatusCode::CONFLICT, "api_key_name_taken", Some("name")),
            ManageError::Revoked => (StatusCode::CONFLICT, "api_key_revoked", None),
            ManageError::TooManyKeys { .. } => (StatusCode::CONFLICT, "too_many_api_keys", None),
            ManageError::Conflict => (StatusCode::CONFLICT, "concurrent_change", None),
            ManageError::Store(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "key_store_unavailable",
                None,
            ),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None),
        };
        if status.is_server_error() {
            tracing::error!(%error, "key management failed");
        }
        let api_error = Self::new(status, code, error.to_string());
        match field {
            Some(field) => api_error.with_field(field),
            None => api_error,
        }
    }
}

impl ApiError {
    /// `403`: the key lacks `required`, named in `required_permission` or `required_scope` as the
    /// layer names it.
    fn insufficient(required: Required, message: impl Into<Cow<'static, str>>) -> Self {
        let rejection = Rejection::insufficient(required);
        let mut error = Self::new(rejection.status(), rejection.code(), message);
        match required {
            Required::Permission(permission) => error.required_permission = Some(permission),
            Required::Scope(scope) => error.required_scope = Some(scope),
        }
        error
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::InsufficientPermissions { required } => {
                Self::insufficient(Required::Permission(required), rejection.message())
            }
            Rejection::InsufficientScope { required } => {
                Self::insufficient(Required::Scope(required), rejection.message())
            }
            _ => Self::new(rejection.status(), rejection.code(), rejection.message()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unauthorized = self.status == StatusCode::UNAUTHORIZED;
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
                required_permission: self.required_permission,
                required_scope: self.required_scope.map(|scope| scope.to_string()),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if unauthorized {
            // As the layer answers: the scheme a client should authenticate with.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("api-key"),
            );
        }
        response
    }
}

/// The schema of the JSON body, so that a host's OpenAPI description can say
/// `body = ApiError`.
impl utoipa::PartialSchema for ApiError {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ErrorBody::schema()
    }
}

impl ToSchema for ApiError {
    fn name() -> Cow<'static, str> {
        ErrorBody::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((ErrorBody::name().into_owned(), ErrorBody::schema()));
        ErrorBody::schemas(schemas);
    }
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// Machine-readable; each operation lists the codes it answers with.
    #[schema(value_type = String, example = "invalid_request")]
    code: Cow<'static, str>,
    /// A sentence for a person. It never contains key material.
    #[schema(value_type = String)]
    message: Cow<'static, str>,
    /// The request field at fault, for `invalid_request` and `api_key_name_taken`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable = false)]
    field: Option<Cow<'static, str>>,
    /// The permission the request needs, for `insufficient_permissions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::wire::PermissionSchema>, nullable = false)]
    required_permission: Option<Permission>,
    /// The scope the request needs, for `insufficient_scope`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::wire::Scope>, nullable = false)]
    required_scope: Option<String>,
}
