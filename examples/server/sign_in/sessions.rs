//! The demo's browser sessions: one-time sign-in tokens and the sessions they open.
//!
//! Everything lives in memory, so a restart signs everyone out. Tokens and session ids are kept
//! only as SHA-256 digests: a lookup compares digests of what the browser sent, so its timing
//! says nothing about the stored secrets, and a memory dump holds nothing a browser could replay.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use formbox_auth::OrganizationId;
use rand::{TryRng, rngs::SysRng};
use sha2::{Digest, Sha256};

/// How long a sign-in link printed at start can be opened.
const SIGN_IN_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// How long a session lasts after sign-in; the cookie's `Max-Age` says the same.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// The in-memory sign-in tokens and sessions. Cloning is cheap and shares them.
#[derive(Clone, Default)]
pub struct Sessions {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    sign_ins: HashMap<Fingerprint, Pending>,
    sessions: HashMap<Fingerprint, Session>,
}

/// A SHA-256 digest of a token or session id, the only form in which they are stored.
type Fingerprint = [u8; 32];

struct Pending {
    organization: OrganizationId,
    expires: Instant,
}

/// A signed-in browser: the organization it acts for, until when.
#[derive(Clone, Debug)]
struct Session {
    organization: OrganizationId,
    expires: Instant,
}

/// The operating system gave no random bytes.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for a session secret: {0}")]
pub struct RandomnessError(rand::rngs::SysError);

impl Sessions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Mints a sign-in token for `organization`: it opens one session, once, within an hour.
    pub fn sign_in_token(&self, organization: OrganizationId) -> Result<String, RandomnessError> {
        let token = random_secret()?;
        let mut state = self.lock();
        state.sign_ins.insert(
            fingerprint(&token),
            Pending {
                organization,
                expires: Instant::now() + SIGN_IN_LIFETIME,
            },
        );
        Ok(token)
    }

    /// Consumes a sign-in token and opens a session, returning its id for the cookie (only its
    /// digest is kept). `Ok(None)` when the token is unknown, was used already or has expired:
    /// all three look alike to the browser.
    pub fn redeem(&self, token: &str) -> Result<Option<String>, RandomnessError> {
        // Draw the secret first, so that a failure leaves the token usable.
        let id = random_secret()?;
        let now = Instant::now();
        let mut state = self.lock();
        let Some(pending) = state.sign_ins.remove(&fingerprint(token)) else {
            return Ok(None);
        };
        if pending.expires <= now {
            return Ok(None);
        }
        state.sign_ins.retain(|_, pending| pending.expires > now);
        state.sessions.retain(|_, session| session.expires > now);
        let session = Session {
            organization: pending.organization,
            expires: now + SESSION_LIFETIME,
        };
        state.sessions.insert(fingerprint(&id), session);
        Ok(Some(id))
    }

    /// The organization of the live session with this id, if any.
    pub fn find(&self, id: &str) -> Option<OrganizationId> {
        let key = fingerprint(id);
        let mut state = self.lock();
        let session = state.sessions.get(&key)?;
        if session.expires <= Instant::now() {
            state.sessions.remove(&key);
            return None;
        }
        Some(session.organization.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The maps stay consistent whatever panicked while holding the lock: every change is one
        // insert or remove.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

/// 256 random bits from the operating system, as 64 lowercase hex digits (safe in a cookie, a
/// URL and HTML without escaping).
fn random_secret() -> Result<String, RandomnessError> {
    let mut bytes = [0u8; 32];
    SysRng.try_fill_bytes(&mut bytes).map_err(RandomnessError)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn fingerprint(secret: &str) -> Fingerprint {
    Sha256::digest(secret.as_bytes()).into()
}
