//! What a key may do: [`Access`], one of the two presets ([`Permission`]) or restricted to
//! [`Scopes`] over the [`Resources`] a service declares.
//!
//! A scope reads or writes one resource (`forms:read`, `submissions:write`; writing includes
//! reading). Routes and gRPC methods need a preset or a scope
//! ([`PermissionPolicy`](crate::PermissionPolicy)); `full_access` holds every scope and
//! `read_only` every `:read` scope, so a service that declares no scopes works with the presets
//! alone.

pub(crate) mod access;
mod error;
pub(crate) mod preset;
mod resource;
mod resources;
pub(crate) mod scope;
mod scopes;

pub(crate) use access::Access;
pub use access::Required;
pub use error::InvalidScope;
pub(crate) use preset::Permission;
pub use preset::UnknownPermission;
pub use resource::Resource;
pub use resources::Resources;
pub use scope::{Level, Scope};
pub use scopes::Scopes;
