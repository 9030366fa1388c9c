#!/bin/sh
# fuzz/build.sh — what `make fuzz` runs: build every libFuzzer harness
# fuzz/fuzz_*.c (trace lines/QMP/HMP/embedded, simpletrace records, units,
# scenario JSON + --set, the QMP client) with ASan + UBSan, then fuzz each
# for FUZZ_TIME seconds (default 60) starting from the committed corpus in
# fuzz/corpus/<harness>/.  New inputs go to build/fuzz/corpus-<harness>/
# (the committed corpus is never written); crashes are written as
# build/fuzz/crash-* and make the script fail.
#
# Environment: FUZZ_TIME (s per harness), FUZZ_RUNS (stop each harness
# after this many executions instead; with both, the first reached),
# FUZZ_ONLY (harness names to run, e.g. "fuzz_qmp fuzz_units"), FUZZ_CC
# (default clang), FUZZ_OUT (default build/fuzz), FUZZ_BUILD_ONLY=1 (build,
# do not run), FUZZ_JOBS (parallel compiles, default 2).
#
# At the end a table gives, per harness: executions, executions per second,
# coverage (edges reached / edges instrumented in what the harness links,
# as libFuzzer counts them; "ft" is its finer feature count), the corpus
# size, peak RSS and the result.  The same rows are appended to
# $FUZZ_OUT/campaign.tsv with the date and the commit, so a campaign made
# of several runs can be summed (docs/reliability.md).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_OUT:-$root/build/fuzz}
time=${FUZZ_TIME:-60}
cc=${FUZZ_CC:-clang}
jobs=${FUZZ_JOBS:-2}
harnesses=$(cd "$root/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
runs=${FUZZ_RUNS:-}
only=${FUZZ_ONLY:-}

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
srcs=$(cd "$root" && ls traces/*.c base/*.c engine/*.c run/*.c model/*.c policy/*.c devices/*.c live/qmp.c store/blob.c)
echo "fuzz: compiling $(echo "$srcs" | wc -w) sources with $cc"
san="$san -fsanitize=fuzzer-no-link"
export cc cflags san root out
echo "$srcs" | xargs -P "$jobs" -n 1 "$root/fuzz/compile.sh"
objs=$(for s in $srcs; do echo "$out/obj/$(echo "$s" | tr / _).o"; done)
for h in $harnesses; do
    # shellcheck disable=SC2086
    $cc $cflags $san -fsanitize=fuzzer "$root/fuzz/$h.c" $objs \
        $pkglibs -lm -lpthread -o "$out/$h"
    echo "fuzz: built $out/$h"
done
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

fail=0
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
summary="$out/summary.txt"
: >"$summary"
for h in $harnesses; do
    if [ -n "$only" ] && ! printf ' %s ' $only | grep -q " $h "; then
        continue
    fi
    mkdir -p "$out/corpus-$h"
    limit="-max_total_time=$time"
    what="${time}s"
    if [ -n "$runs" ]; then
        limit="-runs=$runs"
        what="$runs executions"
        [ -n "${FUZZ_TIME:-}" ] && limit="$limit -max_total_time=$time" &&
            what="$what or ${time}s"
    fi
    echo "fuzz: running $h for $what"
    log="$out/log-$h.txt"
    # a harness may bound its inputs ("Max-len: N" in its comment; the
    # trace readers' records are a few hundred bytes, and long inputs only
    # make each execution slower), else 64 KiB
    maxlen=$(sed -n 's/^ \* Max-len: \([0-9]*\).*/\1/p' "$root/fuzz/$h.c")
    maxlen=${maxlen:-65536}
    t0=$(date +%s)
    rc=0
    # shellcheck disable=SC2086
    (cd "$out" && "./$h" $limit -max_len="$maxlen" \
        -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
        "corpus-$h" "$root/fuzz/corpus/$h") >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - t0))
    tail -n 3 "$log"
    result=ok
    if [ "$rc" -ne 0 ]; then
        echo "fuzz: $h FAILED (see $log and $out/crash-* / leak-* / timeout-*)" >&2
        result=FAILED
        fail=1
    fi
    # what libFuzzer printed: instrumented edges at start, coverage and
    # features on its last status line, the final stats
    edges=$(sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -n 1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    # libFuzzer prints 0 exec/s for runs under a second
    if [ "${eps:-0}" = 0 ] && [ -n "${execs:-}" ]; then
        eps="$(awk -v n="$execs" -v s="$secs" 'BEGIN { if (s > 0) print int(n / s); else print "<1s" }')"
    fi
        # coverage of the code the harness is for (its "Coverage:" files):
    # the corpus replayed once with libFuzzer's per-function edge counts
    files=$(sed -n 's/^ \* Coverage: //p' "$root/fuzz/$h.c")
    tcov=$( (cd "$out" && "./$h" -runs=0 -print_coverage=1 \
        "corpus-$h" "$root/fuzz/corpus/$h") 2>&1 |
        awk -v files="$files" -v root="$root/" '
            BEGIN { n = split(files, f, " "); for (i = 1; i <= n; i++) want[root f[i]] = 1 }
            /^(UN)?COVERED_FUNC: / {
                loc = $NF; sub(/:[0-9]+$/, "", loc)
                if (!(loc in want)) next
                split($5, e, "/"); got += e[1]; all += e[2]
            }
            END { if (all > 0) printf "%d/%d %.1f%%", got, all, 100 * got / all; else print "?" }')
    printf '%-18s %11s %8s %18s %15s %6s %12s %6s MB  %s\n' "$h" \
        "${execs:-?}" "${eps:-?}" "$tcov" "${cov:-?}/${edges:-?}" "${ft:-?}" \
        "${corp:-?}" "${rss:-?}" "$result" >>"$summary"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$commit" "$h" "$secs" "${execs:-}" \
        "${eps:-}" "$tcov" "${cov:-}/${edges:-}" "${ft:-}" "${corp:-}" "$result" \
        >>"$out/campaign.tsv"
done
echo
echo "fuzz: summary (commit $commit)"
echo "  target cov: edges reached in the harness's own files (its 'Coverage:' line)"
echo "  all edges: reached / instrumented in everything it links; ft: libFuzzer features"
printf '%-18s %11s %8s %18s %15s %6s %12s %9s  %s\n' harness execs exec/s \
    "target cov" "all edges" ft corpus "peak RSS" result
cat "$summary"
exit $fail
