//! The shape of a key for one prefix: generating, parsing and describing keys.

use std::sync::Arc;

use rand::{TryRng, rngs::SysRng};
use zeroize::Zeroizing;

use super::{
    InvalidPrefix, KeyDigest, KeyId, ParseError, ParsedKey, PlaintextKey, RandomnessError, base62,
    checksum, id,
};

/// Number of base62 characters in a key's secret (about 190 bits).
pub(crate) const SECRET_LEN: usize = 32;

/// The key format of one deployment: `<prefix>_<key id>_<secret><checksum>`.
///
/// It generates keys, parses presented strings (offline: prefix, length, alphabet and checksum), and
/// gives the regular expression a secret scanner can use. Cloning is cheap.
///
/// ```
/// use formbox_auth::{key::ParseError, KeyFormat};
///
/// let format = KeyFormat::default();
/// let key = format.generate()?;
/// assert!(key.expose_secret().starts_with("fbsk_"));
/// assert_eq!(format.parse(key.expose_secret())?.id(), key.id());
/// assert_eq!(format.parse("fbsk_typo").unwrap_err(), ParseError::WrongLength { expected: 56, actual: 9 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFormat {
    /// The prefix followed by `_`, as every key starts.
    lead: Arc<str>,
}

impl KeyFormat {
    /// The prefix every key of this crate starts with unless a service picks its own.
    pub const DEFAULT_PREFIX: &str = "fbsk";

    /// A format with its own prefix: 2 to 16 characters of `[a-z0-9]`.
    ///
    /// ```
    /// use formbox_auth::KeyFormat;
    ///
    /// assert!(KeyFormat::new("acme").is_ok());
    /// assert!(KeyFormat::new("ACME").is_err());
    /// ```
    pub fn new(prefix: &str) -> Result<Self, InvalidPrefix> {
        let valid_chars = prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !(2..=16).contains(&prefix.len()) || !valid_chars {
            return Err(InvalidPrefix);
        }
        Ok(Self {
            lead: format!("{prefix}_").into(),
        })
    }

    /// The prefix, without the `_` that follows it in keys.
    pub fn prefix(&self) -> &str {
        &self.lead[..self.lead.len() - 1]
    }

    /// Length of every key of this format.
    pub fn key_len(&self) -> usize {
        self.body_len() + checksum::LEN
    }

    /// Length of the part before the checksum, which is what gets hashed.
    fn body_len(&self) -> usize {
        self.lead.len() + id::LEN + 1 + SECRET_LEN
    }

    /// A regular expression that matches exactly the well-formed keys of this format (checksum aside,
    /// which a regular expression cannot compute). Word boundaries let scanners find keys in text.
    ///
    /// ```
    /// use formbox_auth::KeyFormat;
    ///
    /// assert_eq!(
    ///     KeyFormat::default().regex(),
    ///     r"\bfbsk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b"
    /// );
    /// ```
    pub fn regex(&self) -> String {
        format!(
            r"\b{}_[0-9A-Za-z]{{{}}}_[0-9A-Za-z]{{{}}}\b",
            self.prefix(),
            id::LEN,
            SECRET_LEN + checksum::LEN
        )
    }

    /// The form a key is shown in once its secret is gone: `fbsk_<key id>_…`.
    pub fn display(&self, id: &KeyId) -> String {
        format!("{}{}_…", self.lead, id)
    }

    /// A new key with a fresh random id, from the operating system's CSPRNG.
    pub fn generate(&self) -> Result<PlaintextKey, RandomnessError> {
        let mut id = [0u8; id::LEN];
        fill_base62(&mut id)?;
        self.generate_for(KeyId::from_checked(id))
    }

    /// A new random secret for an existing id, as regeneration needs.
    pub fn generate_for(&self, id: KeyId) -> Result<PlaintextKey, RandomnessError> {
        let mut text = Zeroizing::new(String::with_capacity(self.key_len()));
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        fill_base62(secret.as_mut())?;
        text.push_str(&self.lead);
        text.push_str(id.as_str());
        text.push('_');
        // Base62 bytes are ASCII, so each byte is one char.
        text.extend(secret.iter().map(|&b| char::from(b)));
        let check = checksum::encode(text.as_bytes());
        text.extend(check.iter().map(|&b| char::from(b)));
        let digest = KeyDigest::of(text[..self.body_len()].as_bytes());
        Ok(PlaintextKey::new(text, id, digest, self.display(&id)))
    }

    /// Checks a presented string offline and splits it into id and hashable body.
    ///
    /// The checks run in the order of the [`ParseError`] variants, so a key of another deployment
    /// reports [`ParseError::WrongPrefix`] whatever else is wrong with it.
    pub fn parse<'a>(&self, text: &'a str) -> Result<ParsedKey<'a>, ParseError> {
        self.parse_bytes(text.as_bytes())
    }

    /// Like [`parse`](Self::parse), for text that may not be UTF-8, such as a header value. A
    /// byte outside the key alphabet is [`ParseError::BadCharacter`].
    pub fn parse_bytes<'a>(&self, bytes: &'a [u8]) -> Result<ParsedKey<'a>, ParseError> {
        if !bytes.starts_with(self.lead.as_bytes()) {
            return Err(ParseError::WrongPrefix);
        }
        if bytes.len() != self.key_len() {
            return Err(ParseError::WrongLength {
                expected: self.key_len(),
                actual: bytes.len(),
            });
        }
        let id_start = self.lead.len();
        let separator = id_start + id::LEN;
        let well_formed = bytes[separator] == b'_'
            && base62::all(&bytes[id_start..separator])
            && base62::all(&bytes[separator + 1..]);
        if !well_formed {
            return Err(ParseError::BadCharacter {
                position: first_misplaced(bytes, id_start, separator),
            });
        }
        let (body, check) = bytes.split_at(self.body_len());
        if !checksum::matches(body, check) {
            return Err(ParseError::BadChecksum);
        }
        let mut id = [0u8; id::LEN];
        id.copy_from_slice(&bytes[id_start..separator]);
        Ok(ParsedKey::new(KeyId::from_checked(id), body))
    }
}

impl Default for KeyFormat {
    /// The `fbsk` format.
    fn default() -> Self {
        Self {
            lead: Arc::from("fbsk_"),
        }
    }
}

/// Where the first character that does not belong is: only computed once a key is known to be bad.
fn first_misplaced(bytes: &[u8], id_start: usize, separator: usize) -> usize {
    (id_start..bytes.len())
        .find(|&position| {
            let byte = bytes[position];
            if position == separator {
                byte != b'_'
            } else {
                !base62::is_base62(byte)
            }
        })
        .unwrap_or(separator)
}

/// Fills `out` with uniformly random base62 characters.
///
/// Rejection sampling keeps the distribution uniform: bytes of 248 and above (4 × 62) are drawn again.
fn fill_base62(out: &mut [u8]) -> Result<(), RandomnessError> {
    let mut pool = Zeroizing::new([0u8; 64]);
    let mut filled = 0;
    while filled < out.len() {
        SysRng
            .try_fill_bytes(pool.as_mut())
            .map_err(RandomnessError)?;
        for &byte in pool.iter().filter(|&&b| b < 248) {
            if filled == out.len() {
                break;
            }
            out[filled] = base62::ALPHABET[usize::from(byte % 62)];
            filled += 1;
        }
    }
    Ok(())
}
