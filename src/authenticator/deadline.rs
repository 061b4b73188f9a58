//! How long store calls may take: one call, or every call of a key operation together.

use std::time::{Duration, Instant};

use crate::store::StoreError;

/// When the store calls of one operation must have answered, and how much longer the calls that
/// settle a failed write may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    settling: Duration,
}

impl Deadline {
    /// `timeout` from now (`None`: no deadline). Settling a failed write gets a tenth of it more
    /// (a fence and a read, a millisecond each on a database that answers), so an operation
    /// answers within 1.1 times the timeout.
    pub(crate) fn after(timeout: Option<Duration>) -> Self {
        Self {
            at: timeout.and_then(|timeout| Instant::now().checked_add(timeout)),
            settling: timeout.map_or(Duration::ZERO, |timeout| timeout / 10),
        }
    }

    /// The deadline for the calls that settle a write that failed at this one.
    pub(crate) fn settling(self) -> Self {
        Self {
            at: self.at.and_then(|at| at.checked_add(self.settling)),
            settling: Duration::ZERO,
        }
    }

    /// `call`, given up on with [`StoreError::Timeout`] at the deadline.
    pub(crate) async fn bound<T>(
        self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let left = self
            .at
            .map(|at| at.saturating_duration_since(Instant::now()));
        bounded_by(call, left).await
    }
}

/// Gives up on `call` after `timeout`, when one is set and a Tokio runtime can time it.
pub(crate) async fn bounded_by<T>(
    call: impl Future<Output = Result<T, StoreError>>,
    timeout: Option<Duration>,
) -> Result<T, StoreError> {
    match timeout {
        #[cfg(feature = "tokio")]
        Some(timeout) if tokio::runtime::Handle::try_current().is_ok() => {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or(Err(StoreError::Timeout))
        }
        _ => call.await,
    }
}
