//! What a write to a store did: [`Inserted`] and [`Updated`].

/// What [`KeyStore::insert`](crate::KeyStore::insert) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inserted {
    /// The record is stored.
    Stored,
    /// A record with its id exists; nothing changed.
    IdTaken,
    /// Its organization already has the maximum of active keys; nothing changed.
    LimitReached,
    /// A key of its organization that is not revoked has its
    /// [name key](crate::KeyRecord::name_key); nothing changed.
    NameTaken,
}

/// What [`KeyStore::update`](crate::KeyStore::update) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Updated {
    /// The record is written.
    Stored,
    /// The stored record is not at the expected revision (another change came first), or there
    /// is none; nothing changed.
    Stale,
    /// Another key of the record's organization that is not revoked has its
    /// [name key](crate::KeyRecord::name_key); nothing changed.
    NameTaken,
}
