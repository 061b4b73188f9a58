//! Formbox-style API keys for tower, axum and hyper services.
//!
//! Keys look like `fbsk_<key id>_<secret><checksum>`: an identifiable prefix for secret scanners,
//! a public id, 190 bits of secret and a CRC32 checksum that rejects typos before any store is
//! asked. Each key belongs to one organization and is **full access**, **read only**, or
//! **restricted** to scopes (`forms:read`, `submissions:write`) over resources the service
//! declares.
//! Stores keep only a SHA-256 digest, compared in constant time.
//!
//! The crate root holds what every service touches:
//!
//! - [`ApiKeyAuthLayer`] authenticates requests by their `api-key` header, enforces the
//!   [`Permission`] or scope a request needs (by method, or by route with a
//!   [`PermissionPolicy`]), hands handlers an [`AuthContext`], and turns the rest away with a
//!   [`Rejection`]. A key's [`Access`] is a preset or a set of scopes ([`permission`]).
//! - [`KeyStore`] keeps [`KeyRecord`]s; [`MemoryStore`] is one, and [`store`] has the others.
//! - [`Authenticator`] verifies a presented key with a [`KeyFormat`]: the rules live there, once.
//! - [`KeyManager`] creates, lists, changes, revokes and regenerates an [`OrganizationId`]'s keys,
//!   each named by its [`KeyId`].
//!
//! Everything else sits in a module named after what it holds: [`key`], [`permission`], [`store`],
//! [`lifecycle`], [`middleware`], [`policy`], [`rate_limit`], [`grpc`], [`events`], [`clock`],
//! and, behind their features, `management`, `dashboard`, `metrics`, `secret_scanning` and `testing`.
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
//! - `tokio` (default): the background last-used writer
//!   (`Authenticator::spawn_usage_flusher`) and store timeouts
//!   (`Authenticator::with_store_timeout`).
//! - `axum` (default): [`AuthContext`] as an axum extractor.
//! - `serde`: `Serialize`/`Deserialize` for [`Permission`], [`KeyId`], [`OrganizationId`] and
//!   [`ListCursor`](store::ListCursor), and `Serialize` for [`AuthContext`] and the
//!   [`lifecycle`] answers.
//! - `sqlite`: `store::SqliteStore`, keys in a SQLite database (through sqlx, with SQLite
//!   compiled in).
//! - `postgres`: `store::PostgresStore`, keys in PostgreSQL shared by many instances, whose
//!   changes reach every instance's [`CachedStore`](store::CachedStore) through
//!   `LISTEN`/`NOTIFY`.
//! - `management`: `management::ManagementApi`, axum routes that create, list, change,
//!   regenerate and revoke keys, mounted under any prefix, with their OpenAPI 3.1 description
//!   (utoipa).
//! - `redis`: `rate_limit::RedisLimiter`, rate limits shared by many instances through Redis
//!   (one atomic script per check, by Redis's clock), decided in process while Redis cannot
//!   answer.
//! - `dashboard`: `dashboard::Dashboard`, the Settings › API Keys page (embedded HTML, CSS and
//!   JavaScript) with the management API it calls, mounted under any prefix of an axum app
//!   behind the host's own sign-in, with CSRF protection bound to the host's session (implies
//!   `management`).
//! - `secret-scanning`: `secret_scanning::SecretScanning`, an axum endpoint for GitHub's secret
//!   scanning partner program: it verifies GitHub's signature, revokes the reported keys and
//!   answers GitHub which were real (implies `management`).
//! - `metrics`: `metrics::AuthMetrics`, counters and histograms through the `metrics` facade
//!   (requests by outcome and rejection code, verification latency, cache hits and misses,
//!   store errors, last-used writes), for any exporter such as Prometheus.
//! - `testing`: the `testing` module: a conformance suite for [`KeyStore`] backends
//!   (`key_store_conformance!`), a fault-injecting store wrapper and a manual clock.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![deny(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// From the lowest module to the highest: each imports only from modules listed before it.
// tests/it/architecture.rs holds the same order and fails on an import against it.
pub mod clock;
pub mod key;
pub mod permission;
mod record;
mod context;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod secret;
pub mod events;
mod rejection;
pub mod store;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
pub mod authenticator;
pub mod rate_limit;
pub mod policy;
pub mod middleware;
pub mod grpc;
pub mod lifecycle;
#[cfg(feature = "management")]
#[cfg_attr(docsrs, doc(cfg(feature = "management")))]
pub mod management;
#[cfg(feature = "dashboard")]
#[cfg_attr(docsrs, doc(cfg(feature = "dashboard")))]
pub mod dashboard;
#[cfg(feature = "secret-scanning")]
#[cfg_attr(docsrs, doc(cfg(feature = "secret-scanning")))]
pub mod secret_scanning;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use authenticator::verifier::Authenticator;
pub use context::AuthContext;
pub use key::{format::KeyFormat, id::KeyId};
pub use lifecycle::manager::KeyManager;
pub use middleware::layer::ApiKeyAuthLayer;
pub use permission::{access::Access, preset::Permission};
pub use policy::routes::PermissionPolicy;
pub use record::{KeyRecord, OrganizationId};
pub use rejection::Rejection;
pub use store::{key_store::KeyStore, memory::MemoryStore};

// The README's Rust examples compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The sqlx this crate's SQL stores are built on, so pools can be made with the same version.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub use sqlx;

/// The redis client [`RedisLimiter`](rate_limit::RedisLimiter) is built on, so that connections
/// to hand it are made with the same version.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis;

/// The utoipa the management API's OpenAPI description is built with, so that a host's own
/// description (with [`KeySecurity`](management::KeySecurity)) uses the same version.
#[cfg(feature = "management")]
#[cfg_attr(docsrs, doc(cfg(feature = "management")))]
pub use utoipa;
