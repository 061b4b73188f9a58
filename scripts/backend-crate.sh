#!/usr/bin/env bash
# Builds a crate outside this repository that depends on formbox-auth by path, as a backend
# author's crate would, and runs the public conformance suite from it against MemoryStore and
# CachedStore<MemoryStore>. It shares this repository's target directory, so it rebuilds little.
#
#   scripts/backend-crate.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
crate="$(mktemp -d)"
trap 'rm -rf "$crate"' EXIT

mkdir -p "$crate/src" "$crate/tests"
cat >"$crate/Cargo.toml" <<TOML
[package]
name = "my-key-store"
version = "0.1.0"
edition = "2024"
publish = false

[workspace]

[dev-dependencies]
formbox-auth = { path = "$root", features = ["testing"] }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
TOML
echo '//! A key store backend.' >"$crate/src/lib.rs"
cat >"$crate/tests/my_store.rs" <<'RUST'
mod memory {
    formbox_auth::key_store_conformance!(async { formbox_auth::MemoryStore::new() });
}

mod cached {
    formbox_auth::key_store_conformance!(async {
        formbox_auth::CachedStore::new(formbox_auth::MemoryStore::new())
    });
}
RUST
cp "$root/Cargo.lock" "$crate/Cargo.lock"
cd "$crate"
CARGO_TARGET_DIR="$root/target" cargo test --test my_store
