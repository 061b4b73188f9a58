//! [`KeyStore`]: the storage trait every backend implements.

use std::{sync::Arc, time::SystemTime};

use async_trait::async_trait;

use super::{ActiveKeyLimit, Inserted, ListCursor, Result, Updated};
use crate::{
    key::KeyId,
    record::{KeyRecord, OrganizationId},
};

/// One key's last use, as the usage recorder flushes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage {
    /// The key that was used.
    pub id: KeyId,
    /// When it was last used.
    pub used_at: SystemTime,
}

/// What a store can say about a key id without waiting: [`KeyStore::get_cached`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedLookup {
    /// The store holds this record.
    Found(Arc<KeyRecord>),
    /// The store is known to hold no record with this id.
    Absent,
    /// The store cannot tell without waiting: ask [`KeyStore::get`].
    Unknown,
}

/// Storage for key records.
///
/// Implementations are plain storage: they keep what they are given and return it unchanged.
/// All methods take `&self`, so one store is shared as `Arc<dyn KeyStore>`. `Err` means only
/// that the backend failed; absence is `Ok(None)` or `Ok(Updated::Stale)`, and a taken id or
/// name an `Ok` answer too.
///
/// What the crate relies on, for every method:
///
/// - **Exactness**: a record comes back equal to what was written, with every field, including
///   names with quotes or any Unicode. Times are kept to the microsecond: the crate writes only
///   whole microseconds (any time since 1970 and well before), and a store may round finer parts
///   down, never up.
/// - **Isolation**: one organization's records never appear in another's answers.
/// - **Unique names**: among one organization's keys that are not revoked, no two share a
///   [name key](KeyRecord::name_key). [`insert`](Self::insert) and [`update`](Self::update)
///   refuse a write that would break this with `NameTaken`, changing nothing, and decide it in
///   the same atomic step as the write, so that two concurrent writers can never both take one
///   name. Revoking a key frees its name. In SQL, a `name_key` column and a partial unique index
///   on `(organization, name_key) WHERE revoked_at IS NULL`, whose violation is `NameTaken`.
///
/// `key_store_conformance!` (feature `testing`) checks all of this, and each method's own
/// promise, against a backend.
///
/// A backend implements the five required methods on an `impl` block marked
/// `#[async_trait]` ([`store::async_trait`](crate::store::async_trait)), as the trait is: `async
/// fn` in a trait is not object-safe without it, and the crate keeps every store as
/// `Arc<dyn KeyStore>`. Without the attribute the compiler reports lifetime mismatches
/// (`E0195`). [`get_cached`](Self::get_cached) is optional, and its default is always correct.
/// The README's "Writing a backend" has a complete one.
#[async_trait]
pub trait KeyStore: std::fmt::Debug + Send + Sync + 'static {
    /// The record with this id, or `None`.
    ///
    /// The crate reads a key once per uncached request, so this is the call to make fast (a
    /// primary-key lookup).
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>>;

    /// The record with this id if the store can answer at once from memory (an in-process table
    /// or a warm cache); otherwise [`CachedLookup::Unknown`], and the crate calls
    /// [`get`](Self::get). The layer uses it to skip the asynchronous path for hot keys.
    ///
    /// The default answers `Unknown`, which is always correct: a wrapper that does not forward
    /// it only sends every lookup to [`get`](Self::get). Never block or wait here.
    fn get_cached(&self, id: &KeyId) -> CachedLookup {
        let _ = id;
        CachedLookup::Unknown
    }

    /// Stores a new record as given, unless a record with its id exists
    /// ([`Inserted::IdTaken`], changing nothing: the crate relies on this to never overwrite a
    /// key with a colliding id).
    ///
    /// With a `limit`, stores it only if its organization has fewer than `limit.max` active keys
    /// at `limit.at` (neither revoked nor expired: [`ActiveKeyLimit`]), and otherwise answers
    /// [`Inserted::LimitReached`], changing nothing. The crate caps an organization's keys with
    /// it.
    ///
    /// - The count and the insert are one atomic step among all writers, on every instance: no
    ///   other capped insert counts or writes between them, so two concurrent calls can never
    ///   both see room for the last slot. In SQL, one
    ///   `INSERT ... SELECT ... WHERE (SELECT COUNT(*) ...) < ?` where the database runs one
    ///   writer at a time (SQLite); where it does not (PostgreSQL under `READ COMMITTED`), also a
    ///   lock per organization, taken before the count and held until the insert commits. Keys
    ///   inserted without a limit are not capped, but they count.
    /// - Counts only the keys of `record.organization`, whatever else the store holds.
    /// - Times compare as stored, to the microsecond: a store may round `limit.at` down to a
    ///   whole microsecond, which changes no answer, since stored times are whole microseconds.
    ///
    /// A record that is not revoked is refused with [`Inserted::NameTaken`], changing nothing,
    /// while a key of its organization that is not revoked has its
    /// [name key](KeyRecord::name_key) (expired keys keep their names). The check and the insert
    /// are one atomic step, as the count is: of concurrent inserts of one name, one is stored.
    /// An id that exists is [`Inserted::IdTaken`] whatever else stands in the way; when both a
    /// limit and a name do, either answer is right.
    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted>;

    /// Replaces the record with `record.id` by `record`, but only if the stored record is still
    /// at `expected_revision`: an atomic compare-and-swap, so that two concurrent changes of one
    /// key (a revocation and a regeneration, on two instances) cannot silently undo each other.
    ///
    /// - Writes every field of `record`, its [`revision`](KeyRecord::revision) included (the
    ///   crate passes `expected_revision + 1`), except `last_used_at`, which stays as stored:
    ///   only [`record_usage`](Self::record_usage) moves it.
    /// - Answers [`Updated::Stale`], changing nothing, if the stored revision differs or there is
    ///   no such record.
    /// - Answers [`Updated::NameTaken`], changing nothing, if `record` is not revoked and
    ///   another key of its organization that is not revoked has its
    ///   [name key](KeyRecord::name_key): a rename into a taken name. The key's own name key
    ///   never stands in its way, so a key may take its own name in another case.
    /// - Must be atomic among all writers of the store, the name check included: in SQL,
    ///   `UPDATE ... WHERE id = ? AND revision = ?` and the count of changed rows, with the unique
    ///   index refusing a taken name.
    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated>;

    /// At most `limit` records of `organization`, newest first, that come strictly after
    /// `after`, or from the first when `after` is `None`: one page of a keyset pagination.
    ///
    /// - Newest first: by `created_at` descending, then by id descending in byte order
    ///   (`"b" > "a" > "B"`), whatever the database's collation.
    /// - A record comes after a cursor if it was created earlier, or in the same microsecond
    ///   with a smaller id in byte order: in SQL, `(created_at, id) < (after.created_at,
    ///   after.id)`, as `created_at < ? OR (created_at = ? AND id < ?)`.
    /// - The cursor need not name a record that exists, and may lie far before or after every
    ///   key: the answer is then a page, maybe empty, never an error. Its time is a whole
    ///   microsecond.
    /// - `limit` `0` answers no record; `usize::MAX` answers all of them (the crate asks so for
    ///   `KeyManager::list`), so a SQL backend clamps it to the largest `LIMIT` it accepts.
    ///
    /// Read only the page: `WHERE organization = ? AND (created_at < ? OR (created_at = ? AND
    /// id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?`, served by an index on
    /// `(organization, created_at, id)`.
    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>>;

    /// Moves `last_used_at` of each listed key forward to `used_at`, never backward (an older
    /// batch from a slow instance changes nothing), and changes nothing else, not the revision
    /// either. The same key may appear more than once; the latest use wins. Unknown ids are
    /// skipped.
    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()>;
}

#[async_trait]
impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        (**self).get(id).await
    }

    fn get_cached(&self, id: &KeyId) -> CachedLookup {
        (**self).get_cached(id)
    }

    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        (**self).insert(record, limit).await
    }

    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        (**self).update(record, expected_revision).await
    }

    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        (**self).list_page(organization, after, limit).await
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        (**self).record_usage(usage).await
    }
}
