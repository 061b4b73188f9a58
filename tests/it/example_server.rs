//! The example server's routes, driven as a client would, through the real router.

use crate::app;
use crate::common;

use axum::Router;
use std::time::{Duration, UNIX_EPOCH};

use formbox_auth::lifecycle::NewKey;
use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission, clock::Clock};
use http::{Request, StatusCode};
use serde_json::{Value, json};

struct Server {
    router: Router,
    manager: KeyManager,
    full: String,
    read_only: String,
}

/// A manager as the server's `main` configures one: keys in memory, the declared resources.
fn manager() -> KeyManager {
    KeyManager::new(MemoryStore::new()).with_resources(app::resources::declare().unwrap())
}

impl Server {
    async fn start() -> Self {
        Self::start_with(manager()).await
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
        common::status_and_json(common::through(&self.router, request, body).await)
    }

    /// `POST /v1/api-keys` with `body`, made with `key`.
    async fn create_key(&self, key: &str, body: Value) -> (StatusCode, Value) {
        let body = body.to_string();
        self.call("POST", "/v1/api-keys", Some(key), Some(&body))
            .await
    }

    /// A key `full` creates with `body`: its plaintext and id.
    async fn created(&self, body: Value) -> (String, String) {
        let (status, created) = self.create_key(&self.full, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let text = |field: &str| created[field].as_str().unwrap().to_owned();
        (text("key"), text("id"))
    }

    /// A restricted key holding `scopes`, created by `full`: its plaintext and id.
    async fn restricted(&self, name: &str, scopes: &[&str]) -> (String, String) {
        let body = json!({"name": name, "permission": "restricted", "scopes": scopes});
        self.created(body).await
    }

    /// `PATCH /v1/api-keys/{id}` with `changes`, made with `key`.
    async fn patch(&self, key: &str, id: &str, changes: Value) -> (StatusCode, Value) {
        let uri = format!("/v1/api-keys/{id}");
        self.call("PATCH", &uri, Some(key), Some(&changes.to_string()))
            .await
    }
}

/// A `403`'s code, and the permission or scope it names as required.
fn refusal(body: &Value) -> (&str, Option<&str>, Option<&str>) {
    let error = &body["error"];
    (
        error["code"].as_str().unwrap_or_default(),
        error["required_permission"].as_str(),
        error["required_scope"].as_str(),
    )
}

/// `time` in Unix seconds, as the key management answers show it.
fn unix_seconds(time: std::time::SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
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
        ("/v1/submissions", &["get", "post"]),
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
    assert_eq!(paths.len(), 7, "no route left undocumented, none invented");
    let schemas = &doc["components"]["schemas"];
    let me = &schemas["Me"]["properties"]["rate_limit"]["oneOf"];
    assert_eq!(me[1]["$ref"], "#/components/schemas/RateLimit", "{me}");
    assert!(schemas["RateLimit"]["properties"]["per_seconds"].is_object());
}

#[tokio::test]
async fn a_key_limited_to_five_a_minute_gets_five_then_429() {
    let manager = manager();
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
    let manager = manager().with_max_keys_per_organization(cap);
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

#[tokio::test]
async fn a_forms_read_key_reads_forms_and_is_told_the_scope_it_lacks() {
    let s = Server::start().await;
    let (reader, _) = s.restricted("forms reader", &["forms:read"]).await;
    assert_eq!(
        s.call("GET", "/v1/forms", Some(&reader), None).await,
        (StatusCode::OK, json!([]))
    );

    let refused = [
        ("POST", "/v1/forms", "forms:write"),
        ("GET", "/v1/submissions", "submissions:read"),
        ("GET", "/v1/api-keys", "api_keys:write"),
        ("POST", "/v1/api-keys", "api_keys:write"),
    ];
    let body = r#"{"name":"Contact","permission":"read_only"}"#;
    for (method, uri, scope) in refused {
        let (status, error) = s.call(method, uri, Some(&reader), Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {error}");
        assert_eq!(
            refusal(&error),
            ("insufficient_scope", None, Some(scope)),
            "{method} {uri}"
        );
    }
    let (_, forms) = s.call("GET", "/v1/forms", Some(&s.full), None).await;
    assert_eq!(forms, json!([]), "the refused POST created nothing");

    // `/v1/me` is about the key itself: any valid key may ask it, and sees its scopes.
    let (status, me) = s.call("GET", "/v1/me", Some(&reader), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (&me["permission"], &me["scopes"]),
        (&json!("restricted"), &json!(["forms:read"]))
    );
}

#[tokio::test]
async fn submissions_need_their_own_scopes_and_presets_pass_as_the_method_says() {
    let s = Server::start().await;
    let contact = r#"{"name":"Contact"}"#;
    s.call("POST", "/v1/forms", Some(&s.full), Some(contact))
        .await;
    let (writer, _) = s.restricted("intake", &["submissions:write"]).await;
    let submission = r#"{"form_id":1,"answers":{"email":"ada@example.com"}}"#;
    let (status, created) = s
        .call("POST", "/v1/submissions", Some(&writer), Some(submission))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let expected = json!([{"id": 1, "form_id": 1, "answers": {"email": "ada@example.com"}}]);
    assert_eq!(
        s.call("GET", "/v1/submissions", Some(&writer), None).await,
        (StatusCode::OK, expected.clone()),
        "writing includes reading"
    );
    assert_eq!(
        s.call("GET", "/v1/submissions", Some(&s.read_only), None)
            .await,
        (StatusCode::OK, expected)
    );
    let (status, error) = s.call("GET", "/v1/forms", Some(&writer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refusal(&error),
        ("insufficient_scope", None, Some("forms:read"))
    );

    let (status, error) = s
        .call(
            "POST",
            "/v1/submissions",
            Some(&s.read_only),
            Some(submission),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refusal(&error),
        ("insufficient_permissions", Some("full_access"), None)
    );
    let unknown_form = r#"{"form_id":7,"answers":{}}"#;
    let (status, error) = s
        .call("POST", "/v1/submissions", Some(&s.full), Some(unknown_form))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["field"], "form_id");
}

#[tokio::test]
async fn a_key_that_manages_keys_creates_none_that_may_do_more_than_itself() {
    let s = Server::start().await;
    let (manager_key, _) = s
        .restricted("forms admin", &["forms:write", "api_keys:write"])
        .await;
    let (status, list) = s
        .call("GET", "/v1/api-keys", Some(&manager_key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");

    for (body, expected) in [
        (
            json!({"name": "root", "permission": "full_access"}),
            ("insufficient_permissions", Some("full_access"), None),
        ),
        (
            json!({"name": "reader", "permission": "read_only"}),
            ("insufficient_permissions", Some("full_access"), None),
        ),
        (
            json!({"name": "inbox", "permission": "restricted", "scopes": ["submissions:read"]}),
            ("insufficient_scope", None, Some("submissions:read")),
        ),
    ] {
        let (status, error) = s.create_key(&manager_key, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}: {error}");
        assert_eq!(refusal(&error), expected, "{body}");
    }

    let reader =
        json!({"name": "forms reader", "permission": "restricted", "scopes": ["forms:read"]});
    let (status, created) = s.create_key(&manager_key, reader).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["permission"], &created["scopes"]),
        (&json!("restricted"), &json!(["forms:read"]))
    );
    let key = created["key"].as_str().unwrap();
    assert_eq!(
        s.call("GET", "/v1/forms", Some(key), None).await.0,
        StatusCode::OK
    );
    let names: Vec<String> = s
        .manager
        .list(&OrganizationId::from(app::DEMO_ORGANIZATION))
        .await
        .unwrap()
        .into_iter()
        .map(|key| key.name)
        .collect();
    assert_eq!(names.len(), 4, "only the forms reader was added: {names:?}");
}

#[tokio::test]
async fn a_key_cannot_loosen_its_own_rate_limit_or_expiry() {
    let (manager, clock) = common::manager_with_clock(MemoryStore::new());
    let s = Server::start_with(manager.with_resources(app::resources::declare().unwrap())).await;
    let expires_at = unix_seconds(clock.now()) + 3_600;
    let limited = json!({
        "name": "limited admin",
        "permission": "restricted",
        "scopes": ["forms:write", "api_keys:write"],
        "rate_limit": {"requests": 10, "per_seconds": 60},
        "expires_at": expires_at,
    });
    let (key, id) = s.created(limited).await;

    for loosening in [
        json!({"rate_limit": null}),
        json!({"rate_limit": {"requests": 100, "per_seconds": 60}}),
        json!({"expires_at": null}),
        json!({"expires_at": expires_at + 60}),
    ] {
        let (status, error) = s.patch(&key, &id, loosening.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{loosening}: {error}");
        assert_eq!(
            error["error"]["code"], "cannot_loosen_own_limits",
            "{loosening}"
        );
    }
    let (status, unchanged) = s
        .call("GET", &format!("/v1/api-keys/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{unchanged}");
    assert_eq!(
        (&unchanged["rate_limit"], &unchanged["expires_at"]),
        (
            &json!({"requests": 10, "per_seconds": 60}),
            &json!(expires_at)
        )
    );

    let tighter = json!({"rate_limit": {"requests": 5, "per_seconds": 60}});
    let (status, tightened) = s.patch(&key, &id, tighter).await;
    assert_eq!(status, StatusCode::OK, "{tightened}");
    assert_eq!(tightened["rate_limit"]["requests"], 5);
}

#[tokio::test]
async fn an_expired_key_keeps_its_expiry() {
    let (manager, clock) = common::manager_with_clock(MemoryStore::new());
    let s = Server::start_with(manager.with_resources(app::resources::declare().unwrap())).await;
    let expires_at = unix_seconds(clock.now()) + 2;
    let short = json!({"name": "short", "permission": "read_only", "expires_at": expires_at});
    let (key, id) = s.created(short).await;
    clock.advance(Duration::from_secs(3));
    let (status, error) = s.call("GET", "/v1/forms", Some(&key), None).await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("expired_api_key"))
    );

    for revival in [
        json!({"expires_at": null}),
        json!({"expires_at": expires_at + 3_600}),
    ] {
        let (status, error) = s.patch(&s.full, &id, revival.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{revival}: {error}");
        assert_eq!(error["error"]["code"], "api_key_expired", "{revival}");
    }
    let (_, unchanged) = s
        .call("GET", &format!("/v1/api-keys/{id}"), Some(&s.full), None)
        .await;
    assert_eq!(unchanged["expires_at"], json!(expires_at));
}

#[test]
fn the_declared_key_resource_is_the_one_the_management_api_asks_for() {
    assert_eq!(app::resources::API_KEYS, formbox_auth::management::API_KEYS);
}
