# Installs the Debian packages a script needs, the same way for every script: apt-get, as root or
# through sudo, without questions, keeping any configuration already there (CI has no terminal).
# Sourced, not run:
#
#   source "$(dirname "$0")/packages.sh"
#   command -v wrk >/dev/null || install_packages wrk wrk

# `as_root CMD...`: runs CMD as root, through sudo when this script is not root.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "$(basename "$0"): needs root (or sudo) to run: $*" >&2
        exit 1
    fi
}

# `install_packages WHAT PACKAGE...`: installs PACKAGEs, saying it installs WHAT.
install_packages() {
    local what=$1
    shift
    command -v apt-get >/dev/null 2>&1 \
        || { echo "$(basename "$0"): $what is missing and apt-get is not available: install it first" >&2; exit 1; }
    echo "$(basename "$0"): installing $what from the system packages" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >&2
}
