//! What the SQL stores share: table names, timestamps, row decoding and error mapping.

use std::{
    collections::BTreeMap,
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{KeyRecord, KeyUsage, OrganizationId, PreviousSecret, Result, StoreError};
use crate::{KeyDigest, KeyId, Permission};

/// The table a SQL store uses unless told otherwise.
pub(crate) const DEFAULT_TABLE_NAME: &str = "formbox_api_keys";

/// A table name that is not a plain SQL identifier.
///
/// A table name is 1 to 63 ASCII letters, digits and underscores and does not start with a digit
/// (`[A-Za-z_][A-Za-z0-9_]{0,62}`), so it can be written into SQL without any escaping and fits
/// PostgreSQL's identifier limit.
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use formbox_auth::store::SqliteStore;
/// use sqlx::SqlitePool;
///
/// let pool = SqlitePool::connect_lazy("sqlite::memory:")?;
/// assert!(SqliteStore::new(pool.clone()).with_table_name("tenant_api_keys").is_ok());
/// assert!(SqliteStore::new(pool).with_table_name("keys; DROP TABLE users").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a table name is 1 to 63 ASCII letters, digits or underscores and does not start with a digit"
)]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub struct InvalidTableName;

/// A validated table name, shared by the store's clones.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TableName(Arc<str>);

impl TableName {
    pub(crate) fn new(name: &str) -> Result<Self, InvalidTableName> {
        let mut bytes = name.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
        let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if first_ok && rest_ok && name.len() <= 63 {
            Ok(Self(name.into()))
        } else {
            Err(InvalidTableName)
        }
    }

    pub(crate) fn default_name() -> Self {
        Self(DEFAULT_TABLE_NAME.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Hands a statement to `sqlx`.
///
/// `sqlx` only accepts SQL that is a literal or explicitly vouched for. Every statement of the SQL
/// stores is a literal with a [`TableName`] spliced in, which holds nothing but `[A-Za-z0-9_]`;
/// values always travel as bind parameters.
pub(crate) fn sql(statement: &Arc<str>) -> sqlx::AssertSqlSafe<Arc<str>> {
    sqlx::AssertSqlSafe(Arc::clone(statement))
}

/// A timestamp that does not fit the store's column.
#[derive(Debug, thiserror::Error)]
#[error("the timestamp is outside the range the key store can hold")]
struct TimestampOutOfRange;

/// Whole microseconds since the Unix epoch, rounded down; negative before 1970.
pub(crate) fn unix_micros(time: SystemTime) -> Result<i64> {
    let micros = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_micros()).ok(),
        Err(before) => {
            let before = before.duration();
            // Round down (further into the past), as for times after the epoch.
            let partial = i128::from(before.subsec_nanos() % 1_000 != 0);
            i128::try_from(before.as_micros())
                .ok()
                .map(|micros| -micros - partial)
        }
    };
    micros
        .and_then(|micros| i64::try_from(micros).ok())
        .ok_or_else(|| StoreError::backend(TimestampOutOfRange))
}

/// The inverse of [`unix_micros`].
pub(crate) fn from_unix_micros(micros: i64, column: &str) -> Result<SystemTime> {
    let magnitude = Duration::from_micros(micros.unsigned_abs());
    let time = if micros >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    time.ok_or_else(|| StoreError::Decode(format!("`{column}` is out of range")))
}

/// A record's columns as both SQL stores bind them (timestamps in Unix microseconds).
pub(crate) struct Columns<'a> {
    pub(crate) id: &'a str,
    pub(crate) organization: &'a str,
    pub(crate) name: &'a str,
    pub(crate) permission: &'static str,
    pub(crate) digest: &'a [u8],
    pub(crate) previous_digest: Option<&'a [u8]>,
    pub(crate) previous_valid_until: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) last_used_at: Option<i64>,
}

impl<'a> Columns<'a> {
    pub(crate) fn new(record: &'a KeyRecord) -> Result<Self> {
        let optional = |time: Option<SystemTime>| time.map(unix_micros).transpose();
        Ok(Self {
            id: record.id.as_str(),
            organization: record.organization.as_str(),
            name: &record.name,
            permission: record.permission.as_str(),
            digest: record.digest.as_bytes(),
            previous_digest: record.previous.as_ref().map(|p| &p.digest.as_bytes()[..]),
            previous_valid_until: optional(record.previous.as_ref().map(|p| p.valid_until))?,
            created_at: unix_micros(record.created_at)?,
            expires_at: optional(record.expires_at)?,
            revoked_at: optional(record.revoked_at)?,
            last_used_at: optional(record.last_used_at)?,
        })
    }
}

/// The latest use of each key in a batch, in id order (the order rows are locked in), as Unix
/// microseconds.
pub(crate) fn latest_use_per_key(usage: &[KeyUsage]) -> Result<BTreeMap<KeyId, i64>> {
    let mut latest = BTreeMap::new();
    for use_ in usage {
        let used_at = unix_micros(use_.used_at)?;
        latest
            .entry(use_.id)
            .and_modify(|known: &mut i64| *known = (*known).max(used_at))
            .or_insert(used_at);
    }
    Ok(latest)
}

/// The column list every `SELECT` reads, in the order [`RawRecord`] expects.
pub(crate) const COLUMNS: &str = "id, organization, name, permission, digest, previous_digest, \
     previous_valid_until, created_at, expires_at, revoked_at, last_used_at";

/// A row as read, before it is checked to be a valid record.
pub(crate) struct RawRecord {
    pub(crate) id: String,
    pub(crate) organization: String,
    pub(crate) name: String,
    pub(crate) permission: String,
    pub(crate) digest: Vec<u8>,
    pub(crate) previous_digest: Option<Vec<u8>>,
    pub(crate) previous_valid_until: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) last_used_at: Option<i64>,
}

impl RawRecord {
    /// Checks every column; a bad one is [`StoreError::Decode`], never a panic. Messages name the
    /// column, never a digest.
    pub(crate) fn into_record(self) -> Result<KeyRecord> {
        let id: KeyId = self
            .id
            .parse()
            .map_err(|_| StoreError::Decode("`id` is not a key id".into()))?;
        let decode = |message: &str| StoreError::Decode(format!("key {id}: {message}"));
        let digest = KeyDigest::from_slice(&self.digest)
            .ok_or_else(|| decode("`digest` is not 32 bytes"))?;
        let permission: Permission = self
            .permission
            .parse()
            .map_err(|_| decode("`permission` is neither `full_access` nor `read_only`"))?;
        let previous = match (self.previous_digest, self.previous_valid_until) {
            (None, None) => None,
            (Some(digest), Some(valid_until)) => Some(PreviousSecret {
                digest: KeyDigest::from_slice(&digest)
                    .ok_or_else(|| decode("`previous_digest` is not 32 bytes"))?,
                valid_until: from_unix_micros(valid_until, "previous_valid_until")?,
            }),
            _ => {
                return Err(decode(
                    "`previous_digest` and `previous_valid_until` must be both set or both null",
                ));
            }
        };
        let optional = |micros: Option<i64>, column: &str| {
            micros
                .map(|micros| from_unix_micros(micros, column))
                .transpose()
        };
        Ok(KeyRecord {
            id,
            organization: OrganizationId::from(self.organization),
            name: self.name,
            permission,
            digest,
            previous: previous.map(Box::new),
            created_at: from_unix_micros(self.created_at, "created_at")?,
            expires_at: optional(self.expires_at, "expires_at")?,
            revoked_at: optional(self.revoked_at, "revoked_at")?,
            last_used_at: optional(self.last_used_at, "last_used_at")?,
        })
    }
}

impl From<sqlx::Error> for StoreError {
    /// A pool that found no connection in time is [`StoreError::Timeout`], a value that does not
    /// decode is [`StoreError::Decode`], and everything else is [`StoreError::Backend`].
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => Self::Timeout,
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::TypeNotFound { .. } => Self::Decode(error.to_string()),
            error => Self::Backend(Box::new(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for name in ["keys", "_keys", "Keys_2", "k", &"a".repeat(63)] {
            assert!(TableName::new(name).is_ok(), "{name}");
        }
        for name in [
            "",
            "2keys",
            "api-keys",
            "api keys",
            "keys;",
            "\"keys\"",
            "schema.keys",
            "ключи",
            &"a".repeat(64),
        ] {
            assert_eq!(TableName::new(name), Err(InvalidTableName), "{name}");
        }
    }

    #[test]
    fn micros_round_trip_on_both_sides_of_the_epoch() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_001] {
            let time = from_unix_micros(micros, "t").unwrap();
            assert_eq!(unix_micros(time).unwrap(), micros);
        }
    }

    #[test]
    fn sub_microsecond_parts_round_down() {
        let after = UNIX_EPOCH + Duration::from_nanos(1_999);
        assert_eq!(unix_micros(after).unwrap(), 1);
        let before = UNIX_EPOCH - Duration::from_nanos(1_001);
        assert_eq!(unix_micros(before).unwrap(), -2);
    }

    #[test]
    fn extreme_times_are_errors_or_exact_never_panics() {
        // About 292,000 years either side of 1970: whether SystemTime holds them depends on the
        // platform, but what it holds converts back exactly.
        for micros in [i64::MIN, i64::MAX] {
            if let Ok(time) = from_unix_micros(micros, "t") {
                assert_eq!(unix_micros(time).unwrap(), micros);
            }
        }
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert!(matches!(unix_micros(far), Err(StoreError::Backend(_))));
    }

    fn raw() -> RawRecord {
        RawRecord {
            id: "0123456789ab".into(),
            organization: "org".into(),
            name: "CI".into(),
            permission: "read_only".into(),
            digest: vec![7; 32],
            previous_digest: None,
            previous_valid_until: None,
            created_at: 1_700_000_000_000_000,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn malformed_rows_are_decode_errors() {
        assert!(raw().into_record().is_ok());
        let cases: [fn(&mut RawRecord); 5] = [
            |r| r.id = "not an id".into(),
            |r| r.digest = vec![7; 31],
            |r| r.permission = "admin".into(),
            |r| r.previous_digest = Some(vec![1; 32]),
            |r| {
                r.previous_digest = Some(vec![1; 3]);
                r.previous_valid_until = Some(0);
            },
        ];
        for (index, case) in cases.into_iter().enumerate() {
            let mut row = raw();
            case(&mut row);
            match row.into_record() {
                Err(StoreError::Decode(message)) => {
                    assert!(!message.contains("[7, 7"), "{message}");
                }
                other => panic!("case {index}: {other:?}"),
            }
        }
    }
}
