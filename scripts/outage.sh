#!/usr/bin/env bash
# A real database outage under the example server, as an operator would see it.
#
#   scripts/outage.sh [SECONDS]     (default 10)
#
# Two instances of the example server share a throw-away PostgreSQL (scripts/postgres.sh, on
# port $FORMBOX_PG_PORT, default 54369 here). With default settings, the script stops PostgreSQL
# as `pg_ctl stop -m fast` does for SECONDS and checks, against instance A:
#   - a hot key (used just before) keeps answering 200 for the whole outage;
#   - a cold key (created through B, never used on A) answers 503 within 2.5 s;
#   - creating a key answers 503 key_store_unavailable within 2.5 s;
# and once PostgreSQL is back:
#   - a key created on A works;
#   - a revocation through B is seen on A within 1 s.
# It prints each time it measured, and exits non-zero if any check fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
outage="${1:-10}"
export FORMBOX_PG_PORT="${FORMBOX_PG_PORT:-54369}"
port_a=3101
port_b=3102
work="$(mktemp -d)"
on_exit rm -rf "$work"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# `request METHOD PORT PATH KEY [BODY]`: prints the status and the body, one line each.
request() {
    local method=$1 port=$2 path=$3 key=$4 body=${5:-}
    local args=(-s -o "$work/body" -w '%{http_code}' -X "$method" -H "api-key: $key" --max-time 30)
    [[ -n "$body" ]] && args+=(-H 'content-type: application/json' -d "$body")
    curl "${args[@]}" "http://127.0.0.1:$port$path" || echo 000
    echo
    cat "$work/body" 2>/dev/null || true
    echo
}

# `timed METHOD PORT PATH KEY [BODY]`: sets STATUS, BODY and TOOK (milliseconds).
timed() {
    local start out
    start=$(now_ms)
    out="$(request "$@")"
    TOOK=$(($(now_ms) - start))
    STATUS="$(head -n1 <<<"$out")"
    BODY="$(sed -n 2p <<<"$out")"
}

start_server() {
    local port=$1 log=$2
    start_example "$log" target/debug/examples/server --addr "127.0.0.1:$port" --store "postgres:$url"
}

say "building the example server with PostgreSQL support"
cargo build -q --example server --features postgres
on_exit quietly scripts/postgres.sh stop
eval "$(scripts/postgres.sh start)"
url="$FORMBOX_TEST_POSTGRES_URL"

start_server "$port_a" "$work/a.log"
start_server "$port_b" "$work/b.log"
full="$(printed_key "$work/a.log" full_access)"
hot="$(printed_key "$work/a.log" read_only)"

timed POST "$port_b" /v1/api-keys "$full" '{"name":"cold","permission":"read_only"}'
[[ "$STATUS" == 201 ]] || fail "creating the cold key: $STATUS $BODY"
cold="$(sed -n 's/.*"key":"\(fbsk_[^"]*\)".*/\1/p' <<<"$BODY")"
[[ -n "$cold" ]] || fail "no key in $BODY"
for key in "$hot" "$full"; do
    timed GET "$port_a" /v1/forms "$key"
    [[ "$STATUS" == 200 ]] || fail "before the outage: $STATUS $BODY"
done

say "stopping PostgreSQL for ${outage} s"
scripts/postgres.sh halt 2>/dev/null
stopped=$(now_ms)
hot_ok=0 hot_slowest=0 cold_slowest=0 write_slowest=0 checks=0
while (($(now_ms) - stopped < outage * 1000)); do
    timed GET "$port_a" /v1/forms "$hot"
    [[ "$STATUS" == 200 ]] || fail "the hot key got $STATUS $BODY during the outage"
    hot_ok=$((hot_ok + 1)); ((TOOK > hot_slowest)) && hot_slowest=$TOOK
    if ((checks % 10 == 0)); then
        timed GET "$port_a" /v1/forms "$cold"
        [[ "$STATUS" == 503 && "$BODY" == *key_store_unavailable* ]] || fail "the cold key got $STATUS $BODY"
        ((TOOK <= 2500)) || fail "the cold key's 503 took ${TOOK} ms"
        ((TOOK > cold_slowest)) && cold_slowest=$TOOK
        # Names are unique per organization: each attempt has its own.
        timed POST "$port_a" /v1/api-keys "$full" '{"name":"during '"$checks"'","permission":"read_only"}'
        [[ "$STATUS" == 503 && "$BODY" == *key_store_unavailable* ]] || fail "a create got $STATUS $BODY"
        ((TOOK <= 2500)) || fail "the create's 503 took ${TOOK} ms"
        ((TOOK > write_slowest)) && write_slowest=$TOOK
    fi
    checks=$((checks + 1))
    sleep 0.2
done
say "during the outage: the hot key answered 200 ${hot_ok} times (slowest ${hot_slowest} ms); the cold key 503 in ${cold_slowest} ms at most; a create 503 in ${write_slowest} ms at most"

scripts/postgres.sh resume 2>/dev/null
resumed=$(now_ms)
attempt=0
while :; do
    attempt=$((attempt + 1))
    timed POST "$port_a" /v1/api-keys "$full" '{"name":"after '"$attempt"'","permission":"read_only"}'
    [[ "$STATUS" == 201 ]] && break
    (($(now_ms) - resumed < 30000)) || fail "no key could be created 30 s after PostgreSQL came back: $STATUS $BODY"
    sleep 0.1
done
fresh="$(sed -n 's/.*"key":"\(fbsk_[^"]*\)".*/\1/p' <<<"$BODY")"
timed GET "$port_a" /v1/forms "$fresh"
[[ "$STATUS" == 200 ]] || fail "the key created after the outage got $STATUS $BODY"
say "after the outage: a new key was created and worked $(($(now_ms) - resumed)) ms after PostgreSQL was back"

hot_id="$(cut -d_ -f2 <<<"$hot")"
timed DELETE "$port_b" "/v1/api-keys/$hot_id" "$full"
[[ "$STATUS" == 200 ]] || fail "revoking through B: $STATUS $BODY"
revoked=$(now_ms)
while :; do
    timed GET "$port_a" /v1/forms "$hot"
    [[ "$STATUS" == 401 && "$BODY" == *revoked_api_key* ]] && break
    [[ "$STATUS" == 200 ]] || fail "the revoked key got $STATUS $BODY"
    (($(now_ms) - revoked <= 1000)) || fail "A still accepted the key revoked through B after 1 s"
    sleep 0.02
done
say "a revocation through B was seen on A after $(($(now_ms) - revoked)) ms"
say "passed"
