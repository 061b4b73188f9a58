//! How a store fails.

/// The backend failed; the crate answers `503 key_store_unavailable` and lets nothing through.
///
/// "Not found" is never an error: methods return `Ok(None)` or
/// [`Updated::Stale`](super::Updated::Stale) for it, and a taken id or name is an `Ok` answer
/// too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database or service behind the store failed.
    #[error("the key store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store returned data that is not a valid record.
    #[error("the key store returned a malformed record: {0}")]
    Decode(String),
    /// The store did not answer in time.
    #[error("the key store did not answer in time")]
    Timeout,
}

impl StoreError {
    /// Wraps a backend's own error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Backend(error.into())
    }
}

/// What a store operation answers: [`StoreError`] when the backend failed.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
