#!/bin/bash
# make bench: build the bench programs against BUILD/libmigsim.a and run them.
# Figures are ratios to baselines measured in the same run; record them in
# docs/benchmarks.md by hand (they depend on the machine).
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
libs="$(pkg-config --libs gsl jansson sqlite3 zlib libcrypto 2>/dev/null || echo -lgsl -lgslcblas -ljansson -lsqlite3 -lz -lcrypto) -lm -lpthread"
mkdir -p "$build/bench"
for src in bench/bench_*.c; do
    name=$(basename "$src" .c)
    cc -std=c11 -D_GNU_SOURCE -O2 -g -I. "$src" "$build/libmigsim.a" $libs -o "$build/bench/$name"
done
echo "== simulator (issue 2)"
"$build/bench/bench_sim"
[ -x "$build/bench/bench_ram" ] && { echo "== RAM model"; "$build/bench/bench_ram"; }
for s in bench/*.sh; do
    case "$s" in bench/run.sh) continue ;; esac
    echo "== $s"
    bash "$s" "$build"
done
