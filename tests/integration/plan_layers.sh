#!/bin/bash
# migsim plan with a Nova or KubeVirt policy searches that layer's own
# knobs (issue 14): Nova's live_migration_downtime_steps x _delay grid and
# live_migration_completion_timeout, KubeVirt's completionTimeoutPerGiB,
# progressTimeout and the dynamic proposal's steps x cooldown.  The printed
# option names and values are checked against the layer's limits, and the
# printed values are re-simulated with `migsim simulate` (they must
# converge as the plan says).
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
jqo() { jq -e "$1" "$TMPD/out" >/dev/null; }
R="$TMPD/ram.json"
cat >"$R" <<'JSON'
{"name": "ram only, 100 MB/s over 1 Gbit/s", "qemu": "9.2", "seed": 1,
 "vm": {"ram": "8GiB", "zero_fraction": 0, "vcpus": 4},
 "workload": {"kind": "uniform", "working_set": "2GiB", "dirty_rate": "100MB/s"},
 "migration": {"downtime_limit": "300ms", "max_bandwidth": "0B/s",
               "link_bandwidth": "1Gbit/s"},
 "sim": {"ram_mode": "aggregate"}}
JSON
# value of "NAME = V" in the nova lines
nova_val() { jq -r --arg k "$1" '.commands.nova[] | select(startswith($k + " = ")) | ltrimstr($k + " = ")' "$TMPD/out"; }

# --- Nova -------------------------------------------------------------------
check_rc "nova-steps: plan (exit 0)" 0 "$MIGSIM" plan "$R" -p nova-steps --for nova -f json
cp "$TMPD/rc.out" "$TMPD/out"
check "nova: the grid was searched (25 steps x delay combinations)" \
    jqo '.advice.layer_knobs.searched and .advice.layer_knobs.combinations == 25 and (.advice.layer_knobs.how | test("live_migration_downtime_steps .* x live_migration_downtime_delay"))'
check "nova: only nova.conf [libvirt] option names" \
    jqo '([.commands.nova[] | select(. != "[libvirt]") | select(startswith("#") | not) | split(" = ")[0]] - ["live_migration_downtime","live_migration_downtime_steps","live_migration_downtime_delay","live_migration_completion_timeout","live_migration_timeout_action","live_migration_permit_post_copy","live_migration_permit_auto_converge","live_migration_bandwidth"]) == []'
D=$(nova_val live_migration_downtime)
S=$(nova_val live_migration_downtime_steps)
L=$(nova_val live_migration_downtime_delay)
C=$(nova_val live_migration_completion_timeout)
A=$(nova_val live_migration_timeout_action)
echo "# nova.conf: downtime=$D steps=$S delay=$L completion_timeout=$C action=$A"
check "nova: live_migration_downtime within 100 .. 2000000 ms" test "${D:-0}" -ge 100 -a "${D:-0}" -le 2000000
check "nova: live_migration_downtime_steps >= 3 (Nova's minimum)" test "${S:-0}" -ge 3
check "nova: live_migration_downtime_delay >= 3 s/GiB (Nova's minimum)" test "${L:-0}" -ge 3
check "nova: live_migration_completion_timeout within 1 .. 86400 s/GiB" test "${C:-0}" -ge 1 -a "${C:-0}" -le 86400
check "nova: the printed values are the searched ones" \
    jqo "(.advice.layer_knobs.live_migration_downtime_steps == ${S:-0}) and (.advice.layer_knobs.live_migration_downtime_delay == ${L:-0}) and (.advice.layer_knobs.live_migration_completion_timeout == ${C:-0}) and .advice.value_ms == ${D:-0}"
check "nova: the completion timeout is the slowest total x 1.25 over the data size (not Nova's 800 default)" \
    jqo '.advice.layer_knobs as $k | ($k.live_migration_completion_timeout == ((($k.expected_total_ms / 1000 * 1.25) | ceil) / $k.data_gib | ceil)) and $k.live_migration_completion_timeout != 800'
check "nova: the timeout does not abort the planned migration" \
    jqo '.advice.layer_knobs as $k | $k.live_migration_completion_timeout * $k.data_gib > $k.expected_total_ms / 1000'
tot=$(jq -r '.advice.layer_knobs.expected_total_ms // -1' "$TMPD/out")
"$MIGSIM" simulate "$R" --no-db -f json -p "nova-steps:downtime=${D}ms,steps=$S,delay=${L}s,completion_timeout=${C}s,action=$A" >"$TMPD/sim" 2>"$TMPD/err"
check "nova: the printed nova.conf re-simulated converges in the planned total" \
    jq -e ".results[0].outcome == \"converged\" and ((.results[0].total_ms - $tot) | fabs) < 0.001" "$TMPD/sim"
# with a tenth of the timeout the same settings abort: the timeout binds
"$MIGSIM" simulate "$R" --no-db -f json -p "nova-steps:downtime=${D}ms,steps=$S,delay=${L}s,completion_timeout=$((C / 10 + 1))s" >"$TMPD/sim" 2>"$TMPD/err"
check "nova: a tenth of the timeout aborts it (the timeout is a real bound)" jq -e '.results[0].outcome == "aborted"' "$TMPD/sim"
check_rc "nova with post-copy allowed" 0 "$MIGSIM" plan "$R" -p nova-steps --for nova -f json --set migration.postcopy=true
cp "$TMPD/rc.out" "$TMPD/out"
check "nova: says what live_migration_permit_post_copy would do" \
    jqo '(.commands.nova | index("live_migration_permit_post_copy = true")) != null and ([.commands.nova[] | test("^# the scenario allows post-copy: .*force_complete.*post-copy")] | any)'
"$MIGSIM" plan "$R" -p nova-steps --for nova -f json >"$TMPD/out" 2>/dev/null
check "nova: no post-copy line when the scenario does not allow it" \
    jqo '([.commands.nova[] | test("allows post-copy")] | any | not) and .advice.layer_knobs.postcopy == null'
"$MIGSIM" plan "$R" -p nova-steps --for nova >"$TMPD/t" 2>&1
check "nova table: the searched values printed as nova.conf lines" \
    bash -c 'grep -q "^  \[libvirt\]$" "$0" && grep -q "^  live_migration_downtime_steps = $1$" "$0" && grep -q "^  live_migration_completion_timeout = $2$" "$0" && grep -q "^  # searched live_migration_downtime_steps" "$0"' "$TMPD/t" "$S" "$C"

# --- KubeVirt ---------------------------------------------------------------
yaml_val() { jq -r --arg k "$1" '.commands.kubevirt[] | select(startswith("  " + $k + ": ")) | ltrimstr("  " + $k + ": ")' "$TMPD/out"; }
check_rc "kubevirt:dynamic=on: plan (exit 0)" 0 "$MIGSIM" plan "$R" -p kubevirt:dynamic=on --for kubevirt -f json
cp "$TMPD/rc.out" "$TMPD/out"
CT=$(yaml_val completionTimeoutPerGiB)
PT=$(jq -r '.commands.kubevirt[] | select(test("progressTimeout: [0-9]+$")) | sub(".*progressTimeout: "; "")' "$TMPD/out")
KS=$(jq -r '.advice.layer_knobs.dynamic_steps' "$TMPD/out")
KC=$(jq -r '.advice.layer_knobs.dynamic_cooldown_s' "$TMPD/out")
MX=$(jq -r '.advice.value_ms' "$TMPD/out")
echo "# kubevirt: completionTimeoutPerGiB=$CT progressTimeout=$PT steps=$KS cooldown=$KC max=$MX"
check "kubevirt: the ramp searched (25 steps x cooldown combinations)" \
    jqo '.advice.layer_knobs.searched and .advice.layer_knobs.combinations == 25'
check "kubevirt: MigrationPolicy spec field names only" \
    jqo '([.commands.kubevirt[] | select(startswith("  ") and (startswith("  #") | not) and (startswith("  name:") | not)) | ltrimstr("  ") | split(":")[0]] - ["allowAutoConverge","allowPostCopy","bandwidthPerMigration","completionTimeoutPerGiB"]) == []'
check "kubevirt: completionTimeoutPerGiB within 1 .. 86400 and not the 150 default" test "${CT:-0}" -ge 1 -a "${CT:-0}" -le 86400 -a "${CT:-0}" -ne 150
check "kubevirt: progressTimeout within 1 .. 86400" test "${PT:-0}" -ge 1 -a "${PT:-0}" -le 86400
check "kubevirt: the proposal's steps >= 1, cooldown >= 1 s, max 1 .. 2000000 ms" \
    test "${KS:-0}" -ge 1 -a "${KC:-0}" -ge 1 -a "${MX:-0}" -ge 1 -a "${MX:-0}" -le 2000000
check "kubevirt: the ramp is said not to be a released field" \
    jqo '[.commands.kubevirt[] | test("^# the proposal.s ramp as planned .*steps [0-9]+, cooldown [0-9]+ s")] | any'
tot=$(jq -r '.advice.layer_knobs.expected_total_ms // -1' "$TMPD/out")
"$MIGSIM" simulate "$R" --no-db -f json -p "kubevirt:dynamic=on,max=${MX}ms,steps=$KS,cooldown=${KC}s,completion_timeout_per_gib=${CT}s,progress_timeout=${PT}s" >"$TMPD/sim" 2>"$TMPD/err"
check "kubevirt: the printed values re-simulated converge in the planned total" \
    jq -e ".results[0].outcome == \"converged\" and ((.results[0].total_ms - $tot) | fabs) < 0.001" "$TMPD/sim"
check_rc "kubevirt (released): plan" 0 "$MIGSIM" plan "$R" -p kubevirt --for kubevirt -f json
cp "$TMPD/rc.out" "$TMPD/out"
CT=$(yaml_val completionTimeoutPerGiB)
check "kubevirt released: the timeouts at the downtime-limit in force (300 ms)" \
    jqo ".advice.layer_knobs.downtime_limit_in_force_ms == 300 and .advice.layer_knobs.completionTimeoutPerGiB == ${CT:-0} and (.advice.layer_knobs.how | test(\"in force\"))"
"$MIGSIM" simulate "$R" --no-db -f json -p "kubevirt:completion_timeout_per_gib=${CT}s" >"$TMPD/sim" 2>"$TMPD/err"
check "kubevirt released: the printed completionTimeoutPerGiB converges at 300 ms" jq -e '.results[0].outcome == "converged"' "$TMPD/sim"
"$MIGSIM" plan scenarios/seed-vfio-21g.json -p kubevirt --for kubevirt --max-downtime 30s -f json >"$TMPD/out" 2>/dev/null
check "kubevirt released, seed case: no KubeVirt setting converges at the 300 ms in force, said so" \
    jqo '(.advice.layer_knobs.how | test("no KubeVirt setting makes it converge")) and .advice.layer_knobs.searched == false and .advice.layer_knobs.completionTimeoutPerGiB == 150'
# without a layer policy nothing is searched and the lines keep the defaults
"$MIGSIM" plan "$R" -p qemu --for nova -f json >"$TMPD/out" 2>/dev/null
check "qemu policy: no layer search, Nova's defaults and a note" \
    jqo '(.advice | has("layer_knobs") | not) and (.commands.nova | index("live_migration_downtime_steps = 10")) != null and ([.commands.nova[] | test("plan with --policy nova-steps")] | any)'
finish
