#!/bin/bash
# migsim replay on traces a real QEMU wrote (migsim lab: Debian's
# qemu-system-x86, TCG, the test guest dirtying memory): every migration
# event is known, nothing is malformed, the replay counts the same bitmap
# syncs query-migrate reported, in the TID@SEC.USEC prefix QEMU wrote and
# in the other two line forms the log backend has (no prefix; the 10.1+
# ISO-8601 prefix, converted from the same trace since this QEMU cannot
# write it).  A migration that cannot converge (dirty rate at the
# bandwidth) is diagnosed as such.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu
cd "$MIGSIM_ROOT" || exit 1

# converging: 32 MiB working set at 8 MiB/s, max-bandwidth 64 MiB/s
if ! "$MIGSIM" lab run --no-db --quiet -f json --ram 256MiB \
    --working-set 32MiB --dirty-rate 8MiB/s --max-bandwidth 64MiB/s \
    --time-limit 60s --trace "$TMPD/conv.log" >"$TMPD/conv.json" \
    2>"$TMPD/conv.err"; then
    notok "lab run (converging) for the replay"
    sed 's/^/    /' "$TMPD/conv.err" | tail -n 20
    finish
fi
syncs=$(python3 -c "import json; print(json.load(open('$TMPD/conv.json'))['final_query_migrate']['ram']['dirty-sync-count'])")

awk '{ i = index($0, ":"); print substr($0, i + 1) }' "$TMPD/conv.log" \
    >"$TMPD/plain.log"
awk '{ split($0, a, "@"); s = substr(a[2], 1, 10); us = substr(a[2], 12, 6);
       i = index($0, ":"); printf "%s.%sZ %s\n",
       strftime("%Y-%m-%dT%H:%M:%S", s, 1), us, substr($0, i + 1) }' \
    "$TMPD/conv.log" >"$TMPD/iso.log"

for form in conv plain iso; do
    "$MIGSIM" replay --no-db -f json "$TMPD/$form.log" >"$TMPD/$form.out.json"
    f="$TMPD/$form.out.json"
    check "$form: no unknown migration events" python3 -c "
import json, sys; d = json.load(open('$f'))['input']
sys.exit(0 if d['unknown_migration'] == 0 and d['malformed'] == 0 else 1)"
    check "$form: bitmap syncs = query-migrate dirty-sync-count ($syncs)" \
        python3 -c "
import json, sys; d = json.load(open('$f'))
sys.exit(0 if d['bitmap_syncs'] == $syncs and not d['bitmap_syncs_inferred'] else 1)"
    check "$form: converged, setup -> active -> completed" python3 -c "
import json, sys; d = json.load(open('$f'))
s = [x['state'] for x in d['states']]
sys.exit(0 if d['verdict'] == 'converged' and s == ['setup', 'active', 'completed'] else 1)"
done
check "tid form: QEMU 7.2 recognised, limit inferred as 300 ms" python3 -c "
import json, sys; d = json.load(open('$TMPD/conv.out.json'))
sys.exit(0 if d['qemu']['range'] == '7.2' and d['downtime_limit_inferred'] and d['downtime_limit_ms'] == 300 else 1)"
check "the three forms rebuild the same iterations" python3 -c "
import json, sys
n = [json.load(open('$TMPD/%s.out.json' % f))['iterations'] for f in ('conv', 'plain', 'iso')]
sys.exit(0 if n[0] == n[1] == n[2] and n[0] > 0 else 1)"
check "the formats were detected" python3 -c "
import json, sys
f = [json.load(open('$TMPD/%s.out.json' % x))['format'] for x in ('conv', 'plain', 'iso')]
sys.exit(0 if f == ['log-tid', 'log', 'log-iso'] else 1)"

# not converging: the guest dirties as fast as the link sends
"$MIGSIM" lab run --no-db --quiet -f json --ram 256MiB --working-set 64MiB \
    --dirty-rate 64MiB/s --max-bandwidth 16MiB/s --time-limit 8s \
    --trace "$TMPD/nc.log" >"$TMPD/nc.json" 2>"$TMPD/nc.err"
"$MIGSIM" replay --no-db -f json "$TMPD/nc.log" >"$TMPD/nc.out.json"
check "cancelled migration: not converging, dirty rate vs bandwidth" \
    python3 -c "
import json, sys; d = json.load(open('$TMPD/nc.out.json'))
sys.exit(0 if d['verdict'] == 'not-converging' and 'dirty-rate-vs-bandwidth' in d['why'] and 'cancelled' in d['why'] else 1)"
check "cancelled migration: the status sequence ends cancelled" python3 -c "
import json, sys; d = json.load(open('$TMPD/nc.out.json'))
sys.exit(0 if d['states'][-1]['state'] == 'cancelled' and not d['violations'] else 1)"
finish
