//! The name of the table a SQL store keeps its records in.

use std::{fmt, sync::Arc};

/// The table a SQL store uses unless told otherwise.
const DEFAULT_TABLE_NAME: &str = "formbox_api_keys";

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
/// use formbox_auth::sqlx::SqlitePool;
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
        if first_ok && rest_ok && name.len() <= MAX_NAME_BYTES {
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

    /// The name of the table's index `suffix`: the table's name, `_`, and `suffix`, within the
    /// 63 bytes PostgreSQL keeps of a name. A longer one keeps the start of the table's name and
    /// a checksum of all of it, since a name PostgreSQL cut short could be another relation's
    /// (the table's own, for a table name of 63 bytes), and `CREATE INDEX IF NOT EXISTS` would
    /// then silently create nothing.
    pub(crate) fn index_name(&self, suffix: &str) -> String {
        let name = format!("{}_{suffix}", self.0);
        if name.len() <= MAX_NAME_BYTES {
            return name;
        }
        let checksum = crc32fast::hash(self.0.as_bytes());
        // Table names are ASCII, so any byte is a character boundary.
        let kept = MAX_NAME_BYTES - suffix.len() - 10;
        format!("{}_{checksum:08x}_{suffix}", &self.0[..kept])
    }
}

/// The longest name PostgreSQL keeps whole.
const MAX_NAME_BYTES: usize = 63;

impl fmt::Debug for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
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
    fn index_names_fit_postgresql_and_stay_apart_from_the_table_name() {
        let short = TableName::default_name();
        assert_eq!(
            short.index_name("name_key_idx"),
            "formbox_api_keys_name_key_idx"
        );
        let long = TableName::new(&"a".repeat(63)).unwrap();
        let longer = TableName::new(&format!("{}b", "a".repeat(62))).unwrap();
        let (index, other) = (
            long.index_name("name_key_idx"),
            longer.index_name("name_key_idx"),
        );
        assert_eq!(index.len(), 63, "{index}");
        assert!(index.starts_with("aaaa") && index.ends_with("_name_key_idx"));
        assert_ne!(index, other);
        assert_ne!(index, long.as_str());
    }
}
