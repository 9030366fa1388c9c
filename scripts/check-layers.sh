#!/bin/bash
# The dependency rule of docs/hacking.md, checked over the #include lines:
# a module folder may include its own headers and those of the folders
# below it in LAYERS, never one above.  Prints each forbidden arrow as
# FILE:LINE: FOLDER -> HEADER and exits 1 if there is any.
# Usage: scripts/check-layers.sh [ROOT]
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
LAYERS="base engine devices run policy model traces store plots calib plan live cli"
rank() {
    local i=0 l
    for l in $LAYERS; do
        [ "$l" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo -1
}
bad=0
for dir in $LAYERS; do
    [ -d "$root/$dir" ] || continue
    mine=$(rank "$dir")
    while IFS=: read -r file line inc; do
        hdr=${inc#*\"}
        hdr=${hdr%%\"*}
        top=${hdr%%/*}
        [ "$top" = "$hdr" ] && continue # a same-folder include without a path
        theirs=$(rank "$top")
        if [ "$theirs" -lt 0 ]; then
            echo "${file#"$root"/}:$line: $dir -> $hdr (not a module folder)"
            bad=1
        elif [ "$theirs" -gt "$mine" ]; then
            echo "${file#"$root"/}:$line: $dir -> $hdr (points upwards)"
            bad=1
        fi
    done < <(grep -Hn '^#include "' "$root/$dir"/*.[ch] 2>/dev/null)
done
exit $bad
