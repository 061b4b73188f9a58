//! A row as read, before it is checked to be a valid record.

use super::{Dialect, time::from_unix_micros};
use crate::{
    key::{KeyDigest, KeyId},
    permission::Access,
    record::{KeyRecord, OrganizationId, PreviousSecret, RateLimit},
    store::{Result, StoreError},
};

/// The columns of one row, as the database typed them.
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
    pub(crate) revision: i64,
    pub(crate) rate_limit_requests: Option<i64>,
    pub(crate) rate_limit_per_seconds: Option<i64>,
    pub(crate) scopes: Option<String>,
}

/// The value of a `NOT NULL` column.
fn required<T>(value: Option<T>, column: &str) -> Result<T> {
    value.ok_or_else(|| StoreError::Decode(format!("`{column}` is null")))
}

impl RawRecord {
    /// Reads every column of `row`.
    pub(crate) fn read<DB: Dialect>(row: &DB::Row) -> Result<Self> {
        let text = |column| required(DB::text(row, column)?, column);
        Ok(Self {
            id: text("id")?,
            organization: text("organization")?,
            name: text("name")?,
            permission: text("permission")?,
            digest: required(DB::bytes(row, "digest")?, "digest")?,
            previous_digest: DB::bytes(row, "previous_digest")?,
            previous_valid_until: DB::time(row, "previous_valid_until")?,
            created_at: required(DB::time(row, "created_at")?, "created_at")?,
            expires_at: DB::time(row, "expires_at")?,
            revoked_at: DB::time(row, "revoked_at")?,
            last_used_at: DB::time(row, "last_used_at")?,
            revision: required(DB::integer(row, "revision")?, "revision")?,
            rate_limit_requests: DB::integer(row, "rate_limit_requests")?,
            rate_limit_per_seconds: DB::integer(row, "rate_limit_per_seconds")?,
            scopes: DB::text(row, "scopes")?,
        })
    }

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
        let access = access(&self.permission, self.scopes.as_deref()).map_err(|m| decode(&m))?;
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
        let created_at = from_unix_micros(self.created_at, "created_at")?;
        let organization = OrganizationId::from(self.organization);
        let mut record = KeyRecord::new(id, organization, self.name, access, digest, created_at);
        record.previous = previous.map(Box::new);
        record.expires_at = optional(self.expires_at, "expires_at")?;
        record.revoked_at = optional(self.revoked_at, "revoked_at")?;
        record.last_used_at = optional(self.last_used_at, "last_used_at")?;
        record.revision =
            u64::try_from(self.revision).map_err(|_| decode("`revision` is negative"))?;
        record.rate_limit = rate_limit(self.rate_limit_requests, self.rate_limit_per_seconds)
            .map_err(|message| decode(&message))?;
        Ok(record)
    }
}

/// The access of the `permission` and `scopes` columns: a preset has no scopes, a restricted key
/// at least one, in their text form. The error says what is wrong.
fn access(permission: &str, scopes: Option<&str>) -> std::result::Result<Access, String> {
    let scopes = scopes.map(str::parse).transpose();
    let scopes = scopes.map_err(|error| format!("`scopes`: {error}"))?;
    Access::from_parts(permission, scopes).map_err(|error| format!("`permission`: {error}"))
}

/// The rate limit of the two columns: none when both are null, otherwise both must make a valid
/// [`RateLimit`]. The error says what is wrong.
fn rate_limit(
    requests: Option<i64>,
    per_seconds: Option<i64>,
) -> Result<Option<RateLimit>, String> {
    let (requests, per_seconds) = match (requests, per_seconds) {
        (None, None) => return Ok(None),
        (Some(requests), Some(per_seconds)) => (requests, per_seconds),
        _ => {
            return Err(
                "`rate_limit_requests` and `rate_limit_per_seconds` must be both set or both null"
                    .into(),
            );
        }
    };
    // Beyond a u32, the values are out of range all the same: 0 says so.
    let (requests, per_seconds) = (
        u32::try_from(requests).unwrap_or(0),
        u32::try_from(per_seconds).unwrap_or(0),
    );
    RateLimit::new(requests, per_seconds)
        .map(Some)
        .map_err(|error| format!("the rate limit is invalid: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            revision: 4,
            rate_limit_requests: None,
            rate_limit_per_seconds: None,
            scopes: None,
        }
    }

    #[test]
    fn a_restricted_row_has_its_scopes_and_a_preset_row_none() {
        let mut row = raw();
        row.permission = "restricted".into();
        row.scopes = Some("raw_forms:write raw_subs:read".into());
        let access = row.into_record().unwrap().access;
        assert_eq!(
            access.to_string(),
            "restricted(raw_forms:write raw_subs:read)"
        );
        assert_eq!(
            raw().into_record().unwrap().access,
            crate::permission::Access::ReadOnly
        );
    }

    #[test]
    fn a_valid_row_keeps_its_revision() {
        assert_eq!(raw().into_record().unwrap().revision, 4);
    }

    #[test]
    fn a_row_has_a_rate_limit_when_both_columns_are_set() {
        assert_eq!(raw().into_record().unwrap().rate_limit, None);
        let mut row = raw();
        row.rate_limit_requests = Some(1_000_000);
        row.rate_limit_per_seconds = Some(86_400);
        let limit = RateLimit::new(1_000_000, 86_400).unwrap();
        assert_eq!(row.into_record().unwrap().rate_limit, Some(limit));
    }

    #[test]
    fn malformed_rows_are_decode_errors() {
        let cases: [fn(&mut RawRecord); 15] = [
            |r| r.id = "not an id".into(),
            |r| r.digest = vec![7; 31],
            |r| r.permission = "admin".into(),
            |r| r.permission = "restricted".into(),
            |r| r.scopes = Some("raw_forms:read".into()),
            |r| {
                r.permission = "restricted".into();
                r.scopes = Some("raw_forms:admin".into());
            },
            |r| r.previous_digest = Some(vec![1; 32]),
            |r| {
                r.previous_digest = Some(vec![1; 3]);
                r.previous_valid_until = Some(0);
            },
            |r| r.revision = -1,
            |r| r.rate_limit_requests = Some(5),
            |r| r.rate_limit_per_seconds = Some(60),
            |r| {
                r.rate_limit_requests = Some(0);
                r.rate_limit_per_seconds = Some(60);
            },
            |r| {
                r.rate_limit_requests = Some(5);
                r.rate_limit_per_seconds = Some(86_401);
            },
            |r| {
                r.rate_limit_requests = Some(-5);
                r.rate_limit_per_seconds = Some(60);
            },
            |r| {
                r.rate_limit_requests = Some(i64::from(u32::MAX) + 5);
                r.rate_limit_per_seconds = Some(60);
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
