//! The behaviours every [`KeyStore`](crate::KeyStore) must show, one function each.
//!
//! [`key_store_conformance!`](crate::key_store_conformance) runs all of them, each as a test of
//! its own on a fresh store; call one directly to look at a single behaviour. Each panics when
//! the store misbehaves, naming the behaviour and what differs: for a record, each field, as
//! stored and as read back.
//!
//! Every function takes an empty store, a [`StoreUnderTest`]: any `KeyStore`, or a
//! [`Reopenable`] store that can be opened again over the data it wrote (the same file, database
//! or table). With a reopenable store, the behaviours that write records and read them back
//! reopen the store in between, so that what reaches the disk is checked, not only what the
//! store keeps in memory.
//!
//! Records use times in whole microseconds between 1969 and 2400: what every store must keep
//! exactly.

mod at_once;
mod calls;
mod compare;
mod concurrency;
mod exactness;
mod fixtures;
mod get;
mod insert;
mod lifecycle;
mod list;
mod names;
mod pages;
mod read_back;
mod reopen;
mod scopes;
mod update;
mod usage;

#[cfg(test)]
mod tests;

pub use reopen::{Reopenable, StoreUnderTest};

/// Re-exports each behaviour from the module that holds it.
macro_rules! reexport {
    ($($module:ident: [$($behaviour:ident),* $(,)?]),* $(,)?) => {
        $(pub use $module::{$($behaviour),*};)*
    };
}

crate::__key_store_conformance_behaviours!(reexport! {});

/// The one list of behaviours, by the module that holds each: hands it to the macro named first,
/// after that macro's own tokens. `key_store_conformance!` makes a test of each; this module
/// re-exports each.
#[doc(hidden)]
#[macro_export]
macro_rules! __key_store_conformance_behaviours {
    ($($callback:ident)::+ ! { $($arguments:tt)* }) => {
        $($callback)::+ ! { $($arguments)*
            get: [
                get_of_an_unknown_id_is_none,
                get_cached_agrees_with_get,
            ],
            insert: [
                insert_then_get_returns_the_same_record,
                duplicate_id_is_refused_without_overwriting,
                capped_insert_counts_only_active_keys_of_the_organization,
                capped_insert_is_atomic_under_concurrent_writers,
            ],
            update: [
                update_writes_everything_but_last_used_at,
                update_of_an_unknown_id_changes_nothing,
                update_at_a_stale_revision_is_refused,
                update_is_atomic_under_concurrent_writers,
            ],
            list: [
                list_is_per_organization_and_newest_first,
                list_page_is_per_organization,
            ],
            names: [
                insert_refuses_a_name_an_active_key_of_the_organization_has,
                a_revoked_key_gives_its_name_up,
                rename_into_a_taken_name_is_refused_without_changing_anything,
                concurrent_inserts_of_one_name_store_exactly_one,
                concurrent_renames_into_one_name_store_exactly_one,
            ],
            pages: [
                list_pages_of_every_size_concatenate_to_list,
                list_page_orders_ties_by_id_across_page_boundaries,
                list_page_continues_after_a_position_of_no_key,
                list_page_after_a_position_far_in_the_past_or_future,
                list_page_limit_zero_is_empty_and_a_huge_limit_is_everything,
            ],
            usage: [
                record_usage_moves_last_used_forward_only,
            ],
            exactness: [
                every_field_round_trips_exactly,
                times_keep_every_microsecond,
                names_with_quotes_and_unicode_round_trip,
            ],
            scopes: [
                restricted_keys_keep_their_scopes_through_every_write,
            ],
            concurrency: [
                many_tasks_insert_and_update_concurrently,
            ],
            lifecycle: [
                revoked_key_is_rejected_after_revocation,
                regenerated_key_honours_its_grace_period,
                rate_limit_is_kept_through_every_change_of_a_key,
                usage_flush_records_last_used,
            ],
        }
    };
}

/// Runs every behaviour of [`conformance`](crate::testing::conformance) against a store, each
/// as a `#[tokio::test]` of its own on a fresh store from the async block.
///
/// ```ignore
/// // tests/my_store.rs of a backend crate, with formbox-auth's `testing` feature and tokio
/// // (features `macros` and `rt-multi-thread`) as dev-dependencies.
/// formbox_auth::key_store_conformance!(async { MyStore::connect().await });
/// ```
///
/// When the store needs something kept alive beside it (a temporary directory, a container),
/// let the block return both and say so; the guard is dropped after the test:
///
/// ```ignore
/// formbox_auth::key_store_conformance!(with_guard: async {
///     let dir = tempfile::tempdir().unwrap();
///     (MyStore::open(dir.path().join("keys")).await, dir)
/// });
/// ```
///
/// A store that keeps its records somewhere that outlives it (a file, a database) should say how
/// to open it again over the same data: `reopen` is given the store to replace, drops or closes
/// it, and opens a new one. The behaviours that write records and read them back then reopen the
/// store in between, so that a store that answers from memory but writes milliseconds to disk,
/// or forgets a field there, fails. Without `reopen` they read back from the same store.
///
/// ```ignore
/// formbox_auth::key_store_conformance!(
///     with_guard: async {
///         let dir = tempfile::tempdir().unwrap();
///         (MyStore::open(dir.path().join("keys")).await, dir)
///     },
///     reopen: |store: MyStore| async move {
///         let path = store.path().to_owned();
///         drop(store);
///         MyStore::open(path).await
///     },
/// );
/// // Without a guard: `key_store_conformance!(fresh: async { ... }, reopen: ...)`.
/// ```
///
/// The tests run on a two-thread runtime, so that concurrent writers really race. To run the
/// suite against several stores in one file, call the macro in a module per store.
#[macro_export]
macro_rules! key_store_conformance {
    (@tests $fresh:expr; $($module:ident: [$($behaviour:ident),* $(,)?]),* $(,)?) => {
        $($(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $behaviour() {
                let (store, _guard) = $fresh.await;
                $crate::testing::conformance::$behaviour(store).await;
            }
        )*)*
    };
    (with_guard: $fresh:expr, reopen: $reopen:expr $(,)?) => {
        $crate::__key_store_conformance_behaviours!($crate::key_store_conformance! {
            @tests async {
                let (store, guard) = $fresh.await;
                ($crate::testing::conformance::Reopenable::new(store, $reopen), guard)
            };
        });
    };
    (fresh: $fresh:expr, reopen: $reopen:expr $(,)?) => {
        $crate::key_store_conformance!(
            with_guard: async { ($fresh.await, ()) },
            reopen: $reopen,
        );
    };
    (with_guard: $fresh:expr $(,)?) => {
        $crate::__key_store_conformance_behaviours!($crate::key_store_conformance! {
            @tests $fresh;
        });
    };
    (fresh: $fresh:expr $(,)?) => {
        $crate::key_store_conformance!(with_guard: async { ($fresh.await, ()) });
    };
    ($fresh:expr $(,)?) => {
        $crate::key_store_conformance!(fresh: $fresh);
    };
}
