#!/bin/bash
# plan with every seed count from 1 (the first pass always probes two
# seeds; --seeds 1 once overran the probe array and aborted with a heap
# corruption).
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
for n in 1 2 3; do
    for s in scenarios/idle-vm.json scenarios/dirty-over-bandwidth.json; do
        "$MIGSIM" plan "$s" --seeds "$n" -j1 -f json >"$TMPD/out" 2>"$TMPD/err"
        rc=$?
        if [ "$rc" -le 1 ] && grep -q '"frontier"' "$TMPD/out"; then
            ok "plan $(basename "$s") --seeds $n (exit $rc)"
        else
            notok "plan $(basename "$s") --seeds $n (exit $rc)"
            tail -3 "$TMPD/err" | sed 's/^/    /'
        fi
    done
done
finish
