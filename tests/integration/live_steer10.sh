#!/bin/bash
# A migration between two QEMU 10.0s (KVM when usable) that cannot
# converge at 300 ms (64 MiB rewritten at 64 MiB/s over 16 MiB/s) is
# brought across by `migsim live --qemu 10.0 --policy nova-steps --apply`,
# as live_ramp.sh does on 7.2.  live checks the QEMU at the socket is the
# 10.0 asked for, and refuses another version.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

if ! why=$(have_combo 10.0 tcg); then
    skip_line live_steer10 10.0 "$why"
    finish
fi
w="$TMPD/w"
"$MIGSIM" lab run --qemu 10.0 --accel auto --db "$TMPD/lab.db" --workdir "$w" \
    --observer --ram 256MiB --working-set 64MiB --dirty-rate 64MiB/s \
    --max-bandwidth 16MiB/s --downtime-limit 300ms --time-limit 90s \
    >"$TMPD/lab.out" 2>"$TMPD/lab.err" &
lab=$!
bg_track $lab
wait_for 60 test -S "$w/src-observe.qmp" || {
    notok "observer socket appears"
    cat "$TMPD/lab.err"
    finish
}
check_rc "live --qemu 7.1 on a 10.0: refused, exit 5" 5 "$MIGSIM" live \
    --qmp "$w/src-observe.qmp" --no-db --qemu 7.1 --time-limit 5s
grep -q "is 10.0.[0-9]*, not 7.1" "$TMPD/last.err" && ok "the mismatch is named" ||
    notok "the mismatch is named"
"$MIGSIM" live --qmp "$w/src-observe.qmp" --qemu 10.0 --db "$TMPD/live.db" \
    --policy nova-steps:downtime=6000ms,steps=3,delay=3s --apply \
    --time-limit 80s --format json >"$TMPD/live.json" 2>"$TMPD/live.err"
rc=$?
wait $lab
lrc=$?
[ $rc -eq 0 ] && ok "live --apply on 10.0: exit 0" ||
    { notok "live --apply on 10.0: exit 0 (rc $rc)"; tail -n 8 "$TMPD/live.err"; }
[ $lrc -eq 0 ] && ok "lab: exit 0" || notok "lab: exit 0 (rc $lrc)"
[ "$(jstr "$TMPD/live.json" outcome)" = converged ] && ok "converged" ||
    notok "converged"
case "$(jstr "$TMPD/live.json" qemu_version)" in
10.0.*) ok "live recorded QEMU $(jstr "$TMPD/live.json" qemu_version)" ;;
*) notok "live recorded QEMU 10.0 ($(jstr "$TMPD/live.json" qemu_version))" ;;
esac
acc=$(jstr "$TMPD/live.json" accel)
[ "$acc" = kvm ] || [ "$acc" = tcg ] && ok "live recorded the accelerator ($acc)" ||
    notok "live recorded the accelerator ($acc)"
n=$("$MIGSIM" runs --db "$TMPD/live.db" export last --format csv --table events |
    awk -F, '{ sub(/\r$/, "") } $3 == "param" && $6 ~ /^downtime-limit=.*ms$/ &&
        $6 != "downtime-limit=300ms"' | wc -l)
[ "${n:-0}" -ge 1 ] && ok "each applied step recorded ($n)" ||
    notok "applied steps recorded ($n)"
grep -q "applied (nova-steps:downtime=6000ms,steps=3,delay=3s): \
downtime-limit 300 ms -> 2000 ms" "$TMPD/live.err" &&
    ok "first step applied and said" || notok "first step applied and said"
limit=$(sqlite3 "$TMPD/live.db" "SELECT downtime_limit_ns / 1000000 FROM results")
[ -n "$limit" ] && [ "$limit" -ge 2000 ] &&
    ok "converged under a raised limit ($limit ms)" ||
    notok "converged under a raised limit ($limit ms)"
finish
