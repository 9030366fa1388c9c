#!/bin/bash
# migsim plot: every kind to PNG and SVG with the real gnuplot, data files
# next to the image, sweep parameters, hostile names, gnuplot failures.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

# mkrun and json_str: run exports for the store tests
. "$(dirname "$0")/runs_lib.sh"

DB=$TMPD/runs.db
export MIGSIM_DB=$DB
i=0
for rate in 1GB/s 2GB/s 4GB/s; do
    for pol in qemu exact-every:5; do
        i=$((i + 1))
        out=converged
        [ "$rate" = 4GB/s ] && [ "$pol" = qemu ] && out=timeout
        mkrun "$i" "$pol" vgpu0 "$out" $((200000000 + i * 20000000)) $((4000000000 + i * 500000000)) "$rate" >"$TMPD/r$i.json"
    done
done
"$MIGSIM" runs import "$TMPD"/r*.json >/dev/null

png_ok() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
svg_ok() { [ -s "$1" ] && grep -q '<svg' "$1" && grep -q '</svg>' "$1"; }

check "plot --help documents the exit codes" bash -c '"$MIGSIM" plot --help | grep -q "Exit status"'
for ext in png svg; do
    check "timeline $ext" "$MIGSIM" plot 1 --kind timeline -o "$TMPD/tl.$ext"
    check "compare $ext" "$MIGSIM" plot all --kind compare -o "$TMPD/cmp.$ext"
    check "cdf $ext" "$MIGSIM" plot 1-6 --kind cdf -o "$TMPD/cdf.$ext"
    check "sweep frontier $ext" "$MIGSIM" plot all --kind sweep --param vm.dirty_rate -o "$TMPD/sw.$ext"
    check "sweep heat map $ext" "$MIGSIM" plot all --kind sweep --param vm.dirty_rate --param2 seed -o "$TMPD/heat.$ext"
done
for k in tl cmp cdf sw heat; do
    check "$k.png is a PNG" png_ok "$TMPD/$k.png"
    check "$k.svg is an SVG" svg_ok "$TMPD/$k.svg"
    check "$k.gp kept next to the image" test -s "$TMPD/$k.gp"
done
check "timeline data: header + 50 samples" test "$(wc -l <"$TMPD/tl-run0.dat")" -eq 51
check "timeline data holds the series" grep -q $'^0\t5000000001\t5000000001\t375000000\t2500000000\t2000000000\tNaN$' "$TMPD/tl-run0.dat"
check "timeline data names the device" grep -q '"vgpu0 reported"' "$TMPD/tl-run0.dat"
check "compare data: one row per run" test "$(wc -l <"$TMPD/cmp.dat")" -eq 7
check "sweep values parsed from units" grep -q $'^4000000000\t' "$TMPD/sw-g0.dat"
check "the timeout is flagged in the sweep, with no downtime" grep -q $'^4000000000\tNaN\t[0-9.]*\t0\t' "$TMPD/sw-g0.dat"

# Issue 14: axes in the key's own unit, one limit line per limit, the
# colours explained, no downtime for runs that did not switch over.
check "sweep x axis in the key's unit (GB/s), not 4e+09" grep -q "set xtics ('1 GB/s' 1000000000, '2 GB/s' 2000000000, '4 GB/s' 4000000000)" "$TMPD/sw.gp"
check "heat map x axis in the key's unit" grep -q "set xtics ('1 GB/s' 0, '2 GB/s' 1, '4 GB/s' 2)" "$TMPD/heat.gp"
check "heat map: a cell where no run switched over is marked" grep -q "no run switched over" "$TMPD/heat.gp"
check "cdf: a limit line labelled with its value" grep -q "'limit 300 ms' at 300," "$TMPD/cdf.gp"
check "compare: a legend for the colours" grep -q "keyentry with boxes lc rgb '#d62728' title 'did not switch over'" "$TMPD/cmp.gp"
check "compare: no downtime bar for a timeout" grep -q $'\tNaN\t[0-9.]*\t[0-9.]*\t[0-9.]*\t0\t' "$TMPD/cmp.dat"
check "runs list: no downtime for a timeout" bash -c '"$0" runs list | grep timeout | grep -q -- " -$"' "$MIGSIM"
check "runs list -f json: downtime null for a timeout" bash -c '"$0" runs list --format json | grep -q "\"downtime_ns\": null"' "$MIGSIM"
check "runs list -f csv: downtime - for a timeout" bash -c '"$0" runs list --format csv | grep timeout | grep -q ",-.\$"' "$MIGSIM"
check "runs show: downtime - for a timeout" bash -c '"$0" runs show 5 | grep -q "downtime (guest-visible) *-$"' "$MIGSIM"
check "runs diff -f json: downtime null for a timeout" bash -c '"$0" runs diff 5 1 -f json | grep -A1 "\"downtime_ns\"" | grep -q "\"a\": null"' "$MIGSIM"

# Re-render from the kept script, as a user would after editing it.
# (tl.svg was drawn last, so tl.gp now renders the SVG.)
rm -f "$TMPD/tl.svg"
check "gnuplot tl.gp re-renders" bash -c 'cd "$0" && gnuplot tl.gp && grep -q "<svg" tl.svg' "$TMPD"

check_rc "sweep without --param is a usage error" 2 "$MIGSIM" plot all --kind sweep -o "$TMPD/x.png"
check_rc "unknown kind is a usage error" 2 "$MIGSIM" plot 1 --kind pie -o "$TMPD/x.png"
check_rc "bad extension is a file error" 4 "$MIGSIM" plot 1 -o "$TMPD/x.pdf"
check_rc "absent run is a data error" 3 "$MIGSIM" plot 77 -o "$TMPD/x.png"
check_rc "parameter no run has is a data error" 3 "$MIGSIM" plot all --kind sweep --param vm.nothing -o "$TMPD/x.png"
check_rc "failing gnuplot is an external error" 5 env MIGSIM_GNUPLOT=/bin/false "$MIGSIM" plot 1 -o "$TMPD/x.png"
check_rc "missing gnuplot is an external error" 5 env MIGSIM_GNUPLOT=/nonexistent "$MIGSIM" plot 1 -o "$TMPD/x.png"
check "--no-render writes script and data only" bash -c '"$MIGSIM" plot 1 --no-render -o "$0/nr.png" && test -s "$0/nr.gp" && test ! -e "$0/nr.png"' "$TMPD"

# Hostile names: quotes, system(), backquotes, newlines, '!' shell lines.
H=$TMPD/hostile
mkdir -p "$H"
mkrun 20 $'p\'"; system("touch PWNED1") ; "' $'a\'"; system("touch PWNED2") ; "' converged 1 2 1GB/s \
    $'x`touch PWNED3`y\n!touch PWNED4\nset output "PWNED5"' >"$TMPD/h1.json"
mkrun 21 $'`touch PWNED6`' $'dev\n!touch PWNED7' timeout 1 2 2GB/s >"$TMPD/h2.json"
"$MIGSIM" runs --db "$H/h.db" import "$TMPD/h1.json" "$TMPD/h2.json" >/dev/null
for kind in timeline compare cdf; do
    check "hostile names: $kind renders" bash -c 'cd "$0" && "$MIGSIM" plot --db h.db all --kind "$1" -o "$1.png" && test -s "$1.png"' "$H" "$kind"
done
check "hostile names: sweep renders" bash -c 'cd "$0" && "$MIGSIM" plot --db h.db all --kind sweep --param vm.dirty_rate -o "sweep.svg" && test -s sweep.svg' "$H"
check "hostile output file name renders" bash -c 'cd "$0" && "$MIGSIM" plot --db h.db 1 -o "o'"'"'\`touch PWNED8\`.png" && test -s "o'"'"'\`touch PWNED8\`.png"' "$H"
check "no payload ran" bash -c 'test -z "$(find "$0" "$1" -name "PWNED*" 2>/dev/null)"' "$H" "$MIGSIM_ROOT"
check "no payload text in any script" bash -c '! grep -l -e "system(" -e "touch " -e "\`" "$0"/*.gp' "$H"
finish
