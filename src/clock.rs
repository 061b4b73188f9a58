//! Where the crate reads the time, so tests can move it.

use std::{fmt, time::SystemTime};

/// A source of the current time.
///
/// Expiry and grace periods are decided against it. [`SystemClock`] is the default;
/// `testing::ManualClock` (feature `testing`) lets tests step over an expiry without sleeping.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// The current time, possibly a few milliseconds behind, for checks that tolerate that and
    /// run on every request (a cache's time to live). The default is [`now`](Self::now).
    fn now_coarse(&self) -> SystemTime {
        self.now()
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// On Linux, `CLOCK_REALTIME_COARSE`: the time of the kernel's last tick (1 to 4 ms
    /// behind), read without touching the hardware clock, several times cheaper than `now`.
    #[cfg(target_os = "linux")]
    fn now_coarse(&self) -> SystemTime {
        use rustix::time::{ClockId, clock_gettime};
        let time = clock_gettime(ClockId::RealtimeCoarse);
        let since_epoch = u64::try_from(time.tv_sec)
            .ok()
            .map(|seconds| std::time::Duration::new(seconds, time.tv_nsec as u32));
        since_epoch
            .and_then(|since| SystemTime::UNIX_EPOCH.checked_add(since))
            .unwrap_or_else(SystemTime::now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_coarse_clock_is_the_wall_clock_within_a_tick() {
        let before = SystemTime::now();
        let coarse = SystemClock.now_coarse();
        let after = SystemTime::now();
        // At most one tick (4 ms at HZ=250) behind, never ahead.
        assert!(coarse <= after, "{coarse:?} after {after:?}");
        assert!(coarse + Duration::from_millis(20) >= before);
    }
}
