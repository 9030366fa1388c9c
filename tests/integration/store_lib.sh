# Helpers for the store tests (not a test itself: tests/run.sh skips
# *_lib.sh).  store_dump MIGSIM DB: every way a stored run is read out
# (runs list, and per run show, show --format json, export as JSON and the
# four CSV tables), one line per command: its SHA-256 (stdout and stderr),
# its exit status and its name.
# shellcheck shell=bash
store_dump() {
    local bin=$1 db=$2 id t
    _sd() {
        local name=$1 out rc
        shift
        out=$("$@" 2>&1)
        rc=$?
        printf '%s %d %s\n' "$(printf '%s' "$out" | sha256sum | cut -c1-64)" "$rc" "$name"
    }
    _sd "runs list" "$bin" runs --db "$db" list
    for id in $(sqlite3 "file:$db?immutable=1" 'SELECT id FROM runs ORDER BY id'); do
        _sd "run $id: show" "$bin" runs --db "$db" show "$id"
        _sd "run $id: show --format json" "$bin" runs --db "$db" show "$id" --format json
        _sd "run $id: export" "$bin" runs --db "$db" export "$id"
        for t in series events metrics devices; do
            _sd "run $id: export --format csv --table $t" \
                "$bin" runs --db "$db" export "$id" --format csv --table "$t"
        done
    done
}
