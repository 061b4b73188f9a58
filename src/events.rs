//! Audit events: what happened to keys, for a service's audit log.

use std::time::{Duration, SystemTime};

use crate::{
    key::KeyId,
    permission::Access,
    record::{OrganizationId, RateLimit},
};

/// Something that happened to a key. Events carry ids, never a secret or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyEvent {
    /// A key was created.
    Created {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
        /// What it may do.
        access: Access,
    },
    /// A key got a new secret.
    Regenerated {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
        /// How long the old secret keeps working, if at all.
        grace: Option<Duration>,
    },
    /// A key was revoked.
    Revoked {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
        /// Whether it was revoked from its leaked plaintext.
        leaked: bool,
    },
    /// A key was given a new name.
    Renamed {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
    },
    /// A key's expiry was set or cleared.
    ExpiryChanged {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
        /// The new expiry.
        expires_at: Option<SystemTime>,
    },
    /// A key's own rate limit was set, changed or removed.
    RateLimitChanged {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
        /// The new limit; `None`: the key has none of its own any more.
        rate_limit: Option<RateLimit>,
    },
    /// A key was given another access: another preset, or other scopes.
    AccessChanged {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
        /// What it may do now.
        access: Access,
    },
    /// GitHub's secret scanning reported a key of this service found in public, and the key
    /// was revoked ([`KeyManager::revoke_leaked`](crate::KeyManager::revoke_leaked)). Carries
    /// where it was found, so that its organization can be told.
    LeakReported {
        /// Its organization.
        organization: OrganizationId,
        /// Its id.
        key_id: KeyId,
        /// Where it was found, as GitHub reported it (may be empty).
        url: String,
        /// What it was found in, as GitHub reported it, such as `commit`.
        source: String,
        /// Whether this report revoked it; `false` when it was revoked already, or when the
        /// text was a superseded secret (whose grace period is now over).
        revoked: bool,
    },
    /// A request was turned away.
    Rejected {
        /// The id of the presented key, when it was well-formed.
        key_id: Option<KeyId>,
        /// The error code of the rejection, such as `revoked_api_key`.
        code: &'static str,
    },
}

/// Receives [`KeyEvent`]s. Closures `Fn(&KeyEvent)` implement it.
///
/// Called inline, so keep it quick: hand slow work (a database write) to a channel.
///
/// ```
/// use formbox_auth::{events::KeyEvent, Authenticator, MemoryStore};
///
/// let authenticator = Authenticator::new(MemoryStore::new()).with_events(|event: &KeyEvent| {
///     if let KeyEvent::Revoked { key_id, .. } = event {
///         eprintln!("audit: key {key_id} revoked");
///     }
/// });
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Handles one event.
    fn record(&self, event: &KeyEvent);
}

impl<F: Fn(&KeyEvent) + Send + Sync + 'static> EventSink for F {
    fn record(&self, event: &KeyEvent) {
        self(event)
    }
}

/// The default sink: a `tracing` event per [`KeyEvent`], at `info` for changes and `debug` for
/// rejections (which an attacker can cause at will).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingEvents;

impl EventSink for TracingEvents {
    fn record(&self, event: &KeyEvent) {
        match event {
            KeyEvent::Created {
                organization,
                key_id,
                access,
            } => {
                tracing::info!(%organization, %key_id, %access, "API key created");
            }
            KeyEvent::Regenerated {
                organization,
                key_id,
                grace,
            } => {
                tracing::info!(%organization, %key_id, grace_seconds = grace.map(|g| g.as_secs()), "API key regenerated");
            }
            KeyEvent::Revoked {
                organization,
                key_id,
                leaked,
            } => {
                tracing::info!(%organization, %key_id, leaked, "API key revoked");
            }
            KeyEvent::Renamed {
                organization,
                key_id,
            } => {
                tracing::info!(%organization, %key_id, "API key renamed");
            }
            KeyEvent::ExpiryChanged {
                organization,
                key_id,
                expires_at,
            } => {
                let expires_at = expires_at
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs());
                tracing::info!(%organization, %key_id, expires_at, "API key expiry changed");
            }
            KeyEvent::RateLimitChanged {
                organization,
                key_id,
                rate_limit,
            } => {
                let rate_limit = rate_limit.as_ref().map(tracing::field::display);
                tracing::info!(%organization, %key_id, rate_limit, "API key rate limit changed");
            }
            KeyEvent::AccessChanged {
                organization,
                key_id,
                access,
            } => {
                tracing::info!(%organization, %key_id, %access, "API key access changed");
            }
            KeyEvent::LeakReported {
                organization,
                key_id,
                url,
                source,
                revoked,
            } => {
                tracing::warn!(%organization, %key_id, url, source, revoked, "leaked API key reported");
            }
            KeyEvent::Rejected { key_id, code } => {
                tracing::debug!(
                    key_id = key_id.as_ref().map(tracing::field::display),
                    code,
                    "API key rejected"
                );
            }
        }
    }
}
