//! Which of a key's secrets a presented key is: the one rule verification and leak revocation
//! share.

use std::time::SystemTime;

use subtle::{Choice, ConstantTimeEq};

use crate::{key::KeyDigest, record::KeyRecord};

/// What a presented digest is to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretMatch {
    /// The key's current secret.
    Current,
    /// The secret a regeneration replaced, still within its grace period.
    Previous,
    /// Neither: a wrong secret, or a previous one whose grace period is over.
    Neither,
}

/// Compares `digest` with both of the record's secrets in constant time, whatever matches.
///
/// `now` is needed only while the record has a previous secret; without it (`None`) a previous
/// secret never matches, so callers read the clock only for records that need it.
pub(crate) fn match_secret(
    record: &KeyRecord,
    digest: &KeyDigest,
    now: Option<SystemTime>,
) -> SecretMatch {
    let current = record.digest.ct_eq(digest);
    let previous = match (&record.previous, now) {
        (Some(previous), Some(now)) => {
            previous.digest.ct_eq(digest) & Choice::from(u8::from(now < previous.valid_until))
        }
        _ => Choice::from(0),
    };
    if bool::from(current) {
        SecretMatch::Current
    } else if bool::from(previous) {
        SecretMatch::Previous
    } else {
        SecretMatch::Neither
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{key::KeyFormat, permission::Permission, record::PreviousSecret};

    fn record_with_previous(valid_until: SystemTime) -> KeyRecord {
        let key = KeyFormat::default().generate().unwrap();
        let mut record = KeyRecord::new(
            key.id(),
            "org".into(),
            "k",
            Permission::ReadOnly,
            KeyDigest::from_bytes([1; 32]),
            SystemTime::UNIX_EPOCH,
        );
        record.previous = Some(Box::new(PreviousSecret {
            digest: KeyDigest::from_bytes([2; 32]),
            valid_until,
        }));
        record
    }

    #[test]
    fn the_previous_secret_matches_only_within_its_grace_period() {
        let until = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let record = record_with_previous(until);
        let current = KeyDigest::from_bytes([1; 32]);
        let previous = KeyDigest::from_bytes([2; 32]);
        let wrong = KeyDigest::from_bytes([3; 32]);
        let before = Some(until - Duration::from_micros(1));
        assert_eq!(
            match_secret(&record, &current, before),
            SecretMatch::Current
        );
        assert_eq!(
            match_secret(&record, &previous, before),
            SecretMatch::Previous
        );
        assert_eq!(
            match_secret(&record, &previous, Some(until)),
            SecretMatch::Neither
        );
        assert_eq!(match_secret(&record, &previous, None), SecretMatch::Neither);
        assert_eq!(match_secret(&record, &wrong, before), SecretMatch::Neither);
    }
}
