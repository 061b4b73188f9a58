//! The tower middleware: [`ApiKeyAuthLayer`](crate::ApiKeyAuthLayer), [`ApiKeyAuth`] and its [`ResponseFuture`].
//!
//! For each request the service reads the one key in the `api-key` header, checks it offline,
//! looks it up with one store read, compares digests in constant time, checks revocation, expiry,
//! permission and, when configured, the key's rate limit, and then either calls the inner service
//! with an [`AuthContext`](crate::AuthContext) in the request's extensions or answers with a
//! [`Rejection`](crate::Rejection):
//!
//! | situation | status | code | gRPC status |
//! |---|---|---|---|
//! | no key | 401 | `missing_api_key` | `UNAUTHENTICATED` |
//! | malformed key, bad checksum, unknown key, wrong secret | 401 | `invalid_api_key` | `UNAUTHENTICATED` |
//! | key revoked | 401 | `revoked_api_key` | `UNAUTHENTICATED` |
//! | key expired | 401 | `expired_api_key` | `UNAUTHENTICATED` |
//! | permission too low | 403 | `insufficient_permissions` | `PERMISSION_DENIED` |
//! | several keys in one request | 400 | `ambiguous_api_key` | `INVALID_ARGUMENT` |
//! | the store failed | 503 | `key_store_unavailable` | `UNAVAILABLE` |
//! | the key's rate limit is spent ([`RateLimits`](crate::rate_limit::RateLimits)) | 429 | `rate_limited` | `RESOURCE_EXHAUSTED` |
//!
//! A gRPC request (`content-type: application/grpc…`) gets its gRPC status in a trailers-only
//! response (HTTP `200`) instead; see [`GrpcRejection`](crate::grpc::GrpcRejection). A request the
//! classifier opens ([`Requirement::Open`](crate::policy::Requirement::Open)) passes without a key.
//!
//! # Example
//!
//! ```
//! use formbox_auth::{ApiKeyAuthLayer, AuthContext, KeyFormat, KeyRecord, KeyStore, MemoryStore, Permission};
//! use axum::http::{Request, Response, StatusCode};
//! use std::{convert::Infallible, time::SystemTime};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let key = KeyFormat::default().generate()?;
//! let record = KeyRecord::new(key.id(), "org_1".into(), "reporting", Permission::ReadOnly, key.digest(), SystemTime::now());
//! store.insert(&record, None).await?;
//!
//! let service = ServiceBuilder::new()
//!     .layer(ApiKeyAuthLayer::new(store))
//!     .service(service_fn(|request: Request<String>| async move {
//!         let context = request.extensions().get::<AuthContext>().cloned();
//!         Ok::<_, Infallible>(Response::new(context.map(|c| c.organization().to_string()).unwrap_or_default()))
//!     }));
//!
//! let read = Request::get("/forms").header("api-key", key.expose_secret()).body(String::new())?;
//! let response = service.clone().oneshot(read).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.body(), "org_1");
//!
//! let write = Request::post("/forms").header("api-key", key.expose_secret()).body(String::new())?;
//! assert_eq!(service.clone().oneshot(write).await?.status(), StatusCode::FORBIDDEN);
//!
//! let anonymous = Request::get("/forms").body(String::new())?;
//! assert_eq!(service.oneshot(anonymous).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! # }).unwrap();
//! ```

mod extract;
mod future;
pub(crate) mod layer;
mod limit;
mod response;
mod service;
mod shared;

pub use future::ResponseFuture;
pub use response::{JsonRejection, OnRejection};
pub use service::ApiKeyAuth;
#[cfg(feature = "management")]
pub(crate) use service::authenticate_headers;
