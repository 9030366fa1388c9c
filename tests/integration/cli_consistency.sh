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

# --- the same bad inputs through the commands that read scenarios --------
for cmd in simulate compare plan; do
    check_rc "$cmd: missing scenario file is bad input (3)" 3 "$MIGSIM" $cmd "$TMPD/missing.json" -p qemu
    check_rc "$cmd: a typo'd option is a usage error" 2 "$MIGSIM" $cmd scenarios/idle-vm.json --polcy qemu
    check "$cmd: ... with did you mean" grep -q "did you mean '--policy'" "$TMPD/rc.err"
done
check_rc "plan: a time without a unit needs a unit" 2 "$MIGSIM" plan scenarios/idle-vm.json --max-downtime 500
check "  ... says so" grep -q "unit" "$TMPD/rc.err"
finish
