//! Where key records live: [`KeyStore`] and its backends.
//!
//! [`KeyStore`] is storage only. Hashing, verification, expiry and grace
//! periods live once in the crate, so a new backend has nothing security-relevant to get wrong;
//! what it must get right is that [`update`](crate::KeyStore::update) is an atomic
//! compare-and-swap, a capped [`insert`](crate::KeyStore::insert) an atomic count and write, and
//! that both keep [name keys](crate::KeyRecord::name_key) unique among an organization's keys
//! that are not revoked, atomically.
//!
//! - [`MemoryStore`](crate::MemoryStore): one process, for tests and demos.
//! - `SqliteStore` (feature `sqlite`): the embedded default, a file.
//! - `PostgresStore` (feature `postgres`): one database shared by many instances, whose changes
//!   reach every instance's [`CachedStore`] through `LISTEN`/`NOTIFY`.
//! - [`CachedStore`]: a bounded, time-limited cache around any of them.
//! - `RedisInvalidation` (feature `redis`): changes announced to every instance's
//!   [`CachedStore`] through Redis pub/sub instead, for any store, with no database connection
//!   held open per instance.
//!
//! A backend implements the trait with [`async_trait`](macro@async_trait) on its `impl` block, and proves itself
//! with `key_store_conformance!` (feature `testing`).

mod base64url;
mod cache;
mod cursor;
mod error;
mod invalidate;
pub(crate) mod key_store;
mod limit;
#[cfg(any(feature = "postgres", feature = "redis"))]
mod listener;
pub(crate) mod memory;
mod outcome;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "redis")]
pub use self::redis::{Announcing, InvalidChannel, RedisInvalidation};
pub use crate::record::PreviousSecret;
/// The macro a backend puts on its `impl KeyStore for …` block (and the crate on the trait), so
/// that `Arc<dyn KeyStore>` works: `async fn` in a trait is not object-safe without it.
pub use async_trait::async_trait;
pub use cache::CachedStore;
pub use cursor::{InvalidCursor, ListCursor};
pub use error::{Result, StoreError};
pub use invalidate::Invalidate;
pub(crate) use key_store::KeyStore;
pub use key_store::{CachedLookup, KeyUsage};
pub use limit::ActiveKeyLimit;
#[cfg(any(feature = "postgres", feature = "redis"))]
pub use listener::{InvalidationListener, OnListenerLoss};
pub use outcome::{Inserted, Updated};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{InvalidTableName, SqlDialect, SqlStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
