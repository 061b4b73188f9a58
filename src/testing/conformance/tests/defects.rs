//! Stores whose disk loses something pass while they answer from memory, and fail, naming the
//! field, once the suite reopens them.

use std::future::Future;

use super::{
    super::{
        Reopenable, every_field_round_trips_exactly, insert_then_get_returns_the_same_record,
        restricted_keys_keep_their_scopes_through_every_write, times_keep_every_microsecond,
        update_writes_everything_but_last_used_at,
    },
    disk::{Defect, Disk},
};

/// The message `behaviour` panics with on `store`, or `None` if it passes.
async fn failure<T, B, F>(behaviour: B, store: T) -> Option<String>
where
    B: FnOnce(T) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let error = tokio::spawn(behaviour(store)).await.err()?;
    let payload = error.into_panic();
    let message = match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(String::new, |message| (*message).to_owned()),
    };
    Some(message)
}

/// A store over a disk with `defect`, reopened over that disk.
fn reopenable(defect: Defect) -> Reopenable<Disk> {
    Reopenable::new(Disk::new(defect), Disk::reopen)
}

/// Panics unless `message` is a failure that holds every one of `parts`.
fn assert_holds(message: Option<String>, parts: &[&str]) {
    let message = message.unwrap_or_else(|| panic!("passed, but must fail naming {parts:?}"));
    for part in parts {
        assert!(message.contains(part), "no {part:?} in:\n{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milliseconds_on_disk_fail_naming_each_time_field() {
    let message = failure(
        every_field_round_trips_exactly,
        reopenable(Defect::Milliseconds),
    )
    .await;
    assert_holds(
        message,
        &[
            "every_field_round_trips_exactly, after reopening the store: key Zz09aZxbYc12",
            "previous.valid_until: stored 1700086400.999999 s, read back 1700086400.999 s",
            "created_at: stored 1700000000.123456 s, read back 1700000000.123 s",
            "revoked_at: stored Some(-86400.000001 s), read back Some(-86400.001 s)",
            "last_used_at: stored Some(1700000123.456789 s), read back Some(1700000123.456 s)",
        ],
    );
    let message = failure(
        times_keep_every_microsecond,
        reopenable(Defect::Milliseconds),
    )
    .await;
    assert_holds(
        message,
        &["times_keep_every_microsecond", "created_at: stored"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_rate_limit_fails_naming_rate_limit() {
    let behaviour = insert_then_get_returns_the_same_record;
    let message = failure(behaviour, reopenable(Defect::DropsRateLimit)).await;
    assert_holds(
        message,
        &[
            "insert_then_get_returns_the_same_record, after reopening the store",
            "rate_limit: stored Some(600 per 60 s), read back None",
        ],
    );
    let message = failure(
        every_field_round_trips_exactly,
        reopenable(Defect::DropsRateLimit),
    );
    assert_holds(
        message.await,
        &["rate_limit: stored Some(1000000 per 86400 s), read back None"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_writes_last_used_at_fails_naming_last_used_at() {
    let behaviour = update_writes_everything_but_last_used_at;
    let message = failure(behaviour, reopenable(Defect::UpdateWritesLastUsed)).await;
    assert_holds(
        message,
        &[
            "update_writes_everything_but_last_used_at, after reopening the store",
            "last_used_at: stored Some(1700000500.000007 s), read back Some(1600000000 s)",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_scopes_fail_naming_access() {
    let behaviour = restricted_keys_keep_their_scopes_through_every_write;
    let stored = "access: stored restricted(conformance_forms:write \
                  conformance_resource_name_of_32c:read conformance_submissions:read)";
    let message = failure(behaviour, reopenable(Defect::RestrictedAsReadOnly)).await;
    assert_holds(
        message,
        &[
            "restricted_keys_keep_their_scopes_through_every_write, after reopening the store",
            &format!("{stored}, read back read_only"),
        ],
    );
    let message = failure(behaviour, reopenable(Defect::LosesAScope)).await;
    assert_holds(
        message,
        &[
            "restricted_keys_keep_their_scopes_through_every_write, after reopening the store",
            &format!(
                "{stored}, read back restricted(conformance_resource_name_of_32c:read \
                 conformance_submissions:read)"
            ),
        ],
    );
}

/// Without a reopen the suite reads back what the store holds in memory, which is right: only
/// the reopen finds the defects on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defects_on_disk_pass_unseen_without_a_reopen() {
    for defect in [Defect::Milliseconds, Defect::DropsRateLimit] {
        let store = Disk::new(defect);
        assert_eq!(failure(every_field_round_trips_exactly, store).await, None);
    }
    let store = Disk::new(Defect::UpdateWritesLastUsed);
    let behaviour = update_writes_everything_but_last_used_at;
    assert_eq!(failure(behaviour, store).await, None);
    for defect in [Defect::RestrictedAsReadOnly, Defect::LosesAScope] {
        let behaviour = restricted_keys_keep_their_scopes_through_every_write;
        assert_eq!(failure(behaviour, Disk::new(defect)).await, None);
    }
}

/// A correct disk passes every behaviour, reopened: the failures above are the defects'.
mod correct_disk {
    use super::{Defect, Disk};

    crate::key_store_conformance!(
        fresh: async { Disk::new(Defect::None) },
        reopen: Disk::reopen,
    );
}

/// Without a reopen the suite reads back what the store holds in memory: a disk that keeps
/// milliseconds passes every behaviour unseen.
mod milliseconds_disk_not_reopened {
    use super::{Defect, Disk};

    crate::key_store_conformance!(with_guard: async { (Disk::new(Defect::Milliseconds), ()) });
}
