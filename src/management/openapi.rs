//! The OpenAPI 3.1 description of the management API, and of any route behind the layer.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, ContentBuilder, Ref, RefOr, ResponseBuilder,
        security::{ApiKey, ApiKeyValue, SecurityScheme},
    },
};

use super::{error, handlers, wire};

/// Documents authentication by API key in an OpenAPI description: adds the `api-key` header as an
/// `apiKey` security scheme named [`KeySecurity::SCHEME`], and to every operation that has a security
/// requirement, the answers the layer can give instead of the handler's (`400
/// ambiguous_api_key`, `401`, `403 insufficient_permissions` or `insufficient_scope`, `429 rate_limited`,
/// `503 key_store_unavailable`), with their codes.
///
/// Use it on a service's own routes behind [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer):
///
/// ```
/// use formbox_auth::management::{KeySecurity, ManagementApi};
/// use utoipa::OpenApi;
///
/// /// Lists forms.
/// #[utoipa::path(get, path = "/v1/forms", responses((status = 200)), security(("api_key" = [])))]
/// async fn list_forms() {}
///
/// #[derive(OpenApi)]
/// #[openapi(paths(list_forms), modifiers(&KeySecurity))]
/// struct Doc;
///
/// let doc = Doc::openapi().nest("/v1", ManagementApi::openapi());
/// let forms = &doc.paths.paths["/v1/forms"];
/// assert!(forms.get.as_ref().unwrap().responses.responses.contains_key("401"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct KeySecurity;

impl KeySecurity {
    /// The name of the `api-key` header's security scheme in the description.
    pub const SCHEME: &str = "api_key";
}

/// The layer's answers, by status.
const LAYER_ANSWERS: [(&str, &str); 5] = [
    (
        "400",
        "`ambiguous_api_key`: the request carries more than one key.",
    ),
    (
        "401",
        "`missing_api_key`: no key in the `api-key` header. `invalid_api_key`: the key is \
         malformed, has a bad checksum, is unknown or has a wrong secret. `revoked_api_key`: the \
         key was revoked. `expired_api_key`: the key has expired.",
    ),
    (
        "403",
        "`insufficient_permissions`: the key's permission is too low, or a restricted key met \
         a request that needs a preset; `required_permission` names the one the request needs. \
         `insufficient_scope`: a restricted key lacks the scope the request needs, named in \
         `required_scope`.",
    ),
    (
        "429",
        "`rate_limited`: the key's rate limit is spent (where the service sets limits); \
         `Retry-After` and `retry_after_seconds` say when to try again.",
    ),
    (
        "503",
        "`key_store_unavailable`: keys cannot be read or written right now; nothing was let \
         through or changed. Try again later.",
    ),
];

impl Modify for KeySecurity {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            Self::SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "api-key",
                "An API key, `fbsk_...`. Management operations need one holding `api_keys:write`: \
                 `full_access`, or a restricted key with that scope.",
            ))),
        );
        add_error_schemas(components);
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add_layer_answers(operation);
                }
            }
        }
    }
}

/// Adds each of the layer's answers to `operation`, merging with the handler's own answer of
/// the same status.
fn add_layer_answers(operation: &mut openapi::path::Operation) {
    let responses = &mut operation.responses.responses;
    for (status, description) in LAYER_ANSWERS {
        match responses.get_mut(status) {
            Some(RefOr::T(response)) => {
                if !response.description.contains(description) {
                    response.description = format!("{} {description}", response.description);
                }
            }
            Some(RefOr::Ref(_)) => {}
            None => {
                responses.insert(status.to_owned(), RefOr::T(error_response(description)));
            }
        }
    }
}

fn error_response(description: &str) -> openapi::Response {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Error")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
}

/// The `Error` schema and the schemas it refers to, unless the description has them.
fn add_error_schemas(components: &mut openapi::Components) {
    use utoipa::{PartialSchema, ToSchema};
    let mut schemas = vec![(
        error::ErrorBody::name().into_owned(),
        error::ErrorBody::schema(),
    )];
    error::ErrorBody::schemas(&mut schemas);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
}

/// The management API's description, paths relative to where it is mounted.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "API keys",
        description = "Create, list, change, regenerate and revoke an organization's API keys.",
    ),
    paths(
        handlers::list_keys,
        handlers::create_key,
        handlers::get_key,
        handlers::update_key,
        handlers::regenerate_key,
        handlers::revoke_key,
    ),
    components(schemas(wire::ApiKey, wire::NewSecret, wire::ApiKeyPage, super::ApiError)),
    tags((name = handlers::TAG, description = "The organization's API keys.")),
    modifiers(&KeySecurity),
)]
pub(crate) struct ManagementDoc;
