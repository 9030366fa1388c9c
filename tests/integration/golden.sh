#!/bin/bash
# The outputs of the shipped scenarios (simulate --format json, plan, the
# demo's compare) and the replays of ../shared/data/traces stay byte for byte
# what tests/golden holds.  A change meant to alter them regenerates the
# copy with tests/golden/make.sh and says so in its commit.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
if [ ! -d ../shared/data/traces ]; then
    echo "skip - golden replays: ../shared/data/traces is absent"
fi
if MIGSIM="$MIGSIM" tests/golden/make.sh "$TMPD" >"$TMPD/make.out" 2>&1; then
    ok "golden outputs generated"
else
    notok "golden outputs generated"
    tail -5 "$TMPD/make.out" | sed 's/^/    /'
fi
for g in tests/golden/*.json tests/golden/*.txt; do
    n=$(basename "$g")
    case "$n" in replay-*) [ -d ../shared/data/traces ] || continue ;; esac
    if cmp -s "$g" "$TMPD/$n"; then ok "golden $n"; else
        notok "golden $n"
        diff "$g" "$TMPD/$n" | head -20 | sed 's/^/    /'
    fi
done
finish
