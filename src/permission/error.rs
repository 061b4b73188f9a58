//! Why a scope or a resource name was refused.

/// A resource name, scope or permission that cannot be used; the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidScope {
    /// A resource name is 1 to 32 characters: lowercase ASCII letters, digits and `_`, starting
    /// with a letter.
    #[error(
        "`{0}` is not a resource name: 1 to 32 lowercase letters, digits and `_`, starting with a letter"
    )]
    ResourceName(String),
    /// A scope is `RESOURCE:read` or `RESOURCE:write`.
    #[error("`{0}` is not a scope: a scope is `RESOURCE:read` or `RESOURCE:write`")]
    Syntax(String),
    /// The resource is not among the ones the service declared.
    #[error("`{0}` is not a resource this service declares")]
    Undeclared(String),
    /// A resource is declared twice.
    #[error("the resource `{0}` is declared twice")]
    Duplicate(String),
    /// A restricted key holds at least one scope.
    #[error("a restricted key holds at least one scope")]
    Empty,
    /// The permission is not `full_access`, `read_only` or `restricted`.
    #[error("`{0}` is not a permission: `full_access`, `read_only` or `restricted`")]
    UnknownPermission(String),
    /// `restricted` came without scopes.
    #[error("`restricted` needs `scopes`: at least one")]
    MissingScopes,
    /// Scopes came with a preset, which holds its own.
    #[error("scopes go with `restricted`, not with `{0}`")]
    ScopesWithPreset(super::Permission),
    /// The process already knows [`Resources::MAX`](super::Resources::MAX) resource names.
    #[error("a process can know at most {max} resources")]
    TooManyResources {
        /// How many.
        max: usize,
    },
}
