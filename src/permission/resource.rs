//! [`Resource`]: a name a scope is over, such as `forms`, known to the whole process by an index.

use std::{
    cmp::Ordering,
    fmt,
    sync::{PoisonError, RwLock},
};

use super::InvalidScope;

/// Every resource name the process has seen, at the index its bit has in a
/// [`Scopes`](super::Scopes) set. Names are few (declared by the host, or read from a store that
/// only the host writes) and live as long as the process, so each is leaked once and copied as
/// `&'static str`.
static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// How many names [`NAMES`] holds at most: the bits of a `u128`.
pub(crate) const MAX_RESOURCES: usize = 128;

/// A resource that scopes name, such as `forms` in `forms:read`.
///
/// The process gives every resource name one small index, so that a set of scopes is a bitset
/// and checking one is a single `AND`. A service declares its resources with
/// [`Resources::new`](super::Resources::new); a resource is copied freely.
///
/// ```
/// use formbox_auth::permission::{Level, Resources};
///
/// let resources = Resources::new(["forms", "submissions"])?;
/// let forms = resources.get("forms").unwrap();
/// assert_eq!(forms.name(), "forms");
/// assert_eq!(forms.write().to_string(), "forms:write");
/// assert_eq!(forms.read().level(), Level::Read);
/// # Ok::<(), formbox_auth::permission::InvalidScope>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resource {
    index: u8,
    name: &'static str,
}

impl Resource {
    /// The longest resource name, in bytes.
    pub const MAX_NAME_LEN: usize = 32;

    /// The resource named `name`, given an index the first time the process sees the name.
    ///
    /// Only for names the host controls (its declaration, its store): every new name takes one
    /// of [`MAX_RESOURCES`] places for the life of the process.
    pub(crate) fn intern(name: &str) -> Result<Self, InvalidScope> {
        validate(name)?;
        if let Some(resource) = Self::known(name) {
            return Ok(resource);
        }
        let mut names = NAMES.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have added it between the two locks.
        if let Some(index) = names.iter().position(|known| *known == name) {
            return Ok(Self::at(index, names[index]));
        }
        if names.len() >= MAX_RESOURCES {
            return Err(InvalidScope::TooManyResources { max: MAX_RESOURCES });
        }
        let name: &'static str = Box::leak(name.into());
        names.push(name);
        Ok(Self::at(names.len() - 1, name))
    }

    /// The resource named `name` if the process knows it; never adds one.
    pub(crate) fn known(name: &str) -> Option<Self> {
        let names = NAMES.read().unwrap_or_else(PoisonError::into_inner);
        let index = names.iter().position(|known| *known == name)?;
        Some(Self::at(index, names[index]))
    }

    fn at(index: usize, name: &'static str) -> Self {
        // `intern` keeps the list at most `MAX_RESOURCES` (128) long, so every index fits.
        let index = u8::try_from(index).unwrap_or(u8::MAX);
        Self { index, name }
    }

    /// Its name, such as `forms`.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// Its bit in a [`Scopes`](super::Scopes) set.
    pub(crate) const fn bit(self) -> u128 {
        1 << self.index
    }

    /// The resource whose bit this is, if the process knows one.
    pub(crate) fn from_index(index: u32) -> Option<Self> {
        let names = NAMES.read().unwrap_or_else(PoisonError::into_inner);
        let index = usize::try_from(index).ok()?;
        names.get(index).map(|name| Self::at(index, name))
    }
}

/// A resource name is what can stand before the `:` of a scope in a URL, a header or a CLI flag,
/// unquoted: lowercase ASCII, digits and `_`, starting with a letter.
fn validate(name: &str) -> Result<(), InvalidScope> {
    let mut bytes = name.bytes();
    let starts_with_letter = bytes.next().is_some_and(|byte| byte.is_ascii_lowercase());
    let rest_fits =
        bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    if starts_with_letter && rest_fits && name.len() <= Resource::MAX_NAME_LEN {
        Ok(())
    } else {
        Err(InvalidScope::ResourceName(name.chars().take(40).collect()))
    }
}

impl PartialOrd for Resource {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// By name, so that lists of scopes read alphabetically whatever order the process met them in.
impl Ord for Resource {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name.cmp(other.name)
    }
}

impl fmt::Debug for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Resource").field(&self.name).finish()
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_has_one_index_for_the_life_of_the_process() {
        let first = Resource::intern("resource_index_test").unwrap();
        let again = Resource::intern("resource_index_test").unwrap();
        assert_eq!(first, again);
        assert_eq!(first.bit(), again.bit());
        assert_eq!(Resource::known("resource_index_test"), Some(first));
        assert_eq!(
            Resource::from_index(first.bit().trailing_zeros()),
            Some(first)
        );
    }

    #[test]
    fn looking_a_name_up_never_adds_it() {
        assert_eq!(Resource::known("never_interned_name"), None);
        assert_eq!(Resource::known("never_interned_name"), None);
    }

    #[test]
    fn names_are_lowercase_identifiers_of_at_most_32_bytes() {
        for good in ["forms", "api_keys", "v2", "a", &"a".repeat(32)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Forms",
            "2fa",
            "_x",
            "forms:read",
            "a b",
            "formé",
            &"a".repeat(33),
        ] {
            assert!(
                matches!(validate(bad), Err(InvalidScope::ResourceName(_))),
                "{bad}"
            );
        }
    }
}
