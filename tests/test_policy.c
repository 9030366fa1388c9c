/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_policy.c — reporting variants and QEMU-setting policies on the
 * cases of the VFIO migration v2 thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"
#include "engine/engine.h"
#include "model/mig.h"
#include "run/scenario.h"
#include "tests/support/testutil.h"

static void load(const char *src, bool is_file, struct scenario *s,
                 const char *const *sets)
{
    tu_scenario(src, is_file, sets, s);
}

static void run(const struct scenario *s, const char *pol, struct run_result *r)
{
    tu_simulate(s, pol, true, r);
}

#define SEED "scenarios/seed-vfio-21g.json"

static void seed_reporting_variants(void **state)
{
    (void)state;
    struct scenario s;
    load(SEED, true, &s, NULL);
    struct run_result q, c, ni, av, lim;
    run(&s, "qemu", &q);
    run(&s, "cached-stop-size", &c);
    run(&s, "non-iterable-report", &ni);
    run(&s, "avail-switchover-bandwidth:80GB/s", &av);
    run(&s, "downtime-limit:30s", &lim);

    /* qemu 9.1 spins: exact() nearly every iteration, 10+/s */
    assert_int_equal(q.m.outcome, RUN_TIMEOUT);
    assert_true(q.m.exact_calls_per_s >= 10.0);
    assert_true(q.m.spin_cpu_ns > 40 * SIM_S);

    /* cached-stop-size removes the exact() spin (>= 10x fewer) but does
     * not converge at 300 ms */
    assert_int_equal(c.m.outcome, RUN_TIMEOUT);
    assert_true(c.m.exact_calls_per_s * 10.0 <= q.m.exact_calls_per_s);
    assert_true(c.m.bitmap_syncs * 10 <= q.m.bitmap_syncs);

    /* non-iterable-report stops the spin without changing the outcome */
    assert_int_equal(ni.m.outcome, q.m.outcome);
    assert_true(ni.m.exact_calls_per_s * 5.0 <= q.m.exact_calls_per_s);
    assert_true(ni.m.spin_cpu_ns * 10 <= q.m.spin_cpu_ns);

    /* avail-switchover-bandwidth, or a limit that covers 21 GB over the
     * link, converges */
    assert_int_equal(av.m.outcome, RUN_CONVERGED);
    assert_int_equal(lim.m.outcome, RUN_CONVERGED);
    /* the avail-switchover-bandwidth decision is made at 300 ms: the real
     * downtime over the 10 Gbit/s link violates it, and migsim says so */
    assert_true(av.m.downtime_violation);
    assert_false(lim.m.downtime_violation);

    run_result_free(&q);
    run_result_free(&c);
    run_result_free(&ni);
    run_result_free(&av);
    run_result_free(&lim);
}

/* The thread's stale-cache example: threshold 1 GB (avail-switchover-
 * bandwidth 10 GB/s x 100 ms), the device reports 2 GB, then drops to
 * 900 MB mid-migration. */
static const char *stale_json =
    "{\"qemu\":\"9.2\",\"vm\":{\"ram\":\"1GiB\",\"zero_fraction\":0.5},"
    "\"workload\":{\"kind\":\"uniform\",\"working_set\":\"128MiB\","
    "\"dirty_rate\":\"4MB/s\"},"
    "\"migration\":{\"downtime_limit\":\"100ms\",\"max_bandwidth\":"
    "\"1GB/s\",\"link_bandwidth\":\"10Gbit/s\","
    "\"avail_switchover_bandwidth\":\"10GB/s\",\"time_limit\":\"60s\","
    "\"sync_cost\":\"5ms\"},"
    "\"devices\":[{\"name\":\"gpu0\",\"stop_copy_size\":\"2GB\","
    "\"stop_copy_schedule\":[{\"at\":\"10s\",\"size\":\"900MB\"}]}]}";

static void stale_cache(void **state)
{
    (void)state;
    struct scenario s;
    load(stale_json, false, &s, NULL);
    struct run_result c, r, q;
    run(&s, "cached-stop-size", &c);
    run(&s, "refresh-stop-size:1s", &r);
    run(&s, "qemu", &q);
    assert_int_equal(c.m.outcome, RUN_TIMEOUT);
    assert_int_equal(c.m.exact_calls, 0);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    assert_int_equal(q.m.outcome, RUN_CONVERGED);
    /* both switch over soon after the drop at 10 s */
    assert_true(r.m.total_ns > 10 * SIM_S && r.m.total_ns < 13 * SIM_S);
    assert_true(q.m.total_ns > 10 * SIM_S && q.m.total_ns < 12 * SIM_S);
    run_result_free(&c);
    run_result_free(&r);
    run_result_free(&q);
}

/* stop-size-in-estimate pays one ioctl per estimate() but sees the drop
 * at once. */
static void size_in_estimate(void **state)
{
    (void)state;
    struct scenario s;
    load(stale_json, false, &s, NULL);
    struct run_result e;
    run(&s, "stop-size-in-estimate", &e);
    assert_int_equal(e.m.outcome, RUN_CONVERGED);
    assert_true(e.m.total_ns < 11 * SIM_S);
    run_result_free(&e);
}

/* Auto-converge lets a VM dirtying at 1.5x the bandwidth converge, with
 * the throttle visible in the series; plain QEMU does not converge. */
static void auto_converge(void **state)
{
    (void)state;
    static const char *json =
        "{\"qemu\":\"9.2\",\"vm\":{\"ram\":\"4GiB\",\"zero_fraction\":0.5},"
        "\"workload\":{\"kind\":\"sweep\",\"working_set\":\"2GiB\","
        "\"dirty_rate\":\"192MiB/s\"},"
        "\"migration\":{\"downtime_limit\":\"300ms\",\"max_bandwidth\":"
        "\"128MiB/s\",\"time_limit\":\"10min\"}}";
    struct scenario s;
    load(json, false, &s, NULL);
    struct run_result q, a;
    run(&s, "qemu", &q);
    run(&s, "auto-converge", &a);
    assert_int_equal(q.m.outcome, RUN_TIMEOUT);
    assert_int_equal(a.m.outcome, RUN_CONVERGED);
    assert_true(a.m.max_throttle_pct >= 30.0);
    bool seen = false;
    for (size_t i = 0; i < a.n_samples; i++) {
        if (a.samples[i].throttle_pct >= 20.0) {
            seen = true;
        }
    }
    assert_true(seen);
    run_result_free(&q);
    run_result_free(&a);
}

/* Specs: composition, errors named. */
static void specs(void **state)
{
    (void)state;
    struct scenario s;
    load(SEED, true, &s, NULL);
    struct pol_chain c;
    char err[256];
    assert_int_equal(pol_chain_setup(&c, "cached-stop-size+downtime-limit:2s",
                                     &s, err, sizeof(err)),
                     0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.report.mode, POL_REPORT_CACHED);
    assert_int_equal(s.downtime_limit_ns, 2 * SIM_S);
    pol_chain_free(&c);
    assert_int_equal(
        pol_chain_setup(&c, "qemu+cached-stop-size", &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "one reporting variant"));
    pol_chain_free(&c);
    assert_int_equal(pol_chain_setup(&c, "nosuch", &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nosuch"));
    pol_chain_free(&c);
    assert_int_equal(
        pol_chain_setup(&c, "refresh-stop-size:bogus", &s, err, sizeof(err)),
        -1);
    pol_chain_free(&c);
    s.qemu = QEMU_8_1;
    assert_int_equal(pol_chain_setup(&c, "avail-switchover-bandwidth:1GB/s", &s,
                                     err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "8.2"));
    pol_chain_free(&c);
}

/* Per-version reporting: 8.1-9.1 double count precopy sizes in exact(),
 * 9.2 does not (the pre-copy NIC reports more on 9.1). */
static void version_reporting(void **state)
{
    (void)state;
    struct scenario s;
    static const char *const sets[] = {"qemu=\"9.1\"", NULL};
    load("scenarios/precopy-nic-vf.json", true, &s, sets);
    struct run_result a;
    run(&s, "qemu", &a);
    s.qemu = QEMU_9_2;
    struct run_result b;
    run(&s, "qemu", &b);
    uint64_t max91 = 0, max92 = 0;
    for (size_t i = 0; i < a.n_samples; i++) {
        if (a.samples[i].exact_called &&
            a.samples[i].dev_reported_bytes[0] > max91) {
            max91 = a.samples[i].dev_reported_bytes[0];
        }
    }
    for (size_t i = 0; i < b.n_samples; i++) {
        if (b.samples[i].exact_called &&
            b.samples[i].dev_reported_bytes[0] > max92) {
            max92 = b.samples[i].dev_reported_bytes[0];
        }
    }
    assert_true(max91 > max92);
    run_result_free(&a);
    run_result_free(&b);
}

int main(void)
{
    sim_gsl_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_reporting_variants),
        cmocka_unit_test(stale_cache),
        cmocka_unit_test(size_in_estimate),
        cmocka_unit_test(auto_converge),
        cmocka_unit_test(specs),
        cmocka_unit_test(version_reporting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
