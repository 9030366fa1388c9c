#!/bin/bash
# Test runner: tests/run.sh unit|integration|all BUILD_DIR
# Runs every cmocka binary in BUILD_DIR/tests and every tests/integration/*.sh
# (with MIGSIM pointing at BUILD_DIR/migsim), then prints one closing line
# "check: N passed, N failed".  Exit status 1 if anything failed.
set -u
what=${1:-all}
build=${2:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0
failed_names=()
export MIGSIM="$root/$build/migsim"
export MIGSIM_ROOT="$root"
export CMOCKA_MESSAGE_OUTPUT=STDOUT
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$what" = unit ] || [ "$what" = all ]; then
    for t in "$root/$build"/tests/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        (cd "$root" && "$t") >"$tmp/out" 2>&1
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$tmp/out" | awk '{s+=$1} END {print s+0}')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$tmp/out" | awk '{s+=$1} END {print s+0}')
        if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        pass=$((pass + p))
        fail=$((fail + f))
        if [ $rc -ne 0 ]; then
            failed_names+=("$name")
            echo "---- $name failed (rc=$rc):"
            tail -n 40 "$tmp/out"
        else
            echo "unit: $name: $p passed"
        fi
    done
fi

if [ "$what" = integration ] || [ "$what" = all ]; then
    for s in "$root"/tests/integration/*.sh; do
        [ -f "$s" ] || continue
        name=$(basename "$s")
        case "$name" in lib.sh | *_lib.sh) continue ;; esac
        (cd "$root" && bash "$s") >"$tmp/out" 2>&1
        rc=$?
        p=$(grep -c '^ok ' "$tmp/out")
        f=$(grep -c '^not ok ' "$tmp/out")
        if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        pass=$((pass + p))
        fail=$((fail + f))
        if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
            failed_names+=("$name")
            echo "---- $name failed (rc=$rc):"
            tail -n 60 "$tmp/out"
        else
            echo "integration: $name: $p passed"
        fi
    done
fi

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "check ($build): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
