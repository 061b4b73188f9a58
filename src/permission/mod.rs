//! What a key may do: [`Permission`], a preset.

pub(crate) mod preset;

pub(crate) use preset::Permission;
pub use preset::UnknownPermission;
