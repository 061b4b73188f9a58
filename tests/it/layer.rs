//! The layer against the status table of the `middleware` module's docs (`src/middleware/mod.rs`),
//! through a real tower stack.

use crate::common;

use std::{
    sync::atomic::Ordering,
    time::{Duration, SystemTime},
};

use crate::common::send;
use common::{assert_rejected, change, counting_service, issue_key};
use formbox_auth::{
    ApiKeyAuthLayer, Authenticator, KeyFormat, MemoryStore, Permission, PermissionPolicy,
    Rejection,
    store::PreviousSecret,
    testing::{self, Fault, ManualClock, TestStore},
};
use http::{Method, Request, Response, StatusCode, header};
use tower::Layer;

fn request(method: Method, key: Option<&str>) -> Request<String> {
    let mut builder = Request::builder().method(method).uri("/v1/forms");
    if let Some(key) = key {
        builder = builder.header("api-key", key);
    }
    builder.body(String::new()).unwrap()
}

const ALL_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::OPTIONS,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::TRACE,
    Method::CONNECT,
];

#[tokio::test]
async fn full_access_key_may_use_every_method() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store).layer(inner);
    for method in ALL_METHODS {
        let response = send(&service, request(method.clone(), Some(key.expose_secret()))).await;
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        assert_eq!(response.body(), "org_a");
    }
    assert_eq!(calls.load(Ordering::SeqCst), ALL_METHODS.len());
}

#[tokio::test]
async fn read_only_key_may_only_use_safe_methods() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store).layer(inner);
    for method in ALL_METHODS {
        let response = send(&service, request(method.clone(), Some(key.expose_secret()))).await;
        if Permission::required_by(&method) == Permission::ReadOnly {
            assert_eq!(response.status(), StatusCode::OK, "{method}");
        } else {
            assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_permissions");
        }
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "only GET, HEAD and OPTIONS pass"
    );
}

#[tokio::test]
async fn read_only_key_cannot_post_and_the_error_names_full_access() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let service = ApiKeyAuthLayer::new(store).layer(counting_service().0);
    let response = send(&service, request(Method::POST, Some(key.expose_secret()))).await;
    assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_permissions");
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(body["error"]["required_permission"], "full_access");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("full_access")
    );
}

#[tokio::test]
async fn request_without_key_is_missing_api_key() {
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(MemoryStore::new()).layer(inner);
    let response = send(&service, request(Method::GET, None)).await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "missing_api_key");
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "api-key");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn malformed_keys_are_invalid_without_touching_the_store() {
    let store = TestStore::new(MemoryStore::new());
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let text = key.expose_secret();
    let mut bad_checksum = text.to_owned();
    bad_checksum.replace_range(55..56, if text.ends_with('0') { "1" } else { "0" });
    let other_prefix = KeyFormat::new("acme").unwrap().generate().unwrap();
    let service = ApiKeyAuthLayer::new(store.clone()).layer(counting_service().0);
    for presented in [
        "garbage",
        "fbsk_",
        &text[..40],
        &format!("{text}x"),
        &text.replace('_', "-"),
        &bad_checksum,
        other_prefix.expose_secret(),
    ] {
        let response = send(&service, request(Method::GET, Some(presented))).await;
        assert_rejected(&response, StatusCode::UNAUTHORIZED, "invalid_api_key");
        assert!(!response.body().contains(presented), "the key is echoed");
    }
    assert_eq!(store.lookups(), 0);
}

#[tokio::test]
async fn unknown_key_is_invalid_after_one_store_read() {
    let store = TestStore::new(MemoryStore::new());
    let unknown = KeyFormat::default().generate().unwrap();
    let service = ApiKeyAuthLayer::new(store.clone()).layer(counting_service().0);
    let response = send(
        &service,
        request(Method::GET, Some(unknown.expose_secret())),
    )
    .await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert_eq!(store.lookups(), 1);
}

#[tokio::test]
async fn wrong_secret_for_a_known_id_is_invalid() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let impostor = KeyFormat::default().generate_for(key.id()).unwrap();
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store).layer(inner);
    let response = send(
        &service,
        request(Method::GET, Some(impostor.expose_secret())),
    )
    .await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "invalid_api_key");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn revoked_key_is_revoked_api_key() {
    let store = MemoryStore::new();
    let (key, record) = issue_key(&store, "org_a", Permission::FullAccess).await;
    change(&store, &record, |next| {
        next.revoked_at = Some(SystemTime::now())
    })
    .await;
    let service = ApiKeyAuthLayer::new(store).layer(counting_service().0);
    let response = send(&service, request(Method::GET, Some(key.expose_secret()))).await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "revoked_api_key");
}

#[tokio::test]
async fn revoked_key_with_a_wrong_secret_is_only_invalid() {
    let store = MemoryStore::new();
    let (key, record) = issue_key(&store, "org_a", Permission::FullAccess).await;
    change(&store, &record, |next| {
        next.revoked_at = Some(SystemTime::now())
    })
    .await;
    let impostor = KeyFormat::default().generate_for(key.id()).unwrap();
    let service = ApiKeyAuthLayer::new(store).layer(counting_service().0);
    let response = send(
        &service,
        request(Method::GET, Some(impostor.expose_secret())),
    )
    .await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "invalid_api_key");
}

#[tokio::test]
async fn key_is_expired_from_its_expiry_time_on() {
    let store = MemoryStore::new();
    let clock = ManualClock::default();
    let (key, record) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let expires_at = clock.now_plus(Duration::from_secs(60));
    change(&store, &record, |next| next.expires_at = Some(expires_at)).await;
    let authenticator = Authenticator::new(store).with_clock(clock.clone());
    let service = ApiKeyAuthLayer::new(authenticator).layer(counting_service().0);

    let response = send(&service, request(Method::GET, Some(key.expose_secret()))).await;
    assert_eq!(response.status(), StatusCode::OK);
    clock.advance(Duration::from_secs(60));
    let response = send(&service, request(Method::GET, Some(key.expose_secret()))).await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "expired_api_key");
}

#[tokio::test]
async fn previous_secret_works_only_until_its_grace_period_ends() {
    let store = MemoryStore::new();
    let clock = ManualClock::default();
    let (old, record) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let new = KeyFormat::default().generate_for(old.id()).unwrap();
    let valid_until = clock.now_plus(Duration::from_secs(30));
    change(&store, &record, |next| {
        next.previous = Some(Box::new(PreviousSecret {
            digest: record.digest,
            valid_until,
        }));
        next.digest = new.digest();
    })
    .await;
    let authenticator = Authenticator::new(store).with_clock(clock.clone());
    let service = ApiKeyAuthLayer::new(authenticator).layer(counting_service().0);

    for key in [&old, &new] {
        let response = send(&service, request(Method::GET, Some(key.expose_secret()))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    clock.advance(Duration::from_secs(30));
    let response = send(&service, request(Method::GET, Some(old.expose_secret()))).await;
    assert_rejected(&response, StatusCode::UNAUTHORIZED, "invalid_api_key");
    let response = send(&service, request(Method::GET, Some(new.expose_secret()))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_keys_in_one_request_are_ambiguous() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store).layer(inner);
    let request = Request::get("/v1/forms")
        .header("api-key", key.expose_secret())
        .header("api-key", key.expose_secret())
        .body(String::new())
        .unwrap();
    assert_rejected(
        &send(&service, request).await,
        StatusCode::BAD_REQUEST,
        "ambiguous_api_key",
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn failing_store_fails_closed_without_calling_the_service() {
    let store = TestStore::new(MemoryStore::new());
    store.fault_all(Fault::Error);
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store.clone()).layer(inner);
    let key = KeyFormat::default().generate().unwrap();
    let response = send(&service, request(Method::GET, Some(key.expose_secret()))).await;
    assert_rejected(
        &response,
        StatusCode::SERVICE_UNAVAILABLE,
        "key_store_unavailable",
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.calls(testing::Method::Get), 1);
    assert_eq!(store.failures(), 1);
}

#[tokio::test]
async fn per_route_override_lets_a_read_only_key_post_to_search() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let policy = PermissionPolicy::new()
        .route(Method::POST, "/v1/forms/search", Permission::ReadOnly)
        .route(Method::GET, "/v1/forms/{id}/export", Permission::FullAccess);
    let service = ApiKeyAuthLayer::new(store)
        .with_policy(policy)
        .layer(counting_service().0);
    let with_key = |method: Method, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("api-key", key.expose_secret())
            .body(String::new())
            .unwrap()
    };
    let search = send(&service, with_key(Method::POST, "/v1/forms/search")).await;
    assert_eq!(search.status(), StatusCode::OK);
    let create = send(&service, with_key(Method::POST, "/v1/forms")).await;
    assert_rejected(&create, StatusCode::FORBIDDEN, "insufficient_permissions");
    let export = send(&service, with_key(Method::GET, "/v1/forms/7/export")).await;
    assert_rejected(&export, StatusCode::FORBIDDEN, "insufficient_permissions");
}

#[tokio::test]
async fn custom_classifier_decides_the_required_permission() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    // Everything needs full access, even GET.
    let service = ApiKeyAuthLayer::new(store)
        .with_classifier(|_: &Request<String>| Permission::FullAccess)
        .layer(counting_service().0);
    let response = send(&service, request(Method::GET, Some(key.expose_secret()))).await;
    assert_rejected(&response, StatusCode::FORBIDDEN, "insufficient_permissions");
}

#[tokio::test]
async fn rejection_response_can_be_replaced() {
    let service = ApiKeyAuthLayer::new(MemoryStore::new())
        .with_rejection(|rejection: Rejection| {
            Response::builder()
                .status(rejection.status())
                .header("x-error", rejection.code())
                .body(format!("nope: {}", rejection.code()))
                .unwrap()
        })
        .layer(counting_service().0);
    let response = send(&service, request(Method::GET, None)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["x-error"], "missing_api_key");
    assert_eq!(response.body(), "nope: missing_api_key");
}

/// A request carrying `key`, other headers, and an extension an outer layer (a router) added.
fn request_with_baggage(key: &str) -> Request<String> {
    let mut request = Request::get("/v1/forms")
        .header("api-key", key)
        .header("x-request-id", "r-1")
        .header(header::USER_AGENT, "curl/8")
        .body(String::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(String::from("from the router"));
    request
}

#[tokio::test]
async fn a_rejection_carries_nothing_of_the_request() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let wrong_secret = KeyFormat::default().generate_for(key.id()).unwrap();
    let unknown = KeyFormat::default().generate().unwrap();
    let service = ApiKeyAuthLayer::new(store).layer(counting_service().0);
    // Malformed, then refused once the store answered: the two paths that reuse the request's
    // header map and extensions for the response.
    for key in [
        "fbsk_short",
        wrong_secret.expose_secret(),
        unknown.expose_secret(),
    ] {
        let response = send(&service, request_with_baggage(key)).await;
        let names: Vec<&str> = response.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["content-type", "www-authenticate"], "{key}");
        assert_eq!(response.extensions().get::<String>(), None);
        assert_eq!(
            response.extensions().get::<Rejection>(),
            Some(&Rejection::InvalidKey)
        );
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key");
    }
}

#[tokio::test]
async fn a_rejection_keeps_what_a_custom_response_put_in_its_extensions() {
    let service = ApiKeyAuthLayer::new(MemoryStore::new())
        .with_rejection(|rejection: Rejection| {
            let mut response = Response::new(String::from("nope"));
            *response.status_mut() = rejection.status();
            response.extensions_mut().insert(7u8);
            response
        })
        .layer(counting_service().0);
    let response = send(&service, request_with_baggage("fbsk_short")).await;
    assert_eq!(response.extensions().get::<u8>(), Some(&7));
    assert_eq!(response.extensions().get::<String>(), None);
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection::InvalidKey)
    );
    assert!(response.headers().is_empty());
}

/// The rejection each request got, read from the response's extensions as an outer layer would.
async fn rejections<S>(service: &S, key: &str, unknown: &str) -> Vec<Option<Rejection>>
where
    S: tower::Service<
            Request<String>,
            Response = Response<String>,
            Error = std::convert::Infallible,
        > + Clone,
{
    let mut found = Vec::new();
    for request in [
        request(Method::GET, None),
        request(Method::POST, Some(key)),
        request(Method::GET, Some(unknown)),
        request(Method::GET, Some(key)),
    ] {
        let response = send(service, request).await;
        found.push(response.extensions().get::<Rejection>().copied());
    }
    found
}

#[tokio::test]
async fn rejection_response_carries_the_rejection_whatever_built_the_body() {
    // Without cached lookups the unknown key is rejected once the store answered, after the
    // permission check that rejects the POST at once: both ways out of the layer are covered.
    let store = TestStore::new(MemoryStore::new()).without_cached_lookups();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let unknown = KeyFormat::default().generate().unwrap();
    let expected = [
        Some(Rejection::MissingKey),
        Some(Rejection::InsufficientPermissions {
            required: Permission::FullAccess,
        }),
        Some(Rejection::InvalidKey),
        None,
    ];
    let json = ApiKeyAuthLayer::new(store.clone()).layer(counting_service().0);
    let custom = ApiKeyAuthLayer::new(store)
        .with_rejection(|_: Rejection| Response::new(String::from("nope")))
        .layer(counting_service().0);
    for service_rejections in [
        rejections(&json, key.expose_secret(), unknown.expose_secret()).await,
        rejections(&custom, key.expose_secret(), unknown.expose_secret()).await,
    ] {
        assert_eq!(service_rejections, expected);
    }
}

#[tokio::test]
async fn bearer_token_is_accepted_only_when_enabled() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let bearer = || {
        Request::get("/v1/forms")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", key.expose_secret()),
            )
            .body(String::new())
            .unwrap()
    };
    let default = ApiKeyAuthLayer::new(store.clone()).layer(counting_service().0);
    assert_rejected(
        &send(&default, bearer()).await,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
    );
    let enabled = ApiKeyAuthLayer::new(store)
        .with_bearer(true)
        .layer(counting_service().0);
    assert_eq!(send(&enabled, bearer()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn handler_sees_the_context_and_a_sensitive_header() {
    let store = MemoryStore::new();
    let (key, record) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let inner = tower::service_fn(|request: Request<String>| async move {
        let context = request
            .extensions()
            .get::<formbox_auth::AuthContext>()
            .unwrap();
        let sensitive = request.headers()["api-key"].is_sensitive();
        let body = format!(
            "{}|{}|{}|{}|{sensitive}",
            context.organization(),
            context.key_id(),
            context.key_name(),
            context.access()
        );
        Ok::<_, std::convert::Infallible>(Response::new(body))
    });
    let service = ApiKeyAuthLayer::new(store).layer(inner);
    let response = send(&service, request(Method::GET, Some(key.expose_secret()))).await;
    assert_eq!(
        response.body(),
        &format!("org_a|{}|{}|read_only|true", record.id, record.name)
    );
}

#[tokio::test]
async fn key_value_is_trimmed_and_header_name_case_insensitive() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let service = ApiKeyAuthLayer::new(store).layer(counting_service().0);
    let request = Request::get("/v1/forms")
        .header("API-KEY", format!("  {}  ", key.expose_secret()))
        .body(String::new())
        .unwrap();
    assert_eq!(send(&service, request).await.status(), StatusCode::OK);
}

trait NowPlus {
    fn now_plus(&self, step: Duration) -> SystemTime;
}

impl NowPlus for ManualClock {
    fn now_plus(&self, step: Duration) -> SystemTime {
        formbox_auth::clock::Clock::now(self) + step
    }
}

/// A gRPC call: `POST /package.Service/Method` with gRPC's content type.
fn grpc_call(path: &str, key: Option<&str>) -> Request<String> {
    let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/grpc");
    if let Some(key) = key {
        builder = builder.header("api-key", key);
    }
    builder.body(String::new()).unwrap()
}

/// The gRPC status and message of a trailers-only response, after checking its shape.
fn grpc_status(response: &Response<String>) -> (String, String) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/grpc");
    assert!(response.body().is_empty(), "{}", response.body());
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    (header("grpc-status"), header("grpc-message"))
}

#[tokio::test]
async fn one_layer_answers_grpc_calls_with_grpc_statuses_and_the_rest_with_json() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let service = ApiKeyAuthLayer::new(store).layer(counting_service().0);

    let (status, message) = grpc_status(&send(&service, grpc_call("/a.B/C", None)).await);
    assert_eq!(status, "16");
    assert_eq!(message, Rejection::MissingKey.message());
    let denied = send(&service, grpc_call("/a.B/C", Some(key.expose_secret()))).await;
    let (status, message) = grpc_status(&denied);
    assert_eq!(status, "7");
    assert!(message.contains("`full_access`"), "{message}");
    assert!(denied.extensions().get::<Rejection>().is_some());

    let json = send(&service, request(Method::POST, Some(key.expose_secret()))).await;
    assert_rejected(&json, StatusCode::FORBIDDEN, "insufficient_permissions");
}

#[tokio::test]
async fn a_grpc_call_whose_store_fails_is_unavailable() {
    let store = TestStore::new(MemoryStore::new());
    store.fault_all(Fault::Error);
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store.clone()).layer(inner);
    let key = KeyFormat::default().generate().unwrap();
    let response = send(&service, grpc_call("/a.B/C", Some(key.expose_secret()))).await;
    assert_eq!(grpc_status(&response).0, "14");
    assert_eq!(store.calls(testing::Method::Get), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_rate_limited_grpc_call_is_resource_exhausted_with_retry_after() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::FullAccess).await;
    let limits =
        formbox_auth::rate_limit::RateLimits::new(formbox_auth::rate_limit::MemoryLimiter::new())
            .default_for(
                Permission::FullAccess,
                formbox_auth::rate_limit::RateLimit::new(1, 60).unwrap(),
            );
    let service = ApiKeyAuthLayer::new(store)
        .with_rate_limits(limits)
        .layer(counting_service().0);
    let first = send(&service, grpc_call("/a.B/C", Some(key.expose_secret()))).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert!(!first.headers().contains_key("grpc-status"));
    let second = send(&service, grpc_call("/a.B/C", Some(key.expose_secret()))).await;
    assert_eq!(grpc_status(&second).0, "8");
    assert!(second.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn grpc_policy_decides_by_service_and_method() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let policy = formbox_auth::grpc::GrpcPolicy::new()
        .service("formbox.v1.Forms", Permission::ReadOnly)
        .method("/formbox.v1.Forms/CreateForm", Permission::FullAccess);
    let (inner, calls) = counting_service();
    let service = ApiKeyAuthLayer::new(store)
        .with_classifier(policy)
        .layer(inner);
    let list = send(
        &service,
        grpc_call("/formbox.v1.Forms/ListForms", Some(key.expose_secret())),
    )
    .await;
    assert_eq!(list.body(), "org_a");
    let create = send(
        &service,
        grpc_call("/formbox.v1.Forms/CreateForm", Some(key.expose_secret())),
    )
    .await;
    assert_eq!(grpc_status(&create).0, "7");
    let health = send(&service, grpc_call("/grpc.health.v1.Health/Check", None)).await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.body(), "", "no context reaches an open method");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_open_route_passes_without_reading_the_key_and_hides_it_anyway() {
    let store = TestStore::new(MemoryStore::new());
    let inner = tower::service_fn(|request: Request<String>| async move {
        let context = request.extensions().get::<formbox_auth::AuthContext>();
        let sensitive = request.headers()["api-key"].is_sensitive();
        let body = format!("{}|{sensitive}", context.is_some());
        Ok::<_, std::convert::Infallible>(Response::new(body))
    });
    let service = ApiKeyAuthLayer::new(store.clone())
        .with_policy(PermissionPolicy::new().open_route(Method::GET, "/health"))
        .layer(inner);
    let probe = Request::get("/health")
        .header("api-key", "fbsk_not_even_a_key")
        .body(String::new())
        .unwrap();
    let response = send(&service, probe).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "false|true");
    assert_eq!(store.calls(testing::Method::Get), 0);
    assert_eq!(store.calls(testing::Method::GetCached), 0);
    let write = Request::post("/health").body(String::new()).unwrap();
    assert_rejected(
        &send(&service, write).await,
        StatusCode::UNAUTHORIZED,
        "missing_api_key",
    );
}
