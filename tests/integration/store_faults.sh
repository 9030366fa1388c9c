#!/bin/bash
# Store fault injection in SQLite's own style (issue 16): the test VFS
# (MIGSIM_TEST_VFS_FAIL=write:N|sync:N|lock:N, store/testvfs.c) fails the
# Nth write, sync or lock of one migsim process.  For every N of four
# store sessions (simulate, sweep, replay, merge) until N passes the
# session's last operation: the command reports the error (exit 4, a
# "migsim: error" line) or -- where SQLite itself absorbed the failure (a
# checkpoint at close; the data stays in the WAL) -- stored its runs
# completely; PRAGMA integrity_check passes; every run stored before is
# still there byte for byte (runs export).
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
. "$(dirname "$0")/runs_lib.sh"
unset MIGSIM_DB

BASE=$TMPD/base.db
for i in 1 2; do
    mkrun "$i" qemu vgpu0 converged 200000000 4000000000 1GB/s >"$TMPD/r$i.json"
done
"$MIGSIM" runs --db "$BASE" import "$TMPD"/r*.json >/dev/null
for i in 1 2; do "$MIGSIM" runs --db "$BASE" export "$i" >"$TMPD/want$i.json"; done
SRC=$TMPD/src.db
"$MIGSIM" simulate scenarios/idle-vm.json --db "$SRC" >/dev/null
"$MIGSIM" simulate scenarios/seed-vfio-21g.json --db "$SRC" >/dev/null
TRACE=tests/data/traces/03-migrate-transferred-estimate-8GB.log
W=$TMPD/work.db

session() {
    case $1 in
    simulate) "$MIGSIM" simulate scenarios/seed-vfio-21g.json --db "$W" ;;
    sweep) "$MIGSIM" sweep scenarios/idle-vm.json --grid workload.dirty_rate=100MB/s,1GB/s \
        --seeds 2 --jobs 2 --db "$W" --quiet --no-progress ;;
    replay) "$MIGSIM" replay "$TRACE" --db "$W" ;;
    merge) "$MIGSIM" runs merge "$SRC" -o "$W" ;;
    esac
}
# runs each session adds when it succeeds
declare -A ADDS=([simulate]=1 [sweep]=4 [replay]=1 [merge]=2)

for s in simulate sweep replay merge; do
    rm -f "$W" "$W-wal" "$W-shm"
    cp "$BASE" "$W"
    session "$s" >"$TMPD/o" 2>"$TMPD/e"
    rc=$?
    got=$(sqlite3 "$W" 'SELECT count(*) FROM runs WHERE complete = 1')
    if [ "$rc" -eq 0 ] && [ "$got" -eq $((2 + ADDS[$s])) ]; then
        ok "$s without a fault: exit 0, ${ADDS[$s]} runs added"
    else
        notok "$s without a fault: rc $rc, $got runs"
        sed 's/^/    /' "$TMPD/e" | head -5
    fi
    for op in write sync lock; do
        n=0 bad=0 absorbed=0
        while :; do
            n=$((n + 1))
            rm -f "$W" "$W-wal" "$W-shm"
            cp "$BASE" "$W"
            MIGSIM_TEST_VFS_FAIL=$op:$n session "$s" >"$TMPD/o" 2>"$TMPD/e"
            rc=$?
            grep -q "^migsim-test-vfs: failing" "$TMPD/e" || break
            why=
            if [ "$rc" -eq 4 ] && grep -q "^migsim: error: " "$TMPD/e"; then
                :
            elif [ "$rc" -eq 0 ] &&
                [ "$(sqlite3 "$W" 'SELECT count(*) FROM runs WHERE complete = 1')" -eq $((2 + ADDS[$s])) ]; then
                absorbed=$((absorbed + 1))
            else
                why="rc $rc, not reported: $(grep -v '^migsim-test-vfs' "$TMPD/e" | head -2 | tr '\n' ' ')"
            fi
            ic=$(sqlite3 "$W" 'PRAGMA integrity_check' 2>&1)
            [ "$ic" = ok ] || why="$why integrity_check: $ic"
            for i in 1 2; do
                "$MIGSIM" runs --db "$W" export "$i" 2>/dev/null | cmp -s - "$TMPD/want$i.json" ||
                    why="$why run $i changed or lost"
            done
            if [ -n "$why" ]; then
                bad=$((bad + 1))
                [ "$bad" -le 3 ] && echo "    $s $op:$n: $why"
            fi
            [ "$n" -ge 5000 ] && { why="runaway"; bad=$((bad + 1)); break; }
        done
        n=$((n - 1))
        if [ "$n" -eq 0 ]; then
            notok "$s: fault injection on $op: the session made no $op"
        elif [ "$bad" -eq 0 ]; then
            ok "$s: each of the $n ${op}s failed in turn: reported or absorbed ($absorbed), store sound, earlier runs intact"
        else
            notok "$s: $op: $bad of $n injected failures lost or hid something"
        fi
    done
done
finish
