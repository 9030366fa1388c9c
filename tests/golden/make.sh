#!/bin/bash
# Writes the golden outputs of the shipped scenarios and the shared traces
# into DIR (default tests/golden).  tests/integration/golden.sh runs this
# into a temporary folder and compares byte for byte; regenerate the
# committed copy only when an output is meant to change, and say so in the
# commit.  Run from the project root: MIGSIM=build/migsim tests/golden/make.sh
set -u
out=${1:-tests/golden}
: "${MIGSIM:=build/migsim}"
export MIGSIM_DB="$out/.scratch.db"

# run FILE CMD...: CMD's stdout into FILE, then its exit status (an exit 1,
# "the answer is no", is part of the answer)
run() {
    local f=$1
    shift
    "$@" >"$f"
    echo "exit $?" >>"$f"
}

for s in scenarios/*.json; do
    n=$(basename "$s" .json)
    run "$out/sim-$n.json" "$MIGSIM" simulate "$s" --format json --no-db
    run "$out/plan-$n.json" "$MIGSIM" plan "$s" --format json -j1
    run "$out/plan-$n.txt" "$MIGSIM" plan "$s" -j1
    # the table's last line gives wall time: left out
    sed -i '/ simulations, .* s)$/d' "$out/plan-$n.txt"
done
run "$out/compare.txt" "$MIGSIM" compare scenarios/seed-vfio-21g.json \
    --policy qemu --policy cached-stop-size --policy refresh-stop-size:1s \
    --policy non-iterable-report \
    --policy avail-switchover-bandwidth:80GB/s \
    --policy downtime-limit:30s --no-db
for t in ../shared/data/traces/*.log; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .log | cut -c1-2)
    run "$out/replay-$n.json" "$MIGSIM" replay "$t" --no-db --format json
    run "$out/replay-$n.txt" "$MIGSIM" replay "$t" --no-db
done
rm -f "$out/.scratch.db" "$out/.scratch.db-wal" "$out/.scratch.db-shm"
