//! Timing-leak tests with the DudeCT method: `cargo bench --bench constant_time`.
//!
//! A measurement times many calls from two classes of inputs, Left and Right, drawn in random
//! order, and computes DudeCT's statistic: Welch's t between the run times of the classes, on all
//! of them and on 100 crops that drop the slowest calls, keeping the t of largest |t|. This is the
//! statistic of `dudect-bencher`, whose runner only prints it; [`max_t`] computes it here so
//! that runs can be compared.
//!
//! # Tests
//!
//! Each test has two kinds of inputs, A (its Left class) and B (its Right class):
//!
//! - `digest_compare`: digests differing from the stored one in the first byte (A) vs the last
//!   byte (B).
//! - `wrong_secret_position`: full verification (parse, hash, lookup, compare) of keys whose secret
//!   differs from the right one in the first character (A) vs the last character (B).
//! - `verify_wrong_secret_position`: the same keys, timing only the part that touches the stored
//!   secret (lookup and comparison), from their precomputed id and digest.
//! - `unknown_vs_known_id`: unknown ids (A) vs known ids with a wrong secret (B). The id is public,
//!   so this path is not required to be constant time and does differ: it is the positive
//!   control, showing that the method finds a leak where there is one.
//!
//! # Telling a leak from noise
//!
//! On a shared machine one measurement proves nothing: noise alone pushes |t| past DudeCT's
//! usual 4.5. So each test is measured in three variants, each in several runs, the variants of
//! a run one after another:
//!
//! - the **test**: Left A, Right B;
//! - its **twin**: Left B, Right A. A difference that follows the inputs flips the sign of t; one
//!   that follows the class label does not;
//! - its **A/A control**: Left A, Right A, drawn independently. Whatever |t| it shows is noise;
//!   its largest |t| over the runs is the test's **floor**.
//!
//! The verdict of a test (see [`verdict`]):
//!
//! - **leak**: every run of the test has |t| above the floor (its smallest |t| exceeds the
//!   control's largest), and the direction is kept: the runs of the test all have one sign and
//!   those of the twin all have the other;
//! - **no leak detected**: some run of the test has |t| at or below the floor;
//! - **inconclusive**: above the floor but the direction is not kept, or some t is not a number
//!   (a class without samples or without spread).
//!
//! Without a leak the |t| of the test and of its control are alike, so all R runs of the test
//! land above all R of the control by chance with probability 1/C(2R, R) (1/252 for 5 runs), and
//! the signs then line up with probability 2/4^R (1/512). If the positive control does not read
//! "leak", the run was too noisy to vouch for the others.
//!
//! # Settings
//!
//! - `FORMBOX_CT_RUNS`: runs of each variant (5).
//! - `FORMBOX_CT_SAMPLES`: timed calls per run of a variant, each class a coin flip
//!   (10,000,000).
//! - `FORMBOX_CT_KEYS`: keys, each giving one input of each class (65,536; see [`INPUTS`]).
//! - A name after `--` runs that test alone, a part of a name the tests whose name holds it:
//!   `cargo bench --bench constant_time -- wrong_secret`.
//!
//! Without the `--bench` that `cargo bench` passes (as `cargo test --benches` runs it), or with
//! `--test`, it is a smoke run: 2 runs of 2,000 calls on 64 keys, which checks that everything
//! runs to the end and prints its table; its verdicts mean nothing. Every run first checks the
//! statistic and the verdict rule on fixed inputs ([`CHECKS`]): Cargo builds this bench without a
//! test harness, so `main` runs them.

use std::{
    env,
    future::Future,
    hint::black_box,
    pin::pin,
    process::ExitCode,
    task::{Context, Poll, Waker},
    time::{Duration, Instant, SystemTime},
};

use dudect_bencher::{
    BenchRng,
    rand::{self, RngExt, SeedableRng},
};
use formbox_auth::{
    Authenticator, KeyFormat, KeyId, KeyRecord, KeyStore, MemoryStore, OrganizationId, Permission,
    key::KeyDigest, store::Inserted,
};

/// Runs of each variant of each test.
const RUNS: usize = 5;
/// Timed calls per run of a variant, both classes together.
const SAMPLES: usize = 10_000_000;
/// Keys, each giving one input of each class. Every input times a little differently from the
/// next (where it sits in memory and in the store's table), and with few of them these
/// differences between the two classes' sets outweigh the calls: with 4,096 keys and 10 million
/// calls, five A/A runs of `digest_compare` read |t| up to 12.5; with 65,536 keys, up to 4.5.
const INPUTS: usize = 65_536;
/// The same in a smoke run.
const SMOKE_RUNS: usize = 2;
const SMOKE_SAMPLES: usize = 2_000;
const SMOKE_INPUTS: usize = 64;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// ---------------------------------------------------------------------------------------------
// Inputs

/// Which of a test's two kinds of inputs to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inputs {
    /// The test's Left class.
    A,
    /// The test's Right class.
    B,
}

/// How many inputs a measurement prepares and how many calls it times.
#[derive(Clone, Copy, Debug)]
struct Size {
    inputs: usize,
    samples: usize,
}

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
            // An insert compares the name with every key of its organization: 64 keys each.
            OrganizationId::from(format!("org{}", n / 64)),
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

/// One input pair per key: the Left input, then the Right one, as the variant assigns the kinds.
/// Every input is drawn on its own, so the two of an A/A pair differ.
fn pairs<T>(
    count: usize,
    variant: Variant,
    rng: &mut BenchRng,
    mut draw: impl FnMut(usize, Inputs, &mut BenchRng) -> T,
) -> Vec<(T, T)> {
    let (left, right) = variant.inputs();
    (0..count)
        .map(|n| (draw(n, left, rng), draw(n, right, rng)))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Timing

/// Run times of one measurement, in nanoseconds, by class.
#[derive(Clone, Debug, Default)]
struct Timings {
    left: Vec<u64>,
    right: Vec<u64>,
}

/// One input on a cache line of its own, so that no input straddles lines more than another.
#[repr(align(64))]
struct Slot<T>(T);

/// Times `f` on `size.samples` inputs of both classes in random order.
///
/// Both inputs of every pair are kept, each in a [`Slot`], so that whatever is particular to one
/// key (where its record sits, how its text is laid out) weighs the same in both classes; then
/// they are shuffled, so that no class sits at particular addresses.
fn run_classes<T>(
    size: Size,
    rng: &mut BenchRng,
    pairs: Vec<(T, T)>,
    f: impl Fn(&T) -> bool,
) -> Timings {
    let mut pool: Vec<(bool, Slot<T>)> = pairs
        .into_iter()
        .flat_map(|(left, right)| [(true, Slot(left)), (false, Slot(right))])
        .collect();
    // Where an input sits must not depend on its class: neighbouring lines prefetch together.
    for i in (1..pool.len()).rev() {
        pool.swap(i, rng.random_range(0..=i));
    }
    if pool.is_empty() {
        return Timings::default();
    }
    // One path for both classes, the class written beside the time: a branch on the class here
    // could run the two classes through different code and time them differently. Both buffers
    // are written through first, so that no page is first touched between two timings.
    let mut times = vec![u64::MAX; size.samples];
    let mut classes = vec![true; size.samples];
    for (time, class) in times.iter_mut().zip(&mut classes) {
        let (left, Slot(input)) = &pool[rng.random_range(0..pool.len())];
        let start = Instant::now();
        black_box(f(input));
        *time = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        *class = *left;
    }
    let mut timings = Timings::default();
    for (time, left) in times.into_iter().zip(classes) {
        if left {
            timings.left.push(time);
        } else {
            timings.right.push(time);
        }
    }
    timings
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

// ---------------------------------------------------------------------------------------------
// Tests

/// A test: its name, whether it is expected to leak, and how to measure one variant of it.
struct CtTest {
    name: &'static str,
    expect_leak: bool,
    measure: fn(Size, &mut BenchRng, Variant) -> Timings,
}

const TESTS: [CtTest; 4] = [
    CtTest {
        name: "digest_compare",
        expect_leak: false,
        measure: digest_compare,
    },
    CtTest {
        name: "wrong_secret_position",
        expect_leak: false,
        measure: wrong_secret_position,
    },
    CtTest {
        name: "verify_wrong_secret_position",
        expect_leak: false,
        measure: verify_wrong_secret_position,
    },
    CtTest {
        name: "unknown_vs_known_id",
        expect_leak: true,
        measure: unknown_vs_known_id,
    },
];

fn digest_compare(size: Size, rng: &mut BenchRng, variant: Variant) -> Timings {
    let stored = KeyDigest::from_bytes(rng.random());
    let pairs = pairs(size.inputs, variant, rng, |_, inputs, rng| {
        let position = match inputs {
            Inputs::A => 0,
            Inputs::B => 31,
        };
        let mut bytes = *stored.as_bytes();
        bytes[position] ^= rng.random_range(1..=255u8);
        KeyDigest::from_bytes(bytes)
    });
    run_classes(size, rng, pairs, |digest: &KeyDigest| *digest == stored)
}

/// A well-formed key whose secret differs from `key`'s at its first character (A) or its last
/// (B).
fn wrong_secret(key: &str, inputs: Inputs, rng: &mut BenchRng) -> KeyText {
    let (secret_start, body_len) = (18, 50);
    let position = match inputs {
        Inputs::A => secret_start,
        Inputs::B => body_len - 1,
    };
    text(&with_checksum(&changed_at(&key[..body_len], position, rng)))
}

fn wrong_secret_position(size: Size, rng: &mut BenchRng, variant: Variant) -> Timings {
    let (authenticator, keys) = store_with_keys(size.inputs);
    let pairs = pairs(keys.len(), variant, rng, |n, inputs, rng| {
        wrong_secret(&keys[n], inputs, rng)
    });
    run_classes(size, rng, pairs, |key| {
        authenticate_text(&authenticator, key)
    })
}

/// The part that sees the stored secret, without parsing and hashing the presented text (which
/// depend only on what the client sent): the lookup and the digest comparison.
fn verify_wrong_secret_position(size: Size, rng: &mut BenchRng, variant: Variant) -> Timings {
    let (authenticator, keys) = store_with_keys(size.inputs);
    let format = KeyFormat::default();
    let pairs = pairs(keys.len(), variant, rng, |n, inputs, rng| {
        let key = wrong_secret(&keys[n], inputs, rng);
        let parsed = format.parse(std::str::from_utf8(&key).unwrap()).unwrap();
        (parsed.id(), parsed.digest())
    });
    run_classes(size, rng, pairs, |&(id, digest): &(KeyId, KeyDigest)| {
        now(authenticator.verify(id, digest)).is_ok()
    })
}

fn unknown_vs_known_id(size: Size, rng: &mut BenchRng, variant: Variant) -> Timings {
    let (authenticator, keys) = store_with_keys(size.inputs);
    let format = KeyFormat::default();
    let pairs = pairs(keys.len(), variant, rng, |n, inputs, rng| match inputs {
        Inputs::A => text(format.generate().unwrap().expose_secret()),
        Inputs::B => text(&with_checksum(&changed_at(&keys[n][..50], 30, rng))),
    });
    run_classes(size, rng, pairs, |key| {
        authenticate_text(&authenticator, key)
    })
}

// ---------------------------------------------------------------------------------------------
// The statistic

/// Count, mean and sum of squared deviations of a sample, updated one value at a time (Welford).
#[derive(Clone, Copy, Debug, Default)]
struct Moments {
    n: usize,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }
}

/// Welch's t: positive when Left is slower. Not a number when a class has fewer than two values.
fn welch_t(left: &Moments, right: &Moments) -> f64 {
    let (n0, n1) = (left.n as f64, right.n as f64);
    let (v0, v1) = (left.m2 / (n0 - 1.0), right.m2 / (n1 - 1.0));
    (left.mean - right.mean) / (v0 / n0 + v1 / n1).sqrt()
}

/// DudeCT's crop thresholds: the percentiles 100·(1 − 0.5^(k/10)), k = 1..=100, of the run times
/// of both classes together, interpolated linearly.
fn crop_thresholds(sorted: &[u64]) -> Vec<f64> {
    (1..=100)
        .map(|k| {
            let fraction = 1.0 - 0.5f64.powf(f64::from(k) / 10.0);
            let rank = fraction * sorted.len().saturating_sub(1) as f64;
            let low = rank.floor() as usize;
            let high = (low + 1).min(sorted.len() - 1);
            let (lo, hi) = (sorted[low] as f64, sorted[high] as f64);
            lo + (hi - lo) * (rank - rank.floor())
        })
        .collect()
}

/// The moments of the values of `sorted` below each of the ascending `thresholds`: one pass,
/// since each crop holds the previous one.
fn cropped_moments(sorted: &[u64], thresholds: &[f64]) -> Vec<Moments> {
    let mut moments = Moments::default();
    let mut values = sorted.iter().map(|&x| x as f64).peekable();
    thresholds
        .iter()
        .map(|&threshold| {
            while let Some(x) = values.next_if(|&x| x < threshold) {
                moments.push(x);
            }
            moments
        })
        .collect()
}

/// What one measurement gives: the t of largest |t| and the number of calls in that crop.
#[derive(Clone, Copy, Debug)]
struct Summary {
    t: f64,
    n: usize,
}

/// DudeCT's statistic, as `dudect-bencher` computes it: Welch's t on all the calls and on each
/// crop below [`crop_thresholds`], the one of largest |t| (a t that is not a number counts as
/// the smallest).
fn max_t(timings: Timings) -> Summary {
    let Timings {
        mut left,
        mut right,
    } = timings;
    let none = Summary {
        t: f64::NAN,
        n: left.len() + right.len(),
    };
    if left.is_empty() || right.is_empty() {
        return none;
    }
    left.sort_unstable();
    right.sort_unstable();
    let mut all = [&left[..], &right[..]].concat();
    // Two sorted runs: the stable sort finds them and merges them in one pass.
    all.sort();
    let thresholds = crop_thresholds(&all);
    drop(all);
    let whole = |values: &[u64]| {
        let mut moments = Moments::default();
        values.iter().for_each(|&x| moments.push(x as f64));
        moments
    };
    let crops = std::iter::once((whole(&left), whole(&right))).chain(
        cropped_moments(&left, &thresholds)
            .into_iter()
            .zip(cropped_moments(&right, &thresholds)),
    );
    crops
        .map(|(l, r)| Summary {
            t: welch_t(&l, &r),
            n: l.n + r.n,
        })
        .fold(none, |best, next| {
            if next.t.abs() > best.t.abs() || (best.t.is_nan() && !next.t.is_nan()) {
                next
            } else {
                best
            }
        })
}

// ---------------------------------------------------------------------------------------------
// The verdict

/// A test, its class-swapped twin, or its A/A control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Test,
    Twin,
    Control,
}

impl Variant {
    const ALL: [Variant; 3] = [Variant::Test, Variant::Twin, Variant::Control];

    /// The kinds of inputs of the Left and the Right class.
    fn inputs(self) -> (Inputs, Inputs) {
        match self {
            Variant::Test => (Inputs::A, Inputs::B),
            Variant::Twin => (Inputs::B, Inputs::A),
            Variant::Control => (Inputs::A, Inputs::A),
        }
    }

    /// The variants in the order of run `run`: each goes first in one run out of three, so
    /// that none always runs on a cold or a warm machine.
    fn order(run: usize) -> [Variant; 3] {
        let mut order = Variant::ALL;
        order.rotate_left(run % 3);
        order
    }

    fn label(self) -> &'static str {
        match self {
            Variant::Test => "test",
            Variant::Twin => "twin",
            Variant::Control => "A/A",
        }
    }
}

/// The t of every run of a test, of its twin and of its A/A control.
#[derive(Clone, Debug, Default, PartialEq)]
struct Runs {
    test: Vec<f64>,
    twin: Vec<f64>,
    control: Vec<f64>,
}

impl Runs {
    fn push(&mut self, variant: Variant, t: f64) {
        match variant {
            Variant::Test => self.test.push(t),
            Variant::Twin => self.twin.push(t),
            Variant::Control => self.control.push(t),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Leak,
    NoLeakDetected,
    Inconclusive,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Leak => "leak",
            Verdict::NoLeakDetected => "no leak detected",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The largest |t| of `ts`, 0 for none.
fn max_abs(ts: &[f64]) -> f64 {
    ts.iter().map(|t| t.abs()).fold(0.0, f64::max)
}

/// The smallest |t| of `ts`, 0 for none.
fn min_abs(ts: &[f64]) -> f64 {
    ts.iter().map(|t| t.abs()).reduce(f64::min).unwrap_or(0.0)
}

/// 1 or -1 if every t of `ts` has that sign; `None` if they differ, one is 0 or there are none.
fn common_sign(ts: &[f64]) -> Option<f64> {
    let first = ts.first()?.signum();
    let nonzero = ts.iter().all(|&t| t != 0.0);
    (nonzero && ts.iter().all(|t| t.signum() == first)).then_some(first)
}

/// The rule of the module docs: above the floor in every run, then direction kept.
fn verdict(runs: &Runs) -> Verdict {
    let all = || runs.test.iter().chain(&runs.twin).chain(&runs.control);
    if runs.test.is_empty() || runs.control.is_empty() || all().any(|t| !t.is_finite()) {
        return Verdict::Inconclusive;
    }
    if min_abs(&runs.test) <= max_abs(&runs.control) {
        return Verdict::NoLeakDetected;
    }
    match (common_sign(&runs.test), common_sign(&runs.twin)) {
        (Some(test), Some(twin)) if test == -twin => Verdict::Leak,
        _ => Verdict::Inconclusive,
    }
}

/// One sign per run: `+`, `-`, or `?` for 0 or not a number.
fn signs(ts: &[f64]) -> String {
    ts.iter()
        .map(|&t| match t {
            t if t > 0.0 => '+',
            t if t < 0.0 => '-',
            _ => '?',
        })
        .collect()
}

/// C(2r, r): with r runs and no leak, the odds against every run of a test landing above every
/// run of its control.
fn chance_against(runs: usize) -> f64 {
    (1..=runs).fold(1.0, |c, k| c * (runs + k) as f64 / k as f64)
}

/// The table of verdicts, in Markdown, its columns aligned; `command` is the command that
/// measures one test.
fn table(rows: &[(&CtTest, &Runs)], command: impl Fn(&CtTest) -> String) -> String {
    let header = [
        "test",
        "\\|t\\| test, min–max",
        "\\|t\\| twin, max",
        "A/A floor",
        "signs test / twin",
        "verdict",
        "expected",
        "reproduce",
    ]
    .map(String::from);
    let lines: Vec<[String; 8]> = std::iter::once(header)
        .chain(rows.iter().map(|(test, runs)| {
            [
                format!("`{}`", test.name),
                format!("{:.2}–{:.2}", min_abs(&runs.test), max_abs(&runs.test)),
                format!("{:.2}", max_abs(&runs.twin)),
                format!("{:.2}", max_abs(&runs.control)),
                format!("{} / {}", signs(&runs.test), signs(&runs.twin)),
                format!("**{}**", verdict(runs).label()),
                if test.expect_leak {
                    "leak (positive control)".into()
                } else {
                    "no leak".into()
                },
                format!("`{}`", command(test)),
            ]
        }))
        .collect();
    let widths: Vec<usize> = (0..8)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:<width$}"))
            .collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    let mut out = row(&lines[0]);
    out += &row(&rule);
    for line in &lines[1..] {
        out += &row(line);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Checks of the statistic and the rule

/// The checks `main` runs first.
const CHECKS: [fn(); 11] = [
    checks::leak_when_every_run_stands_above_the_floor_and_the_twin_flips,
    checks::one_run_at_the_floor_means_no_leak_detected,
    checks::twin_with_the_same_sign_is_inconclusive,
    checks::test_changing_sign_between_runs_is_inconclusive,
    checks::a_t_that_is_not_a_number_is_inconclusive,
    checks::noisy_runs_past_4_5_are_no_leak_detected,
    checks::max_t_is_positive_when_left_is_slower,
    checks::max_t_equals_dudect_benchers_computation,
    checks::max_t_of_an_empty_class_is_not_a_number,
    checks::chance_against_5_runs_is_252,
    checks::a_filter_equal_to_a_name_selects_only_that_test,
];

mod checks {
    use super::*;

    fn runs(test: &[f64], twin: &[f64], control: &[f64]) -> Runs {
        Runs {
            test: test.to_vec(),
            twin: twin.to_vec(),
            control: control.to_vec(),
        }
    }

    pub(super) fn leak_when_every_run_stands_above_the_floor_and_the_twin_flips() {
        let r = runs(&[-9.0, -7.5, -12.0], &[8.0, 3.0, 10.0], &[2.0, -4.1, 3.3]);
        assert_eq!(verdict(&r), Verdict::Leak);
    }

    pub(super) fn one_run_at_the_floor_means_no_leak_detected() {
        let r = runs(&[-9.0, -4.1, -12.0], &[8.0, 3.0, 10.0], &[2.0, -4.1, 3.3]);
        assert_eq!(verdict(&r), Verdict::NoLeakDetected);
    }

    pub(super) fn twin_with_the_same_sign_is_inconclusive() {
        let r = runs(&[-9.0, -7.5, -12.0], &[8.0, -3.0, 10.0], &[2.0, -4.1, 3.3]);
        assert_eq!(verdict(&r), Verdict::Inconclusive);
    }

    pub(super) fn test_changing_sign_between_runs_is_inconclusive() {
        let r = runs(&[-9.0, 7.5, -12.0], &[8.0, 3.0, 10.0], &[2.0, -4.1, 3.3]);
        assert_eq!(verdict(&r), Verdict::Inconclusive);
    }

    pub(super) fn a_t_that_is_not_a_number_is_inconclusive() {
        let r = runs(&[-9.0, -7.5], &[8.0, 3.0], &[f64::NAN, 1.0]);
        assert_eq!(verdict(&r), Verdict::Inconclusive);
        assert_eq!(verdict(&Runs::default()), Verdict::Inconclusive);
    }

    /// Two runs of `digest_compare` and an A/A control measured on a loaded machine.
    pub(super) fn noisy_runs_past_4_5_are_no_leak_detected() {
        let r = runs(&[-4.07, -11.7], &[-2.39, 1.0], &[-5.24, 0.8]);
        assert_eq!(verdict(&r), Verdict::NoLeakDetected);
    }

    pub(super) fn max_t_is_positive_when_left_is_slower() {
        let timings = Timings {
            left: (0..1000).map(|n| 110 + n % 7).collect(),
            right: (0..1000).map(|n| 100 + n % 7).collect(),
        };
        let summary = max_t(timings);
        assert!(summary.t > 100.0, "t = {}", summary.t);
    }

    /// `dudect-bencher` 0.7's `update_ct_stats`, transcribed: percentiles of the calls in their
    /// order, then each crop filtered from scratch.
    fn dudect(timings: &Timings) -> f64 {
        let mut all = [&timings.left[..], &timings.right[..]].concat();
        all.sort_unstable();
        let percentile = |pct: f64| {
            let rank = (pct / 100.0) * (all.len() - 1) as f64;
            let n = rank.floor() as usize;
            let (lo, hi) = (all[n] as f64, all[n + 1] as f64);
            lo + (hi - lo) * (rank - rank.floor())
        };
        let thresholds: Vec<f64> = (0..100)
            .map(|i| percentile(100.0 * (1.0 - 0.5f64.powf(f64::from(10 * (i + 1)) / 100.0))))
            .collect();
        let t = |keep: &dyn Fn(f64) -> bool| {
            let mut l = Moments::default();
            let mut r = Moments::default();
            timings
                .left
                .iter()
                .map(|&x| x as f64)
                .filter(|&x| keep(x))
                .for_each(|x| l.push(x));
            timings
                .right
                .iter()
                .map(|&x| x as f64)
                .filter(|&x| keep(x))
                .for_each(|x| r.push(x));
            welch_t(&l, &r)
        };
        std::iter::once(t(&|_| true))
            .chain(thresholds.iter().map(|&p| t(&|x| x < p)))
            .fold(f64::NAN, |best, t| {
                if t.abs() > best.abs() || best.is_nan() {
                    t
                } else {
                    best
                }
            })
    }

    pub(super) fn max_t_equals_dudect_benchers_computation() {
        let mut rng = BenchRng::seed_from_u64(7);
        let mut draw = |shift: u64| -> Vec<u64> {
            (0..5_000)
                .map(|_| {
                    let outlier = if rng.random_range(0..100) == 0 {
                        5_000
                    } else {
                        0
                    };
                    100 + shift + rng.random_range(0..40) + outlier
                })
                .collect()
        };
        let timings = Timings {
            left: draw(0),
            right: draw(1),
        };
        let (ours, theirs) = (max_t(timings.clone()).t, dudect(&timings));
        assert!(theirs.is_finite() && theirs.abs() > 1.0, "t = {theirs}");
        assert!(
            (ours - theirs).abs() <= 1e-9 * theirs.abs(),
            "{ours} vs {theirs}"
        );
    }

    pub(super) fn max_t_of_an_empty_class_is_not_a_number() {
        let timings = Timings {
            left: vec![1, 2, 3],
            right: vec![],
        };
        assert!(max_t(timings).t.is_nan());
        assert!(max_t(Timings::default()).t.is_nan());
    }

    pub(super) fn chance_against_5_runs_is_252() {
        assert_eq!(chance_against(5), 252.0);
        assert_eq!(chance_against(1), 2.0);
    }

    pub(super) fn a_filter_equal_to_a_name_selects_only_that_test() {
        let names =
            |filter| -> Vec<&str> { select(&TESTS, filter).iter().map(|t| t.name).collect() };
        assert_eq!(
            names(Some("wrong_secret_position")),
            ["wrong_secret_position"]
        );
        assert_eq!(
            names(Some("wrong_secret")),
            ["wrong_secret_position", "verify_wrong_secret_position"]
        );
        assert_eq!(names(None).len(), TESTS.len());
        assert!(names(Some("none")).is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Running

struct Settings {
    runs: usize,
    size: Size,
    smoke: bool,
    filter: Option<String>,
    /// The settings read from the environment, as `NAME=value`.
    from_env: Vec<String>,
}

impl Settings {
    /// The command that measures `test` with these settings.
    fn command(&self, test: &CtTest) -> String {
        let env: String = self.from_env.iter().map(|v| format!("{v} ")).collect();
        format!("{env}cargo bench --bench constant_time -- {}", test.name)
    }
}

/// A positive whole number from the environment variable `name`, noted in `from_env`, or
/// `default` when it is unset.
fn env_count(name: &str, default: usize, from_env: &mut Vec<String>) -> Result<usize, String> {
    let value = match env::var(name) {
        Err(env::VarError::NotPresent) => return Ok(default),
        Err(env::VarError::NotUnicode(value)) => return Err(format!("{name}={value:?}: not text")),
        Ok(value) => value,
    };
    let count = value
        .replace('_', "")
        .parse()
        .ok()
        .filter(|&n: &usize| n > 0)
        .ok_or_else(|| format!("{name}={value:?}: expected a positive whole number"))?;
    from_env.push(format!("{name}={count}"));
    Ok(count)
}

/// The settings of the module docs: `--bench` (passed by `cargo bench`) measures, anything else
/// is a smoke run; the first argument without `--` selects tests by name ([`select`]).
fn settings() -> Result<Settings, String> {
    let args: Vec<String> = env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test");
    let (runs, samples, inputs) = if smoke {
        (SMOKE_RUNS, SMOKE_SAMPLES, SMOKE_INPUTS)
    } else {
        (RUNS, SAMPLES, INPUTS)
    };
    let mut from_env = Vec::new();
    Ok(Settings {
        runs: env_count("FORMBOX_CT_RUNS", runs, &mut from_env)?,
        size: Size {
            samples: env_count("FORMBOX_CT_SAMPLES", samples, &mut from_env)?,
            inputs: env_count("FORMBOX_CT_KEYS", inputs, &mut from_env)?,
        },
        smoke,
        filter: args.iter().find(|a| !a.starts_with("--")).cloned(),
        from_env,
    })
}

/// The tests named `filter`, or else those whose name contains it; all without one.
fn select<'a>(tests: &'a [CtTest], filter: Option<&str>) -> Vec<&'a CtTest> {
    let Some(filter) = filter else {
        return tests.iter().collect();
    };
    let exact: Vec<&CtTest> = tests.iter().filter(|t| t.name == filter).collect();
    if !exact.is_empty() {
        return exact;
    }
    tests.iter().filter(|t| t.name.contains(filter)).collect()
}

fn minutes(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    format!("{} min {:02} s", seconds / 60, seconds % 60)
}

fn main() -> ExitCode {
    let settings = match settings() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("constant_time: {error}");
            return ExitCode::from(2);
        }
    };
    for check in CHECKS {
        check();
    }
    println!(
        "constant_time: {} checks of the statistic and the rule passed",
        CHECKS.len()
    );

    let tests = select(&TESTS, settings.filter.as_deref());
    if tests.is_empty() {
        let names: Vec<&str> = TESTS.iter().map(|t| t.name).collect();
        eprintln!(
            "constant_time: no test matches; the tests: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    let Size { inputs, samples } = settings.size;
    println!(
        "constant_time: {} run(s) of {} test(s) x 3 variants (test, twin, A/A), {samples} timed \
         calls each, {inputs} keys{}",
        settings.runs,
        tests.len(),
        if settings.smoke { " (smoke run)" } else { "" },
    );
    let width = tests.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let started = Instant::now();
    let mut results = vec![Runs::default(); tests.len()];
    for run in 0..settings.runs {
        for (test, runs) in tests.iter().zip(&mut results) {
            for variant in Variant::order(run) {
                let began = Instant::now();
                let mut rng = BenchRng::from_rng(&mut rand::rng());
                let summary = max_t((test.measure)(settings.size, &mut rng, variant));
                runs.push(variant, summary.t);
                println!(
                    "run {}/{}  {:width$}  {:4}  max t = {:+9.2}  n = {:.2} M  {:.1} s",
                    run + 1,
                    settings.runs,
                    test.name,
                    variant.label(),
                    summary.t,
                    summary.n as f64 / 1e6,
                    began.elapsed().as_secs_f64(),
                );
            }
        }
    }
    let elapsed = started.elapsed();

    let rows: Vec<(&CtTest, &Runs)> = tests.iter().copied().zip(&results).collect();
    println!();
    print!("{}", table(&rows, |test| settings.command(test)));
    println!();
    println!(
        "Rule: leak = min |t| of the test above the A/A floor (the control's max |t|), and \
         the twin's sign opposite the test's in every run; no leak detected = not above the \
         floor; inconclusive = above the floor, direction not kept."
    );
    println!(
        "With {} run(s) and no leak, a test stands above its floor by chance once in {:.0}.",
        settings.runs,
        chance_against(settings.runs),
    );
    let control_failed = rows
        .iter()
        .any(|(test, runs)| test.expect_leak && verdict(runs) != Verdict::Leak);
    if settings.smoke {
        println!(
            "Smoke run: {samples} calls on {inputs} keys per run, the verdicts mean \
             nothing. Measure with `cargo bench --bench constant_time`."
        );
    } else if control_failed {
        println!("The positive control did not read \"leak\": too noisy to vouch for the others.");
    }
    println!("Wall time: {}.", minutes(elapsed));
    ExitCode::SUCCESS
}
