//! Times as whole microseconds since the Unix epoch: how the SQL stores keep them and list
//! cursors carry them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole microseconds since the Unix epoch, rounded down; negative before 1970. `None` beyond
/// what an `i64` holds (about 292,000 years either side of 1970).
pub(crate) fn unix_micros(time: SystemTime) -> Option<i64> {
    let micros = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_micros()).ok(),
        Err(before) => {
            let before = before.duration();
            // Round down (further into the past), as for times after the epoch.
            let partial = i128::from(before.subsec_nanos() % 1_000 != 0);
            i128::try_from(before.as_micros())
                .ok()
                .map(|micros| -micros - partial)
        }
    };
    micros.and_then(|micros| i64::try_from(micros).ok())
}

/// The inverse of [`unix_micros`]; `None` if the platform's `SystemTime` cannot hold it.
pub(crate) fn from_unix_micros(micros: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_on_both_sides_of_the_epoch() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_001] {
            let time = from_unix_micros(micros).unwrap();
            assert_eq!(unix_micros(time), Some(micros));
        }
    }

    #[test]
    fn sub_microsecond_parts_round_down() {
        let after = UNIX_EPOCH + Duration::from_nanos(1_999);
        assert_eq!(unix_micros(after), Some(1));
        let before = UNIX_EPOCH - Duration::from_nanos(1_001);
        assert_eq!(unix_micros(before), Some(-2));
    }

    #[test]
    fn extreme_times_are_none_or_exact_never_panics() {
        // Whether SystemTime holds these depends on the platform, but what it holds converts
        // back exactly.
        for micros in [i64::MIN, i64::MAX] {
            if let Some(time) = from_unix_micros(micros) {
                assert_eq!(unix_micros(time), Some(micros));
            }
        }
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert_eq!(unix_micros(far), None);
    }
}
