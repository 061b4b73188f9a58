#!/usr/bin/env bash
# The Python checkers CI runs against the example server (schemathesis, openapi-spec-validator,
# Playwright), in a virtual environment under target/ so that nothing leaks into the system.
# Prints the environment's bin directory; installs what scripts/requirements.txt pins when the
# environment is missing or older than that file.
#
#   bin="$(scripts/python-env.sh)"; "$bin/schemathesis" --version
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/target/python-env"
stamp="$venv/.installed"
if [[ ! -f "$stamp" || scripts/requirements.txt -nt "$stamp" ]]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements.txt >&2
    touch "$stamp"
fi
echo "$venv/bin"
