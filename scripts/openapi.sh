#!/usr/bin/env bash
# Checks the example server's OpenAPI description with tools written elsewhere:
#   1. openapi-spec-validator: the description is valid OpenAPI 3.1;
#   2. schemathesis: every operation, called with generated valid and invalid requests, answers
#      no 5xx, only documented status codes and content types, and bodies matching their schemas.
#
#   scripts/openapi.sh [MAX_EXAMPLES]     (default 100 per operation)
#
# The server runs with an in-memory store on port $FORMBOX_OPENAPI_PORT (default 3301) and the
# demo organization's full-access key in every request. Reports go to target/schemathesis/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
examples="${1:-100}"
port="${FORMBOX_OPENAPI_PORT:-3301}"
bin="$(scripts/python-env.sh)"
work="$(mktemp -d)"
on_exit rm -rf "$work"
report="target/schemathesis"

cargo build -q --example server
start_example "$work/server.log" target/debug/examples/server --addr "127.0.0.1:$port" --store memory
key="$(printed_key "$work/server.log" full_access)"

curl -sf "http://127.0.0.1:$port/openapi.json" -o "$work/openapi.json"
say "validating the description (openapi-spec-validator)"
"$bin/openapi-spec-validator" "$work/openapi.json"

say "schemathesis: ${examples} cases per operation"
rm -rf "$report"
# The hooks keep the key schemathesis authenticates with out of its own regenerations and
# revocations (tests/openapi/hooks.py).
key_id="$(cut -d_ -f2 <<<"$key")"
FORMBOX_OWN_KEY_ID="$key_id" PYTHONPATH="tests/openapi" SCHEMATHESIS_HOOKS=hooks \
    "$bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --header "api-key: $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$examples" \
    --seed 1 \
    --workers 1 \
    --report junit,ndjson --report-dir "$report" \
    --output-sanitize true
