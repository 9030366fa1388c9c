#!/bin/bash
# kill -9 of `migsim plot` and `migsim report` while gnuplot runs: after one
# second no gnuplot child is left and no temporary file or directory
# (issue 16).  gnuplot is slowed by a wrapper that execs the real one with
# a pause first (exec: the wrapper IS the gnuplot process).
. "$(dirname "$0")/lib.sh"
cd "$MIGSIM_ROOT" || exit 1
. "$(dirname "$0")/runs_lib.sh"
if ! command -v gnuplot >/dev/null; then
    echo "skip - plot_kill: no gnuplot"
    finish
fi
mkrun 1 qemu vgpu0 converged 200000000 4000000000 1GB/s >"$TMPD/r1.json"
"$MIGSIM" runs import "$TMPD/r1.json" >/dev/null
printf '#!/bin/sh\nexec gnuplot -e "pause 20" "$@"\n' >"$TMPD/slowgp"
chmod +x "$TMPD/slowgp"
export MIGSIM_GNUPLOT=$TMPD/slowgp
mkdir -p "$TMPD/out" "$TMPD/tmp"
export TMPDIR=$TMPD/tmp

# wait_child PID NAME: echo the pid of PID's child NAME once it runs
wait_child() {
    local i c
    for i in $(seq 1 100); do
        c=$(pgrep -P "$1" -x "$2" 2>/dev/null | head -1)
        [ -n "$c" ] && { echo "$c"; return 0; }
        sleep 0.05
    done
    return 1
}
for cmd in plot report; do
    case $cmd in
    plot) "$MIGSIM" plot 1 --kind timeline -o "$TMPD/out/k.png" 2>/dev/null & ;;
    report) "$MIGSIM" report 1 -o "$TMPD/out/k.html" 2>/dev/null & ;;
    esac
    pid=$!
    gp=$(wait_child "$pid" gnuplot)
    check "$cmd: gnuplot started" test -n "$gp"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    sleep 1
    # a zombie (state Z, waiting for an init that may not reap) is dead
    check "$cmd: no gnuplot left 1 s after kill -9" bash -c \
        'st=$(ps -o stat= -p "$0" 2>/dev/null); [ -z "$st" ] || [ "${st#Z}" != "$st" ]' "${gp:-0}"
    check "$cmd: no temporary in the output directory" \
        test -z "$(find "$TMPD/out" -name '.*' -o -name '*.tmp' -o -name 'k.png' -o -name 'k.html' | grep -v '^$')"
    check "$cmd: no temporary directory left in TMPDIR" test -z "$(ls -A "$TMPD/tmp")"
    rm -f "$TMPD"/out/*
done
finish
