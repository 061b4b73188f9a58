#!/usr/bin/env bash
# The whole test suite: every feature, the PostgreSQL tests against a throw-away server that
# scripts/postgres.sh installs (if needed), starts and stops. Extra arguments go to `cargo test`.
#
#   scripts/test.sh
#   scripts/test.sh --test lifecycle
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/postgres.sh run cargo test --all-features "$@"
