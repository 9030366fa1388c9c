#!/bin/sh
# fuzz/build.sh — what `make fuzz` runs: build every libFuzzer harness
# fuzz/fuzz_*.c (trace lines/QMP/HMP/embedded, simpletrace records, units,
# scenario JSON + --set, the QMP client) with ASan + UBSan, then fuzz each
# for FUZZ_TIME seconds (default 60) starting from the committed corpus in
# fuzz/corpus/<harness>/.  New inputs go to build/fuzz/corpus-<harness>/
# (the committed corpus is never written); crashes are written as
# build/fuzz/crash-* and make the script fail.
#
# Environment: FUZZ_TIME (s per harness), FUZZ_CC (default clang),
# FUZZ_OUT (default build/fuzz), FUZZ_BUILD_ONLY=1 (build, do not run),
# FUZZ_JOBS (parallel compiles, default 2).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_OUT:-$root/build/fuzz}
time=${FUZZ_TIME:-60}
cc=${FUZZ_CC:-clang}
jobs=${FUZZ_JOBS:-2}
harnesses=$(cd "$root/fuzz" && ls fuzz_*.c | sed 's/\.c$//')

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: $cc not found (libFuzzer needs clang; FUZZ_CC=...)" >&2
    exit 1
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
    echo "fuzz: $cc cannot link -fsanitize=fuzzer (install libFuzzer, e.g. clang)" >&2
    exit 1
fi

pkgflags=$(pkg-config --cflags gsl jansson zlib libcrypto 2>/dev/null || true)
pkglibs=$(pkg-config --libs gsl jansson zlib libcrypto 2>/dev/null || echo -lgsl -lgslcblas -ljansson -lz -lcrypto)
cflags="-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -I$root $pkgflags"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$out/obj"

# the model library the replay links with (traces, sim, policy, devices)
srcs=$(cd "$root" && ls traces/*.c base/*.c engine/*.c run/*.c model/*.c policy/*.c devices/*.c live/qmp.c)
echo "fuzz: compiling $(echo "$srcs" | wc -w) sources with $cc"
export cc cflags san root out
echo "$srcs" | xargs -P "$jobs" -n 1 sh -c '
    o="$out/obj/$(echo "$1" | tr / _).o"
    if [ ! -f "$o" ] || [ "$root/$1" -nt "$o" ]; then
        $cc $cflags $san -fsanitize=fuzzer-no-link -c "$root/$1" -o "$o"
    fi' sh
objs=$(for s in $srcs; do echo "$out/obj/$(echo "$s" | tr / _).o"; done)
for h in $harnesses; do
    # shellcheck disable=SC2086
    $cc $cflags $san -fsanitize=fuzzer "$root/fuzz/$h.c" $objs \
        $pkglibs -lm -lpthread -o "$out/$h"
    echo "fuzz: built $out/$h"
done
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

fail=0
for h in $harnesses; do
    mkdir -p "$out/corpus-$h"
    echo "fuzz: running $h for ${time}s"
    if ! (cd "$out" && "./$h" -max_total_time="$time" -max_len=65536 \
            -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
            "corpus-$h" "$root/fuzz/corpus/$h"); then
        echo "fuzz: $h FAILED (see $out/crash-* / leak-* / timeout-*)" >&2
        fail=1
    fi
done
exit $fail
