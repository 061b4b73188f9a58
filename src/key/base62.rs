//! The base62 alphabet keys are written in: ASCII letters and digits only, so a key is one word that a
//! double click selects whole.

/// The 62 characters, in the order their values run.
pub(crate) const ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The value of one base62 character, or `None` for any other byte.
#[inline]
pub(crate) const fn value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'Z' => Some(byte - b'A' + 10),
        b'a'..=b'z' => Some(byte - b'a' + 36),
        _ => None,
    }
}

/// Whether `byte` belongs to the alphabet.
#[inline]
pub(crate) const fn is_base62(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
}

/// Whether every byte belongs to the alphabet.
///
/// Range arithmetic folded without early exit: branch-free, so the compiler vectorizes it.
#[inline]
pub(crate) fn all(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &byte| {
        let digit = byte.wrapping_sub(b'0') < 10;
        let letter = (byte | 0x20).wrapping_sub(b'a') < 26;
        ok & (digit | letter)
    })
}

/// Writes `n` as fixed-width base62, most significant digit first, padded with `0`.
///
/// The caller picks a width wide enough for `n` (6 digits hold any `u32`: 62^6 > 2^32).
pub(crate) fn encode_fixed(mut n: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
}

/// Reads fixed-width base62, or `None` if a byte is outside the alphabet.
pub(crate) fn decode_fixed(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &byte| {
        value(byte).map(|v| acc * 62 + u64::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alphabet_character_decodes_to_its_position() {
        for (position, &byte) in ALPHABET.iter().enumerate() {
            assert_eq!(value(byte), Some(position as u8));
            assert!(is_base62(byte));
        }
        assert_eq!(value(b'_'), None);
        assert_eq!(value(b'-'), None);
    }

    #[test]
    fn all_agrees_with_is_base62_on_every_byte() {
        for byte in 0..=255u8 {
            assert_eq!(all(&[byte]), is_base62(byte), "{byte:#04x}");
            assert_eq!(all(&[b'a', byte, b'Z']), is_base62(byte), "{byte:#04x}");
        }
        assert!(all(b""));
    }

    #[test]
    fn fixed_width_round_trips_the_extremes_of_u32() {
        for n in [0u64, 1, 61, 62, u64::from(u32::MAX)] {
            let mut digits = [0u8; 6];
            encode_fixed(n, &mut digits);
            assert_eq!(decode_fixed(&digits), Some(n));
        }
    }
}
