//! Names: unique among an organization's keys that are not revoked, by their name key, decided
//! by the store in the same atomic step as the write.

use std::sync::Arc;

use super::{
    at_once::at_once,
    calls::{get, insert, insert_capped, inserted, list, update, updated},
    compare::{assert_absent, assert_same_records},
    fixtures::{at, record},
    read_back::read_back,
    reopen::StoreUnderTest,
};
use crate::{
    record::KeyRecord,
    store::{ActiveKeyLimit, Inserted, Updated},
};

/// Names with the name key of `"Café Bot"` (a composed `é`): in another case, with spaces
/// around, and with the `é` decomposed into an `e` and a combining accent.
const SAME_NAME: [&str; 4] = [
    "caf\u{e9} bot",
    "  CAF\u{c9} BOT ",
    "Cafe\u{301} Bot",
    "CAFE\u{301} BOT",
];

/// `insert` refuses a key whose name key an active key of its organization has (another case,
/// spaces around, another Unicode composition), with or without a limit, changing nothing; the
/// same name is free in another organization, and an existing id is `IdTaken` whatever its name.
pub async fn insert_refuses_a_name_an_active_key_of_the_organization_has(
    store: impl StoreUnderTest,
) {
    const BEHAVIOUR: &str = "insert_refuses_a_name_an_active_key_of_the_organization_has";
    let holder = record("org_a", "Caf\u{e9} Bot", at(1_700_000_000, 0));
    assert!(insert(&store, &holder).await, "{BEHAVIOUR}: a first key");
    let room = ActiveKeyLimit {
        max: 100,
        at: at(1_700_000_000, 0),
    };
    for (n, name) in SAME_NAME.into_iter().enumerate() {
        let twin = record("org_a", name, at(1_700_000_001 + n as u64, 0));
        assert_eq!(
            inserted(&store, &twin).await,
            Inserted::NameTaken,
            "{BEHAVIOUR}: {name:?} has the name key of an active key's \"Caf\u{e9} Bot\""
        );
        assert_eq!(
            insert_capped(&store, &twin, room).await,
            Inserted::NameTaken,
            "{BEHAVIOUR}: {name:?}, inserted with a limit that leaves room"
        );
        assert_absent(BEHAVIOUR, &twin.id, get(&store, &twin.id).await.as_ref());
    }
    assert_eq!(
        inserted(&store, &holder).await,
        Inserted::IdTaken,
        "{BEHAVIOUR}: the same record again: its id is taken, whatever its name"
    );
    let elsewhere = record("org_b", "Caf\u{e9} Bot", at(1_700_000_010, 0));
    assert!(
        insert(&store, &elsewhere).await,
        "{BEHAVIOUR}: another organization has names of its own"
    );
    let other_name = record("org_a", "Caf\u{e9} Bots", at(1_700_000_011, 0));
    assert!(
        insert(&store, &other_name).await,
        "{BEHAVIOUR}: another name"
    );
    let store = read_back(BEHAVIOUR, store, &[&holder, &elsewhere, &other_name]).await;
    assert_same_records(
        BEHAVIOUR,
        &[other_name, holder],
        &list(&store, "org_a").await,
    );
}

/// A revoked key gives its name up: a new key takes it, another key is renamed into it, and the
/// revoked key cannot take it back by being written as not revoked.
pub async fn a_revoked_key_gives_its_name_up(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "a_revoked_key_gives_its_name_up";
    let old = record("org_a", "CI", at(1_700_000_000, 0));
    let other = record("org_a", "Zapier", at(1_700_000_001, 0));
    for record in [&old, &other] {
        assert!(insert(&store, record).await, "{BEHAVIOUR}: a first key");
    }
    let mut revoked = old.next_revision();
    revoked.revoked_at = Some(at(1_700_000_100, 0));
    assert!(update(&store, &revoked, old.revision).await);
    let replacement = record("org_a", "ci", at(1_700_000_200, 0));
    assert!(
        insert(&store, &replacement).await,
        "{BEHAVIOUR}: a new key takes the name of a revoked one"
    );
    let mut unrevoked = revoked.next_revision();
    unrevoked.revoked_at = None;
    assert_eq!(
        updated(&store, &unrevoked, revoked.revision).await,
        Updated::NameTaken,
        "{BEHAVIOUR}: a key written as not revoked while an active key has its name"
    );
    let mut also_revoked = replacement.next_revision();
    also_revoked.revoked_at = Some(at(1_700_000_300, 0));
    assert!(update(&store, &also_revoked, replacement.revision).await);
    let mut renamed = other.next_revision();
    renamed.name = "CI".into();
    assert_eq!(
        updated(&store, &renamed, other.revision).await,
        Updated::Stored,
        "{BEHAVIOUR}: a rename into the name of two revoked keys"
    );
    read_back(BEHAVIOUR, store, &[&revoked, &also_revoked, &renamed]).await;
}

/// `update` refuses a rename into a name key another active key of the organization has,
/// changing nothing; a key may take its own name in another case, and the name of a key of
/// another organization.
pub async fn rename_into_a_taken_name_is_refused_without_changing_anything(
    store: impl StoreUnderTest,
) {
    const BEHAVIOUR: &str = "rename_into_a_taken_name_is_refused_without_changing_anything";
    let holder = record("org_a", "Caf\u{e9} Bot", at(1_700_000_000, 0));
    let renamed = record("org_a", "CI", at(1_700_000_001, 0));
    let theirs = record("org_b", "Zapier", at(1_700_000_002, 0));
    for record in [&holder, &renamed, &theirs] {
        assert!(insert(&store, record).await, "{BEHAVIOUR}: a first key");
    }
    for name in SAME_NAME {
        let mut into_taken = renamed.next_revision();
        into_taken.name = name.into();
        assert_eq!(
            updated(&store, &into_taken, renamed.revision).await,
            Updated::NameTaken,
            "{BEHAVIOUR}: a rename into {name:?}, the name key of an active key's \"Caf\u{e9} Bot\""
        );
    }
    let store = read_back(BEHAVIOUR, store, &[&holder, &renamed]).await;

    let mut own_name = renamed.next_revision();
    own_name.name = " ci ".into();
    assert_eq!(
        updated(&store, &own_name, renamed.revision).await,
        Updated::Stored,
        "{BEHAVIOUR}: a key takes its own name in another case"
    );
    let mut their_name = own_name.next_revision();
    their_name.name = "ZAPIER".into();
    assert_eq!(
        updated(&store, &their_name, own_name.revision).await,
        Updated::Stored,
        "{BEHAVIOUR}: a rename into the name of another organization's key"
    );
    read_back(BEHAVIOUR, store, &[&holder, &their_name, &theirs]).await;
}

const WRITERS: usize = 32;

/// Of 32 tasks inserting a key of one name at once (in several cases), exactly one stores it
/// and the others are told `NameTaken`; without a limit, then with one that leaves room.
pub async fn concurrent_inserts_of_one_name_store_exactly_one(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "concurrent_inserts_of_one_name_store_exactly_one";
    let store = Arc::new(store.into_store());
    let room = ActiveKeyLimit {
        max: 1_000,
        at: at(1_700_000_000, 0),
    };
    for (name, limit) in [("Deploy", None), ("Release", Some(room))] {
        let inserts = (0..WRITERS).map(|task| {
            let store = Arc::clone(&store);
            let name = if task % 2 == 0 {
                name.to_owned()
            } else {
                name.to_uppercase()
            };
            let key = record("org_a", &name, at(1_700_000_000, 0));
            async move {
                match limit {
                    Some(limit) => insert_capped(&store, &key, limit).await,
                    None => inserted(&store, &key).await,
                }
            }
        });
        let mut stored = 0;
        for inserted in at_once(inserts).await {
            match inserted {
                Inserted::Stored => stored += 1,
                Inserted::NameTaken => {}
                other => panic!("{BEHAVIOUR}: a fresh id with a free limit answered {other:?}"),
            }
        }
        let how = if limit.is_some() { "with" } else { "without" };
        assert_eq!(
            stored, 1,
            "{BEHAVIOUR}: of {WRITERS} concurrent inserts of {name:?} {how} a limit, exactly one \
             must be stored"
        );
    }
    let listed: Vec<String> = list(&store, "org_a")
        .await
        .iter()
        .map(KeyRecord::name_key)
        .collect();
    assert_eq!(
        (listed.len(), listed.contains(&"deploy".to_owned())),
        (2, true),
        "{BEHAVIOUR}: org_a's keys, by name key: {listed:?}"
    );
}

/// Of 32 keys renamed into one name at once, exactly one is renamed and the others are told
/// `NameTaken`, unchanged.
pub async fn concurrent_renames_into_one_name_store_exactly_one(store: impl StoreUnderTest) {
    const BEHAVIOUR: &str = "concurrent_renames_into_one_name_store_exactly_one";
    let store = Arc::new(store.into_store());
    let mut keys = Vec::new();
    for n in 0..WRITERS {
        let key = record("org_a", &format!("key {n}"), at(1_700_000_000, 0));
        assert!(insert(&store, &key).await, "{BEHAVIOUR}: a first key");
        keys.push(key);
    }
    let renames = keys.into_iter().map(|key| {
        let store = Arc::clone(&store);
        let mut renamed = key.next_revision();
        renamed.name = "Shared".into();
        async move { updated(&store, &renamed, key.revision).await }
    });
    let mut stored = 0;
    for updated in at_once(renames).await {
        match updated {
            Updated::Stored => stored += 1,
            Updated::NameTaken => {}
            other => panic!("{BEHAVIOUR}: a rename at the stored revision answered {other:?}"),
        }
    }
    assert_eq!(
        stored, 1,
        "{BEHAVIOUR}: of {WRITERS} concurrent renames into one name, exactly one must land"
    );
    let shared = list(&store, "org_a").await;
    let shared = shared.iter().filter(|key| key.name == "Shared").count();
    assert_eq!(shared, 1, "{BEHAVIOUR}: keys named \"Shared\"");
}
