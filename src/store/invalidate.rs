//! Telling a cache that stored keys changed elsewhere.

use crate::key::KeyId;

/// Something that remembers keys and must forget them when they change: what
/// `PostgresStore::listen_invalidations` (feature `postgres`) and `RedisInvalidation::listen`
/// (feature `redis`) feed with the changes every instance makes.
/// [`CachedStore`](crate::store::CachedStore) implements it.
///
/// A closure-free trait rather than a concrete cache, so that a store's listener does not depend
/// on the cache in front of it:
///
/// ```
/// use formbox_auth::{store::Invalidate, KeyId};
/// use std::sync::{Arc, Mutex};
///
/// /// Counts what it is told, for a metrics dashboard.
/// #[derive(Debug, Clone, Default)]
/// struct Counted(Arc<Mutex<usize>>);
///
/// impl Invalidate for Counted {
///     fn invalidate(&self, _: &KeyId) {
///         *self.0.lock().unwrap() += 1;
///     }
///     fn invalidate_all(&self) {
///         *self.0.lock().unwrap() += 1;
///     }
/// }
/// ```
pub trait Invalidate: Send + Sync + 'static {
    /// The key `id` changed: forget it.
    fn invalidate(&self, id: &KeyId);

    /// Any key may have changed unannounced (notifications were lost): forget everything.
    fn invalidate_all(&self);
}
