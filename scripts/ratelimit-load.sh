#!/usr/bin/env bash
# Per-key rate limits under HTTP load, as an operator would see them.
#
#   scripts/ratelimit-load.sh [REQUESTS]     (default 200: the key's limit per 10 s)
#
# Two instances of the example server (release build) share a SQLite file and a throw-away Redis
# (scripts/redis.sh, on port $FORMBOX_REDIS_PORT, default 63798 here) with `--limiter redis:URL`.
# First a key limited to 5 a minute must get five 200s spread over both instances, then 429
# rate_limited with Retry-After, while another key still gets 200. Then a key limited to REQUESTS per 10 s is created through the management API, and wrk hammers
# `GET /v1/forms` with it on both instances at once for 10 s. GCRA lets a key spend its whole
# budget at once and then REQUESTS per 10 s, so the two together must admit at least REQUESTS
# (the limit is not stricter than asked) and at most REQUESTS + 1.05 × REQUESTS (the burst, and
# 10 s of refill with 5 % to spare; the 10 s are the run as wrk measured it, so a run a few
# milliseconds longer is not a failure). Then one instance is restarted with `--limiter memory`,
# alone under wrk with a fresh key, and must admit REQUESTS to 2 × REQUESTS (exact: one process,
# one clock).
# Installs wrk from the system packages if it is missing. Prints the counts; exits non-zero if a
# bound is not met.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

limit="${1:-200}"
duration=10
window=10
export FORMBOX_REDIS_PORT="${FORMBOX_REDIS_PORT:-63798}"
port_a=3201
port_b=3202
work="$(mktemp -d)"
on_exit rm -rf "$work"

command -v wrk >/dev/null 2>&1 || install_packages wrk wrk

# Counts the responses by status in every wrk thread and prints the totals as one line:
# "statuses <200> <429> <other>".
cat >"$work/count.lua" <<'LUA'
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    admitted, limited, other = 0, 0, 0
end

function response(status, headers, body)
    if status == 200 then
        admitted = admitted + 1
    elseif status == 429 then
        limited = limited + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local a, l, o = 0, 0, 0
    for _, thread in ipairs(threads) do
        a = a + thread:get("admitted")
        l = l + thread:get("limited")
        o = o + thread:get("other")
    end
    io.write(string.format("statuses %d %d %d\n", a, l, o))
end
LUA

# `start_server PORT LOG LIMITER`: starts an instance on the shared SQLite file.
start_server() {
    local port=$1 log=$2 limiter=$3
    start_example "$log" target/release/examples/server --addr "127.0.0.1:$port" \
        --store "sqlite:$work/keys.db" --limiter "$limiter"
}

# `create_key PORT NAME`: prints a new read-only key limited to $limit per $window s.
create_key() {
    local port=$1 name=$2 body status
    body="$(curl -s -w '\n%{http_code}' -X POST -H "api-key: $full" -H 'content-type: application/json' \
        -d '{"name":"'"$name"'","permission":"read_only","rate_limit":{"requests":'"$limit"',"per_seconds":'"$window"'}}' \
        "http://127.0.0.1:$port/v1/api-keys")"
    status="$(tail -n1 <<<"$body")"
    [[ "$status" == 201 ]] || fail "creating a key: $body"
    sed -n 's/.*"key":"\(fbsk_[^"]*\)".*/\1/p' <<<"$body"
}

# `load KEY PORT...`: runs wrk on every port at once for $duration s; sets ADMITTED, LIMITED,
# OTHER and TOTAL, summed over the ports, and SPAN, the longest run wrk measured (seconds).
load() {
    local key=$1 port
    shift
    local outputs=()
    for port in "$@"; do
        wrk -t1 -c32 -d"${duration}s" -s "$work/count.lua" -H "api-key: $key" \
            "http://127.0.0.1:$port/v1/forms" >"$work/wrk-$port.txt" 2>&1 &
        outputs+=("$work/wrk-$port.txt")
    done
    wait_for_wrk
    ADMITTED=0 LIMITED=0 OTHER=0 SPAN=0
    local output a l o span
    for output in "${outputs[@]}"; do
        read -r _ a l o < <(grep '^statuses ' "$output") || { cat "$output"; fail "wrk printed no counts"; }
        if grep -q 'Socket errors' "$output"; then say "wrk: $(grep 'Socket errors' "$output")"; fi
        ADMITTED=$((ADMITTED + a)) LIMITED=$((LIMITED + l)) OTHER=$((OTHER + o))
        # "  397969 requests in 10.00s, 71.92MB read"
        span="$(awk '/ requests in / { sub(/s,$/, "", $4); print $4 }' "$output")"
        SPAN="$(awk -v a="$SPAN" -v b="${span:-$duration}" 'BEGIN { print (a > b ? a : b) }')"
    done
    TOTAL=$((ADMITTED + LIMITED + OTHER))
}

# Waits for the background wrk runs (not the servers).
wait_for_wrk() {
    local job
    for job in $(jobs -p); do
        [[ " ${example_pids[*]} " == *" $job "* ]] || wait "$job"
    done
}

# `most SLACK`: the most GCRA admits in a run of $SPAN s (printed to 10 ms, hence 5 ms more):
# the burst, and one request per interval, with the refill part SLACK times larger.
most() {
    awk -v n="$limit" -v w="$window" -v d="$SPAN" -v slack="$1" \
        'BEGIN { printf "%d\n", n + int(slack * n * (d + 0.005) / w) }'
}

# `check NAME LOW HIGH`: prints the counts and fails unless LOW <= ADMITTED <= HIGH and every
# response was 200 or 429.
check() {
    local name=$1 low=$2 high=$3
    say "$name: admitted $ADMITTED of $TOTAL requests in ${SPAN} s ($LIMITED refused with 429, $OTHER other); bounds $low to $high"
    ((OTHER == 0)) || fail "$name: $OTHER responses were neither 200 nor 429"
    ((ADMITTED >= low)) || fail "$name: admitted fewer than the limit allows ($ADMITTED < $low)"
    ((ADMITTED <= high)) || fail "$name: admitted more than the limit allows ($ADMITTED > $high)"
}

say "building the example server (release)"
cargo build -q --release --example server
on_exit quietly scripts/redis.sh stop
eval "$(scripts/redis.sh start 2>/dev/null)"
redis="$FORMBOX_TEST_REDIS_URL"

start_server "$port_a" "$work/a.log" "redis:$redis"
start_server "$port_b" "$work/b.log" "redis:$redis"
full="$(printed_key "$work/a.log" full_access)"

# The documented case first: a key limited to 5 a minute gets five 200s, spread over both
# instances, then 429 rate_limited with Retry-After; another key is unaffected.
few="$(limit=5 window=60 create_key "$port_a" "five a minute")"
for port in "$port_a" "$port_b" "$port_a" "$port_b" "$port_a"; do
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "api-key: $few" "http://127.0.0.1:$port/v1/forms")"
    [[ "$status" == 200 ]] || fail "one of the five requests on port $port answered $status"
done
answer="$(curl -s -i -H "api-key: $few" "http://127.0.0.1:$port_b/v1/forms")"
grep -q '^HTTP/1.1 429' <<<"$answer" || fail "the sixth request was not refused: $answer"
grep -q '"code":"rate_limited"' <<<"$answer" || fail "the sixth request's body: $answer"
retry="$(sed -n 's/^retry-after: \([0-9]*\).*/\1/ip' <<<"$answer")"
[[ -n "$retry" ]] || fail "the sixth request had no Retry-After: $answer"
status="$(curl -s -o /dev/null -w '%{http_code}' -H "api-key: $full" "http://127.0.0.1:$port_b/v1/forms")"
[[ "$status" == 200 ]] || fail "another key answered $status"
say "5 per 60 s, shared by two instances: five 200s (A, B, A, B, A), the sixth 429 rate_limited with Retry-After: ${retry}; another key 200"

key="$(create_key "$port_a" "shared limit")"
load "$key" "$port_a" "$port_b"
# Two instances, two clocks: 5 % to spare on the refill.
check "redis, two instances" "$limit" "$(most 1.05)"

say "restarting instance B with --limiter memory"
kill "${example_pids[1]}"
wait "${example_pids[1]}" 2>/dev/null || true
start_server "$port_b" "$work/b-memory.log" memory
key="$(create_key "$port_b" "local limit")"
load "$key" "$port_b"
check "memory, one instance" "$limit" "$(most 1)"
say "passed"
