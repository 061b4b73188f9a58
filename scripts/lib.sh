# shellcheck shell=bash
# What the scripts in this folder share: log lines and failures, one cleanup stack run on exit,
# installing Debian packages (Chromium among them), and starting the example servers and reading
# the keys they print.
# Sourced after `set -euo pipefail`; it prints nothing, so that captured output stays clean:
#
#   source "$(dirname "$0")/lib.sh"

script_name="${0##*/}"

# A log line named after the script, on stderr so that stdout stays for what callers capture.
say() { echo "$script_name: $*" >&2; }

# Stops the script on an error in its own setup or usage.
die() { say "$*"; exit 1; }

# Stops the script on a check that did not hold, marked apart from setup errors.
fail() { die "FAILED: $*"; }

_exit_commands=()

# `on_exit CMD ARGS...`: run at exit, newest first, under set -e: best-effort ones go in `quietly`.
on_exit() {
    local command
    printf -v command '%q ' "$@"
    _exit_commands+=("$command")
}

# The one EXIT trap. Inline: bash warns "pop_var_context" when set -e stops an eval in a function.
trap '
    for ((_exit_i = ${#_exit_commands[@]} - 1; _exit_i >= 0; _exit_i--)); do
        eval "${_exit_commands[_exit_i]}"
    done' EXIT

# `quietly CMD ARGS...`: for cleanups whose output and failure would only be noise at exit.
quietly() { "$@" >/dev/null 2>&1 || true; }

# `as_root CMD...`: runs CMD as root, through sudo when this script is not root.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "needs root (or sudo) to run: $*"
    fi
}

# `install_packages WHAT PACKAGE...`: apt-get with no questions (CI has no terminal), configs kept.
install_packages() {
    local what=$1
    shift
    command -v apt-get >/dev/null 2>&1 \
        || die "$what is missing and apt-get is not available: install it first"
    say "installing $what from the system packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >&2
}

# `chromium_binary`: prints the Chromium to drive, $FORMBOX_CHROMIUM or Debian's
# /usr/bin/chromium, installed from the system packages when missing (Playwright's own browser
# download is not used).
chromium_binary() {
    local chromium="${FORMBOX_CHROMIUM:-/usr/bin/chromium}"
    if [[ ! -x "$chromium" ]]; then
        install_packages Chromium chromium
        [[ -x "$chromium" ]] || die "$chromium still missing after installing Chromium"
    fi
    echo "$chromium"
}

# The pids of the servers start_example started, in order, for scripts that signal one of them.
example_pids=()

# `start_example [--ready REGEX] [--within SECONDS] LOG BINARY ARGS...`: BINARY in the background,
# stopped on exit; returns once LOG matches REGEX (`^listening on`); fails if it dies or takes 10 s.
start_example() {
    local ready='^listening on' within=10
    while [[ $# -gt 0 && $1 == --* ]]; do
        case "$1" in
            --ready) ready=$2 ;;
            --within) within=$2 ;;
            *) die "start_example: unknown option $1" ;;
        esac
        shift 2
    done
    local log=$1 binary=$2
    shift 2
    [[ ${#example_pids[@]} -gt 0 ]] || on_exit stop_examples
    "$binary" "$@" >"$log" 2>&1 &
    local pid=$!
    example_pids+=("$pid")
    local _
    for _ in $(seq 1 $((within * 10))); do
        grep -q "$ready" "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$binary exited"; }
        sleep 0.1
    done
    cat "$log" >&2
    fail "$binary $* did not start"
}

# Signals every server first so that they stop together, then waits so that their ports are free.
stop_examples() {
    local pid
    for pid in "${example_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${example_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# `printed_key LOG PERMISSION`: the key of LOG's `PERMISSION key: fbsk_...` line; fails without one.
printed_key() {
    local log=$1 permission=$2 key
    key="$(sed -n "s/^$permission key: //p" "$log")"
    [[ "$key" == fbsk_* ]] || { cat "$log" >&2; fail "no $permission key printed in $log"; }
    echo "$key"
}
