#!/usr/bin/env bash
# Builds a crate outside this repository that depends on formbox-auth by path, as a backend
# author's crate would, and runs the public conformance suite from it: against MemoryStore,
# CachedStore<MemoryStore>, and a small store of its own that keeps records in a file, reopened
# over that file between writing records and reading them back. Then it builds that file store
# with each of two deliberate defects (cargo features `millis`: times written to the millisecond;
# `drop_rate_limit`: the rate limit not written) and checks that the suite fails, naming the field.
# It shares the target directory ($CARGO_TARGET_DIR, or this repository's), so it rebuilds little.
#
#   scripts/backend-crate.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root="$(cd "$(dirname "$0")/.." && pwd)"
crate="$(mktemp -d)"
on_exit rm -rf "$crate"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

mkdir -p "$crate/src" "$crate/tests"
cat >"$crate/Cargo.toml" <<TOML
[package]
name = "my-key-store"
version = "0.1.0"
edition = "2024"
publish = false

[workspace]

[features]
# Deliberate defects, for the suite to catch.
millis = []
drop_rate_limit = []

[dependencies]
formbox-auth = { path = "$root", features = ["serde"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"

[dev-dependencies]
formbox-auth = { path = "$root", features = ["testing"] }
tempfile = "3"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
TOML
cat >"$crate/src/lib.rs" <<'RUST'
//! A key store that keeps its records in a file: each write appends the record as a line of
//! JSON, and opening the file reads them back, the last line of each key winning.

use std::{
    collections::HashMap,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use formbox_auth::store::{
    ActiveKeyLimit, Inserted, KeyUsage, ListCursor, PreviousSecret, Result, StoreError, Updated,
    async_trait,
};
use formbox_auth::{KeyId, KeyRecord, KeyStore, OrganizationId, key::KeyDigest};
use formbox_auth::rate_limit::RateLimit;
use serde::{Deserialize, Serialize};

/// Records in memory, written through to a file.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    records: HashMap<KeyId, KeyRecord>,
    file: File,
}

impl FileStore {
    /// The store in the file at `path`, created if missing, with the records it holds.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let mut options = OpenOptions::new();
        let file = options.create(true).read(true).append(true).open(&path);
        let file = file.map_err(StoreError::backend)?;
        let mut records = HashMap::new();
        for line in BufReader::new(&file).lines() {
            let record = from_line(&line.map_err(StoreError::backend)?)?;
            records.insert(record.id, record);
        }
        let state = Mutex::new(State { records, file });
        Ok(Self { path, state })
    }

    /// The file the records are in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Whether another key of `record`'s organization that is not revoked has its name key.
    fn name_taken(&self, record: &KeyRecord) -> bool {
        let name_key = record.name_key();
        record.revoked_at.is_none()
            && self.records.values().any(|kept| {
                kept.id != record.id
                    && kept.organization == record.organization
                    && kept.revoked_at.is_none()
                    && kept.name_key() == name_key
            })
    }

    /// Appends `record` to the file, then keeps it.
    fn write(&mut self, record: KeyRecord) -> Result<()> {
        writeln!(self.file, "{}", to_line(&record)).map_err(StoreError::backend)?;
        self.records.insert(record.id, record);
        Ok(())
    }
}

#[async_trait]
impl KeyStore for FileStore {
    async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        Ok(self.state().records.get(id).cloned())
    }

    /// Inserts `record` unless its id or its name is taken or, with a `limit`, its organization
    /// has `limit.max` active keys: one step, under the lock.
    async fn insert(&self, record: &KeyRecord, limit: Option<ActiveKeyLimit>) -> Result<Inserted> {
        let mut state = self.state();
        if state.records.contains_key(&record.id) {
            return Ok(Inserted::IdTaken);
        }
        if state.name_taken(record) {
            return Ok(Inserted::NameTaken);
        }
        if let Some(limit) = limit {
            let active = state.records.values().filter(|kept| {
                kept.organization == record.organization
                    && kept.revoked_at.is_none()
                    && !kept.is_expired_at(limit.at)
            });
            if active.count() >= limit.max as usize {
                return Ok(Inserted::LimitReached);
            }
        }
        state.write(record.clone())?;
        Ok(Inserted::Stored)
    }

    /// Writes `record` if the stored one is at `expected_revision` and its name is free: one
    /// step, under the lock.
    async fn update(&self, record: &KeyRecord, expected_revision: u64) -> Result<Updated> {
        let mut state = self.state();
        let mut updated = record.clone();
        match state.records.get(&record.id) {
            Some(stored) if stored.revision == expected_revision => {
                updated.last_used_at = stored.last_used_at;
            }
            _ => return Ok(Updated::Stale),
        }
        if state.name_taken(record) {
            return Ok(Updated::NameTaken);
        }
        state.write(updated)?;
        Ok(Updated::Stored)
    }

    /// Newest first, ties by id descending, strictly after `after`.
    async fn list_page(
        &self,
        organization: &OrganizationId,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let state = self.state();
        let ours = state.records.values().filter(|record| {
            record.organization == *organization
                && after.is_none_or(|after| {
                    (record.created_at, record.id) < (after.created_at(), after.id())
                })
        });
        let mut listed: Vec<KeyRecord> = ours.cloned().collect();
        listed.sort_by_key(|record| std::cmp::Reverse((record.created_at, record.id)));
        listed.truncate(limit);
        Ok(listed)
    }

    async fn record_usage(&self, usage: &[KeyUsage]) -> Result<()> {
        let mut state = self.state();
        for used in usage {
            let later =
                |stored: &&KeyRecord| stored.last_used_at.is_none_or(|at| at < used.used_at);
            if let Some(mut record) = state.records.get(&used.id).filter(later).cloned() {
                record.last_used_at = Some(used.used_at);
                state.write(record)?;
            }
        }
        Ok(())
    }
}

/// A record as one line of the file, in JSON: times in microseconds since the Unix epoch.
#[derive(Serialize, Deserialize)]
struct Line {
    id: KeyId,
    organization: OrganizationId,
    name: String,
    /// `full_access`, `read_only` or `restricted(forms:read ...)`: `Access`'s text form.
    access: String,
    digest: [u8; 32],
    previous: Option<([u8; 32], i64)>,
    created_at: i64,
    expires_at: Option<i64>,
    rate_limit: Option<RateLimit>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    revision: u64,
}

fn to_line(record: &KeyRecord) -> String {
    let previous = record.previous.as_ref();
    let line = Line {
        id: record.id,
        organization: record.organization.clone(),
        name: record.name.clone(),
        access: record.access.to_string(),
        digest: *record.digest.as_bytes(),
        previous: previous
            .map(|previous| (*previous.digest.as_bytes(), to_disk(previous.valid_until))),
        created_at: to_disk(record.created_at),
        expires_at: record.expires_at.map(to_disk),
        // The defect of feature `drop_rate_limit`: the limit is not written.
        rate_limit: record
            .rate_limit
            .filter(|_| !cfg!(feature = "drop_rate_limit")),
        revoked_at: record.revoked_at.map(to_disk),
        last_used_at: record.last_used_at.map(to_disk),
        revision: record.revision,
    };
    serde_json::to_string(&line).expect("a record serializes")
}

fn from_line(line: &str) -> Result<KeyRecord> {
    let line: Line = serde_json::from_str(line).map_err(malformed)?;
    let digest = KeyDigest::from_bytes(line.digest);
    let created_at = from_disk(line.created_at);
    let access = line
        .access
        .parse::<formbox_auth::Access>()
        .map_err(|error| StoreError::Decode(format!("`access`: {error}")))?;
    let mut record = KeyRecord::new(
        line.id,
        line.organization,
        line.name,
        access,
        digest,
        created_at,
    );
    record.previous = line.previous.map(|(digest, until)| {
        let digest = KeyDigest::from_bytes(digest);
        Box::new(PreviousSecret {
            digest,
            valid_until: from_disk(until),
        })
    });
    record.expires_at = line.expires_at.map(from_disk);
    record.rate_limit = line.rate_limit;
    record.revoked_at = line.revoked_at.map(from_disk);
    record.last_used_at = line.last_used_at.map(from_disk);
    record.revision = line.revision;
    Ok(record)
}

/// Microseconds since the Unix epoch, negative before it.
fn to_disk(time: SystemTime) -> i64 {
    let micros = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_micros() as i64,
        Err(before) => -(before.duration().as_micros() as i64),
    };
    // The defect of feature `millis`: a clock of milliseconds.
    if cfg!(feature = "millis") {
        micros.div_euclid(1_000) * 1_000
    } else {
        micros
    }
}

fn from_disk(micros: i64) -> SystemTime {
    let since = Duration::from_micros(micros.unsigned_abs());
    if micros < 0 {
        UNIX_EPOCH - since
    } else {
        UNIX_EPOCH + since
    }
}

fn malformed(error: serde_json::Error) -> StoreError {
    StoreError::Decode(format!("a line of the key file is malformed: {error}"))
}
RUST
cat >"$crate/tests/my_store.rs" <<'RUST'
mod memory {
    formbox_auth::key_store_conformance!(async { formbox_auth::MemoryStore::new() });
}

mod cached {
    formbox_auth::key_store_conformance!(async {
        formbox_auth::store::CachedStore::new(formbox_auth::MemoryStore::new())
    });
}

mod file {
    use my_key_store::FileStore;

    formbox_auth::key_store_conformance!(
        with_guard: async {
            let dir = tempfile::tempdir().unwrap();
            (FileStore::open(dir.path().join("keys.jsonl")).unwrap(), dir)
        },
        reopen: |store: FileStore| async move {
            let path = store.path().to_owned();
            drop(store);
            FileStore::open(path).unwrap()
        },
    );
}
RUST
cp "$root/Cargo.lock" "$crate/Cargo.lock"
cd "$crate"
cargo test --test my_store

# Each defect must fail the file store's suite, and the failure must name the field it breaks.
for defect in millis:created_at drop_rate_limit:rate_limit; do
    feature="${defect%%:*}" field="${defect#*:}"
    log="$crate/$feature.log"
    if cargo test --test my_store --features "$feature" file:: >"$log" 2>&1; then
        cat "$log" >&2
        say "the suite passed a file store built with the defect \`$feature\`"
        exit 1
    fi
    if ! grep -q "^  $field: stored .*, read back " "$log"; then
        cat "$log" >&2
        say "the suite failed the defect \`$feature\` without naming \`$field\`"
        exit 1
    fi
    say "the defect \`$feature\` fails, naming \`$field\`, for example:"
    awk -v field="  $field: stored" \
        '/read back is not what was stored:/ { header = $0 } index($0, field) == 1 { print header; print; exit }' \
        "$log" >&2
done
