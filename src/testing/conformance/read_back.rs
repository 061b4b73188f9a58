//! Reading what a behaviour wrote back, after reopening the store where it can be.

use super::{calls::get, compare::assert_same_record, reopen::StoreUnderTest};
use crate::record::KeyRecord;

/// Reopens `store` if it can be, then reads each of `stored` back by id and compares it with
/// what was written, field by field. Answers the store to go on with.
pub(super) async fn read_back<T: StoreUnderTest>(
    behaviour: &str,
    store: T,
    stored: &[&KeyRecord],
) -> T {
    let reopened = store.can_reopen();
    let store = store.reopen().await;
    let when = if reopened {
        format!("{behaviour}, after reopening the store")
    } else {
        behaviour.to_owned()
    };
    for record in stored {
        let read = get(&store, &record.id)
            .await
            .unwrap_or_else(|| panic!("{when}: key {} was stored but is missing", record.id));
        assert_same_record(&when, record, &read);
    }
    store
}
