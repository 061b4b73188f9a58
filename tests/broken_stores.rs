//! The conformance suite has teeth: stores with one deliberate defect each fail the behaviour
//! that covers it, while the same store without the defect passes.

use std::{
    collections::{HashMap, hash_map::Entry},
    future::Future,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use formbox_auth::{
    ActiveKeyLimit, Inserted, KeyId, KeyRecord, KeyStore, KeyUsage, OrganizationId, StoreError,
    testing::conformance,
};

/// The one thing a [`Broken`] store gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// None: a correct store, to show that the behaviours pass without a defect.
    None,
    /// `update` also writes `last_used_at`.
    UpdateWritesLastUsed,
    /// `list` is oldest first.
    ListOldestFirst,
    /// `list` returns every organization's keys.
    ListLeaksOtherOrganizations,
    /// `update` compares the revision, then writes in a second step.
    UpdateNotAtomic,
    /// Times are kept to the millisecond.
    LosesMicroseconds,
    /// `insert_within` counts, then inserts in a second step.
    LimitNotAtomic,
}

/// A store in memory that behaves correctly except for its [`Defect`].
#[derive(Debug)]
struct Broken {
    defect: Defect,
    records: Mutex<HashMap<KeyId, KeyRecord>>,
}

impl Broken {
    fn new(defect: Defect) -> Self {
        Self {
            defect,
            records: Mutex::default(),
        }
    }

    fn kept(&self, record: &KeyRecord) -> KeyRecord {
        let mut record = record.clone();
        if self.defect == Defect::LosesMicroseconds {
            record.created_at = millis(record.created_at);
            record.expires_at = record.expires_at.map(millis);
            record.revoked_at = record.revoked_at.map(millis);
            record.last_used_at = record.last_used_at.map(millis);
        }
        record
    }
}

fn millis(time: SystemTime) -> SystemTime {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(since.as_millis()).unwrap())
}

#[async_trait]
impl KeyStore for Broken {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        Ok(self.records.lock().unwrap().get(id).cloned())
    }

    async fn insert(&self, record: &KeyRecord) -> Result<bool, StoreError> {
        let mut records = self.records.lock().unwrap();
        if records.contains_key(&record.id) {
            return Ok(false);
        }
        records.insert(record.id, self.kept(record));
        Ok(true)
    }

    async fn insert_within(
        &self,
        record: &KeyRecord,
        limit: ActiveKeyLimit,
    ) -> Result<Inserted, StoreError> {
        if self.defect == Defect::LimitNotAtomic {
            let room = has_room(&self.records.lock().unwrap(), record, limit);
            // What a network round trip between the count and the insert allows.
            tokio::task::yield_now().await;
            let mut records = self.records.lock().unwrap();
            return Ok(insert_counted(&mut records, self.kept(record), room));
        }
        let mut records = self.records.lock().unwrap();
        let room = has_room(&records, record, limit);
        Ok(insert_counted(&mut records, self.kept(record), room))
    }

    async fn update(&self, record: &KeyRecord, expected: u64) -> Result<bool, StoreError> {
        let matches = |records: &HashMap<KeyId, KeyRecord>| {
            records
                .get(&record.id)
                .is_some_and(|stored| stored.revision == expected)
        };
        if self.defect == Defect::UpdateNotAtomic {
            let matched = matches(&self.records.lock().unwrap());
            // What a network round trip between the read and the write allows.
            tokio::task::yield_now().await;
            if matched {
                self.records
                    .lock()
                    .unwrap()
                    .insert(record.id, self.kept(record));
            }
            return Ok(matched);
        }
        let mut records = self.records.lock().unwrap();
        if !matches(&records) {
            return Ok(false);
        }
        let mut new = self.kept(record);
        if self.defect != Defect::UpdateWritesLastUsed {
            new.last_used_at = records[&record.id].last_used_at;
        }
        records.insert(record.id, new);
        Ok(true)
    }

    async fn list(&self, organization: &OrganizationId) -> Result<Vec<KeyRecord>, StoreError> {
        let records = self.records.lock().unwrap();
        let mut found: Vec<KeyRecord> = records
            .values()
            .filter(|record| {
                self.defect == Defect::ListLeaksOtherOrganizations
                    || record.organization == *organization
            })
            .cloned()
            .collect();
        found.sort_by_key(|record| std::cmp::Reverse((record.created_at, record.id)));
        if self.defect == Defect::ListOldestFirst {
            found.reverse();
        }
        Ok(found)
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap();
        for use_ in usage {
            if let Some(record) = records.get_mut(&use_.id) {
                let used_at = self.kept_time(use_.used_at);
                record.last_used_at = record.last_used_at.max(Some(used_at));
            }
        }
        Ok(())
    }
}

/// Whether `record`'s organization has fewer than `limit.max` keys active at `limit.at`.
fn has_room(
    records: &HashMap<KeyId, KeyRecord>,
    record: &KeyRecord,
    limit: ActiveKeyLimit,
) -> bool {
    let active = records
        .values()
        .filter(|stored| {
            stored.organization == record.organization
                && stored.revoked_at.is_none()
                && !stored.is_expired_at(limit.at)
        })
        .count();
    active < limit.max as usize
}

/// Inserts `record` if its id is new and there was `room`.
fn insert_counted(
    records: &mut HashMap<KeyId, KeyRecord>,
    record: KeyRecord,
    room: bool,
) -> Inserted {
    match records.entry(record.id) {
        Entry::Occupied(_) => Inserted::IdTaken,
        Entry::Vacant(_) if !room => Inserted::LimitReached,
        Entry::Vacant(slot) => {
            slot.insert(record);
            Inserted::Stored
        }
    }
}

impl Broken {
    fn kept_time(&self, time: SystemTime) -> SystemTime {
        if self.defect == Defect::LosesMicroseconds {
            millis(time)
        } else {
            time
        }
    }
}

/// Whether `behaviour` fails (panics) on a fresh store with `defect`.
async fn fails<F, Fut>(defect: Defect, behaviour: F) -> bool
where
    F: FnOnce(Broken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match tokio::spawn(behaviour(Broken::new(defect))).await {
        Ok(()) => false,
        Err(error) => error.is_panic(),
    }
}

/// Runs each named behaviour against a correct store (it must pass) and against `defect` (at
/// least one must fail).
macro_rules! caught {
    ($defect:expr, $($behaviour:ident),+) => {{
        $(
            assert!(
                !fails(Defect::None, conformance::$behaviour).await,
                "{} fails on a correct store",
                stringify!($behaviour)
            );
        )+
        let failed = [$(fails($defect, conformance::$behaviour).await),+];
        assert!(failed.contains(&true), "{:?} passed the suite", $defect);
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_writes_last_used_at_fails() {
    caught!(
        Defect::UpdateWritesLastUsed,
        update_writes_everything_but_last_used_at
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_in_the_wrong_order_fails() {
    caught!(
        Defect::ListOldestFirst,
        list_is_per_organization_and_newest_first
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_with_other_organizations_keys_fails() {
    caught!(
        Defect::ListLeaksOtherOrganizations,
        list_is_per_organization_and_newest_first
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_and_swap_that_is_not_atomic_fails() {
    caught!(
        Defect::UpdateNotAtomic,
        update_is_atomic_under_concurrent_writers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_insert_that_is_not_atomic_fails() {
    caught!(
        Defect::LimitNotAtomic,
        insert_within_is_atomic_under_concurrent_writers
    );
    assert!(
        !fails(
            Defect::None,
            conformance::insert_within_counts_only_active_keys_of_the_organization
        )
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_loses_microseconds_fails() {
    caught!(
        Defect::LosesMicroseconds,
        every_field_round_trips_exactly,
        times_keep_every_microsecond
    );
}

/// Each behaviour catches its own defect, not only some behaviour: the ones that must fail do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_precision_behaviour_catches_lost_microseconds_on_its_own() {
    assert!(
        fails(
            Defect::LosesMicroseconds,
            conformance::times_keep_every_microsecond
        )
        .await
    );
    assert!(
        fails(
            Defect::LosesMicroseconds,
            conformance::every_field_round_trips_exactly
        )
        .await
    );
}
