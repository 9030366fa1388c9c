#!/bin/sh
# fuzz/compile.sh SRC — what fuzz/build.sh and fuzz/run-corpus.sh run for
# each library source (through xargs, in parallel): compile $root/SRC into
# $out/obj/<SRC with / as _>.o with $cc $cflags $san, unless the object is
# newer than the source and every header the compiler listed for it last
# time (its .d file).  Environment: cc, cflags, san, root, out.
set -eu
o="$out/obj/$(echo "$1" | tr / _).o"
stale=0
if [ ! -f "$o" ] || [ ! -f "$o.d" ] || [ "$root/$1" -nt "$o" ]; then
    stale=1
else
    for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$o.d"); do
        if [ "$dep" -nt "$o" ]; then
            stale=1
            break
        fi
    done
fi
if [ "$stale" = 1 ]; then
    # shellcheck disable=SC2086
    $cc $cflags $san -MMD -MF "$o.d" -c "$root/$1" -o "$o"
fi
