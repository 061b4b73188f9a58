//! [`Resources`]: what a service declares its restricted keys' scopes may name.

use std::{fmt, sync::Arc};

use super::{InvalidScope, Resource, Scope, Scopes, resource::MAX_RESOURCES, scope::split};

/// The resources a service declares, in the order it shows them: what the scopes of its
/// restricted keys may name.
///
/// Declare them once, at start-up, and give the same value to the
/// [`KeyManager`](crate::KeyManager) (which refuses a key with any other scope) and to the
/// routes' [`PermissionPolicy`](crate::PermissionPolicy). Cloning is cheap (a reference count).
///
/// ```
/// use formbox_auth::permission::Resources;
///
/// let resources = Resources::new(["forms", "submissions", "api_keys"])?;
/// assert_eq!(resources.iter().map(|r| r.name()).collect::<Vec<_>>(), ["forms", "submissions", "api_keys"]);
/// assert!(resources.scope("forms:write").is_ok());
/// assert!(resources.scope("billing:read").is_err());
/// assert!(Resources::new(["Forms"]).is_err());
/// # Ok::<(), formbox_auth::permission::InvalidScope>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Resources {
    declared: Arc<[Resource]>,
    /// The bits of every declared resource, to check a whole set of scopes at once.
    mask: u128,
}

impl Resources {
    /// The most resource names one process can know, across every declaration and store.
    pub const MAX: usize = MAX_RESOURCES;

    /// Declares `names`, in the order given: each 1 to 32 lowercase ASCII letters, digits and
    /// `_`, starting with a letter, and each once.
    pub fn new<I>(names: I) -> Result<Self, InvalidScope>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut declared = Vec::new();
        let mut mask = 0;
        for name in names {
            let resource = Resource::intern(name.as_ref())?;
            if mask & resource.bit() != 0 {
                return Err(InvalidScope::Duplicate(resource.name().to_owned()));
            }
            mask |= resource.bit();
            declared.push(resource);
        }
        Ok(Self {
            declared: declared.into(),
            mask,
        })
    }

    /// No resources: only the presets, as a service that declares nothing has.
    pub fn none() -> Self {
        Self::default()
    }

    /// The declared resource named `name`.
    pub fn get(&self, name: &str) -> Option<Resource> {
        self.declared
            .iter()
            .copied()
            .find(|resource| resource.name() == name)
    }

    /// Parses `RESOURCE:read` or `RESOURCE:write` over a declared resource: the way to read a
    /// scope from a request, a form or a command line.
    pub fn scope(&self, text: &str) -> Result<Scope, InvalidScope> {
        let (name, level) = split(text)?;
        let resource = self
            .get(name)
            .ok_or_else(|| InvalidScope::Undeclared(name.chars().take(40).collect()))?;
        Ok(Scope::new(resource, level))
    }

    /// Parses each of `texts` with [`scope`](Self::scope) into one set.
    pub fn scopes<I>(&self, texts: I) -> Result<Scopes, InvalidScope>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        texts
            .into_iter()
            .map(|text| self.scope(text.as_ref()))
            .collect()
    }

    /// The first scope of `scopes` (alphabetically) over a resource not declared here; `None`
    /// when every one is declared.
    pub fn first_undeclared(&self, scopes: &Scopes) -> Option<Scope> {
        scopes
            .iter()
            .find(|scope| self.mask & scope.resource().bit() == 0)
    }

    /// The declared resources, in the order declared.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Resource> + '_ {
        self.declared.iter().copied()
    }

    /// How many resources are declared.
    pub fn len(&self) -> usize {
        self.declared.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.declared.is_empty()
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(Resource::name))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declaration_keeps_its_order_and_refuses_duplicates() {
        let resources = Resources::new(["rs_b", "rs_a"]).unwrap();
        assert_eq!(format!("{resources:?}"), r#"["rs_b", "rs_a"]"#);
        assert_eq!(resources.len(), 2);
        assert_eq!(
            Resources::new(["rs_a", "rs_a"]),
            Err(InvalidScope::Duplicate("rs_a".into()))
        );
        assert!(Resources::none().is_empty());
    }

    #[test]
    fn text_from_outside_names_only_declared_resources() {
        let resources = Resources::new(["rs_a"]).unwrap();
        assert!(resources.scope("rs_a:read").is_ok());
        // Known to the process (declared elsewhere), but not here.
        Resources::new(["rs_other"]).unwrap();
        assert_eq!(
            resources.scope("rs_other:read"),
            Err(InvalidScope::Undeclared("rs_other".into()))
        );
        // Never seen: refused without taking a place in the process's table.
        assert!(resources.scope("rs_unseen_name:write").is_err());
        assert_eq!(Resource::known("rs_unseen_name"), None);
    }

    #[test]
    fn first_undeclared_checks_every_resource_of_a_set() {
        let declared = Resources::new(["rs_a", "rs_b"]).unwrap();
        let inside = declared.scopes(["rs_a:write", "rs_b:read"]).unwrap();
        assert!(declared.first_undeclared(&inside).is_none());
        let outside = inside.with("rs_other2:read".parse().unwrap());
        assert!(declared.first_undeclared(&outside).is_some());
        assert_eq!(
            declared.first_undeclared(&outside).map(|s| s.to_string()),
            Some("rs_other2:read".into())
        );
    }
}
