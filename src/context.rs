//! Who a request authenticated as.

use std::{fmt, sync::Arc};

use crate::{
    key::KeyId,
    permission::Permission,
    record::{KeyRecord, OrganizationId, RateLimit},
};

/// The identity of an authenticated request: its organization, key, permission and the key's
/// rate limit.
///
/// The layer puts it into the request's extensions; take the organization from here, never from
/// the request. Cloning is cheap (a reference count).
///
/// ```
/// use formbox_auth::AuthContext;
/// use axum::http::Request;
///
/// fn organization_of(request: &Request<()>) -> Option<&str> {
///     request.extensions().get::<AuthContext>().map(|context| context.organization().as_str())
/// }
/// ```
#[derive(Clone)]
pub struct AuthContext {
    record: Arc<KeyRecord>,
}

impl AuthContext {
    pub(crate) fn new(record: Arc<KeyRecord>) -> Self {
        Self { record }
    }

    /// The organization the key belongs to.
    pub fn organization(&self) -> &OrganizationId {
        &self.record.organization
    }

    /// The public id of the key.
    pub fn key_id(&self) -> KeyId {
        self.record.id
    }

    /// The name its owner gave the key.
    pub fn key_name(&self) -> &str {
        &self.record.name
    }

    /// What the key may do.
    pub fn permission(&self) -> Permission {
        self.record.permission
    }

    /// The key's own rate limit, if it has one.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.record.rate_limit
    }
}

impl fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthContext")
            .field("organization", self.organization())
            .field("key_id", &self.key_id())
            .field("key_name", &self.key_name())
            .field("permission", &self.permission())
            .field("rate_limit", &self.rate_limit())
            .finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for AuthContext {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("AuthContext", 5)?;
        state.serialize_field("organization", self.organization())?;
        state.serialize_field("key_id", &self.key_id())?;
        state.serialize_field("key_name", self.key_name())?;
        state.serialize_field("permission", &self.permission())?;
        state.serialize_field("rate_limit", &self.rate_limit())?;
        state.end()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::key::KeyDigest;

    fn context(rate_limit: Option<RateLimit>) -> AuthContext {
        let id = "0123456789ab".parse().unwrap();
        let digest = KeyDigest::from_bytes([7; 32]);
        let mut record = KeyRecord::new(
            id,
            "org_1".into(),
            "CI",
            Permission::ReadOnly,
            digest,
            SystemTime::UNIX_EPOCH,
        );
        record.rate_limit = rate_limit;
        AuthContext::new(Arc::new(record))
    }

    #[test]
    fn the_context_has_the_keys_own_rate_limit() {
        let limit = RateLimit::new(600, 60).unwrap();
        assert_eq!(context(Some(limit)).rate_limit(), Some(limit));
        assert_eq!(context(None).rate_limit(), None);
        let debug = format!("{:?}", context(Some(limit)));
        assert!(
            debug.contains("rate_limit: Some(") && debug.contains("600"),
            "{debug}"
        );
        assert!(format!("{:?}", context(None)).contains("rate_limit: None"));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn the_rate_limit_serializes_as_an_object_or_null() {
        let limit = RateLimit::new(5, 60).unwrap();
        let with = serde_json::to_value(context(Some(limit))).unwrap();
        assert_eq!(
            with["rate_limit"],
            serde_json::json!({"requests": 5, "per_seconds": 60})
        );
        let without = serde_json::to_value(context(None)).unwrap();
        assert!(without["rate_limit"].is_null());
        assert!(without.as_object().unwrap().contains_key("rate_limit"));
    }
}
