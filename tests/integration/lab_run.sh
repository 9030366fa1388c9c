#!/bin/bash
# migsim lab run against real QEMU (TCG): usage errors, a QEMU that fails
# to start, a converging migration (destination runs the guest, the trace
# has as many syncs as query-migrate counts, nothing left running), and a
# migration that cannot converge at 300 ms (cancelled at the time limit).
# The kept trace of the converging run replays to the same sync count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab_lib.sh"
need_qemu

check_rc "lab run --help" 0 "$MIGSIM" lab run --help
grep -q -- "--working-set" "$TMPD/last.out" && ok "help lists --working-set" ||
    notok "help lists --working-set"
check_rc "--observer needs --workdir" 2 "$MIGSIM" lab run --observer
check_rc "bad size" 2 "$MIGSIM" lab run --ram 12parsecs
check_rc "unknown subcommand" 2 "$MIGSIM" lab frobnicate

# A "QEMU" that exits at once: a clear error, nothing left behind.
export TMPDIR="$TMPD/tmp"
mkdir -p "$TMPDIR"
check_rc "QEMU failing to start: exit 5" 5 "$MIGSIM" lab run --no-db \
    --qemu /bin/false
grep -q "QEMU (pid [0-9]*) exited with status 1" "$TMPD/last.err" &&
    ok "failing QEMU named with its exit status" ||
    { notok "failing QEMU named with its exit status"; cat "$TMPD/last.err"; }
[ -z "$(ls -A "$TMPDIR")" ] && ok "private work directory removed" ||
    notok "private work directory removed: $(ls -A "$TMPDIR")"

# Converging: 32 MiB written at 8 MiB/s, max-bandwidth 32 MiB/s.
db="$TMPD/runs.db"
w="$TMPD/w1"
check_rc "converging run: exit 0" 0 "$MIGSIM" lab run --db "$db" \
    --workdir "$w" --working-set 32MiB --dirty-rate 8MiB/s \
    --max-bandwidth 32MiB/s --downtime-limit 300ms --time-limit 60s \
    --trace "$TMPD/conv.trace" --format json
cp "$TMPD/last.out" "$TMPD/conv.json"
[ "$(jstr "$TMPD/conv.json" outcome)" = converged ] &&
    ok "outcome converged" || notok "outcome converged"
grep -q '"dest_ok": true' "$TMPD/conv.json" &&
    ok "destination runs the guest after switchover" ||
    notok "destination runs the guest after switchover"
syncs=$(jnum "$TMPD/conv.json" dirty-sync-count)
tsyncs=$(jnum "$TMPD/conv.json" trace_syncs)
[ -n "$syncs" ] && [ "$syncs" = "$tsyncs" ] &&
    ok "trace sync pairs = dirty-sync-count ($syncs)" ||
    notok "trace sync pairs ($tsyncs) = dirty-sync-count ($syncs)"
check_rc "migsim replay reads the kept trace" 0 "$MIGSIM" replay \
    "$TMPD/conv.trace" --no-db --format json -q
rsyncs=$(jnum "$TMPD/last.out" bitmap_syncs)
[ -n "$syncs" ] && [ "$rsyncs" = "$syncs" ] &&
    ok "the trace replays to the same sync count ($rsyncs)" ||
    notok "replayed syncs ($rsyncs) = dirty-sync-count ($syncs)"
[ "$(jstr "$TMPD/last.out" verdict)" = converged ] &&
    ok "replay verdict converged" || notok "replay verdict converged"
rate=$(jnum "$TMPD/conv.json" guest_rate_bps)
awk -v r="$rate" 'BEGIN { exit !(r > 8388608 * 0.8 && r < 8388608 * 1.2) }' &&
    ok "guest writes at the asked rate ($rate B/s)" ||
    notok "guest writes at the asked rate ($rate B/s)"
for p in src dst; do
    pid=$(cat "$w/$p.pid")
    if kill -0 "$pid" 2>/dev/null; then notok "$p QEMU $pid gone"; else
        ok "$p QEMU gone after the run"; fi
done
[ ! -e "$w/src.qmp" ] && ok "sockets removed from --workdir" ||
    notok "sockets removed from --workdir"
row=$(sqlite3 "$db" "SELECT r.complete, s.outcome, s.bitmap_syncs,
    (SELECT coalesce(sum(n), 0) FROM series_chunks WHERE run_id = r.id) > 3
    FROM runs r JOIN results s ON s.run_id = r.id WHERE r.kind = 'live'")
[ "$row" = "1|converged|$syncs|1" ] && ok "stored as a complete live run" ||
    notok "stored as a complete live run ($row)"

# Not converging at 300 ms: 64 MiB rewritten at 64 MiB/s over 16 MiB/s
# (it would converge only if the guest wrote below ~17 MiB/s).
check_rc "non-converging run: exit 1" 1 "$MIGSIM" lab run --db "$db" \
    --working-set 64MiB --dirty-rate 64MiB/s --max-bandwidth 16MiB/s \
    --downtime-limit 300ms --time-limit 8s
grep -q "^outcome *timeout" "$TMPD/last.out" && ok "outcome timeout" ||
    notok "outcome timeout"
grep -q "did not converge within the time limit" "$TMPD/last.out" &&
    ok "verdict says it did not converge" || notok "verdict"
exp_ms=$(sqlite3 "$db" "SELECT expected_downtime_ns / 1000000 FROM results
    WHERE outcome = 'timeout'")
[ -n "$exp_ms" ] && [ "$exp_ms" -gt 1000 ] &&
    ok "QEMU expected far more than 300 ms ($exp_ms ms)" ||
    notok "QEMU expected far more than 300 ms ($exp_ms ms)"
finish
