#!/usr/bin/env bash
# A throw-away Redis server for the `redis` feature's tests.
#
#   scripts/redis.sh run cargo test --all-features --test it redis_limiter
#       starts a server, runs the command with FORMBOX_TEST_REDIS_URL set, stops the server and
#       exits with the command's status.
#   eval "$(scripts/redis.sh start)"
#       starts a server (or reuses the one running on the port) and prints the `export` line to
#       evaluate; everything else goes to stderr.
#   scripts/redis.sh stop
#       stops the server and deletes its files.
#   scripts/redis.sh url
#       prints the URL of the server.
#
# The server lives in a directory under ${TMPDIR:-/tmp}, listens only on 127.0.0.1 (port
# $FORMBOX_REDIS_PORT, default 63799), and keeps nothing on disk (no RDB snapshots, no AOF): it
# is for tests, never for data. Redis comes from the system packages (apt-get) when no
# `redis-server` is found.

set -euo pipefail
source "$(dirname "$0")/lib.sh"

PORT="${FORMBOX_REDIS_PORT:-63799}"
ROOT="${TMPDIR:-/tmp}/formbox-auth-redis-${PORT}"
PIDFILE="${ROOT}/redis.pid"
LOG="${ROOT}/server.log"
URL="redis://127.0.0.1:${PORT}"

install_redis() {
    # The package's own service, if the system starts it, listens on 6379 and is left alone.
    install_packages Redis redis-server
}

ping() {
    redis-cli -h 127.0.0.1 -p "${PORT}" ping 2>/dev/null | grep -q PONG
}

is_running() {
    [[ -f "${PIDFILE}" ]] && kill -0 "$(cat "${PIDFILE}")" 2>/dev/null
}

start() {
    command -v redis-server >/dev/null 2>&1 || install_redis
    command -v redis-server >/dev/null 2>&1 || die "redis-server still not found after installing Redis"

    if is_running && ping; then
        say "reusing the server running in ${ROOT}"
    else
        rm -rf "${ROOT}"
        mkdir -p "${ROOT}"
        say "starting on 127.0.0.1:${PORT}"
        # `save ""` and `appendonly no`: nothing is written to disk; `dir` keeps whatever Redis
        # might still write inside the throw-away directory.
        redis-server --bind 127.0.0.1 --port "${PORT}" --dir "${ROOT}" --save "" \
            --appendonly no --daemonize yes --pidfile "${PIDFILE}" --logfile "${LOG}" >&2 \
            || die "redis-server did not start"
        local _
        for _ in $(seq 100); do
            ping && break
            sleep 0.05
        done
        ping || { cat "${LOG}" >&2 || true; die "the server does not answer (is port ${PORT} taken? set FORMBOX_REDIS_PORT)"; }
    fi
    say "ready: ${URL}"
    echo "export FORMBOX_TEST_REDIS_URL='${URL}'"
}

stop() {
    if is_running; then
        local pid
        pid="$(cat "${PIDFILE}")"
        kill "${pid}"
        local _
        for _ in $(seq 100); do
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.05
        done
        say "stopped the server on port ${PORT}"
    else
        say "no server running on port ${PORT}"
    fi
    rm -rf "${ROOT}"
}

run() {
    [[ $# -gt 0 ]] || die "usage: $0 run COMMAND [ARGS...]"
    start >/dev/null
    on_exit stop
    local status=0
    FORMBOX_TEST_REDIS_URL="${URL}" "$@" || status=$?
    return "${status}"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "${URL}" ;;
    run) shift; run "$@" ;;
    *) die "usage: $0 start | stop | url | run COMMAND [ARGS...]" ;;
esac
