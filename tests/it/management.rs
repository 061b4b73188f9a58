//! `ManagementApi`, driven over HTTP through its router: both ways of choosing the organization,
//! pagination, changes, errors with the field they are about, and where key material appears.

use crate::common;
use axum::{Router, body::Body};
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    KeyManager, MemoryStore, OrganizationId, Permission,
    management::{ApiError, ManagementAccess, ManagementApi},
    testing::{Fault, Method, TestStore},
};
use http::{Request, StatusCode, request::Parts};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A host's own sign-in, simplified: the organization in `x-org`.
#[derive(Clone)]
struct HeaderAccess;

impl ManagementAccess for HeaderAccess {
    type Rejection = ApiError;

    async fn organization(&self, parts: &mut Parts) -> Result<OrganizationId, ApiError> {
        parts
            .headers
            .get("x-org")
            .and_then(|value| value.to_str().ok())
            .map(OrganizationId::from)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "not_signed_in", "sign in"))
    }
}

struct Api {
    router: Router,
    manager: KeyManager,
    store: TestStore<MemoryStore>,
}

impl Api {
    /// The API with the host's access, under `/dashboard/api`.
    fn with_header_access() -> Self {
        let store = TestStore::new(MemoryStore::new());
        let manager = KeyManager::new(store.clone());
        let api = ManagementApi::new(manager.clone()).with_access(HeaderAccess);
        let router = Router::new().nest("/dashboard/api", api.router());
        Self {
            router,
            manager,
            store,
        }
    }

    /// The API with the default access (the request's own key), under `/v1`, without the layer.
    fn with_key_access() -> Self {
        let store = TestStore::new(MemoryStore::new());
        let manager = KeyManager::new(store.clone());
        let router = Router::new().nest("/v1", ManagementApi::new(manager.clone()).router());
        Self {
            router,
            manager,
            store,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let (status, _, value) = self.call_raw(method, uri, headers, body).await;
        (status, value)
    }

    async fn call_raw(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (StatusCode, String, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = common::through(&self.router, request, body).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = response.into_body();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, content_type, value)
    }

    /// A call as organization `org` through `HeaderAccess`.
    async fn as_org(
        &self,
        org: &str,
        method: &str,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        self.call(
            method,
            &format!("/dashboard/api{uri}"),
            &[("x-org", org)],
            body,
        )
        .await
    }

    async fn create(&self, org: &str, name: &str) -> Value {
        let body = json!({"name": name, "permission": "read_only"}).to_string();
        let (status, created) = self.as_org(org, "POST", "/api-keys", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }
}

fn code(error: &Value) -> &str {
    error["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn default_access_needs_a_full_access_key_of_the_organization() {
    let api = Api::with_key_access();
    let org = OrganizationId::from("org_a");
    let full = api
        .manager
        .create(&org, NewKey::new("admin", Permission::FullAccess))
        .await
        .unwrap();
    let read = api
        .manager
        .create(&org, NewKey::new("reader", Permission::ReadOnly))
        .await
        .unwrap();

    let (status, error) = api.call("GET", "/v1/api-keys", &[], None).await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::UNAUTHORIZED, "missing_api_key")
    );
    let (status, error) = api
        .call("GET", "/v1/api-keys", &[("api-key", "fbsk_nope")], None)
        .await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::UNAUTHORIZED, "invalid_api_key")
    );

    let read_key = [("api-key", read.key.expose_secret())];
    let (status, error) = api.call("GET", "/v1/api-keys", &read_key, None).await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::FORBIDDEN, "insufficient_permissions")
    );
    assert_eq!(error["error"]["required_permission"], "full_access");

    let full_key = [("api-key", full.key.expose_secret())];
    let (status, page) = api.call("GET", "/v1/api-keys", &full_key, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);

    api.manager.revoke(&org, full.info.id).await.unwrap();
    let (status, error) = api.call("GET", "/v1/api-keys", &full_key, None).await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::UNAUTHORIZED, "revoked_api_key")
    );
}

#[tokio::test]
async fn behind_the_layer_the_key_is_checked_once() {
    let store = TestStore::new(MemoryStore::new()).without_cached_lookups();
    let manager = KeyManager::new(store.clone());
    let org = OrganizationId::from("org_a");
    let full = manager
        .create(&org, NewKey::new("admin", Permission::FullAccess))
        .await
        .unwrap();
    let router: Router = Router::new()
        .nest("/v1", ManagementApi::new(manager.clone()).router())
        .layer(ApiKeyAuthLayer::new(manager.authenticator().clone()));
    let before = store.calls(Method::Get);
    let request = Request::get("/v1/api-keys/".to_owned() + &full.info.id.to_string())
        .header("api-key", full.key.expose_secret())
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // One read by the layer, one by the handler: the access check reuses the layer's.
    assert_eq!(store.calls(Method::Get) - before, 2);
}

#[tokio::test]
async fn another_organizations_key_is_404_whatever_the_route() {
    let api = Api::with_header_access();
    let theirs = api.create("org_b", "theirs").await;
    let id = theirs["id"].as_str().unwrap();
    for (method, uri, body) in [
        ("GET", format!("/api-keys/{id}"), None),
        (
            "PATCH",
            format!("/api-keys/{id}"),
            Some(r#"{"name":"mine now"}"#),
        ),
        ("POST", format!("/api-keys/{id}/regenerate"), None),
        ("DELETE", format!("/api-keys/{id}"), None),
        ("GET", "/api-keys/not-an-id".to_owned(), None),
    ] {
        let (status, error) = api.as_org("org_a", method, &uri, body).await;
        assert_eq!(
            (status, code(&error)),
            (StatusCode::NOT_FOUND, "api_key_not_found"),
            "{method} {uri}"
        );
    }
    let (status, key) = api
        .as_org("org_b", "GET", &format!("/api-keys/{id}"), None)
        .await;
    assert_eq!(
        (status, key["name"].as_str()),
        (StatusCode::OK, Some("theirs")),
        "untouched"
    );
    let (status, error) = api.call("GET", "/dashboard/api/api-keys", &[], None).await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::UNAUTHORIZED, "not_signed_in"),
        "the host's refusal"
    );
}

#[tokio::test]
async fn pages_walk_every_key_once_newest_first() {
    let api = Api::with_header_access();
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(
            api.create("org_a", &format!("key {n}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        api.create("org_b", &format!("other {n}")).await;
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut uri = "/api-keys?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = api.as_org("org_a", "GET", &uri, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api-keys?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!((pages, &seen), (3, &created));

    let (_, page) = api.as_org("org_a", "GET", "/api-keys", None).await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        7,
        "default limit 50"
    );
    let (_, page) = api
        .as_org("org_a", "GET", "/api-keys?limit=100", None)
        .await;
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn bad_list_parameters_name_the_parameter() {
    let api = Api::with_header_access();
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("limit=-1", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
    ] {
        let (status, error) = api
            .as_org("org_a", "GET", &format!("/api-keys?{query}"), None)
            .await;
        assert_eq!(
            (status, code(&error)),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{query}"
        );
        assert_eq!(error["error"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn patch_changes_name_and_expiry_in_one_write() {
    let api = Api::with_header_access();
    let key = api.create("org_a", "old").await;
    let uri = format!("/api-keys/{}", key["id"].as_str().unwrap());
    let updates = api.store.calls(Method::Update);
    let body = r#"{"name":"new","expires_at":4102444800}"#;
    let (status, changed) = api.as_org("org_a", "PATCH", &uri, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (changed["name"].as_str(), changed["expires_at"].as_i64()),
        (Some("new"), Some(4102444800))
    );
    assert_eq!(api.store.calls(Method::Update) - updates, 1);

    let (_, changed) = api
        .as_org("org_a", "PATCH", &uri, Some(r#"{"expires_at":null}"#))
        .await;
    assert!(changed["expires_at"].is_null(), "null clears the expiry");
    assert_eq!(changed["name"], "new", "an absent field stays");
    let (status, same) = api.as_org("org_a", "PATCH", &uri, Some("{}")).await;
    assert_eq!(
        (status, same["name"].as_str()),
        (StatusCode::OK, Some("new"))
    );
}

#[tokio::test]
async fn errors_name_their_field() {
    let api = Api::with_header_access();
    let key = api.create("org_a", "taken").await;
    let id = key["id"].as_str().unwrap();
    let cases = [
        (
            "POST",
            "/api-keys".to_owned(),
            r#"{"permission":"read_only"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("name"),
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            r#"{"name":"x","permission":"owner"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("permission"),
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            r#"{"name":"x","permission":"read_only","expires_at":1}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("expires_at"),
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            r#"{"name":"x","permission":"read_only","expires_at":253402300800}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("expires_at"),
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            r#"{"name":"  ","permission":"read_only"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("name"),
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            r#"{"name":"TAKEN","permission":"read_only"}"#,
            StatusCode::CONFLICT,
            "api_key_name_taken",
            Some("name"),
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            r#"{"name":"x","permission":"read_only","admin":true}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            None,
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            "[1]",
            StatusCode::BAD_REQUEST,
            "invalid_request",
            None,
        ),
        (
            "POST",
            "/api-keys".to_owned(),
            "{",
            StatusCode::BAD_REQUEST,
            "invalid_request",
            None,
        ),
        (
            "PATCH",
            format!("/api-keys/{id}"),
            r#"{"name":null}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("name"),
        ),
        (
            "POST",
            format!("/api-keys/{id}/regenerate"),
            r#"{"grace_period_seconds":2592001}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("grace_period_seconds"),
        ),
        (
            "POST",
            format!("/api-keys/{id}/regenerate"),
            r#"{"grace_period_seconds":-1}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("grace_period_seconds"),
        ),
    ];
    for (method, uri, body, status, expected, field) in cases {
        let (got, error) = api.as_org("org_a", method, &uri, Some(body)).await;
        assert_eq!(
            (got, code(&error)),
            (status, expected),
            "{method} {uri} {body}"
        );
        assert_eq!(
            error["error"]["field"].as_str(),
            field,
            "{method} {uri} {body}"
        );
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }

    api.as_org("org_a", "DELETE", &format!("/api-keys/{id}"), None)
        .await;
    let (status, error) = api
        .as_org("org_a", "POST", &format!("/api-keys/{id}/regenerate"), None)
        .await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::CONFLICT, "api_key_revoked")
    );
    api.create("org_a", "taken").await; // a revoked key's name is free again
}

#[tokio::test]
async fn key_material_only_in_create_and_regenerate() {
    let api = Api::with_header_access();
    let created = api.create("org_a", "ci").await;
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("fbsk_"));
    let id = created["id"].as_str().unwrap();
    let (_, rotated) = api
        .as_org(
            "org_a",
            "POST",
            &format!("/api-keys/{id}/regenerate"),
            Some(r#"{"grace_period_seconds":3600}"#),
        )
        .await;
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert_ne!(key, new_key);
    assert!(rotated["previous_secret_valid_until"].is_i64());

    let secrets = [&key[key.len() - 38..], &new_key[new_key.len() - 38..]];
    for (method, uri, body) in [
        ("GET", "/api-keys".to_owned(), None),
        ("GET", format!("/api-keys/{id}"), None),
        (
            "PATCH",
            format!("/api-keys/{id}"),
            Some(r#"{"name":"renamed"}"#),
        ),
        ("DELETE", format!("/api-keys/{id}"), None),
    ] {
        let (status, value) = api.as_org("org_a", method, &uri, body).await;
        assert_eq!(status, StatusCode::OK);
        let text = value.to_string();
        assert!(!text.contains("\"key\""), "{method} {uri}: {text}");
        for secret in secrets {
            assert!(!text.contains(secret), "{method} {uri}");
        }
    }
}

#[tokio::test]
async fn a_failing_store_is_503_json_and_nothing_changes() {
    let api = Api::with_header_access();
    api.create("org_a", "kept").await;
    api.store.fault_all(Fault::Error);
    for (method, uri, body) in [
        ("GET", "/api-keys", None),
        (
            "POST",
            "/api-keys",
            Some(r#"{"name":"x","permission":"read_only"}"#),
        ),
    ] {
        let (status, content_type, error) = api
            .call_raw(
                method,
                &format!("/dashboard/api{uri}"),
                &[("x-org", "org_a")],
                body,
            )
            .await;
        assert_eq!(
            (status, code(&error)),
            (StatusCode::SERVICE_UNAVAILABLE, "key_store_unavailable")
        );
        assert_eq!(content_type, "application/json");
    }
    api.store.clear_faults();
    let (_, page) = api.as_org("org_a", "GET", "/api-keys", None).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_oversized_body_is_413_json() {
    let api = Api::with_header_access();
    let body = json!({"name": "x".repeat(20_000), "permission": "read_only"}).to_string();
    let (status, error) = api.as_org("org_a", "POST", "/api-keys", Some(&body)).await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
}

#[test]
fn the_description_lists_every_operation_and_its_errors() {
    let doc = serde_json::to_value(ManagementApi::openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let operations = [
        ("/api-keys", "get", &["200", "400", "401", "403", "503"][..]),
        (
            "/api-keys",
            "post",
            &["201", "400", "401", "403", "409", "413", "503"],
        ),
        (
            "/api-keys/{id}",
            "get",
            &["200", "401", "403", "404", "503"],
        ),
        (
            "/api-keys/{id}",
            "patch",
            &["200", "400", "404", "409", "503"],
        ),
        ("/api-keys/{id}", "delete", &["200", "404", "503"]),
        (
            "/api-keys/{id}/regenerate",
            "post",
            &["200", "400", "404", "409", "503"],
        ),
    ];
    for (path, method, statuses) in operations {
        let responses = &doc["paths"][path][method]["responses"];
        for status in statuses {
            assert!(responses[status].is_object(), "{method} {path} {status}");
        }
        assert_eq!(
            doc["paths"][path][method]["security"],
            json!([{"api_key": []}])
        );
    }
    let described = doc["paths"]["/api-keys"]["post"]["responses"]["409"]["description"]
        .as_str()
        .unwrap();
    assert!(described.contains("api_key_name_taken") && described.contains("too_many_api_keys"));
    assert!(doc["components"]["schemas"]["Error"].is_object());
}

#[tokio::test]
async fn a_key_is_created_with_a_rate_limit_or_none() {
    let api = Api::with_header_access();
    let body = r#"{"name":"limited","permission":"read_only",
        "rate_limit":{"requests":600,"per_seconds":60}}"#;
    let (status, limited) = api.as_org("org_a", "POST", "/api-keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{limited}");
    assert_eq!(
        limited["rate_limit"],
        json!({"requests": 600, "per_seconds": 60})
    );
    let body = r#"{"name":"null","permission":"read_only","rate_limit":null}"#;
    let (status, null) = api.as_org("org_a", "POST", "/api-keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{null}");
    let absent = api.create("org_a", "absent").await;
    for key in [&null, &absent] {
        assert!(key.as_object().unwrap().contains_key("rate_limit"), "{key}");
        assert!(key["rate_limit"].is_null(), "{key}");
    }
    let id = limited["id"].as_str().unwrap();
    let (_, got) = api
        .as_org("org_a", "GET", &format!("/api-keys/{id}"), None)
        .await;
    assert_eq!(got["rate_limit"], limited["rate_limit"]);
    let (_, page) = api.as_org("org_a", "GET", "/api-keys", None).await;
    let limits: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| &key["rate_limit"])
        .collect();
    assert_eq!(
        limits,
        [&Value::Null, &Value::Null, &limited["rate_limit"]],
        "newest first, every key with its limit or null"
    );
}

#[tokio::test]
async fn patch_sets_changes_and_removes_a_rate_limit() {
    let api = Api::with_header_access();
    let key = api.create("org_a", "CI").await;
    let uri = format!("/api-keys/{}", key["id"].as_str().unwrap());
    let updates = api.store.calls(Method::Update);
    let body = r#"{"name":"Deploys","rate_limit":{"requests":5,"per_seconds":1}}"#;
    let (status, changed) = api.as_org("org_a", "PATCH", &uri, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Deploys");
    assert_eq!(
        changed["rate_limit"],
        json!({"requests": 5, "per_seconds": 1})
    );
    assert_eq!(api.store.calls(Method::Update) - updates, 1, "one write");

    let (_, renamed) = api
        .as_org("org_a", "PATCH", &uri, Some(r#"{"name":"CI"}"#))
        .await;
    assert_eq!(
        renamed["rate_limit"], changed["rate_limit"],
        "an absent rate_limit stays"
    );
    let (_, removed) = api
        .as_org("org_a", "PATCH", &uri, Some(r#"{"rate_limit":null}"#))
        .await;
    assert!(
        removed["rate_limit"].is_null(),
        "null removes it: {removed}"
    );
    let (_, got) = api.as_org("org_a", "GET", &uri, None).await;
    assert!(got["rate_limit"].is_null());
}

#[tokio::test]
async fn an_invalid_rate_limit_is_400_about_rate_limit_saying_what_is_wrong() {
    let api = Api::with_header_access();
    let key = api.create("org_a", "CI").await;
    let uri = format!("/api-keys/{}", key["id"].as_str().unwrap());
    let cases = [
        (json!({"requests": 0, "per_seconds": 60}), "requests"),
        (
            json!({"requests": 1_000_001, "per_seconds": 60}),
            "requests",
        ),
        (json!({"requests": 5, "per_seconds": 0}), "per_seconds"),
        (json!({"requests": 5, "per_seconds": 86_401}), "per_seconds"),
        (json!({"requests": -5, "per_seconds": 60}), "-5"),
        (json!({"requests": 5}), "per_seconds"),
        (
            json!({"requests": 5, "per_seconds": 60, "burst": 10}),
            "burst",
        ),
        (json!({"requests": "5", "per_seconds": 60}), "\"5\""),
        (json!(600), "requests"),
    ];
    for (rate_limit, named) in cases {
        let create = json!({"name": "x", "permission": "read_only", "rate_limit": rate_limit});
        let patch = json!({"rate_limit": rate_limit});
        for (method, uri, body) in [("POST", "/api-keys", create), ("PATCH", &*uri, patch)] {
            let body = body.to_string();
            let (status, error) = api.as_org("org_a", method, uri, Some(&body)).await;
            assert_eq!(
                (status, code(&error)),
                (StatusCode::BAD_REQUEST, "invalid_request"),
                "{method} {body}"
            );
            assert_eq!(error["error"]["field"], "rate_limit", "{method} {body}");
            let message = error["error"]["message"].as_str().unwrap();
            assert!(message.contains(named), "{method} {body}: {message}");
        }
    }
    let (_, page) = api.as_org("org_a", "GET", "/api-keys", None).await;
    let keys = page["data"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "nothing was created");
    assert!(keys[0]["rate_limit"].is_null(), "nothing was changed");
    assert_eq!(api.store.calls(Method::Update), 0);
}

#[test]
fn the_description_says_exactly_what_a_rate_limit_is() {
    let doc = serde_json::to_value(ManagementApi::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let limit = &schemas["RateLimit"];
    assert_eq!(limit["type"], "object");
    assert_eq!(limit["additionalProperties"], false);
    assert_eq!(limit["required"], json!(["requests", "per_seconds"]));
    let bounds = |name: &str| {
        let property = &limit["properties"][name];
        assert_eq!(property["type"], "integer", "{name}");
        (property["minimum"].as_u64(), property["maximum"].as_u64())
    };
    assert_eq!(bounds("requests"), (Some(1), Some(1_000_000)));
    assert_eq!(bounds("per_seconds"), (Some(1), Some(86_400)));
    for schema in ["ApiKey", "NewApiKey", "ApiKeyChanges"] {
        let property = &schemas[schema]["properties"]["rate_limit"];
        let one_of = property["oneOf"].as_array().unwrap();
        let types: Vec<_> = one_of
            .iter()
            .map(|option| option.get("$ref").unwrap_or(&option["type"]))
            .collect();
        assert_eq!(
            types,
            [&json!("null"), &json!("#/components/schemas/RateLimit")],
            "{schema}"
        );
    }
    let answered = schemas["ApiKey"]["required"].as_array().unwrap();
    assert!(answered.contains(&json!("rate_limit")));
    let asked = schemas["NewApiKey"]["required"].as_array().unwrap();
    assert!(!asked.contains(&json!("rate_limit")));
}
