/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_plan.c — the planner against closed forms: the seed case's
 * smallest converging downtime-limit, a RAM-only frontier, a time-budget
 * edge, non-monotone and stochastic scenarios; grids and unit texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "plan/plan.h"
#include "plan/plan_priv.h"
#include "engine/engine.h"
#include "model/mig.h"
#include "run/scenario.h"
#include "base/units.h"

#define SEED "scenarios/seed-vfio-21g.json"
#define GIB  (UINT64_C(1) << 30)

static struct scn_doc *doc_str(const char *json)
{
    char err[512];
    struct scn_doc *d = scn_doc_parse(json, "test", err, sizeof(err));
    if (!d) {
        fail_msg("%s", err);
    }
    return d;
}

static void plan_ok(const struct plan_cfg *c, struct plan_result *r)
{
    char err[512];
    if (plan_run(c, r, err, sizeof(err))) {
        fail_msg("plan_run: %s", err);
    }
}

/* Plan a scenario (JSON text) for policy qemu on two threads. */
static struct scn_doc *plan_qemu(const char *json, unsigned seeds,
                                 int64_t max_total_ns, struct plan_result *r)
{
    struct scn_doc *d = doc_str(json);
    const char *pol[] = {"qemu"};
    struct plan_cfg c = {
        .base = d,
        .policies = pol,
        .n_policies = 1,
        .jobs = 2,
        .seeds = seeds,
        .max_total_ns = max_total_ns,
    };
    plan_ok(&c, r);
    return d;
}

/* One simulation of the planner's scenario at a limit (ms) and seed. */
static struct run_metrics sim_one(const struct scenario *base,
                                  const char *policy, int64_t limit_ms,
                                  uint64_t seed, uint64_t max_bw)
{
    struct scenario s = *base;
    s.downtime_limit_ns = limit_ms * SIM_MS;
    s.seed = seed;
    if (max_bw) {
        s.max_bandwidth_bps = max_bw;
    }
    struct mig_options o;
    mig_options_default(&o);
    o.no_samples = o.no_events = true;
    struct run_result r;
    char err[512];
    if (mig_simulate(&s, policy, &o, &r, err, sizeof(err))) {
        fail_msg("%s", err);
    }
    struct run_metrics m = r.m;
    run_result_free(&r);
    return m;
}

static bool ok_within(const struct run_metrics *m, int64_t budget_ns)
{
    return m->outcome == RUN_CONVERGED && m->total_ns <= budget_ns;
}

static void near(double got, double want, double rel, const char *what)
{
    if (!(fabs(got - want) <= rel * fabs(want))) {
        fail_msg("%s: %.6g, want %.6g within %.3g%%", what, got, want,
                 rel * 100);
    }
}

static void between(double got, double lo, double hi, const char *what)
{
    if (!(got >= lo && got <= hi)) {
        fail_msg("%s: %.6g not in [%.6g, %.6g]", what, got, lo, hi);
    }
}

/* ---- grids -------------------------------------------------------------- */

static void expect_values(const char *list, bool pol, const char *const *want)
{
    char **v;
    size_t n;
    char err[300];
    if (plan_values_parse(list, pol, &v, &n, err, sizeof(err))) {
        fail_msg("%s: %s", list, err);
    }
    size_t k = 0;
    while (want[k]) {
        k++;
    }
    if (n != k) {
        fail_msg("%s: %zu values, want %zu (first '%s')", list, n, k, v[0]);
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(v[i], want[i]);
        free(v[i]);
    }
    free(v);
}

static void grid_ranges(void **state)
{
    (void)state;
    expect_values("100ms..500ms:100ms", false,
                  (const char *const[]){"100ms", "200ms", "300ms", "400ms",
                                        "500ms", NULL});
    /* B off the step is not included; units as large as stay exact */
    expect_values(
        "900ms..2s:300ms", false,
        (const char *const[]){"900ms", "1200ms", "1500ms", "1800ms", NULL});
    expect_values("1Gbit/s..4Gbit/s:1Gbit/s", false,
                  (const char *const[]){"1Gbit/s", "2Gbit/s", "3Gbit/s",
                                        "4Gbit/s", NULL});
    expect_values(
        "64MiB/s..256MiB/s*2", false,
        (const char *const[]){"64MiB/s", "128MiB/s", "256MiB/s", NULL});
    expect_values("1GiB..3GiB:512MiB", false,
                  (const char *const[]){"1GiB", "1536MiB", "2GiB", "2560MiB",
                                        "3GiB", NULL});
    expect_values("1..10:4", false, (const char *const[]){"1", "5", "9", NULL});
    expect_values("0.1..0.3:0.1", false,
                  (const char *const[]){"0.1", "0.2", "0.3", NULL});
    expect_values("1ms..1s*10", false,
                  (const char *const[]){"1ms", "10ms", "100ms", "1s", NULL});
    /* literals as --set takes them, JSON with commas kept whole */
    expect_values("300ms, true ,{\"a\":1,\"b\":2},\"x..y:z\"", false,
                  (const char *const[]){"300ms", "true", "{\"a\":1,\"b\":2}",
                                        "\"x..y:z\"", NULL});
    expect_values("9.1,100ms..200ms:100ms", false,
                  (const char *const[]){"9.1", "100ms", "200ms", NULL});
}

static void grid_policy_axis(void **state)
{
    (void)state;
    expect_values("qemu,cached-stop-size", true,
                  (const char *const[]){"qemu", "cached-stop-size", NULL});
    /* commas inside a spec's arguments stay with it */
    expect_values(
        "qemu,auto-converge:initial=30,increment=20,"
        "avail-switchover-bandwidth:10Gbit/s",
        true,
        (const char *const[]){"qemu", "auto-converge:initial=30,increment=20",
                              "avail-switchover-bandwidth:10Gbit/s", NULL});
    expect_values("cached-stop-size+auto-converge:initial=30,increment=20;"
                  "qemu",
                  true,
                  (const char *const[]){"cached-stop-size+auto-converge:"
                                        "initial=30,increment=20",
                                        "qemu", NULL});
}

static void grid_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "100ms..1GiB:1ms", /* kinds differ */
        "1s..100ms:100ms", /* A > B */
        "1ms..1s:0ms",     /* step 0 */
        "1ms..1s",         /* no step */
        "1ms..1s*1",       /* factor not > 1 */
        "1ms..1s*2ms",     /* factor with a unit */
        "fast..slow:1",    /* not a value */
        "1,,2",            /* empty item */
        "0..20000000:1",   /* too many values */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char **v;
        size_t n;
        char err[300] = "";
        if (plan_values_parse(bad[i], false, &v, &n, err, sizeof(err)) == 0) {
            fail_msg("'%s' was accepted", bad[i]);
        }
        assert_true(err[0] != '\0');
    }
    struct plan_grid g;
    plan_grid_init(&g);
    char err[300];
    assert_int_equal(plan_grid_add(&g, "noequals", err, sizeof(err)), -1);
    assert_int_equal(plan_grid_add(&g, "=1,2", err, sizeof(err)), -1);
    assert_int_equal(plan_grid_add(&g, "a=1,2", err, sizeof(err)), 0);
    assert_int_equal(plan_grid_add(&g, "b=x,y,z", err, sizeof(err)), 0);
    assert_int_equal(plan_grid_add(&g, "a=3", err, sizeof(err)), 0);
    assert_int_equal(g.n_axes, 2);
    assert_int_equal(g.axes[0].n, 3); /* appended */
    assert_int_equal(plan_grid_cells(&g), 9);
    size_t c[PLAN_MAX_AXES];
    plan_grid_coords(&g, 5, c); /* first axis slowest */
    assert_int_equal(c[0], 1);
    assert_int_equal(c[1], 2);
    plan_grid_free(&g);
}

static void unit_texts_exact(void **state)
{
    (void)state;
    char b[48], err[200];
    static const int64_t times[] = {
        1,         999,         1000,          1500000,
        300000000, 20167000000, 3600000000000, 5400000000000};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int64_t back;
        plan_fmt_time(times[i], b, sizeof(b));
        assert_int_equal(units_parse_time(b, 0, &back, err, sizeof(err)), 0);
        assert_int_equal(back, times[i]);
    }
    assert_string_equal(plan_fmt_time(20167 * SIM_MS, b, sizeof(b)), "20167ms");
    assert_string_equal(plan_fmt_time(90 * SIM_S, b, sizeof(b)), "90s");
    static const uint64_t sizes[] = {1,       4096,          21038628864ULL,
                                     3 * GIB, 1536ULL << 20, 1000000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t back;
        plan_fmt_size(sizes[i], b, sizeof(b));
        assert_int_equal(units_parse_size(b, &back, err, sizeof(err)), 0);
        assert_int_equal(back, sizes[i]);
    }
    static const uint64_t rates[] = {1,      1250000000ULL, 134217728ULL,
                                     125000, 31250000,      1234567};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        uint64_t back;
        plan_fmt_rate(rates[i], b, sizeof(b));
        assert_int_equal(units_parse_rate(b, &back, err, sizeof(err)), 0);
        assert_int_equal(back, rates[i]);
    }
    assert_string_equal(plan_fmt_rate(1250000000ULL, b, sizeof(b)), "10Gbit/s");
    assert_string_equal(plan_fmt_rate(134217728ULL, b, sizeof(b)), "128MiB/s");
}

static void stats_gsl(void **state)
{
    (void)state;
    const double v[] = {1, 2, 3, 4};
    struct plan_stat s;
    plan_stat_compute(&s, v, 4);
    near(s.mean, 2.5, 1e-12, "mean");
    near(s.sd, sqrt(5.0 / 3.0), 1e-12, "sd");
    /* t(0.975, 3) = 3.182446305 */
    near(s.ci_hi - s.mean, 3.182446305 * sqrt(5.0 / 3.0) / 2, 1e-8, "ci");
    assert_true(s.min == 1 && s.max == 4);
    plan_stat_compute(&s, v, 1);
    assert_true(s.sd == 0 && s.ci_lo == 1 && s.ci_hi == 1);
    plan_stat_compute(&s, v, 0);
    assert_true(isnan(s.mean));
}

/* ---- the seed case ------------------------------------------------------ */

/*
 * What the model needs on the seed case (QEMU 9.1, model/mig.c): the first
 * exact() runs once the threshold (bandwidth of the first 100 ms window x
 * limit) exceeds the RAM estimate; it syncs the RAM (80 ms) and reads the
 * device's 21 GB.  If RAM still pending + stop-copy size < threshold the
 * switchover starts there; otherwise the thread spins in exact() and the
 * measured bandwidth, hence the threshold, collapses: it never converges.
 * So
 *   L_min = (M - P1 + S) / B,    P1 = 0.1 s x B x 4096/4104
 * with M = 4 GiB RAM, S = 21 038 628 864 B, B = 10 Gbit/s = link =
 * max-bandwidth, P1 the page payload sent in the first window (4096-byte
 * pages with an 8-byte header).  The downtime then is
 *   stop (5 ms + 8 x 1 ms) + final sync 80 ms + (M - P1) x 4104/4096 / B
 *   + S / B + device load 500 ms + non-iterable load 10 ms
 * (the non-iterable save and transfer hide under the device load).  The
 * issue's "stop-copy size over link bandwidth plus device and stop costs"
 * (17.35 s) is the downtime part of it; the limit must also cover the RAM
 * still pending at that first exact().  Both within 1 %.
 */
static void seed_case_limit(void **state)
{
    (void)state;
    char err[512];
    struct scn_doc *d = scn_doc_load(SEED, err, sizeof(err));
    if (!d) {
        fail_msg("%s", err);
    }
    const char *pol[] = {"qemu"};
    struct plan_cfg c = {
        .base = d,
        .policies = pol,
        .n_policies = 1,
        .jobs = 2,
    };
    struct plan_result r;
    plan_ok(&c, &r);
    const double M = 4.0 * (double)GIB, S = 21038628864.0, B = 1.25e9;
    const double P1 = 0.1 * B * 4096.0 / 4104.0;
    double want_ms = (M - P1 + S) / B * 1e3;
    const struct plan_policy *p = &r.pol[0];
    assert_true(p->found);
    assert_true(p->monotone);
    near((double)p->min_limit_ns / 1e6, want_ms, 0.01, "smallest limit");
    double down_ms =
        (0.013 + 0.080 + (M - P1) * 4104.0 / 4096.0 / B + S / B + 0.5 + 0.010) *
        1e3;
    near(p->downtime_ms.mean, down_ms, 0.01, "expected downtime");
    /* the naive figure is not what the model needs */
    assert_true(fabs((double)p->min_limit_ns / 1e6 - (S / B + 0.513) * 1e3) >
                0.1 * want_ms);
    /* the edge: 1 ms less does not converge within 10 min, the answer does */
    int64_t L = p->min_limit_ns / SIM_MS;
    struct run_metrics below = sim_one(&r.scn, "qemu", L - 1, r.scn.seed, 0);
    struct run_metrics at = sim_one(&r.scn, "qemu", L, r.scn.seed, 0);
    assert_false(ok_within(&below, 600 * SIM_S));
    assert_true(ok_within(&at, 600 * SIM_S));
    /* 20 s of downtime is over the 1 s budget: nothing meets both */
    assert_false(p->meets);
    assert_int_equal(r.best, -1);
    near(r.avail_switchover_bps, B, 1e-9, "switchover throughput = link");
    assert_false(r.bw_found); /* no bandwidth helps at 300 ms */
    plan_result_free(&r);
    scn_doc_free(d);
}

/* ---- RAM only, constant dirty rate -------------------------------------- */

/*
 * 8 GiB, every page written by a sequential sweep at d = 31.25 MB/s (so
 * every write dirties a page already sent: no overlap), link 1 Gbit/s with
 * no max-bandwidth (the thread sends back to back), bitmap syncs free.
 * b' = B x 4096/4104 is the page payload rate, rho = d / b'.
 *
 * Bytes sent = RAM + bytes dirtied - bytes left at the switchover, so the
 * precopy time is T = (M - R) / (b' - d) whatever the pass structure, with
 * R the RAM pending at the switchover.  The threshold is theta = B x L.
 *   Small limits (theta under a fifth of one 50 ms pass, L <= 10 ms): QEMU
 *   syncs when a pass has drained the bitmap, each pass shrinks by rho:
 *   R = M rho^n, n the first pass with M rho^n < theta.
 *   Large limits (theta over one pass, L >= 100 ms): once the bitmap is
 *   under theta every iteration syncs and the pending shrinks by
 *   q = 50 ms x (b' - d) per pass until under theta: R in [theta - q,
 *   theta].
 * downtime = VM stop 9 ms + R x 4104/4096 / B + non-iterable (5 ms save +
 * 1 MiB / B + 10 ms load); total = setup 20 ms + T + downtime + rtt/2.
 * Tolerances: geometric downtime 0.5 ms, totals 0.2 % (the 20 us per
 * pass and 8-byte end-of-section the model also charges); large limits:
 * the [theta - q, theta] band plus the same.
 */
static const char *const RAM_ONLY =
    "{\"name\": \"ram only\", \"qemu\": \"9.2\", \"seed\": 1,"
    " \"vm\": {\"ram\": \"8GiB\", \"zero_fraction\": 0, \"vcpus\": 4},"
    " \"workload\": {\"kind\": \"sweep\", \"working_set\": \"8GiB\","
    "  \"dirty_rate\": \"31.25MB/s\"},"
    " \"migration\": {\"downtime_limit\": \"300ms\", \"max_bandwidth\": "
    "\"0B/s\", \"link_bandwidth\": \"1Gbit/s\", \"sync_cost\": \"0ms\","
    "  \"sync_cost_per_gib\": \"0ms\"},"
    " \"sim\": {\"ram_mode\": \"aggregate\"}}";

struct cf {
    double M, B, bp, d, rho, fixed, q;
};

static struct cf closed_form(void)
{
    struct cf c;
    c.M = 8.0 * (double)GIB;
    c.B = 125e6;
    c.bp = c.B * 4096.0 / 4104.0;
    c.d = 31.25e6;
    c.rho = c.d / c.bp;
    c.fixed = 0.009 + 0.005 + (double)(1 << 20) / c.B + 0.010;
    c.q = 0.05 * (c.bp - c.d);
    return c;
}

static void ram_only_frontier(void **state)
{
    (void)state;
    struct scn_doc *d = doc_str(RAM_ONLY);
    static const int64_t lim_ms[] = {1,   2,    5,    8,    100,   200,
                                     500, 1000, 2000, 5000, 10000, 20000};
    size_t n = sizeof(lim_ms) / sizeof(lim_ms[0]);
    int64_t fr[sizeof(lim_ms) / sizeof(lim_ms[0])];
    for (size_t i = 0; i < n; i++) {
        fr[i] = lim_ms[i] * SIM_MS;
    }
    const char *pol[] = {"qemu"};
    struct plan_cfg c = {
        .base = d,
        .policies = pol,
        .n_policies = 1,
        .jobs = 2,
        .frontier_ns = fr,
        .n_frontier = n,
    };
    struct plan_result r;
    plan_ok(&c, &r);
    assert_false(r.stochastic);
    const struct plan_policy *p = &r.pol[0];
    assert_true(p->found);
    assert_int_equal(p->min_limit_ns, SIM_MS); /* converges at 1 ms */
    assert_int_equal(p->n_frontier, n);        /* 1 ms is a frontier value */
    struct cf k = closed_form();
    for (size_t i = 0; i < n; i++) {
        const struct plan_frontier_row *w = &p->frontier[i];
        double L = (double)lim_ms[i] / 1e3, th = k.B * L;
        char what[64];
        assert_int_equal(w->limit_ns, lim_ms[i] * SIM_MS);
        assert_int_equal(w->n_ok, 1);
        if (lim_ms[i] <= 10) {
            double R = k.M;
            while (R >= th) {
                R *= k.rho;
            }
            double down = k.fixed + R * 4104.0 / 4096.0 / k.B;
            double T = (k.M - R) / (k.bp - k.d);
            snprintf(what, sizeof(what), "downtime at %" PRId64 " ms",
                     lim_ms[i]);
            between(w->downtime_ms, down * 1e3 - 0.5, down * 1e3 + 0.5, what);
            snprintf(what, sizeof(what), "total at %" PRId64 " ms", lim_ms[i]);
            near(w->total_ms, (0.020 + T + down + 0.0001) * 1e3, 0.002, what);
        } else {
            double dlo = k.fixed + (th - k.q) * 4104.0 / 4096.0 / k.B;
            double dhi = k.fixed + th * 4104.0 / 4096.0 / k.B;
            snprintf(what, sizeof(what), "downtime at %" PRId64 " ms",
                     lim_ms[i]);
            between(w->downtime_ms, dlo * 1e3 - 0.5, dhi * 1e3 + 0.5, what);
            double tlo = 0.020 + (k.M - th) / (k.bp - k.d) + dlo;
            double thi = 0.020 + (k.M - th + k.q) / (k.bp - k.d) + dhi;
            snprintf(what, sizeof(what), "total at %" PRId64 " ms", lim_ms[i]);
            between(w->total_ms, tlo * 1e3 * 0.998, thi * 1e3 * 1.002, what);
        }
    }
    plan_result_free(&r);
    scn_doc_free(d);
}

/*
 * With an 80 s budget the totals above (92 s at small limits, falling as
 * theta grows) put the smallest limit where setup + (M - B L)/(b' - d) +
 * fixed + L x 4104/4096 + rtt/2 = 80 s: L = 35.59 s by the closed form
 * (within 0.5 %: R sits up to q under theta); and the planner's answer is
 * the exact edge of the simulation.
 */
static void ram_only_time_budget(void **state)
{
    (void)state;
    struct scn_doc *d = doc_str(RAM_ONLY);
    const char *pol[] = {"qemu"};
    struct plan_cfg c = {
        .base = d,
        .policies = pol,
        .n_policies = 1,
        .jobs = 2,
        .max_total_ns = 80 * SIM_S,
        .at_limit_ns = 300 * SIM_MS,
    };
    struct plan_result r;
    plan_ok(&c, &r);
    struct cf k = closed_form();
    double a = k.B / (k.bp - k.d) - 4104.0 / 4096.0; /* -dtotal/dL */
    double L = (0.020 + k.M / (k.bp - k.d) + k.fixed + 0.0001 - 80.0) / a;
    const struct plan_policy *p = &r.pol[0];
    assert_true(p->found && p->monotone);
    near((double)p->min_limit_ns / 1e9, L, 0.005, "limit for 80 s");
    int64_t ms = p->min_limit_ns / SIM_MS;
    struct run_metrics below = sim_one(&r.scn, "qemu", ms - 1, r.scn.seed, 0);
    struct run_metrics at = sim_one(&r.scn, "qemu", ms, r.scn.seed, 0);
    assert_false(ok_within(&below, 80 * SIM_S));
    assert_true(ok_within(&at, 80 * SIM_S));
    assert_true(p->total_ms.mean <= 80e3);
    /* ~35 s of downtime: over the default 1 s budget */
    assert_false(p->meets);

    /* even the whole link (1 Gbit/s) does not make it in 80 s at 300 ms */
    assert_false(r.bw_found);
    assert_non_null(strstr(r.bw_note, "even at"));
    plan_result_free(&r);

    /*
     * max-bandwidth needed at 300 ms for 120 s: the thread now sends at
     * the max-bandwidth b (wire) in 100 ms windows, so T = (M - R) / (b x
     * 4096/4104 - d) with R small: b >= (M / T + d) x 4104/4096 with T =
     * 120 s less setup and downtime, 103 MB/s; within 2 % (the windows),
     * and the answer is the simulation's edge to 1 MiB/s.
     */
    c.max_total_ns = 120 * SIM_S;
    plan_ok(&c, &r);
    assert_true(r.bw_found);
    double bw_cf = (k.M / (120.0 - 0.020 - 0.035) + k.d) * 4104.0 / 4096.0;
    near((double)r.max_bandwidth_needed_bps, bw_cf, 0.02, "max-bandwidth");
    uint64_t mib = r.max_bandwidth_needed_bps >> 20;
    struct run_metrics bl =
        sim_one(&r.scn, "qemu", 300, r.scn.seed, (mib - 1) << 20);
    struct run_metrics ba = sim_one(&r.scn, "qemu", 300, r.scn.seed, mib << 20);
    assert_false(ok_within(&bl, 120 * SIM_S));
    assert_true(ok_within(&ba, 120 * SIM_S));
    plan_result_free(&r);
    scn_doc_free(d);
}

/*
 * Not monotone: a device whose 21 GB only exact() reports, nothing left to
 * dirty.  After the RAM is sent the thread spins in exact() and the
 * measured bandwidth shrinks to a few bytes per window; with a limit of a
 * few ms the threshold truncates to 0, estimate() says 0 pending and
 * QEMU's "pending == 0" switches over (with 21 GB unreported), while at
 * 20 ms .. 20 s the threshold stays above 0 and it spins until the budget.
 * The planner must say so and answer the limit above which it converges.
 */
static void non_monotone(void **state)
{
    (void)state;
    struct plan_result r;
    struct scn_doc *d = plan_qemu(
        "{\"name\": \"exact-only 21 GB\", \"qemu\": \"9.1\","
        " \"vm\": {\"ram\": \"4GiB\"},"
        " \"workload\": {\"kind\": \"uniform\", \"working_set\": \"1GiB\","
        "  \"dirty_rate\": \"0B/s\"},"
        " \"migration\": {\"max_bandwidth\": \"10Gbit/s\","
        "  \"link_bandwidth\": \"10Gbit/s\", \"sync_cost\": \"80ms\","
        "  \"sync_cost_per_gib\": \"0ms\"},"
        " \"devices\": [{\"name\": \"gpu\", \"stop_copy_size\": "
        "21038628864}]}",
        0, 0, &r);
    const struct plan_policy *p = &r.pol[0];
    assert_true(p->found);
    assert_false(p->monotone);
    assert_non_null(strstr(p->note, "not monotone"));
    bool low_ok = false, mid_fail = false;
    for (size_t i = 0; i < p->n_frontier; i++) {
        const struct plan_frontier_row *w = &p->frontier[i];
        if (w->limit_ns < p->min_limit_ns && w->n_ok && !mid_fail) {
            low_ok = true;
        }
        if (low_ok && w->limit_ns < p->min_limit_ns && !w->n_ok) {
            mid_fail = true;
        }
        if (w->limit_ns >= p->min_limit_ns) {
            assert_int_equal(w->n_ok, w->n_runs); /* all above converge */
        }
    }
    assert_true(low_ok && mid_fail);
    assert_true(p->min_limit_ns > 20 * SIM_S);
    int64_t L = p->min_limit_ns / SIM_MS;
    struct run_metrics below = sim_one(&r.scn, "qemu", L - 1, r.scn.seed, 0);
    assert_false(ok_within(&below, 600 * SIM_S));
    plan_result_free(&r);
    scn_doc_free(d);
}

static const char *const RANDOM_WRITES =
    "{\"name\": \"random writes\", \"qemu\": \"9.2\", \"seed\": 7,"
    " \"sim\": {\"ram_mode\": \"page\"},"
    " \"migration\": {\"max_bandwidth\": \"128MiB/s\", \"sync_cost\": "
    "\"1ms\", \"sync_cost_per_gib\": \"0ms\", \"link_bandwidth\": "
    "\"10Gbit/s\"},"
    " \"vm\": {\"ram\": \"512MiB\", \"zero_fraction\": 0, \"vcpus\": 2},"
    " \"workload\": {\"kind\": \"uniform\", \"working_set\": \"128MiB\","
    " \"dirty_rate\": \"96MiB/s\"}}";

/* Random page writes (page mode): results differ by seed. */
static void stochastic_seeds(void **state)
{
    (void)state;
    struct plan_result r;
    struct scn_doc *d = plan_qemu(RANDOM_WRITES, 6, 5 * SIM_S, &r);
    assert_true(r.stochastic);
    assert_false(r.aggregate); /* the scenario asks for page mode */
    assert_int_equal(r.seeds, 6);
    const struct plan_policy *p = &r.pol[0];
    assert_true(p->found);
    assert_int_equal(p->seed_limit_ms.n, 6);
    /* the answer covers every seed: the largest per-seed limit */
    near((double)p->min_limit_ns / 1e6, p->seed_limit_ms.max, 1e-12, "max");
    assert_true(p->seed_limit_ms.sd > 0); /* they do differ */
    assert_true(p->seed_limit_ms.ci_lo <= p->seed_limit_ms.mean &&
                p->seed_limit_ms.mean <= p->seed_limit_ms.ci_hi);
    assert_int_equal(p->n_ok, 6);
    assert_int_equal(p->n_seeds, 6);
    /* Clopper-Pearson with 6 of 6: (0.025)^(1/6) */
    near(p->p_lo, pow(0.025, 1.0 / 6.0), 1e-6, "CP lower bound");
    assert_true(p->p_hi == 1.0);
    assert_int_equal(p->downtime_ms.n, 6);
    /* every seed's own edge is exact: at the answer it converges, and at
     * its per-seed minimum - 1 ms (found by bisection) at least one does
     * not */
    int64_t L = p->min_limit_ns / SIM_MS;
    unsigned fails_below = 0;
    for (unsigned j = 0; j < 6; j++) {
        struct run_metrics at = sim_one(&r.scn, "qemu", L, r.scn.seed + j, 0);
        assert_true(ok_within(&at, 5 * SIM_S));
        struct run_metrics b =
            sim_one(&r.scn, "qemu", L - 1, r.scn.seed + j, 0);
        fails_below += !ok_within(&b, 5 * SIM_S);
    }
    assert_true(fails_below >= 1);
    plan_result_free(&r);
    scn_doc_free(d);
}

static void switchover_throughput(void **state)
{
    (void)state;
    struct scenario s;
    scn_defaults(&s);
    s.link_bandwidth_bps = 1000000000;
    s.n_devices = 2;
    s.devices[0].stop_copy_bytes = 4000000000;
    s.devices[0].read_bps = 500000000; /* 8 s */
    s.devices[1].stop_copy_bytes = 2000000000;
    s.devices[1].read_bps = 0; /* link: 2 s */
    s.devices[0].config_bytes = s.devices[1].config_bytes = 0;
    /* no run: the devices alone, 6 GB in 10 s */
    near(plan_switchover_bps(&s, NULL), 6e8, 1e-12, "devices only");
    struct run_metrics m;
    memset(&m, 0, sizeof(m));
    m.outcome = RUN_CONVERGED;
    m.n_devices = 2;
    m.devices[0].stop_copy_bytes = 4000000000;
    m.devices[1].stop_copy_bytes = 2000000000;
    m.downtime_bytes = 6000000000ULL + 1000000000ULL + s.non_iterable_bytes;
    /* + 1 GB of RAM at the link: 7 GB + ni in 11 s + ni/link */
    double ni = (double)s.non_iterable_bytes;
    near(plan_switchover_bps(&s, &m), (7e9 + ni) / (11.0 + ni / 1e9), 1e-12,
         "with RAM");
}

/* Safe advice (issue 14): the margin over the smallest converging limit,
 * the floor at the limit in force when every limit converges, Nova's
 * minimum, QEMU's maximum, and refusal on an inconclusive basis. */
static void safe_advice(void **state)
{
    (void)state;
    char err[512];
    /* the seed case: 20167 ms x 1.25 = 25208.75 -> 25209 ms, checked */
    struct scn_doc *d = scn_doc_load(SEED, err, sizeof(err));
    assert_non_null(d);
    const char *pol[] = {"qemu"};
    struct plan_cfg c = {.base = d,
                         .policies = pol,
                         .n_policies = 1,
                         .jobs = 2,
                         .max_downtime_ns = 30 * SIM_S};
    struct plan_result r;
    plan_ok(&c, &r);
    assert_int_equal(r.pol[0].min_limit_ns, 20167 * SIM_MS);
    assert_true(r.advice.ok);
    assert_true(r.advice.safety == PLAN_DEFAULT_SAFETY);
    assert_int_equal(r.advice.value_ns, 25209 * SIM_MS);
    assert_int_equal(r.advice.n_ok, r.advice.n_seeds);
    plan_result_free(&r);
    /* a margin over QEMU's maximum is cut to 2000 s: a 2 TB device needs
     * about 1600 s, x 1.5 is over 2000 s */
    struct scn_doc *big = scn_doc_copy(d);
    assert_int_equal(scn_doc_set(big, "devices.0.stop_copy_size=2000000000000",
                                 err, sizeof(err)),
                     0);
    struct plan_cfg cb = c;
    cb.base = big;
    cb.safety = 1.5;
    cb.max_total_ns = 7200 * SIM_S;
    cb.max_downtime_ns = 3600 * SIM_S;
    plan_ok(&cb, &r);
    scn_doc_free(big);
    assert_true(r.pol[0].min_limit_ns * 3 / 2 > 2000 * SIM_S);
    assert_true(r.advice.ok);
    assert_int_equal(r.advice.value_ns, 2000 * SIM_S);
    assert_non_null(strstr(r.advice.value_why, "maximum"));
    plan_result_free(&r);
    /* an inconclusive replay verdict: refused, no command */
    struct plan_basis b = {.from_trace = true, .inconclusive = true};
    snprintf(b.verdict, sizeof(b.verdict), "inconclusive");
    c.safety = 0;
    c.basis = &b;
    plan_ok(&c, &r);
    assert_false(r.advice.ok);
    assert_non_null(strstr(r.advice.reason, "inconclusive"));
    json_t *qmp, *virsh;
    plan_commands(&r, &qmp, &virsh);
    assert_int_equal(json_array_size(qmp), 0);
    assert_int_equal(json_array_size(virsh), 0);
    json_decref(qmp);
    json_decref(virsh);
    for (unsigned l = 0; l < PLAN_FOR_COUNT; l++) {
        json_t *lines = plan_layer_lines(&r, (enum plan_layer)l);
        assert_int_equal(json_array_size(lines), 0);
        json_decref(lines);
    }
    plan_result_free(&r);
    scn_doc_free(d);

    /* RAM only converges at 1 ms: the advice keeps the 300 ms in force;
     * for Nova never below its 100 ms */
    d = doc_str(RAM_ONLY);
    struct plan_cfg c2 = {
        .base = d, .policies = pol, .n_policies = 1, .jobs = 2, .safety = 1.0};
    plan_ok(&c2, &r);
    assert_int_equal(r.pol[0].min_limit_ns, SIM_MS);
    assert_true(r.advice.ok);
    assert_int_equal(r.advice.value_ns, 300 * SIM_MS);
    plan_result_free(&r);
    c2.layer = PLAN_FOR_NOVA;
    c2.frontier_ns = (const int64_t[]){SIM_MS, 2 * SIM_MS};
    c2.n_frontier = 2;
    plan_ok(&c2, &r);
    assert_true(r.advice.value_ns >= PLAN_NOVA_MIN_DOWNTIME_MS * SIM_MS);
    plan_result_free(&r);
    /* under nova-steps the search is over Nova's own downtime, from 100 ms */
    const char *nova[] = {"nova-steps:steps=3,delay=3s"};
    struct plan_cfg c3 = {.base = d,
                          .policies = nova,
                          .n_policies = 1,
                          .jobs = 2,
                          .layer = PLAN_FOR_NOVA};
    plan_ok(&c3, &r);
    assert_int_equal(r.pol[0].knob, PLAN_KNOB_NOVA);
    assert_true(r.pol[0].found);
    assert_true(r.pol[0].min_limit_ns >= PLAN_NOVA_MIN_DOWNTIME_MS * SIM_MS);
    for (size_t i = 0; i < r.pol[0].n_frontier; i++) {
        assert_true(r.pol[0].frontier[i].limit_ns >=
                    PLAN_NOVA_MIN_DOWNTIME_MS * SIM_MS);
    }
    json_t *lines = plan_layer_lines(&r, PLAN_FOR_NOVA);
    bool saw = false;
    size_t i;
    json_t *v;
    json_array_foreach(lines, i, v)
    {
        saw |= strncmp(json_string_value(v),
                       "live_migration_downtime = ", 26) == 0;
    }
    assert_true(saw);
    json_decref(lines);
    plan_result_free(&r);
    scn_doc_free(d);
}

/* The replay fit decides (issue 14 item 1): a failed fit refuses with its
 * words, a passing one is named in the basis; and the spec editor the
 * layer search uses. */
static void fit_basis_and_spec_edit(void **state)
{
    (void)state;
    char err[512], out[PLAN_SPEC_LEN];
    assert_int_equal(plan_spec_with("nova-steps:downtime=400ms,steps=10",
                                    "nova-steps", "steps", "3", out,
                                    sizeof(out)),
                     0);
    assert_string_equal(out, "nova-steps:downtime=400ms,steps=3");
    assert_int_equal(plan_spec_with("qemu+kubevirt", "kubevirt", "max", "5ms",
                                    out, sizeof(out)),
                     0);
    assert_string_equal(out, "qemu+kubevirt:max=5ms");
    assert_int_equal(
        plan_spec_with("qemu", "nova-steps", "steps", "3", out, sizeof(out)),
        -1);
    struct scn_doc *d = scn_doc_load(SEED, err, sizeof(err));
    assert_non_null(d);
    const char *pol[] = {"qemu"};
    struct plan_basis b = {.from_trace = true, .fit_checked = true};
    snprintf(b.verdict, sizeof(b.verdict), "converged");
    snprintf(b.fit_note, sizeof(b.fit_note),
             "re-run 46.42 s vs observed "
             "23.51 s (+97.4 %%)");
    struct plan_cfg c = {.base = d,
                         .policies = pol,
                         .n_policies = 1,
                         .jobs = 2,
                         .max_downtime_ns = 30 * SIM_S,
                         .basis = &b};
    struct plan_result r;
    plan_ok(&c, &r);
    assert_false(r.advice.ok);
    assert_non_null(strstr(r.advice.reason, "replay fit failed"));
    assert_non_null(strstr(r.advice.reason, "+97.4 %"));
    json_t *lines = plan_layer_lines(&r, PLAN_FOR_QEMU);
    assert_int_equal(json_array_size(lines), 0);
    json_decref(lines);
    plan_result_free(&r);
    b.fit_ok = true;
    plan_ok(&c, &r);
    assert_true(r.advice.ok);
    assert_non_null(strstr(r.advice.rests_on, "replay fit ok: re-run 46.42"));
    plan_result_free(&r);
    scn_doc_free(d);
}

int main(void)
{
    sim_gsl_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grid_ranges),
        cmocka_unit_test(grid_policy_axis),
        cmocka_unit_test(grid_errors),
        cmocka_unit_test(unit_texts_exact),
        cmocka_unit_test(stats_gsl),
        cmocka_unit_test(seed_case_limit),
        cmocka_unit_test(ram_only_frontier),
        cmocka_unit_test(ram_only_time_budget),
        cmocka_unit_test(non_monotone),
        cmocka_unit_test(stochastic_seeds),
        cmocka_unit_test(switchover_throughput),
        cmocka_unit_test(safe_advice),
        cmocka_unit_test(fit_basis_and_spec_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
