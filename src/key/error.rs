//! Why a string is not a key.

/// Why a presented string is not a well-formed key.
///
/// Every check is offline: a string that fails here never reaches a store. No variant carries the
/// presented text, so an error can be logged safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The string does not start with the expected prefix and `_`.
    #[error("the key does not start with the expected prefix")]
    WrongPrefix,
    /// The string has the right prefix but not the length of a key.
    #[error("the key has {actual} characters where {expected} are expected")]
    WrongLength {
        /// Length a key of this format has.
        expected: usize,
        /// Length of the presented string.
        actual: usize,
    },
    /// A character is neither a letter nor a digit, or a separator is missing.
    #[error("the key has an unexpected character at position {position}")]
    BadCharacter {
        /// Zero-based byte offset of the first offending character.
        position: usize,
    },
    /// The checksum does not match: the key was mistyped, truncated or made up.
    #[error("the key's checksum does not match")]
    BadChecksum,
}

/// The prefix given to [`KeyFormat::new`](crate::KeyFormat::new) is not 2 to 16 of `[a-z0-9]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key prefix is 2 to 16 lowercase ASCII letters or digits")]
pub struct InvalidPrefix;

/// The operating system's random number generator failed, so no key could be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomnessError(#[source] pub(crate) rand::rngs::SysError);
