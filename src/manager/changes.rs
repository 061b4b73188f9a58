//! Several changes to one key, made in one write.

use std::time::SystemTime;

/// What [`KeyManager::update`](crate::KeyManager::update) changes about a key; what is left
/// `None` stays as it is.
///
/// ```
/// use formbox_auth::KeyChanges;
/// use std::time::{Duration, SystemTime};
///
/// let in_a_month = SystemTime::now() + Duration::from_secs(30 * 86_400);
/// let changes = KeyChanges::new().name("Zapier (EU)").expires_at(Some(in_a_month));
/// assert_eq!(changes.name.as_deref(), Some("Zapier (EU)"));
/// // Some(None): the key never expires again.
/// let forever = KeyChanges::new().expires_at(None);
/// assert_eq!(forever.expires_at, Some(None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyChanges {
    /// A new name, validated and trimmed as by [`KeyManager::create`](crate::KeyManager::create).
    pub name: Option<String>,
    /// A new expiry: `Some(Some(time))` sets it, `Some(None)` clears it.
    pub expires_at: Option<Option<SystemTime>>,
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

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.expires_at.is_none()
    }
}
