#!/usr/bin/env bash
# The whole test suite: every feature, the PostgreSQL tests against a throw-away server that
# scripts/postgres.sh installs (if needed), starts and stops, and the Redis tests against one
# that scripts/redis.sh does the same for. Extra arguments go to `cargo test`.
#
#   scripts/test.sh
#   scripts/test.sh --test it lifecycle
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/postgres.sh run scripts/redis.sh run cargo test --all-features "$@"
