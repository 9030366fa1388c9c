#!/bin/sh
# fuzz/run-corpus.sh — replay the committed fuzz corpus (fuzz/corpus/*/)
# through the harnesses built with AddressSanitizer and
# UndefinedBehaviorSanitizer; no libFuzzer needed (fuzz/driver.c provides
# main).  Meant for `make check`: exit 0 when every input ran clean,
# non-zero on any sanitizer report or crash.
#
# Environment: CC (default cc), FUZZ_OUT (default build/fuzz-corpus),
# FUZZ_JOBS (parallel compiles, default 2).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_OUT:-$root/build/fuzz-corpus}
cc=${CC:-cc}
jobs=${FUZZ_JOBS:-2}
harnesses=$(cd "$root/fuzz" && ls fuzz_*.c | sed 's/\.c$//')

pkgflags=$(pkg-config --cflags gsl jansson zlib libcrypto 2>/dev/null || true)
pkglibs=$(pkg-config --libs gsl jansson zlib libcrypto 2>/dev/null || echo -lgsl -lgslcblas -ljansson -lz -lcrypto)
cflags="-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -I$root $pkgflags"
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
mkdir -p "$out/obj"
srcs=$(cd "$root" && ls traces/*.c base/*.c engine/*.c run/*.c model/*.c policy/*.c devices/*.c live/qmp.c store/blob.c fuzz/driver.c)
export cc cflags san root out
echo "$srcs" | xargs -P "$jobs" -n 1 "$root/fuzz/compile.sh"
objs=$(for s in $srcs; do echo "$out/obj/$(echo "$s" | tr / _).o"; done)
fail=0
for h in $harnesses; do
    # shellcheck disable=SC2086
    $cc $cflags $san "$root/fuzz/$h.c" $objs $pkglibs -lm -lpthread \
        -o "$out/$h"
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$out/$h" "$root/fuzz/corpus/$h"; then
        echo "ok - fuzz corpus $h"
    else
        echo "not ok - fuzz corpus $h"
        fail=1
    fi
done
exit $fail
