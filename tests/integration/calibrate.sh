#!/bin/bash
# migsim calibrate and the replay fit (issue 11) on real QEMU runs this
# test makes (QEMU 7.2 TCG lab runs, ~15 s), plus the recorded runs of
# tests/data/calib: calibrate from traces and from stored runs (--run),
# the calibration file loaded by a scenario, plan --calibration, replay
# --calibration; the fit printed beside every replay, and a converged run
# whose re-run misses flagged with the input to blame.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu
D="$MIGSIM_ROOT/tests/data/calib"
db="$TMPD/runs.db"

check_rc "calibrate --help" 0 "$MIGSIM" calibrate --help
grep -q -- "--run ID" "$TMPD/last.out" && ok "help lists --run" ||
    notok "help lists --run"
check_rc "calibrate without runs: usage" 2 "$MIGSIM" calibrate
check_rc "calibrate an unreadable trace: exit 4 (as every command)" 4 "$MIGSIM" calibrate \
    "$TMPD/none.log"
grep -q "none.log" "$TMPD/last.err" && ok "the unreadable file is named" ||
    notok "the unreadable file is named"

# two real runs: max-bandwidth binding, and unlimited (the sender binds)
check_rc "lab run 32MiB/s: exit 0" 0 "$MIGSIM" lab run --db "$db" --quiet \
    --ram 512MiB --working-set 32MiB --dirty-rate 4MiB/s \
    --max-bandwidth 32MiB/s --time-limit 40s --trace "$TMPD/a.log" -f json
cp "$TMPD/last.out" "$TMPD/a.json"
id_a=$(jnum "$TMPD/a.json" run_id)
check_rc "lab run unlimited: exit 0" 0 "$MIGSIM" lab run --db "$db" --quiet \
    --ram 512MiB --working-set 64MiB --dirty-rate 4MiB/s \
    --max-bandwidth 0 --time-limit 40s --trace "$TMPD/b.log" -f json
cp "$TMPD/last.out" "$TMPD/b.json"
id_b=$(jnum "$TMPD/b.json" run_id)
[ -n "$id_a" ] && [ -n "$id_b" ] && ok "both runs stored ($id_a, $id_b)" ||
    notok "both runs stored"

# every replay re-runs the trace under its own policy and shows the fit
for t in a b; do
    check_rc "replay $t: exit 0" 0 "$MIGSIM" replay "$TMPD/$t.log" --no-db \
        -f json
    python3 - "$TMPD/last.out" <<'EOF' && ok "replay $t: fit consistent" ||
import json, sys
d = json.load(open(sys.argv[1]))
f = d["fit"]
assert f["have"], "no fit"
cf = d["counterfactual"]
assert cf and cf[0]["policy"] == "qemu"
# flagged exactly when outside tolerance, and then an input is named
outside = (not f["verdict_match"]) or (
    f["observed_verdict"] == "converged" and abs(f["total_error"]) > 0.25)
assert f["ok"] == (not outside), f
assert all(c["reliable"] == f["ok"] for c in cf)
assert f["ok"] or f["blame"].startswith("inputs."), f
for k in ("ram_total_source", "zero_source", "working_set_source",
          "ram_dirty_rate_source", "sender_source", "sync_cost_source",
          "vm_stop_source", "save_load_source"):
    assert d["inputs"][k], k
EOF
        notok "replay $t: fit consistent ($(head -c 300 "$TMPD/last.out"))"
done
check_rc "replay a (table)" 0 "$MIGSIM" replay "$TMPD/a.log" --no-db
grep -q "^Fit of the re-run (policy qemu) beside the observation" \
    "$TMPD/last.out" && ok "the table shows the fit" ||
    notok "the table shows the fit"

# a converged real run (recorded here: 1 GiB, unlimited, 0.1 s) whose
# re-run misses: the flag and the input
check_rc "replay a converged run that re-runs badly" 0 "$MIGSIM" replay \
    "$D/tcg-7.2-1GiB-32MiB-16MiB-0.log" --no-db
grep -q "OUTSIDE TOLERANCE" "$TMPD/last.out" && ok "flagged outside tolerance" ||
    notok "flagged outside tolerance"
grep -q "Input to blame: inputs.zero_fraction (not inferred)" \
    "$TMPD/last.out" && ok "the input to blame is named" ||
    notok "the input to blame is named"
grep -q "(unreliable: inputs.zero_fraction" "$TMPD/last.out" &&
    ok "the counterfactual row says unreliable" ||
    notok "the counterfactual row says unreliable"

# calibrate from traces and from the stored runs.  Whether the two new
# runs inform the link depends on their downtimes (the remainder's slope
# against the RAM sent in the downtime is kept only when determined to
# 25 %, which real downtimes on a shared host sometimes are, sometimes
# not); the recorded runs alone never do, so "listed as default" is
# checked on them, and on all runs the file agrees with the table.
check_rc "calibrate the recorded runs: exit 0" 0 "$MIGSIM" calibrate \
    "$D"/*.log -o "$TMPD/cal-rec.json"
grep -q "migration.link_bandwidth .*default" "$TMPD/last.out" &&
    ok "the link no trace informs is listed as default" ||
    notok "the link no trace informs is listed as default"
python3 - "$TMPD/cal-rec.json" <<'EOF' && ok "a default is left out of the scenario" ||
import json, sys
d = json.load(open(sys.argv[1]))
keys = {c["key"]: c for c in d["constants"]}
assert keys["migration.link_bandwidth"]["status"] == "default"
assert keys["migration.link_bandwidth"]["runs"] == 0
assert "link_bandwidth" not in d["scenario"]["migration"]
EOF
    notok "a default is left out of the scenario"
check_rc "calibrate traces: exit 0" 0 "$MIGSIM" calibrate "$TMPD/a.log" \
    "$TMPD/b.log" "$D"/*.log -o "$TMPD/cal.json"
grep -q "migration.sync_cost .*fitted" "$TMPD/last.out" &&
    ok "sync cost fitted" || notok "sync cost fitted"
python3 - "$TMPD/cal.json" <<'EOF' && ok "calibration file: constants and scenario" ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d["migsim_calibration"] == 1
keys = {c["key"]: c for c in d["constants"]}
assert keys["migration.sync_cost"]["status"] == "fitted"
assert keys["migration.sync_cost"]["runs"] >= 2
assert keys["vm.stop_cost"]["status"] == "fitted"   # the 10.0 KVM run
assert "sync_cost" in d["scenario"]["migration"]
# each constant is in the scenario exactly when a run informed it
for k, c in keys.items():
    sect, name = k.split(".", 1)
    inside = name in d["scenario"].get(sect, {})
    if c["status"] == "default":
        assert not inside and c["runs"] == 0, c
    elif c["status"] == "fitted":
        assert inside and c["runs"] >= 1, c
EOF
    notok "calibration file: constants and scenario ($(head -c 600 "$TMPD/cal.json"))"
check_rc "calibrate --run: exit 0" 0 "$MIGSIM" calibrate --db "$db" \
    --run "$id_a" --run "$id_b" -o "$TMPD/cal-runs.json" -f json
python3 - "$TMPD/cal-runs.json" <<'EOF' && ok "stored runs calibrate (2 runs)" ||
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["runs"]) == 2, d["runs"]
keys = {c["key"]: c for c in d["constants"]}
assert keys["migration.sync_cost"]["runs"] == 2
EOF
    notok "stored runs calibrate (2 runs)"
check_rc "calibrate --run of a missing run" 3 "$MIGSIM" calibrate --db "$db" \
    --run 999

# the calibration loaded by a scenario, plan and replay
cat >"$TMPD/s.json" <<EOF
{"qemu": "7.2", "calibration": "cal.json",
 "vm": {"ram": "512MiB", "vcpus": 1},
 "workload": {"kind": "sweep", "working_set": "32MiB", "dirty_rate": "4MiB/s"},
 "migration": {"max_bandwidth": "32MiB/s", "sync_cost": "3ms"}}
EOF
check_rc "simulate with a calibration: exit 0" 0 "$MIGSIM" simulate \
    "$TMPD/s.json" --no-db -f json
grep -q '"sync_cost":"3ms"' "$TMPD/last.out" ||
    grep -q '"sync_time_ms"' "$TMPD/last.out" &&
    ok "simulate ran with it" || notok "simulate ran with it"
check_rc "plan --calibration: exit 0" 0 "$MIGSIM" plan "$TMPD/s.json" \
    --calibration "$TMPD/cal.json"
check_rc "replay --calibration: exit 0" 0 "$MIGSIM" replay "$TMPD/a.log" \
    --no-db --calibration "$TMPD/cal.json"
check_rc "replay --calibration missing file: exit 4" 4 "$MIGSIM" replay \
    "$TMPD/a.log" --no-db --calibration "$TMPD/nope.json"

# lab validate --calibrate: fit on half the grid, validate on the other half
"$MIGSIM" lab validate --calibrate --no-db --quiet --ram 256MiB \
    --working-set 16MiB,32MiB --dirty-rate 4MiB/s \
    --max-bandwidth 32MiB/s,0 --time-limit 30s >"$TMPD/lv.out" 2>"$TMPD/lv.err"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] && ok "lab validate --calibrate: exit $rc" ||
    { notok "lab validate --calibrate: exit $rc"; cat "$TMPD/lv.err"; }
grep -q "^Calibration half (simulated before the fit):" "$TMPD/lv.out" &&
    grep -q "^Validation half (simulated with the fitted calibration):" \
        "$TMPD/lv.out" && ok "both tables printed" || notok "both tables printed"
cal=$(sed -n 's/^calibration fitted on 2 runs of the other half: //p' \
    "$TMPD/lv.out")
[ -n "$cal" ] && [ -f "$cal" ] && grep -q '"migsim_calibration": 1' "$cal" &&
    ok "the fitted calibration is kept ($cal)" ||
    notok "the fitted calibration is kept"
[ "$(sed -n '/^Validation half/,$p' "$TMPD/lv.out" | grep -c ' MiB/s ')" = 2 ] &&
    ok "the validation half has its 2 runs" ||
    notok "the validation half has its 2 runs"
# the halves are a checkerboard over the grid: each holds both working
# sets and both max-bandwidths (runs in pairs put one working set in each)
val=$(sed -n '/^Validation half/,$p' "$TMPD/lv.out")
echo "$val" | grep -q '^16 MiB ' && echo "$val" | grep -q '^32 MiB ' &&
    ok "the validation half holds both working sets" ||
    { notok "the validation half holds both working sets"; echo "$val"; }
[ -n "$cal" ] && rm -rf "$(dirname "$cal")"
finish
