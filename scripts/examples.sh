#!/usr/bin/env bash
# The example binaries as their users run them:
#   - `--help` on every example exits with 0 and lists each of its flags;
#   - `keys ensure` gives an organization its first key in the server's own store, once;
#   - `keys create --permission restricted --scope forms:read` makes a key the server lets read
#     forms and refuses the rest with `403 insufficient_scope`, `keys update --scope` changes
#     its scopes; an undeclared or malformed scope is refused by the command line;
#   - the server's key cap (`--max-keys`) answers 409 too_many_api_keys;
#   - a key revoked by `keys --invalidation redis:URL` stops working at once on a server whose
#     cache listens on that Redis (`--invalidation redis:URL`, a throw-away server from
#     scripts/redis.sh on port $FORMBOX_REDIS_PORT, default 63797 here), long before its cache's
#     time to live; a refused `--invalidation` exits with 2;
#   - the server closes a connection that sends half a request head, and an idle keep-alive
#     one, after its header timeout (the default 10 s, and `--header-timeout`).
#
#   scripts/examples.sh        (ports $FORMBOX_EXAMPLES_PORT, default 3701, and the next two)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
port="${FORMBOX_EXAMPLES_PORT:-3701}"
bin="${CARGO_TARGET_DIR:-target}/debug/examples"
work="$(mktemp -d)"
on_exit rm -rf "$work"

cargo build -q --examples

say "--help"
# `help_lists EXAMPLE FLAG...`: EXAMPLE --help exits with 0 and names every FLAG.
help_lists() {
    local example=$1 flag
    shift
    "$bin/$example" --help >"$work/help" || fail "$example --help exited with $?"
    for flag in "$@" help; do
        grep -qE -- "^ *(-h, )?--$flag( |$)" "$work/help" \
            || fail "$example --help does not list --$flag: $(cat "$work/help")"
    done
}
help_lists server addr store invalidation limiter scanning-keys max-keys header-timeout idle-timeout
help_lists hyper addr header-timeout idle-timeout
help_lists grpc addr store rate-limit
help_lists keys store invalidation org name permission scope expires-at rate-limit limit cursor all id grace
for command in create ensure list update revoke regenerate revoke-leaked; do
    grep -q "^$command" "$work/help" || fail "keys --help does not describe $command"
done
"$bin/server" --no-such-flag >/dev/null 2>&1 && fail "server took an unknown flag"
# `refused_invalidation ERROR ARGS...`: the server exits with 2 before serving, saying ERROR.
refused_invalidation() {
    local error=$1 status=0
    shift
    "$bin/server" --addr "127.0.0.1:$((port + 2))" "$@" >/dev/null 2>"$work/error" || status=$?
    ((status == 2)) || fail "server $* exited with $status"
    grep -qF -- "$error" "$work/error" || fail "server $*: $(cat "$work/error")"
}
refused_invalidation "unknown --invalidation" --store memory --invalidation nats:localhost
refused_invalidation "needs a postgres:URL store" --store "sqlite:$work/refused.db" --invalidation postgres
refused_invalidation "a memory store is this process's own" --store memory \
    --invalidation redis:redis://127.0.0.1:1
refused_invalidation "--invalidation redis:URL:" --store "sqlite:$work/refused.db" \
    --invalidation "redis:redis://user:s3cret@[::1"
grep -q s3cret "$work/error" && fail "the refused URL's password was printed: $(cat "$work/error")"

say "keys ensure, in the server's store"
store="sqlite:$work/keys.db"
start_example "$work/server.log" "$bin/server" --addr "127.0.0.1:$port" --store "$store"
"$bin/keys" --store "$store" ensure --org org_acme --name bootstrap --permission full_access \
    >"$work/first" || fail "keys ensure exited with $?"
id="$(sed -n 's/^created: //p' "$work/first")"
key="$(sed -n 's/^key (shown once): //p' "$work/first")"
[[ -n "$id" && "$key" == fbsk_"$id"_* ]] || fail "keys ensure created no key: $(cat "$work/first")"
me="$(curl -s --max-time 10 -H "api-key: $key" "http://127.0.0.1:$port/v1/me")"
grep -q '"organization":"org_acme"' <<<"$me" || fail "the ensured key does not work: $me"
"$bin/keys" --store "$store" ensure --org org_acme --name " Bootstrap" --permission full_access \
    >"$work/second" || fail "keys ensure of an existing key exited with $?"
[[ "$(head -n 1 "$work/second")" == "exists: $id" ]] || fail "not the existing key: $(cat "$work/second")"
grep -q '^key' "$work/second" && fail "an existing key was printed: $(cat "$work/second")"
"$bin/keys" --store "$store" ensure --org org_acme --name bootstrap --permission read_only \
    >/dev/null 2>&1 && fail "a read_only key took the full_access key's name"

say "keys create --permission restricted, in the server's store"
"$bin/keys" --store "$store" create --org org_acme --name "forms reader" --permission restricted \
    --scope forms:read >"$work/restricted" || fail "keys create --scope exited with $?"
grep -q ' restricted(forms:read) ' "$work/restricted" || fail "not restricted: $(cat "$work/restricted")"
reader="$(sed -n 's/^key (shown once): //p' "$work/restricted")"
# `call METHOD PATH KEY`: the status of the request to the server, the body in $work/body.
call() {
    curl -s -o "$work/body" -w '%{http_code}' --max-time 10 -X "$1" -H "api-key: $3" \
        -H 'content-type: application/json' -d '{"name":"Contact"}' "http://127.0.0.1:$port$2"
}
[[ "$(call GET /v1/forms "$reader")" == 200 ]] || fail "the forms:read key cannot read forms: $(cat "$work/body")"
# `refused METHOD PATH SCOPE`: the forms:read key is refused, told it lacks SCOPE.
refused() {
    [[ "$(call "$1" "$2" "$reader")" == 403 ]] || fail "$1 $2 was not refused: $(cat "$work/body")"
    grep -q "\"code\":\"insufficient_scope\".*\"required_scope\":\"$3\"" "$work/body" \
        || fail "$1 $2 does not name $3: $(cat "$work/body")"
}
refused POST /v1/forms forms:write
refused GET /v1/submissions submissions:read
refused GET /v1/api-keys api_keys:write
# The key's id is its second part: fbsk_<id>_<secret>.
reader_id="$(cut -d_ -f2 <<<"$reader")"
"$bin/keys" --store "$store" update --org org_acme --id "$reader_id" --permission restricted \
    --scope forms:write --scope submissions:read >"$work/updated" \
    || fail "keys update --scope exited with $?"
grep -q ' restricted(forms:write submissions:read) ' "$work/updated" \
    || fail "keys update did not change the scopes: $(cat "$work/updated")"
# `refused_scope ERROR FLAG...`: keys create with FLAGs exits with 2 and says ERROR.
refused_scope() {
    local error=$1 status=0
    shift
    "$bin/keys" --store "$store" create --org org_acme --name refused "$@" \
        >/dev/null 2>"$work/error" || status=$?
    ((status == 2)) || fail "keys create $* exited with $status"
    grep -qF -- "$error" "$work/error" || fail "keys create $*: $(cat "$work/error")"
}
refused_scope "--scope billing:read: \`billing\` is not a resource this service declares" \
    --permission restricted --scope billing:read
refused_scope "--scope forms: \`forms\` is not a scope" --permission restricted --scope forms
refused_scope "needs at least one --scope" --permission restricted
refused_scope "--scope is for --permission restricted" --permission read_only --scope forms:read

say "--max-keys"
start_example "$work/capped.log" "$bin/server" --addr "127.0.0.1:$((port + 1))" --store memory \
    --max-keys 3 --header-timeout 2
full="$(printed_key "$work/capped.log" full_access)"
# `create NAME`: the status of POST /v1/api-keys, the body in $work/body.
create() {
    curl -s -o "$work/body" -w '%{http_code}' --max-time 10 -X POST -H "api-key: $full" \
        -d "{\"name\":\"$1\",\"permission\":\"read_only\"}" "http://127.0.0.1:$((port + 1))/v1/api-keys"
}
[[ "$(create third)" == 201 ]] || fail "the third key was refused: $(cat "$work/body")"
[[ "$(create fourth)" == 409 ]] || fail "the fourth key was not refused: $(cat "$work/body")"
grep -q '"code":"too_many_api_keys"' "$work/body" || fail "$(cat "$work/body")"

say "--invalidation redis:URL: keys revoke, heard by a server at once"
export FORMBOX_REDIS_PORT="${FORMBOX_REDIS_PORT:-63797}"
on_exit quietly scripts/redis.sh stop
eval "$(scripts/redis.sh start 2>/dev/null)"
shared="sqlite:$work/shared.db"
announced=(--store "$shared" --invalidation "redis:$FORMBOX_TEST_REDIS_URL")
start_example "$work/announced.log" "$bin/server" --addr "127.0.0.1:$((port + 2))" "${announced[@]}"
"$bin/keys" "${announced[@]}" create --org org_acme --name announced --permission read_only \
    >"$work/announced" || fail "keys create --invalidation exited with $?"
announced_key="$(sed -n 's/^key (shown once): //p' "$work/announced")"
# `me_status`: the status of GET /v1/me with the key on that server, the body in $work/body.
me_status() {
    curl -s -o "$work/body" -w '%{http_code}' --max-time 10 -H "api-key: $announced_key" \
        "http://127.0.0.1:$((port + 2))/v1/me"
}
# Twice: the second answer comes from the server's cache, which keeps a key for 30 s.
for _ in 1 2; do
    [[ "$(me_status)" == 200 ]] || fail "the new key does not work: $(cat "$work/body")"
done
"$bin/keys" "${announced[@]}" revoke --org org_acme --id "$(cut -d_ -f2 <<<"$announced_key")" \
    >/dev/null || fail "keys revoke --invalidation exited with $?"
# Within a second, where the cache's time to live alone would take 30 s.
for _ in $(seq 10); do
    revoked_status="$(me_status)"
    [[ "$revoked_status" == 401 ]] && break
    sleep 0.1
done
[[ "$revoked_status" == 401 ]] && grep -q '"code":"revoked_api_key"' "$work/body" \
    || fail "the server still took the revoked key ($revoked_status): $(cat "$work/body")"

say "timeouts (about 10 s)"
# `closed_after PORT BYTES`: sends BYTES (a printf format) and prints the seconds until the
# server closed the connection (at most 60).
closed_after() {
    local fd start
    exec {fd}<>"/dev/tcp/127.0.0.1/$1"
    start=$(date +%s.%N)
    printf "$2" >&"$fd"
    timeout 60 cat <&"$fd" >/dev/null || true
    exec {fd}<&-
    awk -v start="$start" -v end="$(date +%s.%N)" 'BEGIN { printf "%.2f", end - start }'
}
# `expect_close WHAT FILE LOW HIGH`: FILE's seconds are within LOW..HIGH.
expect_close() {
    local seconds
    seconds="$(cat "$2")"
    awk -v s="$seconds" -v low="$3" -v high="$4" 'BEGIN { exit !(s >= low && s <= high) }' \
        || fail "$1: closed after $seconds s, not within $3..$4 s"
    say "$1: closed after $seconds s"
}
clients=()
closed_after "$port" 'GET /health HTTP/1.1\r\nHost: x\r\n' >"$work/partial" &
clients+=($!)
closed_after "$port" 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >"$work/idle" &
clients+=($!)
closed_after "$((port + 1))" 'GET /health HTTP/1.1\r\nHost: x\r\n' >"$work/flag" &
clients+=($!)
wait "${clients[@]}"   # not the servers, which run until exit
expect_close "half a request head (default header timeout, 10 s)" "$work/partial" 9.9 12
expect_close "an idle keep-alive connection (default, 10 s)" "$work/idle" 9.9 12
expect_close "half a request head (--header-timeout 2)" "$work/flag" 1.9 4
say "ok"
