/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/ram.c — guest RAM and its dirtying (see ram.h for the contract).
 *
 * Page mode keeps arrays of 64-bit words: the migration bitmap over all
 * pages, a summary of it (one bit per word: is the word non-zero), and the
 * dirty log over the working set only (the guest never writes elsewhere, so
 * a log over all of RAM would be a scan of zeros at each sync).  Every hot
 * loop works a word at a time: a sync is OR + popcount per word, a sweep
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
 */
#include "devices/ram.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#define NS_PER_S   1000000000ULL
#define WORD_BITS  64
#define MAX_PAGE_B (1ULL << 30)

typedef unsigned __int128 u128;

/* Populations of pages (aggregate segments never straddle two). */
enum { POP_HOT = 0, POP_COLD = 1, POP_OTHER = 2, POP_ZERO = 3, POP_N = 4 };

struct seg {
    uint64_t start, end; /* pages, [start, end) */
    uint64_t dirty;      /* pages set in the migration bitmap */
    int pop;
};

struct ram_model {
    enum ram_mode mode;
    enum ram_workload wl; /* behaviour: phase_base when phased */
    gsl_rng *rng;

    /* Layout, in pages. */
    uint64_t page_bytes;
    uint64_t n_pages;
    uint64_t ws_pages;   /* [0, ws) */
    uint64_t hot_pages;  /* [0, hot) within the working set */
    uint64_t zero_start; /* [zero_start, n) are zero pages */
    double hot_write_fraction;

    /* Time and rate. */
    int64_t now_ns;
    unsigned n_phases, next_phase;
    struct ram_phase phases[RAM_MAX_PHASES];
    uint64_t rate_bps; /* before scale */
    double scale;
    uint64_t eff_rate_bps; /* rate x scale, rounded to whole bytes/s */
    uint64_t write_rem;    /* byte.ns carried, < page_bytes x 1e9 */
    uint64_t write_events;

    /* Migration view. */
    uint64_t dirty_pages;
    uint64_t dirty_zero_pages;
    uint64_t cursor;    /* next page the scan looks at */
    uint64_t sweep_pos; /* next working-set page the sweep writes */

    /* Page mode. */
    uint64_t *mig;
    uint64_t *log;
    uint64_t *sum; /* bit i set iff mig[i] != 0 */
    size_t mig_words, log_words, sum_words;

    /* Aggregate mode. */
    struct seg *segs;
    size_t n_segs, cap_segs;
    double log_pop[2];       /* expected distinct pages touched, hot / cold */
    double carry_pop[2];     /* fractional pages carried between syncs */
    uint64_t sweep_sync_pos; /* sweep_pos at the last sync */
    uint64_t swept;          /* pages swept since the last sync, <= ws */
    const char *error;       /* sticky: segment list could not grow */
};

static void set_err(char *err, unsigned long errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, unsigned long errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    return (uint64_t)((u128)a * b / c);
}

static bool is_random_wl(enum ram_workload w)
{
    return w == RAM_WL_UNIFORM || w == RAM_WL_HOTCOLD;
}

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

/* ---- bitmaps ------------------------------------------------------------ */

/* Set bits [lo, hi) of bm. */
static void bits_set_range(uint64_t *bm, uint64_t lo, uint64_t hi)
{
    if (lo >= hi)
        return;
    uint64_t wlo = lo / WORD_BITS, whi = (hi - 1) / WORD_BITS;
    uint64_t mlo = ~0ULL << (lo % WORD_BITS);
    uint64_t mhi = ~0ULL >> (WORD_BITS - 1 - (hi - 1) % WORD_BITS);

    if (wlo == whi) {
        bm[wlo] |= mlo & mhi;
        return;
    }
    bm[wlo] |= mlo;
    for (uint64_t i = wlo + 1; i < whi; i++)
        bm[i] = ~0ULL;
    bm[whi] |= mhi;
}

/* Bits of word wi whose page is a zero page. */
static uint64_t zero_mask(const struct ram_model *r, uint64_t wi)
{
    uint64_t base = wi * WORD_BITS;

    if (r->zero_start <= base)
        return ~0ULL;
    if (r->zero_start >= base + WORD_BITS)
        return 0;
    return ~0ULL << (r->zero_start - base);
}

/* ---- send budget (shared by both modes) --------------------------------- */

struct budget {
    uint64_t max_wire;
    double max_cost;
    double ns[2];   /* per page: [0] normal, [1] zero */
    uint64_t wb[2]; /* wire bytes per page */
    uint64_t wire;
    uint64_t n[2]; /* pages sent by this call: normal, zero */
};

static double budget_cost(const struct budget *b, uint64_t n_norm,
                          uint64_t n_zero)
{
    return (double)n_norm * b->ns[0] + (double)n_zero * b->ns[1];
}

/* QEMU checks the limits before each page. */
static bool budget_stop(const struct budget *b)
{
    return b->wire >= b->max_wire ||
           budget_cost(b, b->n[0], b->n[1]) >= b->max_cost;
}

/* Would the cost limit still let a page go after i more pages of class z? */
static bool cost_ok(const struct budget *b, int z, uint64_t i)
{
    uint64_t nn = b->n[0] + (z ? 0 : i), nz = b->n[1] + (z ? i : 0);

    return !(budget_cost(b, nn, nz) >= b->max_cost);
}

/*
 * How many of `want` pages of class z (0 normal, 1 zero) may be sent in a
 * row: exactly what a per-page loop of budget_stop() checks would send.
 * At least 1 when !budget_stop(b) and want > 0.
 */
static uint64_t budget_allow(const struct budget *b, int z, uint64_t want)
{
    uint64_t p = want;
    uint64_t left = b->max_wire - b->wire; /* caller: wire < max_wire */
    uint64_t pw = left / b->wb[z] + (left % b->wb[z] != 0);

    if (pw < p)
        p = pw;
    if (b->ns[z] > 0) {
        double now = budget_cost(b, b->n[0], b->n[1]);
        double est = ceil((b->max_cost - now) / b->ns[z]);
        uint64_t pc;

        if (!(est < (double)p)) /* also NaN / inf */
            pc = p;
        else
            pc = est < 1 ? 1 : (uint64_t)est;
        /* pc = first i with !cost_ok(i), capped at p; fix rounding. */
        while (pc > 1 && !cost_ok(b, z, pc - 1))
            pc--;
        while (pc < p && cost_ok(b, z, pc))
            pc++;
        p = pc;
    }
    return p;
}

static void budget_charge(struct budget *b, int z, uint64_t pages)
{
    b->wire += pages * b->wb[z];
    b->n[z] += pages;
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
    u128 den = (u128)r->page_bytes * NS_PER_S;
    u128 num = (u128)r->eff_rate_bps * (uint64_t)dt_ns + r->write_rem;
    u128 k = num / den;

    r->write_rem = (uint64_t)(num % den);
    return k > UINT64_MAX ? UINT64_MAX : (uint64_t)k;
}

/* ---- page mode: writes -------------------------------------------------- */

/*
 * k x gsl_rng_uniform_int(rng, range), each setting a log bit: the same
 * draws and the same results as calling it, but with range / n computed
 * once per batch and the per-draw division by that invariant done as a
 * multiply-high, exact for 32-bit operands (ceil(2^64 / d) x n >> 64;
 * Lemire, Kaser, Kurz 2019).  That division was half the cost of a write.
 */
static void page_write_uniform(struct ram_model *r, uint64_t range, uint64_t k)
{
    if (k == 0) /* also range == 0: an empty hot set gets no writes */
        return;

    uint64_t *log = r->log;
    const gsl_rng_type *t = r->rng->type;
    unsigned long (*get)(void *) = t->get;
    void *st = r->rng->state;
    const unsigned long off = t->min;
    const uint64_t scale = (uint64_t)(t->max - off) / range; /* >= 1 */

    if (t->max - off <= 0xffffffffUL && scale > 1) {
        const uint64_t m = UINT64_MAX / scale + 1;
        for (uint64_t i = 0; i < k; i++) {
            uint64_t p;
            do
                p = (uint64_t)(((u128)m * (get(st) - off)) >> 64);
            while (p >= range);
            log[p / WORD_BITS] |= 1ULL << (p % WORD_BITS);
        }
    } else {
        for (uint64_t i = 0; i < k; i++) {
            uint64_t p;
            do
                p = (uint64_t)(get(st) - off) / scale;
            while (p >= range);
            log[p / WORD_BITS] |= 1ULL << (p % WORD_BITS);
        }
    }
}

static void page_write_sweep(struct ram_model *r, uint64_t k)
{
    uint64_t ws = r->ws_pages, s = r->sweep_pos;

    if (k >= ws) {
        bits_set_range(r->log, 0, ws);
    } else if (s + k <= ws) {
        bits_set_range(r->log, s, s + k);
    } else {
        bits_set_range(r->log, s, ws);
        bits_set_range(r->log, 0, s + k - ws);
    }
}

/* Hot writes are drawn binomially per call (one draw, not one per write),
 * then placed: the hot ones uniformly in the hot set, the others uniformly
 * over the whole working set. */
static void page_write_hotcold(struct ram_model *r, uint64_t k)
{
    while (k > 0) {
        unsigned int chunk = k > 0x7fffffffULL ? 0x7fffffffU : (unsigned)k;
        unsigned int hot =
            r->hot_pages
                ? gsl_ran_binomial(r->rng, r->hot_write_fraction, chunk)
                : 0;

        page_write_uniform(r, r->hot_pages, hot);
        page_write_uniform(r, r->ws_pages, chunk - hot);
        k -= chunk;
    }
}

/* ---- aggregate mode: segments ------------------------------------------- */

static int seg_reserve(struct ram_model *r, size_t extra)
{
    if (r->n_segs + extra <= r->cap_segs)
        return 0;
    size_t cap = r->cap_segs ? r->cap_segs * 2 : 16;
    while (cap < r->n_segs + extra)
        cap *= 2;
    struct seg *s = realloc(r->segs, cap * sizeof(*s));
    if (!s)
        return -1;
    r->segs = s;
    r->cap_segs = cap;
    return 0;
}

/* Index of the segment containing page pos (< n_pages). */
static size_t seg_find(const struct ram_model *r, uint64_t pos)
{
    size_t lo = 0, hi = r->n_segs;

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->segs[mid].start <= pos)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Room for every split one sync or send makes (at most 4) before it
 * merges.  Each public entry point reserves this first. */
#define SEG_SLACK 8

static int seg_room(struct ram_model *r)
{
    if (r->error)
        return -1;
    if (seg_reserve(r, SEG_SLACK) < 0) {
        r->error = "ram: out of memory for the aggregate segment list";
        return -1;
    }
    return 0;
}

/*
 * Make pos (0 < pos < n) a segment boundary, giving each side its share of
 * the dirty pages (exact for all-clean and all-dirty segments).  Returns the
 * index of the segment starting at pos.  The caller has reserved room
 * (seg_room).
 */
static size_t seg_split(struct ram_model *r, uint64_t pos)
{
    size_t i = seg_find(r, pos);
    struct seg *s = &r->segs[i];

    if (s->start == pos)
        return i;
    uint64_t len = s->end - s->start, left = pos - s->start;
    uint64_t d_left = muldiv(s->dirty, left, len);
    struct seg right = {pos, s->end, s->dirty - d_left, s->pop};

    assert(r->n_segs < r->cap_segs);
    s->end = pos;
    s->dirty = d_left;
    memmove(&r->segs[i + 2], &r->segs[i + 1],
            (r->n_segs - i - 1) * sizeof(struct seg));
    r->segs[i + 1] = right;
    r->n_segs++;
    return i + 1;
}

/* Pages that would land on the wrong side of the a|b boundary if a and b
 * were one segment with its dirty pages spread evenly. */
static double seg_misplaced(const struct seg *a, const struct seg *b)
{
    double la = (double)(a->end - a->start), lb = (double)(b->end - b->start);

    return fabs((double)a->dirty * lb - (double)b->dirty * la) / (la + lb);
}

static void seg_merge_pass(struct ram_model *r, double tol)
{
    size_t out = 0;

    for (size_t i = 1; i < r->n_segs; i++) {
        struct seg *a = &r->segs[out], *b = &r->segs[i];
        if (a->pop == b->pop && seg_misplaced(a, b) <= tol) {
            a->end = b->end;
            a->dirty += b->dirty;
        } else {
            r->segs[++out] = *b;
        }
    }
    r->n_segs = r->n_segs ? out + 1 : 0;
}

/*
 * Merge neighbours of one population when that moves (almost) no dirty page.
 * Random workloads: segments cleaned in different sync periods have
 * different densities from then on (each sync adds the same share of every
 * segment's clean pages), and that spread is what moves the scan cursor
 * from round to round, so they stay apart; segments of one period are
 * merged at once.  Up to RAM_AGG_MAX_SEGS, a tolerance of 2 pages absorbs
 * integer rounding; beyond it the tolerance doubles until the list fits
 * (the oldest periods have converged to nearly the same density).
 * Sweep: only exact merges (all clean or all dirty), so sweep stays exact.
 */
#define RAM_AGG_MAX_SEGS 256

static void seg_merge(struct ram_model *r)
{
    if (!is_random_wl(r->wl)) {
        seg_merge_pass(r, 0);
        return;
    }
    double tol = 2;
    seg_merge_pass(r, tol);
    while (r->n_segs > RAM_AGG_MAX_SEGS) {
        tol *= 2;
        seg_merge_pass(r, tol);
    }
}

/* Mark working-set pages [lo, hi) dirty; returns the pages newly set. */
static uint64_t seg_mark(struct ram_model *r, uint64_t lo, uint64_t hi)
{
    uint64_t added = 0;

    if (lo >= hi)
        return 0;
    size_t i = lo ? seg_split(r, lo) : 0;
    if (hi < r->n_pages)
        seg_split(r, hi);
    for (; i < r->n_segs && r->segs[i].start < hi; i++) {
        struct seg *s = &r->segs[i];
        added += (s->end - s->start) - s->dirty;
        s->dirty = s->end - s->start;
    }
    return added;
}

static uint64_t agg_sync_sweep(struct ram_model *r)
{
    uint64_t ws = r->ws_pages, s = r->sweep_sync_pos, k = r->swept;
    uint64_t added;

    if (k >= ws)
        added = seg_mark(r, 0, ws);
    else if (s + k <= ws)
        added = seg_mark(r, s, s + k);
    else
        added = seg_mark(r, s, ws) + seg_mark(r, 0, s + k - ws);
    r->sweep_sync_pos = r->sweep_pos;
    r->swept = 0;
    return added;
}

static uint64_t agg_sync_random(struct ram_model *r)
{
    uint64_t added = 0;

    for (int p = POP_HOT; p <= POP_COLD; p++) {
        uint64_t size =
            p == POP_HOT ? r->hot_pages : r->ws_pages - r->hot_pages;
        uint64_t dirty = 0;
        if (size == 0)
            continue;
        for (size_t i = 0; i < r->n_segs; i++)
            if (r->segs[i].pop == p)
                dirty += r->segs[i].dirty;
        uint64_t clean = size - dirty;
        double want =
            r->log_pop[p] * ((double)clean / (double)size) + r->carry_pop[p];
        uint64_t n = 0;
        if (want >= (double)clean) {
            n = clean;
            r->carry_pop[p] = 0;
        } else if (want > 0) {
            n = (uint64_t)floor(want);
            r->carry_pop[p] = want - (double)n;
        } else {
            r->carry_pop[p] = 0;
        }
        r->log_pop[p] = 0;
        if (n == 0)
            continue;
        /* Split n over the population's segments by clean pages; prefix
         * sums floored keep each share <= its clean pages. */
        uint64_t cum = 0, given = 0;
        for (size_t i = 0; i < r->n_segs; i++) {
            struct seg *s = &r->segs[i];
            if (s->pop != p)
                continue;
            cum += (s->end - s->start) - s->dirty;
            uint64_t upto = muldiv(n, cum, clean);
            s->dirty += upto - given;
            given = upto;
        }
        added += n;
    }
    return added;
}

/* Expected distinct pages of m touched after k more uniform writes, given
 * d touched: m - (m - d)(1 - 1/m)^k, in a form exact for small k / m. */
static double touched(double d, uint64_t m, double k)
{
    if (m == 0 || !(k > 0))
        return d;
    if (m == 1)
        return 1;
    double f = expm1(k * log1p(-1.0 / (double)m)); /* (1-1/m)^k - 1 */
    return d - ((double)m - d) * f;
}

static void agg_write(struct ram_model *r, uint64_t k)
{
    uint64_t ws = r->ws_pages, hot = r->hot_pages;

    if (r->wl == RAM_WL_SWEEP) {
        r->swept = k >= ws - r->swept ? ws : r->swept + k;
        return;
    }
    if (r->wl == RAM_WL_UNIFORM) {
        r->log_pop[POP_HOT] = touched(r->log_pop[POP_HOT], ws, (double)k);
        return;
    }
    /* hotcold: expected writes per population */
    double kd = (double)k, h = r->hot_write_fraction;
    double cold_share = hot ? (double)(ws - hot) / (double)ws : 1.0;
    double k_hot = hot ? kd * h + kd * (1 - h) * (1 - cold_share) : 0;
    double k_cold = hot ? kd * (1 - h) * cold_share : kd;

    r->log_pop[POP_HOT] = touched(r->log_pop[POP_HOT], hot, k_hot);
    r->log_pop[POP_COLD] = touched(r->log_pop[POP_COLD], ws - hot, k_cold);
}

/* ---- writes, both modes ------------------------------------------------- */

static void apply_writes(struct ram_model *r, uint64_t k)
{
    if (k == 0 || r->wl == RAM_WL_IDLE || r->ws_pages == 0)
        return;
    r->write_events += k;
    if (r->mode == RAM_MODE_AGGREGATE) {
        agg_write(r, k);
    } else if (r->wl == RAM_WL_UNIFORM) {
        page_write_uniform(r, r->ws_pages, k);
    } else if (r->wl == RAM_WL_SWEEP) {
        page_write_sweep(r, k);
    } else {
        page_write_hotcold(r, k);
    }
    if (r->wl == RAM_WL_SWEEP)
        r->sweep_pos = (r->sweep_pos + k % r->ws_pages) % r->ws_pages;
}

void ram_advance(struct ram_model *r, int64_t now_ns)
{
    while (r->now_ns < now_ns) {
        int64_t end = now_ns;
        bool at_phase = false;

        if (r->next_phase < r->n_phases &&
            r->phases[r->next_phase].at_ns <= end) {
            end = r->phases[r->next_phase].at_ns;
            at_phase = true;
        }
        apply_writes(r, writes_for(r, end - r->now_ns));
        r->now_ns = end;
        while (at_phase && r->next_phase < r->n_phases &&
               r->phases[r->next_phase].at_ns <= end) {
            r->rate_bps = r->phases[r->next_phase].dirty_rate_bps;
            r->next_phase++;
        }
        update_eff_rate(r);
    }
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

/* OR the log into the migration bitmap, count the 0 -> 1 bits, clear the
 * log.  Skipping zero words keeps low-rate syncs cheap; a dense 64 GiB
 * working set (256 K words) takes about 1 ms, mostly the portable popcount
 * (no POPCNT in the baseline x86-64 target). */
static uint64_t page_sync(struct ram_model *r)
{
    uint64_t *mig = r->mig, *log = r->log;
    uint64_t added = 0;

    for (size_t i = 0; i < r->log_words; i++) {
        uint64_t l = log[i];
        if (l) {
            added += (uint64_t)__builtin_popcountll(l & ~mig[i]);
            mig[i] |= l;
            log[i] = 0;
            r->sum[i / WORD_BITS] |= 1ULL << (i % WORD_BITS);
        }
    }
    return added;
}

uint64_t ram_sync(struct ram_model *r)
{
    uint64_t added = 0;

    if (r->mode == RAM_MODE_PAGE) {
        added = page_sync(r);
    } else if (seg_room(r) < 0) {
        return 0;
    } else if (r->wl == RAM_WL_SWEEP) {
        added = agg_sync_sweep(r);
        seg_merge(r);
    } else if (is_random_wl(r->wl)) {
        added = agg_sync_random(r);
        seg_merge(r);
    }
    r->dirty_pages += added;
    return added;
}

/* ---- send --------------------------------------------------------------- */

/* First non-zero migration-bitmap word at or after wi, wrapping; there must
 * be one (dirty_pages > 0).  Scans the summary, 64 words per step, so a
 * sparse 1 TiB bitmap (4 M words) costs 64 K loads, not 4 M. */
static size_t next_dirty_word(const struct ram_model *r, size_t wi)
{
    const uint64_t *sum = r->sum;
    size_t si;
    uint64_t m;

    if (wi >= r->mig_words)
        wi = 0;
    si = wi / WORD_BITS;
    m = sum[si] & (~0ULL << (wi % WORD_BITS));
    while (m == 0) {
        if (++si == r->sum_words)
            si = 0;
        m = sum[si];
    }
    return si * WORD_BITS + (size_t)__builtin_ctzll(m);
}

static void page_send(struct ram_model *r, struct budget *b, bool *done)
{
    uint64_t *bm = r->mig;

    while (!budget_stop(b)) {
        if (r->dirty_pages == 0) {
            *done = true;
            return;
        }
        uint64_t cur = r->cursor >= r->n_pages ? 0 : r->cursor;
        size_t wi = cur / WORD_BITS;
        uint64_t w = bm[wi] & (~0ULL << (cur % WORD_BITS));

        if (w == 0) {
            wi = next_dirty_word(r, wi + 1);
            w = bm[wi];
        }
        uint64_t base = (uint64_t)wi * WORD_BITS;
        uint64_t zm = zero_mask(r, wi);
        int z = (w & -w & zm) != 0; /* class of the first dirty page */
        uint64_t sub = w & (z ? zm : ~zm);
        uint64_t cnt = (uint64_t)__builtin_popcountll(sub);
        uint64_t p = budget_allow(b, z, cnt);
        uint64_t last;

        if (p == 0) /* cannot happen after !budget_stop; no clz(0) */
            break;

        if (p == cnt) {
            bm[wi] &= ~sub;
            last = 63 - (uint64_t)__builtin_clzll(sub);
        } else {
            uint64_t clr = 0;
            for (uint64_t i = 0; i < p; i++) {
                clr |= sub & -sub;
                sub &= sub - 1;
            }
            bm[wi] &= ~clr;
            last = 63 - (uint64_t)__builtin_clzll(clr);
        }
        if (bm[wi] == 0)
            r->sum[wi / WORD_BITS] &= ~(1ULL << (wi % WORD_BITS));
        budget_charge(b, z, p);
        r->dirty_pages -= p;
        if (z)
            r->dirty_zero_pages -= p;
        r->cursor = base + last + 1;
    }
}

static void agg_send(struct ram_model *r, struct budget *b, bool *done)
{
    while (!budget_stop(b)) {
        if (r->dirty_pages == 0) {
            *done = true;
            break;
        }
        if (r->cursor >= r->n_pages)
            r->cursor = 0;
        size_t i = r->cursor ? seg_split(r, r->cursor) : 0;
        struct seg *s = &r->segs[i];
        if (s->dirty == 0) {
            r->cursor = s->end;
            continue;
        }
        int z = s->pop == POP_ZERO;
        uint64_t p = budget_allow(b, z, s->dirty);

        if (p == 0)
            break;
        budget_charge(b, z, p);
        r->dirty_pages -= p;
        if (z)
            r->dirty_zero_pages -= p;
        if (p == s->dirty) {
            s->dirty = 0;
            r->cursor = s->end;
        } else {
            /* The p pages sent sit, on average, in the first p/dirty of
             * the segment (exactly p pages when it is all dirty). */
            uint64_t len = s->end - s->start;
            uint64_t adv = muldiv(p, len, s->dirty);
            uint64_t cut = s->start + adv;
            s->dirty -= p;
            r->cursor = cut;
            size_t j = seg_split(r, cut); /* then: left all clean */
            r->segs[j].dirty += r->segs[j - 1].dirty;
            r->segs[j - 1].dirty = 0;
        }
    }
    seg_merge(r);
}

void ram_send_pages(struct ram_model *r, uint64_t max_wire_bytes,
                    double max_cost_ns, double normal_page_ns,
                    double zero_page_ns, struct ram_send *out)
{
    struct budget b = {
        .max_wire = max_wire_bytes,
        .max_cost = max_cost_ns,
        .ns = {normal_page_ns > 0 ? normal_page_ns : 0,
               zero_page_ns > 0 ? zero_page_ns : 0},
        .wb = {r->page_bytes + RAM_PAGE_HDR_WIRE_BYTES,
               RAM_ZERO_PAGE_WIRE_BYTES},
    };
    bool done = false;

    if (r->mode == RAM_MODE_PAGE)
        page_send(r, &b, &done);
    else if (seg_room(r) == 0)
        agg_send(r, &b, &done);
    out->pages += b.n[0] + b.n[1];
    out->zero_pages += b.n[1];
    out->wire_bytes += b.wire;
    out->cost_ns += budget_cost(&b, b.n[0], b.n[1]);
    out->round_done = out->round_done || done;
}

/* ---- getters ------------------------------------------------------------ */

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
        set_err(err, errlen, "ram: mode %d is not page or aggregate",
                (int)c->mode);
        return -1;
    }
    if (c->page_bytes == 0 || c->page_bytes > MAX_PAGE_B) {
        set_err(err, errlen, "ram: page_bytes %llu is not in 1..%llu",
                (unsigned long long)c->page_bytes,
                (unsigned long long)MAX_PAGE_B);
        return -1;
    }
    if (c->ram_bytes == 0 || c->ram_bytes % c->page_bytes) {
        set_err(err, errlen,
                "ram: ram_bytes %llu is not a positive multiple of "
                "page_bytes %llu",
                (unsigned long long)c->ram_bytes,
                (unsigned long long)c->page_bytes);
        return -1;
    }
    if (c->working_set_bytes > c->ram_bytes) {
        set_err(err, errlen,
                "ram: working_set_bytes %llu exceeds ram_bytes "
                "%llu",
                (unsigned long long)c->working_set_bytes,
                (unsigned long long)c->ram_bytes);
        return -1;
    }
    if (!(c->zero_fraction >= 0 && c->zero_fraction <= 1)) {
        set_err(err, errlen, "ram: zero_fraction %g is not in [0, 1]",
                c->zero_fraction);
        return -1;
    }
    if ((unsigned)c->workload > RAM_WL_PHASED) {
        set_err(err, errlen, "ram: workload %d is unknown", (int)c->workload);
        return -1;
    }
    enum ram_workload wl = c->workload;
    if (wl == RAM_WL_PHASED) {
        if (c->phase_base != RAM_WL_UNIFORM && c->phase_base != RAM_WL_SWEEP) {
            set_err(err, errlen, "ram: phase_base %s is not uniform or sweep",
                    ram_workload_name(c->phase_base));
            return -1;
        }
        if (c->n_phases > RAM_MAX_PHASES) {
            set_err(err, errlen, "ram: n_phases %u exceeds %d", c->n_phases,
                    RAM_MAX_PHASES);
            return -1;
        }
        for (unsigned i = 1; i < c->n_phases; i++) {
            if (c->phases[i].at_ns < c->phases[i - 1].at_ns) {
                set_err(err, errlen,
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
        set_err(err, errlen,
                "ram: hot_fraction %g / hot_write_fraction %g not in [0, 1]",
                c->hot_fraction, c->hot_write_fraction);
        return -1;
    }
    uint64_t ws = c->working_set_bytes / c->page_bytes;
    if (wl != RAM_WL_IDLE && ws == 0) {
        set_err(err, errlen,
                "ram: working_set_bytes %llu is less than one page for "
                "workload %s",
                (unsigned long long)c->working_set_bytes,
                ram_workload_name(c->workload));
        return -1;
    }
    if (c->mode == RAM_MODE_PAGE) {
        if (!rng) {
            set_err(err, errlen, "ram: page mode needs an rng");
            return -1;
        }
        /* gsl_rng_uniform_int(n) needs n <= max - min */
        uint64_t range = (uint64_t)(gsl_rng_max(rng) - gsl_rng_min(rng));
        if (wl != RAM_WL_SWEEP && wl != RAM_WL_IDLE && ws > range) {
            set_err(err, errlen,
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
        set_err(err, errlen, "ram: no configuration");
        return NULL;
    }
    if (check_cfg(cfg, rng, err, errlen) < 0)
        return NULL;

    struct ram_model *r = calloc(1, sizeof(*r));
    if (!r) {
        set_err(err, errlen, "ram: out of memory");
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

    r->dirty_pages = r->n_pages;
    r->dirty_zero_pages = nzero;

    if (r->mode == RAM_MODE_PAGE) {
        r->mig_words = (size_t)((r->n_pages + WORD_BITS - 1) / WORD_BITS);
        r->log_words = (size_t)((r->ws_pages + WORD_BITS - 1) / WORD_BITS);
        r->sum_words = (r->mig_words + WORD_BITS - 1) / WORD_BITS;
        r->mig = malloc(r->mig_words * sizeof(uint64_t));
        r->log = calloc(r->log_words ? r->log_words : 1, sizeof(uint64_t));
        r->sum = calloc(r->sum_words, sizeof(uint64_t));
        if (!r->mig || !r->log || !r->sum) {
            set_err(err, errlen,
                    "ram: cannot allocate the bitmaps for %llu pages "
                    "(%llu + %llu + %llu bytes): %s",
                    (unsigned long long)r->n_pages,
                    (unsigned long long)(r->mig_words * 8),
                    (unsigned long long)(r->log_words * 8),
                    (unsigned long long)(r->sum_words * 8), strerror(ENOMEM));
            ram_free(r);
            return NULL;
        }
        memset(r->mig, 0, r->mig_words * sizeof(uint64_t));
        bits_set_range(r->mig, 0, r->n_pages);
        bits_set_range(r->sum, 0, r->mig_words);
    } else {
        if (seg_reserve(r, POP_N + SEG_SLACK) < 0) {
            set_err(err, errlen, "ram: out of memory");
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
    free(r->segs);
    free(r);
}
