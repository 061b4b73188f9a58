//! Every statement of a SQL store, written from [`COLUMNS`] once per table name.

use std::sync::Arc;

use super::{
    Dialect,
    columns::{ADDED_COLUMNS, COLUMNS, NAME_KEY, ORGANIZATION_POSITION, name_key_assignment},
    table_name::TableName,
};

/// Every statement of a store, shared by its clones.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) create_table: Arc<str>,
    /// Upgrades an older table: each of the columns added since version 0.1, by name, and the
    /// statement that adds it. Every key starts at revision 0, without a rate limit, and without
    /// a name key until `migrate` fills them in.
    pub(crate) add_columns: Vec<(&'static str, Arc<str>)>,
    pub(crate) create_index: Arc<str>,
    /// The partial unique index that keeps name keys unique among an organization's keys that
    /// are not revoked: its name, which a refused write names, and the statement that creates it.
    pub(crate) name_index: Arc<str>,
    pub(crate) create_name_index: Arc<str>,
    /// Every key's id, organization, name, whether it is active (`1`, or `0` when revoked) and
    /// name key, oldest first: what `migrate` computes the name keys from.
    pub(crate) read_names: Arc<str>,
    /// Sets one key's name key: binds the name key (or null), then the id.
    pub(crate) set_name_key: Arc<str>,
    pub(crate) get: Arc<str>,
    pub(crate) insert: Arc<str>,
    /// The capped insert: binds every column, then the time keys are counted at and the maximum.
    pub(crate) insert_capped: Arc<str>,
    /// The compare-and-swap: binds the updated columns, then the id and the expected revision.
    pub(crate) update: Arc<str>,
    /// The first page of a list: binds the organization and the limit.
    pub(crate) list_first_page: Arc<str>,
    /// A page after a position: binds the organization, the position's time and id, and the
    /// limit.
    pub(crate) list_page: Arc<str>,
    pub(crate) record_usage: Arc<str>,
}

impl Statements {
    pub(crate) fn new<DB: Dialect>(table: &TableName) -> Self {
        let name = table.as_str();
        // Quoted, so that its case is kept.
        let t = format!("\"{name}\"");
        let p = |position: usize| format!("{}{position}", DB::PLACEHOLDER);
        let columns = COLUMNS.map(|column| column.name).join(", ");
        let declarations = COLUMNS
            .map(|column| format!("{} {}", column.name, DB::declaration(&column)))
            .join(",\n    ");
        let values = comma_separated((1..=COLUMNS.len()).map(p));
        let updated: Vec<_> = COLUMNS.iter().filter(|column| column.updated).collect();
        let name_position = (updated.iter().zip(1..))
            .find(|(column, _)| column.name == "name")
            .map_or(0, |(_, position)| position);
        let assignments = comma_separated((updated.iter().zip(1..)).map(|(column, position)| {
            let value = if column.name == NAME_KEY.name {
                name_key_assignment(&p(name_position), &p(position))
            } else {
                p(position)
            };
            format!("{} = {value}", column.name)
        }));
        let name_index = table.index_name("name_key_idx");
        let (id, revision) = (p(updated.len() + 1), p(updated.len() + 2));
        let insert =
            format!("INSERT INTO {t} ({columns}) VALUES ({values}) ON CONFLICT (id) DO NOTHING");
        let update =
            format!("UPDATE {t} SET {assignments} WHERE id = {id} AND revision = {revision}");
        Self {
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n    {declarations}\n){}",
                DB::TABLE_OPTIONS
            )
            .into(),
            add_columns: ADDED_COLUMNS
                .iter()
                .map(|column| {
                    let declaration = DB::declaration(column);
                    let add = format!("ALTER TABLE {t} ADD COLUMN {} {declaration}", column.name);
                    (column.name, add.into())
                })
                .collect(),
            create_index: format!(
                "CREATE INDEX IF NOT EXISTS \"{name}_organization_idx\" \
                 ON {t} (organization, created_at DESC, id DESC)"
            )
            .into(),
            create_name_index: format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS \"{name_index}\" \
                 ON {t} (organization, name_key) WHERE revoked_at IS NULL"
            )
            .into(),
            name_index: name_index.into(),
            read_names: format!(
                "SELECT id, organization, name, \
                 CAST(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END AS BIGINT) AS active, \
                 name_key FROM {t} ORDER BY created_at, id"
            )
            .into(),
            set_name_key: format!("UPDATE {t} SET name_key = {} WHERE id = {}", p(1), p(2)).into(),
            get: format!("SELECT {columns} FROM {t} WHERE id = {}", p(1)).into(),
            insert: DB::announced(name, &insert).into(),
            insert_capped: DB::announced(name, &insert_capped::<DB>(&t, &columns, &values)).into(),
            update: DB::announced(name, &update).into(),
            list_first_page: format!(
                "SELECT {columns} FROM {t} WHERE organization = {} \
                 ORDER BY created_at DESC, id DESC LIMIT {}",
                p(1),
                p(2)
            )
            .into(),
            list_page: list_page::<DB>(&t, &columns).into(),
            record_usage: DB::record_usage_statement(name).into(),
        }
    }
}

/// `INSERT ... SELECT` of one row, only while fewer than the maximum of the organization's keys
/// are active. One statement is atomic where the database runs one writer at a time; elsewhere
/// the dialect adds a lock around it ([`Dialect::insert_capped`]).
///
/// SQLite would read the `ON` of `ON CONFLICT` after `INSERT ... SELECT` as a join's, but not
/// when the `SELECT` has a `WHERE` clause, as this one always has.
fn insert_capped<DB: Dialect>(t: &str, columns: &str, values: &str) -> String {
    let p = |position: usize| format!("{}{position}", DB::PLACEHOLDER);
    let organization = p(ORGANIZATION_POSITION);
    let (at, max) = (p(COLUMNS.len() + 1), p(COLUMNS.len() + 2));
    let active = format!(
        "SELECT COUNT(*) FROM {t} WHERE organization = {organization} \
         AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > {at})"
    );
    format!(
        "INSERT INTO {t} ({columns}) SELECT {values} WHERE ({active}) < {max} \
         ON CONFLICT (id) DO NOTHING"
    )
}

/// A page of the organization's keys after a position, newest first. `created_at <= ?` repeats
/// what the `OR` implies, so that the index on `(organization, created_at DESC, id DESC)` is
/// entered at the position instead of read from the newest key on; the index's order is the
/// list's, so the `LIMIT` stops the scan.
fn list_page<DB: Dialect>(t: &str, columns: &str) -> String {
    let p = |position: usize| format!("{}{position}", DB::PLACEHOLDER);
    let (organization, at, id, limit) = (p(1), p(2), p(3), p(4));
    format!(
        "SELECT {columns} FROM {t} WHERE organization = {organization} AND created_at <= {at} \
         AND (created_at < {at} OR (created_at = {at} AND id < {id})) \
         ORDER BY created_at DESC, id DESC LIMIT {limit}"
    )
}

fn comma_separated(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(all(test, feature = "sqlite", feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn update_writes_the_updated_columns_then_finds_the_row_by_id_and_revision() {
        let table = TableName::default_name();
        let sqlite = Statements::new::<sqlx::Sqlite>(&table);
        assert!(sqlite.update.contains(
            "revision = ?10, rate_limit_requests = ?11, rate_limit_per_seconds = ?12, \
             name_key = CASE WHEN name_key IS NULL AND name = ?2 THEN NULL ELSE ?13 END, \
             scopes = ?14 WHERE"
        ));
        assert!(sqlite.update.contains("SET organization = ?1, name = ?2, "));
        assert!(sqlite.update.ends_with("WHERE id = ?15 AND revision = ?16"));
        assert!(!sqlite.update.contains("last_used_at"));
        let postgres = Statements::new::<sqlx::Postgres>(&table);
        assert!(
            postgres
                .update
                .contains("WHERE id = $15 AND revision = $16 RETURNING id")
        );
        assert!(
            postgres
                .insert
                .contains("$16) ON CONFLICT (id) DO NOTHING RETURNING id")
        );
    }

    #[test]
    fn an_upgrade_adds_each_newer_column_as_the_table_declares_it() {
        let table = TableName::default_name();
        let sqlite = Statements::new::<sqlx::Sqlite>(&table).add_columns;
        let names: Vec<_> = sqlite.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "revision",
                "rate_limit_requests",
                "rate_limit_per_seconds",
                "name_key",
                "scopes"
            ]
        );
        assert_eq!(
            &*sqlite[1].1,
            r#"ALTER TABLE "formbox_api_keys" ADD COLUMN rate_limit_requests INTEGER"#
        );
        let postgres = Statements::new::<sqlx::Postgres>(&table).add_columns;
        assert_eq!(
            &*postgres[2].1,
            r#"ALTER TABLE "formbox_api_keys" ADD COLUMN rate_limit_per_seconds BIGINT"#
        );
        assert_eq!(
            &*postgres[3].1,
            r#"ALTER TABLE "formbox_api_keys" ADD COLUMN name_key TEXT COLLATE "C""#
        );
        assert_eq!(
            &*postgres[4].1,
            r#"ALTER TABLE "formbox_api_keys" ADD COLUMN scopes TEXT"#
        );
    }

    #[test]
    fn names_are_unique_per_organization_among_keys_that_are_not_revoked() {
        let table = TableName::default_name();
        let sqlite = Statements::new::<sqlx::Sqlite>(&table);
        assert_eq!(&*sqlite.name_index, "formbox_api_keys_name_key_idx");
        assert_eq!(
            &*sqlite.create_name_index,
            "CREATE UNIQUE INDEX IF NOT EXISTS \"formbox_api_keys_name_key_idx\" \
             ON \"formbox_api_keys\" (organization, name_key) WHERE revoked_at IS NULL"
        );
    }

    #[test]
    fn a_page_continues_strictly_after_its_position() {
        let table = TableName::default_name();
        let sqlite = Statements::new::<sqlx::Sqlite>(&table).list_page;
        assert!(
            sqlite.contains(
                "WHERE organization = ?1 AND created_at <= ?2 \
                 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
                 ORDER BY created_at DESC, id DESC LIMIT ?4"
            ),
            "{sqlite}"
        );
        let postgres = Statements::new::<sqlx::Postgres>(&table).list_page;
        assert!(
            postgres.ends_with("AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4"),
            "{postgres}"
        );
    }

    #[test]
    fn a_capped_insert_counts_the_organizations_active_keys_in_its_own_statement() {
        let table = TableName::default_name();
        let counted = "WHERE (SELECT COUNT(*) FROM \"formbox_api_keys\" WHERE organization = ?2 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?17)) < ?18 \
             ON CONFLICT (id) DO NOTHING";
        let sqlite = Statements::new::<sqlx::Sqlite>(&table).insert_capped;
        assert!(sqlite.contains("SELECT ?1, ?2, ?3, "), "{sqlite}");
        assert!(sqlite.ends_with(&format!("?16 {counted}")), "{sqlite}");
        let postgres = Statements::new::<sqlx::Postgres>(&table).insert_capped;
        let counted = counted.replace('?', "$");
        assert!(
            postgres.contains(&format!("$16 {counted} RETURNING id")),
            "{postgres}"
        );
    }
}
