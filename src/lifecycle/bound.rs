//! What a key may do to keys when it makes the change: never give more than it holds.

use std::time::SystemTime;

use super::{KeyChanges, ManageError, ManageResult};
use crate::{
    context::AuthContext,
    key::KeyId,
    permission::{Access, InvalidScope, Resources},
    record::{KeyRecord, RateLimit},
};

/// The key a [`KeyManager`](crate::KeyManager) acts as, whose access bounds every change.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bound {
    key_id: KeyId,
    access: Access,
}

impl Bound {
    pub(super) fn new(context: &AuthContext) -> Self {
        Self {
            key_id: context.key_id(),
            access: *context.access(),
        }
    }

    /// A new key, or a key's new access, may do only what this key may do.
    pub(super) fn may_grant(&self, access: &Access) -> ManageResult<()> {
        match self.access.lacks_to_grant(access) {
            None => Ok(()),
            Some(required) => Err(ManageError::InsufficientAccess { required }),
        }
    }

    /// Only a key that may do no more than this key can be changed, regenerated (which would
    /// hand its secret over) or revoked by it.
    pub(super) fn may_act_on(&self, target: &KeyRecord) -> ManageResult<()> {
        self.may_grant(&target.access)
    }

    /// [`may_act_on`](Self::may_act_on), and on itself, no looser rate limit or later expiry.
    pub(super) fn may_change(&self, target: &KeyRecord, changes: &KeyChanges) -> ManageResult<()> {
        self.may_act_on(target)?;
        if let Some(access) = &changes.access {
            self.may_grant(access)?;
        }
        let own = target.id == self.key_id;
        let looser_limit = changes
            .rate_limit
            .is_some_and(|limit| !no_looser(limit, target.rate_limit));
        let later_expiry = changes
            .expires_at
            .is_some_and(|expiry| !no_later(expiry, target.expires_at));
        if own && (looser_limit || later_expiry) {
            return Err(ManageError::LoosensOwnLimits);
        }
        Ok(())
    }
}

/// Whether `new` lets through no more than `old`, neither in rate nor at once. With no limit of
/// its own a key has the layer's default, which the manager does not know: only no limit is
/// then known to be no looser.
fn no_looser(new: Option<RateLimit>, old: Option<RateLimit>) -> bool {
    match (new, old) {
        (None, None) => true,
        (Some(_), None) | (None, Some(_)) => false,
        (Some(new), Some(old)) => {
            let rate =
                |a: RateLimit, b: RateLimit| u64::from(a.requests()) * u64::from(b.per_seconds());
            new.requests() <= old.requests() && rate(new, old) <= rate(old, new)
        }
    }
}

/// Whether an expiry of `new` ends the key no later than `old`.
fn no_later(new: Option<SystemTime>, old: Option<SystemTime>) -> bool {
    match (new, old) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(new), Some(old)) => new <= old,
    }
}

/// A restricted key's scopes must be over resources `resources` declares, and at least one.
pub(super) fn check_declared(resources: &Resources, access: &Access) -> ManageResult<()> {
    let Access::Restricted(scopes) = access else {
        return Ok(());
    };
    if scopes.is_empty() {
        return Err(InvalidScope::Empty.into());
    }
    match resources.first_undeclared(scopes) {
        None => Ok(()),
        Some(scope) => Err(InvalidScope::Undeclared(scope.resource().name().to_owned()).into()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limit(requests: u32, per_seconds: u32) -> Option<RateLimit> {
        Some(RateLimit::new(requests, per_seconds).unwrap())
    }

    #[test]
    fn a_limit_is_no_looser_only_if_neither_its_rate_nor_its_burst_grows() {
        assert!(no_looser(limit(10, 60), limit(10, 60)));
        assert!(no_looser(limit(5, 60), limit(10, 60)));
        assert!(no_looser(limit(10, 120), limit(10, 60)));
        assert!(!no_looser(limit(11, 60), limit(10, 60)));
        // Same rate, bigger burst.
        assert!(!no_looser(limit(20, 120), limit(10, 60)));
        // Smaller burst, higher rate.
        assert!(!no_looser(limit(5, 10), limit(10, 60)));
        assert!(!no_looser(None, limit(10, 60)));
        assert!(!no_looser(limit(1, 86_400), None));
        assert!(no_looser(None, None));
    }

    #[test]
    fn an_expiry_is_no_later_only_if_it_comes_at_or_before_the_old_one() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(60);
        assert!(no_later(Some(now), Some(later)));
        assert!(no_later(Some(later), Some(later)));
        assert!(!no_later(Some(later), Some(now)));
        assert!(!no_later(None, Some(now)));
        assert!(no_later(Some(now), None));
        assert!(no_later(None, None));
    }
}
