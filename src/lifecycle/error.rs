//! Why a key operation failed.

use super::KeyPage;
use crate::{
    key::RandomnessError,
    permission::{InvalidScope, Required},
    store::StoreError,
};

/// Why a [`KeyManager`](crate::KeyManager) operation failed. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// The key name is unusable; the text says why.
    #[error("invalid key name: {0}")]
    InvalidName(&'static str),
    /// Another key of the organization that is not revoked has this name, ignoring case,
    /// surrounding spaces and Unicode composition ([`KeyRecord::name_key`]). The store decided
    /// it, atomically with the write: nothing was written.
    ///
    /// [`KeyRecord::name_key`]: crate::KeyRecord::name_key
    #[error("another API key of the organization already has this name")]
    NameTaken,
    /// The scopes are unusable: malformed, over a resource the manager's
    /// [`Resources`](crate::permission::Resources) do not declare, or none at all.
    #[error("invalid scopes: {0}")]
    InvalidScope(#[from] InvalidScope),
    /// The key this manager acts as ([`KeyManager::acting_as`](crate::KeyManager::acting_as))
    /// lacks `required` for this: a key never gives, changes or takes over a key that may do
    /// more than itself.
    #[error("the API key making this change lacks `{required}`")]
    InsufficientAccess {
        /// What it would need.
        required: Required,
    },
    /// The key this manager acts as tried to raise or remove its own rate limit, or to move or
    /// remove its own expiry.
    #[error("an API key cannot loosen its own rate limit or expiry")]
    LoosensOwnLimits,
    /// The key has expired, and expiry is final: its expiry cannot change.
    #[error("the API key has expired; its expiry cannot change")]
    Expired,
    /// A page limit outside `1..=KeyPage::MAX_LIMIT`.
    #[error("the page limit {limit} is not between 1 and {max}", max = KeyPage::MAX_LIMIT)]
    InvalidPageLimit {
        /// The limit asked for.
        limit: usize,
    },
    /// The organization id is empty.
    #[error("the organization id is empty")]
    EmptyOrganization,
    /// The expiry is not in the future.
    #[error("the expiry time is not in the future")]
    ExpiryInPast,
    /// No key with this id belongs to the organization.
    #[error("no such API key")]
    NotFound,
    /// The key is revoked, and revocation is final.
    #[error("the API key is revoked")]
    Revoked,
    /// The organization already has as many active keys as allowed.
    #[error("the organization already has {limit} active API keys, the most allowed")]
    TooManyKeys {
        /// The configured limit.
        limit: usize,
    },
    /// The key kept changing under this operation (other changes of the same key ran at the same
    /// time); nothing was written. Trying again is safe.
    #[error("the API key was changed concurrently; try again")]
    Conflict,
    /// Several freshly drawn ids were all taken: the store is almost certainly misbehaving.
    #[error("could not find a free key id")]
    IdCollision,
    /// No randomness for a new key.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Result of a key operation.
pub type ManageResult<T> = Result<T, ManageError>;
