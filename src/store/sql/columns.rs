//! The table's columns: the one list every statement is written from and every record is bound
//! in.

use std::time::SystemTime;

use super::time::unix_micros;
use crate::{
    record::KeyRecord,
    store::{Result, StoreError},
};

/// One column of the table, as each database declares it.
#[derive(Debug)]
pub struct Column {
    pub(crate) name: &'static str,
    // A build with one of the two features reads only its own database's declarations.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) sqlite: &'static str,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) postgres: &'static str,
    /// Whether [`KeyStore::update`](crate::store::KeyStore::update) writes it.
    pub(crate) updated: bool,
}

impl Column {
    const fn new(name: &'static str, sqlite: &'static str, postgres: &'static str) -> Self {
        Self {
            name,
            sqlite,
            postgres,
            updated: true,
        }
    }

    /// A column that only an insert writes.
    const fn not_updated(self) -> Self {
        Self {
            updated: false,
            ..self
        }
    }
}

/// The column a table of version 0.1 lacks.
const REVISION: Column = Column::new(
    "revision",
    "INTEGER NOT NULL DEFAULT 0",
    "BIGINT NOT NULL DEFAULT 0",
);

/// The rate limit's two columns: both null (no limit) or both set. Nullable without a default,
/// so that adding them to a table with keys gives none of those keys a limit.
const RATE_LIMIT_REQUESTS: Column = Column::new("rate_limit_requests", "INTEGER", "BIGINT");
const RATE_LIMIT_PER_SECONDS: Column = Column::new("rate_limit_per_seconds", "INTEGER", "BIGINT");

/// The [name key](KeyRecord::name_key) of the name, which a partial unique index keeps unique
/// among an organization's keys that are not revoked. Null only where
/// [`migrate`](super::SqlStore::migrate) found an older key with the same name key: such a key
/// keeps its null until it is renamed ([`name_key_assignment`]). Compared by its bytes.
pub(crate) const NAME_KEY: Column = Column::new("name_key", "TEXT", r#"TEXT COLLATE "C""#);

/// A restricted key's scopes in their text form (`forms:write submissions:read`); null for a
/// preset, whose `permission` says it all. Nullable without a default, so that adding it to a
/// table of presets changes none of them.
const SCOPES: Column = Column::new("scopes", "TEXT", "TEXT");

/// The columns added to the table after version 0.1, in the order they came:
/// [`migrate`](super::SqlStore::migrate) adds each one a table lacks.
pub(crate) const ADDED_COLUMNS: [Column; 5] = [
    REVISION,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_PER_SECONDS,
    NAME_KEY,
    SCOPES,
];

/// How an update writes [`NAME_KEY`], given the placeholders of the new name and name key: a key
/// whose name key `migrate` left null keeps it null while its name stays the same, so that a
/// regeneration or a revocation of it still works; a rename gives it its name key.
pub(crate) fn name_key_assignment(name: &str, name_key: &str) -> String {
    format!("CASE WHEN name_key IS NULL AND name = {name} THEN NULL ELSE {name_key} END")
}

/// Every column, in the order [`values`] gives a record's values.
///
/// SQLite has no timestamp type: its times are `INTEGER` microseconds since the Unix epoch, which
/// keep every microsecond, sort as numbers and need no parsing. PostgreSQL's `TIMESTAMPTZ` keeps
/// microseconds too. In PostgreSQL, `COLLATE "C"` orders ids by their bytes, as every other store
/// does, whatever the database's locale.
pub(crate) const COLUMNS: [Column; 16] = [
    // The id an update finds its row by.
    Column::new(
        "id",
        "TEXT NOT NULL PRIMARY KEY",
        r#"TEXT COLLATE "C" PRIMARY KEY"#,
    )
    .not_updated(),
    Column::new(
        "organization",
        "TEXT NOT NULL",
        r#"TEXT COLLATE "C" NOT NULL"#,
    ),
    Column::new("name", "TEXT NOT NULL", "TEXT NOT NULL"),
    Column::new("permission", "TEXT NOT NULL", "TEXT NOT NULL"),
    Column::new("digest", "BLOB NOT NULL", "BYTEA NOT NULL"),
    Column::new("previous_digest", "BLOB", "BYTEA"),
    Column::new("previous_valid_until", "INTEGER", "TIMESTAMPTZ"),
    Column::new("created_at", "INTEGER NOT NULL", "TIMESTAMPTZ NOT NULL"),
    Column::new("expires_at", "INTEGER", "TIMESTAMPTZ"),
    Column::new("revoked_at", "INTEGER", "TIMESTAMPTZ"),
    // Only `record_usage` moves it, so that a flush never undoes a change and the other way round.
    Column::new("last_used_at", "INTEGER", "TIMESTAMPTZ").not_updated(),
    REVISION,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_PER_SECONDS,
    NAME_KEY,
    SCOPES,
];

/// Where [`values`] binds the organization, counting from 1 as bind parameters do.
pub(crate) const ORGANIZATION_POSITION: usize = 2;

/// One value as a statement binds it.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// `TEXT`.
    Text(&'a str),
    /// `TEXT` that may be null.
    OptionalText(Option<&'a str>),
    /// `BLOB` or `BYTEA`.
    Bytes(Option<&'a [u8]>),
    /// A time, in whole microseconds since the Unix epoch.
    Time(Option<i64>),
    /// `INTEGER` or `BIGINT`.
    Integer(Option<i64>),
}

/// What a row holds of a record beyond its fields as they are: the text the crate computes from
/// them.
pub(crate) struct Derived {
    /// The [name key](KeyRecord::name_key).
    name_key: String,
    /// A restricted key's scopes, as text.
    scopes: Option<String>,
}

impl Derived {
    pub(crate) fn of(record: &KeyRecord) -> Self {
        Self {
            name_key: record.name_key(),
            scopes: record.access.scopes().map(ToString::to_string),
        }
    }
}

/// `record`'s value for each of [`COLUMNS`], in their order, with what `derived` computed of it.
pub(crate) fn values<'a>(
    record: &'a KeyRecord,
    derived: &'a Derived,
) -> Result<[Value<'a>; COLUMNS.len()]> {
    let time = |time: Option<SystemTime>| time.map(unix_micros).transpose().map(Value::Time);
    let previous = record.previous.as_deref();
    let limit = record.rate_limit;
    Ok([
        Value::Text(record.id.as_str()),
        Value::Text(record.organization.as_str()),
        Value::Text(&record.name),
        Value::Text(record.access.as_str()),
        Value::Bytes(Some(record.digest.as_bytes())),
        Value::Bytes(previous.map(|previous| &previous.digest.as_bytes()[..])),
        time(previous.map(|previous| previous.valid_until))?,
        time(Some(record.created_at))?,
        time(record.expires_at)?,
        time(record.revoked_at)?,
        time(record.last_used_at)?,
        Value::Integer(Some(revision(record.revision)?)),
        Value::Integer(limit.map(|limit| i64::from(limit.requests()))),
        Value::Integer(limit.map(|limit| i64::from(limit.per_seconds()))),
        Value::Text(&derived.name_key),
        Value::OptionalText(derived.scopes.as_deref()),
    ])
}

/// The values an update writes: those of the [`COLUMNS`] it updates, in their order.
pub(crate) fn updated_values<'a>(
    record: &'a KeyRecord,
    derived: &'a Derived,
) -> Result<impl Iterator<Item = Value<'a>>> {
    let values = values(record, derived)?;
    Ok(COLUMNS
        .iter()
        .zip(values)
        .filter(|(column, _)| column.updated)
        .map(|(_, value)| value))
}

/// A revision as the `revision` column holds it.
pub(crate) fn revision(revision: u64) -> Result<i64> {
    i64::try_from(revision)
        .map_err(|_| StoreError::backend("the revision is beyond what the key store can hold"))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{key::KeyDigest, permission::Permission, record::RateLimit};

    fn record() -> KeyRecord {
        let id = "0123456789ab".parse().unwrap();
        let digest = KeyDigest::from_bytes([7; 32]);
        let created_at = UNIX_EPOCH + Duration::from_micros(5);
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
    fn an_update_writes_everything_but_the_id_and_the_last_use() {
        let mut record = record();
        record.last_used_at = Some(UNIX_EPOCH);
        record.revision = 3;
        let derived = Derived::of(&record);
        let updated: Vec<_> = updated_values(&record, &derived).unwrap().collect();
        assert_eq!(updated.len(), COLUMNS.len() - 2);
        assert!(matches!(updated[0], Value::Text("org")));
        assert!(matches!(
            updated[..],
            [
                ..,
                Value::Integer(Some(3)),
                Value::Integer(None),
                Value::Integer(None),
                Value::Text("ci"),
                Value::OptionalText(None)
            ]
        ));
    }

    #[test]
    fn a_rate_limit_is_its_two_columns_and_none_is_two_nulls() {
        let position = |name| COLUMNS.iter().position(|c| c.name == name).unwrap();
        let (requests, per_seconds) = (
            position("rate_limit_requests"),
            position("rate_limit_per_seconds"),
        );
        let mut record = record();
        let derived = Derived::of(&record);
        let none = values(&record, &derived).unwrap();
        assert!(matches!(none[requests], Value::Integer(None)));
        assert!(matches!(none[per_seconds], Value::Integer(None)));
        record.rate_limit = Some(RateLimit::new(600, 60).unwrap());
        let derived = Derived::of(&record);
        let some = values(&record, &derived).unwrap();
        assert!(matches!(some[requests], Value::Integer(Some(600))));
        assert!(matches!(some[per_seconds], Value::Integer(Some(60))));
        let derived = Derived::of(&record);
        let updated: Vec<_> = updated_values(&record, &derived).unwrap().collect();
        assert!(matches!(
            updated[..],
            [
                ..,
                Value::Integer(Some(600)),
                Value::Integer(Some(60)),
                Value::Text(_),
                Value::OptionalText(None)
            ]
        ));
    }

    #[test]
    fn every_added_column_is_a_column_of_the_table() {
        for added in &ADDED_COLUMNS {
            let column = COLUMNS.iter().find(|c| c.name == added.name).unwrap();
            assert_eq!(
                (column.sqlite, column.postgres),
                (added.sqlite, added.postgres)
            );
        }
    }

    #[test]
    fn the_organization_is_bound_at_its_position() {
        assert_eq!(COLUMNS[ORGANIZATION_POSITION - 1].name, "organization");
        let record = record();
        let derived = Derived::of(&record);
        let values = values(&record, &derived).unwrap();
        assert!(matches!(
            values[ORGANIZATION_POSITION - 1],
            Value::Text("org")
        ));
    }

    #[test]
    fn revisions_beyond_the_column_are_errors() {
        let mut record = record();
        record.revision = u64::MAX;
        let derived = Derived::of(&record);
        assert!(matches!(
            values(&record, &derived),
            Err(StoreError::Backend(_))
        ));
        record.revision = i64::MAX.unsigned_abs();
        assert!(values(&record, &derived).is_ok());
    }
}
