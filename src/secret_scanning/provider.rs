//! Where the endpoint gets GitHub's public keys.

use async_trait::async_trait;

use super::{error::ProviderError, public_key::GithubPublicKey};

/// Finds the public key a report names in its `Github-Public-Key-Identifier` header.
///
/// [`StaticPublicKeys`](crate::secret_scanning::StaticPublicKeys) serves a fixed list;
/// [`FetchingPublicKeys`](crate::secret_scanning::FetchingPublicKeys) fetches GitHub's list and fetches it again
/// when GitHub starts signing with a new key.
#[async_trait]
pub trait PublicKeyProvider: std::fmt::Debug + Send + Sync + 'static {
    /// The key with this identifier. `Ok(None)`: no such key, even after any refresh the
    /// provider does; `Err` only when the list could not be had.
    ///
    /// The identifier comes from an unauthenticated request: a provider that refreshes on an
    /// unknown identifier must bound how often it does, so that a flood of made-up identifiers
    /// cannot make it fetch again and again.
    async fn key(&self, identifier: &str) -> Result<Option<GithubPublicKey>, ProviderError>;
}
