/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench/bench_sim.c — simulator speed: a 1 h migration of a 1 TiB VM with
 * 4 VFIO devices (bench/tib-4dev.json), in both RAM modes.
 *
 * Prints, per mode: simulated time / wall time, accounting windows per
 * second, and the ratio to a baseline measured in the same run: the bare
 * engine executing the same number of events with no model (what the
 * discrete-event core alone costs); for aggregate mode also the same run
 * without the fast-forward of repeating passes (mig_options
 * no_fast_forward), which must give the same fingerprint.
 *
 * Built and run by bench/run.sh:
 *   cc -O2 -I. bench/bench_sim.c build/libmigsim.a $(LIBS) -o build/bench_sim
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "model/mig.h"
#include "run/scenario.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tick(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    uint64_t *left = subject;
    if (--*left) {
        sim_after(e, 100 * SIM_US, 0, 1, 0, tick, subject, NULL);
    }
}

/* The bare engine: n chained events. */
static double engine_baseline(uint64_t n)
{
    struct sim_engine *e = sim_engine_new(1);
    uint64_t left = n;
    double t0 = now_s();
    sim_at(e, 0, 0, 1, 0, tick, &left, NULL);
    sim_run(e, SIM_TIME_MAX);
    double dt = now_s() - t0;
    sim_engine_free(e);
    return dt;
}

/*
 * The seed case (scenarios/seed-vfio-21g.json) for 1 h in both RAM modes,
 * with the samples and events a `simulate` keeps (default options): about
 * 44 000 iterations, each an exact() with a bitmap sync of a nearly clean
 * 4 GiB bitmap.  Median of reps x 3 runs; goal page mode >= 100 000x.
 */
static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int seed_case(int reps)
{
    char err[512];
    struct scn_doc *d =
        scn_doc_load("scenarios/seed-vfio-21g.json", err, sizeof(err));
    if (!d || scn_doc_set(d, "migration.time_limit=\"1h\"", err, sizeof(err))) {
        fprintf(stderr, "bench_sim: %s\n", err);
        return -1;
    }
    static const char *const modes[] = {"aggregate", "page"};
    for (int mi = 0; mi < 2; mi++) {
        char set[64];
        snprintf(set, sizeof(set), "sim.ram_mode=\"%s\"", modes[mi]);
        struct scenario s;
        if (scn_doc_set(d, set, err, sizeof(err)) ||
            scn_resolve(d, &s, err, sizeof(err))) {
            fprintf(stderr, "bench_sim: %s\n", err);
            return -1;
        }
        struct mig_options o;
        mig_options_default(&o);
        int n = reps * 3;
        double dt[64];
        struct run_result r;
        uint64_t fp = 0, it = 0;
        double sim_s = 0;
        for (int i = 0; i < n && i < 64; i++) {
            double t0 = now_s();
            if (mig_simulate(&s, "qemu", &o, &r, err, sizeof(err))) {
                fprintf(stderr, "bench_sim: %s\n", err);
                return -1;
            }
            dt[i] = now_s() - t0;
            fp = r.m.fingerprint;
            it = r.m.iterations;
            sim_s = (double)r.m.total_ns / 1e9;
            run_result_free(&r);
        }
        qsort(dt, (size_t)n, sizeof(dt[0]), cmp_d);
        double med = dt[n / 2];
        printf("seed case 1 h %-9s: %.4f s wall (median of %d; min %.4f): "
               "%.0fx real time, %llu iterations (%.0f ns each), fingerprint "
               "%016llx%s\n",
               modes[mi], med, n, dt[0], sim_s / med, (unsigned long long)it,
               med * 1e9 / (double)it, (unsigned long long)fp,
               mi == 1 ? (sim_s / med >= 100000 ? " (goal >= 100000x: met)"
                                                : " (goal >= 100000x: NOT met)")
                       : "");
    }
    scn_doc_free(d);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "bench/tib-4dev.json";
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    char err[512];
    sim_gsl_quiet();
    struct scn_doc *d = scn_doc_load(path, err, sizeof(err));
    if (!d) {
        fprintf(stderr, "bench_sim: %s\n", err);
        return 1;
    }
    /* aggregate, the same without the fast-forward of repeating passes
     * (model/mig_ff.c: the same results, the plain loop's cost), page */
    static const char *const modes[] = {"aggregate", "aggregate", "page"};
    static const char *const labels[] = {"aggregate", "agg no-ff", "page"};
    double agg_best = 0;
    uint64_t agg_fp = 0;
    for (int mi = 0; mi < 3; mi++) {
        char set[64];
        snprintf(set, sizeof(set), "sim.ram_mode=\"%s\"", modes[mi]);
        struct scenario s;
        if (scn_doc_set(d, set, err, sizeof(err)) ||
            scn_resolve(d, &s, err, sizeof(err))) {
            fprintf(stderr, "bench_sim: %s\n", err);
            return 1;
        }
        struct mig_options o;
        mig_options_default(&o);
        o.no_samples = true;
        o.no_events = true;
        o.no_fast_forward = mi == 1;
        double best = 1e30;
        struct run_result r;
        memset(&r, 0, sizeof(r));
        int n = mi == 0 ? reps * 5 : mi == 1 ? reps * 2 : reps;
        for (int i = 0; i < n; i++) {
            double t0 = now_s();
            if (mig_simulate(&s, "qemu", &o, &r, err, sizeof(err))) {
                fprintf(stderr, "bench_sim: %s\n", err);
                return 1;
            }
            double dt = now_s() - t0;
            if (dt < best) {
                best = dt;
            }
            if (i + 1 < n) {
                run_result_free(&r);
            }
        }
        double sim_s = (double)r.m.total_ns / 1e9;
        double windows = sim_s * 10.0;
        double base = engine_baseline(r.m.iterations);
        printf("sim %-9s: %.0f s simulated in %.4f s wall: %.0fx real time, "
               "%.0f windows/s, %llu iterations (%.0f ns each); bare engine "
               "same events %.4f s, model/engine cost ratio %.1f, "
               "fingerprint %016llx",
               labels[mi], sim_s, best, sim_s / best, windows / best,
               (unsigned long long)r.m.iterations,
               best * 1e9 / (double)r.m.iterations, base, best / base,
               (unsigned long long)r.m.fingerprint);
        if (mi == 0) {
            agg_best = best;
            agg_fp = r.m.fingerprint;
            printf(" (goal >= 1000000x: %s)",
                   sim_s / best >= 1e6 ? "met" : "NOT met");
        } else if (mi == 1) {
            printf("; fast-forward %.1fx faster, %s result", best / agg_best,
                   r.m.fingerprint == agg_fp ? "same" : "DIFFERENT");
        }
        printf("\n");
        run_result_free(&r);
    }
    scn_doc_free(d);
    return seed_case(reps) ? 1 : 0;
}
