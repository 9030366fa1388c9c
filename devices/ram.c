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
 *     in place (agg_send_fast, agg_cut_in_place) when the merge would do
 *     exactly that; otherwise the pieces are merged by a pass over only the
 *     segments changed since the last merge (seg_merge_pass), which leaves
 *     what a pass over all of them would.
 * A steady pass (no sync, no phase change) is O(1) and costs ~50 ns.
 */
#include "devices/ram.h"
#include "base/err.h"

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

/* Division by a divisor fixed at setup, without a divide instruction: the
 * multiply-high estimate x * floor((2^64 - 1) / d) / 2^64 is at most one
 * below floor(x / d), and the remainder test fixes it, so the quotient and
 * remainder are exact for every 64-bit x. */
struct fdiv {
    uint64_t d, m; /* divisor (> 0), floor((2^64 - 1) / d) */
};

enum { TF_SAME = 0, TF_ONE = 1, TF_F = 2 }; /* touched(): d, 1, d - (m - d) f */

/*
 * ram_advance pieces of one length at one rate: a migration thread pass
 * per 100 ms window advances the same dt at a steady rate again and again.
 * rate x dt = q0 x (page_bytes x 1e9) + r0, so each such piece writes q0
 * or q0 + 1 pages (carry from the remainder) with no division; for the
 * random aggregate workloads the touched() factors of both counts are
 * kept too (filled when first needed), so no expm1 either.
 */
struct acache {
    int64_t dt_ns;     /* 0: empty (pieces are never empty) */
    uint64_t rate_bps; /* eff_rate_bps */
    uint64_t q0, r0;   /* q0 < UINT64_MAX */
    bool ok[2];        /* factors for q0 + carry filled */
    unsigned char how[2][2];
    double f[2][2]; /* [carry][population] */
};

#define ACACHE_N 4 /* a power of 2 */

/* Fields the per-pass calls use come first, packed into a few cache lines
 * (a simulated pass touches the model once between much other work); the
 * phase table and the page-mode and setup-only fields follow. */
struct ram_model {
    enum ram_mode mode;
    enum ram_workload wl; /* behaviour: phase_base when phased */

    /* Time and rate. */
    int64_t now_ns;
    unsigned n_phases, next_phase;
    uint64_t eff_rate_bps; /* rate x scale, rounded to whole bytes/s */
    uint64_t write_rem;    /* byte.ns carried, < page_bytes x 1e9 */
    uint64_t write_events;
    struct fdiv write_div;   /* page_bytes x 1e9 */
    struct fdiv wire_div[2]; /* wire bytes per page: normal, zero */

    /* Migration view. */
    uint64_t dirty_pages;
    uint64_t dirty_zero_pages;
    uint64_t cursor;    /* next page the scan looks at */
    uint64_t sweep_pos; /* next working-set page the sweep writes */

    /* Layout, in pages. */
    uint64_t page_bytes;
    uint64_t n_pages;
    uint64_t ws_pages;   /* [0, ws) */
    uint64_t hot_pages;  /* [0, hot) within the working set */
    uint64_t zero_start; /* [zero_start, n) are zero pages */

    /* Aggregate mode. */
    struct seg *segs;
    size_t n_segs, cap_segs;
    /* Segments [mlo, mhi] changed since the last merge (none: mlo > mhi);
     * every other pair of neighbours is known not to merge. */
    size_t mlo, mhi;
    size_t cur_seg;          /* where the cursor's segment may be (a hint) */
    const char *error;       /* sticky: segment list could not grow */
    double log_pop[2];       /* expected distinct pages touched, hot / cold */
    double carry_pop[2];     /* fractional pages carried between syncs */
    uint64_t sweep_sync_pos; /* sweep_pos at the last sync */
    uint64_t swept;          /* pages swept since the last sync, <= ws */
    /* Random workloads: population sizes m (hot, cold; uniform: the
     * working set, nothing), as doubles, and log1p(-1 / m) (m > 1). */
    double pop_md[2], log1m[2];
    uint64_t pop_m[2];
    struct acache ac[ACACHE_N];

    /* Rate before scale, phases, write model. */
    uint64_t rate_bps;
    double scale;
    double hot_write_fraction;
    struct ram_phase phases[RAM_MAX_PHASES];

    /* Page mode. */
    gsl_rng *rng;
    uint64_t *mig;
    uint64_t *log;
    uint64_t *sum; /* bit i set iff mig[i] != 0 */
    size_t mig_words, log_words, sum_words;
};

/* floor(a x b / c), exact; the 128-bit division (a libgcc call) only when
 * a x b does not fit in 64 bits. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t ab;

    if (__builtin_mul_overflow(a, b, &ab))
        return (uint64_t)((u128)a * b / c);
    return ab / c;
}

static struct fdiv fdiv_make(uint64_t d)
{
    return (struct fdiv){d, UINT64_MAX / d};
}

/* floor(x / f->d), with the remainder in *rem. */
static uint64_t fdiv_qr(const struct fdiv *f, uint64_t x, uint64_t *rem)
{
    uint64_t q = (uint64_t)(((u128)x * f->m) >> 64);
    uint64_t rm = x - q * f->d;

    while (rm >= f->d) {
        q++;
        rm -= f->d;
    }
    *rem = rm;
    return q;
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
    double ns[2];          /* per page: [0] normal, [1] zero */
    uint64_t wb[2];        /* wire bytes per page */
    const struct fdiv *wd; /* [2]: division by wb */
    uint64_t wire;
    uint64_t n[2]; /* pages sent by this call: normal, zero */
    double cost;   /* budget_cost(n[0], n[1]), kept by budget_charge */
};

static double budget_cost(const struct budget *b, uint64_t n_norm,
                          uint64_t n_zero)
{
    return (double)n_norm * b->ns[0] + (double)n_zero * b->ns[1];
}

/* QEMU checks the limits before each page. */
static bool budget_stop(const struct budget *b)
{
    return b->wire >= b->max_wire || b->cost >= b->max_cost;
}

/* Would the cost limit still let a page go after i more pages of class z? */
static bool cost_ok(const struct budget *b, int z, uint64_t i)
{
    uint64_t nn = b->n[0] + (z ? 0 : i), nz = b->n[1] + (z ? i : 0);

    return !(budget_cost(b, nn, nz) >= b->max_cost);
}

/* budget_allow() when the cost limit stops the run before p pages. */
static uint64_t budget_allow_cost(const struct budget *b, int z, uint64_t p)
{
    double est = ceil((b->max_cost - b->cost) / b->ns[z]);
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
    return pc;
}

/*
 * How many of `want` pages of class z (0 normal, 1 zero) may be sent in a
 * row: exactly what a per-page loop of budget_stop() checks would send.
 * At least 1 when !budget_stop(b) and want > 0.
 */
static inline uint64_t budget_allow(const struct budget *b, int z,
                                    uint64_t want)
{
    uint64_t p = want, rm;
    uint64_t left = b->max_wire - b->wire; /* caller: wire < max_wire */
    uint64_t pw = fdiv_qr(&b->wd[z], left, &rm);

    pw += rm != 0;
    if (pw < p)
        p = pw;
    /* The cost after i pages never decreases with i, so when the cost
     * limit lets the p-th page go, it lets all p go (the search would end
     * at p too). */
    if (b->ns[z] > 0 && !(p > 0 && cost_ok(b, z, p - 1)))
        p = budget_allow_cost(b, z, p);
    return p;
}

static void budget_charge(struct budget *b, int z, uint64_t pages)
{
    b->wire += pages * b->wb[z];
    b->n[z] += pages;
    b->cost = budget_cost(b, b->n[0], b->n[1]);
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
    if (r->n_segs + SEG_SLACK <= r->cap_segs) /* the usual case, no call */
        return 0;
    if (seg_reserve(r, SEG_SLACK) < 0) {
        r->error = "ram: out of memory for the aggregate segment list";
        return -1;
    }
    return 0;
}

/* Note that segment i changed (its bounds or dirty count), so the next
 * merge looks at it and its neighbours. */
static void seg_touch(struct ram_model *r, size_t i)
{
    if (i < r->mlo)
        r->mlo = i;
    if (i > r->mhi)
        r->mhi = i;
}

/* Cut segment i at pos (start < pos < end): [start, pos) keeps d_left of
 * its dirty pages, [pos, end) gets the rest.  Returns i + 1.  The caller
 * has reserved room (seg_room). */
static size_t seg_cut(struct ram_model *r, size_t i, uint64_t pos,
                      uint64_t d_left)
{
    struct seg *s = &r->segs[i];
    struct seg right = {pos, s->end, s->dirty - d_left, s->pop};

    assert(r->n_segs < r->cap_segs);
    assert(s->start < pos && pos < s->end && d_left <= s->dirty);
    s->end = pos;
    s->dirty = d_left;
    memmove(&r->segs[i + 2], &r->segs[i + 1],
            (r->n_segs - i - 1) * sizeof(struct seg));
    r->segs[i + 1] = right;
    r->n_segs++;
    if (r->mlo <= r->mhi && r->mhi > i) /* indices after i moved up */
        r->mhi++;
    seg_touch(r, i);
    seg_touch(r, i + 1);
    return i + 1;
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
    const struct seg *s = &r->segs[i];

    if (s->start == pos)
        return i;
    return seg_cut(r, i, pos,
                   muldiv(s->dirty, pos - s->start, s->end - s->start));
}

/*
 * Would a and b merge at tolerance tol: one population, and at most tol
 * pages misplaced, i.e. on the wrong side of the a|b boundary if a and b
 * were one segment with its dirty pages spread evenly?  That count is
 * x / y with x = |dirty_a len_b - dirty_b len_a| and y = len_a + len_b;
 * the test is x <= tol y, which decides exactly as the rounded quotient
 * x / y <= tol does, because tol is 0 or a power of 2 (tol y is exact, and
 * a double above tol y is above tol (1 + 2^-53) y, which x / y rounds
 * above tol), without the division.
 */
static inline bool seg_mergeable(const struct seg *a, const struct seg *b,
                                 double tol)
{
    if (a->pop != b->pop)
        return false;
    if ((a->dirty | b->dirty) == 0) /* x = 0 */
        return true;
    double la = (double)(a->end - a->start), lb = (double)(b->end - b->start);

    return fabs((double)a->dirty * lb - (double)b->dirty * la) <=
           tol * (la + lb);
}

/*
 * One left-to-right pass merging each segment into the one before it (as
 * grown so far) when seg_mergeable.  It decides each pair once, so what it
 * leaves behind is: pairs it kept apart, and pairs whose right segment grew
 * after its left neighbour was decided (those are marked changed, so the
 * next pass decides them again, as a full pass would).  A pair of
 * segments neither of which changed since is one some pass kept apart with
 * the same contents.  So a pass after changes to segments [lo, hi] starts
 * at lo - 1 and stops once it is past hi at a pair of unchanged segments
 * it did not merge into anything: from there on every pair is one an
 * earlier pass kept apart, and a full pass would keep it apart again.
 * [0, n - 1] is a full pass.
 */
static void seg_merge_pass(struct ram_model *r, double tol, size_t lo,
                           size_t hi)
{
    struct seg *sg = r->segs;
    size_t n = r->n_segs, out, i;
    bool copy = false; /* sg[out] is sg[i - 1], unchanged by the pass */
    bool grew = false; /* sg[out] took in segments in this pass */

    if (n < 2 || lo > hi || lo >= n)
        return;
    out = lo ? lo - 1 : 0;
    /* seg_mergeable inline, the doubles of the segment merged into (a)
     * kept from step to step: the same values, half the conversions */
    double la = (double)(sg[out].end - sg[out].start);
    double da = (double)sg[out].dirty;
    for (i = out + 1; i < n; i++) {
        if (copy && i - 1 > hi)
            break;
        struct seg *a = &sg[out], *b = &sg[i];
        double lb = (double)(b->end - b->start), db = (double)b->dirty;
        bool merge =
            a->pop == b->pop && ((a->dirty | b->dirty) == 0 ||
                                 fabs(da * lb - db * la) <= tol * (la + lb));
        if (merge) {
            a->end = b->end;
            a->dirty += b->dirty;
            la = (double)(a->end - a->start);
            da = (double)a->dirty;
            grew = true;
            copy = false;
        } else {
            if (grew)
                seg_touch(r, out);
            if (++out != i)
                sg[out] = *b;
            la = lb;
            da = db;
            grew = false;
            copy = true;
        }
    }
    if (grew)
        seg_touch(r, out);
    if (i < n && out + 1 < i)
        memmove(&sg[out + 1], &sg[i], (n - i) * sizeof(struct seg));
    r->n_segs = out + 1 + (n - i);
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
 * The first pass looks only at the segments changed since the last merge
 * (and their neighbours); it gives what a pass over all of them would.
 */
#define RAM_AGG_MAX_SEGS 256

static void seg_merge(struct ram_model *r)
{
    double tol = is_random_wl(r->wl) ? 2 : 0;
    size_t lo = r->mlo, hi = r->mhi;

    r->mlo = SIZE_MAX;
    r->mhi = 0;
    seg_merge_pass(r, tol, lo, hi);
    if (tol == 0)
        return;
    while (r->n_segs > RAM_AGG_MAX_SEGS) {
        tol *= 2;
        r->mlo = SIZE_MAX; /* a full pass decides every pair again */
        r->mhi = 0;
        seg_merge_pass(r, tol, 0, r->n_segs - 1);
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
        if (s->dirty == s->end - s->start)
            continue;
        added += (s->end - s->start) - s->dirty;
        s->dirty = s->end - s->start;
        seg_touch(r, i);
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
         * sums floored keep each share <= its clean pages.  One divisor
         * for all: a multiply-high each (muldiv when n x cum overflows). */
        struct fdiv by_clean = fdiv_make(clean);
        uint64_t cum = 0, given = 0;
        for (size_t i = 0; i < r->n_segs; i++) {
            struct seg *s = &r->segs[i];
            uint64_t prod, rm;
            if (s->pop != p)
                continue;
            cum += (s->end - s->start) - s->dirty;
            uint64_t upto = __builtin_mul_overflow(n, cum, &prod)
                                ? muldiv(n, cum, clean)
                                : fdiv_qr(&by_clean, prod, &rm);
            if (upto != given) {
                s->dirty += upto - given;
                seg_touch(r, i);
            }
            given = upto;
        }
        added += n;
    }
    return added;
}

/*
 * Expected distinct pages of m touched after k more uniform writes, given
 * d touched: m - (m - d)(1 - 1/m)^k, in a form exact for small k / m:
 * d - (m - d) f with f = expm1(k log1p(-1/m)) = (1-1/m)^k - 1.  Split in
 * two: touched_how() picks the case and the factor (log1m = log1p(-1/m),
 * kept per population), touched_apply() applies it.
 */
static int touched_how(uint64_t m, double k, double log1m, double *f)
{
    *f = 0;
    if (m == 0 || !(k > 0))
        return TF_SAME;
    if (m == 1)
        return TF_ONE;
    *f = expm1(k * log1m);
    return TF_F;
}

static double touched_apply(double d, double m, int how, double f)
{
    if (how == TF_SAME)
        return d;
    if (how == TF_ONE)
        return 1;
    return d - (m - d) * f;
}

/* Population sizes of the random workloads: [0] hot (the whole working
 * set for uniform), [1] cold (empty for uniform). */
static void pop_sizes(const struct ram_model *r, uint64_t m[2])
{
    if (r->wl == RAM_WL_UNIFORM) {
        m[0] = r->ws_pages;
        m[1] = 0;
    } else {
        m[0] = r->hot_pages;
        m[1] = r->ws_pages - r->hot_pages;
    }
}

/* The touched() factors for k writes, per population. */
static void agg_factors(const struct ram_model *r, uint64_t k,
                        unsigned char how[2], double f[2])
{
    double kp[2];

    if (r->wl == RAM_WL_UNIFORM) {
        kp[0] = (double)k;
        kp[1] = 0;
    } else {
        /* hotcold: expected writes per population */
        uint64_t ws = r->ws_pages, hot = r->hot_pages;
        double kd = (double)k, h = r->hot_write_fraction;
        double cold_share = hot ? (double)(ws - hot) / (double)ws : 1.0;
        kp[0] = hot ? kd * h + kd * (1 - h) * (1 - cold_share) : 0;
        kp[1] = hot ? kd * (1 - h) * cold_share : kd;
    }
    for (int p = 0; p < 2; p++)
        how[p] =
            (unsigned char)touched_how(r->pop_m[p], kp[p], r->log1m[p], &f[p]);
}

static void agg_apply(struct ram_model *r, const unsigned char how[2],
                      const double f[2])
{
    r->log_pop[POP_HOT] =
        touched_apply(r->log_pop[POP_HOT], r->pop_md[0], how[0], f[0]);
    if (r->wl == RAM_WL_HOTCOLD)
        r->log_pop[POP_COLD] =
            touched_apply(r->log_pop[POP_COLD], r->pop_md[1], how[1], f[1]);
}

static void agg_write(struct ram_model *r, uint64_t k)
{
    uint64_t ws = r->ws_pages;
    unsigned char how[2];
    double f[2];

    if (r->wl == RAM_WL_SWEEP) {
        r->swept = k >= ws - r->swept ? ws : r->swept + k;
        return;
    }
    agg_factors(r, k, how, f);
    agg_apply(r, how, f);
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
    r->write_events += k; /* apply_writes -> agg_write, factors kept */
    if (!c->ok[carry]) {
        agg_factors(r, k, c->how[carry], c->f[carry]);
        c->ok[carry] = true;
    }
    agg_apply(r, c->how[carry], c->f[carry]);
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

/*
 * A send that ends inside segment i (at the cursor, its start) at cut, the
 * left part [start, cut) now all clean, when segment i - 1 is all clean
 * and of the same population: the general path cuts i at cut and merges.
 * That merge starts at i - 2 or i - 1 (only i - 1 may have changed since
 * the last merge), merges the clean left part into i - 1 (two clean
 * segments always merge) and decides the pairs around the new boundary.
 * When none of those merges anything more, the result is i - 1 grown to
 * cut and i shrunk to [cut, end) with dirty pages left, which is done here
 * in place (no insert, no pass); returns false and changes nothing
 * otherwise.
 */
static bool agg_cut_in_place(struct ram_model *r, size_t i, uint64_t cut,
                             uint64_t left, double tol)
{
    struct seg *s = r->segs;
    size_t n = r->n_segs;

    if (i == 0 || s[i - 1].pop != s[i].pop || s[i - 1].dirty != 0)
        return false;
    if (r->mlo <= r->mhi && !(r->mlo == i - 1 && r->mhi == i - 1))
        return false;
    /* i - 1 changed: the pass decides (i - 2, i - 1) first */
    if (r->mlo == i - 1 && i >= 2 && seg_mergeable(&s[i - 2], &s[i - 1], tol))
        return false;
    struct seg a = {s[i - 1].start, cut, 0, s[i].pop};
    struct seg b = {cut, s[i].end, left, s[i].pop};
    if (seg_mergeable(&a, &b, tol) ||
        (i + 1 < n && seg_mergeable(&b, &s[i + 1], tol)))
        return false;
    s[i - 1].end = cut;
    s[i].start = cut;
    s[i].dirty = left;
    r->mlo = r->mhi = i - 1; /* grew: its pair with i - 2 is open again */
    return true;
}

static void agg_send(struct ram_model *r, struct budget *b, bool *done)
{
    size_t i = SIZE_MAX; /* the segment starting at the cursor, once known */

    while (!budget_stop(b)) {
        if (r->dirty_pages == 0) {
            *done = true;
            break;
        }
        if (r->cursor >= r->n_pages) {
            r->cursor = 0;
            i = 0;
        }
        if (i == SIZE_MAX) {
            i = r->cur_seg;
            if (i >= r->n_segs || r->segs[i].start != r->cursor)
                i = r->cursor ? seg_split(r, r->cursor) : 0;
        }
        struct seg *s = &r->segs[i];
        if (s->dirty == 0) {
            r->cursor = s->end;
            i++; /* starts at s->end, unless that is the end of RAM */
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
            seg_touch(r, i);
            r->cursor = s->end;
            i++;
            continue;
        }
        /* The p pages sent sit, on average, in the first p/dirty of the
         * segment (exactly p pages when it is all dirty); cut there, the
         * left part all clean (0 < adv < len since 0 < p < dirty <= len).
         * The budget is spent (p < dirty only when a limit cut it), so
         * this is the last step. */
        uint64_t adv = muldiv(p, s->end - s->start, s->dirty);
        uint64_t cut = s->start + adv;
        r->cursor = cut;
        if (agg_cut_in_place(r, i, cut, s->dirty - p,
                             is_random_wl(r->wl) ? 2 : 0)) {
            r->cur_seg = i;
            return;
        }
        s->dirty -= p;
        i = seg_cut(r, i, cut, 0);
    }
    seg_merge(r);
    r->cur_seg = SIZE_MAX; /* indices moved: find the cursor next time */
}

/*
 * ram_send_pages in aggregate mode, the case of nearly every pass: the
 * cursor at the start of the segment it was left at, and the budget
 * running out inside that segment, so one agg_cut_in_place ends the call.
 * The same steps and arithmetic as agg_send (budget_stop, budget_allow,
 * budget_charge on an empty budget), on scalars instead of a budget in
 * memory.  Returns false, having changed nothing, when any step would take
 * another branch there; agg_send then does the call.
 */
static bool agg_send_fast(struct ram_model *r, uint64_t max_wire,
                          double max_cost, double ns0, double ns1,
                          struct ram_send *out)
{
    size_t i = r->cur_seg;

    if (r->error || r->n_segs + SEG_SLACK > r->cap_segs ||
        r->dirty_pages == 0 || r->cursor >= r->n_pages || i >= r->n_segs ||
        r->segs[i].start != r->cursor)
        return false;
    struct seg *s = &r->segs[i];
    int z = s->pop == POP_ZERO;
    uint64_t dirty = s->dirty, rm;
    /* budget_stop() of the empty budget, then budget_allow(z, dirty) */
    if (max_wire == 0 || (double)0 * ns0 + (double)0 * ns1 >= max_cost ||
        dirty == 0)
        return false;
    uint64_t p = fdiv_qr(&r->wire_div[z], max_wire, &rm);
    p += rm != 0;
    if (p >= dirty) /* the whole segment goes: agg_send goes on */
        return false;
    uint64_t n0 = z ? 0 : p, n1 = z ? p : 0;
    double nsz = z ? ns1 : ns0;
    if (nsz > 0 && (double)(n0 - !z) * ns0 + (double)(n1 - z) * ns1 >= max_cost)
        return false; /* the cost limit may stop it earlier */
    uint64_t cut = s->start + muldiv(p, s->end - s->start, dirty);
    if (!agg_cut_in_place(r, i, cut, dirty - p, is_random_wl(r->wl) ? 2 : 0))
        return false;
    r->dirty_pages -= p;
    if (z)
        r->dirty_zero_pages -= p;
    r->cursor = cut;
    out->pages += p;
    out->zero_pages += n1;
    out->wire_bytes += p * r->wire_div[z].d;
    out->cost_ns += (double)n0 * ns0 + (double)n1 * ns1;
    return true;
}

void ram_send_pages(struct ram_model *r, uint64_t max_wire_bytes,
                    double max_cost_ns, double normal_page_ns,
                    double zero_page_ns, struct ram_send *out)
{
    double ns0 = normal_page_ns > 0 ? normal_page_ns : 0;
    double ns1 = zero_page_ns > 0 ? zero_page_ns : 0;

    if (r->mode == RAM_MODE_AGGREGATE &&
        agg_send_fast(r, max_wire_bytes, max_cost_ns, ns0, ns1, out))
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
        page_send(r, &b, &done);
    else if (seg_room(r) == 0)
        agg_send(r, &b, &done);
    out->pages += b.n[0] + b.n[1];
    out->zero_pages += b.n[1];
    out->wire_bytes += b.wire;
    out->cost_ns += b.cost;
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
    pop_sizes(r, r->pop_m);
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
        r->log = calloc(r->log_words ? r->log_words : 1, sizeof(uint64_t));
        r->sum = calloc(r->sum_words, sizeof(uint64_t));
        if (!r->mig || !r->log || !r->sum) {
            err_set(err, errlen,
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
        r->mlo = SIZE_MAX; /* nothing to merge */
        if (seg_reserve(r, POP_N + SEG_SLACK) < 0) {
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
    free(r->segs);
    free(r);
}
