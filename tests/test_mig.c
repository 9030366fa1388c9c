/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_mig.c — the migration model against QEMU's rules, the closed
 * form, the seed case and determinism.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "model/mig.h"
#include "run/scenario.h"
#include "tests/support/testutil.h"

static void load(const char *json, struct scenario *s, const char *const *sets)
{
    tu_scenario(json, false, sets, s);
}

static void load_file(const char *path, struct scenario *s,
                      const char *const *sets)
{
    tu_scenario(path, true, sets, s);
}

static void run(const struct scenario *s, const char *pol, struct run_result *r)
{
    tu_simulate(s, pol, true, r);
}

/* data/traces/03: transferred 111570 in 100 ms at downtime-limit 300 ms
 * gives max_size 334710 (bandwidth printed as 1115, unrounded in use). */
static void threshold_matches_trace_03(void **state)
{
    (void)state;
    assert_int_equal(mig_threshold_bytes(QEMU_8_2, 111570, 100, 300, 0),
                     334710);
    assert_int_equal(mig_threshold_bytes(QEMU_10_0, 111570, 100, 300, 0),
                     334710);
    /* avail-switchover-bandwidth wins from 8.2 on, ignored before */
    assert_int_equal(
        mig_threshold_bytes(QEMU_8_2, 111570, 100, 300, 1000000000), 300000000);
    assert_int_equal(
        mig_threshold_bytes(QEMU_8_1, 111570, 100, 300, 1000000000), 334710);
}

static const char *const seed_path = "scenarios/seed-vfio-21g.json";

/* The seed case on QEMU 9.1: RAM converges, then every iteration calls
 * exact() with a bitmap sync and sees ~21 GB: no switchover within 60 s. */
static void seed_case_spins(void **state)
{
    (void)state;
    struct scenario s;
    load_file(seed_path, &s, NULL);
    assert_int_equal(s.qemu, QEMU_9_1);
    struct run_result r;
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    assert_true(r.m.total_ns >= 60 * SIM_S);
    /* after RAM converged (first 10 s), nearly every iteration calls
     * exact() and syncs */
    uint64_t it = 0, ex = 0;
    for (size_t i = 0; i < r.n_samples; i++) {
        if (r.samples[i].t_ns < 10 * SIM_S) {
            continue;
        }
        it++;
        ex += r.samples[i].exact_called;
    }
    assert_true(it > 400);
    assert_true(ex * 100 >= it * 95);
    assert_true(r.m.bitmap_syncs * 100 >= r.m.iterations * 85);
    /* the trace shows ~11-12 exact() per second */
    assert_true(r.m.exact_calls_per_s > 10.0 && r.m.exact_calls_per_s < 13.0);
    run_result_free(&r);
}

/* A downtime limit that covers the 21 GB (plus the RAM still pending at
 * the first exact()) at the measured link bandwidth converges, with a
 * downtime near 21 GB over the link. */
static void seed_case_converges_with_limit(void **state)
{
    (void)state;
    struct scenario s;
    static const char *const sets[] = {"migration.downtime_limit=\"30s\"",
                                       NULL};
    load_file(seed_path, &s, sets);
    struct run_result r;
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    double link_s = 21038628864.0 / (double)s.link_bandwidth_bps;
    assert_true((double)r.m.downtime_ns / 1e9 > link_s);
    assert_false(r.m.downtime_violation);
    run_result_free(&r);

    /* and one that does not cover it does not converge */
    static const char *const sets2[] = {"migration.downtime_limit=\"10s\"",
                                        NULL};
    load_file(seed_path, &s, sets2);
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    run_result_free(&r);
}

/* Constant dirty rate d below bandwidth b: the data found dirty at each
 * sync shrinks geometrically by d/b (sweep writes: every write is a new
 * page until the working set wraps).  While a pass is much longer than the
 * 100 ms window the ratio holds to a few per cent; at every sync the pages
 * found are exactly d x the time since the previous sync. */
static void closed_form_geometric(void **state)
{
    (void)state;
    static const char *json =
        "{\"qemu\":\"9.2\",\"vm\":{\"ram\":\"8GiB\",\"zero_fraction\":0},"
        "\"workload\":{\"kind\":\"sweep\",\"working_set\":\"8GiB\","
        "\"dirty_rate\":\"12800KiB/s\"},"
        "\"migration\":{\"downtime_limit\":\"1ms\",\"max_bandwidth\":"
        "\"128MiB/s\",\"link_bandwidth\":\"10Gbit/s\",\"time_limit\":"
        "\"5min\",\"sync_cost\":\"0ms\",\"sync_cost_per_gib\":\"0ms\"}}";
    struct scenario s;
    load(json, &s, NULL);
    struct run_result r;
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    double d = 12800.0 * 1024;
    double ratio = d / (128.0 * 1024 * 1024); /* 0.0977 */
    double prev = (double)(8ull << 30);
    int64_t prev_t = -1;
    int seen = 0;
    for (size_t i = 0; i < r.n_events; i++) {
        if (r.events[i].kind != RUN_EV_SYNC) {
            continue;
        }
        int64_t t = r.events[i].t_ns;
        double now = (double)r.events[i].value * 4096.0;
        if (now == 0) { /* the setup sync: everything is dirty anyway */
            prev_t = t;
            continue;
        }
        if (prev_t >= 0) {
            double expect = d * (double)(t - prev_t) / 1e9;
            assert_true(now > expect * 0.98 - 4096 &&
                        now < expect * 1.02 + 4096);
            if (seen < 2) {
                double got = now / prev;
                print_message("sync %d: %.0f bytes, ratio %.4f (d/b %.4f)\n",
                              seen + 1, now, got, ratio);
                assert_true(got > ratio * 0.9 && got < ratio * 1.1);
            }
            seen++;
        }
        prev = now;
        prev_t = t;
    }
    assert_true(seen >= 3);
    run_result_free(&r);
}

/* Same inputs, same fingerprint and results; another seed differs. */
static void determinism(void **state)
{
    (void)state;
    struct scenario s;
    load_file("scenarios/precopy-nic-vf.json", &s, NULL);
    struct run_result a, b, c;
    run(&s, "qemu", &a);
    run(&s, "qemu", &b);
    assert_int_equal(a.m.fingerprint, b.m.fingerprint);
    assert_int_equal(a.m.total_ns, b.m.total_ns);
    assert_int_equal(a.m.bytes_transferred, b.m.bytes_transferred);
    assert_int_equal(a.n_samples, b.n_samples);
    s.seed = 2;
    run(&s, "qemu", &c);
    assert_int_not_equal(a.m.fingerprint, c.m.fingerprint);
    run_result_free(&a);
    run_result_free(&b);
    run_result_free(&c);
}

/* Page-level and aggregate RAM modes agree on the same scenario. */
static void ram_modes_agree(void **state)
{
    (void)state;
    static const char *json =
        "{\"qemu\":\"9.2\",\"vm\":{\"ram\":\"8GiB\",\"zero_fraction\":0.5},"
        "\"workload\":{\"kind\":\"uniform\",\"working_set\":\"2GiB\","
        "\"dirty_rate\":\"40MiB/s\"},"
        "\"migration\":{\"downtime_limit\":\"300ms\",\"max_bandwidth\":"
        "\"256MiB/s\",\"time_limit\":\"10min\"}}";
    struct scenario s;
    load(json, &s, NULL);
    struct run_result p, a;
    run(&s, "qemu", &p);
    s.ram.mode = RAM_MODE_AGGREGATE;
    run(&s, "qemu", &a);
    assert_int_equal(p.m.outcome, RUN_CONVERGED);
    assert_int_equal(a.m.outcome, RUN_CONVERGED);
    double dt = (double)a.m.total_ns / (double)p.m.total_ns;
    double db = (double)a.m.bytes_transferred / (double)p.m.bytes_transferred;
    print_message(
        "page %.3f s %llu B, aggregate %.3f s %llu B\n",
        (double)p.m.total_ns / 1e9, (unsigned long long)p.m.bytes_transferred,
        (double)a.m.total_ns / 1e9, (unsigned long long)a.m.bytes_transferred);
    assert_true(dt > 0.95 && dt < 1.05);
    assert_true(db > 0.95 && db < 1.05);
    run_result_free(&p);
    run_result_free(&a);
}

/* The idle VM converges in one pass; downtime is the stop cost plus the
 * little that is left plus non-iterable state. */
static void idle_vm_converges(void **state)
{
    (void)state;
    struct scenario s;
    load_file("scenarios/idle-vm.json", &s, NULL);
    struct run_result r;
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    assert_true(r.m.downtime_ns < 300 * SIM_MS);
    assert_false(r.m.downtime_violation);
    run_result_free(&r);
}

/* A guest dirtying faster than max-bandwidth never converges. */
static void dirty_over_bandwidth_times_out(void **state)
{
    (void)state;
    struct scenario s;
    static const char *const sets[] = {"migration.time_limit=\"2min\"", NULL};
    load_file("scenarios/dirty-over-bandwidth.json", &s, sets);
    struct run_result r;
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    run_result_free(&r);
}

/* Switchover-ack: the pre-copy NIC cannot switch over before its initial
 * data was sent, and does converge. */
static void precopy_nic_converges_after_ack(void **state)
{
    (void)state;
    struct scenario s;
    load_file("scenarios/precopy-nic-vf.json", &s, NULL);
    struct run_result r;
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    assert_true(r.m.devices[0].precopy_bytes >= 180000000);
    bool acked = false;
    int64_t ack_t = 0, done_t = r.m.total_ns;
    for (size_t i = 0; i < r.n_events; i++) {
        if (strcmp(r.events[i].text, "switchover acked") == 0) {
            acked = true;
            ack_t = r.events[i].t_ns;
        }
    }
    assert_true(acked);
    assert_true(ack_t < done_t);
    run_result_free(&r);
}

/* Every status sequence the model produces is one QEMU performs, for
 * every version, with and without pause/postcopy/timeouts. */
static void status_sequences_valid(void **state)
{
    (void)state;
    static const char *const versions[] = {"7.2",  "8.0", "8.1", "8.2",
                                           "9.0",  "9.1", "9.2", "10.0",
                                           "10.1", "10.2"};
    static const char *const pols[] = {"qemu", "pause-before-switchover",
                                       "postcopy-after:2"};
    static const char *json =
        "{\"vm\":{\"ram\":\"1GiB\"},\"workload\":{\"kind\":\"uniform\","
        "\"working_set\":\"256MiB\",\"dirty_rate\":\"100MiB/s\"},"
        "\"migration\":{\"time_limit\":\"60s\"}}";
    for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
        for (size_t p = 0; p < sizeof(pols) / sizeof(pols[0]); p++) {
            char set[32];
            snprintf(set, sizeof(set), "qemu=\"%s\"", versions[v]);
            const char *const sets[] = {set, NULL};
            struct scenario s;
            load(json, &s, sets);
            struct run_result r;
            run(&s, pols[p], &r);
            for (size_t i = 0; i < r.n_events; i++) {
                if (strstr(r.events[i].text, "status violation")) {
                    fail_msg("%s %s: %s", versions[v], pols[p],
                             r.events[i].text);
                }
            }
            run_result_free(&r);
        }
    }
}

/* Issue 11: query-migrate's downtime (src_downtime_ns) waits for the
 * destination's load only with a return path open (return-path, or
 * implied by postcopy / switchover-ack); the full downtime has it always. */
static void return_path_in_src_downtime(void **state)
{
    (void)state;
    static const char *json =
        "{\"vm\":{\"ram\":\"1GiB\",\"non_iterable_load_time\":\"50ms\"},"
        "\"workload\":{\"kind\":\"idle\"},"
        "\"migration\":{\"time_limit\":\"60s\",\"rtt\":\"2ms\"}}";
    static const char *const rp_sets[][2] = {
        {"migration.return_path=false", NULL},
        {"migration.return_path=true", NULL},
        {"migration.postcopy=true", NULL},
    };
    struct run_metrics m[3];
    for (size_t i = 0; i < 3; i++) {
        struct scenario s;
        load(json, &s, rp_sets[i]);
        struct run_result r;
        run(&s, "qemu", &r);
        assert_int_equal(r.m.outcome, RUN_CONVERGED);
        m[i] = r.m;
        run_result_free(&r);
    }
    /* without: the source ends before the destination has loaded */
    assert_true(m[0].src_downtime_ns + 50 * SIM_MS <= m[0].downtime_ns);
    /* with: it waits for the load and half the round trip */
    assert_int_equal(m[1].src_downtime_ns, m[1].downtime_ns + 1 * SIM_MS);
    assert_int_equal(m[2].src_downtime_ns, m[2].downtime_ns + 1 * SIM_MS);
    assert_int_equal(m[0].downtime_ns, m[1].downtime_ns);
    /* the total is the source's: the completion waits likewise */
    assert_true(m[1].total_ns - m[0].total_ns >= 50 * SIM_MS);
}

/* Pinned fingerprints of canonical scenarios: a behaviour change shows up
 * here and must be a deliberate update. */
static void fingerprints_pinned(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        uint64_t fp;
    } pins[] = {
        {"scenarios/idle-vm.json", UINT64_C(0x60a76143acc197df)},
        {"scenarios/precopy-nic-vf.json", UINT64_C(0x49df004fc5559fe2)},
    };
    for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
        struct scenario s;
        load_file(pins[i].path, &s, NULL);
        struct run_result r;
        run(&s, "qemu", &r);
        if (r.m.fingerprint != pins[i].fp) {
            print_message("%s: fingerprint %016llx\n", pins[i].path,
                          (unsigned long long)r.m.fingerprint);
        }
        assert_int_equal(r.m.fingerprint, pins[i].fp);
        run_result_free(&r);
    }
}

/* Issue 17 item 1: a long non-converging run keeps a bounded series.  The
 * seed case never converges; 50 simulated hours are ~2.2 M iterations,
 * each calling exact() (so each offers a sample) and syncing (an event).
 * Before the decimation every sample up to 200 000 and every sync event
 * were kept (~350 MB); now at most MIG_DEFAULT_MAX_SAMPLES + 1 samples and
 * MIG_DEFAULT_MAX_EVENTS per repetitive stream, spread over the whole run
 * and ending at its last iteration. */
static void long_run_memory_bounded(void **state)
{
    (void)state;
    struct scenario s;
    static const char *const sets[] = {"migration.time_limit=\"50h\"",
                                       "sim.ram_mode=\"aggregate\"", NULL};
    load_file(seed_path, &s, sets);
    struct mig_options o;
    mig_options_default(&o);
    struct run_result r;
    char err[256];
    assert_int_equal(mig_simulate(&s, "qemu", &o, &r, err, sizeof(err)), 0);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    assert_true(r.m.iterations > 2000000);
    assert_true(r.n_samples <= MIG_DEFAULT_MAX_SAMPLES + 1);
    assert_true(r.n_samples >= MIG_DEFAULT_MAX_SAMPLES / 2);
    assert_true(r.n_events <= 4 * MIG_DEFAULT_MAX_EVENTS + 64);
    for (size_t i = 1; i < r.n_samples; i++) {
        assert_true(r.samples[i].t_ns > r.samples[i - 1].t_ns);
        assert_true(r.samples[i].iteration > r.samples[i - 1].iteration);
    }
    /* the series covers the run: it starts at the start, ends at the last
     * iteration, and has no gap much longer than the average spacing */
    assert_true(r.samples[0].t_ns < SIM_S);
    assert_int_equal(r.samples[r.n_samples - 1].iteration, r.m.iterations);
    int64_t avg = r.m.total_ns / (int64_t)r.n_samples;
    for (size_t i = 1; i < r.n_samples; i++) {
        assert_true(r.samples[i].t_ns - r.samples[i - 1].t_ns < 4 * avg);
    }
    size_t syncs = 0;
    bool limit_note = false;
    for (size_t i = 0; i < r.n_events; i++) {
        syncs += r.events[i].kind == RUN_EV_SYNC;
        limit_note |= strcmp(r.events[i].text, "time limit reached") == 0;
    }
    assert_true(syncs >= MIG_DEFAULT_MAX_EVENTS / 2);
    assert_true(syncs <= MIG_DEFAULT_MAX_EVENTS);
    assert_true(limit_note); /* one-off events are all kept */
    /* the metrics do not depend on the decimation */
    struct run_result r2;
    o.no_samples = o.no_events = true;
    assert_int_equal(mig_simulate(&s, "qemu", &o, &r2, err, sizeof(err)), 0);
    assert_int_equal(r2.m.fingerprint, r.m.fingerprint);
    assert_int_equal(r2.m.iterations, r.m.iterations);
    run_result_free(&r2);
    run_result_free(&r);
}

/* The decimation rule of run/result.h, exactly: offered samples 0..99 with
 * room for 8 keep the multiples of 16 and the newest (99); a repetitive
 * event stream keeps the multiples of its stride, other events all, in
 * their order. */
static void decimation_rule(void **state)
{
    (void)state;
    struct run_result r;
    run_result_init(&r);
    run_result_set_limits(&r, 8, 4);
    for (uint64_t k = 0; k < 100; k++) {
        struct run_sample x = {.t_ns = (int64_t)k, .iteration = k};
        assert_int_equal(run_result_add_sample(&r, &x), 0);
        assert_int_equal(run_result_newest_sample(&r)->iteration, k);
        /* the event stream: one always-kept event every 10 */
        assert_int_equal(
            run_result_add_event_rep(&r, 1, (int64_t)k, RUN_EV_SYNC, k, 0, "s"),
            0);
        if (k % 10 == 0) {
            assert_int_equal(
                run_result_add_event(&r, (int64_t)k, RUN_EV_NOTE, k, 0, "n"),
                0);
        }
    }
    assert_int_equal(r.n_samples, 7);
    assert_int_equal(run_result_flush(&r), 0);
    static const uint64_t want[] = {0, 16, 32, 48, 64, 80, 96, 99};
    assert_int_equal(r.n_samples, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(r.samples[i].iteration, want[i]);
    }
    /* stream 1 with room for 4: 0, 32, 64, 96 (stride 32) */
    static const uint64_t want_ev[] = {0,  0,  10, 20, 30, 32, 40,
                                       50, 60, 64, 70, 80, 90, 96};
    static const int note[] = {0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0};
    assert_int_equal(r.n_events, sizeof(want_ev) / sizeof(want_ev[0]));
    for (size_t i = 0; i < r.n_events; i++) {
        assert_int_equal(r.events[i].value, want_ev[i]);
        assert_int_equal(r.events[i].kind == RUN_EV_NOTE, note[i]);
    }
    run_result_free(&r);
}

/* migration.time_limit is capped at 30 days, with a message naming it. */
static void time_limit_capped(void **state)
{
    (void)state;
    char err[512];
    struct scn_doc *d = scn_doc_load(seed_path, err, sizeof(err));
    assert_non_null(d);
    struct scenario s;
    assert_int_equal(
        scn_doc_set(d, "migration.time_limit=\"720h\"", err, sizeof(err)), 0);
    assert_int_equal(scn_resolve(d, &s, err, sizeof(err)), 0);
    assert_int_equal(
        scn_doc_set(d, "migration.time_limit=\"721h\"", err, sizeof(err)), 0);
    assert_int_not_equal(scn_resolve(d, &s, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "migration.time_limit"));
    assert_non_null(strstr(err, "720h"));
    scn_doc_free(d);
}

int main(void)
{
    sim_gsl_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threshold_matches_trace_03),
        cmocka_unit_test(seed_case_spins),
        cmocka_unit_test(seed_case_converges_with_limit),
        cmocka_unit_test(closed_form_geometric),
        cmocka_unit_test(determinism),
        cmocka_unit_test(ram_modes_agree),
        cmocka_unit_test(idle_vm_converges),
        cmocka_unit_test(dirty_over_bandwidth_times_out),
        cmocka_unit_test(precopy_nic_converges_after_ack),
        cmocka_unit_test(status_sequences_valid),
        cmocka_unit_test(fingerprints_pinned),
        cmocka_unit_test(return_path_in_src_downtime),
        cmocka_unit_test(long_run_memory_bounded),
        cmocka_unit_test(decimation_rule),
        cmocka_unit_test(time_limit_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
