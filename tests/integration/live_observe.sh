#!/bin/bash
# migsim live attached to a real QEMU (TCG) through a second QMP socket
# while migsim lab migrates it: the run it records matches the final
# query-migrate QEMU gave the lab over the other socket.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

check_rc "live --help" 0 "$MIGSIM" live --help
check_rc "live needs --qmp" 2 "$MIGSIM" live
check_rc "--apply needs --policy" 2 "$MIGSIM" live --qmp /nonexistent --apply
check_rc "missing socket: exit 4" 4 "$MIGSIM" live --qmp "$TMPD/none.sock"
grep -q "none.sock: connect: No such file" "$TMPD/last.err" &&
    ok "missing socket named" || notok "missing socket named"

w="$TMPD/w"
"$MIGSIM" lab run --no-db --workdir "$w" --observer --working-set 64MiB \
    --dirty-rate 8MiB/s --max-bandwidth 32MiB/s --downtime-limit 300ms \
    --time-limit 60s --format json >"$TMPD/lab.json" 2>"$TMPD/lab.err" &
lab=$!
bg_track $lab
if wait_for 60 test -S "$w/src-observe.qmp"; then
    ok "observer socket appears"
else
    notok "observer socket appears"
    cat "$TMPD/lab.err"
    finish
fi
"$MIGSIM" live --qmp "$w/src-observe.qmp" --db "$TMPD/live.db" \
    --time-limit 60s --format json >"$TMPD/live.json" 2>"$TMPD/live.err"
rc=$?
wait $lab
lrc=$?
[ $rc -eq 0 ] && ok "live: exit 0" ||
    { notok "live: exit 0 (rc $rc)"; tail -n 5 "$TMPD/live.err"; }
[ $lrc -eq 0 ] && ok "lab: exit 0" ||
    { notok "lab: exit 0 (rc $lrc)"; tail -n 5 "$TMPD/lab.err"; }
[ "$(jstr "$TMPD/live.json" outcome)" = converged ] &&
    ok "live saw it converge" || notok "live saw it converge"

# QEMU's own final figures, from the lab's connection.
q_total=$(jnum "$TMPD/lab.json" total-time)
q_down=$(jnum "$TMPD/lab.json" downtime)
q_syncs=$(jnum "$TMPD/lab.json" dirty-sync-count)
q_xfer=$(jnum "$TMPD/lab.json" transferred)
q_setup=$(jnum "$TMPD/lab.json" setup-time)
row=$(sqlite3 "$TMPD/live.db" "SELECT r.complete, s.outcome,
    s.total_ns / 1000000, s.src_downtime_ns / 1000000, s.bitmap_syncs,
    s.bytes_transferred, s.setup_ns / 1000000 FROM runs r
    JOIN results s ON s.run_id = r.id")
want="1|converged|$q_total|$q_down|$q_syncs|$q_xfer|$q_setup"
[ -n "$q_total" ] && [ "$row" = "$want" ] &&
    ok "live record = QEMU's final query-migrate ($want)" ||
    notok "live record ($row) = QEMU's final query-migrate ($want)"
n=$(sqlite3 "$TMPD/live.db" "SELECT coalesce(sum(n), 0) FROM series_chunks")
[ "$n" -ge 10 ] && ok "samples recorded while it ran ($n)" ||
    notok "samples recorded while it ran ($n)"
# samples and events are chunks (schema 3): their rows come from runs export
states=$("$MIGSIM" runs --db "$TMPD/live.db" export last --format csv --table events |
    awk -F, '{ sub(/\r$/, "") } $3 == "state" { s = s (s ? "," : "") $6 } END { print s }')
# 10.0+ passes "device" between active and completed (model/mig_status.h)
want_states="setup,active,completed"
qmodel=$(jstr "$TMPD/live.json" qemu)
[ "${qmodel%%.*}" -ge 10 ] 2>/dev/null && want_states="setup,active,device,completed"
[ "$states" = "$want_states" ] &&
    ok "status changes from MIGRATION events ($states, QEMU $qmodel)" ||
    notok "status changes ($states; QEMU $qmodel expects $want_states)"
last=$("$MIGSIM" runs --db "$TMPD/live.db" export last --format csv --table series |
    awk -F, '{ sub(/\r$/, "") } NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { l = ($c["sent_bytes"] >= 0 && $c["ram_dirty_bytes"] == 0) } END { print l }')
[ "$last" = 1 ] && ok "last sample: nothing left to send" ||
    notok "last sample: nothing left to send"
finish
