//! Where the crate reads the time, so tests can move it.

use std::{fmt, time::SystemTime};

/// A source of the current time.
///
/// Expiry and grace periods are decided against it. [`SystemClock`] is the default;
/// `testing::ManualClock` (feature `testing`) lets tests step over an expiry without sleeping.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
