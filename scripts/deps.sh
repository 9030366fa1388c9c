#!/bin/sh
# Install the Debian packages migsim needs, only those that are missing.
# Unless MIGSIM_MINIMAL=1, also QEMU 10.0 beside the system QEMU, in a
# private prefix (scripts/qemu10.sh).
# Usage: scripts/deps.sh [--check]   (--check: report missing, install nothing)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PKGS="build-essential pkg-config libgsl-dev libjansson-dev libsqlite3-dev \
libcmocka-dev zlib1g-dev libssl-dev gnuplot-nox sqlite3 clang-format cppcheck"
# Extra packages for the live backend and report tests; set MIGSIM_MINIMAL=1
# to skip them.
EXTRA="${MIGSIM_EXTRA_PKGS-qemu-system-x86 qemu-utils chromium}"
[ "${MIGSIM_MINIMAL-0}" = 1 ] && EXTRA=""
missing=""
for p in $PKGS $EXTRA; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# QEMU 10.0 after the Debian packages (it needs none of its own).  A
# failure to install it is not fatal: the tests that need it say so and
# skip, and everything else still builds and runs.
qemu10() {
    [ "${MIGSIM_MINIMAL-0}" = 1 ] && return 0
    [ "${1-}" = "--check" ] && { "$here/qemu10.sh" --check; return; }
    if ! "$here/qemu10.sh"; then
        echo "deps: warning: QEMU 10.0 was not installed (see above);" \
            "the tests that need it will be skipped" >&2
    fi
}
if [ -z "$missing" ]; then
    echo "deps: all packages present"
    qemu10 "$@"
    exit 0
fi
echo "deps: missing:$missing"
if [ "${1-}" = "--check" ]; then
    qemu10 --check || true
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "deps: not root and no sudo; install them by hand:" >&2
        echo "  apt-get install$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
qemu10
