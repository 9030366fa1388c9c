/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_trc_replay.c — timeline rebuild, diagnosis and trace-derived
 * inputs on the real excerpts in tests/data/traces (01 exact-spin, 03
 * threshold formula, 04 immediate switchover, 11 downtime breakdown) and
 * on synthetic traces: sync periods and dirty rate, derived bandwidth,
 * status and VFIO FSM violations with line numbers, query-migrate-only
 * input, decimation with statistics over every iteration, counterfactual
 * runs through the simulator; whole sessions (trc_session_run) with their
 * failure statuses and outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "engine/engine.h"
#include "traces/replay.h"

#define DATA "tests/data/traces/"

static void replay_file(const char *path, struct trc_replay *r,
                        const struct tl_options *tlo)
{
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    o.reader.events_path = DATA "trace-events-all";
    if (tlo) {
        o.timeline = *tlo;
    }
    char err[512];
    const char *files[] = {path};
    if (trc_replay_run(files, 1, &o, r, err, sizeof(err)) != 0) {
        fail_msg("%s: %s", path, err);
    }
}

static void replay_text(const char *text, struct trc_replay *r,
                        const struct tl_options *tlo)
{
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    o.reader.events_path = DATA "trace-events-all";
    if (tlo) {
        o.timeline = *tlo;
    }
    char err[512];
    struct trc_reader *rd = trc_reader_new(&o.reader, err, sizeof(err));
    assert_non_null(rd);
    assert_int_equal(trc_reader_add_mem(rd, "synthetic.log", text, strlen(text),
                                        err, sizeof(err)),
                     0);
    if (trc_replay_reader(rd, &o, r, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    trc_reader_free(rd);
}

static bool has_note(const struct trc_diagnosis *d, const char *needle)
{
    for (unsigned i = 0; i < d->n_notes; i++) {
        if (strstr(d->notes[i], needle)) {
            return true;
        }
    }
    return false;
}

/* ---- the real excerpts ---- */

static void test_01_exact_spin(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_file(DATA "01-vfio-vgpu-21GB-estimate-exact-spin.log", &r, NULL);
    const struct run_metrics *m = &r.run.m;
    assert_int_equal(r.diag.verdict, TRC_VERDICT_NOT_CONVERGING);
    assert_true(r.diag.why & TRC_WHY_EXACT_SPIN);
    assert_true(r.diag.why & TRC_WHY_STOPCOPY);
    assert_false(r.diag.why & TRC_WHY_SWITCHED_OVER);
    assert_int_equal(m->iterations, 6);
    assert_int_equal(m->estimate_calls, 6);
    assert_int_equal(m->exact_calls, 5);
    assert_int_equal(r.info.exact_spin_iterations, 5);
    assert_int_equal(r.info.decided, 5);
    /* ~11-12 exact() calls per second */
    assert_true(m->exact_calls_per_s > 11.0 && m->exact_calls_per_s < 12.5);
    assert_true(fabs(r.diag.exact_calls_per_s - m->exact_calls_per_s) < 1e-9);
    /* 9.0+: a sync per exact(), inferred; ~80 ms each */
    assert_int_equal(m->bitmap_syncs, 5);
    assert_true(r.info.syncs_inferred);
    assert_true(r.info.sync_time_estimated);
    assert_true(m->sync_time_ns > 380 * 1000000LL &&
                m->sync_time_ns < 420 * 1000000LL);
    assert_true(r.diag.sync_share > 0.9);
    /* the 21 GB gap, fluctuating by ~1.5 MB */
    assert_true(r.info.exact_gap_min == 21038628864.0);
    assert_true(r.info.exact_gap_max == 21040144384.0);
    assert_int_equal(m->outcome, RUN_INCOMPLETE);
    /* no bandwidth in the trace: no limit, but the rates are given */
    assert_false(r.diag.advice.have_limit);
    assert_true(has_note(&r.diag, "16.83 s at 10 Gbit/s"));
    assert_true(r.diag.advice.have_asb);
    assert_true(
        fabs(r.diag.advice.min_avail_switchover_bps - 21038628864.0 / 0.3) < 2);
    assert_true(has_note(&r.diag, "11.96 times/s"));
    assert_int_equal(r.info.qemu_lo, 800);
    /* derived inputs: an unattributed exact-only device of ~21 GB */
    assert_int_equal(r.inputs.n_devices, 1);
    assert_true(r.inputs.dev[0].inferred);
    assert_string_equal(r.inputs.dev[0].name, "exact-only");
    assert_true(r.inputs.dev[0].stop_copy_bytes == 21038796800ull);
    assert_int_equal(r.inputs.dev[0].stop_copy.n, 5);
    assert_true(r.inputs.sync_cost_ns > 75 * 1000000LL);
    trc_replay_free(&r);

    /* with an assumed link bandwidth the limit is computed */
    struct tl_options o = {.bandwidth_bps = 1.25e9};
    replay_file(DATA "01-vfio-vgpu-21GB-estimate-exact-spin.log", &r, &o);
    assert_true(r.diag.advice.have_limit);
    assert_true(r.diag.advice.bandwidth_assumed);
    /* 21038628864 B / 1.25 GB/s = 16830.9 ms -> 16831 ms */
    assert_true(r.diag.advice.min_downtime_limit_ms == 16831);
    assert_true(r.diag.advice.expected_downtime_ms > 16800 &&
                r.diag.advice.expected_downtime_ms < 16900);
    trc_replay_free(&r);
}

static void test_03_threshold(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_file(DATA "03-migrate-transferred-estimate-8GB.log", &r, NULL);
    assert_int_equal(r.run.n_samples, 1);
    const struct run_sample *s = &r.run.samples[0];
    assert_int_equal(s->threshold_bytes, 334710);
    assert_true(fabs(s->bandwidth_bps - 1115700.0) < 1e-6);
    assert_true(r.info.threshold_traced);
    assert_true(r.info.limit_inferred);
    assert_true(r.info.limit_lo_ms <= 300.0 && r.info.limit_hi_ms >= 300.0);
    assert_int_equal(r.run.m.downtime_limit_ns, 300 * 1000000LL);
    /* threshold == bandwidth (B/ms) x downtime-limit (ms) */
    double bpm = s->bandwidth_bps / 1000.0;
    assert_true(fabs(bpm * 300.0 - (double)s->threshold_bytes) < 1.0);
    assert_true(s->estimate_bytes == 8440582144ull);
    assert_false(s->exact_called);
    assert_int_equal(r.info.qemu_lo, 802); /* switchover_bw: 8.2+ */
    /* one decided iteration: too short, but the advice is computed */
    assert_int_equal(r.diag.verdict, TRC_VERDICT_INCONCLUSIVE);
    assert_true(r.diag.why & TRC_WHY_TOO_SHORT);
    assert_true(r.diag.advice.have_limit);
    assert_true(fabs(r.diag.advice.min_downtime_limit_ms -
                     floor(8440582144.0 / 1115.7) - 1) < 1e-6);
    trc_replay_free(&r);
}

static void test_04_immediate_switchover(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_file(DATA "04-cpr-transfer-zero-pending-immediate-switchover.log",
                &r, NULL);
    const struct tl_info *in = &r.info;
    assert_int_equal(r.diag.verdict, TRC_VERDICT_CONVERGED);
    assert_true(in->switchover);
    assert_int_equal(in->switchover_iteration, 1);
    assert_int_equal(in->switchover_pending, 0);
    assert_int_equal(r.run.m.iterations, 1);
    assert_int_equal(r.run.m.outcome, RUN_CONVERGED);
    /* setup sync and final sync, both with zero dirty pages */
    assert_int_equal(r.run.m.bitmap_syncs, 2);
    unsigned syncs = 0;
    for (size_t i = 0; i < r.run.n_events; i++) {
        if (r.run.events[i].kind == RUN_EV_SYNC) {
            assert_int_equal(r.run.events[i].value, 0);
            syncs++;
        }
    }
    assert_int_equal(syncs, 2);
    assert_int_equal(in->n_states, 3);
    assert_string_equal(in->states[0].state, "setup");
    assert_int_equal(in->states[0].line, 5);
    assert_string_equal(in->states[1].state, "active");
    assert_string_equal(in->states[2].state, "device");
    assert_int_equal(in->states[2].line, 23);
    assert_int_equal(in->n_violations, 0);
    /* 9.2.50 is the 10.0 development tree */
    assert_int_equal(in->qemu_lo, 1000);
    assert_int_equal(in->qemu_hi, 1000);
    assert_int_equal(r.stats.unknown, 0);
    trc_replay_free(&r);
}

static void test_11_downtime_breakdown(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_file(DATA "11-two-vfio-vf-200G-100Gbit-downtime-1018ms.log", &r,
                NULL);
    const struct tl_info *in = &r.info;
    const struct run_metrics *m = &r.run.m;
    assert_int_equal(r.diag.verdict, TRC_VERDICT_CONVERGED);
    assert_true(r.diag.why & TRC_WHY_DOWNTIME);
    assert_true(r.diag.why & TRC_WHY_COARSE);
    assert_int_equal(m->downtime_ns, 1018 * 1000000LL);
    assert_int_equal(m->downtime_limit_ns, 300 * 1000000LL);
    assert_true(m->downtime_violation);
    assert_int_equal(m->total_ns, 23510 * 1000000LL);
    assert_int_equal(m->bitmap_syncs, 4);
    /* VFIO: save 125 + 225 ms (serialized), load 240 + 214 + 112 + 112 */
    assert_int_equal(in->vfio_save_ns, (125188 + 224857) * 1000LL);
    assert_int_equal(in->vfio_load_ns,
                     (239586 + 214462 + 112113 + 111545) * 1000LL);
    assert_int_equal(in->vm_stop_ns, 128208000);
    assert_int_equal(in->n_items, 4);
    assert_int_equal(m->n_devices, 2);
    assert_string_equal(m->devices[0].name, "0000:00:02.0");
    assert_int_equal(m->devices[0].save_ns, 125188000);
    assert_int_equal(m->devices[0].load_ns, (239586 + 112113) * 1000LL);
    /* VFIO dominates: well over half of the traced stop-and-copy work,
     * about 1 s against the 300 ms limit */
    assert_true(in->vfio_save_ns + in->vfio_load_ns > 1000 * 1000000LL);
    assert_true(has_note(&r.diag, "it dominates the downtime"));
    assert_true(strstr(r.diag.summary, "exceeded the 300 ms limit"));
    /* destination records are kept out of the source timeline */
    assert_int_equal(in->dest_records, 6);
    assert_true(r.run.m.bytes_transferred >= 5317587ull * 1024);
    trc_replay_free(&r);
}

/* ---- synthetic traces ---- */

static void test_syncs_bandwidth_and_switchover(void **state)
{
    (void)state;
    /* 9.2-style trace: 4 iterations, syncs every 600 ms whose cumulative
     * count resets after a >1 s period, bandwidth derived from
     * migration_transferred_bytes, switchover in iteration 4 */
    const char *t =
        "1@1000.000000:migrate_set_state new state setup\n"
        "1@1000.010000:migration_bitmap_sync_start \n"
        "1@1000.020000:migration_bitmap_sync_end dirty_pages 1000\n"
        "1@1000.030000:migrate_set_state new state active\n"
        "1@1000.100000:migration_transferred_bytes qemu_file 0 multifd 0 "
        "RDMA 0\n"
        "1@1000.100000:migrate_pending_estimate estimate pending size "
        "400000000 (pre = 400000000 post=0)\n"
        "1@1000.200000:savevm_state_iterate \n"
        "1@1000.610000:migration_bitmap_sync_start \n"
        "1@1000.630000:migration_bitmap_sync_end dirty_pages 3000\n"
        "1@1000.700000:migration_transferred_bytes qemu_file 300000000 "
        "multifd 0 RDMA 0\n"
        "1@1000.700000:migrate_pending_estimate estimate pending size "
        "200000000 (pre = 200000000 post=0)\n"
        "1@1000.800000:savevm_state_iterate \n"
        "1@1001.210000:migration_bitmap_sync_start \n"
        "1@1001.240000:migration_bitmap_sync_end dirty_pages 6000\n"
        "1@1001.300000:migration_transferred_bytes qemu_file 600000000 "
        "multifd 0 RDMA 0\n"
        "1@1001.300000:migrate_pending_estimate estimate pending size "
        "100000000 (pre = 100000000 post=0)\n"
        "1@1001.400000:savevm_state_iterate \n"
        "1@1001.810000:migration_bitmap_sync_start \n"
        "1@1001.820000:migration_bitmap_sync_end dirty_pages 500\n"
        "1@1001.900000:migrate_pending_estimate estimate pending size "
        "1000000 (pre = 1000000 post=0)\n"
        "1@1001.900000:migrate_pending_exact exact pending size 2000000 "
        "(pre = 2000000 post=0)\n"
        "1@1001.900100:migration_thread_low_pending 2000000\n"
        "1@1001.910000:migrate_set_state new state completed\n";
    struct trc_replay r;
    replay_text(t, &r, NULL);
    const struct tl_info *in = &r.info;
    const struct run_metrics *m = &r.run.m;
    assert_int_equal(m->bitmap_syncs, 4);
    assert_false(in->syncs_inferred);
    /* durations 10 + 20 + 30 + 10 ms */
    assert_int_equal(m->sync_time_ns, 70 * 1000000LL);
    /* pages found per sync: 1000, 2000, 3000, then a new period: 500 */
    uint64_t found[4];
    unsigned k = 0;
    for (size_t i = 0; i < r.run.n_events && k < 4; i++) {
        if (r.run.events[i].kind == RUN_EV_SYNC) {
            found[k++] = r.run.events[i].value;
        }
    }
    assert_int_equal(k, 4);
    assert_int_equal(found[0], 1000);
    assert_int_equal(found[1], 2000);
    assert_int_equal(found[2], 3000);
    assert_int_equal(found[3], 500);
    /* period 1000.010 -> 1001.240: 6000 pages in 1.23 s */
    assert_int_equal(in->dirty_rate.n, 1);
    assert_true(fabs(in->dirty_rate.v[0] - 6000.0 * 4096 / 1.23) < 1.0);
    /* 300 MB per 600 ms = 500 MB/s, derived */
    assert_true(in->bandwidth_derived);
    assert_false(in->bandwidth_traced);
    assert_true(fabs(in->bw_peak_bps - 5e8) < 1.0);
    assert_true(in->switchover);
    assert_int_equal(in->switchover_iteration, 4);
    assert_int_equal(in->switchover_pending, 2000000);
    assert_int_equal(r.diag.verdict, TRC_VERDICT_CONVERGED);
    assert_int_equal(m->outcome, RUN_CONVERGED);
    assert_int_equal(m->setup_ns, 30 * 1000000LL);
    assert_int_equal(in->n_violations, 0);
    /* threshold from bandwidth x the assumed 300 ms: 150 MB */
    assert_int_equal(r.run.samples[2].threshold_bytes, 150000000);
    assert_int_equal(r.run.samples[0].t_ns, 100 * 1000000LL);
    assert_int_equal(r.run.n_samples, 4);
    assert_true(r.run.samples[3].exact_called);
    /* min limit: 2 MB at 500 MB/s = 4 ms -> 5 ms */
    assert_true(r.diag.advice.have_limit);
    assert_true(r.diag.advice.min_downtime_limit_ms == 5);
    trc_replay_free(&r);
}

static void test_violations_with_lines(void **state)
{
    (void)state;
    const char *t =
        "migrate_set_state new state setup\n"
        "migrate_set_state new state active\n"
        "vfio_migration_set_state  (vf0) new state PRE_COPY, recover state "
        "RUNNING\n"
        "vfio_migration_set_state  (vf0) new state STOP_COPY, recover state "
        "PRE_COPY\n"
        "vfio_migration_set_state  (vf0) new state PRE_COPY, recover state "
        "STOP_COPY\n"
        "vfio_state_pending_exact  (vf0) precopy 1048576 postcopy 0 stopcopy "
        "size 1048576 precopy initial size 0 precopy dirty size 0\n"
        "migrate_set_state new state completed\n"
        "migrate_set_state new state active\n";
    struct trc_replay r;
    replay_text(t, &r, NULL);
    const struct tl_info *in = &r.info;
    assert_int_equal(in->violations_total, 2);
    const char *a = in->violations[0].msg, *b = in->violations[1].msg;
    /* the status machine reports completed -> active at line 8 */
    assert_non_null(strstr(a, "synthetic.log:8"));
    assert_non_null(strstr(a, "completed -> active"));
    /* the device FSM reports STOP_COPY -> PRE_COPY at line 5 */
    assert_non_null(strstr(b, "synthetic.log:5: VFIO vf0: STOP_COPY -> "
                              "PRE_COPY"));
    assert_int_equal(in->n_devices, 1);
    assert_int_equal(in->dev[0].transitions, 3);
    assert_true(in->dev[0].precopy);
    assert_false(in->dev[0].hex_sizes);
    assert_int_equal(in->dev[0].stop_copy_last, 1048576);
    assert_int_equal(in->qemu_lo, 902); /* decimal VFIO sizes */
    unsigned dev_events = 0;
    for (size_t i = 0; i < r.run.n_events; i++) {
        dev_events += r.run.events[i].kind == RUN_EV_DEVICE;
    }
    assert_int_equal(dev_events, 3);
    assert_true(has_note(&r.diag, "impossible state change"));
    trc_replay_free(&r);
}

static void test_vfio_iteration_attribution(void **state)
{
    (void)state;
    /* 8.1-9.1 style (hex): device lines print before the summary line */
    const char *t =
        "vfio_state_pending_estimate  (gpu0) precopy 0x100000 postcopy 0x0 "
        "precopy initial size 0x100000 precopy dirty size 0x0\n"
        "migrate_pending_estimate estimate pending size 5242880 (pre = "
        "5242880 post=0)\n"
        "migration_bitmap_sync_start \n"
        "migration_bitmap_sync_end dirty_pages 10\n"
        "vfio_state_pending_exact  (gpu0) precopy 0x80100000 postcopy 0x0 "
        "stopcopy size 0x80000000 precopy initial size 0x100000 precopy "
        "dirty size 0x0\n"
        "migrate_pending_exact exact pending size 2152726528 (pre = "
        "2152726528 post=0)\n"
        "savevm_state_iterate \n";
    struct trc_replay r;
    replay_text(t, &r, NULL);
    assert_int_equal(r.run.n_samples, 1);
    const struct run_sample *s = &r.run.samples[0];
    assert_int_equal(s->n_devices, 1);
    /* pre-9.2 exact adds the pre-copy sizes to the stop-copy size */
    assert_int_equal(s->dev_reported_bytes[0], 0x80000000ull + 0x100000);
    assert_int_equal(s->dev_stop_copy_bytes[0], 0x80000000ull);
    /* RAM part of the estimate: 5 MiB - 1 MiB from the device */
    assert_int_equal(s->ram_dirty_bytes, 4u << 20);
    assert_true(r.info.dev[0].hex_sizes);
    assert_int_equal(r.info.qemu_hi, 901);
    assert_int_equal(r.info.decided, 1);
    assert_true(r.inputs.n_devices == 1 && !r.inputs.dev[0].inferred);
    assert_int_equal(r.inputs.dev[0].stop_copy_bytes, 0x80000000ull);
    trc_replay_free(&r);
}

static void test_query_migrate_only(void **state)
{
    (void)state;
    /* polling: remaining stays put while RAM is dirtied faster than sent */
    char t[4096];
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        n += (size_t)snprintf(
            t + n, sizeof(t) - n,
            "{\"timestamp\": {\"seconds\": %d, \"microseconds\": 0}, "
            "\"return\": {\"status\": \"active\", \"total-time\": %d, "
            "\"expected-downtime\": 900, \"ram\": {\"transferred\": %d, "
            "\"remaining\": %d, \"total\": 8589934592, \"mbps\": 800, "
            "\"dirty-pages-rate\": 25000, \"page-size\": 4096, "
            "\"dirty-sync-count\": %d}}}\n",
            1700000000 + i, 1000 * (i + 1), 100000000 * (i + 1),
            300000000 + (i % 2) * 1000000, i + 2);
    }
    struct trc_replay r;
    replay_text(t, &r, NULL);
    const struct tl_info *in = &r.info;
    assert_true(in->coarse);
    assert_int_equal(r.run.n_samples, 8);
    assert_int_equal(r.run.samples[7].iteration, 9);
    assert_int_equal(r.run.m.bitmap_syncs, 9);
    assert_int_equal(r.run.samples[7].expected_downtime_ns, 900 * 1000000LL);
    /* 25000 pages/s x 4 KiB = 102 MB/s against 100 MB/s */
    assert_true(fabs(in->dirty_rate_mean_bps - 25000.0 * 4096) < 1);
    assert_true(fabs(in->bw_mean_bps - 1e8) < 1);
    assert_int_equal(r.diag.verdict, TRC_VERDICT_NOT_CONVERGING);
    assert_true(r.diag.why & TRC_WHY_DIRTY_RATE);
    assert_true(r.diag.why & TRC_WHY_COARSE);
    assert_true(has_note(&r.diag, "query-migrate"));
    /* 300 MB at 100 MB/s: 3 s */
    assert_true(r.diag.advice.have_limit);
    assert_true(r.diag.advice.min_downtime_limit_ms == 3001);
    assert_true(r.run.samples[1].t_ns - r.run.samples[0].t_ns == 1000000000);
    trc_replay_free(&r);
}

static void test_decimation_keeps_statistics(void **state)
{
    (void)state;
    /* 20000 iterations, 64 samples kept; the smallest pending is at
     * iteration 7777, which decimation drops from the series */
    size_t cap = 20000 * 400;
    char *t = malloc(cap);
    assert_non_null(t);
    size_t n = 0;
    for (int i = 1; i <= 20000; i++) {
        uint64_t p = i == 7777 ? 1000000 : 50000000 + (uint64_t)i;
        n += (size_t)snprintf(
            t + n, cap - n,
            "7@%d.%06d:migrate_transferred transferred 1000000 time_spent "
            "100 bandwidth 10000 switchover_bw 0 max_size 3000000\n"
            "7@%d.%06d:migrate_pending_estimate estimate pending size %llu "
            "(pre = %llu post=0)\n"
            "7@%d.%06d:savevm_state_iterate \n",
            1000 + i / 10, (i % 10) * 100000, 1000 + i / 10,
            (i % 10) * 100000 + 1, (unsigned long long)p, (unsigned long long)p,
            1000 + i / 10, (i % 10) * 100000 + 2);
    }
    struct tl_options o = {.max_samples = 64, .max_events = 64};
    struct trc_replay r;
    replay_text(t, &r, &o);
    assert_int_equal(r.run.m.iterations, 20000);
    assert_true(r.run.n_samples <= 65);
    assert_true(r.run.n_samples >= 32);
    for (size_t i = 1; i < r.run.n_samples; i++) {
        assert_true(r.run.samples[i].iteration >
                    r.run.samples[i - 1].iteration);
    }
    assert_int_equal(r.run.samples[r.run.n_samples - 1].iteration, 20000);
    assert_int_equal(r.info.decided, 20000);
    assert_int_equal(r.diag.advice.at_iteration, 7777);
    /* 1 MB at 10 MB/s: 100 ms -> 101 ms */
    assert_true(r.diag.advice.min_downtime_limit_ms == 101);
    assert_int_equal(r.info.limit_inferred, true);
    assert_int_equal(r.run.m.downtime_limit_ns, 300 * 1000000LL);
    /* pending flat around 50 MB against a 3 MB threshold */
    assert_int_equal(r.diag.verdict, TRC_VERDICT_NOT_CONVERGING);
    assert_true(r.info.pending.n <= 64);
    trc_replay_free(&r);
    free(t);
}

static void test_series(void **state)
{
    (void)state;
    struct tl_series s = {.cap = 8};
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(tl_series_push(&s, i, (double)i), 0);
    }
    assert_true(s.n <= 8 && s.n >= 4);
    for (size_t i = 0; i < s.n; i++) {
        assert_true(s.t_ns[i] % (int64_t)s.stride == 0);
        assert_true(s.v[i] == (double)s.t_ns[i]);
    }
    assert_int_equal(s.seen, 1000);
    double mean = tl_series_mean(&s);
    assert_true(mean > 100 && mean < 900);
    tl_series_free(&s);
    assert_null(s.v);
}

static void test_counterfactual_cached_stop_size(void **state)
{
    (void)state;
    sim_gsl_quiet();
    struct trc_replay r;
    replay_file(DATA "01-vfio-vgpu-21GB-estimate-exact-spin.log", &r, NULL);
    char err[256];
    struct run_result q, c;
    assert_int_equal(
        trc_counterfactual(&r.inputs, "qemu", &q, err, sizeof(err)), 0);
    assert_int_equal(
        trc_counterfactual(&r.inputs, "cached-stop-size", &c, err, sizeof(err)),
        0);
    /* the model reproduces the spin the trace shows ... */
    assert_true(q.m.exact_calls_per_s > 8);
    assert_true(fabs(q.m.exact_calls_per_s - r.run.m.exact_calls_per_s) < 3);
    assert_true(q.m.outcome != RUN_CONVERGED);
    /* ... and caching the stop-copy size removes it */
    assert_true(c.m.exact_calls_per_s * 10 <= q.m.exact_calls_per_s);
    assert_true(c.m.bitmap_syncs * 10 <= q.m.bitmap_syncs);
    run_result_free(&q);
    run_result_free(&c);
    assert_int_equal(
        trc_counterfactual(&r.inputs, "no-such-policy", &q, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "no-such-policy"));
    char *js = trc_scenario_json(&r.inputs);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"stop_copy_size\": 21038796800"));
    free(js);
    trc_replay_free(&r);
}

static void test_empty_and_garbage(void **state)
{
    (void)state;
    struct trc_replay r;
    replay_text("hello\nworld\n", &r, NULL);
    assert_int_equal(r.diag.verdict, TRC_VERDICT_INCONCLUSIVE);
    assert_true(r.diag.why & TRC_WHY_NO_DATA);
    assert_int_equal(r.run.n_samples, 0);
    assert_int_equal(r.stats.other, 2);
    trc_replay_free(&r);
}

static enum trc_session_status session(const char *const *files, unsigned n,
                                       const char *const *pol, unsigned n_pol,
                                       bool strict, struct trc_session *s,
                                       char *err, size_t errlen)
{
    struct trc_session_options o;
    memset(&o, 0, sizeof(o));
    o.replay.reader.events_path = DATA "trace-events-all";
    o.replay.reader.strict = strict;
    o.files = files;
    o.n_files = n;
    o.policies = pol;
    o.n_policies = n_pol;
    return trc_session_run(&o, s, err, errlen);
}

/* The qemu model runs first unless asked for; a bad policy fails alone. */
static void test_session_counterfactuals(void **state)
{
    (void)state;
    const char *files[] = {DATA "01-vfio-vgpu-21GB-estimate-exact-spin.log"};
    char err[512];
    struct trc_session s;
    const char *pol[] = {"cached-stop-size"};
    assert_int_equal(session(files, 1, pol, 1, false, &s, err, sizeof(err)),
                     TRC_SESSION_OK);
    assert_int_equal(s.n_cf, 2);
    assert_string_equal(s.cf[0].policy, "qemu");
    assert_string_equal(s.cf[1].policy, "cached-stop-size");
    assert_true(s.cf[0].ok && s.cf[1].ok);
    assert_int_equal(s.r.diag.verdict, TRC_VERDICT_NOT_CONVERGING);
    trc_session_free(&s);

    const char *pol2[] = {"nosuch-policy", "qemu"};
    assert_int_equal(session(files, 1, pol2, 2, false, &s, err, sizeof(err)),
                     TRC_SESSION_OK);
    assert_int_equal(s.n_cf, 2);
    assert_false(s.cf[0].ok);
    assert_non_null(strstr(s.cf[0].err, "nosuch-policy"));
    assert_string_equal(s.cf[1].policy, "qemu");
    assert_true(s.cf[1].ok);
    trc_session_free(&s);

    /* every replay re-runs the trace under its own policy (issue 11) */
    assert_int_equal(session(files, 1, NULL, 0, false, &s, err, sizeof(err)),
                     TRC_SESSION_OK);
    assert_int_equal(s.n_cf, 1);
    assert_string_equal(s.cf[0].policy, "qemu");
    assert_true(s.fit.have);
    trc_session_free(&s);
}

/* Each way a session can fail says which (the CLI's exit codes). */
static void test_session_status(void **state)
{
    (void)state;
    char err[512];
    struct trc_session s;
    const char *twice[] = {"-", "-"};
    assert_int_equal(session(twice, 2, NULL, 0, false, &s, err, sizeof(err)),
                     TRC_SESSION_USAGE);
    assert_non_null(strstr(err, "more than once"));
    const char *missing[] = {DATA "no-such-file.log"};
    assert_int_equal(session(missing, 1, NULL, 0, false, &s, err, sizeof(err)),
                     TRC_SESSION_IO);
    assert_non_null(strstr(err, "no-such-file.log"));

    char path[] = "/tmp/test_trc_replay_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "hello\nmigrate_pending_exact garbage\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    close(fd);
    const char *bad[] = {path};
    assert_int_equal(session(bad, 1, NULL, 0, true, &s, err, sizeof(err)),
                     TRC_SESSION_DATA);
    assert_non_null(strstr(err, ":2:"));
    assert_int_equal(session(bad, 1, NULL, 0, false, &s, err, sizeof(err)),
                     TRC_SESSION_EMPTY);
    assert_int_equal(s.r.stats.lines, 2);
    assert_int_equal(s.r.stats.malformed, 1);
    trc_session_free(&s);
    unlink(path);
}

static json_t *metrics_stub(const struct run_metrics *m)
{
    return json_string(m->policy);
}

/* The JSON document and the table of a session with counterfactuals. */
static void test_session_outputs(void **state)
{
    (void)state;
    const char *files[] = {DATA "01-vfio-vgpu-21GB-estimate-exact-spin.log"};
    const char *pol[] = {"nosuch-policy"};
    char err[512];
    struct trc_session s;
    assert_int_equal(session(files, 1, pol, 1, false, &s, err, sizeof(err)),
                     TRC_SESSION_OK);
    json_t *j = trc_replay_json(&s, 7, metrics_stub);
    assert_non_null(j);
    const char *first = json_object_iter_key(json_object_iter(j));
    assert_string_equal(first, "files");
    assert_string_equal(json_string_value(json_object_get(j, "verdict")),
                        "not-converging");
    assert_string_equal(json_string_value(json_object_get(j, "observed")),
                        "observed");
    json_t *cf = json_object_get(j, "counterfactual");
    assert_int_equal(json_array_size(cf), 2);
    assert_string_equal(json_string_value(json_array_get(cf, 0)), "qemu");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(cf, 1), "policy")),
        "nosuch-policy");
    assert_int_equal(json_integer_value(json_object_get(j, "run_id")), 7);
    json_decref(j);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    trc_replay_print_table(f, &s, 7);
    fclose(f);
    assert_non_null(strstr(buf, "Verdict: not-converging"));
    assert_non_null(strstr(buf, "Counterfactual (trace-derived inputs"));
    assert_non_null(strstr(buf, "nosuch-policy"));
    assert_non_null(strstr(buf, "error: "));
    assert_non_null(strstr(buf, "Stored as run 7."));
    free(buf);
    trc_session_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_01_exact_spin),
        cmocka_unit_test(test_03_threshold),
        cmocka_unit_test(test_04_immediate_switchover),
        cmocka_unit_test(test_11_downtime_breakdown),
        cmocka_unit_test(test_syncs_bandwidth_and_switchover),
        cmocka_unit_test(test_violations_with_lines),
        cmocka_unit_test(test_vfio_iteration_attribution),
        cmocka_unit_test(test_query_migrate_only),
        cmocka_unit_test(test_decimation_keeps_statistics),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_counterfactual_cached_stop_size),
        cmocka_unit_test(test_empty_and_garbage),
        cmocka_unit_test(test_session_counterfactuals),
        cmocka_unit_test(test_session_status),
        cmocka_unit_test(test_session_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
