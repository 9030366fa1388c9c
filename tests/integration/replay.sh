#!/bin/bash
# migsim replay from the command line: the real excerpts in
# tests/data/traces, every input format (generated here from them), gzip,
# stdin, several files, garbage with file:line messages, --strict, JSON /
# CSV / table output, counterfactual --policy runs, the store and plots.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

D=tests/data/traces
T01=$D/01-vfio-vgpu-21GB-estimate-exact-spin.log
T03=$D/03-migrate-transferred-estimate-8GB.log
T04=$D/04-cpr-transfer-zero-pending-immediate-switchover.log
T11=$D/11-two-vfio-vf-200G-100Gbit-downtime-1018ms.log
EV="--events $D/trace-events-all"
R() { "$MIGSIM" replay --no-db $EV "$@"; }

# jq-free JSON field check: jget FILE EXPR (python expression on d)
jget() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }
jcheck() { python3 -c "import json,sys; d=json.load(open('$1')); sys.exit(0 if ($2) else 1)"; }

check "replay --help documents options and exit codes" bash -c \
    '"$MIGSIM" replay --help | grep -q -- "--trace-format" && "$MIGSIM" replay --help | grep -q "Exit status"'
check "--help lists replay" bash -c '"$MIGSIM" --help | grep -q "^  replay"'
check_rc "no file is a usage error" 2 "$MIGSIM" replay
check_rc "bad --trace-format is a usage error" 2 "$MIGSIM" replay -t xml $T01
check_rc "missing file is an I/O error" 4 "$MIGSIM" replay --no-db "$TMPD/nope.log"
check "missing file is named" grep -q "nope.log" "$TMPD/rc.err"

# ---- 01: exact-spin, ~11-12 exact()/s, the spin removed by cached-stop-size
R -f json $T01 >"$TMPD/01.json"
for k in verdict iterations exact_calls bitmap_syncs exact_calls_per_s \
         sync_time_ms min_downtime_limit_ms diagnosis; do
    check "01 json has $k" jcheck "$TMPD/01.json" "'$k' in d"
done
check "01 verdict is not-converging (exact-spin)" jcheck "$TMPD/01.json" \
    "d['verdict']=='not-converging' and 'exact-spin' in d['why']"
check "01 exact() rate is 11-12/s" jcheck "$TMPD/01.json" \
    "11 <= d['exact_calls_per_s'] <= 12.5"
check "01 has 5 exact() calls in 6 iterations" jcheck "$TMPD/01.json" \
    "d['exact_calls']==5 and d['iterations']==6"
check "01 min limit unknown without bandwidth" jcheck "$TMPD/01.json" \
    "d['min_downtime_limit_ms'] is None"
check "01 diagnosis says why" jcheck "$TMPD/01.json" \
    "'exact()' in d['diagnosis'] and 'threshold' in d['diagnosis']"
R -f json --bandwidth 100Gbit/s $T01 >"$TMPD/01b.json"
check "01 with --bandwidth: limit 1684 ms" jcheck "$TMPD/01b.json" \
    "d['min_downtime_limit_ms']==1684"
R -f json -p cached-stop-size $T01 >"$TMPD/01p.json"
check "--policy runs the qemu model and the policy" jcheck "$TMPD/01p.json" \
    "[c['policy'] for c in d['counterfactual']]==['qemu','cached-stop-size']"
check "qemu model reproduces the spin" jcheck "$TMPD/01p.json" \
    "d['counterfactual'][0]['exact_calls_per_s'] > 8"
check "cached-stop-size removes the spin" jcheck "$TMPD/01p.json" \
    "d['counterfactual'][1]['exact_calls_per_s']*10 <= d['counterfactual'][0]['exact_calls_per_s']"
check "table shows the counterfactual" bash -c \
    "$(declare -f R); MIGSIM='$MIGSIM' EV='$EV'; R -p cached-stop-size $T01 | grep -q '^  cached-stop-size'"
check_rc "unknown policy is a usage error" 2 "$MIGSIM" replay --no-db $T01 -p nosuch
check "unknown policy is named" grep -q nosuch "$TMPD/rc.err"

# ---- 03: threshold = bandwidth x downtime-limit
R -f json $T03 >"$TMPD/03.json"
check "03 threshold is bandwidth x 300 ms" jcheck "$TMPD/03.json" \
    "d['threshold_bytes']==334710 and abs(d['bandwidth_bps']/1000*300-334710)<1"
check "03 limit inferred as 300 ms" jcheck "$TMPD/03.json" \
    "d['downtime_limit_inferred'] and d['downtime_limit_ms']==300"

# ---- 04: switchover in the first iteration
R -f json $T04 >"$TMPD/04.json"
check "04 converged in iteration 1" jcheck "$TMPD/04.json" \
    "d['verdict']=='converged' and d['switchover_iteration']==1"
check "04 state sequence setup -> active -> device" jcheck "$TMPD/04.json" \
    "[s['state'] for s in d['states']]==['setup','active','device']"
check "04 has no unknown or malformed lines" jcheck "$TMPD/04.json" \
    "d['input']['unknown']==0 and d['input']['malformed']==0"

# ---- 11: downtime breakdown, VFIO dominating
R -f json $T11 >"$TMPD/11.json"
check "11 downtime 1018 ms over the 300 ms limit" jcheck "$TMPD/11.json" \
    "d['downtime_ms']==1018 and 'downtime-over-limit' in d['why']"
check "11 VFIO save/load about 1 s" jcheck "$TMPD/11.json" \
    "900 < d['downtime_breakdown']['vfio_save_ms']+d['downtime_breakdown']['vfio_load_ms'] < 1100"
check "11 diagnosis names VFIO as dominant" bash -c \
    "$(declare -f R); MIGSIM='$MIGSIM' EV='$EV'; R $T11 | grep -q 'dominates the downtime'"

# ---- formats, generated from 01
awk '{split($1,a,"@"); s=substr(a[2],1,10); n=substr(a[2],11,6);
      $1=""; sub(/^ /,""); print a[1] "@" s "." n ":" $0}' $T01 >"$TMPD/tid.log"
awk '{split($1,a,"@"); s=substr(a[2],1,10); n=substr(a[2],11,6);
      $1=""; sub(/^ /,""); printf "%s.%sZ %s\n", strftime("%Y-%m-%dT%H:%M:%S", s, 1), n, $0}' \
    $T01 >"$TMPD/iso.log" 2>/dev/null || true
awk '{$1=""; sub(/^ /,""); print}' $T01 >"$TMPD/plain.log"
awk '{split($1,a,"@"); s=substr(a[2],1,10); n=substr(a[2],11,3); $1="";
      sub(/^ /,""); printf "%s.%s+0000: %s: info : %s\n",
      strftime("%Y-%m-%d %H:%M:%S", s, 1), n, a[1], $0}' \
    $T01 >"$TMPD/libvirt.log"
for f in tid iso libvirt; do
    check "$f format: exact-spin at 11-12/s" bash -c \
        "'$MIGSIM' replay --no-db $EV -f json '$TMPD/$f.log' | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(0 if d['verdict']=='not-converging' and 11<=d['exact_calls_per_s']<=12.5 else 1)\""
done
R -f json "$TMPD/tid.log" >"$TMPD/tid.json"
check "tid format detected" jcheck "$TMPD/tid.json" "d['format']=='log-tid'"
R -f json "$TMPD/libvirt.log" >"$TMPD/lv.json"
check "embedded lines found in a libvirt log" jcheck "$TMPD/lv.json" \
    "d['format']=='embedded' and d['exact_calls']==5"
R -f json "$TMPD/plain.log" >"$TMPD/plain.json"
check "plain log: spin seen, no rate without timestamps" jcheck "$TMPD/plain.json" \
    "d['exact_calls']==5 and 'exact-spin' in d['why'] and d['format']=='log'"
check "--trace-format log-tid accepts the tid log" bash -c \
    "'$MIGSIM' replay --no-db $EV -t log-tid -f json '$TMPD/tid.log' | grep -q '\"malformed\": 0'"
check_rc "--trace-format stap on a tid log: all lines malformed, no data" 3 \
    "$MIGSIM" replay --no-db $EV -t stap "$TMPD/tid.log"
check "the forced-format message names file:line" grep -q "tid.log:1:" "$TMPD/rc.err"

# gzip, stdin, several files
gzip -c $T01 >"$TMPD/t01.gz"
check "gzip input" bash -c "'$MIGSIM' replay --no-db $EV -f json '$TMPD/t01.gz' | grep -q '\"exact_calls\": 5'"
check "stdin input" bash -c "'$MIGSIM' replay --no-db $EV -f json - <$T01 | grep -q '\"exact_calls\": 5'"
check "gzip on stdin" bash -c "'$MIGSIM' replay --no-db $EV -f json - <'$TMPD/t01.gz' | grep -q '\"exact_calls\": 5'"
R -f json $T01 $T11 >"$TMPD/two.json"
check "two files are read in order" jcheck "$TMPD/two.json" \
    "len(d['files'])==2 and d['exact_calls']==5 and d['downtime_breakdown']['vfio_load_ms']>600"

# simpletrace binary, written here
python3 - "$TMPD/trace.bin" <<'PY'
import struct, sys
out = open(sys.argv[1], 'wb')
out.write(struct.pack('<QQQ', 0xffffffffffffffff, 0xf2b177cb0aa429b4, 4))
def mapping(i, n):
    out.write(struct.pack('<QQI', 0, i, len(n)) + n.encode())
def event(i, ts, args):
    body = b''
    for a in args:
        if isinstance(a, str):
            body += struct.pack('<I', len(a)) + a.encode()
        else:
            body += struct.pack('<Q', a)
    out.write(struct.pack('<QQQII', 1, i, ts, 24 + len(body), 4242) + body)
mapping(0, 'migrate_pending_estimate')
mapping(1, 'migrate_pending_exact')
mapping(2, 'migrate_set_state')
event(2, 10**9, ['active'])
t = 10**9
for k in range(20):
    event(0, t, [0, 0, 0])
    event(1, t + 80000000, [21038628864, 21038628864, 0])
    t += 85000000
out.close()
PY
R -f json "$TMPD/trace.bin" >"$TMPD/bin.json"
check "simpletrace binary: format detected" jcheck "$TMPD/bin.json" "d['format']=='simple'"
check "simpletrace binary: exact-spin at ~11.8/s" jcheck "$TMPD/bin.json" \
    "d['verdict']=='not-converging' and 11.5 < d['exact_calls_per_s'] < 12"
gzip -c "$TMPD/trace.bin" >"$TMPD/trace.bin.gz"
check "gzip simpletrace" bash -c "'$MIGSIM' replay --no-db $EV -f json '$TMPD/trace.bin.gz' | grep -q '\"exact_calls\": 20'"

# query-migrate records only: coarse timeline
for i in 0 1 2 3 4 5; do
    printf '{"timestamp": {"seconds": %d, "microseconds": 0}, "return": {"status": "active", "total-time": %d, "ram": {"transferred": %d, "remaining": 900000000, "mbps": 800, "dirty-pages-rate": 30000, "page-size": 4096, "dirty-sync-count": %d}}}\n' \
        $((1700000000 + i)) $((1000 * i + 1000)) $((100000000 * i)) $((i + 2))
done >"$TMPD/qm.jsonl"
R -f json "$TMPD/qm.jsonl" >"$TMPD/qm.json"
check "query-migrate only: coarse, not converging, uncertainty said" jcheck "$TMPD/qm.json" \
    "d['coarse'] and d['verdict']=='not-converging' and 'coarse-input' in d['why'] and 'approximate' in d['diagnosis']"

# garbage: reported with file:line, skipped; --strict makes it fatal
{ sed -n 1,4p $T01; printf 'migrate_pending_exact exact pending size oops\n';
  printf '\001\002\003binary\377junk\n'; sed -n 5,11p $T01; } >"$TMPD/bad.log"
check_rc "garbage lines are skipped" 0 "$MIGSIM" replay --no-db $EV "$TMPD/bad.log"
check "garbage is reported as file:line" grep -q "bad.log:5:" "$TMPD/rc.err"
check "the count of malformed lines is said" grep -q "2 malformed line" "$TMPD/rc.err"
check "the rest still replays" grep -q "exact-spin" "$TMPD/rc.out"
check_rc "--strict: the first malformed line is fatal" 3 "$MIGSIM" replay --no-db $EV --strict "$TMPD/bad.log"
check "--strict names file:line" grep -q "bad.log:5:" "$TMPD/rc.err"
head -c 20000 /dev/urandom >"$TMPD/random.bin"
check_rc "random bytes: no data, exit 3, no crash" 3 "$MIGSIM" replay --no-db $EV "$TMPD/random.bin"

# CSV series
R -f csv -p cached-stop-size $T01 >"$TMPD/s.csv"
check "csv header" bash -c "head -1 '$TMPD/s.csv' | grep -q '^run,t_ms,iteration,estimate_bytes,exact_bytes'"
check "csv has the 6 observed iterations" test "$(grep -c '^observed,' "$TMPD/s.csv")" -eq 6
check "csv has the counterfactual series" grep -q '^cached-stop-size,' "$TMPD/s.csv"

# derived scenario feeds simulate
R --scenario "$TMPD/derived.json" $T01 >/dev/null
check "derived scenario simulates" bash -c \
    "'$MIGSIM' simulate --no-db '$TMPD/derived.json' -f json | grep -q '\"exact_calls_per_s\"'"

# the store and the plots
check "replay is stored" bash -c "'$MIGSIM' replay $EV -f json $T01 | grep -q '\"run_id\"'"
check "stored replay is listed as kind replay" bash -c "'$MIGSIM' runs list | grep -q replay"
if command -v gnuplot >/dev/null 2>&1; then
    check "--plot draws timelines" bash -c \
        "'$MIGSIM' replay --no-db $EV --plot '$TMPD/plots' -p cached-stop-size $T01 >/dev/null && ls '$TMPD/plots' | grep -q '\.png$'"
fi
finish
