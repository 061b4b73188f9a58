//! The name of the Redis channel that carries announcements.

use std::{fmt, sync::Arc};

/// The channel used unless told otherwise.
pub(super) const DEFAULT_CHANNEL: &str = "formbox_auth:invalidations";

/// The longest channel name accepted.
const MAX_CHANNEL_BYTES: usize = 128;

/// A channel name that is not 1 to 128 ASCII letters, digits, `_`, `:`, `.` or `-`.
///
/// Redis accepts any bytes as a channel name; the crate accepts fewer, so that a name read from
/// configuration cannot carry a stray space or line break into the log, nor a `*` or `?` that
/// reads like a pattern but matches only itself.
///
/// ```
/// use formbox_auth::store::RedisInvalidation;
///
/// let invalidation = RedisInvalidation::new("redis://127.0.0.1:6379")?;
/// assert!(invalidation.clone().with_channel("forms:api_key_changes").is_ok());
/// assert!(invalidation.with_channel("api key changes\n").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a Redis channel name is 1 to 128 ASCII letters, digits, underscores, colons, dots or hyphens"
)]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub struct InvalidChannel;

/// A validated channel name, shared by clones.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct ChannelName(Arc<str>);

impl ChannelName {
    pub(super) fn new(name: &str) -> Result<Self, InvalidChannel> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-');
        if !name.is_empty() && name.len() <= MAX_CHANNEL_BYTES && name.bytes().all(allowed) {
            Ok(Self(name.into()))
        } else {
            Err(InvalidChannel)
        }
    }

    pub(super) fn default_name() -> Self {
        Self(DEFAULT_CHANNEL.into())
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_plain_ascii_words() {
        let longest = "c".repeat(MAX_CHANNEL_BYTES);
        for name in [
            DEFAULT_CHANNEL,
            "keys",
            "app-1.keys:changed",
            "A_b",
            &longest,
        ] {
            assert!(ChannelName::new(name).is_ok(), "{name}");
        }
        let too_long = "c".repeat(MAX_CHANNEL_BYTES + 1);
        for name in [
            "",
            "api keys",
            "keys\n",
            "keys*",
            "keys?",
            "[keys]",
            "ключи",
            &too_long,
        ] {
            assert_eq!(ChannelName::new(name), Err(InvalidChannel), "{name:?}");
        }
    }
}
