#!/usr/bin/env bash
# The Settings › API Keys page in a real browser (Debian's Chromium, driven by Playwright).
#
#   scripts/browser.sh                          screenshot into target/browser/
#   scripts/browser.sh --screenshot docs/settings-api-keys.png
#
# Builds the example server, starts it with `--store memory` on a free port (or
# $FORMBOX_BROWSER_PORT), reads the sign-in link and the demo keys it prints, and runs
# tests/browser/settings_page.py with the Python environment of scripts/python-env.sh. The
# screenshot goes to --screenshot PATH, or $FORMBOX_SCREENSHOT, or
# target/browser/settings-api-keys.png, so that CI leaves the repository clean. Chromium comes
# from the system packages (apt-get) when /usr/bin/chromium is missing ($FORMBOX_CHROMIUM picks
# another). The server is stopped on exit; the script exits with the test's status.
set -euo pipefail
source "$(dirname "$0")/packages.sh"
cd "$(dirname "$0")/.."

screenshot="${FORMBOX_SCREENSHOT:-target/browser/settings-api-keys.png}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --screenshot) [[ $# -ge 2 ]] || { echo "browser.sh: --screenshot needs a path" >&2; exit 2; }
            screenshot="$2"; shift 2 ;;
        --screenshot=*) screenshot="${1#*=}"; shift ;;
        *) echo "usage: $0 [--screenshot PATH]" >&2; exit 2 ;;
    esac
done
chromium="${FORMBOX_CHROMIUM:-/usr/bin/chromium}"
port="${FORMBOX_BROWSER_PORT:-0}"

say() { echo "browser.sh: $*" >&2; }
die() { say "$*"; exit 1; }

install_chromium() {
    install_packages Chromium chromium
}

[[ -x "$chromium" ]] || { install_chromium; [[ -x "$chromium" ]] || die "$chromium still missing after installing Chromium"; }
python_bin="$(scripts/python-env.sh)"

say "building the example server"
cargo build -q --example server

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

log="$work/server.log"
target/debug/examples/server --addr "127.0.0.1:$port" --store memory >"$log" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 300); do
    grep -q '^dashboard: ' "$log" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" "$work/server.err" >&2; die "the server exited"; }
    sleep 0.1
done
sign_in="$(sed -n 's/^dashboard: //p' "$log")"
full="$(sed -n 's/^full_access key: //p' "$log")"
read_only="$(sed -n 's/^read_only key: //p' "$log")"
[[ -n "$sign_in" ]] || { cat "$log" "$work/server.err" >&2; die "the server printed no sign-in link"; }
[[ -n "$full" && -n "$read_only" ]] || { cat "$log" >&2; die "the server printed no demo keys"; }
base="${sign_in%%/dashboard/*}"
say "server at $base"

mkdir -p "$(dirname "$screenshot")"
# The link and the keys go through the environment, not the command line that `ps` shows.
FORMBOX_SIGN_IN="$sign_in" FORMBOX_FULL_KEY="$full" FORMBOX_READ_ONLY_KEY="$read_only" \
    "$python_bin/python" tests/browser/settings_page.py \
    --base-url "$base" --chromium "$chromium" --screenshot "$screenshot"
