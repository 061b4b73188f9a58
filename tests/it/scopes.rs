//! Restricted keys through the layer: a route that needs a scope admits the keys that hold it
//! and refuses the others with the scope they lack, preset keys pass such routes by their level
//! as they passed the method-based ones, and a restricted key's default rate limit follows the
//! preset its scopes reach up to.

use crate::common;

use std::{convert::Infallible, sync::atomic::Ordering};

use common::{assert_rejected, counting_service, issue_key, limit, send};
use formbox_auth::{
    Access, ApiKeyAuthLayer, AuthContext, MemoryStore, Permission, PermissionPolicy, Rejection,
    permission::{Resource, Resources, Scope, Scopes},
    policy::Requirement,
    rate_limit::{MemoryLimiter, RateLimits},
    testing::TestStore,
};
use http::{Method, Request, Response, StatusCode};
use tower::{Layer, Service, service_fn};

/// The resources every test declares.
fn resources() -> Resources {
    Resources::new(["forms", "submissions"]).unwrap()
}

fn forms() -> Resource {
    resources().get("forms").unwrap()
}

fn scope(text: &str) -> Scope {
    resources().scope(text).unwrap()
}

/// A restricted access holding `scopes`, in their text form.
fn restricted(scopes: &str) -> Access {
    Access::Restricted(scopes.parse::<Scopes>().unwrap())
}

/// `/v1/forms` and below need a scope over `forms`; `/v1/audit` needs the `read_only` preset,
/// and every other path what its method needs.
fn policy() -> PermissionPolicy {
    PermissionPolicy::new()
        .resource("/v1/forms/{*rest}", forms())
        .route(Method::GET, "/v1/audit", Permission::ReadOnly)
}

fn request(method: Method, uri: &str, key: &str) -> Request<String> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("api-key", key)
        .body(String::new())
        .unwrap()
}

/// An inner service that answers what its handler sees of the key: its access, and whether it
/// holds `forms:read` and `forms:write`.
fn holds_service()
-> impl Service<Request<String>, Response = Response<String>, Error = Infallible, Future = impl Send>
+ Clone {
    service_fn(|request: Request<String>| async move {
        let context = request.extensions().get::<AuthContext>().unwrap();
        let (read, write) = (scope("forms:read"), scope("forms:write"));
        let body = format!(
            "{}|{}|{}",
            context.access(),
            context.holds(read),
            context.holds(write)
        );
        Ok::<_, Infallible>(Response::new(body))
    })
}

const SAFE_AND_UNSAFE: [Method; 4] = [Method::GET, Method::HEAD, Method::POST, Method::DELETE];

#[tokio::test]
async fn restricted_key_with_the_scope_passes_and_its_handler_sees_what_it_holds() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", restricted("forms:read submissions:write")).await;
    let service = ApiKeyAuthLayer::new(store)
        .with_policy(policy())
        .layer(holds_service());
    let response = send(
        &service,
        request(Method::GET, "/v1/forms/7", key.expose_secret()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    assert_eq!(
        response.body(),
        "restricted(forms:read submissions:write)|true|false"
    );
}

#[tokio::test]
async fn restricted_key_without_the_scope_is_told_the_scope_it_lacks() {
    // The memory store answers on the layer's synchronous path, the store without cached
    // lookups through the response future: both refuse alike.
    let memory = MemoryStore::new();
    let (key, _) = issue_key(&memory, "org_a", restricted("forms:read")).await;
    let uncached = TestStore::new(memory.clone()).without_cached_lookups();
    for (path, service) in [
        (
            "synchronous",
            ApiKeyAuthLayer::new(memory).with_policy(policy()),
        ),
        (
            "awaited",
            ApiKeyAuthLayer::new(uncached).with_policy(policy()),
        ),
    ] {
        let (inner, calls) = counting_service();
        let service = service.layer(inner);
        let response = send(
            &service,
            request(Method::POST, "/v1/forms", key.expose_secret()),
        )
        .await;
        assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_scope");
        assert_eq!(
            response.body(),
            r#"{"error":{"code":"insufficient_scope","message":"this request needs an API key holding the scope in `required_scope`","required_scope":"forms:write"}}"#,
            "{path}"
        );
        assert_eq!(
            response.extensions().get::<Rejection>(),
            Some(&Rejection::InsufficientScope {
                required: scope("forms:write")
            }),
            "{path}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{path}");
    }
}

#[tokio::test]
async fn writing_a_resource_includes_reading_it() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", restricted("forms:write")).await;
    let service = ApiKeyAuthLayer::new(store.clone())
        .with_policy(policy())
        .layer(holds_service());
    for method in SAFE_AND_UNSAFE {
        let response = send(
            &service,
            request(method.clone(), "/v1/forms/7/fields", key.expose_secret()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        assert_eq!(response.body(), "restricted(forms:write)|true|true");
    }
    let (other, _) = issue_key(&store, "org_a", restricted("submissions:write")).await;
    let response = send(
        &service,
        request(Method::GET, "/v1/forms", other.expose_secret()),
    )
    .await;
    assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_scope");
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(body["error"]["required_scope"], "forms:read");
}

#[tokio::test]
async fn restricted_key_on_a_route_that_needs_a_preset_is_told_the_preset() {
    let store = MemoryStore::new();
    let every_scope = restricted("forms:write submissions:write");
    let (key, _) = issue_key(&store, "org_a", every_scope).await;
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store)
        .with_policy(policy())
        .layer(inner);
    for (method, uri, required) in [
        (Method::GET, "/v1/audit", "read_only"),
        (Method::GET, "/v1/submissions", "read_only"),
        (Method::POST, "/v1/submissions", "full_access"),
    ] {
        let response = send(&service, request(method, uri, key.expose_secret())).await;
        assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_permissions");
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"]["required_permission"], required, "{uri}");
        assert!(body["error"].get("required_scope").is_none(), "{body}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn read_only_key_on_a_write_scope_route_is_told_it_needs_full_access() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let service = ApiKeyAuthLayer::new(store)
        .with_policy(policy())
        .layer(holds_service());
    let read = send(
        &service,
        request(Method::GET, "/v1/forms", key.expose_secret()),
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.body(), "read_only|true|false");

    let write = send(
        &service,
        request(Method::POST, "/v1/forms", key.expose_secret()),
    )
    .await;
    assert_rejected(&write, StatusCode::FORBIDDEN, "insufficient_permissions");
    let body: serde_json::Value = serde_json::from_str(write.body()).unwrap();
    assert_eq!(body["error"]["required_permission"], "full_access");
    assert!(body["error"].get("required_scope").is_none(), "{body}");
    assert_eq!(
        write.extensions().get::<Rejection>(),
        Some(&Rejection::InsufficientPermissions {
            required: Permission::FullAccess
        })
    );
}

#[tokio::test]
async fn full_access_key_passes_every_scope_route() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let submissions = resources().get("submissions").unwrap();
    let policy = policy()
        .route(Method::GET, "/v1/exports", scope("submissions:write"))
        .resource("/v1/submissions/{id}", submissions);
    let service = ApiKeyAuthLayer::new(store)
        .with_policy(policy)
        .layer(holds_service());
    for uri in ["/v1/forms", "/v1/forms/7", "/v1/submissions/7"] {
        for method in SAFE_AND_UNSAFE {
            let response = send(&service, request(method.clone(), uri, key.expose_secret())).await;
            assert_eq!(response.status(), StatusCode::OK, "{method} {uri}");
            assert_eq!(response.body(), "full_access|true|true");
        }
    }
    let export = send(
        &service,
        request(Method::GET, "/v1/exports", key.expose_secret()),
    )
    .await;
    assert_eq!(export.status(), StatusCode::OK);
}

/// Status, body and the rejection in the extensions: all a client or an outer layer sees.
type Answer = (StatusCode, String, Option<Rejection>);

/// The answers of `service` to each of `methods` on `/v1/forms/7` with `key`.
async fn answers<S>(service: &S, key: &str) -> Vec<Answer>
where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
{
    let mut found = Vec::new();
    for method in SAFE_AND_UNSAFE {
        let response = send(service, request(method, "/v1/forms/7", key)).await;
        let rejection = response.extensions().get::<Rejection>().copied();
        found.push((response.status(), response.body().clone(), rejection));
    }
    found
}

#[tokio::test]
async fn presets_get_the_same_answers_with_or_without_scope_rules() {
    let store = MemoryStore::new();
    let without_rules = ApiKeyAuthLayer::new(store.clone()).layer(counting_service().0);
    let scoped = ApiKeyAuthLayer::new(store.clone())
        .with_policy(policy())
        .layer(counting_service().0);
    for permission in [Permission::ReadOnly, Permission::FullAccess] {
        let (key, _) = issue_key(&store, "org_a", permission).await;
        let before = answers(&without_rules, key.expose_secret()).await;
        for (method, (status, body, rejection)) in SAFE_AND_UNSAFE.iter().zip(&before) {
            if permission.allows(Permission::required_by(method)) {
                assert_eq!((*status, body.as_str()), (StatusCode::OK, "org_a"));
            } else {
                let needs_full_access = Rejection::InsufficientPermissions {
                    required: Permission::FullAccess,
                };
                assert_eq!(*rejection, Some(needs_full_access), "{method}");
            }
        }
        assert_eq!(
            answers(&scoped, key.expose_secret()).await,
            before,
            "{permission}"
        );
    }
}

#[tokio::test]
async fn restricted_keys_get_the_default_limit_of_the_preset_their_scopes_reach() {
    let store = MemoryStore::new();
    let limits = RateLimits::new(MemoryLimiter::new())
        .default_for(Permission::ReadOnly, limit(2, 60))
        .default_for(Permission::FullAccess, limit(3, 60));
    let service = ApiKeyAuthLayer::new(store.clone())
        .with_policy(policy())
        .with_rate_limits(limits)
        .layer(counting_service().0);
    for (scopes, admitted, policy_field) in [
        ("forms:read submissions:read", 2, r#""default";q=2;w=60"#),
        ("forms:read submissions:write", 3, r#""default";q=3;w=60"#),
    ] {
        let (key, _) = issue_key(&store, "org_a", restricted(scopes)).await;
        for _ in 0..admitted {
            let response = send(
                &service,
                request(Method::GET, "/v1/forms", key.expose_secret()),
            )
            .await;
            assert_eq!(response.status(), StatusCode::OK, "{scopes}");
            assert_eq!(response.headers()["ratelimit-policy"], policy_field);
        }
        let over = send(
            &service,
            request(Method::GET, "/v1/forms", key.expose_secret()),
        )
        .await;
        assert_rejected(&over, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
}

/// A restricted key is limited only where a preset default applies to it: with a default for
/// `full_access` alone, a key that only reads is not limited.
#[tokio::test]
async fn a_reading_restricted_key_is_not_limited_by_the_full_access_default() {
    let store = MemoryStore::new();
    let limits =
        RateLimits::new(MemoryLimiter::new()).default_for(Permission::FullAccess, limit(1, 60));
    let service = ApiKeyAuthLayer::new(store.clone())
        .with_policy(policy())
        .with_rate_limits(limits)
        .layer(counting_service().0);
    let (reader, _) = issue_key(&store, "org_a", restricted("forms:read")).await;
    for _ in 0..3 {
        let response = send(
            &service,
            request(Method::GET, "/v1/forms", reader.expose_secret()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!response.headers().contains_key("ratelimit-policy"));
    }
    let (writer, _) = issue_key(&store, "org_a", restricted("forms:write")).await;
    let statuses = [
        send(
            &service,
            request(Method::GET, "/v1/forms", writer.expose_secret()),
        )
        .await,
        send(
            &service,
            request(Method::GET, "/v1/forms", writer.expose_secret()),
        )
        .await,
    ]
    .map(|response| response.status());
    assert_eq!(statuses, [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
}

#[tokio::test]
async fn any_key_routes_admit_every_valid_key_and_no_missing_one() {
    let store = MemoryStore::new();
    let (restricted_key, _) = issue_key(&store, "org_a", restricted("submissions:read")).await;
    let (reader, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let policy = policy().route(Method::GET, "/v1/me", Requirement::AnyKey);
    let service = ApiKeyAuthLayer::new(store)
        .with_policy(policy)
        .layer(holds_service());
    for key in [restricted_key.expose_secret(), reader.expose_secret()] {
        let response = send(&service, request(Method::GET, "/v1/me", key)).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    }
    let anonymous = Request::get("/v1/me").body(String::new()).unwrap();
    let response = send(&service, anonymous).await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "missing_api_key");
    // Any key, for this method only: a POST needs what its method says.
    let response = send(
        &service,
        request(Method::POST, "/v1/me", restricted_key.expose_secret()),
    )
    .await;
    assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_permissions");
}
