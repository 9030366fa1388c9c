#!/bin/bash
# migsim lab validate on a small grid of real migrations (TCG): one that
# converges (48 MiB at 8 MiB/s over 16 MiB/s) and one that cannot at
# 300 ms (at 64 MiB/s: it would need the guest below ~18 MiB/s); the
# qemu 7.2 model must agree on both verdicts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

check_rc "lab validate --help" 0 "$MIGSIM" lab validate --help
check_rc "bad grid value" 2 "$MIGSIM" lab validate --dirty-rate 8MiB/s,fast
check_rc "validate: verdicts agree (exit 0)" 0 "$MIGSIM" lab validate \
    --db "$TMPD/v.db" --working-set 48MiB --dirty-rate 8MiB/s,64MiB/s \
    --max-bandwidth 16MiB/s --downtime-limit 300ms --time-limit 10s \
    --markdown "$TMPD/v.md"
cp "$TMPD/last.out" "$TMPD/v.out"
grep -q "verdicts agree on 2 of 2 runs" "$TMPD/v.out" &&
    ok "2 of 2 verdicts agree" || { notok "verdicts"; cat "$TMPD/v.out"; }
grep -q "converged / converged" "$TMPD/v.out" && ok "converging row" ||
    notok "converging row"
grep -q "timeout / timeout" "$TMPD/v.out" && ok "non-converging row" ||
    notok "non-converging row"
grep -q "^calibration: sender ceiling .*migration.sender_page_cost" "$TMPD/v.out" &&
    ok "calibration reported" || notok "calibration reported"
grep -q "^| working set |" "$TMPD/v.md" && ok "markdown table written" ||
    notok "markdown table written"
kinds=$(sqlite3 "$TMPD/v.db" "SELECT group_concat(kind || ':' || n, ',') FROM
    (SELECT kind, count(*) AS n FROM runs GROUP BY kind ORDER BY kind)")
[ "$kinds" = "live:2,sim:2" ] && ok "real and simulated runs stored" ||
    notok "real and simulated runs stored ($kinds)"
# the best window is the sender's ceiling while the guest runs, not the
# link of the downtime phase (which keeps its default)
sj=$(sqlite3 "$TMPD/v.db" "SELECT scenario_json FROM runs WHERE kind = 'sim' LIMIT 1")
echo "$sj" | jq -e '.migration.sender_page_cost and (.migration.link_bandwidth == null)' >/dev/null &&
    ok "simulated with the measured sender ceiling, the default link" ||
    notok "simulated with the measured sender ceiling ($sj)"
# the calibration run's trace gives the VM stop and non-iterable save (the
# defaults, 5 ms + 1 ms/vCPU and 5 ms, describe a bigger guest), its
# setup-time the setup, its syncs' median the sync cost
echo "$sj" | jq -e '(.vm.stop_cost | test("^[1-9][0-9]*ns$")) and .vm.stop_cost_per_vcpu == "0ns" and (.vm.non_iterable_save_time | test("^[0-9]+ns$")) and (.migration.setup_time | test("^[0-9]+ns$")) and (.migration.sync_cost | test("^[0-9]+ns$"))' >/dev/null &&
    grep -q "sync cost .* (median of its syncs), setup .*, VM stop .* and non-iterable save .* (its trace)" "$TMPD/v.out" &&
    ok "the calibration run's stop, save, setup and sync median reach the model" ||
    notok "the calibration run's stop, save, setup and sync median reach the model ($sj)"
finish
