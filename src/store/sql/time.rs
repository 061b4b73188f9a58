//! Timestamps as the SQL stores keep them: whole microseconds since the Unix epoch.

use std::time::SystemTime;

use crate::{
    record::micros,
    store::{Result, StoreError},
};

/// A timestamp that does not fit the store's column.
#[derive(Debug, thiserror::Error)]
#[error("the timestamp is outside the range the key store can hold")]
struct TimestampOutOfRange;

/// Whole microseconds since the Unix epoch, rounded down; negative before 1970.
pub(crate) fn unix_micros(time: SystemTime) -> Result<i64> {
    micros::unix_micros(time).ok_or_else(|| StoreError::backend(TimestampOutOfRange))
}

/// The inverse of [`unix_micros`].
pub(crate) fn from_unix_micros(micros: i64, column: &str) -> Result<SystemTime> {
    micros::from_unix_micros(micros)
        .ok_or_else(|| StoreError::Decode(format!("`{column}` is out of range")))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn out_of_range_times_are_store_errors() {
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert!(matches!(unix_micros(far), Err(StoreError::Backend(_))));
        assert_eq!(unix_micros(UNIX_EPOCH).unwrap(), 0);
        if let Err(error) = from_unix_micros(i64::MIN, "t") {
            assert!(matches!(error, StoreError::Decode(_)));
        }
    }
}
