//! Timing-leak tests with the DudeCT method (`dudect-bencher`):
//! `cargo bench --bench constant_time`.
//!
//! Each test times many calls from two classes of inputs in random order and reports Welch's
//! t statistic between the classes; |t| below 4.5 means no detectable difference.
//!
//! - `digest_compare`: digests differing from the stored one in the first byte vs the last byte.
//! - `wrong_secret_position`: full verification (parse, hash, lookup, compare) of keys whose secret
//!   differs from the right one in the first character vs the last character.
//! - `verify_wrong_secret_position`: the same keys, timing only the part that touches the stored
//!   secret (lookup and comparison), from their precomputed id and digest.
//! - `unknown_vs_known_id`: unknown ids vs known ids with a wrong secret. The id is public, so this
//!   path is not required to be constant time; the test shows how much it leaks.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
    time::SystemTime,
};

use dudect_bencher::{
    BenchRng, Class, CtRunner,
    ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console},
    rand::RngExt,
};
use formbox_auth::{
    Authenticator, KeyFormat, KeyId, KeyRecord, KeyStore, MemoryStore, OrganizationId, Permission,
    key::KeyDigest, store::Inserted,
};

/// Samples per class, on average (the class of each sample is a coin flip).
const SAMPLES: usize = 1_500_000;
/// Keys, each giving one input of each class.
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
    for n in 0..count {
        let key = format.generate().unwrap();
        let record = KeyRecord::new(
            key.id(),
            OrganizationId::from("org"),
            format!("k{n}"),
            Permission::FullAccess,
            key.digest(),
            SystemTime::now(),
        );
        assert_eq!(now(store.insert(&record, None)).unwrap(), Inserted::Stored);
        keys.push(key.expose_secret().to_owned());
    }
    (Authenticator::new(store), keys)
}

/// One input on a cache line of its own, so that no input straddles lines more than another.
#[repr(align(64))]
struct Slot<T>(T);

/// Times `f` on inputs of both classes in random order.
///
/// Both inputs of every pair are kept, each in a [`Slot`], so that whatever is particular to one
/// key (where its record sits, how its text is laid out) weighs the same in both classes; then
/// they are shuffled, so that no class sits at particular addresses.
fn run_classes<T>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    pairs: Vec<(T, T)>,
    f: impl Fn(&T) -> bool,
) {
    let mut pool: Vec<(bool, Slot<T>)> = pairs
        .into_iter()
        .flat_map(|(left, right)| [(true, Slot(left)), (false, Slot(right))])
        .collect();
    // Where an input sits must not depend on its class: neighbouring lines prefetch together.
    for i in (1..pool.len()).rev() {
        pool.swap(i, rng.random_range(0..=i));
    }
    for _ in 0..2 * SAMPLES {
        let (left, Slot(input)) = &pool[rng.random_range(0..pool.len())];
        let class = if *left { Class::Left } else { Class::Right };
        runner.run_one(class, || f(input));
    }
}

/// A key's text inline, so its bytes live in its [`Slot`].
type KeyText = [u8; 56];

fn text(key: &str) -> KeyText {
    key.as_bytes().try_into().unwrap()
}

fn authenticate_text(authenticator: &Authenticator, key: &KeyText) -> bool {
    let key = std::str::from_utf8(key).unwrap_or_default();
    now(authenticator.authenticate(key)).is_ok()
}

fn digest_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let stored = KeyDigest::from_bytes(rng.random());
    let variant = |position: usize, rng: &mut BenchRng| {
        let mut bytes = *stored.as_bytes();
        bytes[position] ^= rng.random_range(1..=255u8);
        KeyDigest::from_bytes(bytes)
    };
    let pairs: Vec<(KeyDigest, KeyDigest)> = (0..INPUTS)
        .map(|_| (variant(0, rng), variant(31, rng)))
        .collect();
    run_classes(runner, rng, pairs, |digest: &KeyDigest| *digest == stored);
}

/// Pairs of well-formed keys whose secrets differ from the right one at the first and at the last
/// character.
fn wrong_secret_pairs(keys: &[String], rng: &mut BenchRng) -> Vec<(KeyText, KeyText)> {
    let (secret_start, body_len) = (18, 50);
    keys.iter()
        .map(|k| {
            let first = with_checksum(&changed_at(&k[..body_len], secret_start, rng));
            let last = with_checksum(&changed_at(&k[..body_len], body_len - 1, rng));
            (text(&first), text(&last))
        })
        .collect()
}

fn wrong_secret_position(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (authenticator, keys) = store_with_keys(INPUTS);
    let pairs = wrong_secret_pairs(&keys, rng);
    run_classes(runner, rng, pairs, |key| {
        authenticate_text(&authenticator, key)
    });
}

/// The part that sees the stored secret, without parsing and hashing the presented text (which
/// depend only on what the client sent): the lookup and the digest comparison.
fn verify_wrong_secret_position(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (authenticator, keys) = store_with_keys(INPUTS);
    let format = KeyFormat::default();
    let parsed = |text: &KeyText| {
        let parsed = format.parse(std::str::from_utf8(text).unwrap()).unwrap();
        (parsed.id(), parsed.digest())
    };
    let pairs: Vec<_> = wrong_secret_pairs(&keys, rng)
        .iter()
        .map(|(a, b)| (parsed(a), parsed(b)))
        .collect();
    run_classes(runner, rng, pairs, |&(id, digest): &(KeyId, KeyDigest)| {
        now(authenticator.verify(id, digest)).is_ok()
    });
}

fn unknown_vs_known_id(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (authenticator, keys) = store_with_keys(INPUTS);
    let format = KeyFormat::default();
    let pairs: Vec<(KeyText, KeyText)> = keys
        .iter()
        .map(|k| {
            let unknown = format.generate().unwrap();
            let wrong_secret = with_checksum(&changed_at(&k[..50], 30, rng));
            (text(unknown.expose_secret()), text(&wrong_secret))
        })
        .collect();
    run_classes(runner, rng, pairs, |key| {
        authenticate_text(&authenticator, key)
    });
}

/// `ctbench_main!` rejects the `--bench` flag `cargo bench` passes, so this reads the one option
/// it needs itself: an optional name filter.
fn main() {
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with("--"));
    let bench = |name, benchfn| BenchMetadata {
        name: BenchName(name),
        seed: None,
        benchfn,
    };
    let benches = vec![
        bench(
            "digest_compare",
            digest_compare as fn(&mut CtRunner, &mut BenchRng),
        ),
        bench("wrong_secret_position", wrong_secret_position),
        bench("verify_wrong_secret_position", verify_wrong_secret_position),
        bench("unknown_vs_known_id", unknown_vs_known_id),
    ];
    let options = BenchOpts {
        filter,
        ..BenchOpts::default()
    };
    if let Err(error) = run_benches_console(options, benches) {
        eprintln!("constant_time: {error}");
        std::process::exit(1);
    }
}
