//! The plaintext of a newly created key: the only place it ever exists.

use std::fmt;

use zeroize::Zeroizing;

use super::{KeyDigest, KeyId};

/// A key in plaintext, as returned once at creation or regeneration.
///
/// Hand it to the user and drop it: the text is zeroized on drop, and `Debug` and `Display` show
/// only `fbsk_<key id>_…`. Read the full key with [`expose_secret`](Self::expose_secret).
///
/// ```
/// use formbox_auth::KeyFormat;
///
/// let key = KeyFormat::default().generate()?;
/// assert_eq!(key.to_string(), format!("fbsk_{}_…", key.id()));
/// assert!(!format!("{key:?}").contains(key.expose_secret()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PlaintextKey {
    text: Zeroizing<String>,
    id: KeyId,
    digest: KeyDigest,
    display: String,
}

impl PlaintextKey {
    pub(crate) fn new(
        text: Zeroizing<String>,
        id: KeyId,
        digest: KeyDigest,
        display: String,
    ) -> Self {
        Self {
            text,
            id,
            digest,
            display,
        }
    }

    /// The whole key, to show the user once.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }

    /// The key's public id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The digest to store in place of the key.
    pub fn digest(&self) -> KeyDigest {
        self.digest
    }
}

impl fmt::Debug for PlaintextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PlaintextKey").field(&self.display).finish()
    }
}

impl fmt::Display for PlaintextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}
