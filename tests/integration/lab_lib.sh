# Helpers for the real-QEMU tests (lab_*.sh, live_*.sh); source after
# lib.sh.  Not a test itself (run.sh runs *.sh files that end in finish;
# this one has no checks and exits 0 when run).
# shellcheck shell=bash
# Run directly (tests/run.sh runs every *.sh here), it only reports that.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "# lab_lib.sh: helpers for lab_*.sh and live_*.sh, no checks"
    exit 0
fi

# QEMU is required (scripts/deps.sh installs it) unless MIGSIM_MINIMAL=1.
need_qemu() {
    if command -v "${MIGSIM_QEMU:-qemu-system-x86_64}" >/dev/null 2>&1; then
        return 0
    fi
    if [ "${MIGSIM_MINIMAL-0}" = 1 ]; then
        echo "# skipped: no QEMU and MIGSIM_MINIMAL=1"
        exit 0
    fi
    notok "qemu-system-x86_64 installed (run scripts/deps.sh)"
    finish
}

# Background processes started by a test, killed (by pid) at exit.
BG_PIDS=""
bg_track() { BG_PIDS="$BG_PIDS $1"; }
lab_cleanup() {
    for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
    for p in $BG_PIDS; do wait "$p" 2>/dev/null; done
    rm -rf "$TMPD"
}
trap lab_cleanup EXIT

# wait_for SECONDS CMD...: poll CMD every 0.1 s; 0 once it succeeds.
wait_for() {
    local n=$(($1 * 10))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" 2>/dev/null && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# A number from indented JSON ("key": 123,) — first match.
jnum() { sed -n "s/^ *\"$2\": \\([0-9.-]*\\),*$/\\1/p" "$1" | head -n1; }
# A string from indented JSON.
jstr() { sed -n "s/^ *\"$2\": \"\\(.*\\)\",*$/\\1/p" "$1" | head -n1; }

# ---- QEMU versions and accelerators (lab_qemu10.sh, lab_features10.sh) --
QEMU10="${MIGSIM_QEMU10_PREFIX:-/opt/migsim/qemu-10.0}/bin/qemu-system-x86_64"
# have_combo NAME ACCEL: 0 if `migsim lab qemus` lists NAME (system, 10.0)
# and, for kvm, says KVM works with it; else why on stdout.
have_combo() {
    local name=$1 accel=$2 row
    [ -n "${QEMUS_TABLE-}" ] || QEMUS_TABLE=$("$MIGSIM" lab qemus 2>&1)
    row=$(printf '%s\n' "$QEMUS_TABLE" | awk -v n="$name" '$1 == n')
    if [ -z "$row" ]; then
        case $name in
        10.0) echo "QEMU 10.0 not installed ($QEMU10; scripts/qemu10.sh installs it)" ;;
        *) echo "no $name QEMU (qemu-system-x86_64 not on PATH)" ;;
        esac
        return 1
    fi
    if [ "$accel" = kvm ] && [ "$(printf '%s\n' "$row" | awk '{print $3}')" != yes ]; then
        echo "KVM not usable with $name ($(printf '%s\n' "$QEMUS_TABLE" | sed -n 's/^KVM: //p'))"
        return 1
    fi
    return 0
}
# skip_line TEST COMBO WHY: the one line for an absent combination.
skip_line() { echo "skip - $1 $2: $3"; }
