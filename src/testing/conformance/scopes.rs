//! A restricted key's scopes come back exactly, and a preset stays a preset.

use super::{
    calls::{insert, list, update},
    compare::assert_same_records,
    fixtures::{at, record, restricted},
    read_back::read_back,
    reopen::StoreUnderTest,
};
use crate::permission::Access;

/// A restricted key keeps its scopes (one resource written, others read, a resource name of 32
/// characters) through an insert, a change of scopes, a change to a preset and back; a preset
/// key reads back with no scopes.
pub async fn restricted_keys_keep_their_scopes_through_every_write(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "restricted_keys_keep_their_scopes_through_every_write";
    let longest = "conformance_resource_name_of_32c";
    let mut scoped = record("org_scopes", "restricted", at(1_700_000_000, 0));
    scoped.access = restricted(&format!(
        "conformance_forms:write conformance_submissions:read {longest}:read"
    ));
    let mut preset = record("org_scopes", "preset", at(1_700_000_001, 0));
    preset.access = Access::FullAccess;
    for record in [&scoped, &preset] {
        assert!(
            insert(&store, record).await,
            "{BEHAVIOUR}: insert of a new id"
        );
    }
    let store = read_back(BEHAVIOUR, store, &[&scoped, &preset]).await;

    let mut narrowed = scoped.next_revision();
    narrowed.access = restricted("conformance_submissions:write");
    let mut scoped_preset = preset.next_revision();
    scoped_preset.access = restricted("conformance_forms:read");
    assert!(
        update(&store, &narrowed, scoped.revision).await,
        "{BEHAVIOUR}"
    );
    assert!(
        update(&store, &scoped_preset, preset.revision).await,
        "{BEHAVIOUR}"
    );
    let when = format!("{BEHAVIOUR}, after new scopes and a preset made restricted");
    let store = read_back(&when, store, &[&narrowed, &scoped_preset]).await;

    let mut presets_again = narrowed.next_revision();
    presets_again.access = Access::ReadOnly;
    assert!(
        update(&store, &presets_again, narrowed.revision).await,
        "{BEHAVIOUR}"
    );
    let listed = list(&store, "org_scopes").await;
    assert_same_records(BEHAVIOUR, &[scoped_preset, presets_again], &listed);
}
