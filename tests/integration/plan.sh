#!/bin/bash
# migsim plan from the command line: the seed case, a RAM-only VM, --run,
# --trace, --db, --plot, JSON fields, exit codes.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
keep() { cp "$TMPD/last.out" "$TMPD/out"; cp "$TMPD/last.err" "$TMPD/err"; }
jqc() { jq -e "$1" "$TMPD/out" >/dev/null; }

SEED=scenarios/seed-vfio-21g.json
R="$TMPD/ram.json"
cat >"$R" <<'EOF'
{"name": "ram only", "qemu": "9.2", "seed": 1,
 "vm": {"ram": "8GiB", "zero_fraction": 0, "vcpus": 4},
 "workload": {"kind": "sweep", "working_set": "8GiB", "dirty_rate": "31.25MB/s"},
 "migration": {"downtime_limit": "300ms", "max_bandwidth": "0B/s",
               "link_bandwidth": "1Gbit/s", "sync_cost": "0ms", "sync_cost_per_gib": "0ms"},
 "sim": {"ram_mode": "aggregate"}}
EOF

# the seed case: 20 s of downtime cannot meet a 1 s budget -> exit 1
check_rc "seed case: nothing meets the budgets (exit 1)" 1 "$MIGSIM" plan "$SEED" -p qemu -f json
keep
for k in min_downtime_limit_ms expected_downtime_ms expected_total_ms \
         avail_switchover_bandwidth_bps frontier policies commands; do
    check "json has $k" jqc "has(\"$k\")"
done
check "seed: smallest limit 20167 ms" jqc '.min_downtime_limit_ms == 20167'
check "seed: downtime about 20.8 s" jqc '.expected_downtime_ms > 20700 and .expected_downtime_ms < 20850'
check "seed: frontier rows have the documented fields" \
    jqc '[.frontier[] | has("downtime_limit_ms") and has("outcome") and has("total_ms") and has("downtime_ms")] | all'
check "seed: below the answer it times out, from it on it converges" \
    jqc '[.frontier[] | select(.downtime_limit_ms < 20167) | .outcome == "timeout"] + [.frontier[] | select(.downtime_limit_ms >= 20167) | .outcome == "converged"] | all'
check "seed: the switchover throughput is the link" jqc '.avail_switchover_bandwidth_bps == 1250000000'
check "seed: the QMP command sets the limit" \
    jqc '.commands.qmp[-1].execute == "migrate-set-parameters" and .commands.qmp[-1].arguments["downtime-limit"] == 20167'
check "seed: the virsh line" jqc '.commands.virsh[0] == "virsh migrate-setmaxdowntime DOMAIN 20167"'
check "seed: policies say why" jqc '.policies[0].policy == "qemu" and .policies[0].meets_budgets == false'

# with a 30 s downtime budget the same answer fits -> exit 0, table output
check "seed with --max-downtime 30s meets the budgets" "$MIGSIM" plan "$SEED" -p qemu --max-downtime 30s
keep
check "table names the answer" grep -q "smallest converging downtime-limit  20.17 s" "$TMPD/out"
check "table prints the virsh commands" grep -q "virsh migrate-setspeed DOMAIN 1193" "$TMPD/out"

# RAM-only: converges at any limit; the default policy set is compared
check "ram-only meets the budgets" "$MIGSIM" plan "$R" -f json
keep
check "ram-only: 1 ms is enough" jqc '.min_downtime_limit_ms == 1 and .meets_budgets'
check "ram-only: default candidates compared" \
    jqc '[.policies[].policy] == ["qemu", "auto-converge", "avail-switchover-bandwidth:1Gbit/s"]'
check "ram-only: deterministic" jqc '.stochastic == false and .seeds == 1'
check "custom frontier" "$MIGSIM" plan "$R" -p qemu --frontier '100ms..300ms:100ms' -f json
keep
check "custom frontier rows" jqc '[.frontier[].downtime_limit_ms] == [1, 100, 200, 300]'

# --db stores the run at the answer, found again by its key
check "plan --db stores the answer" "$MIGSIM" plan "$SEED" -p qemu --max-downtime 30s --db "$TMPD/p.db"
keep
check "stored as #1" grep -q "stored as #1" "$TMPD/out"
check "plan --db again finds it" "$MIGSIM" plan "$SEED" -p qemu --max-downtime 30s --db "$TMPD/p.db"
keep
check "still #1" grep -q "stored as #1" "$TMPD/out"
check "the stored run converged at 20167 ms" bash -c '"$MIGSIM" runs --db "$0" show 1 --format json | jq -e ".metrics.downtime_limit_ns == 20167000000 and .metrics.outcome == \"converged\"" >/dev/null' "$TMPD/p.db"

# --run: plan on a stored simulated run's scenario
"$MIGSIM" simulate "$SEED" --db "$TMPD/r.db" >/dev/null 2>&1
check_rc "plan --run 1" 1 "$MIGSIM" plan --run 1 --db "$TMPD/r.db" -p qemu -f json
keep
check "--run gives the same answer" jqc '.min_downtime_limit_ms == 20167'
check_rc "plan --run of a missing run" 3 "$MIGSIM" plan --run 99 --db "$TMPD/r.db"

# --trace: the inputs derived from the Sep 2024 vGPU trace
check_rc "plan --trace (exit 1: 20 s of downtime)" 1 "$MIGSIM" plan -p qemu -f json \
    --trace tests/data/traces/01-vfio-vgpu-21GB-estimate-exact-spin.log
keep
check "--trace finds the limit" jqc '.min_downtime_limit_ms > 20000 and .min_downtime_limit_ms < 20400'
check "--trace: the tiny-limit island is reported" jqc '.monotone == false and (.monotone_note | test("not monotone"))'
check "--trace says what it derived" grep -q "trace-derived inputs" "$TMPD/err"

# plot through gnuplot
check "plan --plot" "$MIGSIM" plan "$R" -p qemu --plot "$TMPD/frontier.png"
check "plot written" test -s "$TMPD/frontier.png"

check_rc "no input is a usage error" 2 "$MIGSIM" plan
check_rc "two inputs are a usage error" 2 "$MIGSIM" plan "$SEED" --run 1
check_rc "csv is not a plan format" 2 "$MIGSIM" plan "$SEED" -f csv
check_rc "bad budget" 2 "$MIGSIM" plan "$SEED" --max-total 0s
check_rc "bad scenario" 3 "$MIGSIM" plan "$TMPD/missing.json"
check "plan --help" bash -c '"$MIGSIM" plan --help | grep -q -- "--max-downtime"'
finish
