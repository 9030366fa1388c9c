#!/bin/bash
# migsim plan from the command line: the seed case, a RAM-only VM, --run,
# --trace, --db, --plot, JSON fields, exit codes.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
keep() { cp "$TMPD/last.out" "$TMPD/out"; cp "$TMPD/last.err" "$TMPD/err"; }
jqc() { test -s "$TMPD/out" && jq -e "$1" "$TMPD/out" >/dev/null; }

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
check "seed: the QMP command sets the limit with the default 1.25 margin" \
    jqc '.commands.qmp[-1].execute == "migrate-set-parameters" and .commands.qmp[-1].arguments["downtime-limit"] == 25209'
check "seed: the advice states its margin and basis" \
    jqc '.advice.ok and .advice.safety_factor == 1.25 and .advice.value_ms == 25209 and (.advice.rests_on | test("scenarios/seed-vfio-21g.json")) and (.advice.uncertainty | length > 0)'
check "seed: the virsh line" jqc '.commands.virsh[0] == "virsh migrate-setmaxdowntime DOMAIN 25209"'
check_rc "seed with --safety-factor 1" 1 "$MIGSIM" plan "$SEED" -p qemu -f json --safety-factor 1
keep
check "seed: the QMP command sets the limit" \
    jqc '.commands.qmp[-1].execute == "migrate-set-parameters" and .commands.qmp[-1].arguments["downtime-limit"] == 20167'
check "seed: no margin: the virsh line at the answer" jqc '.commands.virsh[0] == "virsh migrate-setmaxdowntime DOMAIN 20167"'
check "seed: policies say why" jqc '.policies[0].policy == "qemu" and .policies[0].meets_budgets == false'

# with a 30 s downtime budget the same answer fits -> exit 0, table output
check "seed with --max-downtime 30s meets the budgets" "$MIGSIM" plan "$SEED" -p qemu --max-downtime 30s --for libvirt
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

# safe advice (issue 14): trace 11 (200 GiB over 100 Gbit/s, 23.5 s real)
T11=$(ls ../shared/data/traces/11-*.log 2>/dev/null | head -1)
[ -n "$T11" ] || T11=$(ls tests/data/traces/11-*.log 2>/dev/null | head -1)
if [ -n "$T11" ]; then
    "$MIGSIM" plan --trace "$T11" -f json >"$TMPD/out" 2>"$TMPD/err"
    check "trace 11: no max-bandwidth cap advised (QMP)" \
        jqc '[.commands.qmp[] | .arguments | has("max-bandwidth")] | any | not'
    check "trace 11: no migrate-setspeed" jqc '[.commands.virsh[] | test("^virsh migrate-setspeed")] | any | not'
    # the replay fit of trace 11 fails today (re-run +95 %: plan_fit.sh),
    # so the advice is refused; if inference improves, it must still be
    # no 1 ms limit and no throttle
    check "trace 11: no 1 ms limit (refused on the fit, or >= 100 ms)" \
        jqc 'if .advice.ok then .advice.value_ms >= 100 and .commands.qmp[-1].arguments["downtime-limit"] >= 100 and (.advice.bandwidth_note | test("achieved")) else (.advice.refused | test("replay fit failed")) and .commands.qmp == [] end'
    check "trace 11: says it rests on the trace and its fit" jqc '(.advice.rests_on | test("trace .*11-")) and (.advice.rests_on | test("replay fit"))'
    "$MIGSIM" plan --trace "$T11" --for libvirt >"$TMPD/out" 2>"$TMPD/err"
    check "trace 11 table: no throttle, no 1 ms" bash -c '! grep -E "setspeed DOMAIN 2[0-9][0-9]\b|setmaxdowntime DOMAIN 1$" "$0"' "$TMPD/out"
else
    echo "skip - trace 11: ../shared/data/traces/11-*.log not found"
fi
T03=$(ls ../shared/data/traces/03-*.log 2>/dev/null | head -1)
if [ -n "$T03" ]; then
    "$MIGSIM" plan --trace "$T03" -f json >"$TMPD/out" 2>"$TMPD/err"
    check "trace 03 (inconclusive): advice refused with a reason" \
        jqc '(.advice.ok | not) and (.advice.refused | test("inconclusive")) and (.commands.qmp == []) and (.commands.virsh == []) and (.commands.nova == [])'
    "$MIGSIM" plan --trace "$T03" >"$TMPD/out" 2>"$TMPD/err"
    check "trace 03 table: refused, no command printed" bash -c 'grep -q "NOT GIVEN" "$0" && ! grep -qE "migrate-set-parameters|7565280" "$0"' "$TMPD/out"
    "$MIGSIM" replay --no-db "$T03" >"$TMPD/out" 2>"$TMPD/err"
    check "replay of trace 03: a limit past QEMU's 2000 s is not advised" \
        bash -c '! grep -q "switched over with downtime-limit >= 7565280" "$0" && grep -q "Not advice" "$0" && grep -q "none QEMU accepts" "$0"' "$TMPD/out"
else
    echo "skip - trace 03: ../shared/data/traces/03-*.log not found"
fi
# never below a layer's minimum, never above QEMU's maximum
"$MIGSIM" plan "$R" -p qemu --for nova -f json >"$TMPD/out" 2>"$TMPD/err"
check "ram-only for nova: live_migration_downtime >= Nova's 100 ms" \
    jqc '[.commands.nova[] | select(startswith("live_migration_downtime =")) | ltrimstr("live_migration_downtime = ") | tonumber] | (length == 1 and .[0] >= 100)'
"$MIGSIM" plan "$R" -p qemu --safety-factor 1 -f json >"$TMPD/out" 2>"$TMPD/err"
check "ram-only, no margin: never a limit below QEMU's default in force" jqc '.advice.value_ms == 300'
"$MIGSIM" plan "$SEED" -p qemu --max-total 2h --max-downtime 1h --safety-factor 1.5 \
    --set devices.0.stop_copy_size=2000000000000 -f json >"$TMPD/out" 2>"$TMPD/err"
check "huge device: the margin is cut at QEMU's 2000 s maximum" \
    jqc '.min_downtime_limit_ms > 1333334 and .advice.value_ms == 2000000 and .commands.qmp[-1].arguments["downtime-limit"] == 2000000 and (.advice.why | test("maximum"))'
# --for: each layer's lines use its documented option names only
"$MIGSIM" plan "$SEED" -p avail-switchover-bandwidth:10Gbit/s --max-downtime 30s -f json >"$TMPD/out" 2>"$TMPD/err"
check "qmp: documented commands and parameters" \
    jqc '[.commands.qmp[] | .execute] - ["migrate-set-parameters","migrate-set-capabilities"] == [] and ([.commands.qmp[] | select(.execute=="migrate-set-parameters") | .arguments | keys[]] - ["downtime-limit","max-bandwidth","avail-switchover-bandwidth","cpu-throttle-initial","cpu-throttle-increment","max-cpu-throttle","vcpu-dirty-limit"] == [])'
check "libvirt: virsh commands, avail-switchover-bandwidth through qemu-monitor-command" \
    jqc '([.commands.virsh[] | select(startswith("#") | not) | split(" ")[1]] - ["migrate-setmaxdowntime","migrate-setspeed","qemu-monitor-command"] == []) and ([.commands.virsh[] | test("qemu-monitor-command DOMAIN .*avail-switchover-bandwidth")] | any)'
check "nova: nova.conf [libvirt] option names" \
    jqc '(.commands.nova | index("[libvirt]")) != null and ([.commands.nova[] | select(. != "[libvirt]") | select(startswith("#") | not) | split(" = ")[0]] - ["live_migration_downtime","live_migration_downtime_steps","live_migration_downtime_delay","live_migration_completion_timeout","live_migration_timeout_action","live_migration_permit_post_copy","live_migration_permit_auto_converge","live_migration_bandwidth"] == [])'
check "kubevirt: MigrationPolicy spec fields" \
    jqc '(.commands.kubevirt | index("kind: MigrationPolicy")) != null and ([.commands.kubevirt[] | select(startswith("  ") and (startswith("  #") | not) and (startswith("  name:") | not)) | ltrimstr("  ") | split(":")[0]] - ["allowAutoConverge","allowPostCopy","bandwidthPerMigration","completionTimeoutPerGiB"] == [])'
check "proxmox: qm set options" \
    jqc '[.commands.proxmox[] | select(startswith("qm ")) | split(" ")[3]] - ["--migrate_downtime","--migrate_speed"] == [] and ([.commands.proxmox[] | test("^qm set VMID --migrate_downtime [0-9]+[.][0-9]{3}$")] | any)'
check_rc "--for typo is a usage error" 2 "$MIGSIM" plan "$SEED" --for novaa
# with a Nova policy the plan searches Nova's own knob
"$MIGSIM" plan "$SEED" -p nova-steps --max-downtime 30s --for nova -f json >"$TMPD/out" 2>"$TMPD/err"
check "nova-steps: the search is over live_migration_downtime" \
    jqc '.advice.knob == "live_migration_downtime" and .commands.qmp == [] and ([.frontier[].downtime_limit_ms] | min) >= 100 and ([.commands.nova[] | test("^live_migration_downtime = [0-9]+$")] | any)'

check_rc "no input is a usage error" 2 "$MIGSIM" plan
check_rc "two inputs are a usage error" 2 "$MIGSIM" plan "$SEED" --run 1
check_rc "csv is not a plan format" 2 "$MIGSIM" plan "$SEED" -f csv
check_rc "bad budget" 2 "$MIGSIM" plan "$SEED" --max-total 0s
check_rc "missing scenario file: file error (4, as in every command)" 4 "$MIGSIM" plan "$TMPD/missing.json"
check_rc "plan --run last" 1 "$MIGSIM" plan --run last --db "$TMPD/r.db" -p qemu
check_rc "plan --qemu 9.1.2 is taken as 9.1" 1 "$MIGSIM" plan "$SEED" -p qemu --qemu 9.1.2
check_rc "plan -p typo is a usage error" 2 "$MIGSIM" plan "$SEED" -p qemo
check "  ... with did you mean" grep -q "did you mean .qemu" "$TMPD/rc.err"
check "plan --help" bash -c '"$MIGSIM" plan --help | grep -q -- "--max-downtime"'
finish
