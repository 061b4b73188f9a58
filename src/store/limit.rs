//! A cap on an organization's active keys.

use std::time::SystemTime;

/// At most `max` active keys per organization, counted at `at`:
/// [`KeyStore::insert`](crate::KeyStore::insert).
///
/// A key is active at `at` if it is neither revoked (`revoked_at` is `None`) nor expired at `at`:
/// its `expires_at` is `None` or later than `at`. A key expiring exactly at `at` is not active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveKeyLimit {
    /// Active keys the organization may have, the new one included: an insert is refused when
    /// `max` are already active.
    pub max: u32,
    /// The time at which keys are counted as active, usually now.
    pub at: SystemTime,
}
