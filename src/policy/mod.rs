//! Which permission a request needs: [`PermissionPolicy`] by method and
//! route, or any [`ClassifyPermission`] of the application's own.

pub(crate) mod routes;

pub(crate) use routes::PermissionPolicy;
pub use routes::{ClassifyPermission, Requirement};
