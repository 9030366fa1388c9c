/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench/bench_ram.c — throughput of devices/ram in page mode, and the
 * migration thread's per-window cost in aggregate mode.
 *
 * Build and run from the top of the tree (not built by the Makefile):
 *   mkdir -p build/bench && cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra \
 *       -I. bench/bench_ram.c devices/ram.c -o build/bench/bench_ram \
 *       $(pkg-config --libs gsl) -lm && build/bench/bench_ram
 *
 * Guest: 1 TiB of 4 KiB pages (268 M pages), 64 GiB working set (16 M
 * pages), 90 % of the rest zero pages.  Each figure is printed as one line
 *   <name>: <rate> (baseline <rate>, ratio <model / baseline>)
 * with a baseline measured in the same run on a plain bitmap of the same
 * size, so the ratio says what the model's bookkeeping costs (or saves):
 *   dirty uniform  page writes/s, 100 ms steps with a sync after each;
 *                  baseline: the same RNG draws setting bits in a plain
 *                  bitmap, no sync.
 *   dirty sweep    page writes/s, same steps; baseline: setting the same
 *                  bits one at a time.
 *   sync           working-set pages synced/s (the 100 ms steps' syncs
 *                  alone); baseline: a plain OR of two word arrays.
 *   send round     pages sent/s in one unlimited round of the whole
 *                  all-dirty guest; baseline: a per-page test-clear-classify
 *                  loop over a same-size bitmap.
 *   send 13 MB     pages/s sending 13 MB windows out of the dirty working
 *                  set (normal pages); baseline: the per-page loop.
 *   send sparse    pages/s in the steady state of a converged migration:
 *                  50 MB/s of uniform writes (1220 pages per 100 ms),
 *                  sync, send; the scan wraps around the whole 1 TiB
 *                  bitmap each window.  Baseline: finding the same pages
 *                  with a word-by-word scan (no summary level).
 *   agg 8 GiB      windows/s of the aggregate model on the guest of
 *                  scenarios/dirty-over-bandwidth.json (8 GiB, 4 GiB
 *                  working set, half the rest zero, uniform writes at
 *                  192 MiB/s over a 128 MiB/s link): advance 100 ms, send
 *                  a 13 MB budget (50 ms cap), sync every 10 windows, the
 *                  migration thread's RAM calls of one pass each.
 *                  Baseline: the same windows in closed form for one
 *                  population, the arithmetic a counts-only model cannot
 *                  do without (write count as a 128-bit division with
 *                  remainder, distinct pages via expm1/log1p, the budget's
 *                  pages as a division, the sync's share).
 *   agg 1 TiB      the same on the 1 TiB guest above at 192 MiB/s: a sync
 *                  every 10 windows over a 64 GiB working set leaves many
 *                  sync periods of distinct density, so the segment list
 *                  sits at its cap (256) and each call merges over it.
 * Goal for page mode: >= 50 M page-dirty events/s (uniform).  Aggregate:
 * a window's RAM work well under the rest of a simulated pass (~100 ns).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "devices/ram.h"

#define PAGE  4096ULL
#define GiB   (1ULL << 30)
#define MS    1000000LL
#define STEPS 100

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void line(const char *name, const char *unit, double model, double base)
{
    printf("%-14s %8.1f M %s/s (baseline %8.1f M %s/s, ratio %.2f)\n", name,
           model / 1e6, unit, base / 1e6, unit, model / base);
}

static struct ram_model *guest_of(enum ram_mode mode, uint64_t ram_bytes,
                                  uint64_t ws_bytes, double zero_fraction,
                                  enum ram_workload wl, uint64_t rate_bps,
                                  gsl_rng *g)
{
    struct ram_cfg c;
    char err[256];

    memset(&c, 0, sizeof(c));
    c.mode = mode;
    c.ram_bytes = ram_bytes;
    c.page_bytes = PAGE;
    c.zero_fraction = zero_fraction;
    c.workload = wl;
    c.working_set_bytes = ws_bytes;
    c.dirty_rate_bps = rate_bps;
    struct ram_model *r = ram_new(&c, g, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "bench_ram: %s\n", err);
        exit(1);
    }
    return r;
}

static struct ram_model *guest(enum ram_workload wl, uint64_t rate_bps,
                               gsl_rng *g)
{
    return guest_of(RAM_MODE_PAGE, 1024 * GiB, 64 * GiB, 0.9, wl, rate_bps, g);
}

/* Empty the migration bitmap so syncs see only new writes. */
static void drain(struct ram_model *r)
{
    struct ram_send s = {0};
    ram_send_pages(r, UINT64_MAX, 1e300, 0, 0, &s);
}

/* Advance STEPS x 100 ms with a sync after each; returns seconds spent in
 * advance and in sync. */
static void dirty_run(struct ram_model *r, double *t_adv, double *t_sync)
{
    *t_adv = *t_sync = 0;
    for (int i = 1; i <= STEPS; i++) {
        double t0 = now_s();
        ram_advance(r, i * 100 * MS);
        double t1 = now_s();
        ram_sync(r);
        *t_adv += t1 - t0;
        *t_sync += now_s() - t1;
    }
}

static volatile uint64_t sink;

#define AGG_RATE   (192ULL << 20) /* B/s */
#define AGG_BUDGET 13421772ULL    /* 128 MiB/s / 10 */

/* The aggregate line: windows of the migration thread's RAM calls. */
static double agg_windows(struct ram_model *r, int windows)
{
    uint64_t sent = 0;
    double t0 = now_s();

    for (int i = 1; i <= windows; i++) {
        struct ram_send w = {0};
        ram_advance(r, i * 100 * MS);
        ram_send_pages(r, AGG_BUDGET, 50 * MS, 2000, 50, &w);
        sent += w.pages;
        if (i % 10 == 0)
            sent += ram_sync(r);
    }
    sink = sent;
    return now_s() - t0;
}

/* Its baseline: the same windows in closed form, one population of ws
 * pages in a guest of n (log1p(-1/m) once, like the model). */
static volatile uint64_t agg_budget = AGG_BUDGET; /* not a constant */

static double agg_closed_form(int windows, uint64_t ws, uint64_t n)
{
    const unsigned __int128 den = (unsigned __int128)PAGE * 1000000000ULL;
    const uint64_t wb = PAGE + RAM_PAGE_HDR_WIRE_BYTES;
    unsigned __int128 rem = 0;
    uint64_t dirty = n, sent = 0;
    double logd = 0, carry = 0, m = (double)ws, l1m = log1p(-1.0 / m);
    double t0 = now_s();

    for (int i = 1; i <= windows; i++) {
        unsigned __int128 num = (unsigned __int128)AGG_RATE * 100 * MS + rem;
        double k = (double)(uint64_t)(num / den);
        rem = num % den;
        logd -= (m - logd) * expm1(k * l1m);
        uint64_t budget = agg_budget;
        uint64_t p = budget / wb + (budget % wb != 0);
        p = p < dirty ? p : dirty;
        dirty -= p;
        sent += p;
        if (i % 10 == 0) {
            double clean = m - (double)(dirty < ws ? dirty : ws);
            double add = logd * clean / m + carry;
            carry = add - floor(add);
            dirty += (uint64_t)add;
            logd = 0;
        }
    }
    sink = sent + dirty;
    return now_s() - t0;
}

int main(void)
{
    const uint64_t ws = 64 * GiB / PAGE, n = 1024 * GiB / PAGE;
    const uint64_t rate = 32 * GiB; /* 838 861 writes per 100 ms step */
    uint64_t *bm = calloc(n / 64, sizeof(uint64_t));
    uint64_t *bm2 = calloc(n / 64, sizeof(uint64_t));
    gsl_rng *g = gsl_rng_alloc(gsl_rng_taus2);
    double ta, ts, t0;

    if (!bm || !bm2 || !g) {
        fprintf(stderr, "bench_ram: out of memory\n");
        return 1;
    }
    gsl_rng_set(g, 1);

    /* dirty uniform */
    struct ram_model *r = guest(RAM_WL_UNIFORM, rate, g);
    drain(r);
    dirty_run(r, &ta, &ts);
    double ev = (double)ram_write_events(r);
    double model = ev / (ta + ts);
    t0 = now_s();
    for (uint64_t i = 0; i < (uint64_t)ev; i++) {
        unsigned long p = gsl_rng_uniform_int(g, ws);
        bm[p / 64] |= 1ULL << (p % 64);
    }
    double base = ev / (now_s() - t0);
    line("dirty uniform", "events", model, base);
    double sync_s = ts;
    ram_free(r);

    /* sync alone: STEPS syncs of the 64 GiB working-set log */
    t0 = now_s();
    for (int i = 0; i < STEPS; i++)
        for (uint64_t w = 0; w < ws / 64; w++) {
            bm2[w] |= bm[w] >> (i & 1);
        }
    sink = bm2[ws / 128];
    line("sync", "pages", (double)ws * STEPS / sync_s,
         (double)ws * STEPS / (now_s() - t0));

    /* dirty sweep */
    r = guest(RAM_WL_SWEEP, rate, g);
    drain(r);
    dirty_run(r, &ta, &ts);
    ev = (double)ram_write_events(r);
    model = ev / (ta + ts);
    memset(bm, 0, ws / 8);
    t0 = now_s();
    for (uint64_t i = 0, p = 0; i < (uint64_t)ev; i++) {
        bm[p / 64] |= 1ULL << (p % 64);
        if (++p == ws)
            p = 0;
    }
    sink = bm[3];
    base = ev / (now_s() - t0);
    line("dirty sweep", "events", model, base);
    ram_free(r);

    /* send round: the whole all-dirty guest in one call */
    r = guest(RAM_WL_UNIFORM, 0, g);
    struct ram_send s = {0};
    t0 = now_s();
    ram_send_pages(r, UINT64_MAX, 1e300, 2000, 50, &s);
    model = (double)s.pages / (now_s() - t0);
    const uint64_t zstart = n - (uint64_t)(0.9 * (double)(n - ws) + 0.5);
    for (uint64_t w = 0; w < n / 64; w++)
        bm[w] = ~0ULL;
    uint64_t pages = 0, wire = 0, zero = 0;
    t0 = now_s();
    for (uint64_t p = 0; p < n; p++) {
        uint64_t bit = 1ULL << (p % 64);
        if (bm[p / 64] & bit) {
            bm[p / 64] &= ~bit;
            pages++;
            if (p >= zstart) {
                zero++;
                wire += RAM_ZERO_PAGE_WIRE_BYTES;
            } else {
                wire += PAGE + RAM_PAGE_HDR_WIRE_BYTES;
            }
        }
    }
    sink = wire + zero;
    base = (double)pages / (now_s() - t0);
    line("send round", "pages", model, base);

    /* send 13 MB windows out of a fully dirty working set */
    gsl_rng_set(g, 2);
    ram_free(r);
    r = guest(RAM_WL_SWEEP, 64 * GiB * 10, g);
    drain(r);
    ram_advance(r, 100 * MS); /* sweeps the whole working set */
    ram_sync(r);
    uint64_t sent = 0;
    t0 = now_s();
    while (ram_dirty_pages(r) > 0) {
        struct ram_send w = {0};
        ram_send_pages(r, 13421772, 50 * MS, 2000, 50, &w);
        sent += w.pages;
    }
    model = (double)sent / (now_s() - t0);
    for (uint64_t w = 0; w < ws / 64; w++)
        bm[w] = ~0ULL;
    pages = wire = 0;
    uint64_t cur = 0;
    t0 = now_s();
    while (pages < ws) {
        uint64_t wb = 0;
        while (wb < 13421772 && pages < ws) {
            while (!(bm[cur / 64] & (1ULL << (cur % 64))))
                cur = cur + 1 == ws ? 0 : cur + 1;
            bm[cur / 64] &= ~(1ULL << (cur % 64));
            wb += PAGE + RAM_PAGE_HDR_WIRE_BYTES;
            pages++;
        }
        wire += wb;
    }
    sink = wire;
    base = (double)pages / (now_s() - t0);
    line("send 13 MB", "pages", model, base);

    /* send sparse: steady state after the first round */
    ram_free(r);
    r = guest(RAM_WL_UNIFORM, 50000000, g);
    drain(r);
    sent = 0;
    double t_send = 0;
    for (int i = 1; i <= 10 * STEPS; i++) {
        struct ram_send w = {0};
        ram_advance(r, i * 100 * MS);
        ram_sync(r);
        t0 = now_s();
        ram_send_pages(r, 13421772, 50 * MS, 2000, 50, &w);
        t_send += now_s() - t0;
        sent += w.pages;
    }
    model = (double)sent / t_send;
    memset(bm, 0, n / 8);
    pages = 0;
    cur = 0;
    t0 = now_s();
    for (int i = 0; i < 10 * STEPS; i++) {
        for (int j = 0; j < 1220; j++) { /* scattered like the writes */
            unsigned long p = gsl_rng_uniform_int(g, ws);
            bm[p / 64] |= 1ULL << (p % 64);
        }
        for (uint64_t k = 0; k < n / 64; k++) { /* one lap */
            uint64_t wd = bm[(cur + k) % (n / 64)];
            while (wd) {
                pages++;
                wd &= wd - 1;
            }
            bm[(cur + k) % (n / 64)] = 0;
        }
        cur = (cur + 12345) % (n / 64);
    }
    sink = pages;
    /* the baseline's time includes its RNG draws; they are ~1 % of it */
    base = (double)pages / (now_s() - t0);
    line("send sparse", "pages", model, base);

    ram_free(r);

    /* aggregate: windows as the migration thread runs them */
    int windows = 2000000;
    r = guest_of(RAM_MODE_AGGREGATE, 8 * GiB, 4 * GiB, 0.5, RAM_WL_UNIFORM,
                 AGG_RATE, NULL);
    model = windows / agg_windows(r, windows);
    base = windows / agg_closed_form(windows, 4 * GiB / PAGE, 8 * GiB / PAGE);
    line("agg 8 GiB", "windows", model, base);
    ram_free(r);
    windows = 200000;
    r = guest_of(RAM_MODE_AGGREGATE, 1024 * GiB, 64 * GiB, 0.9, RAM_WL_UNIFORM,
                 AGG_RATE, NULL);
    model = windows / agg_windows(r, windows);
    base = windows / agg_closed_form(windows, ws, n);
    line("agg 1 TiB", "windows", model, base);

    ram_free(r);
    gsl_rng_free(g);
    free(bm);
    free(bm2);
    return 0;
}
