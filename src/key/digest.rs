//! The SHA-256 digest that stands in for a key at rest.

use std::fmt;

use sha2::{Digest as _, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// SHA-256 of a key's prefix, id and secret: all a store ever holds of a key.
///
/// Equality is constant time, even through `==`, so comparing a presented key with a stored one does
/// not reveal how many bytes matched. `Debug` never shows the bytes.
///
/// ```
/// use formbox_auth::KeyFormat;
///
/// let key = KeyFormat::default().generate()?;
/// let presented = KeyFormat::default().parse(key.expose_secret())?;
/// assert_eq!(presented.digest(), key.digest());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Eq)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    /// Length of a digest in bytes.
    pub const LEN: usize = 32;

    /// Hashes the part of a key before its checksum.
    pub(crate) fn of(body: &[u8]) -> Self {
        Self(Sha256::digest(body).into())
    }

    /// Restores a digest that a store read back.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for a store to write.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Restores a digest from a slice, or `None` unless it is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    fn words(&self) -> [u64; 4] {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *word = u64::from_ne_bytes(bytes);
        }
        words
    }
}

impl ConstantTimeEq for KeyDigest {
    /// Compares four machine words with `subtle`: constant time, and several times cheaper than
    /// the byte-by-byte slice comparison.
    fn ct_eq(&self, other: &Self) -> Choice {
        let (a, b) = (self.words(), other.words());
        a[0].ct_eq(&b[0]) & a[1].ct_eq(&b[1]) & a[2].ct_eq(&b[2]) & a[3].ct_eq(&b[3])
    }
}

impl PartialEq for KeyDigest {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_digests_compare_equal_and_any_changed_byte_does_not() {
        let digest = KeyDigest::of(b"fbsk_0123456789ab_secret");
        assert_eq!(digest, KeyDigest::from_bytes(*digest.as_bytes()));
        for position in 0..32 {
            let mut bytes = *digest.as_bytes();
            bytes[position] ^= 1;
            assert_ne!(digest, KeyDigest::from_bytes(bytes), "byte {position}");
        }
    }

    #[test]
    fn debug_hides_the_bytes() {
        let digest = KeyDigest::from_bytes([0xab; 32]);
        assert_eq!(format!("{digest:?}"), "KeyDigest([REDACTED])");
    }

    #[test]
    fn from_slice_requires_32_bytes() {
        assert!(KeyDigest::from_slice(&[0; 31]).is_none());
        assert!(KeyDigest::from_slice(&[0; 32]).is_some());
    }
}
