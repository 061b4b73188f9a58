//! The example server's routes, driven as a client would, through the real router.

use crate::app;
use crate::common;

use axum::Router;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission};
use http::{Request, StatusCode};
use serde_json::{Value, json};

struct Server {
    router: Router,
    manager: KeyManager,
    full: String,
    read_only: String,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(KeyManager::new(MemoryStore::new())).await
    }

    /// The server with `manager`, as `main` configures it or otherwise.
    async fn start_with(manager: KeyManager) -> Self {
        let keys = app::ensure_demo_keys(&manager).await.unwrap();
        assert_eq!(keys.len(), 2);
        assert!(
            app::ensure_demo_keys(&manager).await.unwrap().is_empty(),
            "created only once"
        );
        let key = |permission| {
            keys.iter()
                .find(|(p, _)| *p == permission)
                .unwrap()
                .1
                .clone()
        };
        Self {
            router: app::app(app::AppState::new(manager.clone())),
            full: key(Permission::FullAccess),
            read_only: key(Permission::ReadOnly),
            manager,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("api-key", key);
        }
        let response = common::through(&self.router, request, body).await;
        let status = response.status();
        let bytes = response.into_body();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }
}

#[tokio::test]
async fn health_needs_no_key() {
    let server = Server::start().await;
    assert_eq!(
        server.call("GET", "/health", None, None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn demo_keys_behave_as_the_status_table_says() {
    let s = Server::start().await;
    let (status, me) = s.call("GET", "/v1/me", Some(&s.read_only), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["organization"], "org_demo");
    assert_eq!(me["permission"], "read_only");
    assert!(me.as_object().unwrap().contains_key("rate_limit"));
    assert!(
        me["rate_limit"].is_null(),
        "the demo keys have no limit of their own"
    );

    assert_eq!(
        s.call("GET", "/v1/forms", Some(&s.read_only), None).await.0,
        StatusCode::OK
    );
    let (status, error) = s
        .call(
            "POST",
            "/v1/forms",
            Some(&s.read_only),
            Some(r#"{"name":"x"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["required_permission"], "full_access");

    let (status, form) = s
        .call(
            "POST",
            "/v1/forms",
            Some(&s.full),
            Some(r#"{"name":"Contact"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(form["name"], "Contact");
    let (_, forms) = s.call("GET", "/v1/forms", Some(&s.read_only), None).await;
    assert_eq!(forms, json!([{"id": 1, "name": "Contact"}]));

    let (status, error) = s.call("GET", "/v1/forms", None, None).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("missing_api_key"))
    );
    let (status, error) = s.call("GET", "/v1/forms", Some("garbage"), None).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("invalid_api_key"))
    );
}

#[tokio::test]
async fn forms_are_kept_per_organization() {
    let s = Server::start().await;
    let other = s
        .manager
        .create(
            &OrganizationId::from("org_other"),
            NewKey::new("x", Permission::FullAccess),
        )
        .await
        .unwrap();
    s.call(
        "POST",
        "/v1/forms",
        Some(&s.full),
        Some(r#"{"name":"Mine"}"#),
    )
    .await;
    let (_, forms) = s
        .call("GET", "/v1/forms", Some(other.key.expose_secret()), None)
        .await;
    assert_eq!(forms, json!([]));
}

#[tokio::test]
async fn key_routes_create_list_regenerate_and_revoke() {
    let s = Server::start().await;
    let (status, created) = s
        .call(
            "POST",
            "/v1/api-keys",
            Some(&s.full),
            Some(r#"{"name":"CI","permission":"read_only"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["permission"], "read_only");
    assert!(created["rate_limit"].is_null(), "{created}");
    assert_eq!(
        s.call("GET", "/v1/me", Some(&key), None).await.0,
        StatusCode::OK
    );

    let (status, list) = s.call("GET", "/v1/api-keys", Some(&s.full), None).await;
    assert_eq!(status, StatusCode::OK);
    let keys = list["data"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0]["id"], id.as_str(), "newest first");
    assert!(keys[0].get("key").is_none() && keys[0].get("digest").is_none());
    assert!(list["next_cursor"].is_null());

    let uri = format!("/v1/api-keys/{id}/regenerate");
    let (status, rotated) = s
        .call(
            "POST",
            &uri,
            Some(&s.full),
            Some(r#"{"grace_period_seconds":60}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["id"], id.as_str());
    assert!(rotated["previous_secret_valid_until"].is_u64());
    assert_eq!(
        s.call("GET", "/v1/me", Some(&key), None).await.0,
        StatusCode::OK,
        "old key in grace"
    );

    let (status, _) = s.call("POST", &uri, Some(&s.full), None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "regenerating without a body means no grace"
    );
    assert_eq!(
        s.call("GET", "/v1/me", Some(&new_key), None).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, revoked) = s
        .call("DELETE", &format!("/v1/api-keys/{id}"), Some(&s.full), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_u64());
}

#[tokio::test]
async fn key_routes_need_full_access() {
    let s = Server::start().await;
    for (method, uri) in [("GET", "/v1/api-keys"), ("POST", "/v1/api-keys")] {
        let (status, error) = s
            .call(
                method,
                uri,
                Some(&s.read_only),
                Some(r#"{"name":"x","permission":"read_only"}"#),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert_eq!(error["error"]["code"], "insufficient_permissions");
    }
}

#[tokio::test]
async fn bad_bodies_are_400_with_a_reason() {
    let s = Server::start().await;
    for body in [
        "",
        "not json",
        r#"{"name":"x"}"#,
        r#"{"name":"x","permission":"admin"}"#,
        r#"{"name":"","permission":"read_only"}"#,
        r#"{"name":"x","permission":"read_only","expires_at":1}"#,
        r#"{"name":"x","permission":"read_only","extra":true}"#,
        r#"{"name":"x","permission":"read_only","expires_at":99999999999999}"#,
    ] {
        let (status, error) = s
            .call("POST", "/v1/api-keys", Some(&s.full), Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error["error"]["code"], "invalid_request");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn unknown_or_foreign_ids_are_404() {
    let s = Server::start().await;
    let other = s
        .manager
        .create(
            &OrganizationId::from("org_other"),
            NewKey::new("x", Permission::FullAccess),
        )
        .await
        .unwrap();
    let foreign = other.info.id.to_string();
    for id in ["nope", "AAAAAAAAAAAA", foreign.as_str()] {
        let (status, error) = s
            .call("DELETE", &format!("/v1/api-keys/{id}"), Some(&s.full), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(error["error"]["code"], "api_key_not_found");
        let uri = format!("/v1/api-keys/{id}/regenerate");
        assert_eq!(
            s.call("POST", &uri, Some(&s.full), None).await.0,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        s.call("GET", "/v1/me", Some(other.key.expose_secret()), None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_openapi_description_is_served_and_covers_every_route() {
    let s = Server::start().await;
    let (status, doc) = s.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["in"],
        "header"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["name"],
        "api-key"
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/health", &["get"][..]),
        ("/v1/me", &["get"]),
        ("/v1/forms", &["get", "post"]),
        ("/v1/api-keys", &["get", "post"]),
        ("/v1/api-keys/{id}", &["get", "patch", "delete"]),
        ("/v1/api-keys/{id}/regenerate", &["post"]),
    ] {
        for method in methods {
            let operation = &paths[path][method];
            assert!(operation.is_object(), "{method} {path}");
            if path != "/health" {
                for status in ["401", "403", "503"] {
                    assert!(
                        operation["responses"][status]["content"]["application/json"].is_object(),
                        "{method} {path} documents {status}"
                    );
                }
            }
        }
    }
    assert_eq!(paths.len(), 6, "no route left undocumented, none invented");
    let schemas = &doc["components"]["schemas"];
    let me = &schemas["Me"]["properties"]["rate_limit"]["oneOf"];
    assert_eq!(me[1]["$ref"], "#/components/schemas/RateLimit", "{me}");
    assert!(schemas["RateLimit"]["properties"]["per_seconds"].is_object());
}

#[tokio::test]
async fn a_key_limited_to_five_a_minute_gets_five_then_429() {
    let manager = KeyManager::new(MemoryStore::new());
    let keys = app::ensure_demo_keys(&manager).await.unwrap();
    let full = keys[0].1.clone();
    let limits =
        formbox_auth::rate_limit::RateLimits::new(formbox_auth::rate_limit::MemoryLimiter::new());
    let router = app::app(app::AppState::new(manager).with_rate_limits(limits));
    let s = Server {
        router,
        manager: KeyManager::new(MemoryStore::new()),
        full: full.clone(),
        read_only: String::new(),
    };
    let body =
        r#"{"name":"five","permission":"read_only","rate_limit":{"requests":5,"per_seconds":60}}"#;
    let (status, created) = s
        .call("POST", "/v1/api-keys", Some(&full), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["rate_limit"],
        json!({"requests": 5, "per_seconds": 60})
    );
    let key = created["key"].as_str().unwrap().to_owned();
    for n in 1..=5 {
        let (status, _) = s.call("GET", "/v1/forms", Some(&key), None).await;
        assert_eq!(status, StatusCode::OK, "request {n}");
    }
    let request = Request::get("/v1/forms").header("api-key", &key);
    let response = common::through(&s.router, request, None).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "12");
    let bytes = response.into_body();
    let error: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(error["error"]["code"], "rate_limited");
    assert_eq!(
        error["error"]["rate_limit"],
        json!({"requests": 5, "per_seconds": 60})
    );
    let (status, _) = s.call("GET", "/v1/forms", Some(&full), None).await;
    assert_eq!(status, StatusCode::OK, "another key is unaffected");
}

#[tokio::test]
async fn creating_a_key_past_the_cap_is_409_too_many_api_keys() {
    let cap = app::MAX_KEYS_PER_ORGANIZATION;
    let manager = KeyManager::new(MemoryStore::new()).with_max_keys_per_organization(cap);
    let s = Server::start_with(manager).await;
    let org = OrganizationId::from(app::DEMO_ORGANIZATION);
    // The two demo keys, and all but one of the rest.
    for n in 2..cap - 1 {
        let key = NewKey::new(format!("key {n}"), Permission::ReadOnly);
        s.manager.create(&org, key).await.unwrap();
    }
    let create = |name: &str| json!({"name": name, "permission": "read_only"}).to_string();
    let (status, _) = s
        .call("POST", "/v1/api-keys", Some(&s.full), Some(&create("last")))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, error) = s
        .call(
            "POST",
            "/v1/api-keys",
            Some(&s.full),
            Some(&create("one too many")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "too_many_api_keys");
    assert_eq!(s.manager.list(&org).await.unwrap().len(), cap);

    // Revoking one makes room again.
    let keys = s.manager.list(&org).await.unwrap();
    s.manager.revoke(&org, keys[0].id).await.unwrap();
    let (status, _) = s
        .call(
            "POST",
            "/v1/api-keys",
            Some(&s.full),
            Some(&create("one too many")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
