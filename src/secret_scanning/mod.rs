//! An endpoint for GitHub's secret scanning partner program: GitHub reports keys it found in
//! public code, signed with its own key; the endpoint verifies the signature, revokes the keys
//! and answers which reports were real keys.

mod error;
mod fetching;
mod handler;
mod provider;
mod public_key;
mod report;
mod signature;
mod static_keys;

use std::sync::Arc;

pub use error::ProviderError;
pub use fetching::FetchingPublicKeys;
pub use provider::PublicKeyProvider;
pub use public_key::GithubPublicKey;
pub use static_keys::StaticPublicKeys;

use crate::lifecycle::manager::KeyManager;

/// The secret scanning endpoint: one route, `POST /`, mounted by the host where GitHub was told
/// to send reports.
///
/// A report is a JSON array of `{"token", "type", "url", "source"}`, signed in the
/// `Github-Public-Key-Identifier` and `Github-Public-Key-Signature` headers (ECDSA P-256 with
/// SHA-256 over the raw body). The endpoint answers:
///
/// | status | code | when |
/// |---|---|---|
/// | `200` | | feedback: one `{"token_hash", "token_type", "label"}` per token, in order |
/// | `401` | `invalid_signature` | no signature, a wrong one, or a key identifier unknown to the [`PublicKeyProvider`] |
/// | `413` | `payload_too_large` | a body over [`with_max_body`](Self::with_max_body) |
/// | `400` | `invalid_request` | a signed body that is not such an array |
/// | `413` | `too_many_tokens` | more tokens than [`with_max_tokens`](Self::with_max_tokens) |
/// | `503` | `public_keys_unavailable` | the provider failed |
/// | `503` | `key_store_unavailable` | the key store failed; GitHub sends the report again |
///
/// The signature is checked before the body is parsed. Every key of this service in a report is
/// revoked ([`KeyManager::revoke_leaked`]) and labelled `true_positive`, as is one that was
/// revoked already or a superseded secret (whose grace period ends); any other token is a
/// `false_positive`. Each `true_positive` emits a [`KeyEvent::LeakReported`](crate::events::KeyEvent)
/// with where GitHub found it. Errors are [`ApiError`](crate::management::ApiError)s.
///
/// ```
/// use axum::{Router, body::Body};
/// use formbox_auth::{secret_scanning::{SecretScanning, StaticPublicKeys}, KeyManager, MemoryStore};
/// use axum::http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let manager = KeyManager::new(MemoryStore::new());
/// // Saved from https://api.github.com/meta/public_keys/secret_scanning.
/// let keys = StaticPublicKeys::from_json(r#"{"public_keys": []}"#)?;
/// let app: Router = Router::new()
///     .nest("/secret-scanning/github", SecretScanning::new(manager, keys).router());
///
/// // A report without GitHub's signature revokes nothing.
/// let unsigned = Request::post("/secret-scanning/github")
///     .body(Body::from(r#"[{"token":"fbsk_x","type":"formbox_api_key","url":"","source":"commit"}]"#))?;
/// let response = app.oneshot(unsigned).await?;
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SecretScanning {
    manager: KeyManager,
    keys: Arc<dyn PublicKeyProvider>,
    max_body: usize,
    max_tokens: usize,
    raw_tokens_in_feedback: bool,
}

impl SecretScanning {
    /// The default most tokens in one report.
    pub const DEFAULT_MAX_REPORT_TOKENS: usize = 10_000;

    /// The default largest report body: 1 MiB.
    pub const DEFAULT_MAX_REPORT_BYTES: usize = 1024 * 1024;

    /// Revokes `manager`'s keys reported by GitHub, verifying reports with `keys`.
    pub fn new(manager: KeyManager, keys: impl PublicKeyProvider) -> Self {
        Self {
            manager,
            keys: Arc::new(keys),
            max_body: Self::DEFAULT_MAX_REPORT_BYTES,
            max_tokens: Self::DEFAULT_MAX_REPORT_TOKENS,
            raw_tokens_in_feedback: false,
        }
    }

    /// The largest body read, in bytes; a larger one is `413` unread.
    #[must_use]
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The most tokens in one report; a report with more is `413 too_many_tokens`, and nothing
    /// in it is revoked.
    #[must_use]
    pub fn with_max_tokens(mut self, tokens: usize) -> Self {
        self.max_tokens = tokens;
        self
    }

    /// Whether the feedback names each token as reported (`token_raw`) instead of by its
    /// SHA-256 (`token_hash`, the default). GitHub accepts both; the hash keeps the answer free
    /// of the keys themselves.
    #[must_use]
    pub fn with_raw_tokens_in_feedback(mut self, raw: bool) -> Self {
        self.raw_tokens_in_feedback = raw;
        self
    }
}
