/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/ram_agg.c — the aggregate RAM model: a sorted list of segments
 * with dirty-page counts, expected-value writes, sync and send.  Design
 * notes at the top of devices/ram.c; the contract is devices/ram.h.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "devices/ram_priv.h"

/* ---- aggregate mode: segments ------------------------------------------- */

int ram_agg_seg_reserve(struct ram_model *r, size_t extra)
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

int ram_agg_seg_room(struct ram_model *r)
{
    if (r->error)
        return -1;
    if (r->n_segs + SEG_SLACK <= r->cap_segs) /* the usual case, no call */
        return 0;
    if (ram_agg_seg_reserve(r, SEG_SLACK) < 0) {
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
 * has reserved room (ram_agg_seg_room). */
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
 * (ram_agg_seg_room).
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
void ram_agg_seg_merge(struct ram_model *r)
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

uint64_t ram_agg_sync_sweep(struct ram_model *r)
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

uint64_t ram_agg_sync_random(struct ram_model *r)
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

/* Population sizes of the random workloads: [0] hot (the whole working
 * set for uniform), [1] cold (empty for uniform). */
void ram_agg_pop_sizes(const struct ram_model *r, uint64_t m[2])
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
void ram_agg_factors(const struct ram_model *r, uint64_t k,
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

void ram_agg_write(struct ram_model *r, uint64_t k)
{
    uint64_t ws = r->ws_pages;
    unsigned char how[2];
    double f[2];

    if (r->wl == RAM_WL_SWEEP) {
        r->swept = k >= ws - r->swept ? ws : r->swept + k;
        return;
    }
    ram_agg_factors(r, k, how, f);
    ram_agg_apply(r, how, f);
}

/* ---- send ---------------------------------------------------------------- */

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
/* agg_cut_in_place's conditions: would it apply (changing nothing)? */
static bool agg_cut_ok(const struct ram_model *r, size_t i, uint64_t cut,
                       uint64_t left, double tol)
{
    const struct seg *s = r->segs;
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
    return !(seg_mergeable(&a, &b, tol) ||
             (i + 1 < n && seg_mergeable(&b, &s[i + 1], tol)));
}

static bool agg_cut_in_place(struct ram_model *r, size_t i, uint64_t cut,
                             uint64_t left, double tol)
{
    struct seg *s = r->segs;

    if (!agg_cut_ok(r, i, cut, left, tol))
        return false;
    s[i - 1].end = cut;
    s[i].start = cut;
    s[i].dirty = left;
    r->mlo = r->mhi = i - 1; /* grew: its pair with i - 2 is open again */
    return true;
}

void ram_agg_send(struct ram_model *r, struct budget *b, bool *done)
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
    ram_agg_seg_merge(r);
    r->cur_seg = SIZE_MAX; /* indices moved: find the cursor next time */
}

/*
 * ram_send_pages in aggregate mode, the case of nearly every pass: the
 * cursor at the start of the segment it was left at, and the budget
 * running out inside that segment, so one agg_cut_in_place ends the call.
 * The same steps and arithmetic as ram_agg_send (budget_stop, budget_allow,
 * budget_charge on an empty budget), on scalars instead of a budget in
 * memory.  Returns false, having changed nothing, when any step would take
 * another branch there; ram_agg_send then does the call.
 */
/* The fast send's plan: its segment i, class z, pages p and cut; false
 * when the fast path does not apply (nothing changed). */
static bool agg_fast_plan(const struct ram_model *r, uint64_t max_wire,
                          double max_cost, double ns0, double ns1, size_t *pi,
                          int *pz, uint64_t *pp, uint64_t *pcut)
{
    size_t i = r->cur_seg;

    if (r->error || r->n_segs + SEG_SLACK > r->cap_segs ||
        r->dirty_pages == 0 || r->cursor >= r->n_pages || i >= r->n_segs ||
        r->segs[i].start != r->cursor)
        return false;
    const struct seg *s = &r->segs[i];
    int z = s->pop == POP_ZERO;
    uint64_t dirty = s->dirty, rm;
    /* budget_stop() of the empty budget, then budget_allow(z, dirty) */
    if (max_wire == 0 || (double)0 * ns0 + (double)0 * ns1 >= max_cost ||
        dirty == 0)
        return false;
    uint64_t p = fdiv_qr(&r->wire_div[z], max_wire, &rm);
    p += rm != 0;
    if (p >= dirty) /* the whole segment goes: ram_agg_send goes on */
        return false;
    uint64_t n0 = z ? 0 : p, n1 = z ? p : 0;
    double nsz = z ? ns1 : ns0;
    if (nsz > 0 && (double)(n0 - !z) * ns0 + (double)(n1 - z) * ns1 >= max_cost)
        return false; /* the cost limit may stop it earlier */
    uint64_t cut = s->start + muldiv(p, s->end - s->start, dirty);
    if (!agg_cut_ok(r, i, cut, dirty - p, is_random_wl(r->wl) ? 2 : 0))
        return false;
    *pi = i;
    *pz = z;
    *pp = p;
    *pcut = cut;
    return true;
}

bool ram_agg_send_peek(const struct ram_model *r, uint64_t max_wire,
                       double max_cost, double ns0, double ns1,
                       struct ram_send *out)
{
    size_t i;
    int z;
    uint64_t p, cut;

    if (!agg_fast_plan(r, max_wire, max_cost, ns0, ns1, &i, &z, &p, &cut))
        return false;
    uint64_t n0 = z ? 0 : p, n1 = z ? p : 0;
    out->pages = p;
    out->zero_pages = n1;
    out->wire_bytes = p * r->wire_div[z].d;
    out->cost_ns = (double)n0 * ns0 + (double)n1 * ns1;
    out->round_done = false;
    return true;
}

uint64_t ram_agg_send_repeat(struct ram_model *r, uint64_t n, uint64_t max_wire,
                             double max_cost, double ns0, double ns1)
{
    size_t i;
    int z, z0 = -1;
    uint64_t p, cut, k;

    for (k = 0; k < n; k++) {
        if (!agg_fast_plan(r, max_wire, max_cost, ns0, ns1, &i, &z, &p, &cut))
            break;
        if (z0 < 0)
            z0 = z;
        if (z != z0) /* another class: another outcome */
            break;
        struct seg *s = &r->segs[i];
        s[-1].end = cut; /* agg_cut_in_place, its conditions checked */
        s->start = cut;
        s->dirty -= p;
        r->mlo = r->mhi = i - 1;
        r->dirty_pages -= p;
        if (z)
            r->dirty_zero_pages -= p;
        r->cursor = cut;
    }
    return k;
}

bool ram_agg_send_fast(struct ram_model *r, uint64_t max_wire, double max_cost,
                       double ns0, double ns1, struct ram_send *out)
{
    size_t i;
    int z;
    uint64_t p, cut;

    if (!agg_fast_plan(r, max_wire, max_cost, ns0, ns1, &i, &z, &p, &cut))
        return false;
    struct seg *s = &r->segs[i];
    uint64_t dirty = s->dirty;
    uint64_t n0 = z ? 0 : p, n1 = z ? p : 0;
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
