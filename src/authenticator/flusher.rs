//! The background task that writes last-used times.

use std::time::Duration;

use tokio::{sync::oneshot, task::JoinHandle, time::MissedTickBehavior};

use crate::authenticator::Authenticator;

/// Handle of the task [`Authenticator::spawn_usage_flusher`](crate::Authenticator::spawn_usage_flusher)
/// started. [`shutdown`](Self::shutdown) writes what is pending and stops it; dropping the handle
/// stops it too, after one last write.
#[derive(Debug)]
pub struct UsageFlusher {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Authenticator {
    /// Starts a task that writes last-used times every `interval`
    /// ([`flush_usage`](Self::flush_usage)), and once more on
    /// [`shutdown`](UsageFlusher::shutdown).
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn spawn_usage_flusher(&self, interval: Duration) -> UsageFlusher {
        UsageFlusher::spawn(self.clone(), interval)
    }
}

impl UsageFlusher {
    pub(crate) fn spawn(authenticator: Authenticator, interval: Duration) -> Self {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(authenticator, interval, stopped));
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Writes pending last-used times and waits for the task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            // The task may have ended already; then there is nothing to stop.
            let _ = stop.send(());
        }
        if let Err(error) = (&mut self.task).await {
            tracing::error!(%error, "the last-used flush task failed");
        }
    }
}

impl Drop for UsageFlusher {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn run(authenticator: Authenticator, interval: Duration, mut stopped: oneshot::Receiver<()>) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => flush(&authenticator).await,
            _ = &mut stopped => break,
        }
    }
    flush(&authenticator).await;
}

/// A failed flush keeps its batch for the next tick; requests never see it.
async fn flush(authenticator: &Authenticator) {
    if let Err(error) = authenticator.flush_usage().await {
        let pending = authenticator.pending_usage();
        tracing::warn!(%error, pending, "writing last-used times failed; retrying at the next interval");
    }
}
