//! The statements only PostgreSQL runs.

/// Instances that start together all migrate: without the lock, two concurrent
/// `CREATE TABLE IF NOT EXISTS` can both try to create the table, and one fails; and two
/// instances upgrading an older table would both add a column.
pub(super) const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('formbox_auth.' || $1))";

/// Capped inserts into one table (`$1`) for one organization (`$2`) queue on this lock, held
/// until the transaction ends. Its two keys keep it apart from [`LOCK`], which has one; two
/// organizations whose names hash alike merely queue together.
pub(super) const ORGANIZATION_LOCK: &str =
    "SELECT pg_advisory_xact_lock(hashtext('formbox_auth.' || $1), hashtext($2))";

/// Whether the table (`$1`) has the column `$2` yet. `ALTER TABLE` locks out even readers until
/// the transaction ends, so `migrate` only alters a table that needs it, not at every start.
pub(super) const HAS_COLUMN: &str = "SELECT COUNT(*) FROM pg_attribute \
     WHERE attrelid = to_regclass(quote_ident($1)) AND attname = $2::name AND NOT attisdropped";

/// Whether the index `$1` exists yet. Building it reads the whole table and blocks its writers,
/// so `migrate` builds it only once.
pub(super) const HAS_INDEX: &str =
    "SELECT COUNT(*) FROM pg_class WHERE oid = to_regclass(quote_ident($1))";

/// `write`, made to publish the id of the row it changed on the channel named after `table`, in
/// the same statement, so the notification goes out exactly when the change commits, and only if
/// it changed a row.
pub(super) fn announced(table: &str, write: &str) -> String {
    format!("WITH changed AS ({write} RETURNING id) SELECT pg_notify('{table}', id) FROM changed")
}

/// One statement per batch. Rows are locked in id order, so two instances flushing overlapping
/// batches at once wait for each other instead of deadlocking. GREATEST ignores NULL, so a first
/// use simply sets the column.
pub(super) fn record_usage(table: &str) -> String {
    format!(
        r#"UPDATE "{table}" AS t SET last_used_at = GREATEST(t.last_used_at, u.used_at)
        FROM (
            SELECT k.id, u.used_at
            FROM UNNEST($1::text[], $2::timestamptz[]) AS u (id, used_at)
            JOIN "{table}" AS k ON k.id = u.id
            ORDER BY k.id
            FOR UPDATE OF k
        ) AS u
        WHERE t.id = u.id"#
    )
}
