//! What a Redis limiter does while Redis cannot answer: it stops asking for a moment, and says
//! so in the log now and then rather than on every request.

use std::{
    fmt,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// How long checks go straight to the fallback after Redis failed: an unreachable Redis would
/// otherwise add the whole timeout to every request.
const PAUSE: Duration = Duration::from_secs(1);

/// The least time between two warnings.
const WARN_EVERY: Duration = Duration::from_secs(1);

/// The state of one limiter's connection to Redis, shared by its clones.
#[derive(Debug)]
pub(super) struct Outage {
    origin: Instant,
    /// Milliseconds since `origin` until which checks skip Redis.
    paused_until: AtomicU64,
    /// Milliseconds since `origin` of the last warning, plus one (0: none yet).
    warned_at: AtomicU64,
    /// Checks decided in process since the last warning.
    missed: AtomicU64,
    down: AtomicBool,
}

impl Outage {
    pub(super) fn new() -> Self {
        Self {
            origin: Instant::now(),
            paused_until: AtomicU64::new(0),
            warned_at: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            down: AtomicBool::new(false),
        }
    }

    /// Whether a check should skip Redis, which failed less than a pause ago. A skipped check is
    /// decided in process, and counted for the next warning.
    pub(super) fn skips_redis(&self) -> bool {
        self.skips_redis_at(self.now())
    }

    /// Records that Redis failed a check, which the fallback decides; warns unless a warning
    /// went out less than a second ago.
    pub(super) fn failed(&self, reason: &dyn fmt::Display) {
        self.failed_at(self.now(), reason);
    }

    /// Records that Redis answered, and says so once if it had failed.
    pub(super) fn answered(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("Redis answers again: rate limits are shared again");
        }
    }

    fn skips_redis_at(&self, now: u64) -> bool {
        let skips = now < self.paused_until.load(Ordering::Relaxed);
        if skips {
            self.missed.fetch_add(1, Ordering::Relaxed);
        }
        skips
    }

    /// Returns whether it warned.
    fn failed_at(&self, now: u64, reason: &dyn fmt::Display) -> bool {
        self.down.store(true, Ordering::Relaxed);
        self.paused_until
            .fetch_max(now.saturating_add(millis(PAUSE)), Ordering::Relaxed);
        self.missed.fetch_add(1, Ordering::Relaxed);
        if !self.may_warn(now) {
            return false;
        }
        let in_process = self.missed.swap(0, Ordering::Relaxed);
        tracing::warn!(
            error = %reason,
            checks_decided_in_process = in_process,
            "Redis did not answer a rate limit check: this instance decides rate limits on its \
             own until it does",
        );
        true
    }

    /// Claims the next warning, when the last is a second old: one caller among many at once.
    fn may_warn(&self, now: u64) -> bool {
        let last = self.warned_at.load(Ordering::Relaxed);
        if last != 0 && now < (last - 1).saturating_add(millis(WARN_EVERY)) {
            return false;
        }
        self.warned_at
            .compare_exchange(last, now + 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_at_most_once_a_second() {
        let outage = Outage::new();
        assert!(outage.failed_at(0, &"refused"));
        assert!(!outage.failed_at(10, &"refused"));
        assert!(!outage.failed_at(999, &"refused"));
        assert!(outage.failed_at(1_000, &"refused"));
        assert!(!outage.failed_at(1_500, &"refused"));
        assert!(outage.failed_at(2_000, &"refused"));
    }

    #[test]
    fn skips_redis_for_a_second_after_a_failure() {
        let outage = Outage::new();
        assert!(!outage.skips_redis_at(5));
        outage.failed_at(5, &"timed out");
        assert!(outage.skips_redis_at(6));
        assert!(outage.skips_redis_at(1_004));
        assert!(!outage.skips_redis_at(1_005));
    }

    #[test]
    fn the_next_warning_counts_the_checks_decided_in_process() {
        let outage = Outage::new();
        outage.failed_at(0, &"refused");
        for now in 1..10 {
            outage.skips_redis_at(now);
        }
        assert_eq!(outage.missed.load(Ordering::Relaxed), 9);
        outage.failed_at(1_000, &"refused");
        assert_eq!(outage.missed.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn an_answer_ends_the_outage_once() {
        let outage = Outage::new();
        outage.failed_at(0, &"refused");
        outage.answered();
        assert!(!outage.down.load(Ordering::Relaxed));
    }
}
