//! Who a request authenticated as.

use std::{fmt, sync::Arc};

use crate::{
    key::KeyId,
    permission::{Access, Scope},
    record::{KeyRecord, OrganizationId, RateLimit},
};

/// The identity of an authenticated request: its organization, key, access and the key's rate
/// limit.
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

    /// What the key may do: a preset, or scopes.
    pub fn access(&self) -> &Access {
        &self.record.access
    }

    /// Whether the key holds `scope`, for a check inside a handler: `full_access` holds every
    /// scope, `read_only` every `:read` one, a restricted key its own.
    ///
    /// ```
    /// use formbox_auth::{AuthContext, permission::Scope};
    /// use axum::http::StatusCode;
    ///
    /// fn may_export(context: &AuthContext, export: Scope) -> Result<(), StatusCode> {
    ///     context.holds(export).then_some(()).ok_or(StatusCode::FORBIDDEN)
    /// }
    /// ```
    pub fn holds(&self, scope: Scope) -> bool {
        self.record.access.holds(scope)
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
            .field("access", self.access())
            .field("rate_limit", &self.rate_limit())
            .finish()
    }
}

/// As JSON: the organization, the key's id and name, its access (`permission`, and `scopes` for a
/// restricted key, as [`Access`] serializes) and its rate limit.
#[cfg(feature = "serde")]
impl serde::Serialize for AuthContext {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Shown<'a> {
            organization: &'a OrganizationId,
            key_id: KeyId,
            key_name: &'a str,
            #[serde(flatten)]
            access: &'a Access,
            rate_limit: Option<RateLimit>,
        }
        Shown {
            organization: self.organization(),
            key_id: self.key_id(),
            key_name: self.key_name(),
            access: self.access(),
            rate_limit: self.rate_limit(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::{key::KeyDigest, permission::Permission};

    fn context(rate_limit: Option<RateLimit>) -> AuthContext {
        with_access(Permission::ReadOnly.into(), rate_limit)
    }

    fn with_access(access: Access, rate_limit: Option<RateLimit>) -> AuthContext {
        let id = "0123456789ab".parse().unwrap();
        let digest = KeyDigest::from_bytes([7; 32]);
        let mut record = KeyRecord::new(
            id,
            "org_1".into(),
            "CI",
            access,
            digest,
            SystemTime::UNIX_EPOCH,
        );
        record.rate_limit = rate_limit;
        AuthContext::new(Arc::new(record))
    }

    fn restricted() -> (AuthContext, crate::permission::Resources) {
        let resources = crate::permission::Resources::new(["ctx_forms", "ctx_subs"]).unwrap();
        let scopes = resources.scopes(["ctx_forms:write"]).unwrap();
        (with_access(Access::Restricted(scopes), None), resources)
    }

    #[test]
    fn a_handler_asks_the_context_whether_a_scope_is_held() {
        let (context, resources) = restricted();
        assert!(context.holds(resources.scope("ctx_forms:read").unwrap()));
        assert!(context.holds(resources.scope("ctx_forms:write").unwrap()));
        assert!(!context.holds(resources.scope("ctx_subs:read").unwrap()));
        let reader = context_with_preset(Permission::ReadOnly);
        assert!(reader.holds(resources.scope("ctx_subs:read").unwrap()));
        assert!(!reader.holds(resources.scope("ctx_subs:write").unwrap()));
        let debug = format!("{context:?}");
        assert!(debug.contains("ctx_forms:write"), "{debug}");
    }

    fn context_with_preset(permission: Permission) -> AuthContext {
        with_access(permission.into(), None)
    }

    #[cfg(feature = "serde")]
    #[test]
    fn a_restricted_context_serializes_its_scopes_and_a_preset_none() {
        let (context, _) = restricted();
        let json = serde_json::to_value(context).unwrap();
        assert_eq!(json["permission"], "restricted");
        assert_eq!(json["scopes"], serde_json::json!(["ctx_forms:write"]));
        let preset = serde_json::to_value(context_with_preset(Permission::FullAccess)).unwrap();
        assert_eq!(preset["permission"], "full_access");
        assert!(preset.get("scopes").is_none());
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
