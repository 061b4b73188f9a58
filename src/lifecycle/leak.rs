//! What revoking leaked keys found.

use crate::{key::KeyId, record::OrganizationId};

/// What [`KeyManager::revoke_leaked`](crate::KeyManager::revoke_leaked) did with one reported key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeakOutcome {
    /// The key was active and is now revoked.
    Revoked {
        /// Its organization, to notify.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
    },
    /// The key had been revoked already.
    AlreadyRevoked {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
    },
    /// The text was a superseded secret still in its grace period: the grace period is over now,
    /// and the key's current secret keeps working.
    GraceEnded {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
    },
    /// Well-formed, but not a working key of this service (unknown id, or a secret that does not
    /// match).
    Unknown,
    /// Not a well-formed key of this format.
    Malformed,
}
