//! Concurrency: requests authenticate on many threads while keys are created, regenerated and
//! revoked, and the store ends up holding exactly what the lifecycle calls said.
//!
//! Every request takes a ticket from one sequence before it is sent; every lifecycle change takes
//! one when it starts and another when its call has returned. A request is wrongly accepted when
//! its ticket is later than the return of a revocation of its key, or of a regeneration that
//! retired its secret; it is wrongly rejected when nothing that could reject it had started by
//! the time it was answered.

use crate::common;

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use common::counting_service;
use formbox_auth::ApiKeyAuthLayer;
use formbox_auth::lifecycle::KeyChanges;
use formbox_auth::lifecycle::NewKey;
use formbox_auth::{
    KeyFormat, KeyId, KeyManager, KeyStore, MemoryStore, OrganizationId, Permission,
    authenticator::AuthError,
    lifecycle::ManageError,
    testing::{Method, TestStore},
};
use http::{Request, StatusCode};
use tower::{Layer, ServiceExt};

const ORGANIZATIONS: [&str; 4] = ["org_a", "org_b", "org_c", "org_d"];
const AUTHENTICATING_TASKS: usize = 8;
const RUN_FOR: Duration = Duration::from_secs(2);
const MAX_KEYS: usize = 120;

/// One order for every request and every lifecycle change.
static TICKETS: AtomicU64 = AtomicU64::new(0);

fn ticket() -> u64 {
    TICKETS.fetch_add(1, Ordering::SeqCst)
}

/// A small xorshift generator: each task its own, seeded apart.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn coin(&mut self) -> bool {
        self.below(2) == 0
    }
}

struct Secret {
    text: String,
    /// Ticket taken before the regeneration that retires this secret was called.
    retire_started: Option<u64>,
    /// Ticket taken after that regeneration returned.
    retired: Option<u64>,
}

#[derive(Default)]
struct Lifecycle {
    /// Oldest first; the last one is the newest.
    secrets: Vec<Secret>,
    /// Whether the newest regeneration kept the secret before it working for a grace period.
    grace: bool,
    revoke_started: Option<u64>,
    revoked: Option<u64>,
}

struct Tracked {
    id: KeyId,
    organization: OrganizationId,
    name: String,
    permission: Permission,
    lifecycle: Mutex<Lifecycle>,
    /// Claimed by the one lifecycle change running on this key, so that the test knows which
    /// secret is the newest (overlapping changes of one key are covered by the tests at the end of
    /// this file).
    busy: AtomicBool,
}

impl Tracked {
    fn lifecycle(&self) -> std::sync::MutexGuard<'_, Lifecycle> {
        self.lifecycle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn claim(&self) -> bool {
        self.busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    fn release(&self) {
        self.busy.store(false, Ordering::SeqCst);
    }
}

#[derive(Default)]
struct Registry(RwLock<Vec<Arc<Tracked>>>);

impl Registry {
    fn len(&self) -> usize {
        self.0.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn pick(&self, rng: &mut Rng) -> Arc<Tracked> {
        let keys = self.0.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&keys[rng.below(keys.len())])
    }

    fn all(&self) -> Vec<Arc<Tracked>> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, tracked: Tracked) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(tracked));
    }
}

#[derive(Default)]
struct Counts {
    tried: AtomicUsize,
    accepted: AtomicUsize,
    rejected: AtomicUsize,
    wrongly_accepted: AtomicUsize,
    wrongly_rejected: AtomicUsize,
    created: AtomicUsize,
    regenerated: AtomicUsize,
    revoked: AtomicUsize,
}

impl Counts {
    fn add(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

async fn create(manager: &KeyManager, registry: &Registry, n: usize) {
    let organization = OrganizationId::from(ORGANIZATIONS[n % ORGANIZATIONS.len()]);
    let permission = if n.is_multiple_of(3) {
        Permission::FullAccess
    } else {
        Permission::ReadOnly
    };
    let name = format!("key {n}");
    let created = manager
        .create(&organization, NewKey::new(&name, permission))
        .await
        .unwrap();
    registry.push(Tracked {
        id: created.info.id,
        organization,
        name,
        permission,
        lifecycle: Mutex::new(Lifecycle {
            secrets: vec![Secret {
                text: created.key.expose_secret().to_owned(),
                retire_started: None,
                retired: None,
            }],
            ..Lifecycle::default()
        }),
        busy: AtomicBool::new(false),
    });
}

/// Gives a key a new secret, with or without a grace period for the current one.
async fn regenerate(manager: &KeyManager, key: &Tracked, grace: bool) -> bool {
    let retiring: Vec<usize> = {
        let mut lifecycle = key.lifecycle();
        if lifecycle.revoke_started.is_some() {
            return false;
        }
        let newest = lifecycle.secrets.len() - 1;
        let started = ticket();
        let mut retiring = Vec::new();
        for (index, secret) in lifecycle.secrets.iter_mut().enumerate() {
            if secret.retire_started.is_none() && !(grace && index == newest) {
                secret.retire_started = Some(started);
                retiring.push(index);
            }
        }
        retiring
    };
    let grace_period = grace.then_some(Duration::from_secs(3600));
    let created = manager
        .regenerate(&key.organization, key.id, grace_period)
        .await
        .unwrap();
    assert_eq!(created.info.id, key.id);
    let mut lifecycle = key.lifecycle();
    let done = ticket();
    for index in retiring {
        lifecycle.secrets[index].retired = Some(done);
    }
    lifecycle.secrets.push(Secret {
        text: created.key.expose_secret().to_owned(),
        retire_started: None,
        retired: None,
    });
    lifecycle.grace = grace;
    true
}

async fn revoke(manager: &KeyManager, key: &Tracked) -> bool {
    {
        let mut lifecycle = key.lifecycle();
        if lifecycle.revoke_started.is_some() {
            return false;
        }
        lifecycle.revoke_started = Some(ticket());
    }
    let info = manager.revoke(&key.organization, key.id).await.unwrap();
    assert!(info.revoked_at.is_some());
    // Taken under the lock, so that a request that later reads the lifecycle and holds a later
    // ticket sees this one.
    let mut lifecycle = key.lifecycle();
    lifecycle.revoked = Some(ticket());
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocation_and_regeneration_hold_under_concurrent_requests() {
    let store = MemoryStore::new();
    let manager = KeyManager::new(store.clone());
    let registry = Arc::new(Registry::default());
    let counts = Arc::new(Counts::default());
    let (inner, _) = counting_service();
    let service = ApiKeyAuthLayer::new(manager.authenticator().clone()).layer(inner);
    for n in 0..16 {
        create(&manager, &registry, n).await;
    }
    // Last-used writes run alongside; they must not undo any other change.
    let flusher = manager
        .authenticator()
        .spawn_usage_flusher(Duration::from_millis(5));
    let deadline = Instant::now() + RUN_FOR;
    let mut tasks = tokio::task::JoinSet::new();

    for task in 0..AUTHENTICATING_TASKS {
        let (registry, counts, service) = (registry.clone(), counts.clone(), service.clone());
        tasks.spawn(async move {
            let mut rng = Rng::new(task as u64 + 1);
            while Instant::now() < deadline {
                let key = registry.pick(&mut rng);
                let (index, text) = {
                    let lifecycle = key.lifecycle();
                    let newest = lifecycle.secrets.len() - 1;
                    let index = if rng.coin() {
                        newest
                    } else {
                        rng.below(newest + 1)
                    };
                    (index, lifecycle.secrets[index].text.clone())
                };
                let request = Request::get("/v1/forms")
                    .header("api-key", &text)
                    .body(String::new())
                    .unwrap();
                let started = ticket();
                let response = service.clone().oneshot(request).await.unwrap();
                Counts::add(&counts.tried);

                {
                    let lifecycle = key.lifecycle();
                    let secret = &lifecycle.secrets[index];
                    let status = response.status();
                    if status == StatusCode::OK {
                        Counts::add(&counts.accepted);
                        assert_eq!(response.body(), key.organization.as_str());
                        let after_revoke = lifecycle.revoked.is_some_and(|t| t < started);
                        let after_retire = secret.retired.is_some_and(|t| t < started);
                        if after_revoke || after_retire {
                            Counts::add(&counts.wrongly_accepted);
                            eprintln!(
                                "wrongly accepted: key {} (revoked {after_revoke}, secret retired {after_retire})",
                                key.id
                            );
                        }
                    } else {
                        Counts::add(&counts.rejected);
                        let code = common::error_code(&response).unwrap_or_default();
                        let explained = status == StatusCode::UNAUTHORIZED
                            && match code.as_str() {
                                "revoked_api_key" => lifecycle.revoke_started.is_some(),
                                "invalid_api_key" => secret.retire_started.is_some(),
                                _ => false,
                            };
                        if !explained {
                            Counts::add(&counts.wrongly_rejected);
                            eprintln!("wrongly rejected: key {} with {status} {code}", key.id);
                        }
                    }
                }
                // A request against the memory store may never wait; let the other tasks run.
                tokio::task::yield_now().await;
            }
        });
    }

    {
        let (manager, registry, counts) = (manager.clone(), registry.clone(), counts.clone());
        tasks.spawn(async move {
            let mut n = registry.len();
            while Instant::now() < deadline && n < MAX_KEYS {
                create(&manager, &registry, n).await;
                Counts::add(&counts.created);
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }
    for task in 0..2u64 {
        let (manager, registry, counts) = (manager.clone(), registry.clone(), counts.clone());
        tasks.spawn(async move {
            let mut rng = Rng::new(100 + task);
            while Instant::now() < deadline {
                let key = registry.pick(&mut rng);
                if key.claim() {
                    if regenerate(&manager, &key, rng.coin()).await {
                        Counts::add(&counts.regenerated);
                    }
                    key.release();
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }
    {
        let (manager, registry, counts) = (manager.clone(), registry.clone(), counts.clone());
        tasks.spawn(async move {
            let mut rng = Rng::new(200);
            while Instant::now() < deadline {
                let key = registry.pick(&mut rng);
                if key.claim() {
                    if revoke(&manager, &key).await {
                        Counts::add(&counts.revoked);
                    }
                    key.release();
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    flusher.shutdown().await;

    eprintln!(
        "concurrency: {} requests tried, {} accepted, {} rejected, {} wrongly accepted, {} wrongly rejected; \
         {} keys created, {} regenerated, {} revoked during the run",
        Counts::get(&counts.tried),
        Counts::get(&counts.accepted),
        Counts::get(&counts.rejected),
        Counts::get(&counts.wrongly_accepted),
        Counts::get(&counts.wrongly_rejected),
        Counts::get(&counts.created),
        Counts::get(&counts.regenerated),
        Counts::get(&counts.revoked),
    );
    assert_eq!(Counts::get(&counts.wrongly_accepted), 0);
    assert_eq!(Counts::get(&counts.wrongly_rejected), 0);
    assert!(Counts::get(&counts.accepted) > 0 && Counts::get(&counts.rejected) > 0);
    assert!(Counts::get(&counts.regenerated) > 0 && Counts::get(&counts.revoked) > 0);

    check_store(&store, &manager, &registry).await;
}

/// Every created key is in the store once, with its organization, name and permission; each
/// accepts exactly its newest secret (and the one before while a grace period runs); revoked
/// keys are revoked.
async fn check_store(store: &MemoryStore, manager: &KeyManager, registry: &Registry) {
    let format = KeyFormat::default();
    let keys = registry.all();
    let mut listed_total = 0;
    for organization in ORGANIZATIONS.map(OrganizationId::from) {
        let listed = store
            .list_page(&organization, None, usize::MAX)
            .await
            .unwrap();
        let ids: HashSet<KeyId> = listed.iter().map(|record| record.id).collect();
        assert_eq!(ids.len(), listed.len(), "a key is listed twice");
        let expected: HashSet<KeyId> = keys
            .iter()
            .filter(|key| key.organization == organization)
            .map(|key| key.id)
            .collect();
        assert_eq!(ids, expected, "{organization}");
        listed_total += listed.len();
    }
    assert_eq!(listed_total, keys.len());

    for key in &keys {
        let record = store.get(&key.id).await.unwrap().expect("the key exists");
        assert_eq!(record.organization, key.organization);
        assert_eq!(record.name, key.name);
        assert_eq!(record.access, key.permission);
        let (secrets, revoked, grace) = {
            let lifecycle = key.lifecycle();
            let secrets: Vec<String> = lifecycle.secrets.iter().map(|s| s.text.clone()).collect();
            (secrets, lifecycle.revoked.is_some(), lifecycle.grace)
        };
        assert_eq!(record.revoked_at.is_some(), revoked);
        let newest = secrets.len() - 1;
        assert_eq!(
            record.digest,
            format.parse(&secrets[newest]).unwrap().digest()
        );
        let in_grace = (newest > 0 && grace).then(|| newest - 1);
        match (record.previous, in_grace) {
            (Some(previous), Some(index)) => {
                let digest = format.parse(&secrets[index]).unwrap().digest();
                assert_eq!(previous.digest, digest);
            }
            (None, None) => {}
            (previous, expected) => panic!(
                "key {}: previous secret {previous:?}, expected the one at {expected:?}",
                key.id
            ),
        }
        for (index, secret) in secrets.iter().enumerate() {
            let outcome = manager.authenticator().authenticate(secret).await;
            let works = index == newest || Some(index) == in_grace;
            match (works, revoked, outcome) {
                (true, false, Ok(context)) => {
                    assert_eq!(context.key_id(), key.id);
                    assert_eq!(context.organization(), &key.organization);
                    assert_eq!(*context.access(), key.permission);
                }
                (true, true, Err(AuthError::RevokedKey))
                | (false, _, Err(AuthError::InvalidKey)) => {}
                (works, revoked, outcome) => panic!(
                    "key {} secret {index}/{newest}: works {works}, revoked {revoked}, got {:?}",
                    key.id,
                    outcome.map(|context| context.key_id())
                ),
            }
        }
    }
}

/// Lets `change` read a key, holds that read (a [`TestStore`] gate on `get`), revokes the key
/// before `change` goes on, lets it finish, and says whether the key is still revoked: its
/// record says so and neither its old secret nor one that `change` handed out authenticates.
async fn revoke_during<F, Fut>(change: F) -> bool
where
    F: FnOnce(KeyManager, OrganizationId, KeyId) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ManageError>> + Send + 'static,
{
    let store = TestStore::new(MemoryStore::new());
    let manager = KeyManager::new(store.clone());
    let organization = OrganizationId::from("org_a");
    let created = manager
        .create(&organization, NewKey::new("racing", Permission::FullAccess))
        .await
        .unwrap();
    let id = created.info.id;
    let gate = store.gate(Method::Get);
    let pending = tokio::spawn(change(manager.clone(), organization.clone(), id));
    gate.entered().await;
    let revoked = manager.revoke(&organization, id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    gate.open();
    let handed_out = pending.await.unwrap().ok().flatten();

    let record = store.inner().get(&id).await.unwrap().unwrap();
    let mut still_revoked = record.revoked_at.is_some();
    for key in std::iter::once(created.key.expose_secret()).chain(handed_out.as_deref()) {
        let outcome = manager.authenticator().authenticate(key).await;
        still_revoked &= outcome.is_err();
    }
    still_revoked
}

#[tokio::test]
async fn revoke_during_a_regeneration_is_not_undone() {
    let still_revoked = revoke_during(|manager, organization, id| async move {
        let created = manager.regenerate(&organization, id, None).await?;
        Ok(Some(created.key.expose_secret().to_owned()))
    })
    .await;
    assert!(still_revoked, "the revocation was undone");
}

#[tokio::test]
async fn revoke_during_an_expiry_change_is_not_undone() {
    let still_revoked = revoke_during(|manager, organization, id| async move {
        let expires_at = SystemTime::now() + Duration::from_secs(3600);
        manager
            .update(
                &organization,
                id,
                KeyChanges::new().expires_at(Some(expires_at)),
            )
            .await?;
        Ok(None)
    })
    .await;
    assert!(still_revoked, "the revocation was undone");
}

#[tokio::test]
async fn regeneration_without_grace_is_not_undone_by_an_overlapping_one() {
    let store = TestStore::new(MemoryStore::new());
    let manager = KeyManager::new(store.clone());
    let organization = OrganizationId::from("org_a");
    let leaked = manager
        .create(&organization, NewKey::new("leaked", Permission::FullAccess))
        .await
        .unwrap();
    let id = leaked.info.id;
    let gate = store.gate(Method::Get);
    let with_grace = {
        let (manager, organization) = (manager.clone(), organization.clone());
        tokio::spawn(async move {
            manager
                .regenerate(&organization, id, Some(Duration::from_secs(3600)))
                .await
        })
    };
    gate.entered().await;
    // The leak response: a new secret, the old one to stop at once.
    manager.regenerate(&organization, id, None).await.unwrap();
    assert!(
        manager
            .authenticator()
            .authenticate(leaked.key.expose_secret())
            .await
            .is_err()
    );
    gate.open();
    let _ = with_grace.await.unwrap();
    assert!(
        manager
            .authenticator()
            .authenticate(leaked.key.expose_secret())
            .await
            .is_err(),
        "the secret retired without grace works again"
    );
}

/// Creates started at once for one organization.
const RACING_CREATES: usize = 32;
/// The cap on that organization's active keys.
const KEY_CAP: usize = 5;

/// Starts [`RACING_CREATES`] creates for one organization at once, under a cap of [`KEY_CAP`]:
/// exactly that many succeed, every other one is refused with the cap, and the store then holds
/// exactly that many keys for the organization.
async fn racing_creates_stop_at_the_cap(store: impl KeyStore + Clone) {
    let manager = KeyManager::new(store.clone()).with_max_keys_per_organization(KEY_CAP);
    let organization = OrganizationId::from("org_a");
    // Every create is ready before any starts, so they all count the same empty organization.
    let barrier = Arc::new(tokio::sync::Barrier::new(RACING_CREATES));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..RACING_CREATES {
        let (manager, organization) = (manager.clone(), organization.clone());
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            let name = format!("racing {n}");
            manager
                .create(&organization, NewKey::new(&name, Permission::ReadOnly))
                .await
        });
    }
    let (mut created, mut refused) = (0, 0);
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Ok(_) => created += 1,
            Err(ManageError::TooManyKeys { limit: KEY_CAP }) => refused += 1,
            Err(error) => panic!("a racing create failed otherwise: {error}"),
        }
    }
    assert_eq!((created, refused), (KEY_CAP, RACING_CREATES - KEY_CAP));
    let stored = store
        .list_page(&organization, None, usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        KEY_CAP,
        "the store holds {} keys",
        stored.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_stop_at_the_key_cap_in_memory() {
    racing_creates_stop_at_the_cap(MemoryStore::new()).await;
}

/// Starts [`RACING_CREATES`] creates of one name (in several cases) for one organization at
/// once, then as many renames of other keys into another name: exactly one of each succeeds,
/// every other one is `NameTaken`, and the store holds one key of each name.
async fn racing_writes_of_one_name_land_once(store: impl KeyStore + Clone) {
    let manager = KeyManager::new(store.clone());
    let organization = OrganizationId::from("org_a");
    let barrier = Arc::new(tokio::sync::Barrier::new(RACING_CREATES));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..RACING_CREATES {
        let (manager, organization) = (manager.clone(), organization.clone());
        let barrier = Arc::clone(&barrier);
        let name = if n % 2 == 0 {
            "Deploy bot"
        } else {
            " DEPLOY BOT"
        };
        tasks.spawn(async move {
            barrier.wait().await;
            let key = NewKey::new(name, Permission::ReadOnly);
            manager.create(&organization, key).await.map(|_| ())
        });
    }
    let mut others = Vec::new();
    for n in 0..RACING_CREATES {
        let key = NewKey::new(format!("other {n}"), Permission::ReadOnly);
        others.push(manager.create(&organization, key).await.unwrap().info.id);
    }
    assert_eq!(tally(&mut tasks).await, (1, RACING_CREATES - 1), "creates");
    for id in others {
        let (manager, organization) = (manager.clone(), organization.clone());
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            let changes = KeyChanges::new().name("Release bot");
            manager.update(&organization, id, changes).await.map(|_| ())
        });
    }
    assert_eq!(tally(&mut tasks).await, (1, RACING_CREATES - 1), "renames");
    let names: Vec<String> = store
        .list_page(&organization, None, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.name_key())
        .filter(|name| name.ends_with(" bot"))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// How many of `tasks` succeeded and how many were `NameTaken`; any other outcome fails.
async fn tally(tasks: &mut tokio::task::JoinSet<Result<(), ManageError>>) -> (usize, usize) {
    let (mut done, mut taken) = (0, 0);
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Ok(()) => done += 1,
            Err(ManageError::NameTaken) => taken += 1,
            Err(error) => panic!("a racing write failed otherwise: {error}"),
        }
    }
    (done, taken)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writes_of_one_name_land_once_in_memory() {
    racing_writes_of_one_name_land_once(MemoryStore::new()).await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use formbox_auth::store::SqliteStore;

    use super::*;
    use crate::common::databases::sqlite_pool;

    /// Several connections to one file, as in production, so that the creates write at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_creates_stop_at_the_key_cap_in_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let pool = sqlite_pool(&dir.path().join("keys.db")).await;
        let store = SqliteStore::new(pool);
        store.migrate().await.unwrap();
        racing_creates_stop_at_the_cap(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_writes_of_one_name_land_once_in_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::new(sqlite_pool(&dir.path().join("keys.db")).await);
        store.migrate().await.unwrap();
        racing_writes_of_one_name_land_once(store).await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use formbox_auth::store::PostgresStore;

    use super::*;
    use crate::common::databases::{postgres_pool, unique_table};

    /// Several connections, so that the creates reach the server at once; a table of its own.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_creates_stop_at_the_key_cap_in_postgres() {
        let pool = postgres_pool(8).await;
        let table = unique_table("concurrency");
        let store = PostgresStore::new(pool).with_table_name(&table).unwrap();
        store.migrate().await.unwrap();
        racing_creates_stop_at_the_cap(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_writes_of_one_name_land_once_in_postgres() {
        let pool = postgres_pool(8).await;
        let table = unique_table("concurrency");
        let store = PostgresStore::new(pool).with_table_name(&table).unwrap();
        store.migrate().await.unwrap();
        racing_writes_of_one_name_land_once(store).await;
    }
}
