#!/bin/bash
# Sweep throughput (issue 7): points/s/core for 10-minute migrations in
# aggregate RAM mode and the 1 -> 2 jobs scaling, as ratios to a baseline
# measured in the same run.  Usage: bench/sweep.sh [BUILD_DIR]
# (run by 'make bench' through bench/run.sh, which builds bench_sweep).
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
bin="$build/bench/bench_sweep"
if [ ! -x "$bin" ] || [ "$bin" -ot "$build/libmigsim.a" ] ||
    [ "$bin" -ot bench/bench_sweep.c ]; then
    libs="$(pkg-config --libs gsl jansson sqlite3 zlib libcrypto 2>/dev/null ||
        echo -lgsl -lgslcblas -ljansson -lsqlite3 -lz -lcrypto) -lm -lpthread"
    mkdir -p "$build/bench"
    # shellcheck disable=SC2086
    cc -std=c11 -D_GNU_SOURCE -O2 -g -I. bench/bench_sweep.c \
        "$build/libmigsim.a" $libs -o "$bin"
fi
"$bin"
