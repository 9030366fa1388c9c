#!/bin/bash
# bench/replay.sh [BUILD] — replay throughput on a generated trace
# (bench/bench_replay.c, 1 GiB by default: REPLAY_BENCH_MIB), page cache
# warm, as ratios to baselines measured in the same run on the same file:
# `wc -l` (the practical limit of reading lines) and an awk one-liner that
# only extracts the pending sizes.  `migsim replay` is timed without the
# run store (--no-db) and with it (the default: a fresh store file each
# run, the source's SHA-256 hashed as the trace is read).  Every command
# runs REPLAY_BENCH_RUNS times (default 5), interleaved so that load on a
# shared machine hits all of them alike; the median counts (the best is
# shown too).  Goals (issue 15): replay --no-db >= 0.5 x wc -l, replay with
# the store >= 0.4 x wc -l, RSS flat in trace length.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mib=${REPLAY_BENCH_MIB:-1024}
runs=${REPLAY_BENCH_RUNS:-5}
bin=$build/migsim
gen=$build/bench/bench_replay
if [ ! -x "$gen" ]; then
    mkdir -p "$build/bench"
    cc -O2 -o "$gen" bench/bench_replay.c
fi
[ -x "$bin" ] || { echo "replay bench: $bin not built" >&2; exit 1; }
dir=${REPLAY_BENCH_DIR:-$build/bench}
trace=$dir/replay-${mib}MiB.log
if [ ! -f "$trace" ] || [ "$(stat -c %s "$trace")" -lt $((mib * 1048576)) ]; then
    "$gen" "$trace" "$mib"
fi
bytes=$(stat -c %s "$trace")
db=$dir/replay-bench.db
cat "$trace" >/dev/null # warm the page cache

# wall time of a command, seconds
wall() {
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s.%N)
    awk -v a="$s" -v b="$e" 'BEGIN { printf "%.6f\n", b - a }'
}
run_wc() { wc -l "$trace"; }
run_awk() { awk '/migrate_pending_e/ { print $5 }' "$trace"; }
run_nodb() { "$bin" replay --no-db --quiet --format json "$trace"; }
run_db() { "$bin" replay --db "$db" --quiet --format json "$trace"; }

names="wc awk nodb db"
for n in $names; do : >"$dir/replay-times-$n"; done
for _ in $(seq "$runs"); do
    for n in $names; do
        rm -f "$db" "$db-wal" "$db-shm"
        wall "run_$n" >>"$dir/replay-times-$n"
    done
done
# median and best of a command's times
med() { sort -g "$dir/replay-times-$1" | awk '{ v[NR] = $1 } END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { sort -g "$dir/replay-times-$1" | head -1; }

"$bin" replay --no-db --quiet --format json "$trace" >"$dir/replay-bench.json"
# peak RSS (KiB) with and without the store, when GNU time is there
rss() {
    if [ -x /usr/bin/time ]; then
        rm -f "$db" "$db-wal" "$db-shm"
        /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
    else
        echo "?"
    fi
}
rss_nodb=$(rss "$bin" replay --no-db --quiet --format json "$trace")
rss_db=$(rss "$bin" replay --db "$db" --quiet --format json "$trace")
rm -f "$db" "$db-wal" "$db-shm"

rate() { awk -v n="$bytes" -v t="$1" 'BEGIN { printf "%.0f", n / t / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
line() {
    printf '%-20s %8.3f s  %6s MB/s  (best %.3f s)\n' "$1" "$(med "$2")" \
        "$(rate "$(med "$2")")" "$(best "$2")"
}
printf 'trace        %s (%d bytes, %s lines), median of %d runs\n' "$trace" \
    "$bytes" \
    "$(python3 -c "import json; print(json.load(open('$dir/replay-bench.json'))['input']['lines'])" 2>/dev/null || echo '?')" \
    "$runs"
printf 'load average %s\n' "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
line 'wc -l' wc
line 'awk pending' awk
line 'replay --no-db' nodb
line 'replay (store)' db
printf 'ratio replay --no-db / wc -l   %s  (goal >= 0.5)\n' "$(ratio "$(med wc)" "$(med nodb)")"
printf 'ratio replay (store) / wc -l   %s  (goal >= 0.4)\n' "$(ratio "$(med wc)" "$(med db)")"
printf 'ratio replay --no-db / awk     %s  (goal > 1)\n' "$(ratio "$(med awk)" "$(med nodb)")"
printf 'store cost over --no-db        %s  (goal <= 1.2)\n' "$(ratio "$(med db)" "$(med nodb)")"
printf 'peak RSS     --no-db %s KiB, with the store %s KiB\n' "$rss_nodb" "$rss_db"
