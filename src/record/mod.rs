//! What a store keeps about one key: [`KeyRecord`], its organization, a superseded secret in its
//! grace period, and its rate limit. Plain values, below every module that stores or checks them.

pub(crate) mod micros;
mod name;
mod rate_limit;

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

pub(crate) use name::name_key;
pub use rate_limit::{InvalidRateLimit, RateLimit};

use crate::{
    key::{KeyDigest, KeyId},
    permission::Access,
};

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
///
/// Records are built with [`new`](Self::new) and changed through their public fields; the type is
/// `#[non_exhaustive]` so that fields can be added without breaking backends.
///
/// ```
/// use formbox_auth::{KeyFormat, KeyRecord, Permission};
/// use std::time::SystemTime;
///
/// let key = KeyFormat::default().generate()?;
/// let mut record = KeyRecord::new(key.id(), "org_1".into(), "CI", Permission::ReadOnly, key.digest(), SystemTime::now());
/// assert_eq!(record.revision, 0);
/// record.revoked_at = Some(SystemTime::now());
/// # Ok::<(), formbox_auth::key::RandomnessError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// Public id, the primary key.
    pub id: KeyId,
    /// The organization the key acts for.
    pub organization: OrganizationId,
    /// A name its owner gave it, such as "Zapier integration".
    pub name: String,
    /// What the key may do: a preset, or scopes.
    pub access: Access,
    /// SHA-256 of the current key.
    pub digest: KeyDigest,
    /// The secret replaced by the last regeneration, while its grace period lasts. Boxed because
    /// few keys have one: it keeps every record 40 bytes smaller.
    pub previous: Option<Box<PreviousSecret>>,
    /// When the key was created.
    pub created_at: SystemTime,
    /// When the key stops working, if ever.
    pub expires_at: Option<SystemTime>,
    /// The key's own rate limit, if it has one.
    pub rate_limit: Option<RateLimit>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
    /// The last time a request used the key, to the precision of the usage flush interval.
    ///
    /// Only [`KeyStore::record_usage`](crate::KeyStore::record_usage) moves it; it is not part of
    /// the revision.
    pub last_used_at: Option<SystemTime>,
    /// Counts the changes of everything but `last_used_at`: `0` when created, one more with every
    /// write through [`KeyStore::update`](crate::KeyStore::update), whose compare-and-swap it is.
    pub revision: u64,
}

impl KeyRecord {
    /// A fresh, never used, never expiring record without a rate limit, at revision `0`.
    pub fn new(
        id: KeyId,
        organization: OrganizationId,
        name: impl Into<String>,
        access: impl Into<Access>,
        digest: KeyDigest,
        created_at: SystemTime,
    ) -> Self {
        Self {
            id,
            organization,
            name: name.into(),
            access: access.into(),
            digest,
            previous: None,
            created_at,
            expires_at: None,
            rate_limit: None,
            revoked_at: None,
            last_used_at: None,
            revision: 0,
        }
    }

    /// A copy to write over this record with [`KeyStore::update`](crate::KeyStore::update): the
    /// same record, one revision on.
    ///
    /// ```
    /// # use formbox_auth::{KeyFormat, KeyRecord, Permission};
    /// # use std::time::SystemTime;
    /// # let key = KeyFormat::default().generate()?;
    /// # let current = KeyRecord::new(key.id(), "org_1".into(), "CI", Permission::ReadOnly, key.digest(), SystemTime::now());
    /// let mut next = current.next_revision();
    /// next.name = "renamed".into();
    /// assert_eq!(next.revision, current.revision + 1);
    /// // store.update(&next, current.revision) writes it only over `current`.
    /// # Ok::<(), formbox_auth::key::RandomnessError>(())
    /// ```
    #[must_use]
    pub fn next_revision(&self) -> Self {
        Self {
            revision: self.revision.wrapping_add(1),
            ..self.clone()
        }
    }

    /// The record with every time rounded down to a whole microsecond: the precision every store
    /// keeps.
    pub(crate) fn with_whole_micros(&self) -> Self {
        let mut record = self.clone();
        record.map_times(whole_micros);
        record
    }

    /// Applies `round` to every time the record holds, as a store's precision does.
    pub(crate) fn map_times(&mut self, round: impl Fn(SystemTime) -> SystemTime) {
        self.created_at = round(self.created_at);
        for time in [
            &mut self.expires_at,
            &mut self.revoked_at,
            &mut self.last_used_at,
        ]
        .into_iter()
        .flatten()
        {
            *time = round(*time);
        }
        if let Some(previous) = &mut self.previous {
            previous.valid_until = round(previous.valid_until);
        }
    }

    /// The form of [`name`](Self::name) names are compared in: trimmed, in Unicode Normalization
    /// Form C (NFC), lowercased (`str::to_lowercase`) and in NFC again. Names a person cannot tell
    /// apart in a list, such as "CI" and " ci ", or a composed "é" and an "e" with a combining
    /// accent, have one name key.
    ///
    /// Stores keep it unique: among one organization's keys that are not revoked, no two share a
    /// name key ([`KeyStore::insert`](crate::KeyStore::insert) and
    /// [`KeyStore::update`](crate::KeyStore::update) answer `NameTaken` instead). A SQL store
    /// keeps it in a column under a unique index; a store compares it in memory.
    ///
    /// ```
    /// # use formbox_auth::{KeyFormat, KeyRecord, Permission};
    /// # use std::time::SystemTime;
    /// # let key = KeyFormat::default().generate()?;
    /// let record = KeyRecord::new(key.id(), "org_1".into(), "Café Bot", Permission::ReadOnly, key.digest(), SystemTime::now());
    /// assert_eq!(record.name_key(), "café bot");
    /// let mut other = record.clone();
    /// other.name = " CAFE\u{301} BOT".into(); // a decomposed É, in capitals
    /// assert_eq!(other.name_key(), record.name_key());
    /// # Ok::<(), formbox_auth::key::RandomnessError>(())
    /// ```
    pub fn name_key(&self) -> String {
        name_key(&self.name)
    }

    /// Whether the key has expired at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|expires_at| now >= expires_at)
    }
}

/// `time` rounded down (towards the past) to a whole microsecond since the Unix epoch.
pub(crate) fn whole_micros(time: SystemTime) -> SystemTime {
    let nanos = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.subsec_nanos() % 1_000,
        // Before the epoch, rounding down moves further from it.
        Err(before) => match before.duration().subsec_nanos() % 1_000 {
            0 => 0,
            partial => partial.wrapping_neg().wrapping_add(1_000),
        },
    };
    time.checked_sub(Duration::from_nanos(u64::from(nanos)))
        .unwrap_or(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_micros_rounds_towards_the_past_on_both_sides_of_the_epoch() {
        let after = UNIX_EPOCH + Duration::from_nanos(1_999);
        assert_eq!(whole_micros(after), UNIX_EPOCH + Duration::from_micros(1));
        let before = UNIX_EPOCH - Duration::from_nanos(1_001);
        assert_eq!(whole_micros(before), UNIX_EPOCH - Duration::from_micros(2));
        let exact = UNIX_EPOCH - Duration::from_micros(5);
        assert_eq!(whole_micros(exact), exact);
    }
}
