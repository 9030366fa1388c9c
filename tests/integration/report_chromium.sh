#!/bin/bash
# migsim report: one self-contained HTML page, loaded in headless Chromium:
# the page loads, every embedded image decodes, no input text became markup,
# a screenshot is taken and is not blank.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

# mkrun and json_str: run exports for the store tests
. "$(dirname "$0")/runs_lib.sh"

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
