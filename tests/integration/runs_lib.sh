# Helpers for the store/plot/report tests: write migsim run exports
# (format migsim-run 1) to load into a real store.  Source after lib.sh;
# not a test itself (tests/run.sh skips *_lib.sh).
# shellcheck shell=bash
# Write a run export (format migsim-run 1) to stdout.
# mkrun SEED POLICY DEVNAME OUTCOME DOWNTIME_NS TOTAL_NS DIRTY_RATE [STATE_TEXT]
json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/\\r}
    s=${s//$'\e'/\\u001b}
    printf '"%s"' "$s"
}
mkrun() {
    local seed=$1 policy=$2 dev=$3 outcome=$4 down=$5 total=$6 rate=$7
    local state=${8:-active} i est scen
    scen="{\"vm\": {\"dirty_rate\": \"$rate\"}, \"seed\": $seed}"
    printf '{"format": "migsim-run", "format_version": 1, "meta": {'
    printf '"kind": "sim", "complete": true, "seed": %d, ' "$seed"
    printf '"started_ns": %d, "finished_ns": %d, ' $((1700000000000000000 + seed)) $((1700000000000000000 + seed + total))
    printf '"qemu": "9.1", "policy": %s, "rng": "taus2", ' "$(json_str "$policy")"
    printf '"source_path": "scenarios/x.json", "command_line": "migsim simulate x.json", '
    printf '"verdict": %s, ' "$(json_str "verdict for $policy")"
    printf '"diagnosis": %s, ' "$(json_str "diagnosis line 1
line 2 for $dev")"
    printf '"fingerprint": "0x%016x", "scenario_json": %s}, ' "$seed" "$(json_str "$scen")"
    printf '"metrics": {"outcome": "%s", "qemu": "9.1", "policy": %s, ' "$outcome" "$(json_str "$policy")"
    printf '"total_ns": %d, "downtime_ns": %d, "src_downtime_ns": %d, ' "$total" "$down" "$down"
    printf '"setup_ns": 1000000, "downtime_limit_ns": 300000000, "downtime_violation": %s, ' \
        "$([ "$down" -gt 300000000 ] && echo true || echo false)"
    printf '"iterations": 50, "bitmap_syncs": 10, "estimate_calls": 50, "exact_calls": %d, ' $((seed % 7))
    printf '"exact_calls_per_s": 0.5, "sync_time_ns": %d, "bql_ns": 2000000, "spin_cpu_ns": 0, ' $((seed * 1000000))
    printf '"bytes_transferred": 5000000000, "precopy_bytes": 4900000000, "downtime_bytes": 100000000, '
    printf '"postcopy_bytes": 0, "expected_downtime_ns": 250000000, "max_throttle_pct": 0, "postcopy": false}, '
    printf '"devices": [{"name": %s, "precopy_bytes": 1000, "stop_copy_bytes": 2000, "save_ns": 10, "load_ns": 20}], ' "$(json_str "$dev")"
    printf '"samples": ['
    for ((i = 0; i < 50; i++)); do
        est=$(((50 - i) * 100000000 + seed))
        [ "$i" -gt 0 ] && printf ', '
        printf '{"t_ns": %d, "iteration": %d, "estimate_bytes": %d, "exact_bytes": %d, "exact_called": %s, ' \
            $((i * 100000000)) "$i" "$est" $((i % 10 == 0 ? est : 0)) "$([ $((i % 10)) -eq 0 ] && echo true || echo false)"
        printf '"threshold_bytes": 375000000, "bandwidth_bps": 1250000000, "ram_dirty_bytes": %d, ' $((est / 2))
        printf '"dirty_rate_bps": 16000000, "sent_bytes": 125000000, "downtime_limit_ns": 300000000, '
        printf '"throttle_pct": 0, "expected_downtime_ns": 250000000, "n_devices": 1, '
        printf '"dev_reported_bytes": [%d], "dev_stop_copy_bytes": [536870912]}' $((2000000000 - i * 1000000))
    done
    printf '], "events": ['
    printf '{"t_ns": 0, "kind": "state", "value": 0, "dur_ns": 0, "text": %s}, ' "$(json_str "$state")"
    printf '{"t_ns": 1000000000, "kind": "sync", "value": 100, "dur_ns": 2000000, "text": ""}, '
    printf '{"t_ns": 2000000000, "kind": "device", "value": 0, "dur_ns": 0, "text": %s}, ' "$(json_str "$dev: RUNNING->PRE_COPY")"
    printf '{"t_ns": %d, "kind": "state", "value": 0, "dur_ns": 0, "text": "completed"}]}\n' "$total"
}
