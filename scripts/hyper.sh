#!/usr/bin/env bash
# The plain hyper example (`cargo run --example hyper`) as a client sees it, over HTTP/1.1 and
# HTTP/2: the read-only key reads, cannot write, and no key is 401.
#
#   scripts/hyper.sh        (port $FORMBOX_HYPER_PORT, default 3601)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
port="${FORMBOX_HYPER_PORT:-3601}"
work="$(mktemp -d)"
on_exit rm -rf "$work"

cargo build --quiet --example hyper
start_example "$work/out" target/debug/examples/hyper --addr "127.0.0.1:$port"
read_only="$(printed_key "$work/out" read_only)"

# `expect STATUS CURL_ARGS...`: the status, and the body in $work/body.
expect() {
    local want=$1; shift
    local got
    got="$(curl -s -o "$work/body" -w '%{http_code}' --max-time 10 "$@" "http://127.0.0.1:$port/v1/me")"
    [[ "$got" == "$want" ]] || fail "curl $* answered $got, not $want: $(cat "$work/body")"
}

for version in --http1.1 --http2-prior-knowledge; do
    expect 200 "$version" -H "api-key: $read_only"
    grep -q '"organization":"org_demo"' "$work/body" || fail "$version: $(cat "$work/body")"
    grep -q '"permission":"read_only"' "$work/body" || fail "$version: $(cat "$work/body")"
    expect 403 "$version" -X POST -H "api-key: $read_only"
    grep -q '"required_permission":"full_access"' "$work/body" || fail "$version: $(cat "$work/body")"
    expect 401 "$version"
    grep -q '"code":"missing_api_key"' "$work/body" || fail "$version: $(cat "$work/body")"
    say "$version: read 200, write 403 naming full_access, no key 401"
done
say "ok"
