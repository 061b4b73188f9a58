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
    KeyId, KeyRecord, KeyStore, OrganizationId,
    store::{ActiveKeyLimit, Inserted, KeyUsage, ListCursor, StoreError, Updated},
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
    /// A capped `insert` counts, then inserts in a second step.
    LimitNotAtomic,
    /// `list_page` starts at its position, not after it: `<=` instead of `<`.
    ListPageFromThePosition,
    /// `list_page` orders keys created at the same time by id ascending.
    ListPageTiesAscending,
    /// `list_page` pages through every organization's keys.
    ListPageLeaksOtherOrganizations,
    /// `insert` and `update` let any number of active keys share a name.
    NamesNotChecked,
    /// `insert` and `update` check the name, then write in a second step.
    NamesNotAtomic,
}

/// How long the non-atomic defects wait between their read and their write.
const ROUND_TRIP: std::time::Duration = std::time::Duration::from_millis(1);

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

    async fn insert(
        &self,
        record: &KeyRecord,
        limit: Option<ActiveKeyLimit>,
    ) -> Result<Inserted, StoreError> {
        if self.defect == Defect::NamesNotAtomic {
            let free = self.name_is_free(&self.records.lock().unwrap(), record);
            tokio::time::sleep(ROUND_TRIP).await;
            if !free {
                return Ok(Inserted::NameTaken);
            }
            let mut records = self.records.lock().unwrap();
            let room = limit.is_none_or(|limit| has_room(&records, record, limit));
            return Ok(insert_counted(&mut records, self.kept(record), room));
        }
        let Some(limit) = limit else {
            let mut records = self.records.lock().unwrap();
            if !self.name_is_free(&records, record) && !records.contains_key(&record.id) {
                return Ok(Inserted::NameTaken);
            }
            return Ok(insert_counted(&mut records, self.kept(record), true));
        };
        if self.defect == Defect::LimitNotAtomic {
            let room = has_room(&self.records.lock().unwrap(), record, limit);
            // What a network round trip between the count and the insert allows. A sleep rather
            // than a yield, so that every concurrent writer counts before any inserts, however
            // the runtime schedules them.
            tokio::time::sleep(ROUND_TRIP).await;
            let mut records = self.records.lock().unwrap();
            return Ok(insert_counted(&mut records, self.kept(record), room));
        }
        let mut records = self.records.lock().unwrap();
        let room = has_room(&records, record, limit);
        if room && !self.name_is_free(&records, record) && !records.contains_key(&record.id) {
            return Ok(Inserted::NameTaken);
        }
        Ok(insert_counted(&mut records, self.kept(record), room))
    }

    async fn update(&self, record: &KeyRecord, expected: u64) -> Result<Updated, StoreError> {
        let matches = |records: &HashMap<KeyId, KeyRecord>| {
            records
                .get(&record.id)
                .is_some_and(|stored| stored.revision == expected)
        };
        if self.defect == Defect::UpdateNotAtomic {
            let matched = matches(&self.records.lock().unwrap());
            // What a network round trip between the read and the write allows.
            tokio::time::sleep(ROUND_TRIP).await;
            if matched {
                self.records
                    .lock()
                    .unwrap()
                    .insert(record.id, self.kept(record));
            }
            return Ok(if matched {
                Updated::Stored
            } else {
                Updated::Stale
            });
        }
        if self.defect == Defect::NamesNotAtomic {
            let free = self.name_is_free(&self.records.lock().unwrap(), record);
            tokio::time::sleep(ROUND_TRIP).await;
            if !free {
                return Ok(Updated::NameTaken);
            }
        }
        let mut records = self.records.lock().unwrap();
        if !matches(&records) {
            return Ok(Updated::Stale);
        }
        if self.defect != Defect::NamesNotAtomic && !self.name_is_free(&records, record) {
            return Ok(Updated::NameTaken);
        }
        let mut new = self.kept(record);
        if self.defect != Defect::UpdateWritesLastUsed {
            new.last_used_at = records[&record.id].last_used_at;
        }
        records.insert(record.id, new);
        Ok(Updated::Stored)
    }

    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let mut found: Vec<KeyRecord> = self
            .records
            .lock()
            .unwrap()
            .values()
            .filter(|record| {
                matches!(
                    self.defect,
                    Defect::ListLeaksOtherOrganizations | Defect::ListPageLeaksOtherOrganizations
                ) || record.organization == *organization
            })
            .filter(|record| after.is_none_or(|after| self.comes_after(record, after)))
            .cloned()
            .collect();
        if self.defect == Defect::ListPageTiesAscending {
            found.sort_by_key(|record| (std::cmp::Reverse(record.created_at), record.id));
        } else {
            found.sort_by_key(|record| std::cmp::Reverse((record.created_at, record.id)));
        }
        if self.defect == Defect::ListOldestFirst {
            found.reverse();
        }
        found.truncate(limit);
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
    /// Whether no other active key of `record`'s organization has its name key, or this store
    /// does not care.
    fn name_is_free(&self, records: &HashMap<KeyId, KeyRecord>, record: &KeyRecord) -> bool {
        self.defect == Defect::NamesNotChecked
            || record.revoked_at.is_some()
            || !records.values().any(|other| {
                other.id != record.id
                    && other.organization == record.organization
                    && other.revoked_at.is_none()
                    && other.name_key() == record.name_key()
            })
    }

    /// Whether `record` comes after `after` in list order, as this store's defect has it.
    fn comes_after(&self, record: &KeyRecord, after: &ListCursor) -> bool {
        let (record, after) = (
            (record.created_at, record.id),
            (after.created_at(), after.id()),
        );
        match self.defect {
            Defect::ListPageFromThePosition => record <= after,
            Defect::ListPageTiesAscending => {
                record.0 < after.0 || (record.0 == after.0 && record.1 > after.1)
            }
            _ => record < after,
        }
    }

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
    failure(defect, behaviour).await.is_some()
}

/// What `behaviour` panics with on a fresh store with `defect`, or `None` if it passes.
async fn failure<F, Fut>(defect: Defect, behaviour: F) -> Option<String>
where
    F: FnOnce(Broken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let payload = tokio::spawn(behaviour(Broken::new(defect)))
        .await
        .err()?
        .into_panic();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()));
    Some(message.unwrap_or_default())
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

/// The failure says which field to fix, as stored and as read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_writes_last_used_at_fails_naming_last_used_at() {
    let message = failure(
        Defect::UpdateWritesLastUsed,
        conformance::update_writes_everything_but_last_used_at,
    )
    .await
    .expect("an update that writes last_used_at must fail");
    assert!(
        message.contains("update_writes_everything_but_last_used_at: key")
            && message.contains(
                "last_used_at: stored Some(1700000500.000007 s), read back Some(1600000000 s)"
            ),
        "{message}"
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
        capped_insert_is_atomic_under_concurrent_writers
    );
    assert!(
        !fails(
            Defect::None,
            conformance::capped_insert_counts_only_active_keys_of_the_organization
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
    let message = failure(
        Defect::LosesMicroseconds,
        conformance::every_field_round_trips_exactly,
    )
    .await
    .expect("a store that loses microseconds must fail");
    assert!(
        message.contains("created_at: stored 1700000000.123456 s, read back 1700000000.123 s"),
        "{message}"
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

/// Every behaviour of `list_page`.
macro_rules! caught_by_list_page {
    ($defect:expr) => {
        caught!(
            $defect,
            list_pages_of_every_size_concatenate_to_list,
            list_page_orders_ties_by_id_across_page_boundaries,
            list_page_continues_after_a_position_of_no_key,
            list_page_after_a_position_far_in_the_past_or_future,
            list_page_limit_zero_is_empty_and_a_huge_limit_is_everything,
            list_page_is_per_organization
        )
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_repeats_its_position_fails() {
    caught_by_list_page!(Defect::ListPageFromThePosition);
    assert!(
        fails(
            Defect::ListPageFromThePosition,
            conformance::list_pages_of_every_size_concatenate_to_list
        )
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_with_ties_in_the_wrong_order_fail() {
    caught_by_list_page!(Defect::ListPageTiesAscending);
    assert!(
        fails(
            Defect::ListPageTiesAscending,
            conformance::list_page_orders_ties_by_id_across_page_boundaries
        )
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_with_other_organizations_keys_fail() {
    caught_by_list_page!(Defect::ListPageLeaksOtherOrganizations);
    assert!(
        fails(
            Defect::ListPageLeaksOtherOrganizations,
            conformance::list_page_is_per_organization
        )
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_lets_active_keys_share_a_name_fails() {
    caught!(
        Defect::NamesNotChecked,
        insert_refuses_a_name_an_active_key_of_the_organization_has
    );
    caught!(
        Defect::NamesNotChecked,
        rename_into_a_taken_name_is_refused_without_changing_anything
    );
    caught!(Defect::NamesNotChecked, a_revoked_key_gives_its_name_up);
}

/// A store that checks names in a step of its own passes every behaviour that writes one key at
/// a time, and fails the races, naming the behaviour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_check_that_is_not_atomic_fails_naming_the_race() {
    caught!(
        Defect::NamesNotAtomic,
        concurrent_inserts_of_one_name_store_exactly_one
    );
    caught!(
        Defect::NamesNotAtomic,
        concurrent_renames_into_one_name_store_exactly_one
    );
    let message = failure(
        Defect::NamesNotAtomic,
        conformance::concurrent_inserts_of_one_name_store_exactly_one,
    )
    .await
    .expect("a name check apart from the insert must fail");
    assert!(
        message.contains(
            "concurrent_inserts_of_one_name_store_exactly_one: of 32 concurrent inserts of \
             \"Deploy\" without a limit, exactly one must be stored"
        ),
        "{message}"
    );
    let defect = Defect::NamesNotAtomic;
    use conformance::*;
    assert!(
        !fails(
            defect,
            insert_refuses_a_name_an_active_key_of_the_organization_has
        )
        .await
    );
    assert!(
        !fails(
            defect,
            rename_into_a_taken_name_is_refused_without_changing_anything
        )
        .await
    );
    assert!(!fails(defect, a_revoked_key_gives_its_name_up).await);
}
