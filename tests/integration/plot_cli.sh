#!/bin/bash
# migsim plot: every kind to PNG and SVG with the real gnuplot, data files
# next to the image, sweep parameters, hostile names, gnuplot failures.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

# Write a run export (format migsim-run 1) to stdout.
# mkrun SEED POLICY DEVNAME OUTCOME DOWNTIME_NS TOTAL_NS DIRTY_RATE [STATE_TEXT]
json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/\\r}
    s=${s//$'\e'/\\u001b}
    printf '"%s"' "$s"
}
mkrun() {
    local seed=$1 policy=$2 dev=$3 outcome=$4 down=$5 total=$6 rate=$7
    local state=${8:-active} i est scen
    scen="{\"vm\": {\"dirty_rate\": \"$rate\"}, \"seed\": $seed}"
    printf '{"format": "migsim-run", "format_version": 1, "meta": {'
    printf '"kind": "sim", "complete": true, "seed": %d, ' "$seed"
    printf '"started_ns": %d, "finished_ns": %d, ' $((1700000000000000000 + seed)) $((1700000000000000000 + seed + total))
    printf '"qemu": "9.1", "policy": %s, "rng": "taus2", ' "$(json_str "$policy")"
    printf '"source_path": "scenarios/x.json", "command_line": "migsim simulate x.json", '
    printf '"verdict": %s, ' "$(json_str "verdict for $policy")"
    printf '"diagnosis": %s, ' "$(json_str "diagnosis line 1
line 2 for $dev")"
    printf '"fingerprint": "0x%016x", "scenario_json": %s}, ' "$seed" "$(json_str "$scen")"
    printf '"metrics": {"outcome": "%s", "qemu": "9.1", "policy": %s, ' "$outcome" "$(json_str "$policy")"
    printf '"total_ns": %d, "downtime_ns": %d, "src_downtime_ns": %d, ' "$total" "$down" "$down"
    printf '"setup_ns": 1000000, "downtime_limit_ns": 300000000, "downtime_violation": %s, ' \
        "$([ "$down" -gt 300000000 ] && echo true || echo false)"
    printf '"iterations": 50, "bitmap_syncs": 10, "estimate_calls": 50, "exact_calls": %d, ' $((seed % 7))
    printf '"exact_calls_per_s": 0.5, "sync_time_ns": %d, "bql_ns": 2000000, "spin_cpu_ns": 0, ' $((seed * 1000000))
    printf '"bytes_transferred": 5000000000, "precopy_bytes": 4900000000, "downtime_bytes": 100000000, '
    printf '"postcopy_bytes": 0, "expected_downtime_ns": 250000000, "max_throttle_pct": 0, "postcopy": false}, '
    printf '"devices": [{"name": %s, "precopy_bytes": 1000, "stop_copy_bytes": 2000, "save_ns": 10, "load_ns": 20}], ' "$(json_str "$dev")"
    printf '"samples": ['
    for ((i = 0; i < 50; i++)); do
        est=$(((50 - i) * 100000000 + seed))
        [ "$i" -gt 0 ] && printf ', '
        printf '{"t_ns": %d, "iteration": %d, "estimate_bytes": %d, "exact_bytes": %d, "exact_called": %s, ' \
            $((i * 100000000)) "$i" "$est" $((i % 10 == 0 ? est : 0)) "$([ $((i % 10)) -eq 0 ] && echo true || echo false)"
        printf '"threshold_bytes": 375000000, "bandwidth_bps": 1250000000, "ram_dirty_bytes": %d, ' $((est / 2))
        printf '"dirty_rate_bps": 16000000, "sent_bytes": 125000000, "downtime_limit_ns": 300000000, '
        printf '"throttle_pct": 0, "expected_downtime_ns": 250000000, "n_devices": 1, '
        printf '"dev_reported_bytes": [%d], "dev_stop_copy_bytes": [536870912]}' $((2000000000 - i * 1000000))
    done
    printf '], "events": ['
    printf '{"t_ns": 0, "kind": "state", "value": 0, "dur_ns": 0, "text": %s}, ' "$(json_str "$state")"
    printf '{"t_ns": 1000000000, "kind": "sync", "value": 100, "dur_ns": 2000000, "text": ""}, '
    printf '{"t_ns": 2000000000, "kind": "device", "value": 0, "dur_ns": 0, "text": %s}, ' "$(json_str "$dev: RUNNING->PRE_COPY")"
    printf '{"t_ns": %d, "kind": "state", "value": 0, "dur_ns": 0, "text": "completed"}]}\n' "$total"
}

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
check "timeline data holds the series" grep -q $'^0\t5000000001\t5000000001\t375000000\t2500000000\t2000000000$' "$TMPD/tl-run0.dat"
check "timeline data names the device" grep -q '"vgpu0 reported"' "$TMPD/tl-run0.dat"
check "compare data: one row per run" test "$(wc -l <"$TMPD/cmp.dat")" -eq 7
check "sweep values parsed from units" grep -q $'^4000000000\t' "$TMPD/sw-g0.dat"
check "the timeout is flagged in the sweep" grep -q $'^4000000000\t[0-9.]*\t[0-9.]*\t0\t' "$TMPD/sw-g0.dat"

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
