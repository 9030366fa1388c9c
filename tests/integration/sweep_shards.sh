#!/bin/bash
# migsim sweep from the command line: a sweep split into shards on
# "several hosts" and joined with 'migsim runs merge' equals the unsplit
# sweep point by point; resuming runs nothing twice; usage errors.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

S="$TMPD/s.json"
cat >"$S" <<'EOF'
{"name": "sweep cli", "qemu": "9.2", "seed": 3,
 "vm": {"ram": "1GiB", "zero_fraction": 0.5, "vcpus": 2},
 "workload": {"kind": "uniform", "working_set": "256MiB", "dirty_rate": "32MiB/s"},
 "migration": {"downtime_limit": "300ms", "max_bandwidth": "128MiB/s", "time_limit": "20s"},
 "devices": [{"name": "vf0", "stop_copy_size": "8MiB", "precopy": true,
              "precopy_initial": "4MiB"}]}
EOF
G=(--grid 'migration.downtime_limit=100ms..400ms:100ms'
   --grid 'workload.dirty_rate=16MiB/s,64MiB/s,160MiB/s'
   --grid 'policy=qemu,cached-stop-size' --seeds 2 --no-progress)
N=48
# CSV fields 1-20: index, key, the 3 axes, seed, policy and every metric
# (run_id, status and error differ between stores by design)
# check's own output files are rewritten by the next check: keep copies
keep() { cp "$TMPD/last.out" "$TMPD/out"; cp "$TMPD/last.err" "$TMPD/err"; }

check "unsplit sweep" "$MIGSIM" sweep "$S" "${G[@]}" --db "$TMPD/all.db" -f csv
keep
cp "$TMPD/out" "$TMPD/all.csv"
check "unsplit: one CSV line per point" test "$(($(wc -l <"$TMPD/all.csv") - 1))" -eq $N
check "unsplit: summary on stderr says all ran" grep -q "ran $N, already stored 0, failed 0" "$TMPD/err"

for i in 1 2 3; do
    check "shard $i/3 (mod)" "$MIGSIM" sweep "$S" "${G[@]}" --shard $i/3 -j $i \
        --db "$TMPD/s$i.db" -f csv
    tail -n +2 "$TMPD/last.out" >"$TMPD/s$i.csv"
done
check "shards hold every point once" bash -c 'cat "$0"/s1.csv "$0"/s2.csv "$0"/s3.csv | cut -d, -f1 | sort -n | uniq | wc -l | grep -qx '$N "$TMPD"
check "shard 2/3 holds index mod 3 == 1" bash -c 'cut -d, -f1 "$0" | awk "\$1 % 3 != 1 {bad=1} END {exit bad}"' "$TMPD/s2.csv"
check "runs merge joins the shards" "$MIGSIM" runs merge "$TMPD/s1.db" "$TMPD/s2.db" \
    "$TMPD/s3.db" -o "$TMPD/merged.db"
keep
check "merge copied every point" grep -q "merged $N runs" "$TMPD/out"

# the merged store is the finished sweep: nothing runs, and every point's
# results (loaded from the store) equal the unsplit sweep's
check "sweep over the merged store" "$MIGSIM" sweep "$S" "${G[@]}" --db "$TMPD/merged.db" -f csv
keep
cp "$TMPD/out" "$TMPD/merged.csv"
check "merged: nothing ran again" grep -q "ran 0, already stored $N" "$TMPD/err"
check "merged equals unsplit point by point" bash -c 'diff <(cut -d, -f1-20 "$0") <(cut -d, -f1-20 "$1")' \
    "$TMPD/all.csv" "$TMPD/merged.csv"
check "shard rows equal the unsplit rows" bash -c 'diff <(cat "$0"/s[123].csv | cut -d, -f1-20 | sort -t, -k1,1n) <(tail -n +2 "$0"/all.csv | cut -d, -f1-20)' "$TMPD"
check "merged store lists each point once" bash -c 'test "$("$MIGSIM" runs --db "$0" list --format csv | tail -n +2 | wc -l)" -eq '$N "$TMPD/merged.db"

# contiguous blocks work the same
for i in 1 2; do
    check "block shard $i/2" "$MIGSIM" sweep "$S" "${G[@]}" --shard $i/2 --shard-mode block \
        --db "$TMPD/b$i.db" --quiet
done
check "block shard 1/2 holds the first half" bash -c '"$MIGSIM" sweep "$1" --grid "migration.downtime_limit=100ms..400ms:100ms" --grid "workload.dirty_rate=16MiB/s,64MiB/s,160MiB/s" --grid "policy=qemu,cached-stop-size" --seeds 2 --no-progress --shard 1/2 --shard-mode block --db "$0" -f csv | tail -n +2 | cut -d, -f1 | sort -n | sed -n "1p;\$p" | tr "\n" " " | grep -qx "0 23 "' \
    "$TMPD/b1.db" "$S"
check "runs merge of the blocks" "$MIGSIM" runs merge "$TMPD/b1.db" "$TMPD/b2.db" -o "$TMPD/mb.db"
"$MIGSIM" sweep "$S" "${G[@]}" --db "$TMPD/mb.db" -f csv >"$TMPD/mb.csv" 2>/dev/null
check "block-merged equals unsplit" bash -c 'diff <(cut -d, -f1-20 "$0") <(cut -d, -f1-20 "$1")' \
    "$TMPD/all.csv" "$TMPD/mb.csv"

# resume: an interrupted sweep (here: half of it) is finished without rerunning
check "first half" "$MIGSIM" sweep "$S" "${G[@]}" --shard 1/2 --db "$TMPD/res.db" --quiet
check "resume the whole sweep" "$MIGSIM" sweep "$S" "${G[@]}" --db "$TMPD/res.db" --quiet
keep
check "resume ran only the missing half" grep -q "ran 24, already stored 24" "$TMPD/err"

# JSON output
check "json output" "$MIGSIM" sweep "$S" --grid 'migration.downtime_limit=100ms,200ms' \
    --db "$TMPD/j.db" -f json --no-progress
keep
check "json parses, has 2 results and a summary" bash -c 'jq -e "(.results | length) == 2 and .summary.ran == 2 and (.results[0].params | has(\"migration.downtime_limit\"))" "$0" >/dev/null' "$TMPD/out"

check_rc "no --grid is a usage error" 2 "$MIGSIM" sweep "$S" --db "$TMPD/x.db"
check_rc "bad shard is a usage error" 2 "$MIGSIM" sweep "$S" --grid 'seed=1,2' --shard 3/2 --db "$TMPD/x.db"
check_rc "mixed range kinds are a usage error" 2 "$MIGSIM" sweep "$S" --grid 'migration.downtime_limit=1ms..1GiB:1ms' --db "$TMPD/x.db"
check_rc "a value the scenario rejects is bad data" 3 "$MIGSIM" sweep "$S" --grid 'migration.downtime_limit=0ms' --db "$TMPD/x.db"
check_rc "an invalid combination fails that point (exit 3)" 3 "$MIGSIM" sweep "$S" \
    --grid 'qemu=9.2,7.2' --grid 'migration.switchover_ack=false,true' --db "$TMPD/y.db" --quiet
keep
check "the other points of it were stored" grep -q "ran 3, already stored 0, failed 1" "$TMPD/err"
check "sweep --help documents --shard" bash -c '"$MIGSIM" sweep --help | grep -q -- "--shard I/N"'
finish
