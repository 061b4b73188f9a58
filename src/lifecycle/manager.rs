//! [`KeyManager`]: every change of a key, with all the rules in one place.

use std::time::{Duration, SystemTime};

use super::{
    CreatedKey, KeyChanges, KeyInfo, KeyPage, LeakOutcome, ManageError, ManageResult, NewKey,
    bound::{Bound, check_declared},
    changes::{self, Applied},
    name::validate_name,
};
use crate::{
    authenticator::{Authenticator, deadline::Deadline},
    context::AuthContext,
    events::KeyEvent,
    key::{KeyId, PlaintextKey},
    permission::Resources,
    record::{KeyRecord, OrganizationId, PreviousSecret, whole_micros},
    secret::{SecretMatch, match_secret},
    store::{ActiveKeyLimit, Inserted, KeyStore, ListCursor, StoreError, Updated},
};

/// How many fresh ids to try before giving up on a collision. With 71 bits per id, a second
/// collision in a row means the store, not chance.
const ID_ATTEMPTS: usize = 4;

/// How often a change is read and tried again when other changes of the same key keep coming in
/// between its read and its write.
const WRITE_ATTEMPTS: usize = 8;

/// Creates, lists, revokes and regenerates keys, with all the rules in one place.
///
/// Give the layer the same [`Authenticator`] (store, format, clock, events, usage), so a
/// revocation through the manager takes effect for the next request:
/// `ApiKeyAuthLayer::new(manager.authenticator().clone())`.
///
/// ```
/// use formbox_auth::{ApiKeyAuthLayer, KeyManager, MemoryStore, OrganizationId, Permission};
/// use formbox_auth::lifecycle::NewKey;
/// use std::time::Duration;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let manager = KeyManager::new(MemoryStore::new());
/// let layer = ApiKeyAuthLayer::new(manager.authenticator().clone());
/// let org = OrganizationId::from("org_1");
///
/// let created = manager.create(&org, NewKey::new("Zapier", Permission::ReadOnly)).await?;
/// println!("your key, shown once: {}", created.key.expose_secret());
///
/// let listed = manager.list(&org).await?;
/// assert_eq!(listed[0].display, format!("fbsk_{}_…", created.info.id));
///
/// let rotated = manager.regenerate(&org, created.info.id, Some(Duration::from_secs(3600))).await?;
/// manager.revoke(&org, rotated.info.id).await?;
/// # Ok::<(), formbox_auth::lifecycle::ManageError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct KeyManager {
    authenticator: Authenticator,
    max_keys_per_organization: Option<usize>,
    resources: Resources,
    /// The key every change is made as, if any: see [`acting_as`](Self::acting_as).
    bound: Option<Bound>,
}

impl KeyManager {
    /// Manages the keys of a store, or of a configured [`Authenticator`] (its format, clock,
    /// events and store timeout): anything that converts into one.
    pub fn new(authenticator: impl Into<Authenticator>) -> Self {
        Self {
            authenticator: authenticator.into(),
            max_keys_per_organization: None,
            resources: Resources::none(),
            bound: None,
        }
    }

    /// Lets restricted keys hold scopes over `resources`, the service's declaration; a key
    /// with any other scope is refused ([`ManageError::InvalidScope`]). Without it, keys are
    /// presets only.
    ///
    /// ```
    /// use formbox_auth::{Access, KeyManager, MemoryStore, OrganizationId, lifecycle::NewKey, permission::Resources};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let resources = Resources::new(["forms", "submissions"])?;
    /// let manager = KeyManager::new(MemoryStore::new()).with_resources(resources.clone());
    /// let scopes = resources.scopes(["forms:read", "submissions:write"])?;
    /// let created = manager.create(&OrganizationId::from("org_1"), NewKey::new("Zapier", scopes)).await?;
    /// assert_eq!(created.info.access, Access::Restricted(scopes));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn with_resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// The resources restricted keys' scopes may name.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// This manager, making every change as the key of `context`, as a management API does for
    /// the key that called it: a key never grants more than it holds.
    ///
    /// - A new key, or a key's new access, may do only what the acting key may do
    ///   ([`Access::lacks_to_grant`](crate::Access::lacks_to_grant)); only `full_access` gives
    ///   a preset.
    /// - Keys that may do more than the acting key cannot be changed, regenerated or revoked by
    ///   it.
    /// - The acting key cannot raise or remove its own rate limit, nor move or remove its own
    ///   expiry ([`ManageError::LoosensOwnLimits`]).
    ///
    /// Refusals are [`ManageError::InsufficientAccess`], naming what the acting key lacks.
    ///
    /// ```
    /// use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission};
    /// use formbox_auth::{lifecycle::{ManageError, NewKey}, permission::{Required, Resources}};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let resources = Resources::new(["forms", "api_keys"])?;
    /// let manager = KeyManager::new(MemoryStore::new()).with_resources(resources.clone());
    /// let org = OrganizationId::from("org_1");
    /// let scopes = resources.scopes(["forms:write", "api_keys:write"])?;
    /// let created = manager.create(&org, NewKey::new("forms admin", scopes)).await?;
    /// let caller = manager.authenticator().authenticate(created.key.expose_secret()).await?;
    ///
    /// let as_caller = manager.acting_as(&caller);
    /// let forms_read = resources.scopes(["forms:read"])?;
    /// assert!(as_caller.create(&org, NewKey::new("reader", forms_read)).await.is_ok());
    /// let escalation = as_caller.create(&org, NewKey::new("admin", Permission::FullAccess)).await;
    /// assert!(matches!(
    ///     escalation,
    ///     Err(ManageError::InsufficientAccess { required: Required::Permission(Permission::FullAccess) })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn acting_as(&self, context: &AuthContext) -> Self {
        Self {
            bound: Some(Bound::new(context)),
            ..self.clone()
        }
    }

    /// Refuses to create a key for an organization that already has `limit` active (neither
    /// revoked nor expired) keys. The store counts and inserts in one atomic step, so the cap
    /// holds however many creates run at once, on however many instances.
    #[must_use]
    pub fn with_max_keys_per_organization(mut self, limit: usize) -> Self {
        self.max_keys_per_organization = Some(limit);
        self
    }

    /// The authenticator shared with layers.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// Creates `key` and returns its plaintext, the only time it exists.
    ///
    /// The name is trimmed and stored in Unicode Normalization Form C; it is 1 to
    /// [`NewKey::MAX_NAME_CHARS`] characters, none of them a control character, an invisible
    /// formatting character (zero-width spaces and joiners, direction marks and overrides, ...)
    /// or a line or paragraph separator ([`ManageError::InvalidName`] says which). It must differ
    /// from the names of the organization's keys that are not revoked, ignoring case, surrounding
    /// spaces and composition ([`KeyRecord::name_key`], [`ManageError::NameTaken`]). The store
    /// decides that in the same atomic step as the insert: of two creates with one name at the
    /// same moment, on however many instances, one succeeds. An expiry must be in the future
    /// ([`ManageError::ExpiryInPast`]).
    ///
    /// ```
    /// use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission};
    /// use formbox_auth::{lifecycle::NewKey, rate_limit::RateLimit};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = KeyManager::new(MemoryStore::new());
    /// let limit = RateLimit::new(600, 60).unwrap();
    /// let key = NewKey::new("Zapier", Permission::ReadOnly).rate_limit(Some(limit));
    /// let created = manager.create(&OrganizationId::from("org_1"), key).await?;
    /// assert_eq!(created.info.rate_limit, Some(limit));
    /// # Ok::<(), formbox_auth::lifecycle::ManageError>(())
    /// # }).unwrap();
    /// ```
    pub async fn create(
        &self,
        organization: &OrganizationId,
        key: NewKey,
    ) -> ManageResult<CreatedKey> {
        let name = validate_name(&key.name)?;
        if organization.as_str().is_empty() {
            return Err(ManageError::EmptyOrganization);
        }
        check_declared(&self.resources, &key.access)?;
        if let Some(bound) = &self.bound {
            bound.may_grant(&key.access)?;
        }
        let now = self.now();
        if key.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(ManageError::ExpiryInPast);
        }
        let deadline = self.authenticator.deadline();
        for _ in 0..ID_ATTEMPTS {
            let plaintext = self.authenticator.format().generate()?;
            let mut record = KeyRecord::new(
                plaintext.id(),
                organization.clone(),
                name.as_str(),
                key.access,
                plaintext.digest(),
                now,
            );
            record.expires_at = key.expires_at;
            record.rate_limit = key.rate_limit;
            let record = record.with_whole_micros();
            match self.insert(&record, now, deadline).await? {
                Inserted::Stored => {
                    self.emit(KeyEvent::Created {
                        organization: organization.clone(),
                        key_id: plaintext.id(),
                        access: key.access,
                    });
                    return Ok(self.created(plaintext, record));
                }
                Inserted::LimitReached => {
                    let limit = self.max_keys_per_organization.unwrap_or_default();
                    return Err(ManageError::TooManyKeys { limit });
                }
                Inserted::NameTaken => return Err(ManageError::NameTaken),
                Inserted::IdTaken => {}
            }
        }
        Err(ManageError::IdCollision)
    }

    /// The organization's keys, newest first, without digests.
    pub async fn list(&self, organization: &OrganizationId) -> ManageResult<Vec<KeyInfo>> {
        let records = self
            .authenticator
            .deadline()
            .bound(self.all_records(organization))
            .await?;
        Ok(records
            .into_iter()
            .map(|record| self.info(record))
            .collect())
    }

    /// One page of the organization's keys, newest first, without digests: the first `limit`
    /// keys, or the `limit` keys after `cursor`, the [`next_cursor`](KeyPage::next_cursor) of
    /// the page before.
    ///
    /// `limit` is 1 to [`KeyPage::MAX_LIMIT`] ([`ManageError::InvalidPageLimit`] otherwise);
    /// [`KeyPage::DEFAULT_LIMIT`] suits a request that names none. `next_cursor` is `None` on the
    /// last page. The store reads only the page ([`KeyStore::list_page`]), not every key.
    ///
    /// Pages follow a position in the list, not a snapshot: while a client pages, no key is
    /// repeated or skipped, a key created meanwhile shows on the first page (it is the newest)
    /// rather than on a later one, and a revocation shows on the pages read after it.
    pub async fn list_page(
        &self,
        organization: &OrganizationId,
        cursor: Option<&ListCursor>,
        limit: usize,
    ) -> ManageResult<KeyPage> {
        if !(1..=KeyPage::MAX_LIMIT).contains(&limit) {
            return Err(ManageError::InvalidPageLimit { limit });
        }
        // One more than the page says whether another page follows.
        let mut records = self
            .authenticator
            .deadline()
            .bound(self.store().list_page(organization, cursor, limit + 1))
            .await?;
        let more = records.len() > limit;
        records.truncate(limit);
        let next_cursor = match records.last() {
            Some(last) if more => Some(cursor_after(last)?),
            _ => None,
        };
        Ok(KeyPage {
            keys: records
                .into_iter()
                .map(|record| self.info(record))
                .collect(),
            next_cursor,
        })
    }

    /// One key of the organization. A key of another organization is [`ManageError::NotFound`].
    pub async fn get(&self, organization: &OrganizationId, id: KeyId) -> ManageResult<KeyInfo> {
        let deadline = self.authenticator.deadline();
        Ok(self.info(self.record(organization, id, deadline).await?))
    }

    /// Revokes a key: every following request with it is `revoked_api_key`. Revoking a revoked
    /// key changes nothing and succeeds.
    pub async fn revoke(&self, organization: &OrganizationId, id: KeyId) -> ManageResult<KeyInfo> {
        let now = self.now();
        let (record, changed) = self
            .change(organization, id, self.authenticator.deadline(), |record| {
                if record.revoked_at.is_some() {
                    return Ok(false);
                }
                if let Some(bound) = &self.bound {
                    bound.may_act_on(record)?;
                }
                record.revoked_at = Some(now);
                Ok(true)
            })
            .await?;
        if changed {
            self.emit(KeyEvent::Revoked {
                organization: record.organization.clone(),
                key_id: id,
                leaked: false,
            });
        }
        Ok(self.info(record))
    }

    /// Gives a key a new secret; id, name, permission, rate limit and organization stay.
    ///
    /// Without `grace` the old secret fails at once. With it, both work until the grace period
    /// ends (but not past the key's own expiry), then only the new one. A grace period still
    /// running from an earlier regeneration ends now.
    pub async fn regenerate(
        &self,
        organization: &OrganizationId,
        id: KeyId,
        grace: Option<Duration>,
    ) -> ManageResult<CreatedKey> {
        let key = self.authenticator.format().generate_for(id)?;
        let now = self.now();
        let (record, _) = self
            .change(organization, id, self.authenticator.deadline(), |record| {
                if record.revoked_at.is_some() {
                    return Err(ManageError::Revoked);
                }
                if let Some(bound) = &self.bound {
                    bound.may_act_on(record)?;
                }
                let valid_until = |grace| {
                    let end = grace_end(now, grace);
                    record.expires_at.map_or(end, |expiry| expiry.min(end))
                };
                record.previous = grace.filter(|grace| !grace.is_zero()).map(|grace| {
                    Box::new(PreviousSecret {
                        digest: record.digest,
                        valid_until: valid_until(grace),
                    })
                });
                record.digest = key.digest();
                Ok(true)
            })
            .await?;
        self.emit(KeyEvent::Regenerated {
            organization: record.organization.clone(),
            key_id: id,
            grace,
        });
        Ok(self.created(key, record))
    }

    /// Renames a key, sets or clears its expiry, sets or removes its rate limit and changes its
    /// access in one write: everything asked changes, or nothing.
    ///
    /// - A new name is trimmed, composed and validated as by [`create`](Self::create), and must
    ///   not be another active key's ([`ManageError::NameTaken`]), decided atomically with the
    ///   write by the store, as there. A key may take its own name in another case.
    /// - A new expiry must be in the future ([`ManageError::ExpiryInPast`]); clearing one works
    ///   unless the key has expired, which is final ([`ManageError::Expired`]). A grace period of
    ///   the previous secret ends no later than the new expiry.
    /// - New scopes must be declared, as by [`create`](Self::create).
    /// - A revoked key cannot change ([`ManageError::Revoked`]).
    /// - Acting as a key ([`acting_as`](Self::acting_as)), its bounds hold.
    ///
    /// Changes that change nothing ([`KeyChanges::new`], or the values the key has) write
    /// nothing and report nothing; otherwise [`KeyEvent::Renamed`],
    /// [`KeyEvent::ExpiryChanged`], [`KeyEvent::RateLimitChanged`] and
    /// [`KeyEvent::AccessChanged`] report what changed.
    pub async fn update(
        &self,
        organization: &OrganizationId,
        id: KeyId,
        changes: KeyChanges,
    ) -> ManageResult<KeyInfo> {
        let name = changes.name.as_deref().map(validate_name).transpose()?;
        let now = self.now();
        if let Some(Some(expiry)) = changes.expires_at
            && expiry <= now
        {
            return Err(ManageError::ExpiryInPast);
        }
        if let Some(access) = &changes.access {
            check_declared(&self.resources, access)?;
        }
        let deadline = self.authenticator.deadline();
        let mut applied = Applied::default();
        let (record, changed) = self
            .change(organization, id, deadline, |record| {
                if record.revoked_at.is_some() {
                    return Err(ManageError::Revoked);
                }
                if let Some(bound) = &self.bound {
                    bound.may_change(record, &changes)?;
                }
                let moves_expiry = changes
                    .expires_at
                    .is_some_and(|expiry| record.expires_at != expiry.map(whole_micros));
                if moves_expiry && record.is_expired_at(now) {
                    return Err(ManageError::Expired);
                }
                applied = changes::apply(record, name.as_deref(), &changes);
                Ok(applied.any())
            })
            .await?;
        if changed {
            self.emit_update(&record, applied);
        }
        Ok(self.info(record))
    }

    /// Revokes keys from their plaintext alone, as a secret-scanning report delivers them,
    /// without knowing their organizations. Returns one outcome per key, in order.
    ///
    /// Only the full key revokes: knowing an id (which is public) is not enough.
    pub async fn revoke_leaked<I>(&self, keys: I) -> ManageResult<Vec<LeakOutcome>>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut outcomes = Vec::new();
        for key in keys {
            outcomes.push(self.revoke_one_leaked(key.as_ref().trim()).await?);
        }
        Ok(outcomes)
    }

    async fn revoke_one_leaked(&self, text: &str) -> ManageResult<LeakOutcome> {
        let Ok(parsed) = self.authenticator.format().parse(text) else {
            return Ok(LeakOutcome::Malformed);
        };
        let digest = parsed.digest();
        let deadline = self.authenticator.deadline();
        for _ in 0..WRITE_ATTEMPTS {
            let Some(current) = deadline.bound(self.store().get(&parsed.id())).await? else {
                return Ok(LeakOutcome::Unknown);
            };
            let (organization, key_id) = (current.organization.clone(), current.id);
            let mut record = current.next_revision();
            let outcome = match match_secret(&current, &digest, Some(self.now())) {
                SecretMatch::Neither => return Ok(LeakOutcome::Unknown),
                SecretMatch::Previous => {
                    record.previous = None;
                    LeakOutcome::GraceEnded {
                        organization,
                        key_id,
                    }
                }
                SecretMatch::Current if current.revoked_at.is_some() => {
                    return Ok(LeakOutcome::AlreadyRevoked {
                        organization,
                        key_id,
                    });
                }
                SecretMatch::Current => {
                    record.revoked_at = Some(self.now());
                    LeakOutcome::Revoked {
                        organization,
                        key_id,
                    }
                }
            };
            if self.write(&current, &record, deadline).await? {
                if let LeakOutcome::Revoked {
                    organization,
                    key_id,
                } = &outcome
                {
                    self.emit(KeyEvent::Revoked {
                        organization: organization.clone(),
                        key_id: *key_id,
                        leaked: true,
                    });
                }
                return Ok(outcome);
            }
        }
        Err(ManageError::Conflict)
    }

    /// The record `id` if it belongs to `organization`; another organization's key is not found,
    /// so that ids of other tenants cannot be probed.
    async fn record(
        &self,
        organization: &OrganizationId,
        id: KeyId,
        deadline: Deadline,
    ) -> ManageResult<KeyRecord> {
        match deadline.bound(self.store().get(&id)).await? {
            Some(record) if record.organization == *organization => Ok(record),
            _ => Err(ManageError::NotFound),
        }
    }

    /// Reads the key, lets `apply` change it (`Ok(false)`: nothing to write), and writes the
    /// result only if the stored record is still at the revision read ([`KeyStore::update`]).
    /// When another change of the same key came in between, it starts over from that change, so
    /// that neither is lost. Returns the record as stored and whether this call changed it.
    async fn change(
        &self,
        organization: &OrganizationId,
        id: KeyId,
        deadline: Deadline,
        mut apply: impl FnMut(&mut KeyRecord) -> ManageResult<bool>,
    ) -> ManageResult<(KeyRecord, bool)> {
        for _ in 0..WRITE_ATTEMPTS {
            let current = self.record(organization, id, deadline).await?;
            let mut record = current.next_revision();
            if !apply(&mut record)? {
                return Ok((current, false));
            }
            let record = record.with_whole_micros();
            if self.write(&current, &record, deadline).await? {
                return Ok((record, true));
            }
        }
        Err(ManageError::Conflict)
    }

    /// Writes `record` over `current` ([`KeyStore::update`]): `Ok(false)` if another change
    /// came first, [`ManageError::NameTaken`] if another active key has its name.
    ///
    /// A write that failed or timed out may still have been applied, or be on its way: a
    /// regeneration would then have replaced a working key by one nobody was shown. So the
    /// outcome is settled before answering, within a tenth of the store timeout more: the
    /// record's revision is moved past `current` (a write that changes nothing), after which no
    /// write still on its way can land; if that fails because the revision already moved, the
    /// stored record says whether this write landed. Only when the store cannot be reached in
    /// that time is the outcome left unknown, and reported as the store error.
    async fn write(
        &self,
        current: &KeyRecord,
        record: &KeyRecord,
        deadline: Deadline,
    ) -> ManageResult<bool> {
        let error = match deadline
            .bound(self.store().update(record, current.revision))
            .await
        {
            Ok(Updated::Stored) => return Ok(true),
            Ok(Updated::Stale) => return Ok(false),
            Ok(Updated::NameTaken) => return Err(ManageError::NameTaken),
            Err(error) => error,
        };
        let settle = async {
            let fence = current.next_revision();
            if self.store().update(&fence, current.revision).await? == Updated::Stored {
                // Nothing landed, and now nothing can: the change did not happen.
                return Ok(None);
            }
            let stored = self.store().get(&record.id).await?;
            // Otherwise another change came first, or this one landed and was overwritten since.
            Ok(Some(stored.is_some_and(|stored| landed(&stored, record))))
        };
        match deadline.settling().bound(settle).await {
            Ok(Some(written)) => Ok(written),
            Ok(None) | Err(_) => Err(error.into()),
        }
    }

    /// Stores a new record, within the cap on active keys if there is one: the count and the
    /// insert are one atomic step of the store ([`KeyStore::insert`]), so concurrent
    /// creates cannot exceed it.
    ///
    /// An insert that failed or timed out may have been applied: the stored record then says so,
    /// and the key is handed out rather than left working for nobody.
    async fn insert(
        &self,
        record: &KeyRecord,
        now: SystemTime,
        deadline: Deadline,
    ) -> ManageResult<Inserted> {
        let limit = self.max_keys_per_organization.map(|limit| ActiveKeyLimit {
            max: u32::try_from(limit).unwrap_or(u32::MAX),
            at: now,
        });
        let error = match deadline.bound(self.store().insert(record, limit)).await {
            Ok(inserted) => return Ok(inserted),
            Err(error) => error,
        };
        let settle = deadline.settling().bound(self.store().get(&record.id));
        match settle.await {
            Ok(Some(stored)) if landed(&stored, record) => Ok(Inserted::Stored),
            _ => Err(error.into()),
        }
    }

    fn created(&self, key: PlaintextKey, record: KeyRecord) -> CreatedKey {
        CreatedKey {
            key,
            info: self.info(record),
        }
    }

    pub(super) fn info(&self, record: KeyRecord) -> KeyInfo {
        KeyInfo::new(record, self.authenticator.format())
    }

    /// Every key of `organization`, newest first: one page without end.
    pub(super) async fn all_records(
        &self,
        organization: &OrganizationId,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.store().list_page(organization, None, usize::MAX).await
    }

    fn store(&self) -> &dyn KeyStore {
        self.authenticator.store()
    }

    /// The time, to the microsecond: the precision every store keeps, so that what this manager
    /// returns is exactly what it stored.
    pub(super) fn now(&self) -> SystemTime {
        whole_micros(self.authenticator.clock().now())
    }

    fn emit(&self, event: KeyEvent) {
        self.authenticator.emit(&event);
    }

    /// The events of an update that changed `record`.
    fn emit_update(&self, record: &KeyRecord, applied: Applied) {
        let organization = &record.organization;
        if applied.renamed {
            self.emit(KeyEvent::Renamed {
                organization: organization.clone(),
                key_id: record.id,
            });
        }
        if applied.expiry {
            self.emit(KeyEvent::ExpiryChanged {
                organization: organization.clone(),
                key_id: record.id,
                expires_at: record.expires_at,
            });
        }
        if applied.rate_limit {
            self.emit(KeyEvent::RateLimitChanged {
                organization: organization.clone(),
                key_id: record.id,
                rate_limit: record.rate_limit,
            });
        }
        if applied.access {
            self.emit(KeyEvent::AccessChanged {
                organization: organization.clone(),
                key_id: record.id,
                access: record.access,
            });
        }
    }
}

/// The cursor after `last`, the last key of a page.
fn cursor_after(last: &KeyRecord) -> ManageResult<ListCursor> {
    ListCursor::after(last).ok_or_else(|| {
        let beyond = format!(
            "key {}: `created_at` is beyond what a list cursor holds",
            last.id
        );
        ManageError::Store(StoreError::Decode(beyond))
    })
}

/// When a grace period of `grace` from `now` ends: at the latest the end of the year 9999, so
/// that any grace, `Duration::MAX` included, gives a time every store keeps.
fn grace_end(now: SystemTime, grace: Duration) -> SystemTime {
    let latest = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    now.checked_add(grace).map_or(latest, |end| end.min(latest))
}

/// Whether `stored` is `written` as it landed: the same revision and everything but the usage
/// time.
fn landed(stored: &KeyRecord, written: &KeyRecord) -> bool {
    let mut stored = stored.clone();
    stored.last_used_at = written.last_used_at;
    stored == *written
}
