#!/usr/bin/env bash
# Revocation across many instances: benches/instances.rs against a throw-away PostgreSQL
# (scripts/postgres.sh, port $FORMBOX_PG_PORT, default 54389 here) and Redis
# (scripts/redis.sh, port $FORMBOX_REDIS_PORT, default 63797 here).
#
#   scripts/instances.sh [N] [ARGS...]     (default 100 instances; ARGS go to the harness:
#                                          --path NAME, --revocations R, --spacing-ms MS)
#
# N instances in one process, each with its own pool, cache and invalidation subscription, serve
# hot keys while keys are revoked through instance 0. Prints a markdown table per invalidation
# path (revocation delay p50/p99/max, accepts after the window, the PostgreSQL connections the
# path holds); exits non-zero if a target is missed. PostgreSQL is started with two connections
# per instance and room to spare ($FORMBOX_PG_MAX_CONNECTIONS, default 2 × N + 200), since every
# instance's pool may hold two.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

instances="${1:-100}"
[[ "$instances" =~ ^[0-9]+$ ]] || die "usage: $0 [N] [ARGS...]"
shift || true
export FORMBOX_PG_PORT="${FORMBOX_PG_PORT:-54389}"
export FORMBOX_REDIS_PORT="${FORMBOX_REDIS_PORT:-63797}"
export FORMBOX_PG_MAX_CONNECTIONS="${FORMBOX_PG_MAX_CONNECTIONS:-$((2 * instances + 200))}"

# Built before any server starts, so that they do not wait through a compile.
say "building the harness (cargo bench profile, features postgres and redis)"
cargo bench --bench instances --features postgres,redis --no-run >&2
scripts/postgres.sh run scripts/redis.sh run \
    cargo bench --bench instances --features postgres,redis -- "$instances" "$@"
