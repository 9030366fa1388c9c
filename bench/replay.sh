#!/bin/bash
# bench/replay.sh [BUILD] — replay throughput on a generated trace
# (bench/bench_replay.c, 1 GiB by default: REPLAY_BENCH_MIB), page cache
# warm, as ratios to two baselines measured in the same run on the same
# file: `wc -l` (the practical limit of reading lines) and an awk
# one-liner that only extracts the pending sizes.  Each command runs
# REPLAY_BENCH_RUNS times (default 3); the best time counts.  Goals (issue
# 4): replay >= 0.4 of wc -l, and faster than awk.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mib=${REPLAY_BENCH_MIB:-1024}
runs=${REPLAY_BENCH_RUNS:-3}
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
cat "$trace" >/dev/null # warm the page cache

# best wall time of a command, seconds
best() {
    local b="" s e d
    for _ in $(seq "$runs"); do
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

t_wc=$(best wc -l "$trace")
t_awk=$(best awk '/migrate_pending_e/ { print $5 }' "$trace")
t_rp=$(best "$bin" replay --no-db --quiet --format json "$trace")
"$bin" replay --no-db --quiet --format json "$trace" >"$dir/replay-bench.json"

rate() { awk -v n="$bytes" -v t="$1" 'BEGIN { printf "%.0f", n / t / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf 'trace        %s (%d bytes, %s lines)\n' "$trace" "$bytes" \
    "$(python3 -c "import json; print(json.load(open('$dir/replay-bench.json'))['input']['lines'])" 2>/dev/null || echo '?')"
printf 'wc -l        %8.3f s  %6s MB/s\n' "$t_wc" "$(rate "$t_wc")"
printf 'awk pending  %8.3f s  %8s MB/s\n' "$t_awk" "$(rate "$t_awk")"
printf 'replay       %8.3f s  %8s MB/s\n' "$t_rp" "$(rate "$t_rp")"
printf 'ratio replay/wc -l   %s  (goal >= 0.4)\n' "$(ratio "$t_wc" "$t_rp")"
printf 'ratio replay/awk     %s  (goal > 1)\n' "$(ratio "$t_awk" "$t_rp")"
