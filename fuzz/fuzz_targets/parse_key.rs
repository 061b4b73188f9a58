//! `KeyFormat::parse` against an oracle written from the README's "Key format" table alone: a
//! string parses if and only if it has exactly the shape
//! `<prefix>_<12 base62>_<32 base62><6 base62 CRC32>`, every error names the first rule the
//! string breaks, and a parsed key's id and digest are the text's.
//!
//! The input is read three ways: as a key of the default `fbsk` format; as a prefix (its length
//! from the first byte) and a key of a format built from that prefix; and as raw material mapped
//! onto the alphabet and given a correct checksum, so that the accepting path is exercised on
//! every run rather than only when the fuzzer happens to guess a CRC32.

#![no_main]

use std::sync::LazyLock;

use formbox_auth::{KeyFormat, key::ParseError};
use libfuzzer_sys::fuzz_target;
use regex::Regex;
use sha2::{Digest, Sha256};

const ID_LEN: usize = 12;
const SECRET_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The documented regular expression of the default format, anchored to the whole string.
static DEFAULT_REGEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^(?:{})$", KeyFormat::default().regex())).unwrap());

/// CRC-32 as zlib computes it (IEEE polynomial, reflected), bit by bit, independent of the
/// crate's `crc32fast`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The six base62 digits of the checksum of `body`, most significant first.
fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut n = u64::from(crc32(body));
    let mut out = [0u8; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// What `parse` must answer, in the order the README's key format and `ParseError` give the
/// checks.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Key,
    WrongPrefix,
    WrongLength { expected: usize, actual: usize },
    BadCharacter { position: usize },
    BadChecksum,
}

fn expected(prefix: &str, text: &[u8]) -> Expected {
    let lead = prefix.len() + 1;
    if !(text.starts_with(prefix.as_bytes()) && text.get(prefix.len()) == Some(&b'_')) {
        return Expected::WrongPrefix;
    }
    let key_len = lead + ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN;
    if text.len() != key_len {
        return Expected::WrongLength {
            expected: key_len,
            actual: text.len(),
        };
    }
    for (position, &byte) in text.iter().enumerate().skip(lead) {
        let fits = if position == lead + ID_LEN {
            byte == b'_'
        } else {
            byte.is_ascii_alphanumeric()
        };
        if !fits {
            return Expected::BadCharacter { position };
        }
    }
    let body = key_len - CHECKSUM_LEN;
    if checksum(&text[..body]) != text[body..] {
        return Expected::BadChecksum;
    }
    Expected::Key
}

fn answer(result: &Result<formbox_auth::key::ParsedKey<'_>, ParseError>) -> Expected {
    match result {
        Ok(_) => Expected::Key,
        Err(ParseError::WrongPrefix) => Expected::WrongPrefix,
        Err(ParseError::WrongLength { expected, actual }) => Expected::WrongLength {
            expected: *expected,
            actual: *actual,
        },
        Err(ParseError::BadCharacter { position }) => Expected::BadCharacter {
            position: *position,
        },
        Err(ParseError::BadChecksum) => Expected::BadChecksum,
        Err(other) => panic!("undocumented parse error {other:?}"),
    }
}

/// Parses `text` with `format` (whose prefix is `prefix`) and checks the answer.
fn check(format: &KeyFormat, prefix: &str, text: &str) {
    assert_eq!(format.prefix(), prefix);
    let bytes = text.as_bytes();
    let result = format.parse(text);
    let want = expected(prefix, bytes);
    assert_eq!(answer(&result), want, "prefix {prefix:?}, text {text:?}");

    if format == &KeyFormat::default() {
        let shaped = matches!(want, Expected::Key | Expected::BadChecksum);
        assert_eq!(DEFAULT_REGEX.is_match(text), shaped, "regex on {text:?}");
    }

    if let Ok(parsed) = result {
        let lead = prefix.len() + 1;
        assert_eq!(text.len(), format.key_len());
        assert_eq!(parsed.id().as_str(), &text[lead..lead + ID_LEN]);
        let body = &bytes[..text.len() - CHECKSUM_LEN];
        let digest: [u8; 32] = Sha256::digest(body).into();
        assert_eq!(parsed.digest().as_bytes(), &digest);
        assert_eq!(
            format.display(&parsed.id()),
            format!("{}…", &text[..lead + ID_LEN + 1])
        );
    }
}

/// A well-formed key of `format` built from `material`: id and secret mapped onto the alphabet,
/// with the right checksum. It must parse, with exactly that id and digest.
fn check_constructed(format: &KeyFormat, prefix: &str, material: &[u8]) {
    let mut chars = material
        .iter()
        .map(|&byte| ALPHABET[usize::from(byte) % 62])
        .chain(std::iter::repeat(b'0'));
    let mut body = format!("{prefix}_").into_bytes();
    body.extend(chars.by_ref().take(ID_LEN));
    body.push(b'_');
    body.extend(chars.take(SECRET_LEN));
    let mut key = body.clone();
    key.extend(checksum(&body));
    let text = String::from_utf8(key).unwrap();
    assert!(format.parse(&text).is_ok(), "constructed {text:?}");
    check(format, prefix, &text);

    // Any single changed checksum digit is a bad checksum, never a key.
    let mut typo = text.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'0' { b'1' } else { b'0' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(format.parse(&typo).unwrap_err(), ParseError::BadChecksum);
}

fn valid_prefix(prefix: &str) -> bool {
    (2..=16).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let default = KeyFormat::default();
    check(&default, "fbsk", &String::from_utf8_lossy(data));
    check_constructed(&default, "fbsk", data);

    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let prefix_len = usize::from(first) % 20;
    let Some((prefix, text)) = rest.split_at_checked(prefix_len) else {
        return;
    };
    let prefix = String::from_utf8_lossy(prefix);
    match KeyFormat::new(&prefix) {
        Ok(format) => {
            assert!(valid_prefix(&prefix), "accepted prefix {prefix:?}");
            check(&format, &prefix, &String::from_utf8_lossy(text));
            check_constructed(&format, &prefix, text);
        }
        Err(_) => assert!(!valid_prefix(&prefix), "refused prefix {prefix:?}"),
    }
});
