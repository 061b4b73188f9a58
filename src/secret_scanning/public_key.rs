//! One of GitHub's signing keys, and the key list GitHub publishes.

use std::{collections::HashMap, fmt};

use p256::{
    ecdsa::{Signature, VerifyingKey, signature::Verifier},
    pkcs8::DecodePublicKey,
};
use serde::Deserialize;

use super::error::ProviderError;

/// A public key GitHub signs secret scanning reports with (ECDSA, NIST P-256, SHA-256).
#[derive(Clone, PartialEq, Eq)]
pub struct GithubPublicKey {
    key: VerifyingKey,
}

impl GithubPublicKey {
    /// Reads a PEM-encoded (`-----BEGIN PUBLIC KEY-----`) P-256 public key, as GitHub publishes
    /// them.
    pub fn from_pem(pem: &str) -> Option<Self> {
        let key = VerifyingKey::from_public_key_pem(pem.trim()).ok()?;
        Some(Self { key })
    }

    /// Whether `signature` is this key's signature of `body`.
    pub(crate) fn verifies(&self, body: &[u8], signature: &Signature) -> bool {
        self.key.verify(body, signature).is_ok()
    }
}

impl fmt::Debug for GithubPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubPublicKey").finish_non_exhaustive()
    }
}

/// The body of `GET /meta/public_keys/secret_scanning`.
#[derive(Deserialize)]
struct KeyList {
    public_keys: Vec<ListedKey>,
}

#[derive(Deserialize)]
struct ListedKey {
    key_identifier: String,
    key: String,
}

/// The keys of a key list, by identifier. Every key must be readable: a list GitHub changed
/// in a way this crate does not understand should fail loudly, not drop keys silently.
pub(crate) fn parse_key_list(
    json: &str,
) -> Result<HashMap<String, GithubPublicKey>, ProviderError> {
    let list: KeyList = serde_json::from_str(json)
        .map_err(|error| ProviderError::InvalidList(error.to_string()))?;
    list.public_keys
        .into_iter()
        .map(|listed| match GithubPublicKey::from_pem(&listed.key) {
            Some(key) => Ok((listed.key_identifier, key)),
            None => Err(ProviderError::InvalidKey {
                identifier: listed.key_identifier,
            }),
        })
        .collect()
}
