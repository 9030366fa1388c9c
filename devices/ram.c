/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/ram.c — guest RAM and its dirtying (see ram.h for the contract):
 * what both modes share (names, rate and time, advance, the sync and send
 * dispatch, setup).  Page mode is devices/ram_page.c, aggregate mode
 * devices/ram_agg.c, their shared state devices/ram_priv.h.
 *
 * Page mode keeps arrays of 64-bit words: the migration bitmap over all
 * pages, a summary of it (one bit per word: is the word non-zero), and the
 * dirty log (as large, so that a sync into a clean bitmap is a swap of the
 * two; the guest writes only its working-set words) with the list of its
 * non-zero words, so that a sync visits only the words written
 * since the last one; the summary bits of the words a sync dirtied are set
 * lazily (a pending list), because a send that takes every dirty page (the
 * seed case's every pass) clears them from the lists without the summary.
 * Every hot loop works a word at a time: a sync is OR + popcount per
 * written word, a sweep
 * sets whole words, sending clears all the set bits of a word that lie in
 * one region at once when the budget allows it, and finding the next dirty
 * word goes through the summary (a nearly clean 1 TiB bitmap is 64 K summary
 * words, not 4 M).  The only loop per page is the uniform/hotcold write
 * loop, which needs one RNG draw per write anyway.
 *
 * Aggregate mode keeps no bitmap.  The address space is a short sorted list
 * of segments [start, end) with an integer count of dirty pages each, never
 * straddling a region (hot, cold, other normal, zero).  Within a segment the
 * dirty pages are taken to be spread evenly; that is the one approximation,
 * and it is exact when a segment is all clean or all dirty.
 *   - Random workloads (uniform, hotcold, phased/uniform): the log is an
 *     expected number of distinct pages touched per population (hot, cold),
 *     d' = m - (m - d)(1 - 1/m)^k.  A sync adds log x (1 - D/m) per
 *     population, split over the population's segments in proportion to
 *     their clean pages (writes are uniform within a population, so this is
 *     the expectation whatever the layout of the dirty pages).  Sends cut
 *     segments at the scan cursor; pieces cleaned in the same sync period
 *     are merged, pieces of different periods are not, because their
 *     densities differ from then on and that is what decides where the
 *     cursor stands at the next sync (what is ahead of it is still sent in
 *     this round, what is behind waits for the next, as in page mode).
 *     Fusing them damps the round-to-round drift of the cursor that page
 *     mode shows and put hotcold off by 10 % at high rates.
 *   - Sweep (and phased/sweep): the log is the exact span the sweep cursor
 *     covered since the last sync; a sync marks it dirty.  Segments then
 *     stay all-clean or all-dirty, so sweep in aggregate mode reproduces
 *     page mode exactly (tests/test_ram.c checks equality).  The
 *     independence rule (new = span x (1 - D/m)) is wrong for a sweep: the
 *     span is adjacent to the previous spans, not independent of them.
 * Fractional pages of a sync are carried to the next sync per population,
 * so counts are integers and runs are bit-reproducible.
 *
 * Cost per pass.  The migration thread calls ram_advance and
 * ram_send_pages about once per 100 ms window of simulated time, and a
 * parameter sweep runs millions of those passes, so the aggregate path of a
 * pass avoids everything but a few multiplications, with the same results
 * to the bit as the plain computation (each shortcut below states why):
 *   - write counts: rate x dt is split once per (dt, rate) into whole pages
 *     and a remainder (acache), so a repeated window needs no division; the
 *     random workloads keep the expm1 factors of its two possible counts;
 *   - divisions by the fixed page x 1e9 and wire sizes are multiply-highs
 *     (fdiv), other 128-bit divisions are done in 64 bits when they fit;
 *   - a send that ends inside the segment at the cursor moves one boundary
 *     in place (ram_agg_send_fast, agg_cut_in_place) when the merge would do
 *     exactly that; otherwise the pieces are merged by a pass over only the
 *     segments changed since the last merge (seg_merge_pass), which leaves
 *     what a pass over all of them would.
 * A steady pass (no sync, no phase change) is O(1) and costs ~50 ns.
 */
#include "devices/ram.h"
#include "devices/ram_priv.h"
#include "base/err.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

/* ---- names -------------------------------------------------------------- */

static const char *const wl_names[] = {
    [RAM_WL_IDLE] = "idle",     [RAM_WL_UNIFORM] = "uniform",
    [RAM_WL_SWEEP] = "sweep",   [RAM_WL_HOTCOLD] = "hotcold",
    [RAM_WL_PHASED] = "phased",
};

const char *ram_workload_name(enum ram_workload w)
{
    if ((unsigned)w < sizeof(wl_names) / sizeof(wl_names[0]))
        return wl_names[w];
    return "unknown";
}

int ram_workload_from_name(const char *name, enum ram_workload *w)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < sizeof(wl_names) / sizeof(wl_names[0]); i++) {
        if (strcmp(name, wl_names[i]) == 0) {
            if (w)
                *w = (enum ram_workload)i;
            return 0;
        }
    }
    return -1;
}

/* ---- rate and time ------------------------------------------------------ */

static void update_eff_rate(struct ram_model *r)
{
    double e = (double)r->rate_bps * r->scale;

    if (!(e > 0))
        r->eff_rate_bps = 0;
    else if (e >= 18446744073709551615.0)
        r->eff_rate_bps = UINT64_MAX;
    else
        r->eff_rate_bps = (uint64_t)llround(e);
    if (r->wl == RAM_WL_IDLE)
        r->eff_rate_bps = 0;
}

/* Page writes in dt_ns at the current rate, with the exact remainder. */
static uint64_t writes_for(struct ram_model *r, int64_t dt_ns)
{
    uint64_t num64;

    /* rate x dt + remainder fits in 64 bits (up to 1.8e10 B/s for 1 s): no
     * 128-bit division */
    if (!__builtin_mul_overflow(r->eff_rate_bps, (uint64_t)dt_ns, &num64) &&
        !__builtin_add_overflow(num64, r->write_rem, &num64))
        return fdiv_qr(&r->write_div, num64, &r->write_rem);

    u128 den = (u128)r->page_bytes * NS_PER_S;
    u128 num = (u128)r->eff_rate_bps * (uint64_t)dt_ns + r->write_rem;
    u128 k = num / den;

    r->write_rem = (uint64_t)(num % den);
    return k > UINT64_MAX ? UINT64_MAX : (uint64_t)k;
}

/* ---- writes, both modes ------------------------------------------------- */

static void apply_writes(struct ram_model *r, uint64_t k)
{
    if (k == 0 || r->wl == RAM_WL_IDLE || r->ws_pages == 0)
        return;
    r->write_events += k;
    if (r->mode == RAM_MODE_AGGREGATE) {
        ram_agg_write(r, k);
    } else if (r->wl == RAM_WL_UNIFORM) {
        ram_page_write_uniform(r, r->ws_pages, k);
    } else if (r->wl == RAM_WL_SWEEP) {
        ram_page_write_sweep(r, k);
    } else {
        ram_page_write_hotcold(r, k);
    }
    if (r->wl == RAM_WL_SWEEP)
        r->sweep_pos = (r->sweep_pos + k % r->ws_pages) % r->ws_pages;
}

/* The acache entry for pieces of dt_ns at the current rate; NULL when the
 * count could reach UINT64_MAX (then writes_for clamps it). */
static struct acache *acache_get(struct ram_model *r, int64_t dt_ns)
{
    struct acache *c = &r->ac[((uint64_t)dt_ns * 0x9E3779B97F4A7C15ULL) >> 62];
    uint64_t rate = r->eff_rate_bps, den = r->write_div.d, prod;

    if (c->dt_ns == dt_ns && c->rate_bps == rate)
        return c;
    if (!__builtin_mul_overflow(rate, (uint64_t)dt_ns, &prod)) {
        c->q0 = fdiv_qr(&r->write_div, prod, &c->r0);
    } else {
        u128 p = (u128)rate * (uint64_t)dt_ns;
        if (p / den >= UINT64_MAX)
            return NULL;
        c->q0 = (uint64_t)(p / den);
        c->r0 = (uint64_t)(p % den);
    }
    c->dt_ns = dt_ns;
    c->rate_bps = rate;
    c->ok[0] = c->ok[1] = false;
    return c;
}

/* Apply the writes of dt_ns (> 0) at the current rate: writes_for and
 * apply_writes, the same counts and remainder, from the acache. */
static inline void advance_piece(struct ram_model *r, int64_t dt_ns)
{
    struct acache *c = acache_get(r, dt_ns);

    if (!c) {
        apply_writes(r, writes_for(r, dt_ns));
        return;
    }
    /* rate x dt + rem = q0 x den + (r0 + rem), r0 + rem < 2 den */
    uint64_t gap = r->write_div.d - c->r0; /* > 0 */
    int carry = r->write_rem >= gap;
    uint64_t k = c->q0 + (uint64_t)carry;

    r->write_rem = carry ? r->write_rem - gap : r->write_rem + c->r0;
    if (k == 0 || r->mode != RAM_MODE_AGGREGATE || !is_random_wl(r->wl) ||
        r->ws_pages == 0) {
        apply_writes(r, k);
        return;
    }
    r->write_events += k; /* apply_writes -> ram_agg_write, factors kept */
    if (!c->ok[carry]) {
        ram_agg_factors(r, k, c->how[carry], c->f[carry]);
        c->ok[carry] = true;
    }
    ram_agg_apply(r, c->how[carry], c->f[carry]);
}

/* ram_advance across phase times.  Out of line, so that the usual call
 * (one piece, or nothing) sets up no frame for this loop. */
static __attribute__((noinline)) void advance_to(struct ram_model *r,
                                                 int64_t now_ns)
{
    while (r->now_ns < now_ns) {
        int64_t end = now_ns;
        bool at_phase = false;

        if (r->next_phase < r->n_phases &&
            r->phases[r->next_phase].at_ns <= end) {
            end = r->phases[r->next_phase].at_ns;
            at_phase = true;
        }
        advance_piece(r, end - r->now_ns);
        r->now_ns = end;
        if (!at_phase) /* rate and scale unchanged */
            continue;
        while (r->next_phase < r->n_phases &&
               r->phases[r->next_phase].at_ns <= end) {
            r->rate_bps = r->phases[r->next_phase].dirty_rate_bps;
            r->next_phase++;
        }
        update_eff_rate(r);
    }
}

void ram_advance(struct ram_model *r, int64_t now_ns)
{
    if (r->now_ns >= now_ns) /* asked again for the same time */
        return;
    if (r->next_phase < r->n_phases &&
        r->phases[r->next_phase].at_ns <= now_ns) {
        advance_to(r, now_ns); /* split at phase times */
        return;
    }
    advance_piece(r, now_ns - r->now_ns); /* what advance_to would do */
    r->now_ns = now_ns;
}

/* n pieces of dt at one rate: advance_piece's steps with the acache entry
 * and its factors held (what n ram_advance calls do when no phase time
 * falls inside and the rate stays: the rate only changes at phases and
 * ram_set_dirty_scale). */
void ram_advance_steps(struct ram_model *r, int64_t t0, int64_t dt, uint64_t n)
{
    if (n == 0)
        return;
    ram_advance(r, t0);
    n--;
    int64_t end;
    struct acache *c;
    if (n == 0 || dt <= 0 || r->now_ns != t0 ||
        __builtin_mul_overflow((int64_t)n, dt, &end) ||
        __builtin_add_overflow(end, t0, &end) ||
        (r->next_phase < r->n_phases &&
         r->phases[r->next_phase].at_ns <= end) ||
        r->mode != RAM_MODE_AGGREGATE || !is_random_wl(r->wl) ||
        r->ws_pages == 0 || !(c = acache_get(r, dt))) {
        for (uint64_t i = 1; i <= n; i++)
            ram_advance(r, t0 + (int64_t)i * dt);
        return;
    }
    for (int k = 0; k < 2; k++) {
        if (!c->ok[k]) {
            ram_agg_factors(r, c->q0 + (uint64_t)k, c->how[k], c->f[k]);
            c->ok[k] = true;
        }
    }
    uint64_t gap = r->write_div.d - c->r0, rem = r->write_rem;
    uint64_t q0 = c->q0, ev = 0;
    if (r->wl == RAM_WL_UNIFORM && q0 > 0 && c->how[0][0] == TF_F &&
        c->how[1][0] == TF_F) {
        /* the usual case, one population, the same expression inline */
        double d = r->log_pop[POP_HOT], m = r->pop_md[0];
        double f0 = c->f[0][0], f1 = c->f[1][0];
        for (uint64_t i = 0; i < n; i++) {
            int carry = rem >= gap;
            rem = carry ? rem - gap : rem + c->r0;
            ev += carry;
            d = d - (m - d) * (carry ? f1 : f0);
        }
        r->log_pop[POP_HOT] = d;
        ev += q0 * n;
    } else {
        for (uint64_t i = 0; i < n; i++) {
            int carry = rem >= gap;
            rem = carry ? rem - gap : rem + c->r0;
            uint64_t k = q0 + (uint64_t)carry;
            ev += k;
            if (k)
                ram_agg_apply(r, c->how[carry], c->f[carry]);
        }
    }
    r->write_rem = rem;
    r->write_events += ev;
    r->now_ns = end;
}

void ram_set_dirty_scale(struct ram_model *r, double scale)
{
    if (!(scale > 0))
        scale = 0;
    if (scale > 1)
        scale = 1;
    r->scale = scale;
    update_eff_rate(r);
}

double ram_dirty_rate_bps(const struct ram_model *r)
{
    return (double)r->eff_rate_bps;
}

/* ---- sync --------------------------------------------------------------- */

uint64_t ram_sync(struct ram_model *r)
{
    uint64_t added = 0;

    if (r->mode == RAM_MODE_PAGE) {
        added = ram_page_sync(r);
    } else if (ram_agg_seg_room(r) < 0) {
        return 0;
    } else if (r->wl == RAM_WL_SWEEP) {
        added = ram_agg_sync_sweep(r);
        ram_agg_seg_merge(r);
    } else if (is_random_wl(r->wl)) {
        added = ram_agg_sync_random(r);
        ram_agg_seg_merge(r);
    }
    r->dirty_pages += added;
    return added;
}

/* ---- send --------------------------------------------------------------- */

void ram_send_pages(struct ram_model *r, uint64_t max_wire_bytes,
                    double max_cost_ns, double normal_page_ns,
                    double zero_page_ns, struct ram_send *out)
{
    double ns0 = normal_page_ns > 0 ? normal_page_ns : 0;
    double ns1 = zero_page_ns > 0 ? zero_page_ns : 0;

    if (r->mode == RAM_MODE_AGGREGATE &&
        ram_agg_send_fast(r, max_wire_bytes, max_cost_ns, ns0, ns1, out))
        return;

    struct budget b = {
        .max_wire = max_wire_bytes,
        .max_cost = max_cost_ns,
        .ns = {ns0, ns1},
        .wb = {r->page_bytes + RAM_PAGE_HDR_WIRE_BYTES,
               RAM_ZERO_PAGE_WIRE_BYTES},
        .wd = r->wire_div,
    };
    bool done = false;

    b.cost = budget_cost(&b, 0, 0);
    if (r->mode == RAM_MODE_PAGE)
        ram_page_send(r, &b, &done);
    else if (ram_agg_seg_room(r) == 0)
        ram_agg_send(r, &b, &done);
    out->pages += b.n[0] + b.n[1];
    out->zero_pages += b.n[1];
    out->wire_bytes += b.wire;
    out->cost_ns += b.cost;
    out->round_done = out->round_done || done;
}

/* ---- getters ------------------------------------------------------------ */

bool ram_send_peek(const struct ram_model *r, uint64_t max_wire_bytes,
                   double max_cost_ns, double normal_page_ns,
                   double zero_page_ns, struct ram_send *out)
{
    double ns0 = normal_page_ns > 0 ? normal_page_ns : 0;
    double ns1 = zero_page_ns > 0 ? zero_page_ns : 0;

    memset(out, 0, sizeof(*out));
    return r->mode == RAM_MODE_AGGREGATE &&
           ram_agg_send_peek(r, max_wire_bytes, max_cost_ns, ns0, ns1, out);
}

uint64_t ram_send_repeat(struct ram_model *r, uint64_t n,
                         uint64_t max_wire_bytes, double max_cost_ns,
                         double normal_page_ns, double zero_page_ns)
{
    double ns0 = normal_page_ns > 0 ? normal_page_ns : 0;
    double ns1 = zero_page_ns > 0 ? zero_page_ns : 0;

    if (r->mode != RAM_MODE_AGGREGATE)
        return 0;
    return ram_agg_send_repeat(r, n, max_wire_bytes, max_cost_ns, ns0, ns1);
}

bool ram_send_idle(const struct ram_model *r)
{
    if (r->dirty_pages != 0)
        return false;
    if (r->mode == RAM_MODE_PAGE)
        return r->n_pend == 0;
    /* ram_agg_send: room, no merge pending, the cursor hint already reset */
    return !r->error && r->n_segs + SEG_SLACK <= r->cap_segs &&
           r->mlo > r->mhi && r->cur_seg == SIZE_MAX &&
           r->n_segs <= RAM_AGG_MAX_SEGS;
}

uint64_t ram_dirty_pages(const struct ram_model *r)
{
    return r->dirty_pages;
}

uint64_t ram_dirty_zero_pages(const struct ram_model *r)
{
    return r->dirty_zero_pages;
}

uint64_t ram_total_pages(const struct ram_model *r)
{
    return r->n_pages;
}

uint64_t ram_page_bytes(const struct ram_model *r)
{
    return r->page_bytes;
}

uint64_t ram_write_events(const struct ram_model *r)
{
    return r->write_events;
}

const char *ram_error(const struct ram_model *r)
{
    return r->error;
}

int ram_page_dirty(const struct ram_model *r, uint64_t page)
{
    if (r->mode != RAM_MODE_PAGE || page >= r->n_pages)
        return -1;
    return (int)((r->mig[page / WORD_BITS] >> (page % WORD_BITS)) & 1);
}

/* ---- setup -------------------------------------------------------------- */

static int check_cfg(const struct ram_cfg *c, const gsl_rng *rng, char *err,
                     unsigned long errlen)
{
    if (c->mode != RAM_MODE_PAGE && c->mode != RAM_MODE_AGGREGATE) {
        err_set(err, errlen, "ram: mode %d is not page or aggregate",
                (int)c->mode);
        return -1;
    }
    if (c->page_bytes == 0 || c->page_bytes > MAX_PAGE_B) {
        err_set(err, errlen, "ram: page_bytes %llu is not in 1..%llu",
                (unsigned long long)c->page_bytes,
                (unsigned long long)MAX_PAGE_B);
        return -1;
    }
    if (c->ram_bytes == 0 || c->ram_bytes % c->page_bytes) {
        err_set(err, errlen,
                "ram: ram_bytes %llu is not a positive multiple of "
                "page_bytes %llu",
                (unsigned long long)c->ram_bytes,
                (unsigned long long)c->page_bytes);
        return -1;
    }
    if (c->working_set_bytes > c->ram_bytes) {
        err_set(err, errlen,
                "ram: working_set_bytes %llu exceeds ram_bytes "
                "%llu",
                (unsigned long long)c->working_set_bytes,
                (unsigned long long)c->ram_bytes);
        return -1;
    }
    if (!(c->zero_fraction >= 0 && c->zero_fraction <= 1)) {
        err_set(err, errlen, "ram: zero_fraction %g is not in [0, 1]",
                c->zero_fraction);
        return -1;
    }
    if ((unsigned)c->workload > RAM_WL_PHASED) {
        err_set(err, errlen, "ram: workload %d is unknown", (int)c->workload);
        return -1;
    }
    enum ram_workload wl = c->workload;
    if (wl == RAM_WL_PHASED) {
        if (c->phase_base != RAM_WL_UNIFORM && c->phase_base != RAM_WL_SWEEP) {
            err_set(err, errlen, "ram: phase_base %s is not uniform or sweep",
                    ram_workload_name(c->phase_base));
            return -1;
        }
        if (c->n_phases > RAM_MAX_PHASES) {
            err_set(err, errlen, "ram: n_phases %u exceeds %d", c->n_phases,
                    RAM_MAX_PHASES);
            return -1;
        }
        for (unsigned i = 1; i < c->n_phases; i++) {
            if (c->phases[i].at_ns < c->phases[i - 1].at_ns) {
                err_set(err, errlen,
                        "ram: phases[%u].at_ns %lld is before phases[%u]", i,
                        (long long)c->phases[i].at_ns, i - 1);
                return -1;
            }
        }
        wl = c->phase_base;
    }
    if (wl == RAM_WL_HOTCOLD &&
        !(c->hot_fraction >= 0 && c->hot_fraction <= 1 &&
          c->hot_write_fraction >= 0 && c->hot_write_fraction <= 1)) {
        err_set(err, errlen,
                "ram: hot_fraction %g / hot_write_fraction %g not in [0, 1]",
                c->hot_fraction, c->hot_write_fraction);
        return -1;
    }
    uint64_t ws = c->working_set_bytes / c->page_bytes;
    if (wl != RAM_WL_IDLE && ws == 0) {
        err_set(err, errlen,
                "ram: working_set_bytes %llu is less than one page for "
                "workload %s",
                (unsigned long long)c->working_set_bytes,
                ram_workload_name(c->workload));
        return -1;
    }
    if (c->mode == RAM_MODE_PAGE) {
        if (!rng) {
            err_set(err, errlen, "ram: page mode needs an rng");
            return -1;
        }
        /* gsl_rng_uniform_int(n) needs n <= max - min */
        uint64_t range = (uint64_t)(gsl_rng_max(rng) - gsl_rng_min(rng));
        if (wl != RAM_WL_SWEEP && wl != RAM_WL_IDLE && ws > range) {
            err_set(err, errlen,
                    "ram: working set of %llu pages exceeds the range of "
                    "rng %s (%llu)",
                    (unsigned long long)ws, gsl_rng_name(rng),
                    (unsigned long long)range);
            return -1;
        }
    }
    return 0;
}

struct ram_model *ram_new(const struct ram_cfg *cfg, gsl_rng *rng, char *err,
                          unsigned long errlen)
{
    if (!cfg) {
        err_set(err, errlen, "ram: no configuration");
        return NULL;
    }
    if (check_cfg(cfg, rng, err, errlen) < 0)
        return NULL;

    struct ram_model *r = calloc(1, sizeof(*r));
    if (!r) {
        err_set(err, errlen, "ram: out of memory");
        return NULL;
    }
    r->mode = cfg->mode;
    r->rng = rng;
    r->wl = cfg->workload == RAM_WL_PHASED ? cfg->phase_base : cfg->workload;
    r->page_bytes = cfg->page_bytes;
    r->n_pages = cfg->ram_bytes / cfg->page_bytes;
    r->ws_pages = cfg->working_set_bytes / cfg->page_bytes;
    uint64_t rest = r->n_pages - r->ws_pages;
    uint64_t nzero = (uint64_t)llround(cfg->zero_fraction * (double)rest);
    if (nzero > rest)
        nzero = rest;
    r->zero_start = r->n_pages - nzero;
    r->hot_pages = r->ws_pages;
    if (r->wl == RAM_WL_HOTCOLD) {
        r->hot_pages =
            (uint64_t)llround(cfg->hot_fraction * (double)r->ws_pages);
        if (r->hot_pages == 0 && cfg->hot_fraction > 0)
            r->hot_pages = 1;
        if (r->hot_pages > r->ws_pages)
            r->hot_pages = r->ws_pages;
        r->hot_write_fraction = cfg->hot_write_fraction;
    }

    r->rate_bps = cfg->dirty_rate_bps;
    if (cfg->workload == RAM_WL_PHASED) {
        r->n_phases = cfg->n_phases;
        memcpy(r->phases, cfg->phases, cfg->n_phases * sizeof(r->phases[0]));
        while (r->next_phase < r->n_phases &&
               r->phases[r->next_phase].at_ns <= 0)
            r->rate_bps = r->phases[r->next_phase++].dirty_rate_bps;
    }
    r->scale = 1.0;
    update_eff_rate(r);
    ram_agg_pop_sizes(r, r->pop_m);
    for (int p = 0; p < 2; p++) {
        r->pop_md[p] = (double)r->pop_m[p];
        r->log1m[p] = r->pop_m[p] > 1 ? log1p(-1.0 / (double)r->pop_m[p]) : 0;
    }
    r->write_div = fdiv_make(r->page_bytes * NS_PER_S);
    r->wire_div[0] = fdiv_make(r->page_bytes + RAM_PAGE_HDR_WIRE_BYTES);
    r->wire_div[1] = fdiv_make(RAM_ZERO_PAGE_WIRE_BYTES);

    r->dirty_pages = r->n_pages;
    r->dirty_zero_pages = nzero;

    if (r->mode == RAM_MODE_PAGE) {
        r->mig_words = (size_t)((r->n_pages + WORD_BITS - 1) / WORD_BITS);
        r->log_words = (size_t)((r->ws_pages + WORD_BITS - 1) / WORD_BITS);
        r->sum_words = (r->mig_words + WORD_BITS - 1) / WORD_BITS;
        r->mig = malloc(r->mig_words * sizeof(uint64_t));
        /* the log as large as the migration bitmap: a sync into a clean
         * bitmap swaps the two (only its working-set words are ever
         * written; calloc maps the rest lazily) */
        r->log = calloc(r->mig_words, sizeof(uint64_t));
        r->sum = calloc(r->sum_words, sizeof(uint64_t));
        /* a list of up to 1/32 of the log's words (at least 4096, or the
         * whole log if smaller): beyond that a pass over the log costs less
         * than the list's scattered accesses */
        r->llist_cap = r->log_words / 32;
        size_t small = r->log_words < 4096 ? r->log_words : 4096;
        if (r->llist_cap < small)
            r->llist_cap = small;
        r->llist = malloc((r->llist_cap + 1) * sizeof(uint32_t));
        r->pend = malloc((r->llist_cap + 1) * sizeof(uint32_t));
        r->sum_any = true;
        r->taus_inline = ram_page_taus_check(rng);
        if (r->log_words > UINT32_MAX) {
            err_set(err, errlen,
                    "ram: a working set of %llu pages is too large for page "
                    "mode",
                    (unsigned long long)r->ws_pages);
            ram_free(r);
            return NULL;
        }
        if (!r->mig || !r->log || !r->sum || !r->llist || !r->pend) {
            err_set(err, errlen,
                    "ram: cannot allocate the bitmaps for %llu pages "
                    "(%llu + %llu + %llu bytes): %s",
                    (unsigned long long)r->n_pages,
                    (unsigned long long)(r->mig_words * 8),
                    (unsigned long long)(r->mig_words * 8),
                    (unsigned long long)(r->sum_words * 8), strerror(ENOMEM));
            ram_free(r);
            return NULL;
        }
        memset(r->mig, 0, r->mig_words * sizeof(uint64_t));
        ram_page_bits_set_range(r->mig, 0, r->n_pages);
        ram_page_bits_set_range(r->sum, 0, r->mig_words);
    } else {
        r->mlo = SIZE_MAX; /* nothing to merge */
        if (ram_agg_seg_reserve(r, POP_N + SEG_SLACK) < 0) {
            err_set(err, errlen, "ram: out of memory");
            ram_free(r);
            return NULL;
        }
        uint64_t bound[] = {0, r->hot_pages, r->ws_pages, r->zero_start,
                            r->n_pages};
        for (int p = 0; p < POP_N; p++) {
            if (bound[p + 1] > bound[p])
                r->segs[r->n_segs++] = (struct seg){bound[p], bound[p + 1],
                                                    bound[p + 1] - bound[p], p};
        }
    }
    return r;
}

void ram_free(struct ram_model *r)
{
    if (!r)
        return;
    free(r->mig);
    free(r->log);
    free(r->sum);
    free(r->llist);
    free(r->pend);
    free(r->segs);
    free(r);
}
