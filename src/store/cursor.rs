//! Where the next page of a key listing starts, as a token a client hands back.

use std::{fmt, str::FromStr, time::SystemTime};

use super::base64url;
use crate::{
    key::{ID_LEN, KeyId},
    record::{
        KeyRecord,
        micros::{from_unix_micros, unix_micros},
        whole_micros,
    },
};

/// Where the next page of a key listing starts: the key a page ended with, as an opaque token to
/// hand to a client and take back from it.
///
/// [`KeyManager::list_page`](crate::KeyManager::list_page) returns it as
/// [`KeyPage::next_cursor`](crate::lifecycle::KeyPage::next_cursor), and a store's
/// [`list_page`](crate::KeyStore::list_page) receives it: the next page holds the keys after it
/// in list order (`created_at` descending, then id descending in byte order).
///
/// [`Display`](fmt::Display) writes it as 28 URL-safe characters (base64url without padding),
/// fit for a query string as they are; [`FromStr`] reads that back, and refuses anything else
/// with [`InvalidCursor`], never panicking. A cursor names the place in the list order after the
/// last key of a page (its creation time and id, which its holder has already seen), not a
/// snapshot: keys created since do not shift later pages, and a cursor stays valid when its key
/// is revoked. With the `serde` feature it serializes as that text.
///
/// ```
/// use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission};
/// use formbox_auth::{lifecycle::NewKey, store::ListCursor};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let manager = KeyManager::new(MemoryStore::new());
/// let org = OrganizationId::from("org_1");
/// for name in ["CI", "Zapier", "Backups"] {
///     manager.create(&org, NewKey::new(name, Permission::ReadOnly)).await?;
/// }
/// let first = manager.list_page(&org, None, 2).await?;
/// let token = first.next_cursor.expect("a second page").to_string();
///
/// // Later, in another request:
/// let cursor: ListCursor = token.parse()?;
/// let second = manager.list_page(&org, Some(&cursor), 2).await?;
/// assert_eq!((first.keys.len(), second.keys.len()), (2, 1));
/// assert!(second.next_cursor.is_none());
/// assert!("not a cursor".parse::<ListCursor>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    created_at: SystemTime,
    id: KeyId,
    /// `created_at` in whole microseconds since the Unix epoch: what the text holds.
    micros: i64,
}

/// A text that is not a [`ListCursor`]: malformed, truncated, or from another format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the list cursor is not valid: pass the `next_cursor` of a previous page unchanged")]
pub struct InvalidCursor;

/// Changes whenever the layout below changes, so a cursor of another layout is refused rather
/// than misread.
const VERSION: u8 = 1;

/// The version, the time as a big-endian `i64`, the id: 21 bytes, 28 characters.
const LEN: usize = 1 + 8 + ID_LEN;

impl ListCursor {
    /// The cursor at `created_at` and `id`, rounded down to a whole microsecond, or `None` if
    /// the time is beyond what a cursor holds (about 292,000 years from 1970).
    ///
    /// A cursor is only a place in list order: it need not name a key that exists, so a page can
    /// follow a key that was revoked or is gone since.
    pub fn new(created_at: SystemTime, id: KeyId) -> Option<Self> {
        let micros = unix_micros(created_at)?;
        let created_at = from_unix_micros(micros)?;
        Some(Self {
            created_at,
            id,
            micros,
        })
    }

    /// The cursor after `record`: the page that ends with it continues after it.
    pub fn after(record: &KeyRecord) -> Option<Self> {
        Self::new(record.created_at, record.id)
    }

    /// When the key the cursor names was created, in whole microseconds.
    pub fn created_at(&self) -> SystemTime {
        self.created_at
    }

    /// The id of the key the cursor names, which orders keys created in the same microsecond.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// [`created_at`](Self::created_at) in whole microseconds since the Unix epoch.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn unix_micros(&self) -> i64 {
        self.micros
    }

    /// Whether `record` comes after this cursor in list order: it was created earlier, or in
    /// the same microsecond with a smaller id.
    pub(crate) fn precedes(&self, record: &KeyRecord) -> bool {
        let record = (whole_micros(record.created_at), record.id);
        record < (self.created_at, self.id)
    }

    fn to_bytes(self) -> [u8; LEN] {
        let mut bytes = [0; LEN];
        bytes[0] = VERSION;
        bytes[1..9].copy_from_slice(&self.micros.to_be_bytes());
        bytes[9..].copy_from_slice(self.id.as_str().as_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&version, rest) = bytes.split_first()?;
        if version != VERSION || bytes.len() != LEN {
            return None;
        }
        let (micros, id) = rest.split_at(8);
        let micros = i64::from_be_bytes(micros.try_into().ok()?);
        let id: KeyId = std::str::from_utf8(id).ok()?.parse().ok()?;
        let created_at = from_unix_micros(micros)?;
        Some(Self {
            created_at,
            id,
            micros,
        })
    }
}

impl fmt::Display for ListCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64url::encode(&self.to_bytes()))
    }
}

impl FromStr for ListCursor {
    type Err = InvalidCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Anything longer is no cursor; decoding it would only cost time.
        if text.len() != LEN.div_ceil(3) * 4 {
            return Err(InvalidCursor);
        }
        base64url::decode(text)
            .and_then(|bytes| Self::from_bytes(&bytes))
            .ok_or(InvalidCursor)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ListCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ListCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use proptest::prelude::*;

    use super::*;
    use crate::{key::KeyDigest, permission::Permission};

    fn record(id: &str, created_at: std::time::SystemTime) -> KeyRecord {
        let digest = KeyDigest::from_bytes([0; 32]);
        let id = id.parse().unwrap();
        KeyRecord::new(
            id,
            "org".into(),
            "CI",
            Permission::ReadOnly,
            digest,
            created_at,
        )
    }

    #[test]
    fn a_cursor_is_28_url_safe_characters_that_read_back_as_the_same_position() {
        let created_at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let cursor = ListCursor::after(&record("Ab3dEf6hIj9k", created_at)).unwrap();
        let text = cursor.to_string();
        assert_eq!(text.len(), 28);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let parsed: ListCursor = text.parse().unwrap();
        assert_eq!(parsed, cursor);
        assert_eq!(parsed.created_at(), created_at);
        assert_eq!(parsed.id().as_str(), "Ab3dEf6hIj9k");
    }

    #[test]
    fn times_before_1970_and_finer_than_a_microsecond_are_kept_to_the_microsecond() {
        let before = UNIX_EPOCH - Duration::from_nanos(86_400_000_001_500);
        let cursor = ListCursor::after(&record("000000000000", before)).unwrap();
        let parsed: ListCursor = cursor.to_string().parse().unwrap();
        let whole = UNIX_EPOCH - Duration::from_micros(86_400_000_002);
        assert_eq!(parsed.created_at(), whole);
    }

    #[test]
    fn malformed_cursors_are_invalid() {
        let valid = ListCursor::after(&record("Ab3dEf6hIj9k", UNIX_EPOCH))
            .unwrap()
            .to_string();
        let mut wrong_version = base64url::decode(&valid).unwrap();
        wrong_version[0] = 2;
        let mut bad_id = base64url::decode(&valid).unwrap();
        bad_id[LEN - 1] = b'_';
        for text in [
            String::new(),
            "not a cursor".to_owned(),
            valid[1..].to_owned(),
            format!("{valid}A"),
            format!("{}=", &valid[..27]),
            format!("{}+", &valid[..27]),
            base64url::encode(&wrong_version),
            base64url::encode(&bad_id),
            "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄ".to_owned(),
        ] {
            assert_eq!(text.parse::<ListCursor>(), Err(InvalidCursor), "{text:?}");
        }
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serializes_as_its_text() {
        let cursor = ListCursor::after(&record("Ab3dEf6hIj9k", UNIX_EPOCH)).unwrap();
        let json = serde_json::to_string(&cursor).unwrap();
        assert_eq!(json, format!("\"{cursor}\""));
        assert_eq!(serde_json::from_str::<ListCursor>(&json).unwrap(), cursor);
        assert!(serde_json::from_str::<ListCursor>("\"nope\"").is_err());
    }

    fn record_at(id: &str, micros: u64) -> KeyRecord {
        record(id, UNIX_EPOCH + Duration::from_micros(micros))
    }

    #[test]
    fn older_keys_and_ties_with_smaller_ids_come_after_a_position() {
        let position = ListCursor::after(&record_at("bbbbbbbbbbbb", 10)).unwrap();
        assert!(position.precedes(&record_at("zzzzzzzzzzzz", 9)));
        assert!(position.precedes(&record_at("bbbbbbbbbbba", 10)));
        // Byte order: upper case sorts before lower case.
        assert!(position.precedes(&record_at("BBBBBBBBBBBB", 10)));
        assert!(
            !position.precedes(&record_at("bbbbbbbbbbbb", 10)),
            "strictly after"
        );
        assert!(!position.precedes(&record_at("bbbbbbbbbbbc", 10)));
        assert!(!position.precedes(&record_at("000000000000", 11)));
    }

    #[test]
    fn times_compare_to_the_microsecond() {
        let at = UNIX_EPOCH + Duration::from_micros(10) + Duration::from_nanos(999);
        let position = ListCursor::new(at, "bbbbbbbbbbbb".parse().unwrap()).unwrap();
        // Same microsecond as the position: the id decides.
        assert!(!position.precedes(&record_at("cccccccccccc", 10)));
        assert!(position.precedes(&record_at("aaaaaaaaaaaa", 10)));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_invalid_and_what_parses_prints_back(text in ".*") {
            if let Ok(cursor) = text.parse::<ListCursor>() {
                prop_assert_eq!(cursor.to_string(), text);
            }
        }

        #[test]
        fn any_bytes_of_the_current_version_parse_or_are_invalid(
            rest in proptest::collection::vec(any::<u8>(), LEN - 1),
        ) {
            let text = base64url::encode(&[&[VERSION][..], &rest].concat());
            if let Ok(cursor) = text.parse::<ListCursor>() {
                prop_assert_eq!(cursor.to_string(), text);
            }
        }

        #[test]
        fn every_position_round_trips(
            micros in any::<i64>(),
            id in "[0-9A-Za-z]{12}",
        ) {
            if let Some(created_at) = from_unix_micros(micros) {
                let cursor = ListCursor::after(&record(&id, created_at)).unwrap();
                let parsed: ListCursor = cursor.to_string().parse().unwrap();
                prop_assert_eq!(parsed, cursor);
            }
        }
    }
}
