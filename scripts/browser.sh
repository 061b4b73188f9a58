#!/usr/bin/env bash
# The Settings › API Keys page of the example server in a real browser (Debian's Chromium, driven
# by Playwright), with axe-core's accessibility rules in each state of the page.
#
#   scripts/browser.sh                          screenshot and axe report into target/browser/
#   scripts/browser.sh --screenshot docs/settings-api-keys.png
#
# Builds the example server, starts it with `--store memory` on a free port (or
# $FORMBOX_BROWSER_PORT), reads its address, the sign-in link and the demo keys it prints, and
# runs tests/browser/settings_page.py against the page at /settings/api-keys with the Python
# environment of scripts/python-env.sh. The flow creates a restricted key with `forms` at Read and
# `submissions` at Write, and uses it: GET /v1/forms and /v1/submissions answer, POST /v1/forms and
# GET /v1/api-keys are refused; it skips that while the server declares no resources. The screenshot goes to --screenshot PATH, or
# $FORMBOX_SCREENSHOT, or target/browser/settings-api-keys.png, and axe-core's violations by state
# to target/browser/axe.json, so that CI leaves the repository clean. Chromium comes from the
# system packages (apt-get) when /usr/bin/chromium is missing ($FORMBOX_CHROMIUM picks another).
# The server is stopped on exit; the script exits with the test's status.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

screenshot="${FORMBOX_SCREENSHOT:-target/browser/settings-api-keys.png}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --screenshot) [[ $# -ge 2 ]] || { say "--screenshot needs a path"; exit 2; }
            screenshot="$2"; shift 2 ;;
        --screenshot=*) screenshot="${1#*=}"; shift ;;
        *) echo "usage: $0 [--screenshot PATH]" >&2; exit 2 ;;
    esac
done
port="${FORMBOX_BROWSER_PORT:-0}"

chromium="$(chromium_binary)"
python_bin="$(scripts/python-env.sh)"

say "building the example server"
cargo build -q --example server

work="$(mktemp -d)"
on_exit rm -rf "$work"

# The sign-in link comes after the `listening on` line: wait for it instead.
log="$work/server.log"
start_example --ready '^dashboard: ' --within 30 "$log" "${CARGO_TARGET_DIR:-target}/debug/examples/server" \
    --addr "127.0.0.1:$port" --store memory
base="$(sed -n 's/^listening on //p' "$log")"
sign_in="$(sed -n 's/^dashboard: //p' "$log")"
[[ "$base" == http://* && "$sign_in" == "$base/sign-in?token="* ]] \
    || { cat "$log" >&2; fail "no address or sign-in link of the form $base/sign-in?token=... in $log"; }
full="$(printed_key "$log" full_access)"
read_only="$(printed_key "$log" read_only)"
say "server at $base"

# The link and the keys go through the environment, not the command line that `ps` shows.
FORMBOX_SIGN_IN="$sign_in" FORMBOX_FULL_KEY="$full" FORMBOX_READ_ONLY_KEY="$read_only" \
    "$python_bin/python" tests/browser/settings_page.py \
    --base-url "$base" --page-url "$base/settings/api-keys" \
    --session-cookie formbox_session --sign-in-once --keyed-route /v1/forms \
    --restricted-scopes forms:read,submissions:write \
    --restricted-allows 'GET /v1/forms' --restricted-allows 'GET /v1/submissions' \
    --restricted-refuses 'POST /v1/forms' --restricted-refuses 'GET /v1/api-keys' \
    --product Formbox --back-link Formbox \
    --chromium "$chromium" --screenshot "$screenshot" --axe-report target/browser/axe.json
