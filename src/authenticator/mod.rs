//! Verifying a presented key: [`Authenticator`], how a verification fails,
//! and the task that writes last-used times.

pub(crate) mod deadline;
#[cfg(feature = "tokio")]
mod flusher;
pub(crate) mod usage;
pub(crate) mod verifier;

#[cfg(feature = "tokio")]
pub use flusher::UsageFlusher;
pub use verifier::AuthError;
pub(crate) use verifier::Authenticator;
