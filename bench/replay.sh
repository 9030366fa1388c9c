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

# wall time of a command and its CPU time (user + sys, "?" without GNU
# time), seconds: the CPU time is what load on a shared machine disturbs
# least
wall() {
    local s e c=?
    s=$(date +%s.%N)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%U %S' -o "$dir/replay-cpu" "$@" >/dev/null 2>&1
        c=$(awk '{ printf "%.2f", $1 + $2 }' "$dir/replay-cpu")
    else
        "$@" >/dev/null 2>&1
    fi
    e=$(date +%s.%N)
    awk -v a="$s" -v b="$e" -v c="$c" 'BEGIN { printf "%.6f %s\n", b - a, c }'
}
run_wc=(wc -l "$trace")
run_awk=(awk '/migrate_pending_e/ { print $5 }' "$trace")
run_nodb=("$bin" replay --no-db --quiet --format json "$trace")
run_db=("$bin" replay --db "$db" --quiet --format json "$trace")

load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
names="wc awk nodb db"
for n in $names; do : >"$dir/replay-times-$n"; done
for _ in $(seq "$runs"); do
    for n in $names; do
        rm -f "$db" "$db-wal" "$db-shm"
        declare -n cmd="run_$n"
        wall "${cmd[@]}" >>"$dir/replay-times-$n"
        unset -n cmd
    done
done
# median and best of a command's wall times; median of its CPU times
med() { sort -g "$dir/replay-times-$1" | awk '{ v[NR] = $1 } END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { sort -g "$dir/replay-times-$1" | head -1 | cut -d' ' -f1; }
cpu() { cut -d' ' -f2 "$dir/replay-times-$1" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

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
    printf '%-20s %8.3f s  %6s MB/s  (best %.3f s, CPU %s s)\n' "$1" \
        "$(med "$2")" "$(rate "$(med "$2")")" "$(best "$2")" "$(cpu "$2")"
}
printf 'trace        %s (%d bytes, %s lines), median of %d runs\n' "$trace" \
    "$bytes" \
    "$(python3 -c "import json; print(json.load(open('$dir/replay-bench.json'))['input']['lines'])" 2>/dev/null || echo '?')" \
    "$runs"
printf 'load average %s at the start, %s at the end\n' "$load0" \
    "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
line 'wc -l' wc
line 'awk pending' awk
line 'replay --no-db' nodb
line 'replay (store)' db
printf 'ratio replay --no-db / wc -l   %s  (goal >= 0.5)\n' "$(ratio "$(med wc)" "$(med nodb)")"
printf 'ratio replay (store) / wc -l   %s  (goal >= 0.4)\n' "$(ratio "$(med wc)" "$(med db)")"
printf 'ratio replay --no-db / awk     %s  (goal > 1)\n' "$(ratio "$(med awk)" "$(med nodb)")"
printf 'store cost over --no-db        %s  (goal <= 1.2)\n' "$(ratio "$(med db)" "$(med nodb)")"
printf 'peak RSS     --no-db %s KiB, with the store %s KiB\n' "$rss_nodb" "$rss_db"
