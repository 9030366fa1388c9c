/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_policy_mgmt.c — the management-layer policies nova-steps and
 * kubevirt: their rules driven directly through the ops table with made-up
 * views, and through whole simulations.
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

#define GIB (UINT64_C(1) << 30)
#define MB  UINT64_C(1000000)

/* ---- helpers ------------------------------------------------------------ */

struct pol {
    const struct pol_ops *ops;
    void *priv;
};

static int pol_try(struct pol *p, const char *name, const char *args, char *err,
                   size_t errlen)
{
    p->ops = pol_find(name);
    assert_non_null(p->ops);
    p->priv = calloc(1, p->ops->priv_size);
    assert_non_null(p->priv);
    struct scenario s;
    scn_defaults(&s);
    struct pol_report rep = {0};
    return p->ops->configure(p->priv, args, &s, &rep, err, errlen);
}

static void pol_open(struct pol *p, const char *name, const char *args)
{
    char err[256] = "";
    if (pol_try(p, name, args, err, sizeof(err))) {
        fail_msg("%s:%s: %s", name, args ? args : "", err);
    }
}

static void pol_close(struct pol *p)
{
    free(p->priv);
    p->priv = NULL;
}

static void ask(struct pol *p, const struct pol_view *v, struct pol_actions *a)
{
    memset(a, 0, sizeof(*a));
    p->ops->on_iteration(p->priv, v, a);
}

static void base_view(struct pol_view *v, uint64_t ram, uint64_t dev)
{
    memset(v, 0, sizeof(*v));
    v->qemu = QEMU_9_2;
    v->downtime_limit_ns = 300 * SIM_MS;
    v->ram_total_bytes = ram;
    v->device_bytes = dev;
    v->ram_remaining_bytes = ram / 2;
    v->bandwidth_bps = 128.0 * 1024 * 1024;
    v->dirty_sync_count = 1;
}

static void load(const char *json, struct scenario *s, const char *const *sets)
{
    tu_scenario(json, false, sets, s);
}

static void run(const struct scenario *s, const char *pol, struct run_result *r)
{
    tu_simulate(s, pol, false, r);
}

/* Load a scenario from JSON text and run it under one policy. */
static void run_json(const char *json, const char *pol, struct run_result *r)
{
    struct scenario s;
    load(json, &s, NULL);
    run(&s, pol, r);
}

/* downtime-limit changes of a run, in order. */
static size_t limit_events(const struct run_result *r, int64_t *t,
                           int64_t *limit, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_events; i++) {
        const struct run_event *e = &r->events[i];
        if (e->kind != RUN_EV_PARAM ||
            strncmp(e->text, "downtime-limit=", 15) != 0) {
            continue;
        }
        if (n < max) {
            t[n] = e->t_ns;
            limit[n] = (int64_t)e->value;
        }
        n++;
    }
    return n;
}

/* The first note starting with prefix, or NULL. */
static const struct run_event *note(const struct run_result *r,
                                    const char *prefix)
{
    for (size_t i = 0; i < r->n_events; i++) {
        if (r->events[i].kind == RUN_EV_NOTE &&
            strncmp(r->events[i].text, prefix, strlen(prefix)) == 0) {
            return &r->events[i];
        }
    }
    return NULL;
}

static void assert_between(int64_t x, int64_t lo, int64_t hi)
{
    if (x < lo || x > hi) {
        fail_msg("%.3f s not in [%.3f, %.3f] s", (double)x / 1e9,
                 (double)lo / 1e9, (double)hi / 1e9);
    }
}

/* A 3 GiB guest dirtying 2 GiB at 192 MiB/s over 128 MiB/s: never
 * converges at any limit below seconds. */
static const char *const busy_3g =
    "{\"qemu\":\"9.2\",\"vm\":{\"ram\":\"3GiB\",\"zero_fraction\":0.5},"
    "\"workload\":{\"kind\":\"uniform\",\"working_set\":\"2GiB\","
    "\"dirty_rate\":\"192MiB/s\"},"
    "\"migration\":{\"max_bandwidth\":\"128MiB/s\",\"time_limit\":\"905s\"}}";

/* One iteration of the simulated thread is at most this late after a
 * management poll (100 ms window plus a pass). */
#define LAG (150 * SIM_MS)

/* ---- nova-steps: the schedule ------------------------------------------- */

/* Nova's worked example (migration.py downtime_steps docstring): 3 GiB,
 * 10 steps, 30 s/GiB, 400 ms -> 40, 76, ... 400 ms every 90 s, each applied
 * at the first 0.5 s poll strictly after its time; the default completion
 * timeout is 800 s/GiB. */
static void nova_worked_example(void **state)
{
    (void)state;
    static const int64_t want[11] = {40,  76,  112, 148, 184, 220,
                                     256, 292, 328, 364, 400};
    struct pol p;
    pol_open(&p, "nova-steps", "downtime=400ms,steps=10,delay=30s");
    struct pol_view v;
    struct pol_actions a;
    base_view(&v, 3 * GIB, 0);

    v.now_ns = 20 * SIM_MS; /* before the first poll after 0 */
    ask(&p, &v, &a);
    assert_false(a.set_downtime_limit);
    v.now_ns = 500 * SIM_MS;
    ask(&p, &v, &a);
    assert_true(a.set_downtime_limit);
    assert_int_equal(a.downtime_limit_ns, want[0] * SIM_MS);
    v.now_ns = 900 * SIM_MS; /* same poll */
    ask(&p, &v, &a);
    assert_false(a.set_downtime_limit);
    for (int i = 1; i <= 10; i++) {
        v.now_ns = 90 * i * SIM_S; /* not strictly after: no step yet */
        ask(&p, &v, &a);
        assert_false(a.set_downtime_limit);
        v.now_ns = 90 * i * SIM_S + 500 * SIM_MS;
        ask(&p, &v, &a);
        assert_true(a.set_downtime_limit);
        assert_int_equal(a.downtime_limit_ns, want[i] * SIM_MS);
        assert_false(a.abort);
    }
    v.now_ns = 2400 * SIM_S; /* 800 s/GiB x 3 GiB, not yet exceeded */
    ask(&p, &v, &a);
    assert_false(a.abort);
    assert_false(a.set_downtime_limit);
    v.now_ns = 2400 * SIM_S + 500 * SIM_MS;
    v.in_postcopy = true; /* should_trigger_timeout_action: never then */
    ask(&p, &v, &a);
    assert_false(a.abort);
    v.now_ns = 2401 * SIM_S;
    v.in_postcopy = false;
    ask(&p, &v, &a);
    assert_true(a.abort);
    pol_close(&p);
}

/* Python's float arithmetic and int() truncation, the 2 GiB floor on RAM,
 * and VFIO state added to the data size.  Expected values computed with
 * Nova's downtime_steps in Python. */
static void nova_schedule_rounding(void **state)
{
    (void)state;
    static const struct {
        const char *args;
        uint64_t ram, dev;
        unsigned n;
        int64_t at_s[11], ms[11];
    } cases[] = {
        {"downtime=500ms,steps=3",
         GIB,
         0,
         4,
         {0, 150, 300, 450},
         {166, 277, 388, 500}},
        {"downtime=777ms,steps=9,delay=3s",
         3 * GIB / 2,
         0,
         10,
         {0, 6, 12, 18, 24, 30, 36, 42, 48, 54},
         {86, 163, 239, 316, 393, 470, 546, 623, 700, 777}},
        {"downtime=1000ms,steps=7,delay=7s",
         7 * GIB / 2,
         3 * GIB / 4,
         8,
         {0, 29, 58, 87, 116, 145, 174, 203},
         {142, 265, 387, 510, 632, 755, 877, 1000}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct pol p;
        pol_open(&p, "nova-steps", cases[c].args);
        struct pol_view v;
        struct pol_actions a;
        base_view(&v, cases[c].ram, cases[c].dev);
        for (unsigned i = 0; i < cases[c].n; i++) {
            if (i > 0) {
                v.now_ns = cases[c].at_s[i] * SIM_S;
                ask(&p, &v, &a);
                assert_false(a.set_downtime_limit);
            }
            v.now_ns = cases[c].at_s[i] * SIM_S + 500 * SIM_MS;
            ask(&p, &v, &a);
            assert_true(a.set_downtime_limit);
            assert_int_equal(a.downtime_limit_ns, cases[c].ms[i] * SIM_MS);
        }
        pol_close(&p);
    }
}

static void nova_arguments(void **state)
{
    (void)state;
    /* bare numbers are Nova's units: ms for downtime, s for delay */
    struct pol p;
    pol_open(&p, "nova-steps", "downtime=400,delay=30,steps=10");
    struct pol_view v;
    struct pol_actions a;
    base_view(&v, 3 * GIB, 0);
    v.now_ns = 90 * SIM_S + 500 * SIM_MS;
    ask(&p, &v, &a);
    assert_int_equal(a.downtime_limit_ns, 76 * SIM_MS);
    pol_close(&p);
}

/* The same schedule through the simulator: one downtime-limit event per
 * step, at the first iteration after each 0.5 s poll. */
static void nova_schedule_in_simulation(void **state)
{
    (void)state;
    struct scenario s;
    load(busy_3g, &s, NULL);
    struct run_result r;
    run(&s, "nova-steps:downtime=400ms,steps=10,delay=30s", &r);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    int64_t t[16], lim[16];
    size_t n = limit_events(&r, t, lim, 16);
    assert_int_equal(n, 11);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(lim[i], (int64_t)(40 + 36 * i) * SIM_MS);
        int64_t poll = (int64_t)(90 * i) * SIM_S + 500 * SIM_MS;
        assert_between(t[i], poll, poll + LAG);
    }
    assert_int_equal(r.m.downtime_limit_ns, 400 * SIM_MS);
    run_result_free(&r);
}

/* ---- nova-steps: completion timeout ------------------------------------- */

/* Abort at the first poll after int(timeout x data GiB) s: 100 s/GiB x
 * 3 GiB = 300 s; 30 s/GiB x 1 GiB floored to 2 GiB = 60 s. */
static void nova_completion_timeout_aborts(void **state)
{
    (void)state;
    static const struct {
        const char *ram, *ws;
        const char *pol;
        int64_t timeout_s;
    } cases[] = {
        {"vm.ram=\"3GiB\"", "workload.working_set=\"2GiB\"",
         "nova-steps:completion_timeout=100s", 300},
        {"vm.ram=\"1GiB\"", "workload.working_set=\"512MiB\"",
         "nova-steps:downtime=400ms,delay=30s,completion_timeout=30s", 60},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *const sets[] = {cases[c].ram, cases[c].ws, NULL};
        struct scenario s;
        load(busy_3g, &s, sets);
        struct run_result r;
        run(&s, cases[c].pol, &r);
        assert_int_equal(r.m.outcome, RUN_ABORTED);
        int64_t poll = cases[c].timeout_s * SIM_S + 500 * SIM_MS;
        assert_between(r.m.total_ns, poll, poll + LAG);
        const struct run_event *e = note(&r, "abort: nova-steps");
        assert_non_null(e);
        char want[64];
        snprintf(want, sizeof(want), "not completed after %lld s",
                 (long long)cases[c].timeout_s);
        assert_non_null(strstr(e->text, want));
        run_result_free(&r);
    }
}

/* force_complete: the task queued at the timeout poll runs at the next
 * poll (0.5 s later): pause without post-copy, migrate-start-postcopy
 * with it; both then complete. */
static void nova_force_complete(void **state)
{
    (void)state;
    /* 10 s/GiB x 3 GiB = 30 s; queued at 30.5 s, run at 31.0 s */
    const char *pol = "nova-steps:completion_timeout=10s,action=force_complete";
    struct scenario s;
    load(busy_3g, &s, NULL);
    struct run_result r;
    run(&s, pol, &r);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    const struct run_event *e = note(&r, "force-complete (pause)");
    assert_non_null(e);
    assert_between(e->t_ns, 31 * SIM_S, 31 * SIM_S + LAG);
    assert_null(note(&r, "migrate-start-postcopy"));
    assert_false(r.m.postcopy);
    run_result_free(&r);

    const char *const sets[] = {"migration.postcopy=true", NULL};
    load(busy_3g, &s, sets);
    run(&s, pol, &r);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    e = note(&r, "migrate-start-postcopy");
    assert_non_null(e);
    assert_between(e->t_ns, 31 * SIM_S, 31 * SIM_S + LAG);
    assert_null(note(&r, "force-complete (pause)"));
    assert_true(r.m.postcopy);
    run_result_free(&r);
}

/* ---- kubevirt: released timeouts ---------------------------------------- */

/* completionTimeoutPerGiB x memory in whole GB rounded up (4 GiB = 4.29 GB
 * -> 5): 20 s x 5 = 100 s; abort at the first 400 ms poll whose whole
 * elapsed seconds exceed 100, i.e. 101.2 s (100.8 s is still 100). */
static void kubevirt_completion_timeout_direct(void **state)
{
    (void)state;
    struct pol p;
    pol_open(&p, "kubevirt", "completion_timeout_per_gib=20s");
    struct pol_view v;
    struct pol_actions a;
    base_view(&v, 4 * GIB, 0);
    uint64_t rem = 4 * GIB;
    for (int64_t t = 100 * SIM_MS; t <= 101200 * SIM_MS; t += 100 * SIM_MS) {
        v.now_ns = t;
        v.ram_remaining_bytes = rem -= 1 << 20; /* progressing */
        ask(&p, &v, &a);
        if (t < 101200 * SIM_MS) {
            assert_false(a.abort);
        }
    }
    assert_true(a.abort);
    assert_non_null(strstr(a.reason, "not completed after 100 seconds"));
    pol_close(&p);
}

static void kubevirt_completion_timeout_in_simulation(void **state)
{
    (void)state;
    const char *const sets[] = {"vm.ram=\"4GiB\"", NULL};
    struct scenario s;
    load(busy_3g, &s, sets);
    struct run_result r;
    run(&s, "kubevirt:completion_timeout_per_gib=20s", &r);
    assert_int_equal(r.m.outcome, RUN_ABORTED);
    assert_between(r.m.total_ns, 101200 * SIM_MS, 101200 * SIM_MS + LAG);
    run_result_free(&r);
    /* the default, 150 s/GiB x 5 GB = 750 s */
    run(&s, "kubevirt", &r);
    assert_int_equal(r.m.outcome, RUN_ABORTED);
    assert_between(r.m.total_ns, 751200 * SIM_MS, 751200 * SIM_MS + LAG);
    run_result_free(&r);
}

/* Progress = RAM remaining below its value at the previous poll (or that
 * value 0).  A constant 5 MB: the first poll (0.4 s) counts as progress,
 * the abort comes at the first poll >= 2 whole seconds later (2.4 s) with
 * progress_timeout=1s.  A constant 0 never stops counting as progress. */
static void kubevirt_progress_timeout_direct(void **state)
{
    (void)state;
    struct pol p;
    pol_open(&p, "kubevirt", "progress_timeout=1s");
    struct pol_view v;
    struct pol_actions a;
    base_view(&v, 4 * GIB, 0);
    v.ram_remaining_bytes = 5 * MB;
    int64_t t;
    for (t = 100 * SIM_MS; t < 10 * SIM_S; t += 100 * SIM_MS) {
        v.now_ns = t;
        ask(&p, &v, &a);
        if (a.abort) {
            break;
        }
    }
    assert_true(a.abort);
    assert_int_equal(t, 2400 * SIM_MS);
    assert_non_null(strstr(a.reason, "stuck for 2 seconds"));
    pol_close(&p);

    pol_open(&p, "kubevirt", "progress_timeout=1s");
    v.ram_remaining_bytes = 0;
    for (t = 100 * SIM_MS; t < 60 * SIM_S; t += 100 * SIM_MS) {
        v.now_ns = t;
        ask(&p, &v, &a);
        assert_false(a.abort);
    }
    pol_close(&p);
}

/* A guest rewriting a 4 MiB working set at 1 GiB/s behind a 10 ms limit:
 * after the bulk pass every iteration syncs and finds the same 4 MiB, so
 * RAM remaining stops falling and progress_timeout=10s aborts 11.2 s after
 * the last poll that saw it fall (within one poll of the end of the bulk
 * pass, the second bitmap sync). */
static void kubevirt_progress_timeout_in_simulation(void **state)
{
    (void)state;
    static const char *json =
        "{\"qemu\":\"9.2\",\"vm\":{\"ram\":\"1GiB\",\"zero_fraction\":0.5},"
        "\"workload\":{\"kind\":\"sweep\",\"working_set\":\"4MiB\","
        "\"dirty_rate\":\"1GiB/s\"},"
        "\"migration\":{\"downtime_limit\":\"10ms\",\"max_bandwidth\":"
        "\"128MiB/s\",\"time_limit\":\"120s\"}}";
    struct run_result r;
    run_json(json, "kubevirt:progress_timeout=10s", &r);
    assert_int_equal(r.m.outcome, RUN_ABORTED);
    int64_t sync2 = -1;
    int syncs = 0;
    for (size_t i = 0; i < r.n_events && sync2 < 0; i++) {
        if (r.events[i].kind == RUN_EV_SYNC && ++syncs == 2) {
            sync2 = r.events[i].t_ns;
        }
    }
    assert_true(sync2 > 0);
    int64_t stuck = 11200 * SIM_MS;
    assert_between(r.m.total_ns, sync2 - 400 * SIM_MS + stuck,
                   sync2 + 400 * SIM_MS + stuck + LAG);
    const struct run_event *e = note(&r, "abort: kubevirt");
    assert_non_null(e);
    assert_non_null(strstr(e->text, "stuck for 11 seconds"));
    run_result_free(&r);
    /* with both timeouts off it runs into the time limit */
    run_json(json, "kubevirt:progress_timeout=0s,completion_timeout_per_gib=0s",
             &r);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    run_result_free(&r);
}

/* Arguments Nova's and KubeVirt's policies refuse, each with a message. */
static void mgmt_policy_arguments(void **state)
{
    (void)state;
    static const struct {
        const char *policy, *args;
    } bad[] = {
        {"nova-steps", "downtime=50ms"},
        {"nova-steps", "downtime=400.5ms"},
        {"nova-steps", "steps=2"},
        {"nova-steps", "steps=x"},
        {"nova-steps", "delay=2s"},
        {"nova-steps", "delay=1.5s"},
        {"nova-steps", "action=pause"},
        {"nova-steps", "foo=1"},
        {"nova-steps", "400ms"},
        {"nova-steps", "completion_timeout=-1s"},
        {"kubevirt", "initial=200ms"},
        {"kubevirt", "dynamic=maybe"},
        {"kubevirt", "dynamic=on,steps=0"},
        {"kubevirt", "dynamic=on,cooldown=0s"},
        {"kubevirt", "dynamic=on,max=3000s"},
        {"kubevirt", "dynamic=on,initial=0ms"},
        {"kubevirt", "progress_timeout=1.5s"},
        {"kubevirt", "completion_timeout_per_gib=2ms"},
        {"kubevirt", "150s"},
        {"kubevirt", "bogus=1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pol p;
        char err[256] = "";
        if (pol_try(&p, bad[i].policy, bad[i].args, err, sizeof(err)) == 0) {
            fail_msg("%s:%s accepted", bad[i].policy, bad[i].args);
        }
        assert_true(err[0] != '\0');
        pol_close(&p);
    }
}

/* ---- kubevirt: proposals ------------------------------------------------ */

/* The ramp with the defaults: 150 ms at the first poll (0.4 s); from the
 * poll where the dirty-sync count reaches 3 (30 s here) +128 ms
 * ((1050-150)/7) every 10 s: 278, 406, ... 1046, then 1050 and no more. */
static void kubevirt_ramp_direct(void **state)
{
    (void)state;
    struct pol p;
    pol_open(&p, "kubevirt",
             "dynamic=on,progress_timeout=0s,completion_timeout_per_gib=0s");
    struct pol_view v;
    struct pol_actions a;
    base_view(&v, 4 * GIB, 0);
    int64_t t_set[16], ms_set[16];
    size_t n = 0;
    for (int64_t t = 100 * SIM_MS; t <= 200 * SIM_S; t += 100 * SIM_MS) {
        v.now_ns = t;
        v.dirty_sync_count = t < 20 * SIM_S ? 1 : t < 30 * SIM_S ? 2 : 3;
        ask(&p, &v, &a);
        assert_false(a.abort);
        if (a.set_downtime_limit) {
            assert_true(n < 16);
            t_set[n] = t;
            ms_set[n++] = a.downtime_limit_ns / SIM_MS;
        }
    }
    static const int64_t want_t[] = {400, 30, 40, 50, 60, 70, 80, 90, 100};
    static const int64_t want_ms[] = {150, 278, 406,  534, 662,
                                      790, 918, 1046, 1050};
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t_set[i], i ? want_t[i] * SIM_S : 400 * SIM_MS);
        assert_int_equal(ms_set[i], want_ms[i]);
    }
    pol_close(&p);
}

/* Stall detection fed one dirty sync a second: RAM remaining at the sync
 * falls 1000, 900, ... 200 MB (t = 1..9 s), then follows level(t) MB; between
 * syncs the bitmap drains.  Bandwidth is constant, so the EWMA is exact.
 * Every downtime-limit set (after the initial 150 ms) and an abort are
 * recorded; the limit must only rise. */
struct stall_run {
    int64_t t[16];
    int64_t ms[16]; /* -1: abort */
    size_t n;
    char reason[120];
};

static void stall_feed(const char *args, double bw, uint64_t (*level)(int64_t),
                       struct stall_run *out)
{
    struct pol p;
    pol_open(&p, "kubevirt", args);
    struct pol_view v;
    struct pol_actions a;
    base_view(&v, 4 * GIB, 0);
    v.bandwidth_bps = bw;
    memset(out, 0, sizeof(*out));
    int64_t last_ms = 0;
    for (int64_t t = 100 * SIM_MS; t <= 60 * SIM_S; t += 100 * SIM_MS) {
        int64_t sec = t / SIM_S;
        uint64_t at_sync = sec < 1    ? 1100 * MB
                           : sec < 10 ? (1000 - 100 * (uint64_t)(sec - 1)) * MB
                                      : level(sec) * MB;
        uint64_t frac = (uint64_t)(t % SIM_S / (100 * SIM_MS)); /* 0..9 */
        v.now_ns = t;
        v.dirty_sync_count = (uint64_t)sec + 1;
        v.ram_remaining_bytes = at_sync - at_sync / 20 * frac;
        ask(&p, &v, &a);
        if (a.set_downtime_limit) {
            assert_true(a.downtime_limit_ns / SIM_MS > last_ms);
            last_ms = a.downtime_limit_ns / SIM_MS;
        }
        if ((a.set_downtime_limit && t > 400 * SIM_MS) || a.abort) {
            assert_true(out->n < 16);
            out->t[out->n] = t;
            out->ms[out->n++] = a.abort ? -1 : a.downtime_limit_ns / SIM_MS;
            if (a.abort) {
                snprintf(out->reason, sizeof(out->reason), "%s", a.reason);
                break;
            }
        }
    }
    pol_close(&p);
}

/* 260 / 240 MB: the stall shows at t = 19 s (240 >= 96 % of the 200 MB that
 * left the 10 s window), best = 200 MB, which never recurs: after the 10 s
 * patience (t = 29 s) best relaxes to the smallest value seen since the
 * stall, 240 MB, which the current value matches. */
static uint64_t level_relax(int64_t sec)
{
    return sec % 2 ? 240 : 260;
}

/* 196 / 260 MB: 196 is within the 4 % stall margin of the 200 MB that left
 * the window (and a new minimum inside it): stall and switch at t = 19 s on
 * best = 196 MB. */
static uint64_t level_margin(int64_t sec)
{
    return sec % 2 ? 196 : 260;
}

/* 240 at the stall, 230 once (t = 20 s), then 245 / 255: at 29 s best
 * relaxes to 230 (not matched), the patience halves to 5 s, at 34 s best
 * relaxes to 240 and 245 MB matches. */
static uint64_t level_halving(int64_t sec)
{
    if (sec <= 19) {
        return level_relax(sec);
    }
    return sec == 20 ? 230 : sec % 2 ? 255 : 245;
}

static void kubevirt_stall_switch_direct(void **state)
{
    (void)state;
    const char *args = "dynamic=on,progress_timeout=10s,"
                       "completion_timeout_per_gib=0s,start_after=1000000";
    struct stall_run r;
    /* 400 MB/s: implied 240 MB / 400 kB/ms = 600 ms <= max 1050 ms */
    stall_feed(args, 400e6, level_relax, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.t[0], 29 * SIM_S);
    assert_int_equal(r.ms[0], 600);
    /* 200 MB/s: implied 1200 ms, above max, below 1.5 x max: set max */
    stall_feed(args, 200e6, level_relax, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.t[0], 29 * SIM_S);
    assert_int_equal(r.ms[0], 1050);
    /* 100 MB/s: implied 2400 ms >= 1.5 x 1050 ms: abort */
    stall_feed(args, 100e6, level_relax, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.t[0], 29 * SIM_S);
    assert_int_equal(r.ms[0], -1);
    assert_non_null(strstr(r.reason, "implied downtime 2400 ms"));
    /* the margins: 196 MB / 400 kB/ms = 490 ms at 19 s */
    stall_feed(args, 400e6, level_margin, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.t[0], 19 * SIM_S);
    assert_int_equal(r.ms[0], 490);
    /* the patience halves after a relaxation that did not match */
    stall_feed(args, 400e6, level_halving, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.t[0], 34 * SIM_S);
    assert_int_equal(r.ms[0], 600);
}

/* Ramp and stall switch together: the switch never lowers the limit, and
 * the ramp goes on from a higher switch value.  Ramp from start_after=0:
 * 150 ms at 0.4 s, +128 ms at 10.4, 20.4, 30.4 s ...  At 29 s the stall
 * switch wants 240 MB / 1.2 MB/ms = 200 ms < 406 ms: nothing; with
 * 300 MB/s it wants 800 ms > 406 ms: set, and the ramp continues at 30.4 s
 * from 800 to 928 ms. */
static void kubevirt_ramp_and_stall(void **state)
{
    (void)state;
    const char *args = "dynamic=on,progress_timeout=10s,"
                       "completion_timeout_per_gib=0s,start_after=0";
    struct stall_run r;
    stall_feed(args, 1200e6, level_relax, &r);
    static const int64_t ramp_t[] = {10400, 20400, 30400, 40400, 50400};
    static const int64_t ramp_ms[] = {278, 406, 534, 662, 790};
    assert_true(r.n >= 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r.t[i], ramp_t[i] * SIM_MS);
        assert_int_equal(r.ms[i], ramp_ms[i]);
    }
    stall_feed(args, 300e6, level_relax, &r);
    assert_true(r.n >= 4);
    assert_int_equal(r.t[2], 29 * SIM_S);
    assert_int_equal(r.ms[2], 800);
    assert_int_equal(r.t[3], 30400 * SIM_MS);
    assert_int_equal(r.ms[3], 928);
}

/* A guest dirtying slightly faster than the link carries (136 MiB/s over
 * 128 MiB/s, 1 GiB working set): QEMU's 300 ms never fits, nor does
 * KubeVirt's released monitor; dynamic=on raises the limit until the
 * switchover happens. */
static void kubevirt_dynamic_converges(void **state)
{
    (void)state;
    static const char *json =
        "{\"qemu\":\"9.2\",\"vm\":{\"ram\":\"4GiB\",\"zero_fraction\":0.5},"
        "\"workload\":{\"kind\":\"uniform\",\"working_set\":\"1GiB\","
        "\"dirty_rate\":\"136MiB/s\"},"
        "\"migration\":{\"max_bandwidth\":\"128MiB/s\",\"time_limit\":"
        "\"10min\"}}";
    struct scenario s;
    load(json, &s, NULL);
    struct run_result r;
    run(&s, "qemu", &r);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    run_result_free(&r);
    run(&s, "kubevirt", &r);
    assert_int_equal(r.m.outcome, RUN_TIMEOUT);
    run_result_free(&r);

    run(&s, "kubevirt:dynamic=on", &r);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    int64_t t[32], lim[32];
    size_t n = limit_events(&r, t, lim, 32);
    assert_true(n >= 2 && n <= 32);
    assert_int_equal(lim[0], 150 * SIM_MS);
    assert_between(t[0], 400 * SIM_MS, 400 * SIM_MS + LAG);
    for (size_t i = 1; i < n; i++) {
        assert_true(lim[i] > lim[i - 1]); /* only rises */
        assert_true(lim[i] <= 1050 * SIM_MS);
    }
    assert_true(r.m.downtime_limit_ns > 300 * SIM_MS);
    assert_true(r.m.downtime_ns <= r.m.downtime_limit_ns);
    print_message("kubevirt:dynamic=on converged at %.1f s, limit %lld ms, "
                  "downtime %.1f ms\n",
                  (double)r.m.total_ns / 1e9,
                  (long long)(r.m.downtime_limit_ns / SIM_MS),
                  (double)r.m.downtime_ns / 1e6);
    run_result_free(&r);
}

/* ---- both --------------------------------------------------------------- */

/* next_wakeup: the next management poll. */
static void next_wakeup_is_next_poll(void **state)
{
    (void)state;
    struct pol n, k;
    pol_open(&n, "nova-steps", NULL);
    pol_open(&k, "kubevirt", NULL);
    struct pol_view v;
    base_view(&v, 4 * GIB, 0);
    v.now_ns = 1230 * SIM_MS;
    assert_int_equal(n.ops->next_wakeup(n.priv, &v), 1500 * SIM_MS);
    assert_int_equal(k.ops->next_wakeup(k.priv, &v), 1600 * SIM_MS);
    v.now_ns = 1600 * SIM_MS;
    assert_int_equal(k.ops->next_wakeup(k.priv, &v), 2000 * SIM_MS);
    pol_close(&n);
    pol_close(&k);
}

/* Registered, listed, and composable behind a reporting variant. */
static void registered_and_composable(void **state)
{
    (void)state;
    bool nova = false, kv = false;
    for (const struct pol_ops *const *p = pol_all(); *p; p++) {
        nova |= *p == pol_find("nova-steps");
        kv |= *p == pol_find("kubevirt");
    }
    assert_false(pol_find("nova-steps")->is_reporting);
    assert_false(pol_find("kubevirt")->is_reporting);
    assert_true(nova && kv);
    struct scenario s;
    scn_defaults(&s);
    struct pol_chain c;
    char err[256] = "";
    assert_int_equal(pol_chain_setup(&c,
                                     "cached-stop-size+nova-steps:downtime="
                                     "400ms,steps=10,delay=30s+kubevirt",
                                     &s, err, sizeof(err)),
                     0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.report.mode, POL_REPORT_CACHED);
    pol_chain_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nova_worked_example),
        cmocka_unit_test(nova_schedule_rounding),
        cmocka_unit_test(nova_arguments),
        cmocka_unit_test(nova_schedule_in_simulation),
        cmocka_unit_test(nova_completion_timeout_aborts),
        cmocka_unit_test(nova_force_complete),
        cmocka_unit_test(kubevirt_completion_timeout_direct),
        cmocka_unit_test(kubevirt_completion_timeout_in_simulation),
        cmocka_unit_test(kubevirt_progress_timeout_direct),
        cmocka_unit_test(kubevirt_progress_timeout_in_simulation),
        cmocka_unit_test(mgmt_policy_arguments),
        cmocka_unit_test(kubevirt_ramp_direct),
        cmocka_unit_test(kubevirt_stall_switch_direct),
        cmocka_unit_test(kubevirt_ramp_and_stall),
        cmocka_unit_test(kubevirt_dynamic_converges),
        cmocka_unit_test(next_wakeup_is_next_poll),
        cmocka_unit_test(registered_and_composable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
