//! [`MemoryLimiter`]: budgets kept in this process, exact on one instance.

use std::{
    collections::HashMap,
    fmt,
    hash::BuildHasher,
    sync::{
        PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use super::{Check, RateDecision, RateLimit, RateLimiter};
use crate::{
    clock::Clock,
    key::{IdBuildHasher, KeyId},
};

/// Number of independently locked parts of the table. A power of two, so that a shard is a few
/// bits of the id's hash; with 64, two cores adding keys rarely wait for each other.
const SHARDS: usize = 64;

/// A shard is swept no earlier than at this many keys: small tables are not worth the bother.
const MIN_SWEEP: usize = 64;

/// Budgets kept in this process: GCRA per key, exact on one instance.
///
/// Each key has a theoretical arrival time (TAT): when its budget would be whole again. A
/// request at time `t` under a limit of `requests` per `window` moves it to
/// `max(TAT, t) + T`, where `T = window / requests` (rounded up to the nanosecond), and is
/// admitted if that is at most `t + requests * T`: a fresh key may spend all `requests` at once,
/// and after that one every `T`.
/// Over any run of `d` seconds a key is admitted at most `requests + requests * d / window`
/// times, whatever the clients do and however many threads check at once.
///
/// Memory stays proportional to the keys whose budget is not whole: such a key is the same as
/// one never seen, so the limiter forgets it. Forgetting happens when a part of the table is
/// full, before it would grow, so it costs nothing per request on average. A million limited
/// keys take about 56 bytes each.
///
/// Time is the monotonic clock, immune to changes of the wall clock: on Linux its coarse form
/// (the kernel's last tick, 1 to 4 ms apart), several times cheaper to read, with which the bound
/// above holds for runs measured in ticks, so that a run may admit `requests * tick / window`
/// more (for 600 a minute, 0.04 of a request: none); elsewhere `Instant`.
/// [`with_clock`](Self::with_clock) takes a [`Clock`] instead, for tests. A check never waits:
/// it answers [`Check::Ready`].
///
/// ```
/// use formbox_auth::{rate_limit::{MemoryLimiter, RateLimit}, KeyId};
/// use std::time::Duration;
///
/// let limiter = MemoryLimiter::new();
/// let key: KeyId = "Ab3dEf6hIj9k".parse()?;
/// let limit = RateLimit::new(2, 60)?;
/// assert!(limiter.decide(key, limit).allowed);
/// assert!(limiter.decide(key, limit).allowed);
/// let third = limiter.decide(key, limit);
/// assert!(!third.allowed);
/// // One request every 30 s after the burst: the next fits in (just under) 30 s.
/// assert!(third.retry_after <= Duration::from_secs(30));
/// assert!(third.retry_after > Duration::from_secs(29));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MemoryLimiter {
    shards: Box<[Padded<RwLock<Shard>>]>,
    hasher: IdBuildHasher,
    time: Time,
}

/// Keeps each shard's lock on a cache line of its own, so that two cores checking keys of
/// different shards do not slow each other down.
#[repr(align(64))]
struct Padded<T>(T);

/// Part of the table: the TAT of each key, in nanoseconds since the limiter started.
///
/// A check of a key the shard holds takes the lock shared and moves the key's TAT with a
/// compare-and-swap, so that checks on every core go ahead at once, and a check whose thread is
/// preempted half-way (as happens when a server shares its cores with other work) holds no
/// other check up. The lock is taken exclusively only to add a key or to sweep.
struct Shard {
    arrivals: HashMap<KeyId, AtomicU64, IdBuildHasher>,
    /// How many keys the shard holds before it sweeps out those whose budget is whole.
    sweep_at: usize,
}

/// Where the limiter reads the time.
enum Time {
    /// The kernel's coarse monotonic clock, in nanoseconds when the limiter started.
    #[cfg(target_os = "linux")]
    Coarse(u64),
    #[cfg(not(target_os = "linux"))]
    Monotonic(std::time::Instant),
    Clock {
        clock: Box<dyn Clock>,
        start: SystemTime,
    },
}

impl MemoryLimiter {
    /// An empty limiter on the monotonic clock.
    pub fn new() -> Self {
        #[cfg(target_os = "linux")]
        return Self::with_time(Time::Coarse(coarse_nanos()));
        #[cfg(not(target_os = "linux"))]
        Self::with_time(Time::Monotonic(std::time::Instant::now()))
    }

    /// An empty limiter that reads the time from `clock`, such as `testing::ManualClock`, so
    /// that tests step over a window without sleeping. A clock that goes back makes the
    /// limiter stricter, never looser.
    pub fn with_clock(clock: impl Clock) -> Self {
        let start = clock.now();
        Self::with_time(Time::Clock {
            clock: Box::new(clock),
            start,
        })
    }

    fn with_time(time: Time) -> Self {
        let shards = (0..SHARDS)
            .map(|_| Padded(RwLock::new(Shard::new())))
            .collect();
        Self {
            shards,
            hasher: IdBuildHasher::default(),
            time,
        }
    }

    /// Spends one request of `key`'s budget under `limit`, or says how long until one fits:
    /// what [`check`](RateLimiter::check) answers as [`Check::Ready`].
    pub fn decide(&self, key: KeyId, limit: RateLimit) -> RateDecision {
        let now = self.time.nanos();
        let shard = self.shard(&key);
        // A key already held, the hot case: the lock shared, one lookup and a compare-and-swap.
        if let Some(decision) = read(shard)
            .arrivals
            .get(&key)
            .map(|stored| spend(stored, now, limit))
        {
            return decision;
        }
        let mut shard = write(shard);
        // Another check may have added the key since the shared lock was let go.
        if let Some(stored) = shard.arrivals.get(&key) {
            return spend(stored, now, limit);
        }
        let (decision, next) = gcra(None, now, limit);
        if let Some(next) = next {
            shard.remember(key, next, now);
        }
        decision
    }

    /// How many keys the limiter holds: those whose budget is not whole, and some whose
    /// budget refilled since their part of the table was last swept.
    pub fn tracked_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| read(&shard.0).arrivals.len())
            .sum()
    }

    fn shard(&self, key: &KeyId) -> &RwLock<Shard> {
        // Bits from the middle of the hash: the table inside a shard uses the low bits for the
        // bucket and the high ones for its tags, and keys of one shard share these.
        let index = (self.hasher.hash_one(key) >> 32) as usize % SHARDS;
        &self.shards[index].0
    }
}

/// A poisoned lock still holds whole entries: each is written in one step.
fn read(shard: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

/// [`read`], exclusively.
fn write(shard: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

/// One GCRA step on a key's stored TAT, tried again whenever another check moved it in
/// between: concurrent checks of one key admit exactly what they would one after another. A
/// refusal stores nothing.
fn spend(stored: &AtomicU64, now: u64, limit: RateLimit) -> RateDecision {
    // One location, read and written only here and under the exclusive lock: its own order of
    // changes is all the algorithm relies on, which every ordering keeps.
    let mut arrival = stored.load(Ordering::Relaxed);
    loop {
        let (decision, next) = gcra(Some(arrival), now, limit);
        let Some(next) = next else {
            return decision;
        };
        match stored.compare_exchange_weak(arrival, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return decision,
            Err(moved) => arrival = moved,
        }
    }
}

impl Shard {
    fn new() -> Self {
        Self {
            arrivals: HashMap::default(),
            sweep_at: MIN_SWEEP,
        }
    }

    /// Stores the TAT of a key the shard does not hold. A full shard first makes room by
    /// forgetting every key whose budget is whole at `now`, so the table grows only with keys
    /// still limited.
    fn remember(&mut self, key: KeyId, arrival: u64, now: u64) {
        if self.arrivals.len() >= self.sweep_at {
            self.sweep(now);
        }
        self.arrivals.insert(key, AtomicU64::new(arrival));
    }

    /// Forgets the keys whose budget is whole. The next sweep comes after at least as many new
    /// keys as the shard still holds, so each sweep is paid for by the inserts before it, and
    /// the table shrinks when it is much larger than that.
    fn sweep(&mut self, now: u64) {
        self.arrivals.retain(|_, arrival| *arrival.get_mut() > now);
        self.sweep_at = (2 * self.arrivals.len()).max(MIN_SWEEP);
        if self.arrivals.capacity() > 4 * self.sweep_at {
            self.arrivals.shrink_to(self.sweep_at);
        }
    }
}

/// One GCRA step for a key whose TAT is `arrival` (`None`: never seen or forgotten): the
/// decision, and the TAT to store if the request is admitted.
fn gcra(arrival: Option<u64>, now: u64, limit: RateLimit) -> (RateDecision, Option<u64>) {
    let interval = limit.emission_interval_nanos();
    // The window rounded up to whole intervals, so that exactly `requests` fit in a burst.
    let capacity = interval.saturating_mul(u64::from(limit.requests()));
    let base = arrival.map_or(now, |arrival| arrival.max(now));
    let next = base.saturating_add(interval);
    let ahead = next - now;
    if ahead <= capacity {
        let remaining = (capacity - ahead) / interval;
        let decision = RateDecision {
            limit,
            allowed: true,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_after: Duration::from_nanos(ahead),
            retry_after: Duration::ZERO,
        };
        return (decision, Some(next));
    }
    let decision = RateDecision {
        limit,
        allowed: false,
        remaining: 0,
        reset_after: Duration::from_nanos(base - now),
        retry_after: Duration::from_nanos(ahead - capacity),
    };
    (decision, None)
}

impl Time {
    /// Nanoseconds since the limiter started.
    fn nanos(&self) -> u64 {
        let elapsed = match self {
            #[cfg(target_os = "linux")]
            Self::Coarse(start) => return coarse_nanos().saturating_sub(*start),
            #[cfg(not(target_os = "linux"))]
            Self::Monotonic(start) => start.elapsed(),
            Self::Clock { clock, start } => clock.now().duration_since(*start).unwrap_or_default(),
        };
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// `CLOCK_MONOTONIC_COARSE` in nanoseconds: the monotonic time of the kernel's last tick, a
/// read of shared memory (a few nanoseconds) where the precise clock costs about 20.
#[cfg(target_os = "linux")]
fn coarse_nanos() -> u64 {
    use rustix::time::{ClockId, clock_gettime};
    let time = clock_gettime(ClockId::MonotonicCoarse);
    let seconds = u64::try_from(time.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(time.tv_nsec).unwrap_or(0);
    seconds.saturating_mul(1_000_000_000).saturating_add(nanos)
}

impl RateLimiter for MemoryLimiter {
    fn check(&self, key: KeyId, limit: RateLimit) -> Check {
        Check::Ready(self.decide(key, limit))
    }
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = match &self.time {
            #[cfg(target_os = "linux")]
            Time::Coarse(_) => "monotonic (coarse)",
            #[cfg(not(target_os = "linux"))]
            Time::Monotonic(_) => "monotonic",
            Time::Clock { .. } => "clock",
        };
        f.debug_struct("MemoryLimiter")
            .field("shards", &SHARDS)
            .field("time", &clock)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn limit(requests: u32, per_seconds: u32) -> RateLimit {
        RateLimit::new(requests, per_seconds).unwrap()
    }

    fn key(n: u32) -> KeyId {
        format!("{n:012}").parse().unwrap()
    }

    /// Runs `times` requests of one key at `now`, threading the TAT through.
    fn burst(arrival: &mut Option<u64>, now: u64, limit: RateLimit, times: u32) -> u32 {
        let mut admitted = 0;
        for _ in 0..times {
            let (decision, next) = gcra(*arrival, now, limit);
            if decision.allowed {
                admitted += 1;
                *arrival = next;
            }
        }
        admitted
    }

    #[test]
    fn a_fresh_key_spends_its_whole_budget_at_once_and_no_more() {
        let mut arrival = None;
        assert_eq!(burst(&mut arrival, 0, limit(5, 60), 10), 5);
        let (refused, next) = gcra(arrival, 0, limit(5, 60));
        assert!(!refused.allowed);
        assert_eq!(next, None, "a refusal spends nothing");
        assert_eq!(refused.retry_after, Duration::from_secs(12));
        assert_eq!(refused.reset_after, Duration::from_secs(60));
    }

    #[test]
    fn one_request_comes_back_every_interval() {
        let mut arrival = None;
        burst(&mut arrival, 0, limit(5, 60), 5);
        assert_eq!(burst(&mut arrival, 12 * SECOND - 1, limit(5, 60), 1), 0);
        assert_eq!(burst(&mut arrival, 12 * SECOND, limit(5, 60), 3), 1);
        assert_eq!(burst(&mut arrival, 60 * SECOND, limit(5, 60), 10), 4);
    }

    #[test]
    fn remaining_and_reset_describe_the_budget_after_the_request() {
        let (first, _) = gcra(None, 0, limit(600, 60));
        assert_eq!(first.remaining, 599);
        assert_eq!(first.reset_after, Duration::from_millis(100));
        assert_eq!(first.retry_after, Duration::ZERO);
    }

    #[test]
    fn no_run_of_time_admits_more_than_the_limit_allows() {
        // An interval that does not divide the window: 7 per 10 s.
        let limit = limit(7, 10);
        let mut arrival = None;
        let mut admitted = Vec::new();
        for step in 0..2_000u64 {
            let now = step * SECOND / 20;
            if burst(&mut arrival, now, limit, 3) > 0 {
                admitted.push(now);
            }
        }
        for (i, &start) in admitted.iter().enumerate() {
            for (j, &end) in admitted.iter().enumerate().skip(i) {
                let run = (end - start) as f64 / SECOND as f64;
                let bound = 7.0 + 7.0 * run / 10.0;
                assert!((j - i + 1) as f64 <= bound, "{} in {run} s", j - i + 1);
            }
        }
    }

    #[test]
    fn concurrent_checks_of_one_key_never_admit_more_than_the_limit() {
        let limiter = Arc::new(MemoryLimiter::new());
        let admitted = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (limiter, admitted) = (Arc::clone(&limiter), Arc::clone(&admitted));
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        if limiter.decide(key(1), limit(1_000, 86_400)).allowed {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .for_each(|thread| thread.join().unwrap());
        assert_eq!(admitted.load(Ordering::Relaxed), 1_000);
    }

    #[test]
    fn concurrent_first_checks_of_new_keys_admit_each_once() {
        let limiter = Arc::new(MemoryLimiter::new());
        let admitted = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (limiter, admitted) = (Arc::clone(&limiter), Arc::clone(&admitted));
                std::thread::spawn(move || {
                    for n in 0..2_000 {
                        if limiter.decide(key(n), limit(1, 86_400)).allowed {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .for_each(|thread| thread.join().unwrap());
        assert_eq!(admitted.load(Ordering::Relaxed), 2_000);
        assert_eq!(limiter.tracked_keys(), 2_000);
    }

    /// A clock tests set by hand.
    #[derive(Debug, Clone)]
    struct SetClock(Arc<std::sync::Mutex<SystemTime>>);

    impl Clock for SetClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    #[test]
    fn a_clock_that_goes_back_refuses_rather_than_admits() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let clock = SetClock(Arc::new(std::sync::Mutex::new(start)));
        let limiter = MemoryLimiter::with_clock(clock.clone());
        assert!(limiter.decide(key(1), limit(1, 60)).allowed);
        *clock.0.lock().unwrap() = start - Duration::from_secs(30);
        let refused = limiter.decide(key(1), limit(1, 60));
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_secs(60));
        *clock.0.lock().unwrap() = start + Duration::from_secs(60);
        assert!(limiter.decide(key(1), limit(1, 60)).allowed);
    }

    #[test]
    fn keys_have_separate_budgets() {
        let limiter = MemoryLimiter::new();
        assert!(limiter.decide(key(1), limit(1, 60)).allowed);
        assert!(!limiter.decide(key(1), limit(1, 60)).allowed);
        assert!(limiter.decide(key(2), limit(1, 60)).allowed);
    }

    #[test]
    fn a_full_shard_forgets_keys_whose_budget_is_whole_instead_of_growing() {
        let mut shard = Shard::new();
        for n in 0..10_000 {
            shard.remember(key(n), SECOND, 0);
        }
        let grown = shard.arrivals.capacity();
        // Every budget above is whole from 1 s on; ten times as many new keys come, each
        // whole again a microsecond after it was spent.
        for n in 10_000..110_000 {
            let now = SECOND + u64::from(n) * 1_000;
            shard.remember(key(n), now + 1_000, now);
        }
        assert!(
            shard.arrivals.capacity() <= grown,
            "grew to {}",
            shard.arrivals.capacity()
        );
        assert!(
            shard.arrivals.len() < 20_000,
            "holds {}",
            shard.arrivals.len()
        );
    }

    #[test]
    fn a_swept_table_shrinks_when_most_keys_were_forgotten() {
        let mut shard = Shard::new();
        for n in 0..10_000 {
            shard.remember(key(n), SECOND, 0);
        }
        shard.sweep(SECOND);
        assert!(shard.arrivals.is_empty());
        assert!(
            shard.arrivals.capacity() < 1_000,
            "{}",
            shard.arrivals.capacity()
        );
    }

    #[test]
    fn keys_still_limited_are_never_forgotten() {
        let mut shard = Shard::new();
        for n in 0..10_000 {
            shard.remember(key(n), 10 * SECOND, 0);
        }
        for n in 10_000..20_000 {
            shard.remember(key(n), 10 * SECOND, SECOND);
        }
        assert_eq!(shard.arrivals.len(), 20_000);
        let kept = shard
            .arrivals
            .get(&key(0))
            .map(|a| a.load(Ordering::Relaxed));
        assert_eq!(kept, Some(10 * SECOND));
    }
}
