//! Records come back exactly as written: every field, every microsecond, any text.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    calls::{insert, list, record_usage, update},
    compare::assert_same_records,
    fixtures::{at, digest, id, rate_limit, record, used},
    read_back::read_back,
    reopen::StoreUnderTest,
};
use crate::{
    key::KeyDigest,
    permission::Access,
    record::RateLimit,
    record::{KeyRecord, PreviousSecret},
};

/// A record with every field set, at the edges of what it can hold, but `last_used_at`, which
/// the behaviour sets through `record_usage`.
pub(super) fn every_field() -> KeyRecord {
    let mut digest_bytes = [0u8; 32];
    for (byte, value) in digest_bytes.iter_mut().zip((0u8..).step_by(8)) {
        *byte = value;
    }
    let name = "every field: Zapier's \"integration\" — ключ 🔑";
    let mut full = record("org_full", name, at(1_700_000_000, 123_456));
    full.id = id("Zz09aZxbYc12");
    full.access = Access::FullAccess;
    full.digest = KeyDigest::from_bytes(digest_bytes);
    // A regeneration's grace period.
    full.previous = Some(Box::new(PreviousSecret {
        digest: digest(0xff),
        valid_until: at(1_700_086_400, 999_999),
    }));
    // Far from today on both sides: year 2400, and 1969.
    full.expires_at = Some(at(13_569_465_600, 500_000));
    full.rate_limit = Some(rate_limit(RateLimit::MAX_REQUESTS, RateLimit::MAX_WINDOW));
    full.revoked_at = Some(UNIX_EPOCH - Duration::from_micros(86_400_000_001));
    full.revision = 1 << 40;
    full
}

/// Every field, at the edges of what it can hold, comes back exactly: digests, microseconds on
/// both sides of 1970, far-future expiries, large revisions, the smallest rate limit and the
/// largest.
pub async fn every_field_round_trips_exactly(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "every_field_round_trips_exactly";
    let mut full = every_field();
    let plain = record("org_full", "no optional field", at(0, 0));
    let mut smallest = record("org_full", "the smallest limit", at(0, 1));
    smallest.rate_limit = Some(rate_limit(1, 1));
    // Written by `insert`, which stores a record as given.
    smallest.last_used_at = Some(at(0, 2));
    for record in [&full, &plain, &smallest] {
        assert!(
            insert(&store, record).await,
            "{BEHAVIOUR}: insert of a new id"
        );
    }
    let last_used = at(1_700_000_123, 456_789);
    record_usage(&store, &[used(full.id, last_used)]).await;
    full.last_used_at = Some(last_used);

    let store = read_back(BEHAVIOUR, store, &[&full, &plain, &smallest]).await;
    let listed = list(&store, "org_full").await;
    assert_same_records(BEHAVIOUR, &[full, smallest, plain], &listed);
}

/// A record created, expiring, revoked, last used and with a previous secret valid until
/// microseconds apart, around `time`: the record inserted, and what an update and a use make
/// of it.
fn at_microseconds(name: &str, time: SystemTime) -> (KeyRecord, KeyRecord) {
    let micros = |n| time + Duration::from_micros(n);
    let mut inserted = record("org_time", name, time);
    inserted.expires_at = Some(time);
    let mut updated = inserted.next_revision();
    updated.revoked_at = Some(micros(1));
    updated.previous = Some(Box::new(PreviousSecret {
        digest: digest(1),
        valid_until: micros(3),
    }));
    updated.last_used_at = Some(micros(2));
    (inserted, updated)
}

/// Times keep every microsecond, in every field and through every write.
pub async fn times_keep_every_microsecond(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "times_keep_every_microsecond";
    let records: Vec<(KeyRecord, KeyRecord)> = [1, 999, 1_001, 123_457, 999_999]
        .into_iter()
        .enumerate()
        .map(|(n, micros)| {
            let name = format!("{micros} µs");
            at_microseconds(&name, at(1_750_000_000 + n as u64, micros))
        })
        .collect();
    for (inserted, _) in &records {
        assert!(
            insert(&store, inserted).await,
            "{BEHAVIOUR}: insert of a new id"
        );
    }
    let inserted: Vec<&KeyRecord> = records.iter().map(|(inserted, _)| inserted).collect();
    let store = read_back(BEHAVIOUR, store, &inserted).await;

    for (inserted, updated) in &records {
        assert!(update(&store, updated, inserted.revision).await);
        if let Some(used_at) = updated.last_used_at {
            record_usage(&store, &[used(inserted.id, used_at)]).await;
        }
    }
    let updated: Vec<&KeyRecord> = records.iter().map(|(_, updated)| updated).collect();
    let when = format!("{BEHAVIOUR}, after an update and a use");
    read_back(&when, store, &updated).await;
}

/// Names and organizations with quotes, SQL and any Unicode are kept as text, not code.
pub async fn names_with_quotes_and_unicode_round_trip(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "names_with_quotes_and_unicode_round_trip";
    let organization = "org'; DROP TABLE formbox_api_keys; --";
    let mut odd = record(organization, "", at(1_700_000_000, 0));
    odd.name = "Zapier's \"integration\" — ключ 🔑 \\ %_".into();
    let empty_name = record(organization, "", at(1_700_000_001, 0));
    assert!(insert(&store, &odd).await);
    assert!(insert(&store, &empty_name).await);
    let store = read_back(BEHAVIOUR, store, &[&odd, &empty_name]).await;
    let listed = list(&store, organization).await;
    assert_same_records(BEHAVIOUR, &[empty_name, odd], &listed);
}
