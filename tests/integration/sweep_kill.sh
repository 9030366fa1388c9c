#!/bin/bash
# 100 SIGKILLs of a sweep at random (seeded) moments, each followed by a
# resume with the same command; then a last resume to the end: every
# point is stored exactly once and complete, the store is sound (issue 16).
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
unset MIGSIM_DB
DB=$TMPD/kill.db
POINTS=9000
sweep() {
    exec "$MIGSIM" sweep scenarios/seed-vfio-21g.json \
        --grid workload.dirty_rate=100MB/s,200MB/s,300MB/s,500MB/s,700MB/s,1GB/s,2GB/s,3GB/s,4GB/s --seeds 1000 --jobs 2 \
        --db "$DB" --quiet --no-progress
}
RANDOM=20261203
kills=0 tries=0
while [ "$kills" -lt 100 ] && [ "$tries" -lt 400 ]; do
    tries=$((tries + 1))
    (sweep) >/dev/null 2>&1 &
    pid=$!
    ms=$((RANDOM % 300 + 20))
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null
done
check "100 SIGKILLs landed while the sweep ran ($kills in $tries starts)" test "$kills" -eq 100
check "the killed store is sound" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
before=$(sqlite3 "$DB" 'SELECT count(*) FROM runs WHERE complete = 1')
check "resume after the kills: exit 0" bash -c "$(declare -f sweep); MIGSIM='$MIGSIM' DB='$DB' sweep"
check "every point stored once ($before before the last resume)" test \
    "$(sqlite3 "$DB" 'SELECT count(*), count(DISTINCT run_key), sum(complete) FROM runs')" = "$POINTS|$POINTS|$POINTS"
check "the resumed store is sound" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
finish
