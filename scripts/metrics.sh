#!/usr/bin/env bash
# The example server's Prometheus metrics, read by Prometheus's own text parser.
#
#   scripts/metrics.sh
#
# Starts the example server on port ${FORMBOX_METRICS_PORT:-3501} with a throw-away SQLite
# store (behind the example's cache, so that lookups both miss and hit), makes a known sequence
# of requests with the printed demo keys (3 admitted GET /v1/forms, 2 without a key, 1 with an
# invalid key, 1 read-only POST), then parses GET /metrics with prometheus_client
# (tests/metrics/scrape.py, in the venv of scripts/python-env.sh) and checks every count, and
# that no series names a key or an organization. Exits non-zero at the first mismatch.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

port="${FORMBOX_METRICS_PORT:-3501}"
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
on_exit rm -rf "$work"

say "preparing the Python environment"
bin="$(scripts/python-env.sh)"

say "building the example server"
cargo build -q --example server

say "starting the example server on port $port"
start_example "$work/server.log" target/debug/examples/server \
    --addr "127.0.0.1:$port" --store "sqlite:$work/keys.db"
full="$(printed_key "$work/server.log" full_access)"
read_only="$(printed_key "$work/server.log" read_only)"

say "requests, then GET /metrics through prometheus_client's parser"
"$bin/python" tests/metrics/scrape.py "$base" "$full" "$read_only" || fail "see above"

say "passed"
