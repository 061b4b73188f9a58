//! What a record's differences name and how they show each field.

use std::time::{Duration, UNIX_EPOCH};

use super::super::{
    compare::{assert_same_record, differences, fingerprint, seconds},
    exactness::every_field,
    fixtures::{at, digest, id, rate_limit},
};
use crate::{
    key::KeyDigest,
    permission::Access,
    record::{KeyRecord, OrganizationId},
};

/// `every_field()` with a last use, so that no field is left at its default.
fn full() -> KeyRecord {
    let mut full = every_field();
    full.last_used_at = Some(at(1_700_000_123, 456_789));
    full
}

fn fields(stored: &KeyRecord, read: &KeyRecord) -> Vec<&'static str> {
    let found = differences(stored, read);
    found.iter().map(|difference| difference.field).collect()
}

/// A field's name, and a change of that field alone.
type Change = (&'static str, fn(&mut KeyRecord));

/// `full()` with one field changed, for each field, and the name of that field.
fn one_field_changed() -> Vec<(&'static str, KeyRecord)> {
    let changes: [Change; 14] = [
        ("id", |record| record.id = id("otherKey0000")),
        ("organization", |record| {
            record.organization = OrganizationId::from("org_other");
        }),
        ("name", |record| record.name.push(' ')),
        ("access", |record| record.access = Access::ReadOnly),
        ("digest", |record| record.digest = digest(7)),
        ("previous", |record| record.previous = None),
        ("previous.digest", |record| {
            if let Some(previous) = &mut record.previous {
                previous.digest = digest(7);
            }
        }),
        ("previous.valid_until", |record| {
            if let Some(previous) = &mut record.previous {
                previous.valid_until += Duration::from_micros(1);
            }
        }),
        ("created_at", |record| {
            record.created_at = at(1_700_000_000, 123_000)
        }),
        ("expires_at", |record| record.expires_at = None),
        ("rate_limit", |record| {
            record.rate_limit = Some(rate_limit(600, 60))
        }),
        ("revoked_at", |record| record.revoked_at = Some(at(0, 0))),
        ("last_used_at", |record| record.last_used_at = None),
        ("revision", |record| record.revision += 1),
    ];
    changes
        .into_iter()
        .map(|(field, change)| {
            let mut changed = full();
            change(&mut changed);
            (field, changed)
        })
        .collect()
}

#[test]
fn the_same_record_has_no_differences() {
    let record = full();
    assert_eq!(fields(&record, &record.clone()), Vec::<&str>::new());
    assert_same_record("a behaviour", &record, &record.clone());
}

#[test]
fn differences_name_exactly_the_field_that_differs() {
    for (field, changed) in one_field_changed() {
        assert_eq!(fields(&full(), &changed), vec![field]);
    }
}

#[test]
fn differences_name_every_field_that_differs_in_declaration_order() {
    let stored = full();
    let mut read = stored.clone();
    read.rate_limit = None;
    read.created_at = at(1_700_000_000, 123_000);
    read.name = "renamed".into();
    assert_eq!(
        fields(&stored, &read),
        vec!["name", "created_at", "rate_limit"]
    );
}

#[test]
fn times_show_as_seconds_with_the_decimals_they_have() {
    assert_eq!(seconds(at(1_700_000_000, 123_456)), "1700000000.123456 s");
    assert_eq!(seconds(at(1_700_000_000, 123_000)), "1700000000.123 s");
    assert_eq!(seconds(at(1_700_000_000, 0)), "1700000000 s");
    let before = UNIX_EPOCH - Duration::from_micros(86_400_000_001);
    assert_eq!(seconds(before), "-86400.000001 s");
    let nanos = UNIX_EPOCH + Duration::from_nanos(1_500);
    assert_eq!(seconds(nanos), "0.0000015 s");
}

#[test]
fn a_difference_reads_stored_then_read_back() {
    let mut stored = full();
    stored.created_at = at(1_700_000_000, 123_456);
    stored.rate_limit = Some(rate_limit(600, 60));
    let mut read = stored.clone();
    read.created_at = at(1_700_000_000, 123_000);
    read.rate_limit = None;
    let lines: Vec<String> = differences(&stored, &read)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "created_at: stored 1700000000.123456 s, read back 1700000000.123 s",
            "rate_limit: stored Some(600 per 60 s), read back None",
        ]
    );
}

/// A digest whose first bytes are `head`, then `rest`.
fn digest_starting(head: [u8; 3], rest: u8) -> KeyDigest {
    let mut bytes = [rest; 32];
    bytes[..3].copy_from_slice(&head);
    KeyDigest::from_bytes(bytes)
}

#[test]
fn digests_show_as_fingerprints_and_where_they_differ_if_those_agree() {
    let mut stored = full();
    let mut read = stored.clone();
    if let (Some(stored), Some(read)) = (&mut stored.previous, &mut read.previous) {
        stored.digest = digest_starting([0x3f, 0x9a, 0x1c], 1);
        read.digest = digest_starting([0x77, 0xc0, 0xe2], 1);
    }
    stored.digest = digest_starting([0xab, 0xcd, 0xef], 1);
    read.digest = digest_starting([0xab, 0xcd, 0xef], 2);
    let lines: Vec<String> = differences(&stored, &read)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "digest: stored abcdef…, read back abcdef… (the digests first differ at byte 3)",
            "previous.digest: stored 3f9a1c…, read back 77c0e2…",
        ]
    );
}

#[test]
fn a_failure_names_the_behaviour_and_the_key_and_never_shows_a_whole_digest() {
    let stored = full();
    let mut read = stored.clone();
    read.digest = digest(0x5a);
    let failure = std::panic::catch_unwind(|| {
        assert_same_record("some_behaviour", &stored, &read);
    });
    let payload = failure.expect_err("a different digest must fail");
    let message = payload
        .downcast_ref::<String>()
        .unwrap_or_else(|| panic!("a formatted message"));
    assert!(
        message.starts_with("some_behaviour: key Zz09aZxbYc12 read back is not what"),
        "{message}"
    );
    assert!(message.contains(&fingerprint(&read.digest)), "{message}");
    let whole: String = read.digest.as_bytes()[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert!(!message.contains(&whole), "{message}");
    assert!(!message.contains("REDACTED"), "{message}");
}
