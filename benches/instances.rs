//! Revocation across many instances of a service: how long a key revoked through one instance
//! keeps working on the others, whether any of them takes it back after refusing it, and what
//! each way of telling caches costs in PostgreSQL connections.
//!
//! N instances (100 unless told) run in this one process, each as it would on a machine of its
//! own: its own PostgreSQL pool (at most 2 connections, opened only when needed), its own
//! `CachedStore` with a 10-minute time to live, so that only an invalidation can explain a
//! revocation being seen, and its own invalidation subscription. Every instance authenticates
//! its hot keys every 5 ms through its own `Authenticator`; all keys are valid and cached
//! everywhere before the first revocation. Then keys are revoked one after another through
//! instance 0's `KeyManager`, over instance 0's cache, and for each revocation and each other
//! instance the run records:
//!
//! - the delay: from the moment the revoke call returned (committed) to that instance's first
//!   refusal of the key, as its clients see it; beside it, when the invalidation reached the
//!   instance's cache. Either counts as 0 when it came before the call returned;
//! - accepts of the key after the revoke returned but before that first refusal: the window
//!   itself, allowed;
//! - accepts of the key by an instance that had already refused it (on any instance,
//!   instance 0 included): there must be none.
//!
//! It samples `pg_stat_activity` while all instances run: the connections the instances hold, and
//! how many of them last ran `LISTEN`. It prints one markdown row per invalidation path, and
//! exits with 1 if a target is missed: delay p99 of 1 s or more, any accept after the window, an
//! instance that did not refuse a revoked key within 5 s, a valid key refused or a store error;
//! with 2 if it could not measure.
//!
//! ```sh
//! scripts/instances.sh 100    # PostgreSQL (and Redis) started and stopped around the run
//! cargo bench --bench instances --features postgres -- 100 --path postgres --revocations 20
//! ```
//!
//! Arguments after `--`: the number of instances; `--path NAME[,NAME]` (every path by default:
//! `postgres`, each instance `PostgresStore::listen_invalidations`); `--revocations R` (20);
//! `--spacing-ms MS` (200, between the starts of two revocations). With `--test`, or without
//! the `--bench` that `cargo bench` passes (as `cargo test --benches` runs it), it is a smoke
//! run: 5 instances and 2 revocations unless told otherwise. The database is the one in
//! `FORMBOX_TEST_POSTGRES_URL`; a smoke run without it says it is skipped, a measurement fails.

use std::{
    process::ExitCode,
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use formbox_auth::{
    Authenticator, KeyId, KeyManager, KeyStore, OrganizationId, Permission,
    authenticator::AuthError,
    lifecycle::NewKey,
    sqlx::{
        AssertSqlSafe, Connection, PgPool,
        postgres::{PgConnectOptions, PgConnection, PgPoolOptions},
    },
    store::{
        CachedLookup, CachedStore, Invalidate, InvalidationListener, PostgresStore,
        RedisInvalidation,
    },
};
use tokio::{task::JoinSet, time::MissedTickBehavior};

/// Long enough that nothing expires during a run: an instance other than 0 that refuses a revoked
/// key was told of the revocation; its cached record never ran out.
const TTL: Duration = Duration::from_secs(600);
/// What an instance on a machine of its own would give its pool: the listener's connection and
/// one for lookups.
const POOL_CONNECTIONS: u32 = 2;
/// How often an instance asks for each of its hot keys: the resolution of the delays, and little
/// enough work that 100 instances leave the machine's cores to PostgreSQL.
const ROUND: Duration = Duration::from_millis(5);
/// Keys that stay valid all along, so that a refusal of a valid key would show.
const CONTROL_KEYS: usize = 2;
/// How long after its revocation returned an instance may go on accepting a key.
const WITHIN: Duration = Duration::from_secs(5);
/// The delay 99 % of refusals must beat.
const TARGET_P99: Duration = Duration::from_secs(1);
/// How long instances keep serving after the last first refusal, to catch a revoked key coming
/// back.
const TAIL: Duration = Duration::from_millis(500);
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// How long a connection may take to come, and creates to reach every instance, before setup
/// fails.
const SETUP: Duration = Duration::from_secs(10);

const USAGE: &str = "usage: cargo bench --bench instances --features postgres,redis -- [N] \
                     [--path NAME[,NAME]] [--revocations R] [--spacing-ms MS] [--test]";

/// A way for one instance's writes to reach the other instances' caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// `PostgresStore::listen_invalidations`: `LISTEN` on a connection of each instance's pool.
    Postgres,
    /// `RedisInvalidation`: each instance announces its writes on a Redis channel
    /// (`announcing`) and subscribes to it on a Redis connection of its own (`listen`).
    Redis,
}

impl Path {
    const ALL: [Self; 2] = [Self::Postgres, Self::Redis];

    fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
        }
    }

    /// Every path whose server is set: Redis's only with `FORMBOX_TEST_REDIS_URL`.
    fn available() -> Vec<Self> {
        let redis = std::env::var_os(REDIS_URL).is_some();
        Self::ALL
            .into_iter()
            .filter(|&path| path != Self::Redis || redis)
            .collect()
    }

    fn from_name(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|path| path.name() == name)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|path| path.name()).collect();
                format!(
                    "unknown invalidation path `{name}` (paths: {})",
                    known.join(", ")
                )
            })
    }

    /// The most PostgreSQL `LISTEN` connections the path may hold, where it has a target; the
    /// PostgreSQL path needs one per instance by design, which is what the run reports.
    fn listen_target(self) -> Option<u64> {
        match self {
            Self::Postgres => None,
            Self::Redis => Some(0),
        }
    }

    /// An instance's store and cache over `pool`, and the subscription that keeps the cache told,
    /// through `heard`.
    async fn open(
        self,
        pool: PgPool,
        table: &str,
        heard: &Arc<HeardLog>,
    ) -> Result<(Arc<dyn KeyStore>, InvalidationListener), String> {
        match self {
            Self::Postgres => {
                let store = PostgresStore::new(pool)
                    .with_table_name(table)
                    .map_err(|error| error.to_string())?;
                let cache = CachedStore::new(store.clone()).with_ttl(TTL);
                let listener = store
                    .listen_invalidations(&Heard::new(cache.clone(), heard))
                    .await
                    .map_err(|error| format!("LISTEN failed: {error}"))?;
                Ok((Arc::new(cache), listener))
            }
            Self::Redis => {
                let url = std::env::var(REDIS_URL).map_err(|_| {
                    format!("{REDIS_URL} is not set (scripts/instances.sh sets it)")
                })?;
                // A channel per run, as a table per run gives the PostgreSQL path its own.
                let invalidation = RedisInvalidation::new(&url)
                    .map_err(|error| error.to_string())?
                    .with_channel(&format!("formbox_instances:{table}"))
                    .map_err(|error| error.to_string())?;
                let store = PostgresStore::new(pool)
                    .with_table_name(table)
                    .map_err(|error| error.to_string())?;
                let cache = CachedStore::new(invalidation.announcing(store)).with_ttl(TTL);
                let listener = invalidation
                    .listen(&Heard::new(cache.clone(), heard))
                    .await
                    .map_err(|error| format!("SUBSCRIBE failed: {error}"))?;
                Ok((Arc::new(cache), listener))
            }
        }
    }
}

/// Where the Redis path's server is: set by `scripts/redis.sh run`.
const REDIS_URL: &str = "FORMBOX_TEST_REDIS_URL";

/// Passes invalidations on to an instance's cache, noting when each reached it.
#[derive(Clone)]
struct Heard {
    cache: Arc<dyn Invalidate>,
    log: Arc<HeardLog>,
}

impl Heard {
    fn new(cache: impl Invalidate, log: &Arc<HeardLog>) -> Self {
        Self {
            cache: Arc::new(cache),
            log: Arc::clone(log),
        }
    }
}

impl Invalidate for Heard {
    fn invalidate(&self, id: &KeyId) {
        self.cache.invalidate(id);
        self.log.note(*id);
    }

    fn invalidate_all(&self) {
        self.cache.invalidate_all();
        self.log.all.fetch_add(1, Ordering::Relaxed);
    }
}

/// When each key's invalidations reached one instance's cache: a few per key, so a list.
#[derive(Default)]
struct HeardLog {
    keys: Mutex<Vec<(KeyId, Instant)>>,
    /// Whole-cache drops: one when the subscription starts, more when notifications were lost.
    all: AtomicU64,
}

impl HeardLog {
    fn note(&self, id: KeyId) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.push((id, Instant::now()));
    }

    /// The first invalidation of `id` at or after `since`.
    fn first(&self, id: KeyId, since: Instant) -> Option<Instant> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .filter(|&&(heard, at)| heard == id && at >= since)
            .map(|&(_, at)| at)
            .min()
    }
}

/// One instance: a pool, a cache behind an authenticator, a subscription.
struct Instance {
    authenticator: Authenticator,
    store: Arc<dyn KeyStore>,
    heard: Arc<HeardLog>,
    pool: PgPool,
    /// Its invalidation subscription (PostgreSQL's or Redis's listener), stopped at the end.
    subscription: InvalidationListener,
}

impl Instance {
    async fn open(path: Path, options: &PgConnectOptions, table: &str) -> Result<Self, String> {
        // Lazy and small: the connections counted are the ones the path makes the instance hold.
        let pool = PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(SETUP)
            .connect_lazy_with(options.clone());
        let heard = Arc::new(HeardLog::default());
        let (store, subscription) = match path.open(pool.clone(), table, &heard).await {
            Ok(opened) => opened,
            Err(error) => {
                pool.close().await;
                return Err(error);
            }
        };
        Ok(Self {
            authenticator: Authenticator::new(Arc::clone(&store)),
            store,
            heard,
            pool,
            subscription,
        })
    }
}

#[derive(Debug)]
struct Args {
    instances: usize,
    revocations: usize,
    spacing: Duration,
    paths: Vec<Path>,
    smoke: bool,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let (mut bench, mut test) = (false, false);
        let (mut instances, mut revocations, mut spacing) = (None, None, None);
        let mut paths = Vec::new();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--bench" => bench = true,
                "--test" => test = true,
                "--path" => {
                    for name in value()?.split(',') {
                        let path = Path::from_name(name)?;
                        if !paths.contains(&path) {
                            paths.push(path);
                        }
                    }
                }
                "--revocations" => revocations = Some(number(&arg, &value()?)?),
                "--spacing-ms" => spacing = Some(number(&arg, &value()?)?),
                _ if !arg.starts_with('-') => instances = Some(number("N", &arg)?),
                _ => return Err(format!("unknown argument `{arg}`")),
            }
        }
        // As criterion does: `cargo test --benches` runs a bench without `--bench`, to see that
        // it works, not to measure.
        let smoke = test || !bench;
        let args = Self {
            instances: instances.unwrap_or(if smoke { 5 } else { 100 }),
            revocations: revocations.unwrap_or(if smoke { 2 } else { 20 }),
            spacing: Duration::from_millis(spacing.unwrap_or(200) as u64),
            paths: if paths.is_empty() {
                Path::available()
            } else {
                paths
            },
            smoke,
        };
        if args.instances < 2 {
            return Err(
                "N must be at least 2: one instance revokes, the others are measured".into(),
            );
        }
        if args.revocations == 0 {
            return Err("--revocations must be at least 1".into());
        }
        Ok(args)
    }
}

fn number(what: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{what}: `{text}` is not a whole number"))
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("instances: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Ok(url) = std::env::var("FORMBOX_TEST_POSTGRES_URL") else {
        let hint = "FORMBOX_TEST_POSTGRES_URL is not set (scripts/instances.sh starts a server)";
        if args.smoke {
            eprintln!("instances: skipped: {hint}");
            return ExitCode::SUCCESS;
        }
        eprintln!("instances: {hint}");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("instances: cannot start the Tokio runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let reports = match runtime.block_on(run(&args, &url)) {
        Ok(reports) => reports,
        Err(error) => {
            eprintln!("instances: {error}");
            return ExitCode::from(2);
        }
    };
    print_table(&reports);
    let failures: Vec<String> = reports.iter().flat_map(Report::failures).collect();
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            eprintln!("instances: FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}

/// The server's connection settings, and one connection of the harness's own for setup and
/// sampling, left out of the counts.
struct Database {
    options: PgConnectOptions,
    monitor: PgPool,
}

async fn run(args: &Args, url: &str) -> Result<Vec<Report>, String> {
    let database = connect(args, url).await?;
    let mut reports = Vec::new();
    for &path in &args.paths {
        eprintln!(
            "instances: {}: {} instances, {} revocations {} ms apart",
            path.name(),
            args.instances,
            args.revocations,
            args.spacing.as_millis()
        );
        reports.push(
            measure(path, args, &database)
                .await
                .map_err(|error| format!("{}: {error}", path.name()))?,
        );
    }
    database.monitor.close().await;
    Ok(reports)
}

async fn connect(args: &Args, url: &str) -> Result<Database, String> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|error| format!("FORMBOX_TEST_POSTGRES_URL is not a PostgreSQL URL: {error}"))?;
    let monitor_options = options
        .clone()
        .application_name("formbox-instances-monitor");
    // One plain connection first: a pool retries until its timeout and then reports only that,
    // where this says why (refused, unknown database, authentication).
    let reached = tokio::time::timeout(SETUP, PgConnection::connect_with(&monitor_options))
        .await
        .unwrap_or(Err(formbox_auth::sqlx::Error::PoolTimedOut));
    let unreachable = |error: formbox_auth::sqlx::Error| {
        format!(
            "cannot reach PostgreSQL at {}:{} (database {}): {error}; start one with \
             scripts/instances.sh or scripts/postgres.sh run",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("default"),
        )
    };
    let _ = reached.map_err(unreachable)?.close().await;
    let monitor = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(SETUP)
        .connect_with(monitor_options)
        .await
        .map_err(unreachable)?;
    let max: String = formbox_auth::sqlx::query_scalar("SHOW max_connections")
        .fetch_one(&monitor)
        .await
        .map_err(|error| format!("reading max_connections: {error}"))?;
    let max: usize = max.parse().unwrap_or(0);
    let needed = args.instances * POOL_CONNECTIONS as usize + 1;
    if max < needed {
        monitor.close().await;
        return Err(format!(
            "PostgreSQL allows {max} connections, and {} instances may hold up to {needed}: \
             restart it with FORMBOX_PG_MAX_CONNECTIONS={} (scripts/instances.sh does)",
            args.instances,
            needed + 100
        ));
    }
    Ok(Database { options, monitor })
}

/// One path's run: its own table (so its own notification channel) and application name (so
/// its own connection count), both gone afterwards.
async fn measure(path: Path, args: &Args, database: &Database) -> Result<Report, String> {
    let tag = format!("{}_{}", std::process::id(), path.name());
    let table = format!("formbox_instances_{tag}");
    let application = format!("formbox-instances-{tag}");
    PostgresStore::new(database.monitor.clone())
        .with_table_name(&table)
        .map_err(|error| error.to_string())?
        .migrate()
        .await
        .map_err(|error| format!("creating table {table}: {error}"))?;
    let options = database.options.clone().application_name(&application);

    let started = Instant::now();
    let mut instances = Vec::with_capacity(args.instances);
    let mut outcome = Ok(());
    for i in 0..args.instances {
        match Instance::open(path, &options, &table).await {
            Ok(instance) => instances.push(instance),
            Err(error) => {
                outcome = Err(format!("opening instance {i}: {error}"));
                break;
            }
        }
    }
    let measured = match outcome {
        Ok(()) => {
            eprintln!(
                "instances: {}: opened {} instances in {:.1} s",
                path.name(),
                instances.len(),
                started.elapsed().as_secs_f64()
            );
            revoke_under_load(&instances, args, &database.monitor, &application).await
        }
        Err(error) => Err(error),
    };

    for instance in &instances {
        instance.subscription.abort();
    }
    let mut closing = JoinSet::new();
    for instance in &instances {
        let pool = instance.pool.clone();
        closing.spawn(async move { pool.close().await });
    }
    closing.join_all().await;
    // The name is the harness's own (letters, digits, underscores), and `with_table_name`
    // accepted it.
    let drop = AssertSqlSafe(format!("DROP TABLE IF EXISTS \"{table}\""));
    let dropped = formbox_auth::sqlx::query(drop)
        .execute(&database.monitor)
        .await;
    if let Err(error) = dropped {
        eprintln!("instances: could not drop table {table}: {error}");
    }
    measured.map(|measured| Report {
        path,
        instances: args.instances,
        revocations: args.revocations,
        measured,
    })
}

/// A key every instance serves.
struct HotKey {
    secret: String,
    id: KeyId,
}

/// What the instances' tasks share with the task revoking keys.
struct Board {
    /// When the revoke call of each revoked key returned, indexed like the keys.
    revoked_at: Vec<OnceLock<Instant>>,
    /// First refusals of revoked keys so far, over all instances.
    first_refusals: AtomicUsize,
    stop: AtomicBool,
}

/// Revocation `k`: when its call started and returned.
#[derive(Clone, Copy)]
struct Revoked {
    started: Instant,
    returned: Instant,
}

async fn revoke_under_load(
    instances: &[Instance],
    args: &Args,
    monitor: &PgPool,
    application: &str,
) -> Result<Measured, String> {
    let manager = KeyManager::new(instances[0].authenticator.clone());
    let organization = OrganizationId::from("org_instances");
    let creating = Instant::now();
    let mut keys = Vec::new();
    for k in 0..args.revocations + CONTROL_KEYS {
        let created = manager
            .create(
                &organization,
                NewKey::new(format!("hot {k}"), Permission::ReadOnly),
            )
            .await
            .map_err(|error| format!("creating key {k} through instance 0: {error}"))?;
        keys.push(HotKey {
            secret: created.key.expose_secret().to_owned(),
            id: created.info.id,
        });
    }
    let keys: Arc<[HotKey]> = keys.into();
    await_creates(instances, &keys, creating).await?;
    warm(instances, &keys).await?;
    eprintln!(
        "instances: {} keys created, heard and cached by every instance",
        keys.len()
    );

    let board = Arc::new(Board {
        revoked_at: (0..args.revocations).map(|_| OnceLock::new()).collect(),
        first_refusals: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let serving: Vec<_> = instances
        .iter()
        .map(|instance| {
            let serve = serve(
                instance.authenticator.clone(),
                Arc::clone(&keys),
                Arc::clone(&board),
                args.revocations,
            );
            tokio::spawn(serve)
        })
        .collect();
    let sampling = tokio::spawn(sample_connections(
        monitor.clone(),
        application.to_owned(),
        Arc::clone(&board),
    ));

    let revoked = revoke_all(
        &manager,
        &organization,
        &keys,
        &board,
        instances.len(),
        args,
    )
    .await;
    board.stop.store(true, Ordering::Relaxed);
    let mut served = Vec::with_capacity(serving.len());
    for (i, task) in serving.into_iter().enumerate() {
        served.push(
            task.await
                .map_err(|error| format!("instance {i}'s task failed: {error}"))?,
        );
    }
    let connections = sampling
        .await
        .map_err(|error| format!("sampling connections failed: {error}"))?;
    let revoked = revoked?;
    Ok(Measured::new(
        instances,
        &keys,
        &revoked,
        &served,
        connections,
    ))
}

/// Waits until every instance heard every key's creation, so that no late notification drops a
/// key from a cache once warmed, and so that every subscription is known to deliver.
async fn await_creates(
    instances: &[Instance],
    keys: &[HotKey],
    since: Instant,
) -> Result<(), String> {
    loop {
        let missing = instances.iter().enumerate().find_map(|(i, instance)| {
            keys.iter()
                .position(|key| instance.heard.first(key.id, since).is_none())
                .map(|k| (i, k))
        });
        let Some((i, k)) = missing else {
            return Ok(());
        };
        if since.elapsed() > SETUP {
            return Err(format!(
                "instance {i} never heard key {k} being created: its subscription does not \
                 deliver"
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every instance authenticates every key once, which caches it, then must answer for each from
/// memory.
async fn warm(instances: &[Instance], keys: &Arc<[HotKey]>) -> Result<(), String> {
    let mut warming = JoinSet::new();
    for (i, instance) in instances.iter().enumerate() {
        let (authenticator, keys) = (instance.authenticator.clone(), Arc::clone(keys));
        warming.spawn(async move {
            for (k, key) in keys.iter().enumerate() {
                authenticator
                    .authenticate(&key.secret)
                    .await
                    .map_err(|error| format!("instance {i} refused valid key {k}: {error}"))?;
            }
            Ok::<_, String>(())
        });
    }
    for outcome in warming.join_all().await {
        outcome?;
    }
    for (i, instance) in instances.iter().enumerate() {
        for (k, key) in keys.iter().enumerate() {
            if !matches!(instance.store.get_cached(&key.id), CachedLookup::Found(_)) {
                return Err(format!("instance {i} did not cache key {k}"));
            }
        }
    }
    Ok(())
}

/// Revokes keys `0..revocations` one after another through instance 0, then waits until every
/// instance refused each, or until `WITHIN` after the last, and serves `TAIL` more.
async fn revoke_all(
    manager: &KeyManager,
    organization: &OrganizationId,
    keys: &[HotKey],
    board: &Board,
    instances: usize,
    args: &Args,
) -> Result<Vec<Revoked>, String> {
    let start = tokio::time::Instant::now();
    let mut revoked = Vec::with_capacity(args.revocations);
    for (k, (key, at)) in keys.iter().zip(&board.revoked_at).enumerate() {
        tokio::time::sleep_until(start + args.spacing.saturating_mul(k as u32)).await;
        let started = Instant::now();
        manager
            .revoke(organization, key.id)
            .await
            .map_err(|error| format!("revoking key {k} through instance 0: {error}"))?;
        let returned = Instant::now();
        let _ = at.set(returned);
        revoked.push(Revoked { started, returned });
    }
    let deadline = Instant::now() + WITHIN;
    let expected = instances * args.revocations;
    while board.first_refusals.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(TAIL).await;
    Ok(revoked)
}

/// What one instance saw of one key.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    first_refusal: Option<Instant>,
    /// Accepts after the revoke returned and before the first refusal.
    in_window: u64,
    /// Accepts after the first refusal.
    after_window: u64,
}

/// What one instance saw: each key, and answers no key should have had.
#[derive(Debug, Default)]
struct Served {
    seen: Vec<Seen>,
    unexpected: u64,
    first_unexpected: Option<String>,
}

/// An instance's clients: every key, every `ROUND`, until told to stop. Keys `0..revocations`
/// are the ones revoked.
async fn serve(
    authenticator: Authenticator,
    keys: Arc<[HotKey]>,
    board: Arc<Board>,
    revocations: usize,
) -> Served {
    let mut served = Served {
        seen: vec![Seen::default(); keys.len()],
        ..Served::default()
    };
    let mut ticker = tokio::time::interval(ROUND);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while !board.stop.load(Ordering::Relaxed) {
        ticker.tick().await;
        for (k, key) in keys.iter().enumerate() {
            let outcome = authenticator.authenticate(&key.secret).await;
            let now = Instant::now();
            let seen = &mut served.seen[k];
            match outcome {
                Ok(_) if seen.first_refusal.is_some() => seen.after_window += 1,
                Ok(_) => {
                    let revoked = board.revoked_at.get(k).and_then(OnceLock::get);
                    if revoked.is_some_and(|&at| at <= now) {
                        seen.in_window += 1;
                    }
                }
                Err(AuthError::RevokedKey) if k < revocations => {
                    if seen.first_refusal.is_none() {
                        seen.first_refusal = Some(now);
                        board.first_refusals.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(error) => {
                    served.unexpected += 1;
                    served
                        .first_unexpected
                        .get_or_insert_with(|| format!("key {k}: {error}"));
                }
            }
        }
    }
    served
}

/// What `pg_stat_activity` showed of the instances' connections, at most, while they ran.
#[derive(Debug, Default, Clone, Copy)]
struct Connections {
    total: u64,
    listen: u64,
    samples: u64,
}

async fn sample_connections(
    monitor: PgPool,
    application: String,
    board: Arc<Board>,
) -> Connections {
    let mut most = Connections::default();
    let mut errors = Vec::new();
    while !board.stop.load(Ordering::Relaxed) {
        let counted: Result<(i64, i64), _> = formbox_auth::sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE query LIKE 'LISTEN%') \
             FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
        )
        .bind(&application)
        .fetch_one(&monitor)
        .await;
        match counted {
            Ok((total, listen)) => {
                most.total = most.total.max(total as u64);
                most.listen = most.listen.max(listen as u64);
                most.samples += 1;
            }
            Err(error) if errors.len() < 3 => errors.push(error.to_string()),
            Err(_) => {}
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    for error in errors {
        eprintln!("instances: sampling pg_stat_activity failed: {error}");
    }
    most
}

/// p50, p99 and the maximum of a set of delays.
#[derive(Debug, Clone, Copy)]
struct Spread {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Spread {
    /// Nearest-rank percentiles; `None` without delays.
    fn of(mut delays: Vec<Duration>) -> Option<Self> {
        delays.sort_unstable();
        let max = *delays.last()?;
        let rank = |p: f64| delays[((p * delays.len() as f64).ceil() as usize).max(1) - 1];
        Some(Self {
            p50: rank(0.50),
            p99: rank(0.99),
            max,
        })
    }
}

/// One path's figures.
#[derive(Debug)]
struct Measured {
    /// Instance and revocation pairs measured: every instance but 0, every revoked key.
    pairs: usize,
    /// Pairs refused within `WITHIN`, whose delays these are.
    refused: Option<Spread>,
    refused_count: usize,
    heard: Option<Spread>,
    in_window: u64,
    after_window: u64,
    unexpected: u64,
    first_unexpected: Option<String>,
    connections: Connections,
    ended_subscriptions: usize,
    /// Whole-cache drops besides each subscription's first.
    emptied: u64,
}

impl Measured {
    fn new(
        instances: &[Instance],
        keys: &[HotKey],
        revoked: &[Revoked],
        served: &[Served],
        connections: Connections,
    ) -> Self {
        let (mut refused, mut heard) = (Vec::new(), Vec::new());
        let mut in_window = 0;
        for (instance, served) in instances.iter().zip(served).skip(1) {
            for ((key, revoked), seen) in keys.iter().zip(revoked).zip(&served.seen) {
                if let Some(at) = seen.first_refusal {
                    let delay = at.saturating_duration_since(revoked.returned);
                    if delay <= WITHIN {
                        refused.push(delay);
                    }
                }
                if let Some(at) = instance.heard.first(key.id, revoked.started) {
                    heard.push(at.saturating_duration_since(revoked.returned));
                }
                in_window += seen.in_window;
            }
        }
        let every_key = served.iter().flat_map(|served| &served.seen);
        Self {
            pairs: (instances.len() - 1) * revoked.len(),
            refused_count: refused.len(),
            refused: Spread::of(refused),
            heard: Spread::of(heard),
            in_window,
            after_window: every_key.map(|seen| seen.after_window).sum(),
            unexpected: served.iter().map(|served| served.unexpected).sum(),
            first_unexpected: served
                .iter()
                .find_map(|served| served.first_unexpected.clone()),
            connections,
            ended_subscriptions: instances
                .iter()
                .filter(|instance| instance.subscription.is_finished())
                .count(),
            // Each subscription drops everything once when it starts.
            emptied: instances
                .iter()
                .map(|instance| instance.heard.all.load(Ordering::Relaxed).saturating_sub(1))
                .sum(),
        }
    }
}

struct Report {
    path: Path,
    instances: usize,
    revocations: usize,
    measured: Measured,
}

impl Report {
    fn failures(&self) -> Vec<String> {
        let (name, m) = (self.path.name(), &self.measured);
        let mut failures = Vec::new();
        match m.refused {
            Some(refused) if refused.p99 < TARGET_P99 => {}
            Some(refused) => failures.push(format!(
                "{name}: delay p99 {} is not under {}",
                millis(refused.p99),
                millis(TARGET_P99)
            )),
            None => failures.push(format!("{name}: no instance but 0 refused a revoked key")),
        }
        if m.after_window > 0 {
            failures.push(format!(
                "{name}: {} accepts of keys their instance had already refused",
                m.after_window
            ));
        }
        let missed = m.pairs - m.refused_count;
        if missed > 0 {
            failures.push(format!(
                "{name}: {missed} of {} instance and revocation pairs were not refused within {} s",
                m.pairs,
                WITHIN.as_secs()
            ));
        }
        if m.unexpected > 0 {
            failures.push(format!(
                "{name}: {} unexpected answers (a valid key refused, or a store error), the first: {}",
                m.unexpected,
                m.first_unexpected.as_deref().unwrap_or("?")
            ));
        }
        if let Some(target) = self.path.listen_target()
            && m.connections.listen > target
        {
            failures.push(format!(
                "{name}: holds {} LISTEN connections, more than {target}",
                m.connections.listen
            ));
        }
        if m.ended_subscriptions > 0 {
            failures.push(format!(
                "{name}: {} subscriptions ended during the run",
                m.ended_subscriptions
            ));
        }
        failures
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn print_table(reports: &[Report]) {
    println!();
    println!(
        "| path | N | revocations | samples | delay p50 | delay p99 | delay max | invalidation \
         heard p50 / p99 | accepted in window | accepted after window | not refused within {} s \
         | PG connections | of them LISTEN |",
        WITHIN.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for report in reports {
        let m = &report.measured;
        let spread = |spread: Option<Spread>, pick: fn(Spread) -> Duration| {
            spread.map_or_else(|| "n/a".to_owned(), |spread| millis(pick(spread)))
        };
        let connections = |count: u64| {
            if m.connections.samples == 0 {
                "n/a".to_owned()
            } else {
                count.to_string()
            }
        };
        println!(
            "| {} | {} | {} | {} | {} | **{}** | {} | {} / {} | {} | **{}** | **{}** | {} | **{}** |",
            report.path.name(),
            report.instances,
            report.revocations,
            m.refused_count,
            spread(m.refused, |s| s.p50),
            spread(m.refused, |s| s.p99),
            spread(m.refused, |s| s.max),
            spread(m.heard, |s| s.p50),
            spread(m.heard, |s| s.p99),
            m.in_window,
            m.after_window,
            m.pairs - m.refused_count,
            connections(m.connections.total),
            connections(m.connections.listen),
        );
    }
    println!();
    println!(
        "Delays are from the revoke call's return to each other instance's first refusal, and \
         to the invalidation reaching its cache (0 when it came before the call returned). \
         Targets: p99 under {}, no accept after the window, every instance refuses within {} s. \
         Connections: the most `pg_stat_activity` showed for the instances' pools while they \
         ran.",
        millis(TARGET_P99),
        WITHIN.as_secs()
    );
    for report in reports {
        if report.measured.emptied > 0 {
            println!(
                "{}: caches were emptied {} times besides when their subscriptions started: \
                 notifications were lost during the run.",
                report.path.name(),
                report.measured.emptied
            );
        }
    }
}
