//! The `AuthContext` extractor, with and without the layer.
#![cfg(feature = "axum")]

use crate::common;

use axum::{Router, body::Body, routing::get};
use common::issue_key;
use formbox_auth::{ApiKeyAuthLayer, AuthContext, MemoryStore, Permission};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn organization(context: AuthContext) -> String {
    context.organization().to_string()
}

async fn maybe(context: Option<AuthContext>) -> String {
    context.map_or_else(|| "anonymous".to_owned(), |c| c.key_name().to_owned())
}

async fn body_of(router: Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn extractor_gives_the_handler_the_key_organization() {
    let store = MemoryStore::new();
    let (key, _) = issue_key(&store, "org_a", Permission::ReadOnly).await;
    let router = Router::new()
        .route("/", get(organization))
        .layer(ApiKeyAuthLayer::new(store));
    let request = Request::get("/")
        .header("api-key", key.expose_secret())
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        body_of(router, request).await,
        (StatusCode::OK, "org_a".to_owned())
    );
}

#[tokio::test]
async fn extractor_without_the_layer_is_a_clear_500() {
    let router = Router::new().route("/", get(organization));
    let (status, body) = body_of(router, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "authentication_not_configured");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ApiKeyAuthLayer")
    );
}

#[tokio::test]
async fn optional_extractor_is_none_without_the_layer() {
    let router = Router::new().route("/", get(maybe));
    let (status, body) = body_of(router, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
}
