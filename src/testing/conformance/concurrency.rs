//! Many writers at once, on many keys.

use std::sync::Arc;

use super::{
    at_once::at_once,
    calls::{insert, list, record_usage, update},
    fixtures::{at, record, used},
    read_back::read_back,
    reopen::StoreUnderTest,
};
use crate::{record::KeyRecord, store::KeyUsage};

const TASKS: usize = 32;
const KEYS_PER_TASK: usize = 10;

/// Concurrent inserts, updates and usage writes from 32 tasks all land.
pub async fn many_tasks_insert_and_update_concurrently(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "many_tasks_insert_and_update_concurrently";
    let store = Arc::new(store);
    let writers = (0..TASKS).map(|task| {
        let store = Arc::clone(&store);
        async move { write_keys_of_task(&*store, task).await }
    });
    let expected: Vec<KeyRecord> = at_once(writers).await.into_iter().flatten().collect();
    let store = Arc::try_unwrap(store)
        .unwrap_or_else(|_| panic!("{BEHAVIOUR}: a task still holds the store"));
    let expected: Vec<&KeyRecord> = expected.iter().collect();
    let store = read_back(BEHAVIOUR, store, &expected).await;
    let mut listed = 0;
    for org in 0..4 {
        let records = list(&store, &format!("org_{org}")).await;
        assert!(
            records
                .windows(2)
                .all(|w| w[0].created_at > w[1].created_at),
            "{BEHAVIOUR}: org_{org}'s keys, newest first"
        );
        listed += records.len();
    }
    assert_eq!(listed, TASKS * KEYS_PER_TASK, "{BEHAVIOUR}: keys listed");
}

/// What task number `task` writes: ten keys, an update of each, and one use of each. Answers
/// the records as they must be stored now.
async fn write_keys_of_task(store: &impl StoreUnderTest, task: usize) -> Vec<KeyRecord> {
    let organization = format!("org_{}", task % 4);
    let mut records = Vec::new();
    for n in 0..KEYS_PER_TASK {
        let created_at = at(1_700_000_000 + (task * KEYS_PER_TASK + n) as u64, 0);
        let record = record(&organization, &format!("task {task} key {n}"), created_at);
        assert!(insert(store, &record).await);
        records.push(record);
    }
    let used_at = at(1_900_000_000, u32::try_from(task).unwrap_or_default());
    for (n, record) in records.iter_mut().enumerate() {
        let mut next = record.next_revision();
        next.name = format!("task {task} key {n} renamed");
        if n % 2 == 0 {
            next.revoked_at = Some(at(1_800_000_000, 0));
        }
        assert!(update(store, &next, record.revision).await);
        next.last_used_at = Some(used_at);
        *record = next;
    }
    let usage: Vec<KeyUsage> = records
        .iter()
        .map(|record| used(record.id, used_at))
        .collect();
    record_usage(store, &usage).await;
    records
}
