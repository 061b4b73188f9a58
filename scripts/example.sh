# Starting an example server from a script, and reading the demo keys it prints. Sourced by the
# scripts that drive the examples; they define `fail MESSAGE` and an array `pids`, and kill
# what is in it on exit.
#
#   start_example LOG BINARY ARGS...
#       starts BINARY ARGS... in the background with its output in LOG, adds its pid to `pids`
#       and waits up to 10 s for its `listening on` line; fails with the log if it exits first
#       or never says so.
#   printed_key LOG PERMISSION
#       the key of LOG's `PERMISSION key: fbsk_...` line (full_access, read_only); fails if
#       there is none (a store left from an earlier run prints none).

start_example() {
    local log=$1 binary=$2
    shift 2
    "$binary" "$@" >"$log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 1 100); do
        grep -q '^listening on' "$log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$binary exited"; }
        sleep 0.1
    done
    cat "$log" >&2
    fail "$binary $* did not start"
}

printed_key() {
    local log=$1 permission=$2 key
    key="$(sed -n "s/^$permission key: //p" "$log")"
    [[ "$key" == fbsk_* ]] || { cat "$log" >&2; fail "no $permission key printed in $log"; }
    echo "$key"
}
