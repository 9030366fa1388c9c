#!/bin/bash
# migsim report: one self-contained HTML page, loaded in headless Chromium:
# the page loads, every embedded image decodes, no input text became markup,
# a screenshot is taken and is not blank.
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

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export MIGSIM_DB=$TMPD/runs.db
EVIL='<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
mkrun 1 qemu vgpu0 converged 250000000 4900000000 1GB/s >"$TMPD/r1.json"
mkrun 2 "$EVIL" '<script>window.pwned=3</script>' timeout 0 60000000000 2GB/s "$EVIL" >"$TMPD/r2.json"
check "import two runs" bash -c '"$MIGSIM" runs import "$0" "$1" | grep -c "imported as run" | grep -qx 2' \
    "$TMPD/r1.json" "$TMPD/r2.json"

check "report --help documents the exit codes" bash -c '"$MIGSIM" report --help | grep -q "Exit status"'
check_rc "report without -o is a usage error" 2 "$MIGSIM" report 1
check "report on two runs" "$MIGSIM" report all -o "$TMPD/report.html" --title "$EVIL"
R=$TMPD/report.html
check "no script in the page" bash -c '! grep -qi "<script" "$0"' "$R"
check "no external reference" bash -c '! grep -Eqi "https?:|<link|url\(|@import|src=\"[^d]" "$0"' "$R"
check "input text is escaped" grep -q '&lt;script&gt;window.pwned=1&lt;/script&gt;' "$R"
check "four embedded PNGs (compare, cdf, two timelines)" \
    test "$(grep -o 'src="data:image/png;base64,' "$R" | wc -l)" -eq 4
check "metadata, verdict and diagnosis are there" bash -c 'grep -q "verdict for qemu" "$0" && grep -q "<h3>Diagnosis</h3>" "$0" && grep -q "exact() calls" "$0"' "$R"

if [ ! -x "$CHROMIUM" ]; then
    notok "chromium not installed at $CHROMIUM (scripts/deps.sh installs it)"
    finish
fi
chrome() {
    local prof
    prof=$(mktemp -d "$TMPD/chrome.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --user-data-dir="$prof" "$@"
}

# A copy of the page with a probe that reports, after load, each image's
# decoded width, the scripts present and whether any payload ran.
sed 's#</body>#<script>window.addEventListener("load",function(){var w=[];document.querySelectorAll("img").forEach(function(i){w.push(i.complete?i.naturalWidth:-1)});var p=document.createElement("pre");p.id="probe";p.textContent="PROBE imgs="+w.join(",")+" scripts="+document.scripts.length+" pwned="+(typeof window.pwned)+" END";document.body.appendChild(p)});</script></body>#' \
    "$R" >"$TMPD/probe.html"
chrome --virtual-time-budget=10000 --dump-dom "file://$TMPD/probe.html" >"$TMPD/dom.html" 2>"$TMPD/chrome.err"
probe=$(grep -o 'PROBE imgs=[0-9,-]* scripts=[0-9]* pwned=[a-z]* END' "$TMPD/dom.html")
echo "    $probe"
check "the page loads in Chromium" test -n "$probe"
check "every image decodes (naturalWidth > 0)" bash -c '
    w=$(echo "$0" | sed -n "s/.*imgs=\([^ ]*\).*/\1/p")
    n=0; for x in ${w//,/ }; do [ "$x" -gt 0 ] || exit 1; n=$((n + 1)); done
    [ "$n" -eq 4 ]' "$probe"
check "only the probe script exists, no payload ran" bash -c '[[ "$0" == *"scripts=1 pwned=undefined"* ]]' "$probe"

chrome --window-size=1280,2400 --screenshot="$TMPD/shot.png" "file://$R" >/dev/null 2>>"$TMPD/chrome.err"
check "screenshot taken" test -s "$TMPD/shot.png"
check "screenshot is a PNG" bash -c '[ "$(head -c 8 "$0" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]' "$TMPD/shot.png"
# A blank page compresses to a few KiB; tables and figures do not.
check "screenshot is not blank" test "$(stat -c %s "$TMPD/shot.png")" -gt 40000
finish
