#!/bin/bash
# The dependency rule (docs/hacking.md): no #include points upwards, and the
# checker does catch one planted in a copy of two folders.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
check "no include points upwards" scripts/check-layers.sh
mkdir -p "$TMPD/tree/engine" "$TMPD/tree/model"
cp engine/*.[ch] "$TMPD/tree/engine/"
cp model/*.[ch] "$TMPD/tree/model/"
sed -i '0,/^#include "/s//#include "model\/mig.h"\n&/' "$TMPD/tree/engine/engine.c"
check_rc "a planted engine -> model include is refused" 1 \
    scripts/check-layers.sh "$TMPD/tree"
if grep -q 'engine/engine.c:.*engine -> model/mig.h (points upwards)' "$TMPD/rc.out"; then
    ok "the refusal names file, line and arrow"
else
    notok "the refusal names file, line and arrow"
    sed 's/^/    /' "$TMPD/rc.out"
fi
finish
