//! [`Scope`]: read or write one resource.

use std::{fmt, str::FromStr};

use super::{InvalidScope, Permission, Resource};

/// How much of a resource a scope grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Read it: what `GET`, `HEAD` and `OPTIONS` need.
    Read,
    /// Change it, and read it.
    Write,
}

impl Level {
    /// The level a request with this method needs by default, as [`Permission::required_by`]
    /// decides between the presets: `read` for the safe methods, `write` for the others.
    pub fn required_by(method: &http::Method) -> Self {
        match Permission::required_by(method) {
            Permission::ReadOnly => Self::Read,
            Permission::FullAccess => Self::Write,
        }
    }

    /// The preset that holds this level of every resource: `read_only` for reading,
    /// `full_access` for writing.
    pub const fn preset(self) -> Permission {
        match self {
            Self::Read => Permission::ReadOnly,
            Self::Write => Permission::FullAccess,
        }
    }

    /// `read` or `write`, as in a scope.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// Read or write one resource: `forms:read`, `submissions:write`. Writing includes reading.
///
/// A restricted key holds a set of them ([`Scopes`](super::Scopes)); a route or a gRPC method
/// can need one. Make them from a declared resource ([`Resource::read`], [`Resource::write`])
/// or from text with [`Resources::scope`](super::Resources::scope).
///
/// ```
/// use formbox_auth::permission::{Level, Resources};
///
/// let resources = Resources::new(["forms"])?;
/// let scope = resources.scope("forms:write")?;
/// assert_eq!(scope.resource().name(), "forms");
/// assert_eq!(scope.level(), Level::Write);
/// assert_eq!(scope.to_string(), "forms:write");
/// assert!(resources.scope("forms:admin").is_err());
/// assert!(resources.scope("billing:read").is_err());
/// # Ok::<(), formbox_auth::permission::InvalidScope>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    resource: Resource,
    level: Level,
}

impl Scope {
    /// `level` over `resource`.
    pub const fn new(resource: Resource, level: Level) -> Self {
        Self { resource, level }
    }

    /// The resource it is over.
    pub const fn resource(self) -> Resource {
        self.resource
    }

    /// Read or write.
    pub const fn level(self) -> Level {
        self.level
    }
}

impl Resource {
    /// The scope to read it: `RESOURCE:read`.
    pub fn read(self) -> Scope {
        Scope::new(self, Level::Read)
    }

    /// The scope to change it, which includes reading it: `RESOURCE:write`.
    pub fn write(self) -> Scope {
        Scope::new(self, Level::Write)
    }
}

/// Splits `RESOURCE:LEVEL` into its resource name and level.
pub(crate) fn split(text: &str) -> Result<(&str, Level), InvalidScope> {
    let syntax = || InvalidScope::Syntax(text.chars().take(80).collect());
    let (name, level) = text.split_once(':').ok_or_else(syntax)?;
    let level = match level {
        "read" => Level::Read,
        "write" => Level::Write,
        _ => return Err(syntax()),
    };
    Ok((name, level))
}

/// Parses `RESOURCE:read` or `RESOURCE:write`, giving a resource name the process has not seen
/// an index of its own: for text the host controls, such as what a [`KeyStore`](crate::KeyStore)
/// backend reads back. Text from a request goes through
/// [`Resources::scope`](super::Resources::scope), which accepts only declared resources.
impl FromStr for Scope {
    type Err = InvalidScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, level) = split(text)?;
        Ok(Self::new(Resource::intern(name)?, level))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.level.as_str())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_a_resource_and_a_level() {
        let scope: Scope = "scope_test_forms:write".parse().unwrap();
        assert_eq!(scope.resource().name(), "scope_test_forms");
        assert_eq!(scope.level(), Level::Write);
        assert_eq!(scope.to_string(), "scope_test_forms:write");
        assert_eq!(format!("{scope:?}"), "Scope(scope_test_forms:write)");
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for text in [
            "forms",
            "forms:",
            "forms:admin",
            "forms:READ",
            ":read",
            "forms:read:x",
        ] {
            assert!(text.parse::<Scope>().is_err(), "{text}");
        }
        assert!(matches!(
            "Forms:read".parse::<Scope>(),
            Err(InvalidScope::ResourceName(_))
        ));
        assert!(matches!(
            "forms:delete".parse::<Scope>(),
            Err(InvalidScope::Syntax(_))
        ));
    }

    #[test]
    fn levels_follow_the_presets() {
        assert_eq!(Level::required_by(&http::Method::GET), Level::Read);
        assert_eq!(Level::required_by(&http::Method::PATCH), Level::Write);
        assert_eq!(Level::Read.preset(), Permission::ReadOnly);
        assert_eq!(Level::Write.preset(), Permission::FullAccess);
    }
}
