//! The six-character CRC32 checksum at the end of every key.
//!
//! It catches typos, truncation and random strings without a store lookup, and lets a secret scanner
//! confirm a candidate offline. It is not authentication: anyone can compute it.

use super::base62;

/// Number of base62 characters the checksum takes.
pub(crate) const LEN: usize = 6;

/// The checksum characters for `body` (everything before the checksum).
pub(crate) fn encode(body: &[u8]) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    base62::encode_fixed(u64::from(crc32fast::hash(body)), &mut out);
    out
}

/// Whether `checksum` is the checksum of `body`.
///
/// Decoding the presented digits and comparing numbers avoids formatting a string per request.
/// A byte outside the alphabet never reaches here: the parser rejects it first.
pub(crate) fn matches(body: &[u8], checksum: &[u8]) -> bool {
    base62::decode_fixed(checksum) == Some(u64::from(crc32fast::hash(body)))
}
