#!/bin/bash
# Hostile places for the store, plots and export (issue 17 items 5, 6, 7,
# 10, 12; issue 16 disk full): symlinks planted at output paths, a store
# in a read-only directory, a read-only store file, a full disk, a store
# damaged in the middle.  Each check failed before its fix.
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
. "$(dirname "$0")/runs_lib.sh"

DB=$TMPD/runs.db
export MIGSIM_DB=$DB
for i in 1 2; do
    mkrun "$i" qemu vgpu0 converged 200000000 4000000000 1GB/s >"$TMPD/r$i.json"
done
"$MIGSIM" runs import "$TMPD"/r*.json >/dev/null

# ---- 5: symlinks at the plot's and the report's output paths ----------
O=$TMPD/out
mkdir -p "$O"
echo precious >"$TMPD/victim"
for side in tl.gp tl-run0.dat tl.png; do
    ln -s "$TMPD/victim" "$O/$side"
done
check "plot with symlinks planted at OUT.gp, OUT-run0.dat, OUT.png" \
    "$MIGSIM" plot 1 --kind timeline -o "$O/tl.png"
check "plot: the symlinks' target is not written" grep -qx precious "$TMPD/victim"
for side in tl.gp tl-run0.dat tl.png; do
    check "plot: $side is a regular file now" test -f "$O/$side" -a ! -L "$O/$side"
done
check "plot: no temporary left" test -z "$(find "$O" -name '.*' -type f)"
ln -s "$TMPD/victim" "$O/rep.html.tmp"
ln -s "$TMPD/victim" "$O/rep.html"
check "report with symlinks at OUT.html and OUT.html.tmp" \
    "$MIGSIM" report 1 -o "$O/rep.html"
check "report: the symlinks' target is not written" grep -qx precious "$TMPD/victim"
check "report: OUT.html is a regular file, not the link" test -f "$O/rep.html" -a ! -L "$O/rep.html"
check "report: the page is there" grep -q '</html>' "$O/rep.html"

SEED=scenarios/seed-vfio-21g.json
BIG=$TMPD/big.db
"$MIGSIM" simulate "$SEED" --db "$BIG" >/dev/null

# ---- 7: runs export -o keeps FILE on a write error --------------------
"$MIGSIM" runs --db "$BIG" export 1 -o "$O/run1.json" >/dev/null 2>&1
echo "old contents" >"$O/run1.json"
# A file size limit (ulimit -f 64 KiB, the export is ~450 KiB) makes the
# write fail half way (EFBIG; SIGXFSZ is ignored by migsim itself).
check_rc "export -o over a full disk: exit 4" 4 bash -c \
    'ulimit -f 64; exec "$0" runs --db "$1" export 1 -o "$2"' "$MIGSIM" "$BIG" "$O/run1.json"
check "export -o over a full disk names the error" grep -q "write error: File too large; .*run1.json was left as it was" "$TMPD/rc.err"
check "export -o over a full disk: FILE unchanged" grep -qx "old contents" "$O/run1.json"
check "export -o: no temporary left" test -z "$(find "$O" -name '.run1.json.*')"

# ---- issue 16: disk full while storing a run ---------------------------
FULL=$TMPD/full.db
"$MIGSIM" simulate "$SEED" --db "$FULL" >/dev/null
"$MIGSIM" runs --db "$FULL" export 1 >"$TMPD/full1.json"
sz=$(($(stat -c %s "$FULL") / 1024 + 8))
check_rc "simulate --db past the file size limit: exit 4, not SIGXFSZ" 4 bash -c \
    'ulimit -f '"$sz"'; exec "$0" simulate "$1" --db "$2" -f json' "$MIGSIM" "$SEED" "$FULL"
check "disk full: the result is on stdout" grep -q '"results"' "$TMPD/rc.out"
check "disk full: the error says a write failed" grep -q "a write to the store failed" "$TMPD/rc.err"
check "disk full: the store is sound" test "$(sqlite3 "$FULL" 'PRAGMA integrity_check')" = ok
check "disk full: run 1 unchanged" bash -c '"$0" runs --db "$1" export 1 | cmp -s - "$2"' "$MIGSIM" "$FULL" "$TMPD/full1.json"

# ---- 12: a store damaged in the middle takes no new run ----------------
BAD=$TMPD/bad.db
for i in 1 2 3; do "$MIGSIM" simulate "$SEED" --db "$BAD" >/dev/null; done
pages=$(($(stat -c %s "$BAD") / 4096))
dd if=/dev/zero of="$BAD" bs=4096 seek=$((pages / 2)) count=2 conv=notrunc 2>/dev/null
n0=$(sqlite3 "$BAD" 'SELECT count(*) FROM runs')
check_rc "simulate --db on a damaged store: exit 4" 4 "$MIGSIM" simulate "$SEED" --db "$BAD" -f json
check "damaged store: the result is on stdout" grep -q '"results"' "$TMPD/rc.out"
check "damaged store: the error says so" grep -q "the store is damaged" "$TMPD/rc.err"
check "damaged store: no run added" test "$(sqlite3 "$BAD" 'SELECT count(*) FROM runs')" = "$n0"

# ---- 6 and 10: read-only places, as a user who is not root --------------
if [ "$(id -u)" -ne 0 ]; then
    AS=()
elif command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
else
    AS=
fi
if [ "${AS[*]-x}" = "" ] && [ "$(id -u)" -eq 0 ]; then
    echo "skip - read-only store checks: running as root without setpriv/nobody"
elif ! "${AS[@]}" test -x "$MIGSIM"; then
    echo "skip - read-only store checks: $MIGSIM not executable for an unprivileged user"
else
    R=$(mktemp -d /tmp/migsim-ro.XXXXXX)
    chmod 755 "$R"
    mkdir "$R/dir"
    cp "$DB" "$R/dir/runs.db"
    chmod 755 "$R/dir"
    chmod 644 "$R/dir/runs.db"
    chown nobody "$R/dir/runs.db" 2>/dev/null
    chmod 555 "$R/dir"
    check "runs list in a read-only directory" "${AS[@]}" "$MIGSIM" runs --db "$R/dir/runs.db" list
    check "runs list in a read-only directory: both runs" test "$(grep -c complete "$TMPD/last.out")" -eq 2
    check "runs export in a read-only directory" "${AS[@]}" "$MIGSIM" runs --db "$R/dir/runs.db" export 2
    check_rc "simulate --db in a read-only directory: exit 4" 4 "${AS[@]}" "$MIGSIM" simulate "$SEED" --db "$R/dir/runs.db"
    check "read-only directory: the error names it" grep -q "directory $R/dir is not writable" "$TMPD/rc.err"
    check "read-only directory: no false 'not a migsim run store'" bash -c '! grep -q "not a migsim run store" "$0"' "$TMPD/rc.err"
    chmod 755 "$R/dir"
    # 10: a read-only store file
    cp "$DB" "$R/ro.db"
    chmod 444 "$R/ro.db"
    chmod 777 "$R"
    check_rc "simulate --db ro.db (0444): exit 4" 4 "${AS[@]}" "$MIGSIM" simulate "$SEED" --db "$R/ro.db" -f json
    check "ro.db: the result is printed first" grep -q '"results"' "$TMPD/rc.out"
    check "ro.db: the error names the read-only file" grep -q "$R/ro.db is read-only" "$TMPD/rc.err"
    check "ro.db: no -shm file left behind" test ! -e "$R/ro.db-shm"
    chmod 644 "$R/ro.db"
    chown nobody "$R/ro.db" 2>/dev/null
    check "ro.db after chmod 644: simulate stores" "${AS[@]}" "$MIGSIM" simulate "$SEED" --db "$R/ro.db"
    # a -shm file left read-only (by an older migsim) is named
    : >"$R/ro.db-shm"
    chmod 444 "$R/ro.db-shm"
    check_rc "a read-only -shm: exit 4" 4 "${AS[@]}" "$MIGSIM" simulate "$SEED" --db "$R/ro.db"
    check "a read-only -shm: the error names it" grep -q "$R/ro.db-shm is read-only" "$TMPD/rc.err"
    rm -rf "$R"
fi
finish
