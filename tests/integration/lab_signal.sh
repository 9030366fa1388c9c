#!/bin/bash
# Ctrl-C (SIGINT) and SIGTERM to migsim lab in the middle of a migration:
# exit 128+signal, both QEMUs gone, the private work directory removed, the
# run kept incomplete.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

for sig in INT TERM; do
    w="$TMPD/w$sig"
    "$MIGSIM" lab run --db "$TMPD/$sig.db" --workdir "$w" \
        --working-set 64MiB --dirty-rate 64MiB/s --max-bandwidth 16MiB/s \
        --time-limit 60s >"$TMPD/$sig.out" 2>"$TMPD/$sig.err" &
    lab=$!
    bg_track $lab
    if wait_for 60 grep -q "new state active" "$w/trace.log"; then
        sleep 1
        kill -$sig $lab
    else
        notok "migration became active"
    fi
    wait $lab
    rc=$?
    want=$((128 + $(kill -l $sig)))
    [ $rc -eq $want ] && ok "SIG$sig: exit $want" ||
        notok "SIG$sig: exit $want (rc $rc)"
    grep -q "interrupted by a signal" "$TMPD/$sig.err" &&
        ok "SIG$sig: says it was interrupted" ||
        { notok "SIG$sig: says it was interrupted"; cat "$TMPD/$sig.err"; }
    for p in src dst; do
        pid=$(cat "$w/$p.pid")
        kill -0 "$pid" 2>/dev/null && notok "SIG$sig: $p QEMU $pid gone" ||
            ok "SIG$sig: $p QEMU gone"
    done
    row=$(sqlite3 "$TMPD/$sig.db" "SELECT complete,
        (SELECT coalesce(sum(n), 0) FROM series_chunks) > 0 FROM runs")
    [ "$row" = "0|1" ] && ok "SIG$sig: run kept incomplete" ||
        notok "SIG$sig: run kept incomplete ($row)"
done
finish
