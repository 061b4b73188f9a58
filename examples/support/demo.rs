//! The demo organization's keys, shared by the `server` and `grpc` examples.

use formbox_auth::lifecycle::NewKey;
use formbox_auth::{KeyManager, OrganizationId, Permission, lifecycle::ManageError};

/// The organization the examples create demo keys for.
pub const DEMO_ORGANIZATION: &str = "org_demo";

/// Creates the demo organization's two keys unless it has keys already. Returns them in plaintext.
pub async fn ensure_demo_keys(
    manager: &KeyManager,
) -> Result<Vec<(Permission, String)>, ManageError> {
    let organization = OrganizationId::from(DEMO_ORGANIZATION);
    if !manager.list(&organization).await?.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys = Vec::new();
    for (permission, name) in [
        (Permission::FullAccess, "demo full access"),
        (Permission::ReadOnly, "demo read only"),
    ] {
        let created = manager
            .create(&organization, NewKey::new(name, permission))
            .await?;
        keys.push((permission, created.key.expose_secret().to_owned()));
    }
    Ok(keys)
}
