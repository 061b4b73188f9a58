//! Timing-leak tests with the DudeCT method (`dudect-bencher`):
//! `cargo bench --bench constant_time`.
//!
//! Each test times many calls from two classes of inputs in random order and reports Welch's
//! t statistic between the classes; |t| below 4.5 means no detectable difference.
//!
//! - `digest_compare`: digests differing from the stored one in the first byte vs the last byte.
//! - `wrong_secret_position`: full verification of keys whose secret differs from the right one in
//!   the first character vs the last character.
//! - `unknown_vs_known_id`: unknown ids vs known ids with a wrong secret. The id is public, so this
//!   path is not required to be constant time; the test shows how much it leaks.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
    time::SystemTime,
};

use dudect_bencher::{BenchRng, Class, CtRunner, ctbench_main, rand::RngExt};
use formbox_auth::{
    Authenticator, KeyDigest, KeyFormat, KeyRecord, KeyStore, MemoryStore, OrganizationId,
    Permission,
};

/// Samples per class.
const SAMPLES: usize = 1_000_000;
/// Distinct inputs per class, cycled through.
const INPUTS: usize = 4_096;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Runs a future that never waits (the memory store answers at once) to completion.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("MemoryStore answers without waiting"),
    }
}

/// A well-formed key (valid checksum) with this exact body: `fbsk_<id>_<secret>`.
fn with_checksum(body: &str) -> String {
    let mut crc = u64::from(crc32fast::hash(body.as_bytes()));
    let mut check = [0u8; 6];
    for slot in check.iter_mut().rev() {
        *slot = ALPHABET[(crc % 62) as usize];
        crc /= 62;
    }
    format!("{body}{}", String::from_utf8_lossy(&check))
}

/// Replaces the character at `position` of `body` with a different base62 character.
fn changed_at(body: &str, position: usize, rng: &mut BenchRng) -> String {
    let mut bytes = body.as_bytes().to_vec();
    let original = bytes[position];
    while bytes[position] == original {
        bytes[position] = ALPHABET[rng.random_range(0..62)];
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn store_with_keys(count: usize) -> (Authenticator, Vec<String>) {
    let store = MemoryStore::new();
    let format = KeyFormat::default();
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let key = format.generate().unwrap();
        let record = KeyRecord::new(
            key.id(),
            OrganizationId::from("org"),
            "k",
            Permission::FullAccess,
            key.digest(),
            SystemTime::now(),
        );
        assert!(now(store.insert(&record)).unwrap());
        keys.push(key.expose_secret().to_owned());
    }
    (Authenticator::new(store), keys)
}

fn run_classes<T>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    left: &[T],
    right: &[T],
    f: impl Fn(&T) -> bool,
) {
    for i in 0..2 * SAMPLES {
        let (class, inputs) = if rng.random::<bool>() {
            (Class::Left, left)
        } else {
            (Class::Right, right)
        };
        let input = &inputs[i % inputs.len()];
        runner.run_one(class, || f(input));
    }
}

fn digest_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let stored = KeyDigest::from_bytes(rng.random());
    let variant = |position: usize, rng: &mut BenchRng| {
        let mut bytes = *stored.as_bytes();
        bytes[position] ^= rng.random_range(1..=255u8);
        KeyDigest::from_bytes(bytes)
    };
    let first: Vec<KeyDigest> = (0..INPUTS).map(|_| variant(0, rng)).collect();
    let last: Vec<KeyDigest> = (0..INPUTS).map(|_| variant(31, rng)).collect();
    run_classes(runner, rng, &first, &last, |digest| *digest == stored);
}

fn wrong_secret_position(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (authenticator, keys) = store_with_keys(INPUTS);
    let (secret_start, body_len) = (18, 50);
    let first: Vec<String> = keys
        .iter()
        .map(|k| with_checksum(&changed_at(&k[..body_len], secret_start, rng)))
        .collect();
    let last: Vec<String> = keys
        .iter()
        .map(|k| with_checksum(&changed_at(&k[..body_len], body_len - 1, rng)))
        .collect();
    run_classes(runner, rng, &first, &last, |key| {
        now(authenticator.authenticate(key)).is_ok()
    });
}

fn unknown_vs_known_id(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (authenticator, keys) = store_with_keys(INPUTS);
    let format = KeyFormat::default();
    let unknown: Vec<String> = (0..INPUTS)
        .map(|_| format.generate().unwrap().expose_secret().to_owned())
        .collect();
    let wrong_secret: Vec<String> = keys
        .iter()
        .map(|k| with_checksum(&changed_at(&k[..50], 30, rng)))
        .collect();
    run_classes(runner, rng, &unknown, &wrong_secret, |key| {
        now(authenticator.authenticate(key)).is_ok()
    });
}

ctbench_main!(digest_compare, wrong_secret_position, unknown_vs_known_id);
