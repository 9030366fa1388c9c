#!/bin/bash
# bench/store.sh [BUILD] — what keeping a run in the store costs (issue
# 15): the same command with the store (a fresh file before each run) and
# with --no-db, best of STORE_BENCH_RUNS (default 5) wall times, and their
# ratio.  Goals: <= 1.20 for replay and for a 1 h simulate of the seed case
# (page and aggregate RAM).  A sweep point's store cost (goal <= 10 % of
# the point) is measured by bench/bench_sweep.c ("store write" per point).
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$build/migsim
runs=${STORE_BENCH_RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$bin" ] || { echo "store bench: $bin not built" >&2; exit 1; }

# best wall time (s) of a command; a fresh store before each run
best() {
    local b="" s e d
    for _ in $(seq "$runs"); do
        rm -f "$tmp"/s.db "$tmp"/s.db-wal "$tmp"/s.db-shm
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

seed=scenarios/seed-vfio-21g.json
for mode in page aggregate; do
    set_=(--set migration.time_limit=1h --set sim.ram_mode=$mode)
    nodb=$(best "$bin" simulate "$seed" "${set_[@]}" --no-db)
    db=$(best "$bin" simulate "$seed" "${set_[@]}" --db "$tmp/s.db")
    rows=$(sqlite3 "$tmp/s.db" 'SELECT (SELECT sum(n) FROM series_chunks) || " samples, " || (SELECT sum(n) FROM event_chunks) || " events in " || (SELECT count(*) FROM series_chunks) + (SELECT count(*) FROM event_chunks) || " chunks"')
    echo "simulate seed 1h $mode: --no-db ${nodb}s, with store ${db}s ($rows rows): $(ratio "$db" "$nodb")x (goal <= 1.20)"
done

trace=${STORE_BENCH_TRACE:-tests/data/traces/01-vfio-vgpu-21GB-estimate-exact-spin.log}
nodb=$(best "$bin" replay "$trace" --no-db)
db=$(best "$bin" replay "$trace" --db "$tmp/s.db")
echo "replay $(basename "$trace"): --no-db ${nodb}s, with store ${db}s: $(ratio "$db" "$nodb")x (goal <= 1.20)"

# A whole sweep into a fresh store, for scale (every point stored,
# metrics only).
pts=800
grid=(--grid workload.dirty_rate=100MB/s,200MB/s,300MB/s,500MB/s,700MB/s,1GB/s,2GB/s,4GB/s --seeds 100)
sw=$(best "$bin" sweep "$seed" --set migration.time_limit=10min "${grid[@]}" --jobs 1 --db "$tmp/s.db" --quiet --no-progress)
echo "sweep $pts points of the seed case (10 min), 1 job, into a fresh store: ${sw}s ($(awk -v t="$sw" -v n=$pts 'BEGIN { printf "%.0f", n / t }') points/s)"
