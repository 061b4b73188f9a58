//! Timestamps as the SQL stores keep them: whole microseconds since the Unix epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::store::{Result, StoreError};

/// A timestamp that does not fit the store's column.
#[derive(Debug, thiserror::Error)]
#[error("the timestamp is outside the range the key store can hold")]
struct TimestampOutOfRange;

/// Whole microseconds since the Unix epoch, rounded down; negative before 1970.
pub(crate) fn unix_micros(time: SystemTime) -> Result<i64> {
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
    micros
        .and_then(|micros| i64::try_from(micros).ok())
        .ok_or_else(|| StoreError::backend(TimestampOutOfRange))
}

/// The inverse of [`unix_micros`].
pub(crate) fn from_unix_micros(micros: i64, column: &str) -> Result<SystemTime> {
    let magnitude = Duration::from_micros(micros.unsigned_abs());
    let time = if micros >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    time.ok_or_else(|| StoreError::Decode(format!("`{column}` is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_on_both_sides_of_the_epoch() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_001] {
            let time = from_unix_micros(micros, "t").unwrap();
            assert_eq!(unix_micros(time).unwrap(), micros);
        }
    }

    #[test]
    fn sub_microsecond_parts_round_down() {
        let after = UNIX_EPOCH + Duration::from_nanos(1_999);
        assert_eq!(unix_micros(after).unwrap(), 1);
        let before = UNIX_EPOCH - Duration::from_nanos(1_001);
        assert_eq!(unix_micros(before).unwrap(), -2);
    }

    #[test]
    fn extreme_times_are_errors_or_exact_never_panics() {
        // About 292,000 years either side of 1970: whether SystemTime holds them depends on the
        // platform, but what it holds converts back exactly.
        for micros in [i64::MIN, i64::MAX] {
            if let Ok(time) = from_unix_micros(micros, "t") {
                assert_eq!(unix_micros(time).unwrap(), micros);
            }
        }
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert!(matches!(unix_micros(far), Err(StoreError::Backend(_))));
    }
}
