#!/bin/bash
# Every QEMU x accelerator combination present (7.2 and 10.0, TCG and KVM)
# runs a small lab validate grid (2 converging points, 256 MiB guest):
# real and simulated verdicts agree, every point ran, the JSON and the
# stored run record the accelerator; an absent combination prints one
# "skip - ..." line.  `lab qemus` lists what it found with the version
# read over QMP.  The 10.0 run of the issue's "Done when" (1 GiB, 64 MiB
# at 8 MiB/s) converges and its kept trace has estimate and exact calls
# and no per-page events.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

check_rc "lab qemus" 0 "$MIGSIM" lab qemus
QEMUS_TABLE=$(cat "$TMPD/last.out")
v72=$(printf '%s\n' "$QEMUS_TABLE" | awk '$1 == "system" {print $2}')
[ -n "$v72" ] && [ "$v72" != "?" ] &&
    ok "lab qemus: the system QEMU with its QMP version ($v72)" ||
    notok "lab qemus lists the system QEMU ($QEMUS_TABLE)"
check_rc "lab qemus --format json" 0 "$MIGSIM" lab qemus --format json
grep -q '"kvm_usable"' "$TMPD/last.out" && ok "qemus JSON says whether KVM is usable" ||
    notok "qemus JSON kvm_usable"
check_rc "--qemu 1.5: no such QEMU, exit 5" 5 "$MIGSIM" lab run --no-db --qemu 1.5
grep -q "no such QEMU here" "$TMPD/last.err" && ok "unknown version explained" ||
    notok "unknown version explained"
check_rc "--accel bogus: usage" 2 "$MIGSIM" lab run --no-db --accel bogus
check_rc "--dirty-ring 1000: usage" 2 "$MIGSIM" lab run --no-db --dirty-ring 1000

for combo in "system tcg" "system kvm" "10.0 tcg" "10.0 kvm"; do
    set -- $combo
    why=$(have_combo "$1" "$2") || { skip_line lab_qemu10 "$1-$2" "$why"; continue; }
    db="$TMPD/$1-$2.db"
    check_rc "$1-$2: lab validate grid, verdicts agree" 0 "$MIGSIM" lab validate \
        --qemu "$1" --accel "$2" --no-calibrate --ram 256MiB \
        --working-set 32MiB --dirty-rate 4MiB/s,8MiB/s --max-bandwidth 32MiB/s \
        --time-limit 20s --db "$db" --markdown "$TMPD/$1-$2.md" --quiet
    n=$(grep -c "converged / converged" "$TMPD/$1-$2.md")
    [ "$n" = 2 ] && ok "$1-$2: both points converged, real and simulated" ||
        { notok "$1-$2: both points converged ($n)"; cat "$TMPD/$1-$2.md"; }
    st=$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE kind = 'live'
        AND diagnosis LIKE '%accelerator $2 %'" 2>&1)
    [ "$st" = 2 ] && ok "$1-$2: stored runs record the accelerator" ||
        notok "$1-$2: stored runs record the accelerator ($st)"
done

# The issue's run: 10.0, KVM, 1 GiB, 64 MiB at 8 MiB/s, trace kept.
if why=$(have_combo 10.0 kvm); then
    t="$TMPD/k10.trace"
    check_rc "10.0-kvm 1 GiB run converges" 0 "$MIGSIM" lab run --qemu 10.0 \
        --accel kvm --ram 1GiB --working-set 64MiB --dirty-rate 8MiB/s \
        --no-db --trace "$t" --format json
    cp "$TMPD/last.out" "$TMPD/k10.json"
    [ "$(jstr "$TMPD/k10.json" accel)" = kvm ] && ok "JSON records accel kvm" ||
        notok "JSON records accel kvm"
    est=$(jnum "$TMPD/k10.json" trace_pending)
    exa=$(jnum "$TMPD/k10.json" trace_exact)
    [ "${est:-0}" -gt 0 ] && [ "${exa:-0}" -gt 0 ] &&
        ok "trace has estimate ($est) and exact ($exa) calls" ||
        notok "trace has estimate ($est) and exact ($exa) calls"
    [ "$(grep -c ':migrate_pending_estimate ' "$t")" = "$est" ] &&
        ok "estimate count = migrate_pending_estimate lines" ||
        notok "estimate count = migrate_pending_estimate lines"
    ! grep -q ':migration_transferred_bytes ' "$t" &&
        ok "no per-page migration_transferred_bytes in the trace" ||
        notok "no per-page migration_transferred_bytes in the trace"
    grep -q ':vmstate_downtime_checkpoint ' "$t" &&
        ok "vmstate_downtime_* traced" || notok "vmstate_downtime_* traced"
    syncs=$(jnum "$TMPD/k10.json" dirty-sync-count)
    [ -n "$syncs" ] && [ "$(jnum "$TMPD/k10.json" trace_syncs)" = "$syncs" ] &&
        ok "trace sync pairs = dirty-sync-count ($syncs)" ||
        notok "trace sync pairs = dirty-sync-count ($syncs)"
    grep -q ':migration_cancel' "$t" && ok "trace kept complete (to QEMU's exit)" ||
        notok "trace kept complete (to QEMU's exit)"
else
    skip_line lab_qemu10 "10.0-kvm 1GiB run" "$why"
fi
finish
