//! [`KeyManager::ensure_key`]: an organization's first key, made once however often it is asked
//! for.

use super::{
    CreatedKey, KeyInfo, ManageError, ManageResult, NewKey, manager::KeyManager,
    name::validate_name,
};
use crate::{
    permission::access::Access,
    record::{OrganizationId, name_key},
};

/// What [`KeyManager::ensure_key`] found or made.
#[derive(Debug)]
#[must_use = "a created key's plaintext exists only here: show it or store it"]
pub enum EnsuredKey {
    /// The key did not exist and was created: its plaintext, shown this once.
    Created(CreatedKey),
    /// An active key with the name and permission exists already. Its plaintext cannot be shown
    /// again: whoever it was created for has it.
    Existing(KeyInfo),
}

impl EnsuredKey {
    /// The key's details, created or existing.
    pub fn info(&self) -> &KeyInfo {
        match self {
            Self::Created(created) => &created.info,
            Self::Existing(info) => info,
        }
    }
}

impl KeyManager {
    /// Makes sure `organization` has an active key named `name` with `access` (a preset
    /// [`Permission`](crate::Permission) or [`Scopes`](crate::permission::Scopes)), creating it
    /// only if it has none: a service can call this at every start to issue an organization's
    /// first key against its own store, and print the key only the first time.
    ///
    /// - An active key (neither revoked nor expired) whose name matches (trimmed, ignoring case,
    ///   as [`create`](Self::create) compares names) and whose access is `access`:
    ///   [`EnsuredKey::Existing`], without plaintext. Nothing is written.
    /// - Otherwise the key is created as by [`create`](Self::create), with no expiry:
    ///   [`EnsuredKey::Created`], with the plaintext. A revoked key gives its name up, so it is
    ///   replaced by a new key.
    /// - A key that holds the name but is not that key (another access; or expired and not
    ///   revoked, which still holds its name) is never handed back nor changed:
    ///   [`ManageError::NameTaken`]. Revoke or rename it to ensure a new one.
    ///
    /// Calls at the same moment create one key: the store refuses a second active key with one
    /// name ([`KeyStore::insert`](crate::KeyStore::insert)), and the caller that loses reads the
    /// winner's key and answers [`EnsuredKey::Existing`].
    ///
    /// ```
    /// use formbox_auth::{KeyManager, MemoryStore, OrganizationId, Permission};
    /// use formbox_auth::lifecycle::EnsuredKey;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = KeyManager::new(MemoryStore::new());
    /// let org = OrganizationId::from("org_1");
    ///
    /// let first = manager.ensure_key(&org, "bootstrap", Permission::FullAccess).await?;
    /// let EnsuredKey::Created(created) = &first else { unreachable!("a new store has no keys") };
    /// println!("full-access key for org_1, shown once: {}", created.key.expose_secret());
    ///
    /// // At the next start: the same key, and no plaintext.
    /// let again = manager.ensure_key(&org, "Bootstrap", Permission::FullAccess).await?;
    /// assert!(matches!(&again, EnsuredKey::Existing(info) if info.id == first.info().id));
    /// # Ok::<(), formbox_auth::lifecycle::ManageError>(())
    /// # }).unwrap();
    /// ```
    pub async fn ensure_key(
        &self,
        organization: &OrganizationId,
        name: &str,
        access: impl Into<Access>,
    ) -> ManageResult<EnsuredKey> {
        let access = access.into();
        let name = validate_name(name)?;
        let name = name.as_str();
        if let Some(existing) = self.active_key(organization, name, access).await? {
            return Ok(EnsuredKey::Existing(existing));
        }
        match self.create(organization, NewKey::new(name, access)).await {
            Ok(created) => Ok(EnsuredKey::Created(created)),
            // Another call may have created it since the read above.
            Err(ManageError::NameTaken) => self
                .active_key(organization, name, access)
                .await?
                .map(EnsuredKey::Existing)
                .ok_or(ManageError::NameTaken),
            Err(error) => Err(error),
        }
    }

    /// The organization's oldest active key named `name` with `access`: the one every
    /// caller settles on, should a store without a name check have let two in.
    async fn active_key(
        &self,
        organization: &OrganizationId,
        name: &str,
        access: Access,
    ) -> ManageResult<Option<KeyInfo>> {
        let deadline = self.authenticator().deadline();
        let records = deadline.bound(self.all_records(organization)).await?;
        let (now, key) = (self.now(), name_key(name));
        // Newest first: the last match is the oldest. Names compare by name key, as the store
        // compares them.
        let oldest = records.into_iter().rev().find(|record| {
            record.revoked_at.is_none()
                && !record.is_expired_at(now)
                && record.access == access
                && record.name_key() == key
        });
        Ok(oldest.map(|record| self.info(record)))
    }
}
