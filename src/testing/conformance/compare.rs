//! Records compared field by field, so that a failure says which field to fix, as stored and as
//! read back.
//!
//! `KeyDigest` prints `[REDACTED]`, which would make two different digests look the same: here a
//! digest shows as a fingerprint of its first three bytes, never whole.

use std::{
    fmt,
    time::{SystemTime, UNIX_EPOCH},
};

use crate::{
    key::{KeyDigest, KeyId},
    permission::Access,
    record::{KeyRecord, PreviousSecret},
};

/// One field in which a record read back differs from the record stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Difference {
    /// The field, as `previous.digest` for a field of the previous secret.
    pub(super) field: &'static str,
    stored: String,
    read: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            field,
            stored,
            read,
        } = self;
        write!(f, "{field}: stored {stored}, read back {read}")
    }
}

/// Each field in which `read` differs from `stored`, in the order `KeyRecord` declares them.
pub(super) fn differences(stored: &KeyRecord, read: &KeyRecord) -> Vec<Difference> {
    // Destructured, so that a new field does not compile until it is compared here.
    let KeyRecord {
        id,
        organization,
        name,
        access,
        digest,
        previous,
        created_at,
        expires_at,
        rate_limit,
        revoked_at,
        last_used_at,
        revision,
    } = stored;
    let time = |time: &Option<SystemTime>| maybe(time.map(seconds));
    let mut found = Vec::new();
    found.extend(compare("id", id, &read.id, KeyId::to_string));
    found.extend(compare(
        "organization",
        organization,
        &read.organization,
        |organization| text(organization.as_str()),
    ));
    found.extend(compare("name", name, &read.name, |name| text(name)));
    found.extend(compare("access", access, &read.access, Access::to_string));
    found.extend(compare_digests("digest", digest, &read.digest));
    found.extend(previous_differences(
        previous.as_deref(),
        read.previous.as_deref(),
    ));
    found.extend(compare("created_at", created_at, &read.created_at, |at| {
        seconds(*at)
    }));
    found.extend(compare("expires_at", expires_at, &read.expires_at, time));
    found.extend(compare(
        "rate_limit",
        rate_limit,
        &read.rate_limit,
        |limit| maybe(*limit),
    ));
    found.extend(compare("revoked_at", revoked_at, &read.revoked_at, time));
    found.extend(compare(
        "last_used_at",
        last_used_at,
        &read.last_used_at,
        time,
    ));
    found.extend(compare(
        "revision",
        revision,
        &read.revision,
        u64::to_string,
    ));
    found
}

/// A difference in `field` if `stored` and `read` differ, each as `show` shows it.
fn compare<T: PartialEq + ?Sized>(
    field: &'static str,
    stored: &T,
    read: &T,
    show: impl Fn(&T) -> String,
) -> Option<Difference> {
    (stored != read).then(|| Difference {
        field,
        stored: show(stored),
        read: show(read),
    })
}

/// A difference in `field` if the digests differ, each as a fingerprint.
fn compare_digests(
    field: &'static str,
    stored: &KeyDigest,
    read: &KeyDigest,
) -> Option<Difference> {
    (stored != read).then(|| {
        let (stored, read) = fingerprints(stored, read);
        Difference {
            field,
            stored,
            read,
        }
    })
}

/// The differences of the previous secrets: field by field when both records have one.
fn previous_differences(
    stored: Option<&PreviousSecret>,
    read: Option<&PreviousSecret>,
) -> Vec<Difference> {
    match (stored, read) {
        (Some(stored), Some(read)) => {
            let digest = compare_digests("previous.digest", &stored.digest, &read.digest);
            let until = compare(
                "previous.valid_until",
                &stored.valid_until,
                &read.valid_until,
                |until| seconds(*until),
            );
            digest.into_iter().chain(until).collect()
        }
        (stored, read) => {
            let show = |previous: &Option<&PreviousSecret>| {
                maybe(previous.map(|previous| {
                    let digest = fingerprint(&previous.digest);
                    format!("{digest} until {}", seconds(previous.valid_until))
                }))
            };
            compare("previous", &stored, &read, show)
                .into_iter()
                .collect()
        }
    }
}

/// Panics, naming `behaviour`, the key and each field that differs, unless `read` is `stored`.
pub(super) fn assert_same_record(behaviour: &str, stored: &KeyRecord, read: &KeyRecord) {
    let found = differences(stored, read);
    if !found.is_empty() {
        let lines: Vec<String> = found
            .iter()
            .map(|difference| format!("  {difference}"))
            .collect();
        panic!(
            "{behaviour}: key {} read back is not what was stored:\n{}",
            stored.id,
            lines.join("\n")
        );
    }
}

/// Panics unless `read` holds the keys of `stored` in the same order, each the same field by
/// field.
pub(super) fn assert_same_records(behaviour: &str, stored: &[KeyRecord], read: &[KeyRecord]) {
    let (expected, found) = (key_list(stored), key_list(read));
    assert!(
        expected == found,
        "{behaviour}: expected the keys {expected}, read back {found}"
    );
    for (stored, read) in stored.iter().zip(read) {
        assert_same_record(behaviour, stored, read);
    }
}

/// Panics, naming `behaviour`, if a record with `id` was read.
pub(super) fn assert_absent(behaviour: &str, id: &KeyId, read: Option<&KeyRecord>) {
    if let Some(read) = read {
        panic!(
            "{behaviour}: expected no key {id}, read back one of organization {:?} named {:?}",
            read.organization.as_str(),
            read.name
        );
    }
}

/// The ids, in order, as `[a, b]`.
fn key_list(records: &[KeyRecord]) -> String {
    let ids: Vec<String> = records.iter().map(|record| record.id.to_string()).collect();
    format!("[{}]", ids.join(", "))
}

/// `time` as seconds since the Unix epoch, negative before it, with as many decimals as it has:
/// `1700000000.123456 s`, `1700000000.123 s`, `-86400.000001 s`.
pub(super) fn seconds(time: SystemTime) -> String {
    let (sign, since) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => ("", after),
        Err(before) => ("-", before.duration()),
    };
    let fraction = match since.subsec_nanos() {
        0 => String::new(),
        nanos => format!(".{nanos:09}").trim_end_matches('0').to_owned(),
    };
    format!("{sign}{}{fraction} s", since.as_secs())
}

/// Text as a quoted Rust string, so that quotes, spaces and escapes show.
fn text(text: &str) -> String {
    format!("{text:?}")
}

/// `Some(value)` or `None`, with the value's `Display`.
fn maybe(value: Option<impl fmt::Display>) -> String {
    value.map_or_else(|| "None".to_owned(), |value| format!("Some({value})"))
}

/// The first three bytes of a digest in hex, then `…`.
pub(super) fn fingerprint(digest: &KeyDigest) -> String {
    let bytes = digest.as_bytes();
    format!("{:02x}{:02x}{:02x}…", bytes[0], bytes[1], bytes[2])
}

/// The fingerprints of two different digests, and where the digests first differ if the
/// fingerprints alone look the same.
fn fingerprints(stored: &KeyDigest, read: &KeyDigest) -> (String, String) {
    let (stored_print, read_print) = (fingerprint(stored), fingerprint(read));
    if stored_print != read_print {
        return (stored_print, read_print);
    }
    let pairs = stored.as_bytes().iter().zip(read.as_bytes());
    let byte = pairs.take_while(|(a, b)| a == b).count();
    (
        stored_print,
        format!("{read_print} (the digests first differ at byte {byte})"),
    )
}
