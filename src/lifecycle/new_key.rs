//! What a new key is made of.

use std::time::SystemTime;

use crate::{permission::Access, record::RateLimit};

/// A key to create with [`KeyManager::create`](crate::KeyManager::create): a name and its
/// access (a [`Permission`](crate::Permission) preset or [`Scopes`](crate::permission::Scopes)),
/// and optionally an expiry and a rate limit of its own.
///
/// ```
/// use formbox_auth::Permission;
/// use formbox_auth::{lifecycle::NewKey, rate_limit::RateLimit};
///
/// let key = NewKey::new("Zapier", Permission::ReadOnly).rate_limit(Some(RateLimit::new(600, 60)?));
/// assert_eq!(key.expires_at, None);
/// assert_eq!(key.rate_limit.map(|limit| limit.requests()), Some(600));
/// # Ok::<(), formbox_auth::rate_limit::InvalidRateLimit>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewKey {
    /// Its name, trimmed, composed (NFC) and validated by
    /// [`KeyManager::create`](crate::KeyManager::create).
    pub name: String,
    /// What it may do.
    pub access: Access,
    /// When it stops working; `None`: never.
    pub expires_at: Option<SystemTime>,
    /// Its own rate limit; `None`: none.
    pub rate_limit: Option<RateLimit>,
}

impl NewKey {
    /// Longest key name, in characters.
    pub const MAX_NAME_CHARS: usize = 100;

    /// A key with this name and access (a preset [`Permission`](crate::Permission) or
    /// [`Scopes`](crate::permission::Scopes)), never expiring, without a rate limit.
    pub fn new(name: impl Into<String>, access: impl Into<Access>) -> Self {
        Self {
            name: name.into(),
            access: access.into(),
            expires_at: None,
            rate_limit: None,
        }
    }

    /// Sets when the key stops working; `None`: never.
    #[must_use]
    pub fn expires_at(mut self, expires_at: Option<SystemTime>) -> Self {
        self.expires_at = expires_at;
        self
    }

    /// Sets the key's own rate limit; `None`: none.
    #[must_use]
    pub fn rate_limit(mut self, rate_limit: Option<RateLimit>) -> Self {
        self.rate_limit = rate_limit;
        self
    }
}
