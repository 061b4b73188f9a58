//! A presented key that passed the offline checks.

use std::fmt;

use super::{KeyDigest, KeyId};

/// A presented key that has the right prefix, length, alphabet and checksum.
///
/// It borrows the presented text, so it lives no longer than the request it came with. Whether the
/// key exists is for the store to say: see [`Authenticator`](crate::Authenticator).
#[derive(Clone, Copy)]
pub struct ParsedKey<'a> {
    id: KeyId,
    body: &'a [u8],
}

impl<'a> ParsedKey<'a> {
    pub(crate) fn new(id: KeyId, body: &'a [u8]) -> Self {
        Self { id, body }
    }

    /// The key's public id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The digest a store keeps for this key: SHA-256 of everything before the checksum.
    pub fn digest(&self) -> KeyDigest {
        KeyDigest::of(self.body)
    }
}

impl fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
