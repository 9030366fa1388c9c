#!/bin/bash
# migsim replay on real QEMU 10.0 (and 7.2) traces recorded on this
# machine (tests/data/qemu10: -trace 'migrat*' or an events file, the
# source's log with -msg timestamp=on, and the final query-migrate reply
# of the same migration): the catalogue knows every event, the sync count
# and total time match query-migrate, 10.0 is detected; several
# migrations in one log are rebuilt and judged apart; backward timestamps
# and the per-page migration_transferred_bytes event are warned about.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

D=tests/data/qemu10
R() { "$MIGSIM" replay --no-db "$@"; }

for run in kvm-10.0-bw32 kvm-10.0-bw128 kvm-10.0-ring4096-dirtylimit \
    tcg-10.0-migrat-star kvm-7.2-bw32; do
    t=$D/$run.trace.log
    [ -f "$t" ] || t=$t.gz
    q=$D/$run.query-migrate.json
    R -f json "$t" >"$TMPD/$run.json" 2>"$TMPD/$run.err"
    want=10.0
    case $run in *7.2*) want=7.2 ;; esac
    check "$run: no unknown migration events" python3 -c "
import json,sys; d=json.load(open('$TMPD/$run.json'))
sys.exit(0 if d['input']['unknown_migration']==0 and d['input']['unknown']==0 else 1)"
    check "$run: bitmap syncs == query-migrate dirty-sync-count" python3 -c "
import json,sys; d=json.load(open('$TMPD/$run.json')); q=json.load(open('$q'))
sys.exit(0 if d['bitmap_syncs']==q['ram']['dirty-sync-count'] else 1)"
    check "$run: total time within 2% of query-migrate total-time" python3 -c "
import json,sys; d=json.load(open('$TMPD/$run.json')); q=json.load(open('$q'))
e=abs(d['total_ms']-q['total-time'])/q['total-time']
print('# total %.1f ms vs total-time %d ms: %.3f %%'%(d['total_ms'],q['total-time'],e*100))
sys.exit(0 if e<0.02 else 1)"
    check "$run: QEMU $want detected" python3 -c "
import json,sys; d=json.load(open('$TMPD/$run.json'))
sys.exit(0 if d['qemu']['range']=='$want' else 1)"
    check "$run: converged, one migration" python3 -c "
import json,sys; d=json.load(open('$TMPD/$run.json'))
sys.exit(0 if d['verdict']=='converged' and 'migrations' not in d else 1)"
done

# the cancel QEMU writes at quit after a completed migration is no cancel
check "migration_cancel after completed: not cancelled" python3 -c "
import json,sys; d=json.load(open('$TMPD/kvm-10.0-bw32.json'))
sys.exit(0 if 'cancelled' not in d['why'] and d['status']=='completed' else 1)"
C=$D/kvm-10.0-nonconverge-cancel.trace.log
R -f json $C >"$TMPD/cancel.json"
check "a real cancel (10.0): cancelled, not converging, QEMU 10.0" python3 -c "
import json,sys; d=json.load(open('$TMPD/cancel.json'))
sys.exit(0 if 'cancelled' in d['why'] and d['verdict']=='not-converging' and d['qemu']['range']=='10.0' else 1)"

# ---- several migrations in one log: real traces appended as a log
# written by one long-lived QEMU would hold them (each starts with its own
# "new state setup"; the cancelled one in the middle)
cat $D/kvm-10.0-bw32.trace.log $C $D/kvm-10.0-bw128.trace.log >"$TMPD/three.log"
R -f json "$TMPD/three.log" >"$TMPD/three.json"
check "three migrations in one log -> three runs, in order, own verdicts" python3 -c "
import json,sys; d=json.load(open('$TMPD/three.json'))
m=d['migrations']; v=[x['verdict'] for x in m]; print('#',v)
sys.exit(0 if d['n_migrations']==3 and v==['converged','not-converging','converged'] and [x['migration'] for x in m]==[1,2,3] and 'cancelled' in m[1]['why'] and 'cancelled' not in m[0]['why'] else 1)"
check "each one's total time is its own (not the log's)" python3 -c "
import json,sys; d=json.load(open('$TMPD/three.json'))
t=[x['total_ms'] for x in d['migrations']]; print('#',t)
sys.exit(0 if abs(t[0]-2445)<49 and abs(t[2]-580)<12 else 1)"
R -f json --migration 2 "$TMPD/three.log" >"$TMPD/m2.json"
check "--migration 2 picks the cancelled one" python3 -c "
import json,sys; d=json.load(open('$TMPD/m2.json'))
sys.exit(0 if d['migration']==2 and d['verdict']=='not-converging' else 1)"
check_rc "--migration 4 of 3 is a usage error" 2 "$MIGSIM" replay --no-db --migration 4 "$TMPD/three.log"
check "--migration 4 says how many there are" grep -q "holds 3 migrations" "$TMPD/rc.err"
R "$TMPD/three.log" >"$TMPD/three.txt"
check "table lists the three with their verdicts" bash -c "grep -q 'Migrations in the input: 3' $TMPD/three.txt && grep -c '^  .*[0-9] (line' $TMPD/three.txt | grep -qx 3"
"$MIGSIM" replay --db "$TMPD/s.db" "$TMPD/three.log" >/dev/null 2>&1
check "the store keeps each migration as its own replay run" bash -c \
    "[ \"\$(sqlite3 $TMPD/s.db \"select count(*) from runs where kind='replay'\")\" = 3 ]"

# ---- a real log of three migrations by one QEMU 10.0 (record-multi.py):
# the destination killed (failed), migrate_cancel (cancelled: it came
# during the switchover), then one that completed
M=$D/multi-failed-cancelled-completed
R -f json $M.trace.log >"$TMPD/multi.json"
check "real 10.0 log: failed, cancelled, completed -> three runs with their verdicts" python3 -c "
import json,sys; d=json.load(open('$TMPD/multi.json')); m=d['migrations']
print('#', [(x['status'], x['verdict'], x['summary']) for x in m])
ok = d['n_migrations']==3 and [x['status'] for x in m]==['failed','cancelled','completed']
ok = ok and 'failed' in m[0]['why'] and m[0]['verdict']!='converged'
ok = ok and 'cancelled' in m[1]['why'] and 'cancelled' in m[1]['summary']
ok = ok and m[2]['verdict']=='converged' and 'cancelled' not in m[2]['why'] and 'failed' not in m[2]['why']
ok = ok and all(x['qemu']['range']=='10.0' for x in m) and d['input']['unknown_migration']==0
sys.exit(0 if ok else 1)"
check "real 10.0 log: the completed one matches its query-migrate (syncs, total-time within 2%)" python3 -c "
import json,sys; d=json.load(open('$TMPD/multi.json')); m=d['migrations'][2]
q=[json.loads(l)['final'] for l in open('$M.query-migrate.jsonl')][2]
e=abs(m['total_ms']-q['total-time'])/q['total-time']; print('# %.1f vs %d ms'%(m['total_ms'],q['total-time']))
sys.exit(0 if m['bitmap_syncs']==q['ram']['dirty-sync-count'] and e<0.02 else 1)"
"$MIGSIM" replay --db "$TMPD/m.db" $M.trace.log >/dev/null 2>&1
check "the store keeps the three" bash -c \
    "[ \"\$(sqlite3 $TMPD/m.db \"select count(*) from runs where kind='replay'\")\" = 3 ]"

# ---- timestamps going backwards: warned with the line number
{ head -n 100 $D/kvm-10.0-bw32.trace.log
  echo '32095@1796302100.000000:migration_bitmap_sync_start '
  tail -n +101 $D/kvm-10.0-bw32.trace.log; } >"$TMPD/back.log"
R "$TMPD/back.log" >/dev/null 2>"$TMPD/back.err"
check "a timestamp going back is warned about with its line" \
    grep -q "back.log:101: timestamp goes back" "$TMPD/back.err"
R $D/kvm-10.0-bw32.trace.log >/dev/null 2>"$TMPD/ok.err"
check "no timestamp warning on a clean trace" bash -c "! grep -q timestamp $TMPD/ok.err"
sed -E "50s/^([0-9]+)@[0-9]+/\1@99999999999/" $D/kvm-10.0-bw32.trace.log >"$TMPD/huge.log"
R "$TMPD/huge.log" >/dev/null 2>"$TMPD/huge.err"
check "an out-of-range timestamp is warned about" grep -q "huge.log:50:" "$TMPD/huge.err"

# ---- 10.0 -trace 'migrat*' enables the per-page migration_transferred_bytes
check "per-page migration_transferred_bytes: warned with its rate" \
    grep -q "migration_transferred_bytes: 266633 lines, [0-9]* per second" \
    "$TMPD/tcg-10.0-migrat-star.err"
check "no such warning without it" bash -c "! grep -q 'slows the migration' $TMPD/kvm-10.0-bw32.err"
# ---- --dirty-rate-from (plan, simulate): a real query-dirty-rate reply
F=tests/data/formats
"$MIGSIM" simulate scenarios/dirty-over-bandwidth.json --no-db -f json \
    --dirty-rate-from $F/dirty-rate-dirty-bitmap-10.0.jsonl >"$TMPD/sim.json" 2>"$TMPD/sim.err"
check "simulate --dirty-rate-from: 8 MiB/s (dirty-bitmap) converges where 192 MiB/s does not" python3 -c "
import json,sys; d=json.load(open('$TMPD/sim.json'))
sys.exit(0 if d['results'][0]['outcome']=='converged' else 1)"
check "simulate --dirty-rate-from says the rate and the mode" \
    grep -q "8.0 MiB/s, calc-dirty-rate mode dirty-bitmap" "$TMPD/sim.err"
"$MIGSIM" plan scenarios/dirty-over-bandwidth.json -f json \
    --dirty-rate-from $F/dirty-rate-dirty-ring-10.0-ring-pretty.json >/dev/null 2>"$TMPD/plan.err"
check "plan --dirty-rate-from reads a pretty-printed dirty-ring reply" \
    grep -q "164.0 MiB/s, calc-dirty-rate mode dirty-ring, 1 vCPU" "$TMPD/plan.err"
check_rc "--dirty-rate-from a file without a measurement is a usage error" 2 \
    "$MIGSIM" simulate scenarios/idle-vm.json --no-db --dirty-rate-from $F/qmp-pretty-virsh.json
check "... naming the file" grep -q "qmp-pretty-virsh.json: no measured dirty rate" "$TMPD/rc.err"
finish
