//! Name keys for the keys of a table that had none: what [`migrate`](super::SqlStore::migrate)
//! writes before it builds the unique index on them.

use std::collections::HashSet;

use super::Dialect;
use crate::{
    record::name_key,
    store::{Result, StoreError},
};

/// One key as [`read_names`](super::statements::Statements::read_names) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedRow {
    pub(crate) id: String,
    pub(crate) organization: String,
    pub(crate) name: String,
    /// Not revoked.
    pub(crate) active: bool,
    pub(crate) name_key: Option<String>,
}

impl NamedRow {
    pub(crate) fn read<DB: Dialect>(row: &DB::Row) -> Result<Self> {
        let text = |column| {
            DB::text(row, column)?.ok_or_else(|| StoreError::Decode(format!("`{column}` is null")))
        };
        Ok(Self {
            id: text("id")?,
            organization: text("organization")?,
            name: text("name")?,
            active: DB::integer(row, "active")? == Some(1),
            name_key: DB::text(row, "name_key")?,
        })
    }
}

/// The keys whose `name_key` column must change, and what to: `rows` oldest first, each key gets
/// the [name key](crate::KeyRecord::name_key) of its name, except an active key whose name key an
/// older active key of its organization already has. An older version let such keys share a
/// name; the newer one keeps none (`NULL`, which the unique index lets any number of keys have)
/// until it is renamed, so that the index can be built and no key stops working.
pub(crate) fn name_keys(rows: Vec<NamedRow>) -> Vec<(String, Option<String>)> {
    let mut taken = HashSet::new();
    rows.into_iter()
        .filter_map(|row| {
            let key = name_key(&row.name);
            let key = if row.active && !taken.insert((row.organization, key.clone())) {
                None
            } else {
                Some(key)
            };
            (row.name_key != key).then_some((row.id, key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, organization: &str, name: &str, active: bool) -> NamedRow {
        NamedRow {
            id: id.into(),
            organization: organization.into(),
            name: name.into(),
            active,
            name_key: None,
        }
    }

    #[test]
    fn the_oldest_active_key_of_a_name_keeps_it_and_later_ones_get_none() {
        let rows = vec![
            row("revoked", "org_a", "CI", false),
            row("oldest", "org_a", "CI", true),
            row("later", "org_a", " ci ", true),
            row("other_org", "org_b", "CI", true),
            row("revoked_later", "org_a", "Ci", false),
            row("decomposed", "org_a", "Cafe\u{301}", true),
            row("composed", "org_a", "caf\u{e9}", true),
        ];
        let some = |id: &str, key: &str| (id.to_owned(), Some(key.to_owned()));
        // "later" and "composed" keep the null they have: nothing to write.
        assert_eq!(
            name_keys(rows),
            [
                some("revoked", "ci"),
                some("oldest", "ci"),
                some("other_org", "ci"),
                some("revoked_later", "ci"),
                some("decomposed", "caf\u{e9}"),
            ]
        );
    }

    #[test]
    fn keys_that_have_their_name_key_are_left_alone() {
        let mut kept = row("kept", "org_a", "CI", true);
        kept.name_key = Some("ci".into());
        let mut stale = row("stale", "org_a", "Zapier", true);
        stale.name_key = Some("old name".into());
        let mut duplicate = row("duplicate", "org_a", "ci", true);
        duplicate.name_key = Some("ci".into());
        assert_eq!(
            name_keys(vec![kept, stale, duplicate]),
            [
                ("stale".to_owned(), Some("zapier".to_owned())),
                ("duplicate".to_owned(), None)
            ]
        );
    }
}
