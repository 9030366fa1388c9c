#!/bin/bash
# tests/data/store/make-v2.sh MIGSIM OUT.db — how v2.db (a schema-2 store,
# one row per sample and event) was made: by the migsim of main before
# schema 3 (commit 30de342), run from the project root.  Kept for the
# record; tests/integration/store_migrate.sh reads the committed file and
# v2-expected.txt (what that migsim printed for every run).
set -eu
bin=$1 out=$2
rm -f "$out" "$out-wal" "$out-shm"
"$bin" simulate scenarios/idle-vm.json --db "$out" >/dev/null
"$bin" simulate scenarios/seed-vfio-21g.json --set migration.time_limit=3min --db "$out" >/dev/null
"$bin" simulate scenarios/precopy-nic-vf.json --set sim.ram_mode=aggregate --db "$out" >/dev/null
"$bin" replay tests/data/traces/01-vfio-vgpu-21GB-estimate-exact-spin.log --db "$out" >/dev/null
"$bin" replay tests/data/traces/11-two-vfio-vf-200G-100Gbit-downtime-1018ms.log --db "$out" >/dev/null
"$bin" runs --db "$out" import tests/data/store/v2-import.json >/dev/null
"$bin" sweep scenarios/idle-vm.json --grid workload.dirty_rate=100MB/s,1GB/s --seeds 1 \
    --db "$out" --quiet --no-progress >/dev/null
# an incomplete run: the store's 400th write fails mid-run (test VFS)
MIGSIM_TEST_VFS_FAIL=write:400 "$bin" simulate scenarios/seed-vfio-21g.json \
    --set migration.time_limit=1h --db "$out" >/dev/null 2>&1 || true
sqlite3 "$out" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
# what that migsim reads out of it, for store_migrate.sh to compare with
. tests/integration/store_lib.sh
store_dump "$bin" "$out" >"${3:-tests/data/store/v2-expected.txt}"
