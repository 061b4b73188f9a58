//! Last-used times: moved forward only, by `record_usage` alone.

use super::{
    calls::{get, insert, record_usage},
    compare::assert_absent,
    fixtures::{at, id, rate_limit, record, used},
    read_back::read_back,
    reopen::StoreUnderTest,
};

/// `record_usage` moves `last_used_at` forward only, skips unknown ids and changes nothing else.
pub async fn record_usage_moves_last_used_forward_only(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "record_usage_moves_last_used_forward_only";
    let mut first = record("org_a", "first", at(1_700_000_000, 0));
    first.rate_limit = Some(rate_limit(100, 3_600));
    let mut second = record("org_a", "second", at(1_700_000_000, 1));
    let never = record("org_a", "never", at(1_700_000_000, 2));
    for record in [&first, &second, &never] {
        insert(&store, record).await;
    }
    record_usage(&store, &[]).await;

    let unknown = id("unknownKey00");
    let batch = [
        used(first.id, at(1_700_000_100, 0)),
        used(unknown, at(1_700_000_100, 0)),
        // The same key twice in one batch: the later use wins, in either order.
        used(second.id, at(1_700_000_300, 5)),
        used(second.id, at(1_700_000_200, 0)),
    ];
    record_usage(&store, &batch).await;
    first.last_used_at = Some(at(1_700_000_100, 0));
    second.last_used_at = Some(at(1_700_000_300, 5));
    // Nothing but last_used_at changed, not the revision either.
    let store = read_back(BEHAVIOUR, store, &[&first, &second, &never]).await;
    assert_absent(BEHAVIOUR, &unknown, get(&store, &unknown).await.as_ref());

    // An older flush (a slow instance) does not move it back; a newer one moves it on.
    let batch = [
        used(first.id, at(1_700_000_050, 0)),
        used(second.id, at(1_700_000_400, 0)),
    ];
    record_usage(&store, &batch).await;
    second.last_used_at = Some(at(1_700_000_400, 0));
    let when = format!("{BEHAVIOUR}, after an older and a newer use");
    read_back(&when, store, &[&first, &second, &never]).await;
}
