#!/bin/bash
# migsim runs: list/show/export/import/diff/delete/merge on a real store,
# refusal of newer and foreign files.  Runs come from JSON exports made here.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1

# mkrun and json_str: run exports for the store tests
. "$(dirname "$0")/runs_lib.sh"

DB=$TMPD/runs.db
mkrun 1 qemu vgpu0 converged 250000000 4900000000 1GB/s >"$TMPD/r1.json"
mkrun 2 cached-stop-size vgpu0 timeout 0 60000000000 2GB/s >"$TMPD/r2.json"
mkrun 3 'exact-every:5' nic0 converged 310000000 5100000000 4GB/s >"$TMPD/r3.json"

check "runs --help documents the exit codes" bash -c '"$MIGSIM" runs --help | grep -q "Exit status"'
check_rc "runs without an action is a usage error" 2 "$MIGSIM" runs --db "$DB"
check_rc "list on a missing store is a file error" 4 "$MIGSIM" runs --db "$TMPD/none.db" list
check "import three runs" bash -c '"$MIGSIM" runs --db "$0" import "$1" "$2" "$3" | grep -c "imported as run" | grep -qx 3' \
    "$DB" "$TMPD/r1.json" "$TMPD/r2.json" "$TMPD/r3.json"
check "import again skips by run key" bash -c '"$MIGSIM" runs --db "$0" import "$1" | grep -q "already present as run 1"' \
    "$DB" "$TMPD/r1.json"
check "list shows three runs" bash -c 'test "$("$MIGSIM" runs --db "$0" list | tail -n +2 | wc -l)" -eq 3' "$DB"
check "list --format json" bash -c '"$MIGSIM" runs --db "$0" list --format json | grep -q "\"policy\": \"exact-every:5\""' "$DB"
check "list --format csv has a header and 3 rows" bash -c 'test "$("$MIGSIM" runs --db "$0" list --format csv | wc -l)" -eq 4' "$DB"
"$MIGSIM" runs --db "$DB" show 2 >"$TMPD/show.txt"
check "show: outcome, policy, metrics, devices" bash -c 'grep -q "outcome *timeout" "$0" && grep -q "policy *cached-stop-size" "$0" &&
    grep -q "^Metrics" "$0" && grep -q "vgpu0 *precopy" "$0" && grep -q "^Diagnosis" "$0"' "$TMPD/show.txt"
check_rc "show of an absent run is a data error" 3 "$MIGSIM" runs --db "$DB" show 99
check_rc "show of a non-id is a usage error" 2 "$MIGSIM" runs --db "$DB" show x1

# Round trip: export -> import into another store -> export: same document.
"$MIGSIM" runs --db "$DB" export 3 -o "$TMPD/e3.json"
check "export writes the run" grep -q '"format": "migsim-run"' "$TMPD/e3.json"
check "import the export elsewhere" bash -c '"$MIGSIM" runs --db "$0" import "$1" | grep -q "imported as run 1"' \
    "$TMPD/other.db" "$TMPD/e3.json"
"$MIGSIM" runs --db "$TMPD/other.db" export 1 -o "$TMPD/e3b.json"
check "export/import round trip is exact (but the id)" \
    diff <(grep -v '"id":' "$TMPD/e3.json") <(grep -v '"id":' "$TMPD/e3b.json")
check "the re-export holds all 50 samples" bash -c 'test "$(grep -c "\"estimate_bytes\"" "$0")" -eq 50' "$TMPD/e3b.json"

"$MIGSIM" runs --db "$DB" export 1 --format csv >"$TMPD/s1.csv"
check "csv series: header + 50 rows" test "$(wc -l <"$TMPD/s1.csv")" -eq 51
check "csv series: first row values" grep -q $'^0,0,0,5000000001,5000000001,1,375000000,' "$TMPD/s1.csv"
check "csv events table" bash -c '"$MIGSIM" runs --db "$0" export 1 --format csv --table events | grep -q "^3,4900000000,state,0,0,completed"' "$DB"
check_rc "csv with a bad table is a usage error" 2 "$MIGSIM" runs --db "$DB" export 1 --format csv --table pie

"$MIGSIM" runs --db "$DB" diff 1 3 >"$TMPD/diff.txt"
check "diff shows policies side by side" grep -q "^policy .*qemu .*exact-every:5 .*differs" "$TMPD/diff.txt"
check "diff shows downtime with a delta" grep -q "^downtime (guest-visible) .*250 ms .*310 ms .*+60 ms (+24.0%)" "$TMPD/diff.txt"
check "diff --format json" bash -c '"$MIGSIM" runs --db "$0" diff 1 3 --format json | grep -q "\"delta\": 60000000"' "$DB"

check "delete a run" bash -c '"$MIGSIM" runs --db "$0" delete 2 | grep -q "deleted run 2"' "$DB"
check_rc "delete it again is a data error" 3 "$MIGSIM" runs --db "$DB" delete 2
check "two runs left" bash -c 'test "$("$MIGSIM" runs --db "$0" list --format csv | wc -l)" -eq 3' "$DB"
check "no orphan rows after delete" bash -c 'test "$(sqlite3 "$0" "SELECT (SELECT count(*) FROM series_chunks WHERE run_id = 2) + (SELECT count(*) FROM event_chunks WHERE run_id = 2) + (SELECT count(*) FROM results WHERE run_id = 2)")" -eq 0' "$DB"

check "merge two stores" bash -c '"$MIGSIM" runs merge "$0" "$1" -o "$2" | grep -q "merged 2 runs into .* (1 already present)"' \
    "$DB" "$TMPD/other.db" "$TMPD/merged.db"
check "merged store lists two runs" bash -c 'test "$("$MIGSIM" runs --db "$0" list --format csv | wc -l)" -eq 3' "$TMPD/merged.db"
check_rc "merge without -o is a usage error" 2 "$MIGSIM" runs merge "$DB"

check "store file: WAL, application id, schema version" bash -c '
    test "$(sqlite3 "$0" "PRAGMA journal_mode")" = wal &&
    test "$(sqlite3 "$0" "PRAGMA application_id")" = 1296520013 &&
    test "$(sqlite3 "$0" "PRAGMA user_version")" = 3 &&
    test "$(sqlite3 "$0" "PRAGMA integrity_check")" = ok' "$DB"

# A store from a newer migsim and a foreign SQLite file are refused.
cp "$DB" "$TMPD/newer.db"
sqlite3 "$TMPD/newer.db" "PRAGMA user_version = 42"
check_rc "newer schema is refused" 4 "$MIGSIM" runs --db "$TMPD/newer.db" list
cp "$TMPD/last.err" "$TMPD/err1"
check "the refusal says why" grep -q "schema version 42 is newer" "$TMPD/err1"
sqlite3 "$TMPD/foreign.db" "CREATE TABLE t(x)"
check_rc "foreign SQLite file is refused" 4 "$MIGSIM" runs --db "$TMPD/foreign.db" list
cp "$TMPD/last.err" "$TMPD/err2"
check "the refusal names the file" grep -q "foreign.db: not a migsim run store" "$TMPD/err2"
printf '{"format": "migsim-run", "format_version": 1, "meta": {"kind": "sim"}}' >"$TMPD/bad.json"
check_rc "a broken export is a data error" 3 "$MIGSIM" runs --db "$DB" import "$TMPD/bad.json"
cp "$TMPD/last.err" "$TMPD/err3"
check "the error names the field" grep -q "bad.json: meta.complete" "$TMPD/err3"

# Terminal output never passes control characters through.
mkrun 9 $'evil\e[31mred\rpolicy' vgpu0 converged 1 2 1GB/s >"$TMPD/r9.json"
check "import a run with escape sequences in its policy" bash -c '"$MIGSIM" runs --db "$0" import "$1" | grep -q "imported as run 4"' \
    "$DB" "$TMPD/r9.json"
check "show prints the policy with control bytes replaced" bash -c '"$MIGSIM" runs --db "$0" show 4 | grep -q "^  policy *evil?\[31mred?policy$"' "$DB"
check "list strips escape sequences" bash -c '! "$MIGSIM" runs --db "$0" list | grep -q $'"'"'\e'"'"'' "$DB"
check "show strips escape sequences" bash -c '! "$MIGSIM" runs --db "$0" show 4 | grep -q $'"'"'[\e\r]'"'"'' "$DB"
finish
