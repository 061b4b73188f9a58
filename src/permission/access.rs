//! [`Access`]: what one key may do, a preset or a set of scopes.

use std::{fmt, str::FromStr};

use super::{InvalidScope, Permission, Scope, Scopes};

/// What a key may do: one of the two presets, or only what its scopes say.
///
/// - [`FullAccess`](Self::FullAccess) holds every scope and passes every permission check.
/// - [`ReadOnly`](Self::ReadOnly) holds every `:read` scope and passes `read_only` checks.
/// - [`Restricted`](Self::Restricted) holds its [`Scopes`] and nothing else: a route that needs
///   a preset rather than a scope refuses it.
///
/// A [`Permission`] converts into the preset, so `NewKey::new("CI", Permission::ReadOnly)` reads
/// as before.
///
/// ```
/// use formbox_auth::{Access, Permission, permission::Resources};
///
/// let resources = Resources::new(["forms", "submissions"])?;
/// let forms_read = resources.scope("forms:read")?;
/// let restricted = Access::Restricted(resources.scopes(["forms:read"])?);
/// assert!(restricted.holds(forms_read));
/// assert!(!restricted.holds(resources.scope("submissions:read")?));
/// assert!(!restricted.allows(Permission::ReadOnly));
/// assert!(Access::from(Permission::ReadOnly).holds(forms_read));
/// assert_eq!(restricted.as_str(), "restricted");
/// # Ok::<(), formbox_auth::permission::InvalidScope>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// The `read_only` preset.
    ReadOnly,
    /// The `full_access` preset.
    FullAccess,
    /// Only these scopes.
    Restricted(Scopes),
}

/// What a key must hold for a request, or to give another key its access: a preset, or a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Required {
    /// A key with this preset (or `full_access`).
    Permission(Permission),
    /// A key holding this scope.
    Scope(Scope),
}

impl Access {
    /// The access a permission name and scopes make, as a form, a request or a row gives them:
    /// a preset (`full_access`, `read_only`) takes no scopes, `restricted` at least one.
    ///
    /// ```
    /// use formbox_auth::{Access, Permission, permission::{InvalidScope, Resources}};
    ///
    /// let resources = Resources::new(["forms"])?;
    /// let scopes = resources.scopes(["forms:read"])?;
    /// assert_eq!(Access::from_parts("restricted", Some(scopes))?, Access::Restricted(scopes));
    /// assert_eq!(Access::from_parts("read_only", None)?, Permission::ReadOnly);
    /// assert_eq!(Access::from_parts("restricted", None), Err(InvalidScope::MissingScopes));
    /// assert!(Access::from_parts("read_only", Some(scopes)).is_err());
    /// # Ok::<(), InvalidScope>(())
    /// ```
    pub fn from_parts(permission: &str, scopes: Option<Scopes>) -> Result<Self, InvalidScope> {
        match (permission, scopes) {
            ("restricted", Some(scopes)) if scopes.is_empty() => Err(InvalidScope::Empty),
            ("restricted", Some(scopes)) => Ok(Self::Restricted(scopes)),
            ("restricted", None) => Err(InvalidScope::MissingScopes),
            (preset, scopes) => {
                let preset: Permission = preset.parse().map_err(|_| {
                    InvalidScope::UnknownPermission(preset.chars().take(40).collect())
                })?;
                match scopes {
                    None => Ok(preset.into()),
                    Some(_) => Err(InvalidScope::ScopesWithPreset(preset)),
                }
            }
        }
    }

    /// The preset, if it is one.
    pub const fn preset(&self) -> Option<Permission> {
        match self {
            Self::ReadOnly => Some(Permission::ReadOnly),
            Self::FullAccess => Some(Permission::FullAccess),
            Self::Restricted(_) => None,
        }
    }

    /// The scopes of a restricted key; `None` for a preset.
    pub const fn scopes(&self) -> Option<&Scopes> {
        match self {
            Self::Restricted(scopes) => Some(scopes),
            Self::ReadOnly | Self::FullAccess => None,
        }
    }

    /// The name used in JSON and storage: `full_access`, `read_only` or `restricted`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::ReadOnly => "read_only",
            Self::FullAccess => "full_access",
            Self::Restricted(_) => "restricted",
        }
    }

    /// Whether a request that needs the preset `required` may pass: a restricted key never
    /// passes a preset check.
    #[inline]
    pub fn allows(&self, required: Permission) -> bool {
        match self {
            Self::FullAccess => true,
            Self::ReadOnly => required == Permission::ReadOnly,
            Self::Restricted(_) => false,
        }
    }

    /// Whether the key holds `scope`.
    #[inline]
    pub fn holds(&self, scope: Scope) -> bool {
        match self {
            Self::FullAccess => true,
            Self::ReadOnly => scope.level().preset() == Permission::ReadOnly,
            Self::Restricted(scopes) => scopes.holds(scope),
        }
    }

    /// What the key lacks for `required`, as its owner should be told: `None` when it passes.
    /// A preset key refused a scope is told the preset that would hold it (`read_only` or
    /// `full_access`); a restricted key is told the scope.
    #[inline]
    pub fn lacks(&self, required: Required) -> Option<Required> {
        match required {
            Required::Permission(permission) if !self.allows(permission) => Some(required),
            Required::Scope(scope) if !self.holds(scope) => Some(match self {
                Self::Restricted(_) => required,
                Self::ReadOnly | Self::FullAccess => Required::Permission(scope.level().preset()),
            }),
            Required::Permission(_) | Required::Scope(_) => None,
        }
    }

    /// What this key lacks to give a key `other`'s access: `None` if everything `other` may do,
    /// this key may do too. Only `full_access` (or `read_only`, for read-only access) covers a
    /// preset, since presets reach resources nobody declared yet.
    pub fn lacks_to_grant(&self, other: &Access) -> Option<Required> {
        match (self, other) {
            (Self::FullAccess, _) | (Self::ReadOnly, Self::ReadOnly) => None,
            (_, Self::FullAccess | Self::ReadOnly) => {
                Some(Required::Permission(Permission::FullAccess))
            }
            (Self::ReadOnly, Self::Restricted(scopes)) => scopes
                .writes_any()
                .then_some(Required::Permission(Permission::FullAccess)),
            (Self::Restricted(held), Self::Restricted(asked)) => {
                held.first_missing(asked).map(Required::Scope)
            }
        }
    }
}

impl From<Permission> for Access {
    fn from(permission: Permission) -> Self {
        match permission {
            Permission::ReadOnly => Self::ReadOnly,
            Permission::FullAccess => Self::FullAccess,
        }
    }
}

/// A preset equals its [`Permission`]: `access == Permission::ReadOnly`.
impl PartialEq<Permission> for Access {
    fn eq(&self, permission: &Permission) -> bool {
        self.preset() == Some(*permission)
    }
}

impl From<Scopes> for Access {
    fn from(scopes: Scopes) -> Self {
        Self::Restricted(scopes)
    }
}

/// Parses the [`Display`](fmt::Display) form back: `full_access`, `read_only`, or
/// `restricted(forms:write submissions:read)`. For a backend that keeps a key's access as one
/// text: like [`Scopes`]'s `FromStr`, for text the host controls (it gives new resource names a
/// place in the process's table).
///
/// ```
/// use formbox_auth::{Access, Permission};
///
/// let access: Access = "restricted(backend_forms:write)".parse()?;
/// assert_eq!(access.to_string().parse::<Access>()?, access);
/// assert_eq!("read_only".parse::<Access>()?, Permission::ReadOnly);
/// assert!("restricted()".parse::<Access>().is_err());
/// # Ok::<(), formbox_auth::permission::InvalidScope>(())
/// ```
impl FromStr for Access {
    type Err = InvalidScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text
            .strip_prefix("restricted(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            Some(scopes) => Self::from_parts("restricted", Some(scopes.parse()?)),
            None => Self::from_parts(text, None),
        }
    }
}

/// `full_access`, `read_only`, or `restricted` with its scopes: `restricted(forms:write)`.
impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Restricted(scopes) => write!(f, "restricted({scopes})"),
            Self::ReadOnly | Self::FullAccess => f.write_str(self.as_str()),
        }
    }
}

impl fmt::Display for Required {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Permission(permission) => permission.fmt(f),
            Self::Scope(scope) => scope.fmt(f),
        }
    }
}

/// As JSON: `{"permission": "restricted", "scopes": ["forms:read"]}`, or the preset alone:
/// `{"permission": "read_only"}`. Flattened into the object of a key.
#[cfg(feature = "serde")]
impl serde::Serialize for Access {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("permission", self.as_str())?;
        if let Self::Restricted(scopes) = self {
            map.serialize_entry("scopes", &scopes.texts())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::Resources;

    fn resources() -> Resources {
        Resources::new(["ac_forms", "ac_subs"]).unwrap()
    }

    fn restricted(scopes: &[&str]) -> Access {
        Access::Restricted(resources().scopes(scopes).unwrap())
    }

    fn scope(text: &str) -> Scope {
        resources().scope(text).unwrap()
    }

    #[test]
    fn presets_hold_scopes_by_level_and_restricted_keys_only_theirs() {
        let write = scope("ac_forms:write");
        let read = scope("ac_forms:read");
        assert!(Access::FullAccess.holds(write));
        assert!(Access::ReadOnly.holds(read));
        assert!(!Access::ReadOnly.holds(write));
        assert!(restricted(&["ac_forms:write"]).holds(read));
        assert!(!restricted(&["ac_forms:read"]).holds(write));
        assert!(!restricted(&["ac_forms:write"]).allows(Permission::ReadOnly));
    }

    #[test]
    fn a_refusal_names_a_preset_to_a_preset_key_and_a_scope_to_a_restricted_one() {
        let write = scope("ac_forms:write");
        assert_eq!(
            Access::ReadOnly.lacks(Required::Scope(write)),
            Some(Required::Permission(Permission::FullAccess))
        );
        assert_eq!(
            restricted(&["ac_forms:read"]).lacks(Required::Scope(write)),
            Some(Required::Scope(write))
        );
        assert_eq!(
            restricted(&["ac_forms:write"]).lacks(Required::Permission(Permission::ReadOnly)),
            Some(Required::Permission(Permission::ReadOnly))
        );
        assert_eq!(Access::FullAccess.lacks(Required::Scope(write)), None);
    }

    #[test]
    fn a_key_grants_only_what_it_holds() {
        let forms_write = restricted(&["ac_forms:write"]);
        assert_eq!(
            forms_write.lacks_to_grant(&restricted(&["ac_forms:read"])),
            None
        );
        assert_eq!(
            forms_write.lacks_to_grant(&restricted(&["ac_subs:read"])),
            Some(Required::Scope(scope("ac_subs:read")))
        );
        for preset in [Access::FullAccess, Access::ReadOnly] {
            assert_eq!(
                forms_write.lacks_to_grant(&preset),
                Some(Required::Permission(Permission::FullAccess))
            );
        }
        assert_eq!(Access::FullAccess.lacks_to_grant(&Access::FullAccess), None);
        assert_eq!(
            Access::ReadOnly.lacks_to_grant(&restricted(&["ac_subs:read"])),
            None
        );
        assert!(Access::ReadOnly.lacks_to_grant(&forms_write).is_some());
    }

    #[test]
    fn the_text_form_round_trips_and_refuses_anything_else() {
        for access in [
            Access::FullAccess,
            Access::ReadOnly,
            restricted(&["ac_forms:write", "ac_subs:read"]),
        ] {
            assert_eq!(access.to_string().parse::<Access>(), Ok(access));
        }
        for bad in [
            "",
            "admin",
            "restricted",
            "restricted()",
            "restricted(ac_forms)",
            "restricted(ac_forms:read",
        ] {
            assert!(bad.parse::<Access>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_the_preset_or_the_scopes() {
        assert_eq!(Access::FullAccess.to_string(), "full_access");
        assert_eq!(
            restricted(&["ac_subs:read", "ac_forms:write"]).to_string(),
            "restricted(ac_forms:write ac_subs:read)"
        );
    }
}
