//! Restricted keys through the management API: scopes on the wire, and a key that never grants
//! more than it holds, never loosens its own limits, and never brings an expired key back.

use std::time::Duration;

use axum::Router;
use formbox_auth::{
    Access, KeyManager, MemoryStore, OrganizationId, Permission,
    clock::Clock,
    lifecycle::{EnsuredKey, ManageError, NewKey},
    management::{API_KEYS, ManagementApi},
    permission::{InvalidScope, Resources, Scopes},
    rate_limit::RateLimit,
    testing::ManualClock,
};
use http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::common;

/// The management API under `/v1`, with the default access (the request's own key), over a
/// manager that declares `forms`, `submissions` and `api_keys`.
struct Api {
    router: Router,
    manager: KeyManager,
    clock: ManualClock,
    org: OrganizationId,
    resources: Resources,
}

impl Api {
    fn new() -> Self {
        let resources = Resources::new(["forms", "submissions", API_KEYS]).unwrap();
        let (manager, clock) = common::manager_with_clock(MemoryStore::new());
        let manager = manager.with_resources(resources.clone());
        let router = Router::new().nest("/v1", ManagementApi::new(manager.clone()).router());
        Self {
            router,
            manager,
            clock,
            org: OrganizationId::from("org_a"),
            resources,
        }
    }

    /// A key of the organization with `access`, made by the host (no key bounds it).
    async fn key(&self, name: &str, access: impl Into<Access>) -> (String, String) {
        let created = self
            .manager
            .create(&self.org, NewKey::new(name, access))
            .await
            .unwrap();
        let id = created.info.id.to_string();
        (created.key.expose_secret().to_owned(), id)
    }

    /// A restricted key holding `scopes`.
    async fn scoped(&self, name: &str, scopes: &[&str]) -> (String, String) {
        let scopes = self.resources.scopes(scopes).unwrap();
        self.key(name, scopes).await
    }

    async fn call(
        &self,
        key: &str,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/v1{uri}"))
            .header("api-key", key)
            .header("content-type", "application/json");
        let body = body.map(|body| body.to_string());
        common::status_and_json(common::through(&self.router, request, body.as_deref()).await)
    }

    async fn count(&self) -> usize {
        self.manager.list(&self.org).await.unwrap().len()
    }
}

/// The error's code and what it names as required.
fn refusal(body: &Value) -> (&str, Option<&str>, Option<&str>) {
    let error = &body["error"];
    (
        error["code"].as_str().unwrap_or_default(),
        error["required_permission"].as_str(),
        error["required_scope"].as_str(),
    )
}

#[tokio::test]
async fn a_restricted_key_is_created_and_listed_with_its_scopes() {
    let api = Api::new();
    let (admin, _) = api.key("admin", Permission::FullAccess).await;
    let body = json!({
        "name": "Zapier",
        "permission": "restricted",
        "scopes": ["submissions:read", "forms:write", "forms:read"],
    });
    let (status, created) = api.call(&admin, "POST", "/api-keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["permission"], "restricted");
    assert_eq!(
        created["scopes"],
        json!(["forms:write", "submissions:read"])
    );

    let id = created["id"].as_str().unwrap();
    let (_, fetched) = api
        .call(&admin, "GET", &format!("/api-keys/{id}"), None)
        .await;
    assert_eq!(fetched["scopes"], created["scopes"]);
    let (_, page) = api.call(&admin, "GET", "/api-keys", None).await;
    let listed: Vec<&Value> = page["data"].as_array().unwrap().iter().collect();
    let admin_row = listed.iter().find(|key| key["name"] == "admin").unwrap();
    assert_eq!(admin_row["permission"], "full_access");
    assert!(
        admin_row.get("scopes").is_none(),
        "a preset has no scopes: {admin_row}"
    );
}

#[tokio::test]
async fn scopes_that_are_malformed_undeclared_missing_or_misplaced_are_refused() {
    let api = Api::new();
    let (admin, _) = api.key("admin", Permission::FullAccess).await;
    let cases = [
        (
            json!({"permission": "restricted", "scopes": ["billing:read"]}),
            "scopes",
            "billing",
        ),
        (
            json!({"permission": "restricted", "scopes": ["forms:admin"]}),
            "scopes",
            "forms:admin",
        ),
        (
            json!({"permission": "restricted", "scopes": []}),
            "scopes",
            "at least one",
        ),
        (
            json!({"permission": "restricted"}),
            "scopes",
            "needs `scopes`",
        ),
        (
            json!({"permission": "restricted", "scopes": null}),
            "scopes",
            "needs `scopes`",
        ),
        (
            json!({"permission": "read_only", "scopes": ["forms:read"]}),
            "scopes",
            "restricted",
        ),
        (json!({"permission": "admin"}), "permission", "`restricted`"),
    ];
    for (fields, field, says) in cases {
        let mut body = fields.clone();
        body["name"] = json!("bad");
        let (status, error) = api.call(&admin, "POST", "/api-keys", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields}: {error}");
        assert_eq!(error["error"]["field"], field, "{fields}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{fields}: {message}");
    }
    assert_eq!(api.count().await, 1, "nothing was created");
}

#[tokio::test]
async fn managing_keys_needs_the_api_keys_write_scope() {
    let api = Api::new();
    for scopes in [&["forms:write"][..], &["api_keys:read", "forms:read"]] {
        let (key, _) = api.scoped(&format!("{scopes:?}"), scopes).await;
        for (method, body) in [
            ("GET", None),
            (
                "POST",
                Some(json!({"name": "x", "permission": "restricted", "scopes": ["forms:read"]})),
            ),
        ] {
            let (status, error) = api.call(&key, method, "/api-keys", body).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{scopes:?} {method}: {error}"
            );
            assert_eq!(
                refusal(&error),
                ("insufficient_scope", None, Some("api_keys:write"))
            );
        }
    }
    let (read_only, _) = api.key("reader", Permission::ReadOnly).await;
    let (status, error) = api.call(&read_only, "GET", "/api-keys", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refusal(&error),
        ("insufficient_permissions", Some("full_access"), None)
    );
}

#[tokio::test]
async fn a_key_creates_only_keys_that_may_do_no_more_than_itself() {
    let api = Api::new();
    let (manager_key, _) = api
        .scoped("forms manager", &["forms:write", "api_keys:write"])
        .await;
    let before = api.count().await;
    let refused = [
        (
            json!({"permission": "full_access"}),
            ("insufficient_permissions", Some("full_access"), None),
        ),
        (
            json!({"permission": "read_only"}),
            ("insufficient_permissions", Some("full_access"), None),
        ),
        (
            json!({"permission": "restricted", "scopes": ["forms:read", "submissions:read"]}),
            ("insufficient_scope", None, Some("submissions:read")),
        ),
    ];
    for (fields, expected) in refused {
        let mut body = fields.clone();
        body["name"] = json!("escalation");
        let (status, error) = api
            .call(&manager_key, "POST", "/api-keys", Some(body))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields}: {error}");
        assert_eq!(refusal(&error), expected, "{fields}");
    }
    assert_eq!(api.count().await, before, "no refused key was created");

    let body =
        json!({"name": "forms reader", "permission": "restricted", "scopes": ["forms:read"]});
    let (status, created) = api
        .call(&manager_key, "POST", "/api-keys", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // And it may give that key more, within its own scopes, but not beyond them.
    let id = created["id"].as_str().unwrap();
    let up = json!({"scopes": ["forms:write"]});
    let (status, changed) = api
        .call(&manager_key, "PATCH", &format!("/api-keys/{id}"), Some(up))
        .await;
    assert_eq!(
        (status, &changed["scopes"]),
        (StatusCode::OK, &json!(["forms:write"]))
    );
    let beyond = json!({"permission": "full_access"});
    let (status, error) = api
        .call(
            &manager_key,
            "PATCH",
            &format!("/api-keys/{id}"),
            Some(beyond),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        refusal(&error),
        ("insufficient_permissions", Some("full_access"), None)
    );
}

#[tokio::test]
async fn a_key_cannot_take_over_change_or_revoke_a_key_that_may_do_more() {
    let api = Api::new();
    let (manager_key, _) = api
        .scoped("forms manager", &["forms:write", "api_keys:write"])
        .await;
    let (_, admin_id) = api.key("admin", Permission::FullAccess).await;
    let (_, other_id) = api.scoped("submissions", &["submissions:read"]).await;
    let attempts = [
        ("POST", format!("/api-keys/{admin_id}/regenerate"), None),
        (
            "PATCH",
            format!("/api-keys/{admin_id}"),
            Some(json!({"name": "mine now"})),
        ),
        ("DELETE", format!("/api-keys/{admin_id}"), None),
        ("DELETE", format!("/api-keys/{other_id}"), None),
    ];
    for (method, uri, body) in attempts {
        let (status, error) = api.call(&manager_key, method, &uri, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {error}");
        assert!(error["error"].get("key").is_none());
    }
    let keys = api.manager.list(&api.org).await.unwrap();
    assert!(
        keys.iter()
            .all(|key| key.revoked_at.is_none() && key.name != "mine now")
    );

    let (_, reader_id) = api.scoped("forms reader", &["forms:read"]).await;
    let (status, regenerated) = api
        .call(
            &manager_key,
            "POST",
            &format!("/api-keys/{reader_id}/regenerate"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{regenerated}");
    let (status, _) = api
        .call(
            &manager_key,
            "DELETE",
            &format!("/api-keys/{reader_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_key_cannot_loosen_its_own_rate_limit_or_expiry() {
    let api = Api::new();
    let expires_at = api.clock.now() + Duration::from_secs(3_600);
    let limited = NewKey::new("limited admin", Permission::FullAccess)
        .rate_limit(Some(RateLimit::new(10, 60).unwrap()))
        .expires_at(Some(expires_at));
    let created = api.manager.create(&api.org, limited).await.unwrap();
    let (key, id) = (
        created.key.expose_secret().to_owned(),
        created.info.id.to_string(),
    );
    let own = format!("/api-keys/{id}");
    let unix = |seconds: u64| json!(seconds);
    let expiry_seconds = expires_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for loosening in [
        json!({"rate_limit": null}),
        json!({"rate_limit": {"requests": 11, "per_seconds": 60}}),
        json!({"rate_limit": {"requests": 20, "per_seconds": 120}}),
        json!({"expires_at": null}),
        json!({"expires_at": unix(expiry_seconds + 60)}),
    ] {
        let (status, error) = api.call(&key, "PATCH", &own, Some(loosening.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{loosening}: {error}");
        assert_eq!(
            error["error"]["code"], "cannot_loosen_own_limits",
            "{loosening}"
        );
    }
    let (_, unchanged) = api.call(&key, "GET", &own, None).await;
    assert_eq!(
        unchanged["rate_limit"],
        json!({"requests": 10, "per_seconds": 60})
    );
    assert_eq!(unchanged["expires_at"], unix(expiry_seconds));

    // Tightening itself is fine, and another key with the power to may loosen it.
    let tighter = json!({"rate_limit": {"requests": 5, "per_seconds": 60}, "expires_at": unix(expiry_seconds - 60)});
    let (status, _) = api.call(&key, "PATCH", &own, Some(tighter)).await;
    assert_eq!(status, StatusCode::OK);
    let (admin, _) = api.key("admin", Permission::FullAccess).await;
    let (status, freed) = api
        .call(&admin, "PATCH", &own, Some(json!({"rate_limit": null})))
        .await;
    assert_eq!(
        (status, &freed["rate_limit"]),
        (StatusCode::OK, &Value::Null)
    );
    // Without a limit of its own, the layer's default applies, which a key cannot lift either.
    let (status, error) = api
        .call(
            &admin,
            "PATCH",
            &format!("/api-keys/{}", admin_id(&api, "admin").await),
            Some(json!({"rate_limit": {"requests": 1_000_000, "per_seconds": 1}})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("cannot_loosen_own_limits"))
    );
}

async fn admin_id(api: &Api, name: &str) -> String {
    let keys = api.manager.list(&api.org).await.unwrap();
    keys.into_iter()
        .find(|key| key.name == name)
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn an_expired_key_stays_expired() {
    let api = Api::new();
    let (admin, _) = api.key("admin", Permission::FullAccess).await;
    let expiring = NewKey::new("short", Permission::ReadOnly)
        .expires_at(Some(api.clock.now() + Duration::from_secs(60)));
    let id = api
        .manager
        .create(&api.org, expiring)
        .await
        .unwrap()
        .info
        .id;
    api.clock.advance(Duration::from_secs(61));
    let later = api.clock.now() + Duration::from_secs(3_600);
    let later = later
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for revival in [json!({"expires_at": null}), json!({"expires_at": later})] {
        let (status, error) = api
            .call(
                &admin,
                "PATCH",
                &format!("/api-keys/{id}"),
                Some(revival.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{revival}: {error}");
        assert_eq!(error["error"]["code"], "api_key_expired", "{revival}");
    }
    let info = api.manager.get(&api.org, id).await.unwrap();
    assert!(info.expires_at.is_some_and(|at| at <= api.clock.now()));
}

#[tokio::test]
async fn the_openapi_description_has_scopes_and_the_new_refusals() {
    let doc = serde_json::to_value(ManagementApi::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Permission"]["enum"],
        json!(["full_access", "read_only", "restricted"])
    );
    assert!(
        schemas["NewApiKey"]["properties"].get("scopes").is_some(),
        "{}",
        schemas["NewApiKey"]
    );
    assert!(
        schemas["ApiKeyChanges"]["properties"]
            .get("scopes")
            .is_some()
    );
    assert!(schemas["ApiKey"]["properties"].get("scopes").is_some());
    assert_eq!(
        schemas["Scope"]["pattern"],
        "^[a-z][a-z0-9_]{0,31}:(read|write)$"
    );
    let detail = &schemas["ErrorDetail"]["properties"];
    assert!(detail.get("required_scope").is_some(), "{detail}");
    let create = &doc["paths"]["/api-keys"]["post"]["responses"]["403"]["description"];
    assert!(
        create.as_str().unwrap().contains("insufficient_scope"),
        "{create}"
    );
    let update = &doc["paths"]["/api-keys/{id}"]["patch"]["responses"];
    assert!(
        update["403"]["description"]
            .as_str()
            .unwrap()
            .contains("cannot_loosen_own_limits")
    );
    assert!(
        update["409"]["description"]
            .as_str()
            .unwrap()
            .contains("api_key_expired")
    );
}

#[tokio::test]
async fn the_manager_refuses_scopes_it_does_not_declare_or_none_at_all() {
    let api = Api::new();
    let elsewhere = Resources::new(["billing"]).unwrap();
    let undeclared = elsewhere.scopes(["billing:read"]).unwrap();
    let outcome = api
        .manager
        .create(&api.org, NewKey::new("billing", undeclared))
        .await;
    assert!(
        matches!(
            &outcome,
            Err(ManageError::InvalidScope(InvalidScope::Undeclared(name))) if name == "billing"
        ),
        "{outcome:?}"
    );
    let empty = api
        .manager
        .create(&api.org, NewKey::new("nothing", Scopes::new()))
        .await;
    assert!(matches!(
        empty,
        Err(ManageError::InvalidScope(InvalidScope::Empty))
    ));
    // A manager that declares nothing has presets only.
    let presets_only = KeyManager::new(MemoryStore::new());
    let forms = api.resources.scopes(["forms:read"]).unwrap();
    let outcome = presets_only
        .create(&api.org, NewKey::new("forms", forms))
        .await;
    assert!(matches!(outcome, Err(ManageError::InvalidScope(_))));
    assert_eq!(api.count().await, 0);
}

#[tokio::test]
async fn ensure_key_finds_a_restricted_key_by_its_scopes() {
    let api = Api::new();
    let forms = api.resources.scopes(["forms:read"]).unwrap();
    let first = api
        .manager
        .ensure_key(&api.org, "sync", forms)
        .await
        .unwrap();
    assert!(matches!(first, EnsuredKey::Created(_)));
    let again = api
        .manager
        .ensure_key(&api.org, "sync", forms)
        .await
        .unwrap();
    assert!(matches!(again, EnsuredKey::Existing(info) if info.id == first.info().id));
    let wider = forms.with(api.resources.scope("submissions:read").unwrap());
    let other = api.manager.ensure_key(&api.org, "sync", wider).await;
    assert!(matches!(other, Err(ManageError::NameTaken)));
}
