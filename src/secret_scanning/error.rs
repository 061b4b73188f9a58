//! Why GitHub's public keys could not be had.

use std::error::Error as StdError;

/// Why a [`PublicKeyProvider`](crate::secret_scanning::PublicKeyProvider) could not answer.
///
/// An identifier it does not know is not an error (`Ok(None)`); this is for a key list that
/// could not be read, fetched or understood.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The key list is not the JSON GitHub publishes at `/meta/public_keys/secret_scanning`.
    #[error("the public key list is not valid: {0}")]
    InvalidList(String),
    /// A key in the list is not a PEM-encoded P-256 public key.
    #[error("public key {identifier} is not a PEM-encoded P-256 public key")]
    InvalidKey {
        /// The key's identifier.
        identifier: String,
    },
    /// The key list file could not be read.
    #[error("cannot read the public key list: {0}")]
    Io(#[from] std::io::Error),
    /// The host's fetch function failed.
    #[error("fetching the public key list failed: {0}")]
    Fetch(Box<dyn StdError + Send + Sync>),
}
