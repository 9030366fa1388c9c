#!/bin/bash
# migsim simulate / compare / policies from the command line.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

check "--version prints 'migsim VERSION'" bash -c '"$MIGSIM" --version | head -1 | grep -Eq "^migsim [0-9]+\.[0-9]+\.[0-9]+$"'
check "--help lists simulate" bash -c '"$MIGSIM" --help | grep -q simulate'
for c in $("$MIGSIM" --help | awk '/^Commands:/{f=1;next} f && /^  [a-z]/{print $1} /^$/{if(f)exit}'); do
    check "$c --help exits 0 and documents exit codes" bash -c '"$MIGSIM" '"$c"' --help | grep -q "Exit status"'
done
check_rc "unknown command is a usage error" 2 "$MIGSIM" frobnicate
check_rc "missing scenario is a usage error" 2 "$MIGSIM" simulate

# JSON output has the documented fields
"$MIGSIM" simulate scenarios/idle-vm.json --format json >"$TMPD/idle.json"
for k in policy qemu outcome total_ms downtime_ms downtime_limit_ms iterations \
         bitmap_syncs estimate_calls exact_calls sync_time_ms bytes_transferred \
         expected_downtime_ms; do
    check "json has results[0].$k" bash -c "jq -e '.results[0] | has(\"$k\")' '$TMPD/idle.json' >/dev/null 2>&1 || python3 -c 'import json,sys; d=json.load(open(\"$TMPD/idle.json\")); sys.exit(0 if \"$k\" in d[\"results\"][0] else 1)'"
done
check "idle VM converges" grep -q '"outcome": "converged"' "$TMPD/idle.json"

# compare: ranks, JSON adds the cost fields
"$MIGSIM" compare scenarios/seed-vfio-21g.json -p qemu -p cached-stop-size \
    -p downtime-limit:30s --format json >"$TMPD/cmp.json"
for k in exact_calls_per_s spin_cpu_ms sync_bql_ms rank; do
    check "compare json has $k" grep -q "\"$k\"" "$TMPD/cmp.json"
done
check "compare ranks the converging policy first" python3 -c "
import json; d=json.load(open('$TMPD/cmp.json'))
r=d['results']; assert r[0]['policy']=='downtime-limit:30s' and r[0]['outcome']=='converged', r[0]
assert r[1]['outcome']=='timeout'"
check "compare table output" bash -c '"$MIGSIM" compare scenarios/seed-vfio-21g.json -p qemu -p cached-stop-size | grep -q "^costs:"'

# CSV: header plus one row per policy
"$MIGSIM" simulate scenarios/idle-vm.json -p qemu -p fixed --format csv >"$TMPD/out.csv"
check "csv has header + 2 rows" test "$(wc -l <"$TMPD/out.csv")" -eq 3
check "series csv written" bash -c '"$MIGSIM" simulate scenarios/idle-vm.json --series '"$TMPD"'/s.csv >/dev/null && test $(wc -l <'"$TMPD"'/s.csv) -gt 2'

# --set overrides; bad keys and values are named
check "--set changes the limit" bash -c '"$MIGSIM" simulate scenarios/idle-vm.json --set migration.downtime_limit=2s --format json | grep -q "\"downtime_limit_ms\": 2000"'
check_rc "unknown key is a data error" 3 "$MIGSIM" simulate scenarios/idle-vm.json --set migration.downtime_limt=2s
check "unknown key is named" grep -q "migration.downtime_limt" "$TMPD/rc.err"
check_rc "a --set value without a unit is a usage error (2, as an option's; issue 14)" 2 "$MIGSIM" simulate scenarios/idle-vm.json --set migration.downtime_limit=300
check "bad unit names the key" grep -q "migration.downtime_limit" "$TMPD/rc.err"
printf '{"qemu": "9.1",\n "vm": {"ram": "4GiB",,}}\n' >"$TMPD/bad.json"
check_rc "JSON syntax error is a data error" 3 "$MIGSIM" simulate "$TMPD/bad.json"
check "JSON syntax error names file:line" grep -q "bad.json:2" "$TMPD/rc.err"
check_rc "missing file is a file error (4 in every command, issue 14)" 4 "$MIGSIM" simulate "$TMPD/nope.json"
check_rc "unknown policy is a usage error (issue 14)" 2 "$MIGSIM" simulate scenarios/idle-vm.json -p nosuch
check "unknown policy is named" grep -q "nosuch" "$TMPD/rc.err"
check "--keys lists devices[].stop_copy_size" bash -c '"$MIGSIM" simulate --keys | grep -q "devices\[\].stop_copy_size"'
check "policies lists every reporting variant" bash -c 'o=$("$MIGSIM" policies); for p in qemu cached-stop-size refresh-stop-size stop-size-in-estimate non-iterable-report avail-switchover-bandwidth auto-converge dirty-limit postcopy-after pause-before-switchover; do echo "$o" | grep -q "$p" || exit 1; done'
check "stdin scenario" bash -c '"$MIGSIM" simulate - <scenarios/idle-vm.json | grep -q converged'
check "same seed, same output" bash -c 'a=$("$MIGSIM" simulate scenarios/precopy-nic-vf.json --no-db --format json); b=$("$MIGSIM" simulate scenarios/precopy-nic-vf.json --no-db --format json); [ "$a" = "$b" ]'
check "runs are stored with ids" bash -c '"$MIGSIM" simulate scenarios/idle-vm.json --format json | grep -q "\"run_id\""'
# device profiles (as probe-vfio writes them) load relative to the scenario
cat >"$TMPD/gpu.profile.json" <<'JSON'
{"name": "probed", "kind": "vfio", "stop_copy_size": "3GB", "precopy": true, "precopy_initial": "1GB", "query_latency": "120us"}
JSON
echo '{"qemu":"9.2","devices":[{"profile":"gpu.profile.json","name":"gpu7"}]}' >"$TMPD/prof-scn.json"
check "profile keys load, scenario keys override" bash -c '"$MIGSIM" simulate "'"$TMPD"'/prof-scn.json" --no-db | grep -q "device gpu7: stop-copy 3.0 GB, pre-copy"'
echo '{"qemu":"9.2","devices":[{"profile":"missing.json"}]}' >"$TMPD/prof-bad.json"
check_rc "missing profile is a data error" 3 "$MIGSIM" simulate "$TMPD/prof-bad.json" --no-db
check "missing profile is named" grep -q "devices\[0\].profile" "$TMPD/rc.err"
finish
