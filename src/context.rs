//! Who a request authenticated as.

use std::{fmt, sync::Arc};

use crate::{KeyId, KeyRecord, OrganizationId, Permission};

/// The identity of an authenticated request: its organization, key and permission.
///
/// The layer puts it into the request's extensions; take the organization from here, never from
/// the request. Cloning is cheap (a reference count).
///
/// ```
/// use formbox_auth::AuthContext;
/// use http::Request;
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
}

impl fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthContext")
            .field("organization", self.organization())
            .field("key_id", &self.key_id())
            .field("key_name", &self.key_name())
            .field("permission", &self.permission())
            .finish()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for AuthContext {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("AuthContext", 4)?;
        state.serialize_field("organization", self.organization())?;
        state.serialize_field("key_id", &self.key_id())?;
        state.serialize_field("key_name", self.key_name())?;
        state.serialize_field("permission", &self.permission())?;
        state.end()
    }
}
