#!/usr/bin/env bash
# HTTP load on loopback: the example server (release build, memory store) under wrk, for an
# unauthenticated route and an authenticated one, in the same run.
#
#   scripts/load.sh [SECONDS]     (default 10 seconds per route; 2 threads, 64 connections)
#
# Installs wrk from the system packages if it is missing. Prints requests per second of each
# route, their ratio, and the errors and non-2xx responses wrk counted.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_ROUTE="${1:-10}"
PORT="${FORMBOX_LOAD_PORT:-3999}"
URL="http://127.0.0.1:${PORT}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "load.sh: installing wrk" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2 \
        || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
fi

cargo build --release --example server >&2
out="$(mktemp)"
./target/release/examples/server --store memory --addr "127.0.0.1:${PORT}" >"$out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
    grep -q '^listening on' "$out" && break
    sleep 0.1
done
key="$(awk '/^read_only key:/ {print $3}' "$out")"
[[ -n "$key" ]] || { cat "$out" >&2; echo "load.sh: the server printed no key" >&2; exit 1; }

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
