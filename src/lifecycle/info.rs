//! What a key's owner may see of it.

use std::time::SystemTime;

use crate::{
    key::{KeyFormat, KeyId, PlaintextKey},
    permission::Access,
    record::{KeyRecord, OrganizationId, RateLimit},
};

/// A key as its owner sees it in a list: everything but the digest.
///
/// With the `serde` feature it serializes with times as Unix seconds, and the rate limit as
/// `{"requests": N, "per_seconds": W}` or `null`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeyInfo {
    /// Public id.
    pub id: KeyId,
    /// The form it is shown in: `fbsk_<key id>_…`.
    pub display: String,
    /// The organization it acts for.
    pub organization: OrganizationId,
    /// Its name.
    pub name: String,
    /// What it may do: a preset, or scopes. As JSON, `permission` and, for a restricted key,
    /// `scopes`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub access: Access,
    /// Its own rate limit, if it has one.
    pub rate_limit: Option<RateLimit>,
    /// When it was created.
    #[cfg_attr(feature = "serde", serde(with = "unix_seconds"))]
    pub created_at: SystemTime,
    /// When a request last used it, to the precision of the usage flush interval.
    #[cfg_attr(feature = "serde", serde(with = "unix_seconds_option"))]
    pub last_used_at: Option<SystemTime>,
    /// When it stops working.
    #[cfg_attr(feature = "serde", serde(with = "unix_seconds_option"))]
    pub expires_at: Option<SystemTime>,
    /// When it was revoked.
    #[cfg_attr(feature = "serde", serde(with = "unix_seconds_option"))]
    pub revoked_at: Option<SystemTime>,
    /// Until when its previous secret still works after a regeneration with a grace period.
    #[cfg_attr(feature = "serde", serde(with = "unix_seconds_option"))]
    pub previous_secret_valid_until: Option<SystemTime>,
}

impl KeyInfo {
    pub(crate) fn new(record: KeyRecord, format: &KeyFormat) -> Self {
        Self {
            id: record.id,
            display: format.display(&record.id),
            organization: record.organization,
            name: record.name,
            access: record.access,
            rate_limit: record.rate_limit,
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            previous_secret_valid_until: record.previous.map(|previous| previous.valid_until),
        }
    }
}

/// A new key or secret: the plaintext, shown once, and the key's details.
#[derive(Debug)]
pub struct CreatedKey {
    /// The plaintext key. Give it to the user now: it cannot be shown again.
    pub key: PlaintextKey,
    /// The key's details.
    pub info: KeyInfo,
}

#[cfg(feature = "serde")]
mod unix_seconds {
    use std::time::SystemTime;

    pub(super) fn serialize<S: serde::Serializer>(
        time: &SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let seconds = match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        };
        serializer.serialize_i64(seconds)
    }
}

#[cfg(feature = "serde")]
mod unix_seconds_option {
    use std::time::SystemTime;

    pub(super) fn serialize<S: serde::Serializer>(
        time: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::unix_seconds::serialize(time, serializer),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{key::KeyDigest, permission::Permission};

    fn info(rate_limit: Option<RateLimit>) -> serde_json::Value {
        let id = "0123456789ab".parse().unwrap();
        let created_at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let digest = KeyDigest::from_bytes([7; 32]);
        let permission = Permission::ReadOnly;
        let mut record = KeyRecord::new(id, "org".into(), "CI", permission, digest, created_at);
        record.rate_limit = rate_limit;
        serde_json::to_value(KeyInfo::new(record, &KeyFormat::default())).unwrap()
    }

    #[test]
    fn the_access_serializes_as_permission_and_scopes_beside_the_other_fields() {
        let resources = crate::permission::Resources::new(["info_forms"]).unwrap();
        let id = "0123456789ab".parse().unwrap();
        let scopes = resources.scopes(["info_forms:read"]).unwrap();
        let digest = KeyDigest::from_bytes([7; 32]);
        let record = KeyRecord::new(id, "org".into(), "CI", scopes, digest, UNIX_EPOCH);
        let json = serde_json::to_value(KeyInfo::new(record, &KeyFormat::default())).unwrap();
        assert_eq!(json["permission"], "restricted");
        assert_eq!(json["scopes"], serde_json::json!(["info_forms:read"]));
        assert_eq!(json["name"], "CI");
        assert!(json.get("access").is_none(), "{json}");
        assert_eq!(info(None)["permission"], "read_only");
        assert!(info(None).get("scopes").is_none());
    }

    #[test]
    fn the_rate_limit_serializes_as_an_object_or_null() {
        let limit = RateLimit::new(600, 60).unwrap();
        let json = serde_json::json!({"requests": 600, "per_seconds": 60});
        assert_eq!(info(Some(limit))["rate_limit"], json);
        let none = info(None);
        assert!(none.as_object().unwrap().contains_key("rate_limit"));
        assert!(none["rate_limit"].is_null());
    }
}
