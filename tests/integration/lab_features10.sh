#!/bin/bash
# QEMU 10.0 features through `migsim lab run` (KVM when usable, else TCG;
# dirty-limit needs KVM's dirty ring): multifd with 4 channels, postcopy
# started by time, dirty-limit, avail-switchover-bandwidth, auto-converge,
# pause-before-switchover.  Each converges where plain precopy would not
# (or, multifd, moves its pages over the channels) and shows it in
# QEMU's own figures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

if ! why=$(have_combo 10.0 tcg); then
    skip_line lab_features10 "10.0" "$why"
    finish
fi
accel=kvm
have_combo 10.0 kvm >/dev/null || accel=tcg
# a workload that does not converge at 300 ms over 16 MiB/s
stuck="--working-set 64MiB --dirty-rate 64MiB/s --max-bandwidth 16MiB/s"
run() { # NAME ARGS...: lab run on 10.0, JSON in $TMPD/NAME.json
    local name=$1
    shift
    check_rc "$name: converges" 0 "$MIGSIM" lab run --qemu 10.0 --accel $accel \
        --ram 256MiB --no-db --time-limit 40s --format json "$@"
    cp "$TMPD/last.out" "$TMPD/$name.json"
}
qm() { # NAME KEY: a number from the final query-migrate
    sed -n '/"final_query_migrate"/,/"kind"/p' "$TMPD/$1.json" |
        sed -n "s/^ *\"$2\": \\([0-9.]*\\),*$/\\1/p" | head -n1
}

run multifd --capability multifd --param multifd-channels=4 \
    --working-set 32MiB --dirty-rate 8MiB/s --max-bandwidth 64MiB/s
mb=$(qm multifd multifd-bytes)
[ "${mb:-0}" -gt 1000000 ] && ok "multifd: pages went over the channels ($mb B)" ||
    notok "multifd: multifd-bytes ($mb)"

run postcopy --capability postcopy-ram --postcopy-after 1s $stuck
grep -q '"postcopy_started": true' "$TMPD/postcopy.json" &&
    ok "postcopy: migrate-start-postcopy sent" || notok "postcopy started"
grep -q '"text": "postcopy-active"' "$TMPD/postcopy.json" &&
    ok "postcopy: status postcopy-active seen" || notok "postcopy-active seen"
pb=$(qm postcopy postcopy-bytes)
[ "${pb:-0}" -gt 0 ] && ok "postcopy: postcopy-bytes $pb" ||
    notok "postcopy: postcopy-bytes ($pb)"
grep -q '"dest_ok": true' "$TMPD/postcopy.json" &&
    ok "postcopy: destination runs the guest" || notok "postcopy: destination"

if [ $accel = kvm ]; then
    run dirty-limit --dirty-ring 4096 --capability dirty-limit \
        --param vcpu-dirty-limit=8 $stuck
    tt=$(qm dirty-limit dirty-limit-throttle-time-per-round)
    [ -n "$tt" ] && ok "dirty-limit: throttle time per round reported ($tt us)" ||
        notok "dirty-limit: dirty-limit-throttle-time-per-round"
else
    skip_line lab_features10 dirty-limit "needs KVM's dirty ring: $(have_combo 10.0 kvm)"
fi

run avail-bw --param avail-switchover-bandwidth=1073741824 $stuck
s=$(jnum "$TMPD/avail-bw.json" dirty-sync-count)
[ "${s:-99}" -le 3 ] &&
    ok "avail-switchover-bandwidth: switched over early ($s syncs)" ||
    notok "avail-switchover-bandwidth: syncs ($s)"

run auto-converge --capability auto-converge --param cpu-throttle-initial=50 \
    --param cpu-throttle-increment=20 $stuck
thr=$(jnum "$TMPD/auto-converge.json" max_throttle_pct)
awk -v t="${thr:-0}" 'BEGIN { exit !(t >= 50) }' &&
    ok "auto-converge: throttled the guest (max $thr %)" ||
    notok "auto-converge: throttle ($thr)"

run pause --capability pause-before-switchover --working-set 32MiB \
    --dirty-rate 8MiB/s --max-bandwidth 32MiB/s
grep -q '"continued": true' "$TMPD/pause.json" &&
    grep -q '"text": "pre-switchover"' "$TMPD/pause.json" &&
    ok "pause-before-switchover: pre-switchover, migrate-continue" ||
    notok "pause-before-switchover"
finish
