#!/usr/bin/env bash
# The gRPC example end to end, called by a client this repository did not write: Python's grpcio.
#
#   scripts/grpc.sh
#
# Starts `cargo run --example grpc` on port $FORMBOX_GRPC_PORT (default 50151) with its keys in a
# throw-away PostgreSQL (scripts/postgres.sh, port $FORMBOX_PG_PORT, default 54379 here) and a rate
# limit of 5 calls a minute per key, reads the demo keys it prints, and runs tests/grpc/client.py
# (stubs generated from the .proto at run time) to check each status a client can get:
#   1. ListForms with the read_only key is OK; CreateForm with it is PERMISSION_DENIED naming
#      full_access; with the full_access key it is OK; no key, a garbage key and a key with a
#      typo are UNAUTHENTICATED; two api-key entries are INVALID_ARGUMENT; health is SERVING
#      without a key;
#   1b. keys that `cargo run --example keys` restricts in the same store: one holding forms:read
#      lists forms and gets PERMISSION_DENIED naming forms:write for CreateForm; one holding only
#      submissions:read gets PERMISSION_DENIED naming forms:read for ListForms;
#   2. the read_only key, past its 5 calls, is RESOURCE_EXHAUSTED with a `retry-after` entry;
#   3. with PostgreSQL stopped, a well-formed key the server has not cached is UNAVAILABLE
#      within 5 s;
# and once PostgreSQL is back, such a key is UNAUTHENTICATED again: the store answers;
#   4. SIGTERM stops the server, with exit status 0.
# Prints each check; exits non-zero at the first that fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

export FORMBOX_PG_PORT="${FORMBOX_PG_PORT:-54379}"
port="${FORMBOX_GRPC_PORT:-50151}"
addr="127.0.0.1:$port"
limit=5
work="$(mktemp -d)"
on_exit rm -rf "$work"

bin="$(scripts/python-env.sh)"
client() { "$bin/python" tests/grpc/client.py "$addr" "$@"; }

bin_dir="${CARGO_TARGET_DIR:-target}/debug/examples"

say "building the gRPC and keys examples with PostgreSQL support"
cargo build -q --example grpc --example keys --features postgres
on_exit quietly scripts/postgres.sh stop
eval "$(scripts/postgres.sh start)"

say "starting the gRPC example on $addr, $limit calls a minute per key"
start_example "$work/server.log" "$bin_dir/grpc" \
    --addr "$addr" --store "postgres:$FORMBOX_TEST_POSTGRES_URL" --rate-limit "$limit/60"
full="$(printed_key "$work/server.log" full_access)"
read_only="$(printed_key "$work/server.log" read_only)"

say "1. permissions and keys"
client calls --full "$full" --read-only "$read_only" || fail "the calls"

say "1b. restricted keys"
# `restricted SCOPE`: prints a new key of the demo organization holding only SCOPE, made by the
# command line in the server's store.
restricted() {
    "$bin_dir/keys" --store "postgres:$FORMBOX_TEST_POSTGRES_URL" create --org org_demo \
        --name "$1 only" --permission restricted --scope "$1" >"$work/restricted" || return
    sed -n 's/^key (shown once): //p' "$work/restricted"
}
forms_read="$(restricted forms:read)" || fail "keys create --scope forms:read exited with $?"
submissions_read="$(restricted submissions:read)" || fail "keys create --scope submissions:read exited with $?"
client scopes --forms-read "$forms_read" --submissions-read "$submissions_read" || fail "the scopes"

say "2. the rate limit"
# The read_only key spent 2 of its calls in step 1 (refused calls spend none): at most 3 more pass.
client rate-limit --key "$read_only" --limit "$limit" || fail "the rate limit"

say "3. the key store down"
scripts/postgres.sh halt 2>/dev/null
client unavailable --within 5 || fail "the outage"
scripts/postgres.sh resume 2>/dev/null

# The pool reconnects on demand: give it the time PostgreSQL takes to accept connections.
resumed=$SECONDS
until client unknown >"$work/after.log" 2>&1; do
    ((SECONDS - resumed < 30)) || { cat "$work/after.log"; fail "the store still fails 30 s after PostgreSQL came back"; }
    sleep 0.2
done
say "after the outage: the store answers again ($(tail -n1 "$work/after.log"))"
say "4. SIGTERM stops the server gracefully"
kill -TERM "${example_pids[0]}"
status=0
wait "${example_pids[0]}" || status=$?
((status == 0)) || { cat "$work/server.log"; fail "the server exited with status $status on SIGTERM"; }
say "   exited with status 0"
say "passed"
