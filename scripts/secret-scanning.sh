#!/usr/bin/env bash
# A leaked key reported the way GitHub's secret scanning reports it, end to end.
#
#   scripts/secret-scanning.sh
#
# Makes a P-256 key pair with openssl to stand in for GitHub's, saves its public half as a key
# list in GitHub's JSON (identifier formbox-ci-1), and starts the example server on port 3401
# with `--store memory --scanning-keys FILE`. Then, with the demo full_access key in a report
# signed like GitHub signs (ECDSA P-256, SHA-256 over the raw body, base64 DER):
#   1. a report changed by one byte after signing, an unsigned one and one signed under an
#      unknown identifier are 401 invalid_signature, and the key still works;
#   2. the signed report is 200 with the key labelled true_positive under its SHA-256;
#   3. the key is 401 revoked_api_key from the next request on.
# Prints each step; exits non-zero at the first that fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

port=3401
base="http://127.0.0.1:$port"
identifier="formbox-ci-1"
work="$(mktemp -d)"
on_exit rm -rf "$work"

for tool in openssl curl base64 sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is needed"
done

# `request METHOD PATH [CURL ARGS...]`: sets STATUS and BODY.
request() {
    local method=$1 path=$2
    shift 2
    STATUS="$(curl -s -o "$work/response" -w '%{http_code}' -X "$method" "$@" "$base$path")"
    BODY="$(cat "$work/response")"
}

# `report BODY_FILE [IDENTIFIER SIGNATURE]`: posts a report, signed when given a signature.
report() {
    local file=$1
    local headers=(-H 'content-type: application/json')
    if (($# == 3)); then
        headers+=(-H "Github-Public-Key-Identifier: $2" -H "Github-Public-Key-Signature: $3")
    fi
    request POST /secret-scanning/github "${headers[@]}" --data-binary "@$file"
}

say "making a P-256 key pair to sign reports as GitHub would"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/github.pem" 2>/dev/null
openssl ec -in "$work/github.pem" -pubout -out "$work/github.pub.pem" 2>/dev/null
# GitHub's key list, with the PEM's line breaks as JSON escapes.
pem="$(awk '{ printf "%s\\n", $0 }' "$work/github.pub.pem")"
printf '{"public_keys":[{"key_identifier":"%s","key":"%s","is_current":true}]}\n' \
    "$identifier" "$pem" >"$work/public-keys.json"

say "building the example server"
cargo build -q --example server

say "starting the example server on port $port"
start_example "$work/server.log" target/debug/examples/server \
    --addr "127.0.0.1:$port" --store memory --scanning-keys "$work/public-keys.json"
key="$(printed_key "$work/server.log" full_access)"

request GET /v1/forms -H "api-key: $key"
[[ "$STATUS" == 200 ]] || fail "the demo key before any report: $STATUS $BODY"

# The report GitHub would send for the key found in a public commit. printf leaves no newline:
# the signature covers exactly these bytes.
printf '[{"token":"%s","type":"formbox_api_key","url":"https://github.com/example/repo/blob/abc/config.env","source":"content"}]' \
    "$key" >"$work/report.json"
signature="$(openssl dgst -sha256 -sign "$work/github.pem" "$work/report.json" | base64 -w0)"

say "1. a report changed after signing is refused, and revokes nothing"
sed 's/"source":"content"/"source":"contenT"/' "$work/report.json" >"$work/tampered.json"
cmp -s "$work/report.json" "$work/tampered.json" && fail "the tampered report is unchanged"
report "$work/tampered.json" "$identifier" "$signature"
[[ "$STATUS" == 401 && "$BODY" == *invalid_signature* ]] || fail "a tampered report: $STATUS $BODY"
say "   one byte changed: $STATUS $BODY"
report "$work/report.json"
[[ "$STATUS" == 401 && "$BODY" == *invalid_signature* ]] || fail "an unsigned report: $STATUS $BODY"
say "   unsigned: $STATUS"
report "$work/report.json" "formbox-ci-unknown" "$signature"
[[ "$STATUS" == 401 && "$BODY" == *invalid_signature* ]] || fail "an unknown identifier: $STATUS $BODY"
say "   unknown key identifier: $STATUS"
request GET /v1/forms -H "api-key: $key"
[[ "$STATUS" == 200 ]] || fail "the key after refused reports: $STATUS $BODY"
say "   the key still works: GET /v1/forms $STATUS"

say "2. the signed report revokes the key"
report "$work/report.json" "$identifier" "$signature"
[[ "$STATUS" == 200 ]] || fail "the signed report: $STATUS $BODY"
[[ "$BODY" == *'"label":"true_positive"'* ]] || fail "the key is not a true positive: $BODY"
hash="$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)"
[[ "$BODY" == *"\"token_hash\":\"$hash\""* ]] || fail "the feedback does not name the key by its SHA-256: $BODY"
[[ "$BODY" != *"$key"* ]] || fail "the feedback repeats the key: $BODY"
say "   $STATUS $BODY"

say "3. the key is revoked"
request GET /v1/forms -H "api-key: $key"
[[ "$STATUS" == 401 && "$BODY" == *revoked_api_key* ]] || fail "the key after the report: $STATUS $BODY"
say "   GET /v1/forms $STATUS $BODY"

say "passed"
