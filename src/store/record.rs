//! What a store keeps about one key.

use std::{fmt, sync::Arc, time::SystemTime};

use crate::{KeyDigest, KeyId, Permission};

/// The organization a key belongs to: the tenant its requests act for.
///
/// Cloning is cheap (a reference count).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrganizationId(Arc<str>);

impl OrganizationId {
    /// Wraps the application's own identifier of an organization.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for OrganizationId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for OrganizationId {
    fn from(id: String) -> Self {
        Self::new(id)
    }
}

impl fmt::Debug for OrganizationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OrganizationId").field(&&*self.0).finish()
    }
}

impl fmt::Display for OrganizationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for OrganizationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for OrganizationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

/// A superseded secret that still works until `valid_until`: the grace period of a regeneration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousSecret {
    /// Digest of the old key.
    pub digest: KeyDigest,
    /// The old key is rejected from this time on.
    pub valid_until: SystemTime,
}

/// Everything a store keeps about one key; never the key itself.
///
/// Stores save and return records as they are: every rule about them (verification, expiry, grace
/// periods) lives in the crate. `Debug` shows no digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Public id, the primary key.
    pub id: KeyId,
    /// The organization the key acts for.
    pub organization: OrganizationId,
    /// A name its owner gave it, such as "Zapier integration".
    pub name: String,
    /// What the key may do.
    pub permission: Permission,
    /// SHA-256 of the current key.
    pub digest: KeyDigest,
    /// The secret replaced by the last regeneration, while its grace period lasts. Boxed because
    /// few keys have one: it keeps every record 40 bytes smaller.
    pub previous: Option<Box<PreviousSecret>>,
    /// When the key was created.
    pub created_at: SystemTime,
    /// When the key stops working, if ever.
    pub expires_at: Option<SystemTime>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
    /// The last time a request used the key, to the precision of the usage flush interval.
    pub last_used_at: Option<SystemTime>,
}

impl KeyRecord {
    /// A fresh, never used, never expiring record.
    pub fn new(
        id: KeyId,
        organization: OrganizationId,
        name: impl Into<String>,
        permission: Permission,
        digest: KeyDigest,
        created_at: SystemTime,
    ) -> Self {
        Self {
            id,
            organization,
            name: name.into(),
            permission,
            digest,
            previous: None,
            created_at,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        }
    }

    /// Whether the key has expired at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|expires_at| now >= expires_at)
    }
}
