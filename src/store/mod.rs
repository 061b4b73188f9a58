//! Where key records live.
//!
//! [`KeyStore`] is storage only: get, insert, update, list, delete, and a batched last-used write.
//! Hashing, verification, expiry and grace periods live once in the crate, so a new backend has
//! nothing security-relevant to get wrong.
//!
//! | store | feature | for |
//! |---|---|---|
//! | [`MemoryStore`] | | tests and single-process services |
//! | `SqliteStore` | `sqlite` | the embedded default: keys in a file |
//! | `PostgresStore` | `postgres` | many instances sharing one database |
//! | [`CachedStore`] | | wraps any store: bounded, with times to live and invalidation |
//!
//! Every backend passes the same conformance suite (`tests/conformance.rs`).
//!
//! ```
//! use formbox_auth::{KeyFormat, KeyRecord, KeyStore, MemoryStore, OrganizationId, Permission};
//! use std::{sync::Arc, time::SystemTime};
//!
//! # tokio_test();
//! # fn tokio_test() { tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let key = KeyFormat::default().generate()?;
//! let record = KeyRecord::new(
//!     key.id(),
//!     OrganizationId::from("org_1"),
//!     "CI",
//!     Permission::ReadOnly,
//!     key.digest(),
//!     SystemTime::now(),
//! );
//! assert!(store.insert(&record).await?);
//! assert_eq!(store.get(&key.id()).await?, Some(record));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap() }
//! ```

mod cache;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::{sync::Arc, time::SystemTime};

use async_trait::async_trait;

pub use cache::CachedStore;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{InvalidationListener, PostgresStore};
pub use record::{KeyRecord, OrganizationId, PreviousSecret};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::InvalidTableName;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::KeyId;

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The backend failed; the crate answers `503 key_store_unavailable` and lets nothing through.
///
/// "Not found" is never an error: methods return `Ok(None)` or `Ok(false)` for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database or service behind the store failed.
    #[error("the key store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store returned data that is not a valid record.
    #[error("the key store returned a malformed record: {0}")]
    Decode(String),
    /// The store did not answer in time.
    #[error("the key store did not answer in time")]
    Timeout,
}

impl StoreError {
    /// Wraps a backend's own error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }
}

/// One key's last use, as the usage recorder flushes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage {
    /// The key that was used.
    pub id: KeyId,
    /// When it was last used.
    pub used_at: SystemTime,
}

/// Storage for key records.
///
/// Implementations are plain storage: they keep what they are given and return it unchanged. All
/// methods take `&self`, so one store is shared as `Arc<dyn KeyStore>`. `Err` means only that the
/// backend failed; absence is `Ok(None)` or `Ok(false)`.
#[async_trait]
pub trait KeyStore: std::fmt::Debug + Send + Sync + 'static {
    /// The record with this id, or `None`.
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>>;

    /// The record with this id if the store can answer at once from memory (an in-process table
    /// or a warm cache): `Some(Some(record))` found, `Some(None)` known to be absent, `None` to
    /// ask [`get`](Self::get). The layer uses it to skip the asynchronous path for hot keys.
    ///
    /// The default answers `None`. Never block here.
    fn get_cached(&self, id: &KeyId) -> Option<Option<Arc<KeyRecord>>> {
        let _ = id;
        None
    }

    /// Stores a new record. Returns `false`, changing nothing, if a record with its id exists.
    async fn insert(&self, record: &KeyRecord) -> Result<bool>;

    /// Replaces the record with the same id, except `last_used_at`, which only
    /// [`record_usage`](Self::record_usage) moves. Returns `false` if there is no such record.
    async fn update(&self, record: &KeyRecord) -> Result<bool>;

    /// Replaces `current` with `new` (same id) only if the stored record still equals `current`
    /// in everything [`update`](Self::update) writes, that is all but `last_used_at`: a
    /// compare-and-swap, so that two concurrent changes of one key (a revocation and a
    /// regeneration) cannot silently overwrite each other. Returns `false`, changing nothing, if
    /// the record changed since `current` was read, or is gone.
    ///
    /// The default compares and then updates in two steps, which is not atomic: a store that
    /// several writers share must override it with one atomic operation.
    async fn update_if(&self, current: &KeyRecord, new: &KeyRecord) -> Result<bool> {
        match self.get(&current.id).await? {
            Some(stored) if same_but_usage(&stored, current) => self.update(new).await,
            _ => Ok(false),
        }
    }

    /// Every record of `organization`, newest first (by `created_at`, then id).
    async fn list(&self, organization: &OrganizationId) -> Result<Vec<KeyRecord>>;

    /// Removes a record. Returns `false` if there was none.
    async fn delete(&self, id: &KeyId) -> Result<bool>;

    /// Moves `last_used_at` of each listed key forward to `used_at` (never backward). Unknown ids
    /// are skipped.
    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()>;
}

#[async_trait]
impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        (**self).get(id).await
    }

    fn get_cached(&self, id: &KeyId) -> Option<Option<Arc<KeyRecord>>> {
        (**self).get_cached(id)
    }

    async fn insert(&self, record: &KeyRecord) -> Result<bool> {
        (**self).insert(record).await
    }

    async fn update(&self, record: &KeyRecord) -> Result<bool> {
        (**self).update(record).await
    }

    async fn update_if(&self, current: &KeyRecord, new: &KeyRecord) -> Result<bool> {
        (**self).update_if(current, new).await
    }

    async fn list(&self, organization: &OrganizationId) -> Result<Vec<KeyRecord>> {
        (**self).list(organization).await
    }

    async fn delete(&self, id: &KeyId) -> Result<bool> {
        (**self).delete(id).await
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        (**self).record_usage(usage).await
    }
}

/// Whether two records agree in everything but `last_used_at`, which only
/// [`KeyStore::record_usage`] moves: what [`KeyStore::update_if`] compares.
pub(crate) fn same_but_usage(a: &KeyRecord, b: &KeyRecord) -> bool {
    KeyRecord {
        last_used_at: None,
        ..a.clone()
    } == KeyRecord {
        last_used_at: None,
        ..b.clone()
    }
}
