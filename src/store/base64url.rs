//! Base64 with the URL-safe alphabet and no padding (RFC 4648, section 5), for list cursors: the
//! few lines the crate needs instead of a dependency.

/// The 64 characters, in the order their values run.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The value of one character, or `None` for any other byte.
fn value(byte: u8) -> Option<u32> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// `bytes` as text, four characters for every three bytes, without padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let bits = u32::from_be_bytes([0, group[0], group[1], group[2]]);
        // A chunk of n bytes fills n + 1 characters.
        for position in 0..=chunk.len() {
            let sextet = (bits >> (18 - 6 * position)) & 0x3f;
            text.push(char::from(ALPHABET[sextet as usize]));
        }
    }
    text
}

/// The bytes `text` encodes, or `None` if it is not canonical unpadded base64url: a foreign
/// character, a length no byte string encodes to, or unused bits that are not zero. So each
/// byte string has exactly one text.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.as_bytes().chunks(4) {
        // One character carries 6 bits, less than a byte.
        let carried = chunk.len().checked_sub(1).filter(|&n| n > 0)?;
        let mut bits = 0u32;
        for (position, &byte) in chunk.iter().enumerate() {
            bits |= value(byte)? << (18 - 6 * position);
        }
        let group = bits.to_be_bytes();
        let unused = &group[1 + carried..];
        if unused.iter().any(|&byte| byte != 0) {
            return None;
        }
        bytes.extend_from_slice(&group[1..=carried]);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_4648_test_vectors_without_padding() {
        let vectors = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn uses_the_url_safe_alphabet() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8"), Some(vec![0xfb, 0xff]));
    }

    #[test]
    fn refuses_foreign_characters_impossible_lengths_and_stray_bits() {
        for text in [
            "Zm9v=", "Zm+v", "Zm/v", "Z", "Zm9vY", "Zh", "Zm9", "Zm9vYh", "é", "Zm 9",
        ] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }
}
