//! The public identifier of a key.

use std::{fmt, str::FromStr};

use super::{ParseError, base62};

/// Number of base62 characters in a key id.
pub(crate) const LEN: usize = 12;

/// The public, random, 12-character identifier of a key.
///
/// It names the key in lists, logs and URLs, is the store's lookup index, and stays the same when the
/// key's secret is regenerated. It is not secret.
///
/// ```
/// use formbox_auth::KeyId;
///
/// let id: KeyId = "Ab3dEf6hIj9k".parse()?;
/// assert_eq!(id.as_str(), "Ab3dEf6hIj9k");
/// assert!("too-short".parse::<KeyId>().is_err());
/// # Ok::<(), formbox_auth::key::ParseError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyId([u8; LEN]);

impl KeyId {
    /// Wraps bytes already checked to be base62.
    pub(crate) const fn from_checked(bytes: [u8; LEN]) -> Self {
        Self(bytes)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Every constructor checks that the bytes are base62, hence ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for KeyId {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; LEN] = text
            .as_bytes()
            .try_into()
            .map_err(|_| ParseError::WrongLength {
                expected: LEN,
                actual: text.len(),
            })?;
        match bytes.iter().position(|&b| !base62::is_base62(b)) {
            Some(position) => Err(ParseError::BadCharacter { position }),
            None => Ok(Self(bytes)),
        }
    }
}

impl std::hash::Hash for KeyId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Two fixed-size words: no length prefix (ids have one length) and no copy loop.
        let (head, tail) = self.0.split_at(8);
        let mut word = [0u8; 8];
        word.copy_from_slice(head);
        state.write_u64(u64::from_le_bytes(word));
        let mut word = [0u8; 4];
        word.copy_from_slice(tail);
        state.write_u32(u32::from_le_bytes(word));
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Builds [`IdHasher`]s for maps keyed by [`KeyId`].
pub(crate) type IdBuildHasher = std::hash::BuildHasherDefault<IdHasher>;

/// A fast hasher for key ids.
///
/// Ids are random and issued by the server, and a presented id can only be looked up, never
/// inserted, so an attacker cannot grow a collision chain: SipHash's flooding resistance buys
/// nothing here. This is the multiply-rotate hash of rustc's `FxHasher`.
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_u32(&mut self, word: u32) {
        self.add(u64::from(word));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_wrong_length_and_foreign_characters() {
        assert_eq!(
            "abc".parse::<KeyId>(),
            Err(ParseError::WrongLength {
                expected: 12,
                actual: 3
            })
        );
        assert_eq!(
            "abcdef_hijkl".parse::<KeyId>(),
            Err(ParseError::BadCharacter { position: 6 })
        );
    }

    #[test]
    fn display_and_debug_show_the_id() {
        let id: KeyId = "0123456789ab".parse().unwrap();
        assert_eq!(id.to_string(), "0123456789ab");
        assert_eq!(format!("{id:?}"), "KeyId(\"0123456789ab\")");
    }
}
