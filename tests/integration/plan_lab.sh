#!/bin/bash
# The planner on a trace from the real-QEMU harness: a migration that does
# not converge at 50 ms (the guest dirties 48 MiB/s against 32 MiB/s of
# max-bandwidth), `migsim plan --trace` on its trace, and a new real run
# with the recommended downtime-limit, which must converge.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

common=(--no-db --working-set 96MiB --dirty-rate 48MiB/s
    --max-bandwidth 32MiB/s --format json --quiet)
check_rc "real run at 50 ms (exit 1: did not converge)" 1 "$MIGSIM" lab run "${common[@]}" \
    --downtime-limit 50ms --time-limit 15s --trace "$TMPD/t1.trace"
cp "$TMPD/rc.out" "$TMPD/r1.json"
check "it does not converge at 50 ms" python3 -c "
import json, sys; d = json.load(open('$TMPD/r1.json'))
sys.exit(0 if d['outcome'] == 'timeout' else 1)"

check_rc "plan --trace recommends a limit" 0 "$MIGSIM" plan \
    --trace "$TMPD/t1.trace" --max-total 2min --max-downtime 30s \
    --format json
cp "$TMPD/rc.out" "$TMPD/plan.json"
lim=$(python3 -c "
import json; d = json.load(open('$TMPD/plan.json'))
print(int(d['min_downtime_limit_ms']))" 2>/dev/null)
check "the recommendation is a number of ms above 50" test "${lim:-0}" -gt 50
check "plan prints the QMP command" grep -q "migrate-set-parameters" \
    "$TMPD/plan.json"

check_rc "real run with the recommended ${lim} ms" 0 "$MIGSIM" lab run \
    "${common[@]}" --downtime-limit "${lim}ms" --time-limit 60s
cp "$TMPD/rc.out" "$TMPD/r2.json"
check "the recommended limit converges on real QEMU" python3 -c "
import json, sys; d = json.load(open('$TMPD/r2.json'))
sys.exit(0 if d['outcome'] == 'converged' else 1)"
finish
