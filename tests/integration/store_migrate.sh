#!/bin/bash
# Schema 2 -> 3 (issue 15: samples and events in compact chunks): a real
# v2 store made by the migsim before schema 3 (tests/data/store/v2.db, see
# make-v2.sh there) reads out byte for byte as that migsim printed it
# (v2-expected.txt: runs list, and per run show, show --format json,
# export as JSON and the four CSV tables) -- read-only as it is, then
# migrated by the first command that writes it; a migration cut short by
# a failing write leaves the v2 file as it was; a damaged chunk is an
# error naming the run, never a crash.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
. "$(dirname "$0")/store_lib.sh"
unset MIGSIM_DB

V2=tests/data/store/v2.db
WANT=tests/data/store/v2-expected.txt
A=$TMPD/a.db
cp "$V2" "$A"
ver() { sqlite3 "$1" 'PRAGMA user_version'; }
check "the test store is schema 2" test "$(ver "$A")" = 2

store_dump "$MIGSIM" "$A" >"$TMPD/ro.txt"
check "read-only, as it is: every run reads out as the v2 migsim printed it" \
    diff "$WANT" "$TMPD/ro.txt"
check "reading did not migrate the file" cmp "$V2" "$A"

check "the first write migrates it (simulate stores a run)" \
    "$MIGSIM" simulate scenarios/idle-vm.json --db "$A"
check "now schema 3" test "$(ver "$A")" = 3
check "integrity_check and foreign_key_check pass" bash -c \
    'test "$(sqlite3 "$0" "PRAGMA integrity_check; PRAGMA foreign_key_check")" = ok' "$A"
check "the row tables are gone, the chunk tables hold every sample and event" bash -c \
    'test "$(sqlite3 "$0" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema
        WHERE type = '\''table'\'' ORDER BY name)")" = devices,event_chunks,results,runs,series_chunks &&
     test "$(sqlite3 "$0" "SELECT sum(n) FROM series_chunks WHERE run_id < 10")" = \
          "$(sqlite3 "$1" "SELECT count(*) FROM series")" &&
     test "$(sqlite3 "$0" "SELECT sum(n) FROM event_chunks WHERE run_id < 10")" = \
          "$(sqlite3 "$1" "SELECT count(*) FROM events")"' "$A" "$V2"
check "the new run is stored and removed again" "$MIGSIM" runs --db "$A" delete 10
store_dump "$MIGSIM" "$A" >"$TMPD/v3.txt"
check "migrated: every run reads out byte for byte as before" diff "$WANT" "$TMPD/v3.txt"

# A migration cut short: the Nth write of the migrating process fails (N =
# 1..12, then every 23rd: the migration makes about 1100 writes, 0.4 s a
# try) until N passes the process's last write; each time the file is
# either still the v2 file (same runs) or fully migrated.
run2=$(grep ' run 2: export$' "$WANT" | cut -c1-64)
run9=$(grep ' run 9: export --format csv --table series$' "$WANT" | cut -c1-64)
# as store_dump hashes an output
hash_of() {
    local out
    out=$("$@" 2>&1)
    printf '%s' "$out" | sha256sum | cut -c1-64
}
n=0 bad=0 migrated=0 tries=0
while [ "$n" -lt 5000 ]; do
    n=$((n < 12 ? n + 1 : n + 23))
    tries=$((tries + 1))
    rm -f "$A" "$A-wal" "$A-shm"
    cp "$V2" "$A"
    MIGSIM_TEST_VFS_FAIL=write:$n "$MIGSIM" runs --db "$A" delete 5 >"$TMPD/o" 2>"$TMPD/e"
    rc=$?
    grep -q "^migsim-test-vfs: failing" "$TMPD/e" || break
    v=$(ver "$A")
    h2=$(hash_of "$MIGSIM" runs --db "$A" export 2)
    h9=$(hash_of "$MIGSIM" runs --db "$A" export 9 --format csv --table series)
    why=
    [ "$h2" = "$run2" ] && [ "$h9" = "$run9" ] || why="run 2 or 9 changed"
    [ "$(sqlite3 "$A" 'PRAGMA integrity_check')" = ok ] || why="$why integrity_check"
    case "$v:$rc" in
    2:4) cmp -s "$A" "$V2" || why="$why v2 file changed" ;;
    3:*) migrated=$((migrated + 1)) ;;
    *) why="$why schema $v, rc $rc" ;;
    esac
    if [ -n "$why" ]; then
        bad=$((bad + 1))
        [ "$bad" -le 3 ] && echo "    write:$n: $why"
    fi
done
tries=$((tries - 1))
if [ "$tries" -gt 12 ] && [ "$bad" -eq 0 ]; then
    ok "$tries writes of a migration failed in turn (up to write $n): the v2 file intact or fully migrated ($migrated)"
else
    notok "migration under failing writes: $bad of $tries lost or changed something"
fi

# Damaged chunks: a clear error naming the run, the other runs readable.
B=$TMPD/b.db
cp "$V2" "$B"
"$MIGSIM" runs --db "$B" delete 8 >/dev/null
for how in "substr(data, 1, length(data) / 2)" "x'4d535331ff'" "zeroblob(length(data))" \
    "CAST('text' AS BLOB)"; do
    cp "$B" "$TMPD/c.db"
    sqlite3 "$TMPD/c.db" "UPDATE series_chunks SET data = $how WHERE run_id = 2"
    check_rc "chunk replaced by $how: export of run 2 fails (exit 4)" 4 \
        "$MIGSIM" runs --db "$TMPD/c.db" export 2
    check "... naming the store, the run and the damage" \
        grep -q "c.db: run 2: the stored samples from number 0 are damaged" "$TMPD/rc.err"
    check "... and run 3 still reads" "$MIGSIM" runs --db "$TMPD/c.db" export 3
done
finish
