//! The JSON the management API reads and writes, with its OpenAPI schemas.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    lifecycle::{CreatedKey, KeyInfo, KeyPage},
    record::RateLimit,
};

/// Latest expiry accepted, in Unix seconds: the last second of the year 9999. Every store keeps
/// times as microseconds in 64 bits, so this bound also keeps a far-future expiry storable.
pub(crate) const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Longest grace period for the previous secret after a regeneration: 30 days.
pub(crate) const MAX_GRACE_SECONDS: u64 = 30 * 24 * 60 * 60;

/// A key's permission: one of the two presets, or `restricted` to its `scopes`.
#[derive(ToSchema)]
#[schema(as = Permission, rename_all = "snake_case")]
#[allow(dead_code)] // only its schema is used: the values are `crate::Access`.
pub(crate) enum PermissionSchema {
    /// Every method, every scope.
    FullAccess,
    /// `GET`, `HEAD` and `OPTIONS` only; every `:read` scope.
    ReadOnly,
    /// Only the scopes in `scopes`.
    Restricted,
}

/// A scope: `RESOURCE:read` or `RESOURCE:write` (which includes reading) over a resource the
/// service declares.
#[derive(ToSchema)]
#[schema(value_type = String, pattern = "^[a-z][a-z0-9_]{0,31}:(read|write)$", example = "forms:read")]
#[allow(dead_code)] // only its schema is used.
pub(crate) struct Scope(String);

/// An API key as its organization sees it: everything but the secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKey {
    /// Public id, used in URLs.
    #[schema(example = "Ab3dEf6hIj9k", pattern = "^[0-9A-Za-z]{12}$")]
    pub(crate) id: String,
    /// The form the key is shown in: its prefix and id, never the secret.
    #[schema(example = "fbsk_Ab3dEf6hIj9k_…")]
    pub(crate) display: String,
    /// Its name, unique among the organization's keys that are not revoked.
    pub(crate) name: String,
    #[schema(value_type = PermissionSchema)]
    pub(crate) permission: &'static str,
    /// A restricted key's scopes, each resource once at the higher level held, alphabetically;
    /// absent for a preset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Scope>>, example = json!(["forms:write", "submissions:read"]))]
    pub(crate) scopes: Option<Vec<String>>,
    /// Its own rate limit; `null`: none.
    #[schema(required = true)]
    pub(crate) rate_limit: Option<ApiRateLimit>,
    /// When it was created, in Unix seconds.
    pub(crate) created_at: i64,
    /// When a request last used it, in Unix seconds, to the precision of the usage flush.
    pub(crate) last_used_at: Option<i64>,
    /// When it stops working, in Unix seconds.
    pub(crate) expires_at: Option<i64>,
    /// When it was revoked, in Unix seconds.
    pub(crate) revoked_at: Option<i64>,
    /// Until when the secret it had before its last regeneration still works, in Unix seconds.
    pub(crate) previous_secret_valid_until: Option<i64>,
}

impl From<KeyInfo> for ApiKey {
    fn from(info: KeyInfo) -> Self {
        Self {
            id: info.id.to_string(),
            display: info.display,
            name: info.name,
            permission: info.access.as_str(),
            scopes: info.access.scopes().map(|scopes| scopes.texts()),
            rate_limit: info.rate_limit.map(ApiRateLimit::from),
            created_at: unix_seconds(info.created_at),
            last_used_at: info.last_used_at.map(unix_seconds),
            expires_at: info.expires_at.map(unix_seconds),
            revoked_at: info.revoked_at.map(unix_seconds),
            previous_secret_valid_until: info.previous_secret_valid_until.map(unix_seconds),
        }
    }
}

/// A key's rate limit: at most `requests` requests per `per_seconds` seconds, which a client may
/// also spend at once.
// Read as it is written; the handlers check what is read with `RateLimit::new`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with `requests` and `per_seconds`"
)]
#[schema(as = RateLimit)]
pub(crate) struct ApiRateLimit {
    /// How many requests the window allows: 1 to 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub(crate) requests: u32,
    /// The window, in seconds: 1 to 86,400 (one day).
    #[schema(minimum = 1, maximum = 86_400)]
    pub(crate) per_seconds: u32,
}

impl From<RateLimit> for ApiRateLimit {
    fn from(limit: RateLimit) -> Self {
        Self {
            requests: limit.requests(),
            per_seconds: limit.per_seconds(),
        }
    }
}

/// A new key or secret: the only answer that carries key material.
#[derive(Serialize, ToSchema)]
pub(crate) struct NewSecret {
    /// The whole key. Store it now: it is never shown again.
    #[schema(example = "fbsk_Ab3dEf6hIj9k_…")]
    pub(crate) key: String,
    #[serde(flatten)]
    pub(crate) api_key: ApiKey,
}

impl From<CreatedKey> for NewSecret {
    fn from(created: CreatedKey) -> Self {
        Self {
            key: created.key.expose_secret().to_owned(),
            api_key: created.info.into(),
        }
    }
}

// The plaintext must not reach logs through `Debug`.
impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// One page of keys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyPage {
    pub(crate) data: Vec<ApiKey>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub(crate) next_cursor: Option<String>,
}

impl From<KeyPage> for ApiKeyPage {
    fn from(page: KeyPage) -> Self {
        Self {
            data: page.keys.into_iter().map(ApiKey::from).collect(),
            next_cursor: page.next_cursor.map(|cursor| cursor.to_string()),
        }
    }
}

/// What `POST /api-keys` reads.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used: `body::Object` reads the fields one by one.
pub(crate) struct NewApiKey {
    /// 1 to 100 characters, not all spaces, without control characters, invisible formatting
    /// characters (Unicode category Cf: zero-width spaces and joiners, direction marks and
    /// overrides, ...) or line and paragraph separators; surrounding spaces are trimmed and the
    /// name is stored in Unicode Normalization Form C (the pattern checks only for something
    /// other than spaces and for control characters). Unique among the organization's keys that
    /// are not revoked, ignoring case and Unicode composition.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "Zapier"
    )]
    name: String,
    permission: PermissionSchema,
    /// With `"permission": "restricted"`, and only then: its scopes, at least one, each over a
    /// resource the service declares.
    #[schema(min_items = 1, example = json!(["forms:read", "submissions:write"]))]
    scopes: Option<Vec<Scope>>,
    /// When the key stops working, in Unix seconds; in the future. `null` or absent: never.
    #[schema(minimum = 0, maximum = 253_402_300_799.0)]
    expires_at: Option<i64>,
    /// The key's own rate limit. `null` or absent: none.
    rate_limit: Option<ApiRateLimit>,
}

/// What `PATCH /api-keys/{id}` reads: the fields to change, each optional.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used.
pub(crate) struct ApiKeyChanges {
    /// A new name, under the same rules as at creation.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: Option<String>,
    /// A new expiry in Unix seconds, in the future; `null` removes the expiry.
    #[schema(minimum = 0, maximum = 253_402_300_799.0)]
    expires_at: Option<i64>,
    /// A new rate limit of the key's own; `null` removes it.
    rate_limit: Option<ApiRateLimit>,
    /// A new permission; with `restricted`, `scopes` too.
    permission: Option<PermissionSchema>,
    /// New scopes, with `"permission": "restricted"` only.
    #[schema(min_items = 1)]
    scopes: Option<Vec<Scope>>,
}

/// What `POST /api-keys/{id}/regenerate` reads. The body may be empty.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used.
pub(crate) struct Regeneration {
    /// How long the previous secret keeps working, in seconds (at most 30 days). 0 or absent:
    /// it stops at once.
    #[schema(minimum = 0, maximum = 2_592_000)]
    grace_period_seconds: Option<u64>,
}

/// Unix seconds, negative before 1970.
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}
