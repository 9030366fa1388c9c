#!/bin/bash
# A migration that cannot converge at QEMU's 300 ms (64 MiB rewritten at
# 64 MiB/s over 16 MiB/s; at 300 ms it would need the guest below
# ~17 MiB/s, and it needs about 3 s at the full rate) is brought across by
# `migsim live --policy nova-steps:... --apply`: Nova's downtime ramp
# (2000, 3333, 4666, 6000 ms every 6 s: delay 3 s/GiB x 2 GiB; the last
# step's threshold exceeds the whole working set) applied through
# migrate-set-parameters on a real QEMU (TCG).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

w="$TMPD/w"
"$MIGSIM" lab run --db "$TMPD/lab.db" --workdir "$w" --observer \
    --working-set 64MiB --dirty-rate 64MiB/s --max-bandwidth 16MiB/s \
    --downtime-limit 300ms --time-limit 90s >"$TMPD/lab.out" \
    2>"$TMPD/lab.err" &
lab=$!
bg_track $lab
wait_for 60 test -S "$w/src-observe.qmp" || {
    notok "observer socket appears"
    cat "$TMPD/lab.err"
    finish
}
"$MIGSIM" live --qmp "$w/src-observe.qmp" --db "$TMPD/live.db" \
    --policy nova-steps:downtime=6000ms,steps=3,delay=3s --apply \
    --time-limit 80s >"$TMPD/live.out" 2>"$TMPD/live.err"
rc=$?
wait $lab
lrc=$?
[ $rc -eq 0 ] && ok "live --apply: exit 0" ||
    { notok "live --apply: exit 0 (rc $rc)"; tail -n 8 "$TMPD/live.err"; }
[ $lrc -eq 0 ] && ok "lab: exit 0" || notok "lab: exit 0 (rc $lrc)"
grep -q "^outcome *converged" "$TMPD/live.out" && ok "converged" ||
    notok "converged"
grep -q "applied (nova-steps:downtime=6000ms,steps=3,delay=3s): \
downtime-limit 300 ms -> 2000 ms" "$TMPD/live.err" &&
    ok "first step applied and said" || notok "first step applied and said"
limit=$(sqlite3 "$TMPD/live.db" "SELECT downtime_limit_ns / 1000000
    FROM results")
[ -n "$limit" ] && [ "$limit" -ge 2000 ] &&
    ok "converged under a raised limit ($limit ms)" ||
    notok "converged under a raised limit ($limit ms)"
n=$("$MIGSIM" runs --db "$TMPD/live.db" export last --format csv --table events |
    awk -F, '{ sub(/\r$/, "") } $3 == "param" && $6 ~ /^downtime-limit=.*ms$/ &&
        $6 != "downtime-limit=300ms"' | wc -l)
[ "$n" -ge 1 ] && ok "each change recorded as a parameter event ($n)" ||
    notok "parameter events ($n)"
# The lab, on its own socket, saw the limit change and the same end.
row=$(sqlite3 "$TMPD/lab.db" "SELECT s.outcome, s.downtime_limit_ns / 1000000
    FROM results s")
# The lab polls on its own interval: it may have last seen an earlier step
# of the ramp than live's final one, but never more than live applied.
lab_out=${row%%|*}
lab_lim=${row##*|}
[ "$lab_out" = converged ] && [ -n "$lab_lim" ] && [ "$lab_lim" -ge 2000 ] &&
    [ "$lab_lim" -le "${limit:-0}" ] &&
    ok "lab record agrees ($row; live $limit)" ||
    notok "lab record ($row), live $limit"
grep -q "downtime-limit changed to 2000 ms (not by migsim)" "$TMPD/lab.err" ||
    grep -q "downtime-limit=2000ms (external)" <("$MIGSIM" runs --db "$TMPD/lab.db" \
        export last --format csv --table events) &&
    ok "lab noticed the external change" ||
    notok "lab noticed the external change"
finish
