#!/usr/bin/env bash
# HTTP load on loopback: what authentication costs a request end to end, as the example server
# ships (release build, memory store, the Prometheus recorder counting, the in-process rate
# limiter on).
#
#   scripts/load.sh [SECONDS] [ROUNDS]   (default 10 seconds per route and round, 3 rounds;
#                                         2 threads, 64 connections)
#
# The server's key is read-only with a rate limit of its own, high enough never to refuse
# (1,000,000 a second), so that every request through the layer is checked against the limiter
# and answers with the RateLimit fields. Each round runs wrk on `GET /health` (no key) and
# `GET /v1/forms` (the key, hot after a warm-up) one after the other, the order alternating
# between rounds so that a drift of the machine's speed does not favour either; it prints each
# round's ratio of requests per second, authenticated over open, and their median. Fails if wrk
# saw a socket error or a response other than 200.
#
# FORMBOX_LOAD_SERVER=PATH measures that server binary instead of building this checkout (for
# a before-and-after comparison, build the other commit's example and point here).
# FORMBOX_LOAD_PORT changes the port (default 3999).
# Installs wrk from the system packages if it is missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

seconds="${1:-10}"
rounds="${2:-3}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a whole number of seconds, not $seconds"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number, not $rounds"
port="${FORMBOX_LOAD_PORT:-3999}"
url="http://127.0.0.1:${port}"

command -v wrk >/dev/null 2>&1 || install_packages wrk wrk

server="${FORMBOX_LOAD_SERVER:-}"
if [[ -z "$server" ]]; then
    say "building the example server (release)"
    cargo build -q --release --example server
    server="${CARGO_TARGET_DIR:-target}/release/examples/server"
fi
[[ -x "$server" ]] || die "no server binary at $server"

work="$(mktemp -d)"
on_exit rm -rf "$work"
start_example "$work/server.log" "$server" --store memory --limiter memory --addr "127.0.0.1:${port}"
full="$(printed_key "$work/server.log" full_access)"

# The measured key: read-only (enough for GET /v1/forms), created through the management API
# with a rate limit that the load cannot reach.
body="$(curl -s -w '\n%{http_code}' -X POST -H "api-key: $full" -H 'content-type: application/json' \
    -d '{"name":"load","permission":"read_only","rate_limit":{"requests":1000000,"per_seconds":1}}' \
    "${url}/v1/api-keys")"
[[ "$(tail -n1 <<<"$body")" == 201 ]] || fail "creating the key: $body"
key="$(sed -n 's/.*"key":"\(fbsk_[^"]*\)".*/\1/p' <<<"$body")"
[[ "$key" == fbsk_* ]] || fail "no key in the answer: $body"
headers="$(curl -s -D - -o /dev/null -H "api-key: $key" "${url}/v1/forms")"
grep -q '^HTTP/1.1 200' <<<"$headers" || fail "GET /v1/forms with the key: $headers"
grep -qi '^ratelimit:' <<<"$headers" || fail "the key's responses carry no RateLimit field: $headers"

# `measure PATH [WRK ARGS...]`: runs wrk on PATH for $seconds s and prints its requests per
# second; fails on a socket error or a response other than 2xx.
measure() {
    local path=$1 report rps errors non2xx
    shift
    report="$(wrk -t2 -c64 -d"${seconds}s" --latency "$@" "${url}${path}")"
    echo "$report" >"$work/wrk-last.txt"
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")"
    errors="$(awk '/Socket errors:/ {s=0; for (i=3; i<=NF; i+=2) s+=$(i+1)+0; print s}' <<<"$report")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$report")"
    [[ -n "$rps" ]] || { echo "$report" >&2; fail "wrk printed no requests per second for $path"; }
    [[ "${errors:-0}" == 0 ]] || { echo "$report" >&2; fail "$path: $errors socket errors"; }
    [[ "${non2xx:-0}" == 0 ]] || { echo "$report" >&2; fail "$path: $non2xx responses not 2xx"; }
    echo "$rps"
}

# Warm-up: connections, the server's allocator and caches, the key's limiter entry.
wrk -t2 -c64 -d2s "${url}/health" >/dev/null
wrk -t2 -c64 -d2s -H "api-key: $key" "${url}/v1/forms" >/dev/null

printf '%-6s %18s %24s %8s\n' round "/health req/s" "/v1/forms (key) req/s" ratio
ratios=()
for ((round = 1; round <= rounds; round++)); do
    if ((round % 2 == 1)); then
        open="$(measure /health)"
        authenticated="$(measure /v1/forms -H "api-key: $key")"
    else
        authenticated="$(measure /v1/forms -H "api-key: $key")"
        open="$(measure /health)"
    fi
    ratio="$(awk -v a="$authenticated" -v o="$open" 'BEGIN { printf "%.3f", a / o }')"
    ratios+=("$ratio")
    printf '%-6s %18s %24s %8s\n' "$round" "$open" "$authenticated" "$ratio"
done

median="$(printf '%s\n' "${ratios[@]}" | sort -n | awk '
    { v[NR] = $1 }
    END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
admitted="$(curl -s "${url}/metrics" | awk '/^formbox_auth_requests_total\{outcome="admitted"\}/ {print $2}')"
echo "authenticated / open: ${ratios[*]}; median ${median}"
echo "formbox_auth_requests_total{outcome=\"admitted\"} ${admitted:-missing}"
