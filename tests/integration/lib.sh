# Helpers for integration tests: each check prints "ok - NAME" or
# "not ok - NAME"; tests/run.sh counts them.  Source from a test script.
# shellcheck shell=bash
: "${MIGSIM:?MIGSIM must point at the migsim binary}"
: "${MIGSIM_ROOT:=$(pwd)}"
T_FAILS=0
TMPD=$(mktemp -d)
export MIGSIM_DB="$TMPD/test.db"
trap 'rm -rf "$TMPD"' EXIT

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; T_FAILS=$((T_FAILS + 1)); }

# check NAME CMD...: passes when CMD exits 0
check() {
    local name=$1
    shift
    if "$@" >"$TMPD/last.out" 2>"$TMPD/last.err"; then ok "$name"; else
        notok "$name"
        sed 's/^/    /' "$TMPD/last.out" "$TMPD/last.err" | tail -n 20
    fi
}

# check_rc NAME RC CMD...: passes when CMD exits with RC; its output stays
# in $TMPD/rc.out and $TMPD/rc.err for the checks that follow
check_rc() {
    local name=$1 want=$2
    shift 2
    "$@" >"$TMPD/last.out" 2>"$TMPD/last.err"
    local rc=$?
    cp "$TMPD/last.out" "$TMPD/rc.out"
    cp "$TMPD/last.err" "$TMPD/rc.err"
    if [ "$rc" -eq "$want" ]; then ok "$name"; else
        notok "$name (rc $rc, want $want)"
        sed 's/^/    /' "$TMPD/last.out" "$TMPD/last.err" | tail -n 20
    fi
}

finish() { exit $((T_FAILS > 0)); }
