#!/bin/bash
# The source QEMU is killed (SIGKILL) in the middle of a migration that
# migsim lab runs and migsim live observes: both say clearly what happened,
# both keep their run marked incomplete with what they saw, and the lab
# stops the destination.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

w="$TMPD/w"
"$MIGSIM" lab run --db "$TMPD/lab.db" --workdir "$w" --observer \
    --working-set 64MiB --dirty-rate 64MiB/s --max-bandwidth 16MiB/s \
    --time-limit 60s >"$TMPD/lab.out" 2>"$TMPD/lab.err" &
lab=$!
bg_track $lab
wait_for 60 test -S "$w/src-observe.qmp" || {
    notok "observer socket appears"
    finish
}
"$MIGSIM" live --qmp "$w/src-observe.qmp" --db "$TMPD/live.db" \
    --time-limit 60s >"$TMPD/live.out" 2>"$TMPD/live.err" &
live=$!
bg_track $live
# Kill once the migration has been active for a while.
if wait_for 60 grep -q "new state active" "$w/trace.log"; then
    sleep 2
    kill -KILL "$(cat "$w/src.pid")"
    ok "source QEMU killed mid-migration"
else
    notok "migration became active"
fi
wait $live
rc=$?
wait $lab
lrc=$?
[ $rc -eq 5 ] && ok "live: exit 5" || notok "live: exit 5 (rc $rc)"
grep -q "error: QEMU went away (exited or killed?) while the migration \
was active" "$TMPD/live.err" && ok "live says QEMU went away" ||
    { notok "live says QEMU went away"; cat "$TMPD/live.err"; }
[ $lrc -eq 5 ] && ok "lab: exit 5" || notok "lab: exit 5 (rc $lrc)"
grep -q "error: source QEMU (pid [0-9]*) was killed by signal 9" \
    "$TMPD/lab.err" && ok "lab names the killed QEMU and the signal" ||
    { notok "lab names the killed QEMU"; cat "$TMPD/lab.err"; }
for db in live lab; do
    row=$(sqlite3 "$TMPD/$db.db" "SELECT complete, verdict LIKE 'incomplete:%',
        (SELECT coalesce(sum(n), 0) FROM series_chunks) > 5,
        (SELECT count(*) FROM results) FROM runs")
    [ "$row" = "0|1|1|0" ] &&
        ok "$db: run kept incomplete with its samples" ||
        notok "$db: run kept incomplete with its samples ($row)"
done
"$MIGSIM" runs show 1 --db "$TMPD/live.db" >"$TMPD/show.out" 2>&1 &&
    grep -q "incomplete" "$TMPD/show.out" &&
    ok "runs show reads the incomplete run" || notok "runs show"
dst=$(cat "$w/dst.pid")
kill -0 "$dst" 2>/dev/null && notok "destination QEMU stopped" ||
    ok "destination QEMU stopped"
finish
