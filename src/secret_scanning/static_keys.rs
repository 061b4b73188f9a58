//! A fixed list of GitHub's public keys.

use std::{collections::HashMap, path::Path};

use async_trait::async_trait;

use super::{
    error::ProviderError,
    provider::PublicKeyProvider,
    public_key::{GithubPublicKey, parse_key_list},
};

/// GitHub's public keys from a list saved beforehand, in the JSON of
/// `GET https://api.github.com/meta/public_keys/secret_scanning`.
///
/// It never refreshes: when GitHub signs with a new key, reports are refused until the list is
/// updated. [`FetchingPublicKeys`](crate::secret_scanning::FetchingPublicKeys) follows new keys by itself.
///
/// ```
/// use formbox_auth::secret_scanning::StaticPublicKeys;
///
/// let keys = StaticPublicKeys::from_json(r#"{"public_keys": [{
///     "key_identifier": "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c",
///     "key": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\nAjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n",
///     "is_current": true
/// }]}"#)?;
/// assert_eq!(keys.len(), 1);
/// # Ok::<(), formbox_auth::secret_scanning::ProviderError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticPublicKeys {
    keys: HashMap<String, GithubPublicKey>,
}

impl StaticPublicKeys {
    /// The keys of a key list in GitHub's JSON.
    pub fn from_json(json: &str) -> Result<Self, ProviderError> {
        Ok(Self {
            keys: parse_key_list(json)?,
        })
    }

    /// The keys of a key list saved in a file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ProviderError> {
        Self::from_json(&std::fs::read_to_string(path)?)
    }

    /// Adds (or replaces) one key.
    #[must_use]
    pub fn with_key(mut self, identifier: impl Into<String>, key: GithubPublicKey) -> Self {
        self.keys.insert(identifier.into(), key);
        self
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[async_trait]
impl PublicKeyProvider for StaticPublicKeys {
    async fn key(&self, identifier: &str) -> Result<Option<GithubPublicKey>, ProviderError> {
        Ok(self.keys.get(identifier).cloned())
    }
}
