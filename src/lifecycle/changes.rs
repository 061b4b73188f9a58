//! Several changes to one key, made in one write.

use std::time::SystemTime;

use crate::{
    permission::Access,
    record::{KeyRecord, RateLimit, whole_micros},
};

/// What [`KeyManager::update`](crate::KeyManager::update) changes about a key; what is left
/// `None` stays as it is.
///
/// ```
/// use formbox_auth::lifecycle::KeyChanges;
/// use std::time::{Duration, SystemTime};
///
/// let in_a_month = SystemTime::now() + Duration::from_secs(30 * 86_400);
/// let changes = KeyChanges::new().name("Zapier (EU)").expires_at(Some(in_a_month));
/// assert_eq!(changes.name.as_deref(), Some("Zapier (EU)"));
/// // Some(None): the key never expires again.
/// let forever = KeyChanges::new().expires_at(None);
/// assert_eq!(forever.expires_at, Some(None));
/// // Some(None) too: the key has no rate limit of its own any more.
/// assert!(!KeyChanges::new().rate_limit(None).is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyChanges {
    /// A new name, trimmed, composed (NFC) and validated as by
    /// [`KeyManager::create`](crate::KeyManager::create).
    pub name: Option<String>,
    /// A new expiry: `Some(Some(time))` sets it, `Some(None)` clears it.
    pub expires_at: Option<Option<SystemTime>>,
    /// A new rate limit of the key's own: `Some(Some(limit))` sets it, `Some(None)` removes it.
    pub rate_limit: Option<Option<RateLimit>>,
    /// A new access: another preset, or other scopes.
    pub access: Option<Access>,
}

impl KeyChanges {
    /// No change.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the key.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the expiry, or clears it with `None`.
    #[must_use]
    pub fn expires_at(mut self, expires_at: Option<SystemTime>) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the key's own rate limit, or removes it with `None`.
    #[must_use]
    pub fn rate_limit(mut self, rate_limit: Option<RateLimit>) -> Self {
        self.rate_limit = Some(rate_limit);
        self
    }

    /// Gives the key another access: a preset [`Permission`](crate::Permission) or
    /// [`Scopes`](crate::permission::Scopes).
    #[must_use]
    pub fn access(mut self, access: impl Into<Access>) -> Self {
        self.access = Some(access.into());
        self
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.expires_at.is_none()
            && self.rate_limit.is_none()
            && self.access.is_none()
    }
}

/// What applying [`KeyChanges`] to a record changed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Applied {
    pub(super) renamed: bool,
    pub(super) expiry: bool,
    pub(super) rate_limit: bool,
    pub(super) access: bool,
}

impl Applied {
    /// Whether anything changed, and so needs writing.
    pub(super) fn any(self) -> bool {
        self.renamed || self.expiry || self.rate_limit || self.access
    }
}

/// Applies `changes`, whose name is `name` once validated, to `record`, changing only what
/// differs from it.
pub(super) fn apply(record: &mut KeyRecord, name: Option<&str>, changes: &KeyChanges) -> Applied {
    let applied = Applied {
        renamed: name.is_some_and(|name| record.name != name),
        // Stored times are whole microseconds.
        expiry: changes
            .expires_at
            .is_some_and(|expiry| record.expires_at != expiry.map(whole_micros)),
        rate_limit: changes
            .rate_limit
            .is_some_and(|limit| record.rate_limit != limit),
        access: changes.access.is_some_and(|access| record.access != access),
    };
    if let Some(name) = name.filter(|_| applied.renamed) {
        record.name = name.to_owned();
    }
    if let Some(expires_at) = changes.expires_at.filter(|_| applied.expiry) {
        set_expiry(record, expires_at);
    }
    if let Some(rate_limit) = changes.rate_limit.filter(|_| applied.rate_limit) {
        record.rate_limit = rate_limit;
    }
    if let Some(access) = changes.access.filter(|_| applied.access) {
        record.access = access;
    }
    applied
}

/// Sets `record`'s expiry, and ends a grace period of its previous secret no later.
fn set_expiry(record: &mut KeyRecord, expires_at: Option<SystemTime>) {
    record.expires_at = expires_at;
    if let (Some(previous), Some(expires_at)) = (&mut record.previous, expires_at) {
        previous.valid_until = previous.valid_until.min(expires_at);
    }
}
