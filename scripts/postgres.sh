#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the `postgres` feature's tests.
#
#   scripts/postgres.sh run cargo test --features sqlite,postgres
#       starts a cluster, runs the command with FORMBOX_TEST_POSTGRES_URL set, stops the cluster
#       and exits with the command's status.
#   eval "$(scripts/postgres.sh start)"
#       starts a cluster (or reuses the one running on the port) and prints the `export` line to
#       evaluate; everything else goes to stderr.
#   scripts/postgres.sh stop
#       stops the cluster and deletes its files.
#   scripts/postgres.sh url
#       prints the URL of the cluster.
#   scripts/postgres.sh halt / resume
#       stops the running cluster as `pg_ctl stop -m fast` does (connections closed, new ones
#       refused), keeping its files, and starts it again: a database outage for tests.
#
# The cluster lives in a directory under ${TMPDIR:-/tmp}, listens only on 127.0.0.1 (port
# $FORMBOX_PG_PORT, default 54329) and on a unix socket inside that directory, trusts every local
# connection, and skips fsync: it is for tests, never for data. It accepts
# $FORMBOX_PG_MAX_CONNECTIONS connections (default 200), read when the cluster starts: a cluster
# already running keeps its own. PostgreSQL comes from the system packages (apt-get) when no
# `initdb` is found. PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` user, which is created if missing.

set -euo pipefail
source "$(dirname "$0")/lib.sh"

PORT="${FORMBOX_PG_PORT:-54329}"
DATABASE="${FORMBOX_PG_DATABASE:-formbox_test}"
ROOT="${TMPDIR:-/tmp}/formbox-auth-postgres-${PORT}"
DATA="${ROOT}/data"
SOCKETS="${ROOT}/sockets"
LOG="${ROOT}/server.log"
SUPERUSER="postgres"
MAX_CONNECTIONS="${FORMBOX_PG_MAX_CONNECTIONS:-200}"
URL="postgres://${SUPERUSER}@127.0.0.1:${PORT}/${DATABASE}"

find_bindir() {
    local dir
    # Debian and Ubuntu keep the server binaries out of PATH, one directory per major version.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [[ -x "${dir}/initdb" && -x "${dir}/pg_ctl" ]]; then
            echo "${dir}"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install_postgres() {
    # Only this script's cluster is wanted, not the package's default one on port 5432.
    if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
        as_root mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    install_packages PostgreSQL postgresql
}

# Runs a command as the user that owns the cluster.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

start_server() {
    as_owner "${BIN}/pg_ctl" start --wait --timeout=60 -D "${DATA}" -l "${LOG}" -o \
        "-c listen_addresses=127.0.0.1 -p ${PORT} -k ${SOCKETS} -c max_connections=${MAX_CONNECTIONS} -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >&2
}

is_running() {
    [[ -f "${DATA}/postmaster.pid" ]] && as_owner "${BIN}/pg_ctl" status -D "${DATA}" >/dev/null 2>&1
}

start() {
    BIN="$(find_bindir)" || { install_postgres; BIN="$(find_bindir)" || die "initdb still not found after installing PostgreSQL"; }

    if is_running; then
        say "reusing the cluster running in ${ROOT}"
    else
        if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
            say "creating the postgres user"
            useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres
        fi
        rm -rf "${ROOT}"
        mkdir -p "${DATA}" "${SOCKETS}"
        chmod 700 "${ROOT}" "${DATA}"
        if [[ $(id -u) -eq 0 ]]; then
            chown -R postgres: "${ROOT}"
        fi
        say "initdb into ${DATA} with ${BIN}"
        as_owner "${BIN}/initdb" --pgdata="${DATA}" --username="${SUPERUSER}" --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"${ROOT}/initdb.log" 2>&1 \
            || as_owner "${BIN}/initdb" --pgdata="${DATA}" --username="${SUPERUSER}" --auth=trust \
                --encoding=UTF8 --no-locale >"${ROOT}/initdb.log" 2>&1 \
            || { cat "${ROOT}/initdb.log" >&2; die "initdb failed"; }
        say "starting on 127.0.0.1:${PORT}"
        start_server || { cat "${LOG}" >&2 || true; die "the server did not start (is port ${PORT} taken? set FORMBOX_PG_PORT)"; }
    fi

    if ! as_owner "${BIN}/psql" -h "${SOCKETS}" -p "${PORT}" -U "${SUPERUSER}" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'" | grep -q 1; then
        as_owner "${BIN}/createdb" -h "${SOCKETS}" -p "${PORT}" -U "${SUPERUSER}" "${DATABASE}"
    fi
    say "ready: ${URL}"
    echo "export FORMBOX_TEST_POSTGRES_URL='${URL}'"
}

stop() {
    if BIN="$(find_bindir)" && is_running; then
        as_owner "${BIN}/pg_ctl" stop --wait -D "${DATA}" -m fast >&2
        say "stopped the cluster on port ${PORT}"
    else
        say "no cluster running on port ${PORT}"
    fi
    rm -rf "${ROOT}"
}

halt() {
    BIN="$(find_bindir)" && is_running || die "no cluster running on port ${PORT}"
    as_owner "${BIN}/pg_ctl" stop --wait -D "${DATA}" -m fast >&2
}

resume() {
    BIN="$(find_bindir)" || die "PostgreSQL is not installed"
    start_server
}

run() {
    [[ $# -gt 0 ]] || die "usage: $0 run COMMAND [ARGS...]"
    start >/dev/null
    on_exit stop
    local status=0
    FORMBOX_TEST_POSTGRES_URL="${URL}" "$@" || status=$?
    return "${status}"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "${URL}" ;;
    halt) halt ;;
    resume) resume ;;
    run) shift; run "$@" ;;
    *) die "usage: $0 start | stop | url | halt | resume | run COMMAND [ARGS...]" ;;
esac
