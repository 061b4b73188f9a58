//! What a key's name may be.

use super::{ManageError, ManageResult, NewKey};
use crate::{key::KeyId, record::KeyRecord};

/// A trimmed, non-empty name of at most [`NewKey::MAX_NAME_CHARS`] characters without control characters.
pub(super) fn validate_name(name: &str) -> ManageResult<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ManageError::InvalidName("the name is empty"));
    }
    if name.chars().count() > NewKey::MAX_NAME_CHARS {
        return Err(ManageError::InvalidName(
            "the name is longer than 100 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ManageError::InvalidName(
            "the name contains control characters",
        ));
    }
    Ok(name)
}

/// Refuses `name` if a key of `records` other than `renamed` that is not revoked already has it,
/// ignoring case and surrounding spaces: two keys that a person cannot tell apart in a list.
/// Revoked keys give their names up, so a replacement can take the name of the key it replaces.
pub(super) fn ensure_name_free(
    records: &[KeyRecord],
    name: &str,
    renamed: Option<KeyId>,
) -> ManageResult<()> {
    let wanted = comparable(name);
    let taken = records.iter().any(|record| {
        Some(record.id) != renamed
            && record.revoked_at.is_none()
            && comparable(&record.name) == wanted
    });
    if taken {
        Err(ManageError::NameTaken)
    } else {
        Ok(())
    }
}

/// The form names are compared in.
fn comparable(name: &str) -> String {
    name.trim().to_lowercase()
}
