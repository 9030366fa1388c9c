#!/bin/bash
# bench/store.sh [BUILD] — what keeping a run in the store costs (issue
# 15): the same command with the store (a fresh file before each run) and
# with --no-db, best of STORE_BENCH_RUNS (default 5) wall times, and their
# ratio.  Goals: <= 1.20 for replay and for a 1 h simulate of the seed case
# (page and aggregate RAM).  A sweep point's store cost (goal <= 10 % of
# the point) is measured by bench/bench_sweep.c ("store write" per point).
#
# The store is written where the user's would be, on the disk ($TMPDIR);
# the same command storing on tmpfs (/dev/shm, where fdatasync costs
# nothing) is measured beside it: the difference is the two fdatasyncs of
# the checkpoint at close (the run durable in the store file when the
# command exits), which on a shared virtual disk vary from 0.3 ms to tens.
# The last line stores into a store already holding runs, as a user's
# migsim.db does: db_open runs PRAGMA quick_check on stores up to 1 MiB.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$build/migsim
runs=${STORE_BENCH_RUNS:-5}
tmp=$(mktemp -d)
shm=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    shm=$(mktemp -d /dev/shm/migsim-bench-XXXXXX)
fi
trap 'rm -rf "$tmp" ${shm:+"$shm"}' EXIT
[ -x "$bin" ] || { echo "store bench: $bin not built" >&2; exit 1; }

# best wall time (s) of a command; a fresh store ($DBDIR/s.db) before each
# run, or a copy of $BASE_DB when that is set
best() {
    local b="" s e d
    for _ in $(seq "$runs"); do
        rm -f "$DBDIR"/s.db "$DBDIR"/s.db-wal "$DBDIR"/s.db-shm
        [ -n "${BASE_DB:-}" ] && cp "$BASE_DB" "$DBDIR/s.db"
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        d=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.6f", b - a }')
        if [ -z "$b" ] || awk -v d="$d" -v b="$b" 'BEGIN { exit !(d < b) }'; then
            b=$d
        fi
    done
    echo "$b"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# one case: --no-db, store on disk, store on tmpfs, back to back
measure() {
    local what=$1 nodb db sh=""
    shift
    DBDIR=$tmp
    nodb=$(best "$@" --no-db)
    db=$(best "$@" --db "$tmp/s.db")
    local out="$what: --no-db ${nodb}s, with store ${db}s: $(ratio "$db" "$nodb")x (goal <= 1.20)"
    if [ -n "$shm" ]; then
        DBDIR=$shm
        sh=$(best "$@" --db "$shm/s.db")
        out="$out; store on tmpfs ${sh}s: $(ratio "$sh" "$nodb")x"
    fi
    echo "$out"
}

seed=scenarios/seed-vfio-21g.json
for mode in page aggregate; do
    set_=(--set migration.time_limit=1h --set sim.ram_mode=$mode)
    measure "simulate seed 1h $mode" "$bin" simulate "$seed" "${set_[@]}"
done
echo "  (a 1 h seed run: $(sqlite3 "$tmp/s.db" 'SELECT (SELECT sum(n) FROM series_chunks) || '"' samples, '"' || (SELECT sum(n) FROM event_chunks) || '"' events in '"' || ((SELECT count(*) FROM series_chunks) + (SELECT count(*) FROM event_chunks)) || '"' chunks'"''), store file $(stat -c %s "$tmp/s.db") bytes)"

trace=${STORE_BENCH_TRACE:-tests/data/traces/01-vfio-vgpu-21GB-estimate-exact-spin.log}
measure "replay $(basename "$trace")" "$bin" replay "$trace"

# into a store already holding three 1 h seed runs (a user's migsim.db)
DBDIR=$tmp
rm -f "$tmp/base.db"*
for _ in 1 2 3; do
    "$bin" simulate "$seed" --set migration.time_limit=1h --db "$tmp/base.db" >/dev/null
done
set_=(--set migration.time_limit=1h --set sim.ram_mode=aggregate)
nodb=$(best "$bin" simulate "$seed" "${set_[@]}" --no-db)
db=$(BASE_DB=$tmp/base.db best "$bin" simulate "$seed" "${set_[@]}" --db "$tmp/s.db")
echo "simulate seed 1h aggregate into a store of 3 runs ($(stat -c %s "$tmp/base.db") bytes, quick_check at open): --no-db ${nodb}s, with store ${db}s: $(ratio "$db" "$nodb")x"

# A whole sweep into a fresh store, for scale (every point stored,
# metrics only).
pts=800
grid=(--grid workload.dirty_rate=100MB/s,200MB/s,300MB/s,500MB/s,700MB/s,1GB/s,2GB/s,4GB/s --seeds 100)
sw=$(best "$bin" sweep "$seed" --set migration.time_limit=10min "${grid[@]}" --jobs 1 --db "$tmp/s.db" --quiet --no-progress)
echo "sweep $pts points of the seed case (10 min), 1 job, into a fresh store: ${sw}s ($(awk -v t="$sw" -v n=$pts 'BEGIN { printf "%.0f", n / t }') points/s)"
