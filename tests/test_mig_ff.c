/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_mig_ff.c — the fast-forward of repeating passes
 * (model/mig_ff.c) changes nothing: every result, sample, event and the
 * engine fingerprint are the same with it and without it
 * (mig_options.no_fast_forward), over the shipped scenarios, the 1 TiB /
 * 4-device bench scenario and seeded random scenarios; and it does run
 * (it fast-forwards most passes of the bench scenario).
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

struct outcome {
    int rc;
    char err[512];
    struct run_result r;
    uint64_t ff;
};

/* samples: 0 none (and no events), 1 the default series (10 ms), 2 a
 * sparse one (700 ms: most passes between two samples, fast-forwarded,
 * and the samples show the counters they leave) */
static void sim(const struct scenario *s, const char *pol, int samples, bool ff,
                struct outcome *o)
{
    struct mig_options opt;
    mig_options_default(&opt);
    if (!samples) {
        opt.no_samples = true;
        opt.no_events = true;
    } else if (samples == 2) {
        opt.sample_interval_ns = 700 * SIM_MS;
    }
    opt.no_fast_forward = !ff;
    o->ff = 0;
    opt.ff_passes = &o->ff;
    o->err[0] = '\0';
    o->rc = mig_simulate(s, pol, &opt, &o->r, o->err, sizeof(o->err));
}

#define SAME(f)                                                                \
    do {                                                                       \
        if (a->f != b->f) {                                                    \
            print_message("%s: %s differs: %.17g vs %.17g\n", what, #f,        \
                          (double)a->f, (double)b->f);                         \
            fail();                                                            \
        }                                                                      \
    } while (0)

static void same_metrics(const char *what, const struct run_metrics *a,
                         const struct run_metrics *b)
{
    SAME(outcome);
    SAME(total_ns);
    SAME(downtime_ns);
    SAME(src_downtime_ns);
    SAME(setup_ns);
    SAME(downtime_limit_ns);
    SAME(downtime_violation);
    SAME(iterations);
    SAME(bitmap_syncs);
    SAME(estimate_calls);
    SAME(exact_calls);
    SAME(exact_calls_per_s);
    SAME(sync_time_ns);
    SAME(bql_ns);
    SAME(spin_cpu_ns);
    SAME(bytes_transferred);
    SAME(precopy_bytes);
    SAME(downtime_bytes);
    SAME(postcopy_bytes);
    SAME(expected_downtime_ns);
    SAME(max_throttle_pct);
    SAME(postcopy);
    SAME(fingerprint);
    SAME(n_devices);
    for (unsigned i = 0; i < a->n_devices; i++) {
        SAME(devices[i].precopy_bytes);
        SAME(devices[i].stop_copy_bytes);
        SAME(devices[i].save_ns);
        SAME(devices[i].load_ns);
    }
    assert_string_equal(a->qemu, b->qemu);
    assert_string_equal(a->policy, b->policy);
}

/* With and without the fast-forward: the same outcome to the bit.  Returns
 * the passes fast-forwarded. */
static uint64_t compare(const char *what, const struct scenario *s,
                        const char *pol, int samples)
{
    struct outcome on, off;
    sim(s, pol, samples, true, &on);
    sim(s, pol, samples, false, &off);
    if (on.rc != off.rc || strcmp(on.err, off.err) != 0) {
        print_message("%s: rc %d '%s' vs %d '%s'\n", what, on.rc, on.err,
                      off.rc, off.err);
        fail();
    }
    assert_int_equal(off.ff, 0);
    if (on.rc) {
        return 0;
    }
    same_metrics(what, &on.r.m, &off.r.m);
    assert_int_equal(on.r.n_samples, off.r.n_samples);
    for (size_t i = 0; i < on.r.n_samples; i++) {
        if (memcmp(&on.r.samples[i], &off.r.samples[i],
                   sizeof(on.r.samples[i])) != 0) {
            print_message("%s: sample %zu differs\n", what, i);
            fail();
        }
    }
    assert_int_equal(on.r.n_events, off.r.n_events);
    for (size_t i = 0; i < on.r.n_events; i++) {
        const struct run_event *x = &on.r.events[i], *y = &off.r.events[i];
        if (x->t_ns != y->t_ns || x->kind != y->kind || x->value != y->value ||
            x->dur_ns != y->dur_ns || strcmp(x->text, y->text) != 0) {
            print_message("%s: event %zu differs: %s / %s\n", what, i, x->text,
                          y->text);
            fail();
        }
    }
    uint64_t ff = on.ff;
    if (getenv("MIGSIM_TEST_VERBOSE")) {
        print_message("%s: %llu of %llu passes fast-forwarded\n", what,
                      (unsigned long long)ff,
                      (unsigned long long)on.r.m.iterations);
    }
    run_result_free(&on.r);
    run_result_free(&off.r);
    return ff;
}

static void load(const char *src, bool is_file, const char *const *sets,
                 struct scenario *s)
{
    tu_scenario(src, is_file, sets, s);
}

/* Like load, false when the scenario checks refuse the combination. */
static bool try_load(const char *src, bool is_file, const char *const *sets,
                     struct scenario *s, char *err, size_t errlen)
{
    struct scn_doc *d = is_file ? scn_doc_load(src, err, errlen)
                                : scn_doc_parse(src, "random", err, errlen);
    assert_non_null(d);
    bool ok = true;
    for (; ok && sets && *sets; sets++) {
        ok = scn_doc_set(d, *sets, err, errlen) == 0;
    }
    ok = ok && scn_resolve(d, s, err, errlen) == 0;
    scn_doc_free(d);
    return ok;
}

/* The shipped scenarios, both RAM modes, with and without samples, and
 * on every QEMU version model. */
static void shipped_scenarios_same(void **state)
{
    (void)state;
    static const char *const files[] = {
        "scenarios/seed-vfio-21g.json",
        "scenarios/idle-vm.json",
        "scenarios/dirty-over-bandwidth.json",
        "scenarios/precopy-nic-vf.json",
    };
    static const char *const qemus[] = {"7.2", "8.0", "8.1",  "8.2",  "9.0",
                                        "9.1", "9.2", "10.0", "10.1", "10.2"};
    uint64_t ff = 0;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        for (size_t q = 0; q < sizeof(qemus) / sizeof(qemus[0]); q++) {
            for (int mode = 0; mode < 2; mode++) {
                char qs[32], ms[48], what[160];
                snprintf(qs, sizeof(qs), "qemu=\"%s\"", qemus[q]);
                snprintf(ms, sizeof(ms), "sim.ram_mode=\"%s\"",
                         mode ? "aggregate" : "page");
                const char *sets[] = {qs, ms, "migration.time_limit=\"2min\"",
                                      NULL};
                struct scenario s;
                char err[512];
                if (!try_load(files[f], true, sets, &s, err, sizeof(err))) {
                    continue; /* e.g. switchover-ack before 8.1 */
                }
                snprintf(what, sizeof(what), "%s %s %s", files[f], qemus[q],
                         ms);
                for (int sm = 0; sm < 3; sm++) {
                    ff += compare(what, &s, "qemu", sm);
                }
            }
        }
    }
    assert_true(ff > 0);
}

/* The bench scenario (1 TiB, 4 devices, 1 h, aggregate RAM): the same
 * results, and most passes fast-forwarded (that is its purpose). */
static void bench_scenario_same(void **state)
{
    (void)state;
    const char *sets[] = {"sim.ram_mode=\"aggregate\"", NULL};
    struct scenario s;
    load("bench/tib-4dev.json", true, sets, &s);
    struct outcome on;
    sim(&s, "qemu", 0, true, &on);
    assert_int_equal(on.rc, 0);
    uint64_t it = on.r.m.iterations;
    run_result_free(&on.r);
    uint64_t ff = compare("tib-4dev", &s, "qemu", 0);
    assert_true(ff * 10 >= it * 9);
    assert_true(compare("tib-4dev, sparse samples", &s, "qemu", 2) > 0);
    /* with the default series too (the fast-forward stops at each sample) */
    const char *sets2[] = {"sim.ram_mode=\"aggregate\"",
                           "migration.time_limit=\"10min\"", NULL};
    load("bench/tib-4dev.json", true, sets2, &s);
    struct outcome a, b;
    struct mig_options opt;
    mig_options_default(&opt);
    opt.ff_passes = &a.ff;
    assert_int_equal(mig_simulate(&s, "qemu", &opt, &a.r, a.err, 512), 0);
    opt.no_fast_forward = true;
    opt.ff_passes = &b.ff;
    assert_int_equal(mig_simulate(&s, "qemu", &opt, &b.r, b.err, 512), 0);
    same_metrics("tib-4dev 10 min, samples", &a.r.m, &b.r.m);
    assert_int_equal(a.r.n_samples, b.r.n_samples);
    for (size_t i = 0; i < a.r.n_samples; i++) {
        assert_memory_equal(&a.r.samples[i], &b.r.samples[i],
                            sizeof(a.r.samples[i]));
    }
    assert_true(a.ff > 0);
    run_result_free(&a.r);
    run_result_free(&b.r);
}

/* ---- random scenarios ------------------------------------------------- */

struct rnd {
    uint64_t x;
};

static uint64_t rnd_next(struct rnd *r)
{
    r->x += 0x9e3779b97f4a7c15ULL;
    return sim_splitmix64(r->x);
}

static unsigned pick(struct rnd *r, unsigned n)
{
    return (unsigned)(rnd_next(r) % n);
}

static size_t put(char *buf, size_t len, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t put(char *buf, size_t len, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + at, len - at, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < len - at);
    return at + (size_t)n;
}

/* A scenario drawn from seed: version, RAM size, workload, bandwidths,
 * capabilities and up to four devices of every kind. */
static void random_scenario(uint64_t seed, char *buf, size_t len)
{
    static const char *const qemus[] = {"7.2", "8.0", "8.1",  "8.2",  "9.0",
                                        "9.1", "9.2", "10.0", "10.1", "10.2"};
    static const char *const wls[] = {"uniform", "hotcold", "sweep", "idle",
                                      "phased"};
    static const char *const rams[] = {"2GiB", "8GiB", "64GiB"};
    static const char *const wss[] = {"256MiB", "1GiB", "2GiB"};
    static const char *const rates[] = {"0B/s", "16MiB/s", "96MiB/s",
                                        "400MiB/s"};
    static const char *const bws[] = {"0B/s", "64MiB/s", "256MiB/s", "1GiB/s"};
    static const char *const links[] = {"1Gbit/s", "10Gbit/s", "25Gbit/s"};
    static const char *const limits[] = {"50ms", "300ms", "2s"};
    static const char *const sizes[] = {"0", "20MB", "300MB", "4GB"};
    static const char *const dirty[] = {"0B/s", "1MB/s", "50MB/s", "2GB/s"};
    static const char *const reads[] = {"0B/s", "500MB/s", "4GB/s"};
    struct rnd r = {seed};
    size_t at = 0;
    unsigned qi = pick(&r, 10); /* capabilities only where they exist */
    at = put(buf, len, at,
             "{\"qemu\": \"%s\", \"seed\": %u, \"vm\": {\"ram\": \"%s\", "
             "\"zero_fraction\": 0.%u, \"vcpus\": %u},",
             qemus[qi], pick(&r, 1000), rams[pick(&r, 3)], pick(&r, 10),
             1 + pick(&r, 16));
    const char *wl = wls[pick(&r, 5)];
    at = put(buf, len, at,
             "\"workload\": {\"kind\": \"%s\", \"working_set\": \"%s\", "
             "\"dirty_rate\": \"%s\"",
             wl, wss[pick(&r, 3)], rates[pick(&r, 4)]);
    if (strcmp(wl, "phased") == 0) {
        at = put(buf, len, at,
                 ", \"phase_base\": \"%s\", \"phases\": [{\"at\": \"%us\", "
                 "\"dirty_rate\": \"%s\"}]",
                 pick(&r, 2) ? "uniform" : "sweep", 1 + pick(&r, 60),
                 rates[pick(&r, 4)]);
    }
    at = put(buf, len, at,
             "}, \"migration\": {\"downtime_limit\": \"%s\", "
             "\"max_bandwidth\": \"%s\", \"link_bandwidth\": \"%s\", "
             "\"time_limit\": \"%us\", \"switchover_ack\": %s, "
             "\"auto_converge\": %s, \"dirty_limit\": %s, "
             "\"multifd_channels\": %u, \"avail_switchover_bandwidth\": "
             "\"%s\"}, \"sim\": {\"ram_mode\": \"%s\"}",
             limits[pick(&r, 3)], bws[pick(&r, 4)], links[pick(&r, 3)],
             20 + pick(&r, 160), pick(&r, 2) && qi >= 2 ? "true" : "false",
             pick(&r, 3) ? "false" : "true",
             pick(&r, 4) || qi < 2 ? "false" : "true", pick(&r, 3) ? 0 : 4,
             pick(&r, 4) || qi < 3 ? "0B/s" : "2GB/s",
             pick(&r, 3) ? "aggregate" : "page");
    unsigned nd = pick(&r, 5);
    at = put(buf, len, at, ", \"devices\": [");
    for (unsigned i = 0; i < nd; i++) {
        at = put(buf, len, at,
                 "%s{\"name\": \"d%u\", \"stop_copy_size\": \"%s\", "
                 "\"precopy\": %s, \"p2p\": %s, \"precopy_initial\": \"%s\", "
                 "\"precopy_dirty_rate\": \"%s\", "
                 "\"precopy_shrinks_stop_copy\": %s, \"read_bandwidth\": "
                 "\"%s\", \"size_jitter\": \"%s\", \"multifd\": %s}",
                 i ? ", " : "", i, sizes[pick(&r, 4)],
                 pick(&r, 4) ? "true" : "false", pick(&r, 2) ? "true" : "false",
                 sizes[pick(&r, 4)], dirty[pick(&r, 4)],
                 pick(&r, 2) ? "true" : "false", reads[pick(&r, 3)],
                 pick(&r, 4) ? "0" : "1MB",
                 pick(&r, 2) && qi >= 7 ? "true" : "false");
    }
    put(buf, len, at, "]}");
}

static void random_scenarios_same(void **state)
{
    (void)state;
    static const char *const pols[] = {"qemu", "qemu", "qemu",
                                       "cached-stop-size"};
    char buf[4096];
    uint64_t ff = 0;
    unsigned ran = 0;
    for (uint64_t seed = 1; seed <= 80; seed++) {
        random_scenario(seed, buf, sizeof(buf));
        char err[512];
        struct scenario s;
        if (!try_load(buf, false, NULL, &s, err, sizeof(err))) {
            if (getenv("MIGSIM_TEST_VERBOSE")) {
                print_message("seed %llu refused: %s\n",
                              (unsigned long long)seed, err);
            }
            continue; /* a combination the scenario checks refuse */
        }
        char what[64];
        snprintf(what, sizeof(what), "random scenario %llu",
                 (unsigned long long)seed);
        const char *pol = pols[seed % 4];
        ff += compare(what, &s, pol, (int)(seed % 3));
        ran++;
    }
    assert_true(ran >= 70);
    assert_true(ff > 0);
}

int main(void)
{
    sim_gsl_quiet();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_scenarios_same),
        cmocka_unit_test(bench_scenario_same),
        cmocka_unit_test(random_scenarios_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
