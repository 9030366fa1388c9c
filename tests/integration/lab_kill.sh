#!/bin/bash
# kill -9 of `migsim lab run` (issue 16) at three moments -- while the
# guest boots, while it migrates, after the migration completed (during
# the destination check) -- and of `migsim live` observing a lab
# migration: one second later no process of the run, no socket and no
# temporary directory is left (the lab's janitor process cleans up after
# a SIGKILL; QEMUs also die through PR_SET_PDEATHSIG).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

export TMPDIR="$TMPD/tmp"
mkdir -p "$TMPDIR"

# leftovers: processes whose command line names our TMPDIR, files in it
leftovers() {
    local procs files
    procs=$(ps -eo pid=,args= | grep -F "$TMPDIR" | grep -v grep |
        grep -v "ps -eo" | head -n 3)
    files=$(ls -A "$TMPDIR")
    [ -z "$procs" ] && [ -z "$files" ] && return 0
    echo "# processes: $procs"
    echo "# files: $files"
    return 1
}

# kill_at NAME PATTERN: start a lab run, SIGKILL it once its stderr
# matches PATTERN, check after 1 s.
kill_at() {
    local name=$1 pat=$2
    "$MIGSIM" lab run --no-db --working-set 32MiB --dirty-rate 8MiB/s \
        --max-bandwidth 32MiB/s --time-limit 60s >"$TMPD/k.out" \
        2>"$TMPD/k.err" &
    local pid=$!
    bg_track $pid
    if ! wait_for 60 grep -q "$pat" "$TMPD/k.err"; then
        notok "$name: reached '$pat'"
        tail -n 5 "$TMPD/k.err"
        kill -9 $pid 2>/dev/null
        return
    fi
    if ! kill -9 $pid 2>/dev/null; then
        notok "$name: still running when killed"
        return
    fi
    wait $pid 2>/dev/null
    sleep 1
    leftovers && ok "kill -9 $name: nothing left after 1 s" ||
        notok "kill -9 $name: nothing left after 1 s"
}
kill_at "while booting" "lab: work directory"
kill_at "while migrating" "status active"
kill_at "after completion" "status completed"

# live: killed while observing; the lab it watches goes on and converges,
# live leaves nothing behind.
w="$TMPD/w"
"$MIGSIM" lab run --no-db --workdir "$w" --observer --working-set 32MiB \
    --dirty-rate 2MiB/s --max-bandwidth 8MiB/s --time-limit 60s \
    >"$TMPD/lab.out" 2>"$TMPD/lab.err" &
lab=$!
bg_track $lab
if wait_for 60 test -S "$w/src-observe.qmp"; then
    "$MIGSIM" live --qmp "$w/src-observe.qmp" --no-db >"$TMPD/live.out" \
        2>"$TMPD/live.err" &
    lp=$!
    wait_for 30 grep -q "status active" "$TMPD/live.err"
    kill -9 $lp
    wait $lp 2>/dev/null
    sleep 1
    kill -0 $lp 2>/dev/null && notok "live gone after kill -9" ||
        ok "live gone after kill -9"
    [ -z "$(ls -A "$TMPDIR")" ] && ok "live left no temporary file" ||
        notok "live left no temporary file: $(ls -A "$TMPDIR")"
    wait $lab
    rc=$?
    [ $rc -eq 0 ] && ok "the observed lab run still converged" ||
        notok "the observed lab run still converged (rc $rc)"
else
    notok "observer socket appears"
fi
finish
