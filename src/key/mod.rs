//! Keys: `fbsk_<key id>_<secret><checksum>`.
//!
//! A key is one ASCII word a person can copy with a double click:
//!
//! | part | length | what it is |
//! |---|---|---|
//! | prefix and `_` | 5 | `fbsk_`, or the deployment's own [`KeyFormat`] prefix |
//! | key id and `_` | 13 | 12 random base62 characters, public: the store's lookup index |
//! | secret | 32 | base62 from the OS CSPRNG, about 190 bits |
//! | checksum | 6 | CRC32 of everything before it, in base62 |
//!
//! A store keeps only the SHA-256 [`KeyDigest`] of everything before the checksum (50 bytes with
//! the default prefix: a single SHA-256 block). The checksum lets [`KeyFormat::parse`] reject typos
//! and garbage before any store is asked.
//!
//! ```
//! use formbox_auth::KeyFormat;
//!
//! let format = KeyFormat::default();
//! let key = format.generate()?;
//! let regex = format.regex(); // for secret scanners
//!
//! let parsed = format.parse(key.expose_secret())?;
//! assert_eq!(parsed.id(), key.id());
//! assert_eq!(parsed.digest(), key.digest());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod base62;
mod checksum;
mod digest;
mod error;
pub(crate) mod format;
pub(crate) mod id;
mod parsed;
mod plaintext;

pub use digest::KeyDigest;
pub use error::{InvalidPrefix, ParseError, RandomnessError};
pub(crate) use format::KeyFormat;
pub(crate) use id::KeyId;
pub(crate) use id::{IdBuildHasher, LEN as ID_LEN};
pub use parsed::ParsedKey;
pub use plaintext::PlaintextKey;

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PlaintextKey {
        KeyFormat::default().generate().unwrap()
    }

    /// Replaces the byte at `position`; characters are checked before the checksum.
    fn with_byte(text: &str, position: usize, byte: u8) -> String {
        let mut bytes = text.as_bytes().to_vec();
        bytes[position] = byte;
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn generated_key_has_the_documented_shape() {
        let key = key();
        let text = key.expose_secret();
        assert_eq!(text.len(), 56);
        assert!(text.starts_with("fbsk_"));
        assert_eq!(&text[5..17], key.id().as_str());
        assert_eq!(text.as_bytes()[17], b'_');
        assert!(text[18..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn generated_keys_parse_back_to_their_id_and_digest() {
        let key = key();
        let parsed = KeyFormat::default().parse(key.expose_secret()).unwrap();
        assert_eq!(parsed.id(), key.id());
        assert_eq!(parsed.digest(), key.digest());
    }

    #[test]
    fn two_keys_differ_in_id_and_secret() {
        let (a, b) = (key(), key());
        assert_ne!(a.id(), b.id());
        assert_ne!(a.expose_secret()[18..50], b.expose_secret()[18..50]);
    }

    #[test]
    fn regenerated_secret_keeps_the_id() {
        let format = KeyFormat::default();
        let first = key();
        let second = format.generate_for(first.id()).unwrap();
        assert_eq!(second.id(), first.id());
        assert_ne!(second.digest(), first.digest());
    }

    #[test]
    fn another_prefix_is_wrong_prefix() {
        let acme = KeyFormat::new("acme").unwrap().generate().unwrap();
        assert_eq!(
            KeyFormat::default()
                .parse(acme.expose_secret())
                .unwrap_err(),
            ParseError::WrongPrefix
        );
        assert_eq!(
            KeyFormat::default().parse("").unwrap_err(),
            ParseError::WrongPrefix
        );
        assert_eq!(
            KeyFormat::default().parse("FBSK_").unwrap_err(),
            ParseError::WrongPrefix
        );
    }

    #[test]
    fn truncated_or_extended_key_is_wrong_length() {
        let key = key();
        let text = key.expose_secret();
        assert_eq!(
            KeyFormat::default().parse(&text[..55]).unwrap_err(),
            ParseError::WrongLength {
                expected: 56,
                actual: 55
            }
        );
        assert_eq!(
            KeyFormat::default().parse(&format!("{text}a")).unwrap_err(),
            ParseError::WrongLength {
                expected: 56,
                actual: 57
            }
        );
    }

    #[test]
    fn foreign_or_misplaced_characters_are_bad_character() {
        let key = key();
        let text = key.expose_secret();
        let format = KeyFormat::default();
        for (position, byte) in [(5, b'-'), (20, b'_'), (17, b'a'), (55, b'!'), (30, b' ')] {
            assert_eq!(
                format.parse(&with_byte(text, position, byte)).unwrap_err(),
                ParseError::BadCharacter { position },
                "byte {:?} at {position}",
                char::from(byte)
            );
        }
        let non_ascii = format!("{}é{}", &text[..20], &text[22..]);
        assert_eq!(
            format.parse(&non_ascii).unwrap_err(),
            ParseError::BadCharacter { position: 20 }
        );
    }

    #[test]
    fn changed_letter_is_bad_checksum() {
        let key = key();
        let text = key.expose_secret();
        let position = 30;
        let other = if text.as_bytes()[position] == b'a' {
            b'b'
        } else {
            b'a'
        };
        assert_eq!(
            KeyFormat::default()
                .parse(&with_byte(text, position, other))
                .unwrap_err(),
            ParseError::BadChecksum
        );
    }

    #[test]
    fn prefix_must_be_two_to_sixteen_lowercase_alphanumerics() {
        for bad in ["", "a", "Fbsk", "fb_sk", "fb-sk", "abcdefghijklmnopq", "é1"] {
            assert_eq!(KeyFormat::new(bad), Err(InvalidPrefix), "{bad:?}");
        }
        for good in ["ab", "fbsk", "acme2", "abcdefghijklmnop"] {
            assert_eq!(KeyFormat::new(good).unwrap().prefix(), good);
        }
    }

    #[test]
    fn long_prefix_keys_round_trip() {
        let format = KeyFormat::new("abcdefghijklmnop").unwrap();
        let key = format.generate().unwrap();
        assert_eq!(key.expose_secret().len(), format.key_len());
        assert_eq!(
            format.parse(key.expose_secret()).unwrap().digest(),
            key.digest()
        );
    }

    #[test]
    fn plaintext_debug_and_display_are_redacted() {
        let key = key();
        let shown = format!("fbsk_{}_…", key.id());
        assert_eq!(key.to_string(), shown);
        assert_eq!(format!("{key:?}"), format!("PlaintextKey({shown:?})"));
        let parsed = KeyFormat::default().parse(key.expose_secret()).unwrap();
        assert!(!format!("{parsed:?}").contains(&key.expose_secret()[18..]));
    }
}
