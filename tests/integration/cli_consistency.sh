#!/bin/bash
# CLI consistency (issue 14) and hostile text (issue 17 items 4 and 11):
# the same bad inputs through every command, with their messages and exit
# codes; control bytes in names and messages never reach the terminal raw;
# one rule for seeds on the command line and in a scenario.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
ESC=$(printf '\033')
BEL=$(printf '\007')
has_raw_ctl() { LC_ALL=C grep -q "[$ESC$BEL]" "$1"; }
export ESC BEL
export -f has_raw_ctl

# --- issue 17 item 4: escapes in a scenario name and a device name ---------
H="$TMPD/hostile.json"
printf '{"name": "x\\u001b]0;PWNED\\u0007y\\nforged line", "qemu": "9.2",
 "vm": {"ram": "1GiB"}, "migration": {"link_bandwidth": "1Gbit/s"},
 "devices": [{"name": "dev\\u001b[2Jz", "stop_copy_size": "1MiB"}]}\n' >"$H"
"$MIGSIM" simulate "$H" --no-db >"$TMPD/o" 2>"$TMPD/e"
check "simulate: no raw ESC/BEL on stdout" bash -c '! has_raw_ctl "$0"' "$TMPD/o"
check "simulate: the name's newline cannot forge a line" bash -c '! grep -q "^forged line" "$0"' "$TMPD/o"
"$MIGSIM" compare "$H" -p qemu -p cached-stop-size --no-db >"$TMPD/o" 2>"$TMPD/e"
check "compare: no raw ESC/BEL" bash -c '! has_raw_ctl "$0" && ! grep -q "^forged line" "$0"' "$TMPD/o"
"$MIGSIM" plan "$H" -p qemu >"$TMPD/o" 2>"$TMPD/e"
check "plan: no raw ESC/BEL" bash -c '! has_raw_ctl "$0" && ! grep -q "^forged line" "$0"' "$TMPD/o"
check "plan: the name is shown escaped" grep -qF 'x\x1b]0;PWNED\x07y\nforged line' "$TMPD/o"
"$MIGSIM" simulate "$H" --db "$TMPD/h.db" >/dev/null 2>&1
"$MIGSIM" runs --db "$TMPD/h.db" show 1 >"$TMPD/o" 2>"$TMPD/e"
check "runs show: no raw ESC/BEL" bash -c '! has_raw_ctl "$0" && ! grep -q "^forged line" "$0"' "$TMPD/o"
# error messages: a file name with escapes in it
BAD="$TMPD/bad$ESC]0;T$BEL
forged.json"
"$MIGSIM" simulate "$BAD" >"$TMPD/o" 2>"$TMPD/e"
check "error message: no raw ESC/BEL, no forged line" \
    bash -c '! has_raw_ctl "$0" && ! grep -q "^forged" "$0" && grep -qF "\\x1b]0;T\\x07\\nforged.json" "$0"' "$TMPD/e"

# --- issue 17 item 11: one rule for seeds ----------------------------------
check_rc "simulate --seed -1 is refused" 3 "$MIGSIM" simulate scenarios/idle-vm.json --seed -1 --no-db
check "  ... saying why" grep -q "seed: expected a whole number" "$TMPD/rc.err"
check_rc "simulate --seed 2^64-1 is refused (would print as -1)" 3 \
    "$MIGSIM" simulate scenarios/idle-vm.json --seed 18446744073709551615 --no-db
check_rc "--set seed=-1 is refused" 3 "$MIGSIM" simulate scenarios/idle-vm.json --set 'seed="-1"' --no-db
printf '{"qemu": "9.2", "seed": -1, "vm": {"ram": "1GiB"}}\n' >"$TMPD/neg.json"
check_rc "a scenario with \"seed\": -1 is refused" 3 "$MIGSIM" simulate "$TMPD/neg.json" --no-db
check "  ... with the same message" grep -q "seed: expected a whole number" "$TMPD/rc.err"
"$MIGSIM" simulate scenarios/idle-vm.json --seed 9223372036854775807 --no-db -f json >"$TMPD/o" 2>"$TMPD/e"
check "the largest seed round-trips" bash -c 'jq -e ".seed == 9223372036854775807" "$0" >/dev/null && [ "$(jq -r .seed "$0")" != "-1" ]' "$TMPD/o"

# --- every command walked with the same bad inputs (issue 14) -------------
SC=scenarios/idle-vm.json
NX="$TMPD/no-such-file"
DB="$TMPD/walk.db"
"$MIGSIM" simulate "$SC" --db "$DB" >/dev/null 2>&1
# every command of `migsim --help` has a row below (checked first)
WALK=(simulate compare policies replay calibrate plan sweep runs plot report live lab probe-vfio version)
listed=$("$MIGSIM" --help | awk '/^Commands:/{f=1;next} f && /^  [a-z]/{print $1}' | sort | tr '\n' ' ')
walked=$(printf '%s\n' "${WALK[@]}" | sort | tr '\n' ' ')
check "the walk covers every command of migsim --help" test "$listed" = "$walked"

# missing input file: exit 4 and the file named, in every command that reads one
missing() { # NAME CMD...
    local n=$1
    shift
    check_rc "$n: a missing input file is exit 4" 4 "$@"
    check "$n: ... naming the file" grep -q "no-such-file" "$TMPD/rc.err"
}
missing simulate "$MIGSIM" simulate "$NX.json" --no-db
missing compare "$MIGSIM" compare "$NX.json" -p qemu --no-db
missing plan "$MIGSIM" plan "$NX.json"
missing "plan --trace" "$MIGSIM" plan --trace "$NX.log"
missing sweep "$MIGSIM" sweep "$NX.json" --grid seed=1,2 --db "$TMPD/sw.db"
missing replay "$MIGSIM" replay "$NX.log" --no-db
missing calibrate "$MIGSIM" calibrate "$NX.log" -o "$TMPD/cal.json"
missing "runs list" "$MIGSIM" runs --db "$NX.db" list
missing "runs import" "$MIGSIM" runs --db "$TMPD/imp.db" import "$NX.json"
missing plot "$MIGSIM" plot 1 --db "$NX.db" -o "$TMPD/p.png"
missing report "$MIGSIM" report 1 --db "$NX.db" -o "$TMPD/r.html"
missing live "$MIGSIM" live --qmp "$NX.sock" --time-limit 1s
missing "lab run" "$MIGSIM" lab run --guest "$NX.bin" --no-db
missing "lab validate" "$MIGSIM" lab validate --guest "$NX.bin" --no-db
missing probe-vfio "$MIGSIM" probe-vfio "$NX"

# a typo'd option: exit 2 with "did you mean" (the first long option of the
# command's own --help with one letter dropped)
typo() { # LABEL WORDS...
    local label=$1
    shift
    local opt
    opt=$("$MIGSIM" "$@" --help | sed -n 's/^  \(-[A-Za-z0-9], \)\{0,1\}--\([a-z][a-z0-9-]*\).*/\2/p' | grep -v '^help$' | awk 'length($0) > 4' | head -1)
    [ -n "$opt" ] || { echo "skip - $label: no long option longer than 4 letters"; return; }
    local bad=${opt:0:2}${opt:3}
    check_rc "$label: a typo'd option --$bad is a usage error" 2 "$MIGSIM" "$@" "--$bad" x
    check "$label: ... did you mean '--$opt'" grep -q "did you mean '--$opt'" "$TMPD/rc.err"
    # an abbreviation (getopt_long would take a unique prefix) is refused
    local abbr=${opt:0:$((${#opt} - 1))}
    if ! "$MIGSIM" "$@" --help | grep -qE -- "--$abbr( |=|,|\$)"; then
        check_rc "$label: the abbreviation --$abbr is a usage error" 2 "$MIGSIM" "$@" "--$abbr" x
        check "$label: ... did you mean '--$opt'" grep -q "did you mean '--$opt'" "$TMPD/rc.err"
    fi
}
for c in simulate compare replay calibrate plan sweep runs plot report live probe-vfio; do typo "$c" "$c"; done
typo "lab run" lab run
check_rc "lab run --set 5s is not taken as --settle" 2 "$MIGSIM" lab run --set 5s
check "  ... it says so" grep -q "unknown option '--set' (did you mean '--settle'?)" "$TMPD/rc.err"
typo "lab validate" lab validate
check_rc "policies: an unknown argument is a usage error" 2 "$MIGSIM" policies --bogus
check_rc "version --help" 0 "$MIGSIM" version --help

# every --help ends with the same exit-status footer, saying that a missing
# file is 4
for c in simulate compare policies replay calibrate plan sweep runs plot report live lab probe-vfio version; do
    "$MIGSIM" $c --help >"$TMPD/h" 2>&1
    check "$c --help: the exit codes, missing file = 4" grep -q "missing or unreadable" "$TMPD/h"
done

# a time, size or rate without a unit: exit 2, "needs a unit"
unit() { # LABEL VALUE CMD...
    local label=$1
    shift
    check_rc "$label 500: needs a unit (exit 2)" 2 "$@"
    check "$label: ... says so" grep -q "needs a unit" "$TMPD/rc.err"
}
T11=$(ls ../shared/data/traces/11-*.log tests/data/traces/01-*.log 2>/dev/null | head -1)
unit "plan --max-downtime" "$MIGSIM" plan "$SC" --max-downtime 500
unit "plan --max-total" "$MIGSIM" plan "$SC" --max-total 500
unit "plan --at-limit" "$MIGSIM" plan "$SC" --at-limit 500
unit "replay --downtime-limit" "$MIGSIM" replay "$T11" --no-db --downtime-limit 500
unit "replay --bandwidth" "$MIGSIM" replay "$T11" --no-db --bandwidth 500
unit "live --time-limit" "$MIGSIM" live --qmp "$NX.sock" --time-limit 500
unit "live --interval" "$MIGSIM" live --qmp "$NX.sock" --interval 500
unit "lab run --downtime-limit" "$MIGSIM" lab run --downtime-limit 500
unit "lab run --dirty-rate" "$MIGSIM" lab run --dirty-rate 500
unit "lab validate --time-limit" "$MIGSIM" lab validate --time-limit 500
unit "probe-vfio --sample-time" "$MIGSIM" probe-vfio "$NX" --sample-time 500

# --set KEY=VALUE with a bad unit: exit 2 (as an option's), naming the key
# and the unit, in every command that takes --set (found from the --help
# texts, so a new one cannot be missed)
SETCMDS=("simulate $SC --no-db" "compare $SC --no-db -p qemu" "plan $SC -p qemu"
    "plan --trace $T11 -p qemu" "sweep $SC --grid seed=1 --db $TMPD/sw6.db")
with_set=$(for c in "${WALK[@]}"; do "$MIGSIM" $c --help 2>/dev/null | grep -q -- "--set KEY" && echo "$c"; done | sort -u | tr '\n' ' ')
tested=$(for c in "${SETCMDS[@]}"; do echo "${c%% *}"; done | sort -u | tr '\n' ' ')
check "every command with --set is walked ($with_set)" test "$with_set" = "$tested"
for cmd in "${SETCMDS[@]}"; do
    n=${cmd%% *}
    [[ $cmd == *--trace* ]] && n="$n --trace"
    # shellcheck disable=SC2086
    check_rc "$n: --set migration.downtime_limit=500 is a usage error" 2 "$MIGSIM" $cmd --set migration.downtime_limit=500
    check "$n: ... naming the key, 'needs a unit'" grep -q -- "--set migration.downtime_limit=500: migration.downtime_limit: time '500': needs a unit" "$TMPD/rc.err"
    # shellcheck disable=SC2086
    check_rc "$n: --set with an unknown unit is a usage error" 2 "$MIGSIM" $cmd --set 'migration.link_bandwidth="10 parsecs/s"'
    check "$n: ... naming the key and the unit" grep -q "migration.link_bandwidth: rate '10 parsecs/s': unknown unit 'parsecs/s'" "$TMPD/rc.err"
done
check_rc "a bad --set value that is not a unit stays bad data (3, as in a file)" 3 "$MIGSIM" simulate "$SC" --no-db --set vm.ram=12
# the same for a --grid value of sweep
check_rc "sweep --grid migration.downtime_limit=500 is a usage error" 2 "$MIGSIM" sweep "$SC" --grid migration.downtime_limit=500 --db "$TMPD/sw7.db"
check "sweep --grid: ... naming the key and the unit" grep -q "^migsim: error: --grid migration.downtime_limit=500: .*migration.downtime_limit: .* unit" "$TMPD/rc.err"
check_rc "sweep --grid with an unknown unit is a usage error" 2 "$MIGSIM" sweep "$SC" --grid 'migration.link_bandwidth=10parsecs/s' --db "$TMPD/sw7.db"
check_rc "sweep --grid vm.ram=12 (not a unit) stays bad data (3)" 3 "$MIGSIM" sweep "$SC" --grid vm.ram=12 --db "$TMPD/sw7.db"

# a typo'd policy: exit 2 with did you mean, in every command taking --policy
for cmd in "simulate $SC --no-db" "compare $SC --no-db" "plan $SC" "sweep $SC --grid seed=1 --db $TMPD/sw2.db" \
    "replay $T11 --no-db" "live --qmp $NX.sock" "lab run --no-db"; do
    # shellcheck disable=SC2086
    check_rc "${cmd%% *}: --policy qemo is a usage error" 2 "$MIGSIM" $cmd --policy qemo
    check "${cmd%% *}: ... did you mean 'qemu'" grep -q "did you mean 'qemu'" "$TMPD/rc.err"
done
check_rc "a typo in a composed spec too" 2 "$MIGSIM" simulate "$SC" --no-db -p 'qemu+nova-step:downtime=1s'
check "  ... names the part" grep -q "did you mean 'nova-steps'" "$TMPD/rc.err"

# --qemu VERSION: a typo is exit 2 with did you mean; a release is its model
for cmd in "simulate $SC --no-db" "compare $SC --no-db -p qemu" "plan $SC -p qemu" \
    "sweep $SC --grid seed=1 --db $TMPD/sw3.db" "replay $T11 --no-db"; do
    # shellcheck disable=SC2086
    check_rc "${cmd%% *}: --qemu 9.22 is a usage error" 2 "$MIGSIM" $cmd --qemu 9.22
    check "${cmd%% *}: ... did you mean '9.2'" grep -q "did you mean '9.2'" "$TMPD/rc.err"
done
"$MIGSIM" simulate "$SC" --no-db --qemu 9.2.1 -f json >"$TMPD/o" 2>"$TMPD/e"
check "simulate --qemu 9.2.1 runs the 9.2 model" jq -e '.results[0].qemu == "9.2"' "$TMPD/o"
"$MIGSIM" plan "$SC" -p qemu --qemu 10.0.2 -f json >"$TMPD/o" 2>"$TMPD/e"
check "plan --qemu 10.0.2 plans on the 10.0 model" jq -e '.qemu == "10.0"' "$TMPD/o"
check_rc "replay --qemu 9.1.3 is taken as 9.1" 0 "$MIGSIM" replay "$T11" --no-db --qemu 9.1.3

# -q is --quiet everywhere (replay, probe-vfio); where --qemu exists, -q says so
for cmd in "simulate $SC --no-db" "compare $SC --no-db" "plan $SC" "sweep $SC --grid seed=1 --db $TMPD/sw4.db" "lab run --no-db"; do
    # shellcheck disable=SC2086
    check_rc "${cmd%% *}: -q is not --qemu" 2 "$MIGSIM" $cmd -q 9.2
    check "${cmd%% *}: ... -q is --quiet, the version is --qemu" grep -q "the QEMU version is --qemu\|-q is --quiet" "$TMPD/rc.err"
done
"$MIGSIM" replay --help | grep -q -- "-q, --quiet" && ok "replay: -q is --quiet" || notok "replay: -q is --quiet"
"$MIGSIM" probe-vfio --help | grep -q -- "-q, --quiet" && ok "probe-vfio: -q is --quiet" || notok "probe-vfio: -q is --quiet"

# run selectors in every command that takes runs
"$MIGSIM" simulate "$SC" --db "$DB" -p auto-converge >/dev/null 2>&1
for cmd in "runs show last" "runs export last" "runs diff 1 last" "plot last -o $TMPD/s.png" "report last -o $TMPD/s.html" \
    "plan --run last -p qemu"; do
    # shellcheck disable=SC2086
    "$MIGSIM" ${cmd%% *} --db "$DB" ${cmd#* } >"$TMPD/o" 2>"$TMPD/e"
    rc=$?
    check "'$cmd' takes the selector 'last' (rc $rc)" test "$rc" -le 1
done
check_rc "runs show 1-2: a selector of two runs where one is needed" 2 "$MIGSIM" runs --db "$DB" show 1-2
check "  ... says so" grep -q "names 2 runs, not one" "$TMPD/rc.err"
"$MIGSIM" runs --db "$DB" list -f json >"$TMPD/o" 2>"$TMPD/e"
check "runs list -f json, with total_ms" jq -e 'length >= 2 and (.[0] | has("total_ms"))' "$TMPD/o"

# total_ms in every JSON
"$MIGSIM" simulate "$SC" --no-db -f json >"$TMPD/o" 2>/dev/null
check "simulate JSON has total_ms" jq -e '.results[0] | has("total_ms")' "$TMPD/o"
"$MIGSIM" sweep "$SC" --grid seed=1,2 --db "$TMPD/sw5.db" -f json >"$TMPD/o" 2>/dev/null
check "sweep JSON has total_ms" jq -e '.results[0] | has("total_ms")' "$TMPD/o"
"$MIGSIM" replay "$T11" --no-db -f json >"$TMPD/o" 2>/dev/null
check "replay JSON has total_ms" jq -e 'has("total_ms")' "$TMPD/o"
"$MIGSIM" plan "$SC" -p qemu -f json >"$TMPD/o" 2>/dev/null
check "plan JSON has total_ms (frontier) and expected_total_ms" jq -e '(.frontier[0] | has("total_ms")) and has("expected_total_ms")' "$TMPD/o"
"$MIGSIM" runs --db "$DB" export last -o - >"$TMPD/o" 2>/dev/null
check "runs export JSON has total_ms = total_ns in ms" jq -e '.metrics.total_ms == .metrics.total_ns / 1e6 and .metrics.total_ms > 0' "$TMPD/o"
"$MIGSIM" runs --db "$DB" show last -f json >"$TMPD/o" 2>/dev/null
check "runs show -f json has total_ms" jq -e '.metrics.total_ms == .metrics.total_ns / 1e6' "$TMPD/o"
"$MIGSIM" runs --db "$DB" diff 1 last -f json >"$TMPD/o" 2>/dev/null
check "runs diff -f json has total_ms (a, b, delta)" jq -e '.metrics.total_ms.a == .metrics.total_ns.a / 1e6 and .metrics.total_ms.b == .metrics.total_ns.b / 1e6 and (.metrics.total_ms | has("delta"))' "$TMPD/o"
"$MIGSIM" runs --db "$DB" export last -o "$TMPD/x.json" 2>/dev/null
"$MIGSIM" runs --db "$TMPD/imp2.db" import "$TMPD/x.json" >/dev/null 2>&1
"$MIGSIM" runs --db "$TMPD/imp2.db" export last -o - >"$TMPD/o2" 2>/dev/null
check "an export with total_ms imports and exports the same metrics" \
    bash -c 'test "$(jq -c .metrics "$0")" = "$(jq -c .metrics "$1")"' "$TMPD/x.json" "$TMPD/o2"

# -o - is stdout, and the status line does not mix into it
"$MIGSIM" report last --db "$DB" -o - >"$TMPD/o" 2>"$TMPD/e"
check "report -o - writes the page to stdout, nothing else" bash -c 'head -c 15 "$0" | grep -q "<!DOCTYPE html>" && ! grep -q "report on" "$0" && test ! -e ./-' "$TMPD/o"
"$MIGSIM" runs --db "$DB" export last -o - >"$TMPD/o" 2>"$TMPD/e"
check "runs export -o - writes the JSON to stdout" jq -e '.format == "migsim-run"' "$TMPD/o"
finish
