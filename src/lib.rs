//! Formbox-style API keys for tower, axum and hyper services.
//!
//! Keys look like `fbsk_<key id>_<secret><checksum>`: an identifiable prefix for secret scanners,
//! a public id, 190 bits of secret and a CRC32 checksum that rejects typos before any store is
//! asked. Each key belongs to one organization and is either **full access** or **read only**.
//! Stores keep only a SHA-256 digest, compared in constant time.
//!
//! - [`KeyFormat`] generates and parses keys.
//! - [`KeyStore`] keeps [`KeyRecord`]s: [`MemoryStore`], `SqliteStore`, `PostgresStore`, and
//!   [`CachedStore`] around any of them.
//! - [`Authenticator`] verifies a presented key: the rules live there, once.
//! - [`KeyManager`] creates, lists (in pages too), renames, revokes and regenerates keys, and
//!   writes last-used times.
//! - [`ApiKeyAuthLayer`] authenticates requests by their `api-key` header, enforces the
//!   [`Permission`] a request needs, and hands handlers an [`AuthContext`]. It serves gRPC
//!   (tonic) too: [`GrpcPolicy`] decides permissions by method, and gRPC requests are rejected
//!   with gRPC statuses.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use formbox_auth::{ApiKeyAuthLayer, AuthContext, MemoryStore};
//!
//! async fn me(context: AuthContext) -> String {
//!     format!("{} via key {}", context.organization(), context.key_id())
//! }
//!
//! let app: Router = Router::new()
//!     .route("/v1/me", get(me))
//!     .layer(ApiKeyAuthLayer::new(MemoryStore::new()));
//! ```
//!
//! # Features
//!
//! Default: `tokio` and `axum`, which an axum service already depends on; adding the layer compiles
//! no database driver. Stores, `serde` and the test tools are opt-in.
//!
//! - `tokio` (default): the background last-used writer (`KeyManager::spawn_usage_flusher`) and
//!   store timeouts (`Authenticator::with_store_timeout`).
//! - `axum` (default): [`AuthContext`] as an axum extractor.
//! - `serde`: `Serialize`/`Deserialize` for [`Permission`], [`KeyId`], [`OrganizationId`] and
//!   [`ListCursor`], and `Serialize` for [`AuthContext`], [`KeyInfo`] and [`KeyPage`].
//! - `sqlite`: `SqliteStore`, keys in a SQLite database (through sqlx, with SQLite compiled in).
//! - `postgres`: `PostgresStore`, keys in PostgreSQL shared by many instances, whose changes
//!   reach every instance's [`CachedStore`] through `LISTEN`/`NOTIFY`.
//! - `management`: `ManagementApi`, axum routes that create, list, change, regenerate and
//!   revoke keys, mounted under any prefix, with their OpenAPI 3.1 description (utoipa).
//! - `redis`: `RedisLimiter`, rate limits shared by many instances through Redis (one atomic
//!   script per check, by Redis's clock), decided in process while Redis cannot answer.
//! - `secret-scanning`: `SecretScanning`, an axum endpoint for GitHub's secret scanning partner
//!   program: it verifies GitHub's signature, revokes the reported keys and answers GitHub which
//!   were real (implies `management`).
//! - `metrics`: `AuthMetrics`, counters and histograms through the `metrics` facade
//!   (requests by outcome and rejection code, verification latency, cache hits and misses,
//!   store errors, last-used writes), for any exporter such as Prometheus.
//! - `testing`: the `testing` module: a conformance suite for [`KeyStore`] backends
//!   (`key_store_conformance!`), a fault-injecting store wrapper and a manual clock.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![deny(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authenticator;
mod clock;
mod context;
mod deadline;
mod events;
mod grpc;
mod key;
mod manager;
#[cfg(feature = "metrics")]
mod metrics;
mod middleware;
mod permission;
mod policy;
mod rate_limit;
mod secret;
#[cfg(feature = "secret-scanning")]
mod secret_scanning;
mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod usage;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
mod axum;
#[cfg(feature = "management")]
mod management;

pub use authenticator::{AuthError, Authenticator};
#[cfg(feature = "axum")]
pub use axum::MissingAuthContext;
pub use clock::{Clock, SystemClock};
pub use context::AuthContext;
pub use events::{EventSink, KeyEvent, TracingEvents};
pub use grpc::{GRPC_HEALTH_SERVICE, GrpcPolicy, GrpcRejection};
pub use key::{
    DEFAULT_PREFIX, InvalidPrefix, KeyDigest, KeyFormat, KeyId, ParseError, ParsedKey,
    PlaintextKey, RandomnessError,
};
#[cfg(feature = "management")]
#[cfg_attr(docsrs, doc(cfg(feature = "management")))]
pub use management::{
    API_KEY_SCHEME, ApiError, ApiKeyAccess, KeySecurity, ManagementAccess, ManagementApi,
};
#[cfg(feature = "tokio")]
pub use manager::UsageFlusher;
pub use manager::{
    CreatedKey, DEFAULT_PAGE_LIMIT, InvalidCursor, KeyChanges, KeyInfo, KeyManager, KeyPage,
    LeakOutcome, ListCursor, MAX_NAME_CHARS, MAX_PAGE_LIMIT, ManageError, ManageResult, NewKey,
};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use metrics::AuthMetrics;
pub use middleware::{
    ApiKeyAuth, ApiKeyAuthLayer, JsonRejection, OnRejection, Rejection, ResponseFuture,
};
pub use permission::{Permission, UnknownPermission};
pub use policy::{ClassifyPermission, PermissionPolicy, Requirement};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use rate_limit::RedisLimiter;
pub use rate_limit::{
    Check, InvalidRateLimit, MAX_RATE_LIMIT_REQUESTS, MAX_RATE_LIMIT_WINDOW, MemoryLimiter,
    RateDecision, RateLimit, RateLimiter, RateLimits,
};
#[cfg(feature = "secret-scanning")]
#[cfg_attr(docsrs, doc(cfg(feature = "secret-scanning")))]
pub use secret_scanning::{
    DEFAULT_MAX_REPORT_BYTES, DEFAULT_MAX_REPORT_TOKENS, DEFAULT_MIN_FETCH_INTERVAL,
    FetchingPublicKeys, GithubPublicKey, ProviderError, PublicKeyProvider, SecretScanning,
    StaticPublicKeys,
};
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{
    ActiveKeyLimit, CachedLookup, CachedStore, Inserted, Invalidate, KeyRecord, KeyStore, KeyUsage,
    ListPosition, MemoryStore, OrganizationId, PreviousSecret, StoreError,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use store::{InvalidTableName, SqlDialect, SqlStore};
#[cfg(feature = "postgres")]
pub use store::{InvalidationListener, OnListenerLoss, PostgresStore};

/// The sqlx this crate's SQL stores are built on, so pools can be made with the same version.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub use sqlx;

/// The redis client [`RedisLimiter`] is built on, so that connections to hand it are made with
/// the same version.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis;

/// The utoipa the management API's OpenAPI description is built with, so that a host's own
/// description (with [`KeySecurity`]) uses the same version.
#[cfg(feature = "management")]
#[cfg_attr(docsrs, doc(cfg(feature = "management")))]
pub use utoipa;
