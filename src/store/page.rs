//! Where a page of [`KeyStore::list_page`](crate::store::KeyStore::list_page) starts.

use std::time::SystemTime;

use super::{KeyRecord, whole_micros};
use crate::KeyId;

/// The key a page ended with: the next page holds the keys after it in list order (`created_at`
/// descending, then id descending in byte order), as [`KeyStore::list`] returns them.
///
/// A position is only a place in that order: it need not name a key that exists, so a page can
/// follow a key that was revoked or is gone since. The crate's positions are whole microseconds,
/// the precision every store keeps; a store may round finer parts down.
///
/// [`KeyStore::list`]: crate::store::KeyStore::list
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListPosition {
    /// When the key was created.
    pub created_at: SystemTime,
    /// Its id, which orders keys created in the same microsecond.
    pub id: KeyId,
}

impl ListPosition {
    /// Whether `record` comes after this position in list order: it was created earlier, or in
    /// the same microsecond with a smaller id.
    pub(crate) fn precedes(&self, record: &KeyRecord) -> bool {
        let record = (whole_micros(record.created_at), record.id);
        record < (whole_micros(self.created_at), self.id)
    }
}

impl From<&KeyRecord> for ListPosition {
    /// The position of `record`: the page that ends with it continues after it.
    fn from(record: &KeyRecord) -> Self {
        Self {
            created_at: record.created_at,
            id: record.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{KeyDigest, Permission};

    fn record(id: &str, micros: u64) -> KeyRecord {
        KeyRecord::new(
            id.parse().unwrap(),
            "org".into(),
            "CI",
            Permission::ReadOnly,
            KeyDigest::from_bytes([0; 32]),
            UNIX_EPOCH + Duration::from_micros(micros),
        )
    }

    #[test]
    fn older_keys_and_ties_with_smaller_ids_come_after_a_position() {
        let position = ListPosition::from(&record("bbbbbbbbbbbb", 10));
        assert!(position.precedes(&record("zzzzzzzzzzzz", 9)));
        assert!(position.precedes(&record("bbbbbbbbbbba", 10)));
        // Byte order: upper case sorts before lower case.
        assert!(position.precedes(&record("BBBBBBBBBBBB", 10)));
        assert!(
            !position.precedes(&record("bbbbbbbbbbbb", 10)),
            "strictly after"
        );
        assert!(!position.precedes(&record("bbbbbbbbbbbc", 10)));
        assert!(!position.precedes(&record("000000000000", 11)));
    }

    #[test]
    fn times_compare_to_the_microsecond() {
        let mut position = ListPosition::from(&record("bbbbbbbbbbbb", 10));
        position.created_at += Duration::from_nanos(999);
        // Same microsecond as the position: the id decides.
        assert!(!position.precedes(&record("cccccccccccc", 10)));
        assert!(position.precedes(&record("aaaaaaaaaaaa", 10)));
    }
}
