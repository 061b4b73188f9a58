#!/usr/bin/env bash
# HTTP load on loopback: the example server (release build, memory store) under wrk, for an
# unauthenticated route and an authenticated one, in the same run.
#
#   scripts/load.sh [SECONDS]     (default 10 seconds per route; 2 threads, 64 connections)
#
# Installs wrk from the system packages if it is missing. Prints requests per second of each
# route, their ratio, and the errors and non-2xx responses wrk counted.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

SECONDS_PER_ROUTE="${1:-10}"
PORT="${FORMBOX_LOAD_PORT:-3999}"
URL="http://127.0.0.1:${PORT}"

command -v wrk >/dev/null 2>&1 || install_packages wrk wrk

cargo build --release --example server >&2
out="$(mktemp)"
on_exit rm -f "$out"
start_example "$out" ./target/release/examples/server --store memory --addr "127.0.0.1:${PORT}"
key="$(printed_key "$out" read_only)"

# Prints "<requests per second> <socket errors> <non-2xx>" of one wrk run.
measure() {
    local report
    report="$(wrk -t2 -c64 -d"${SECONDS_PER_ROUTE}s" --latency "$@")"
    echo "$report" >&2
    local rps errors non2xx
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")"
    errors="$(awk '/Socket errors:/ {s=0; for (i=3; i<=NF; i+=2) s+=$(i+1)+0; print s}' <<<"$report")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$report")"
    echo "${rps} ${errors:-0} ${non2xx:-0}"
}

read -r health_rps health_errors health_bad < <(measure "${URL}/health")
read -r auth_rps auth_errors auth_bad < <(measure -H "api-key: ${key}" "${URL}/v1/forms")

echo
printf '%-28s %12s %8s %8s\n' route requests/s errors non-2xx
printf '%-28s %12s %8s %8s\n' "GET /health (no key)" "$health_rps" "$health_errors" "$health_bad"
printf '%-28s %12s %8s %8s\n' "GET /v1/forms (read-only key)" "$auth_rps" "$auth_errors" "$auth_bad"
awk -v a="$auth_rps" -v h="$health_rps" 'BEGIN { printf "authenticated / unauthenticated = %.3f\n", a / h }'
