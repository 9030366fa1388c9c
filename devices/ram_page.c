/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/ram_page.c — the page-level RAM model: the migration bitmap,
 * its summary and the dirty log as 64-bit words; page writes drawn from
 * the RAM's GSL stream; sync and send a word at a time.  Design notes at
 * the top of devices/ram.c; the contract is devices/ram.h.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "devices/ram_priv.h"

/* ---- bitmaps ------------------------------------------------------------ */

/* Set bits [lo, hi) of bm. */
void ram_page_bits_set_range(uint64_t *bm, uint64_t lo, uint64_t hi)
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

/* ---- page mode: writes -------------------------------------------------- */

/*
 * The taus2 generator inline.  GSL's taus and taus2 are L'Ecuyer's
 * three-component Tausworthe generator (taus88; L'Ecuyer 1996,
 * "Maximally equidistributed combined Tausworthe generators"), 32-bit
 * outputs, its state three words.  Calling it through gsl_rng_get is a
 * function-pointer call per draw, a third of a page write; stepping the
 * same state here gives the same numbers.  ram_page_taus_check() verifies
 * that on a clone of the caller's generator before the model relies on it
 * (state layout and outputs), so another GSL build falls back to the
 * call.
 */
struct taus {
    uint32_t s1, s2, s3;
};

static inline uint32_t taus_step(struct taus *t)
{
    uint32_t b;

    b = ((t->s1 << 13) ^ t->s1) >> 19;
    t->s1 = ((t->s1 & 0xfffffffeU) << 12) ^ b;
    b = ((t->s2 << 2) ^ t->s2) >> 25;
    t->s2 = ((t->s2 & 0xfffffff8U) << 4) ^ b;
    b = ((t->s3 << 3) ^ t->s3) >> 11;
    t->s3 = ((t->s3 & 0xfffffff0U) << 17) ^ b;
    return t->s1 ^ t->s2 ^ t->s3;
}

static inline struct taus taus_load(const gsl_rng *rng)
{
    const unsigned long *st = rng->state;

    return (struct taus){(uint32_t)st[0], (uint32_t)st[1], (uint32_t)st[2]};
}

static inline void taus_store(gsl_rng *rng, const struct taus *t)
{
    unsigned long *st = rng->state;

    st[0] = t->s1;
    st[1] = t->s2;
    st[2] = t->s3;
}

bool ram_page_taus_check(const gsl_rng *rng)
{
    if (!rng || (rng->type != gsl_rng_taus2 && rng->type != gsl_rng_taus) ||
        gsl_rng_size(rng) != 3 * sizeof(unsigned long) ||
        gsl_rng_min(rng) != 0 || gsl_rng_max(rng) != 0xffffffffUL)
        return false;
    gsl_rng *c = gsl_rng_clone(rng);
    if (!c)
        return false;
    const unsigned long *st = c->state;
    bool ok =
        st[0] <= 0xffffffffUL && st[1] <= 0xffffffffUL && st[2] <= 0xffffffffUL;
    struct taus t = taus_load(c);
    for (int i = 0; ok && i < 64; i++) {
        uint32_t mine = taus_step(&t);
        ok = gsl_rng_get(c) == mine;
    }
    ok = ok && st[0] == t.s1 && st[1] == t.s2 && st[2] == t.s3;
    gsl_rng_free(c);
    return ok;
}

/* Set log bit p, counting it if new, and list its word (branch-free: the
 * slot is written either way; a full list stays full). */
static inline void log_set(uint64_t *log, uint32_t *llist, size_t *n,
                           size_t cap, uint64_t *fresh, uint64_t p)
{
    uint64_t wi = p / WORD_BITS, w = log[wi];

    log[wi] = w | 1ULL << (p % WORD_BITS);
    *fresh += ((w >> (p % WORD_BITS)) & 1) ^ 1;
    llist[*n] = (uint32_t)wi;
    *n = *n < cap ? *n + 1 : *n;
}

/*
 * k x gsl_rng_uniform_int(rng, range), each setting a log bit: the same
 * draws and the same results as calling it, but with range / n computed
 * once per batch and the per-draw division by that invariant done as a
 * multiply-high, exact for 32-bit operands (ceil(2^64 / d) x n >> 64;
 * Lemire, Kaser, Kurz 2019).  That division was half the cost of a write.
 */
void ram_page_write_uniform(struct ram_model *r, uint64_t range, uint64_t k)
{
    if (k == 0) /* also range == 0: an empty hot set gets no writes */
        return;

    uint64_t *log = r->log;
    uint32_t *llist = r->llist;
    size_t n = r->n_llist, cap = r->llist_cap;
    uint64_t fresh = r->log_new;
    const gsl_rng_type *t = r->rng->type;
    unsigned long (*get)(void *) = t->get;
    void *st = r->rng->state;
    const unsigned long off = t->min;
    const uint64_t scale = (uint64_t)(t->max - off) / range; /* >= 1 */

    if (r->taus_inline && scale > 1) { /* off == 0, max == 2^32 - 1 */
        const uint64_t m = UINT64_MAX / scale + 1;
        struct taus ts = taus_load(r->rng);
        for (uint64_t i = 0; i < k; i++) {
            uint64_t p;
            do
                p = (uint64_t)(((u128)m * taus_step(&ts)) >> 64);
            while (p >= range);
            log_set(log, llist, &n, cap, &fresh, p);
        }
        taus_store(r->rng, &ts);
    } else if (t->max - off <= 0xffffffffUL && scale > 1) {
        const uint64_t m = UINT64_MAX / scale + 1;
        for (uint64_t i = 0; i < k; i++) {
            uint64_t p;
            do
                p = (uint64_t)(((u128)m * (get(st) - off)) >> 64);
            while (p >= range);
            log_set(log, llist, &n, cap, &fresh, p);
        }
    } else {
        for (uint64_t i = 0; i < k; i++) {
            uint64_t p;
            do
                p = (uint64_t)(get(st) - off) / scale;
            while (p >= range);
            log_set(log, llist, &n, cap, &fresh, p);
        }
    }
    r->n_llist = n;
    r->log_new = fresh;
}

/* Set log bits [lo, hi), counting the new ones; listing the words that
 * were clean. */
static void log_set_range(struct ram_model *r, uint64_t lo, uint64_t hi)
{
    if (lo >= hi)
        return;
    uint64_t wlo = lo / WORD_BITS, whi = (hi - 1) / WORD_BITS;

    for (uint64_t wi = wlo; wi <= whi; wi++) {
        uint64_t mask = ~0ULL, w = r->log[wi];
        if (wi == wlo)
            mask &= ~0ULL << (lo % WORD_BITS);
        if (wi == whi)
            mask &= ~0ULL >> (WORD_BITS - 1 - (hi - 1) % WORD_BITS);
        r->log_new += popc64(mask & ~w);
        r->llist[r->n_llist] = (uint32_t)wi;
        r->n_llist += r->n_llist < r->llist_cap;
        r->log[wi] = w | mask;
    }
}

void ram_page_write_sweep(struct ram_model *r, uint64_t k)
{
    uint64_t ws = r->ws_pages, s = r->sweep_pos;

    if (k >= ws) {
        log_set_range(r, 0, ws);
    } else if (s + k <= ws) {
        log_set_range(r, s, s + k);
    } else {
        log_set_range(r, s, ws);
        log_set_range(r, 0, s + k - ws);
    }
}

/* Hot writes are drawn binomially per call (one draw, not one per write),
 * then placed: the hot ones uniformly in the hot set, the others uniformly
 * over the whole working set. */
void ram_page_write_hotcold(struct ram_model *r, uint64_t k)
{
    while (k > 0) {
        unsigned int chunk = k > 0x7fffffffULL ? 0x7fffffffU : (unsigned)k;
        unsigned int hot =
            r->hot_pages
                ? gsl_ran_binomial(r->rng, r->hot_write_fraction, chunk)
                : 0;

        ram_page_write_uniform(r, r->hot_pages, hot);
        ram_page_write_uniform(r, r->ws_pages, chunk - hot);
        k -= chunk;
    }
}

/* ---- sync ---------------------------------------------------------------- */

/* Bring sum up to date for the words synced since it last was. */
static void flush_pend(struct ram_model *r)
{
    const uint64_t *mig = r->mig;
    uint64_t *sum = r->sum;

    for (size_t j = 0; j < r->n_pend; j++) {
        uint32_t i = r->pend[j];
        if (mig[i])
            sum[i / WORD_BITS] |= 1ULL << (i % WORD_BITS);
    }
    if (r->n_pend)
        r->sum_any = true;
    r->n_pend = 0;
}

/* OR the log into the migration bitmap, count the 0 -> 1 bits, clear the
 * log.  When few words were written, only the listed log words are
 * visited (when many, a sequential pass over the log is cheaper), so a sync
 * costs in proportion to the words written since the last one, not to the
 * working set (the seed case's 44 000 syncs of a few hundred pages each used to
 * read 2048 words each); words that were clean in the migration bitmap go
 * to the pending list instead of setting their summary bit.  The counts do
 * not depend on the order of the words. */
uint64_t ram_page_sync(struct ram_model *r)
{
    uint64_t *mig = r->mig, *log = r->log;
    uint64_t added = 0;
    size_t n = r->n_llist;

    bool full = n >= r->llist_cap;

    if (!full && r->dirty_pages == 0 && r->n_pend == 0) {
        /* a clean bitmap (all words 0, its summary too): the log becomes
         * the bitmap, the clean bitmap the log, the log's words the
         * pending list; its new pages are what the OR would add */
        uint32_t *l = r->llist;
        r->mig = log;
        r->log = mig;
        r->llist = r->pend;
        r->pend = l;
        r->n_pend = n;
        r->n_llist = 0;
        added = r->log_new;
        r->log_new = 0;
        return added;
    }
    r->log_new = 0;
    if (full) {
        /* many words: a sequential pass over the log is cheaper than the
         * list's scattered accesses (cache misses on a large guest); it
         * sets the summary bits itself */
        flush_pend(r);
        uint64_t *sum = r->sum;
        for (size_t i = 0; i < r->log_words; i++) {
            uint64_t l = log[i];
            if (l) {
                added += popc64(l & ~mig[i]);
                mig[i] |= l;
                log[i] = 0;
                sum[i / WORD_BITS] |= 1ULL << (i % WORD_BITS);
            }
        }
        r->sum_any = true;
        r->n_llist = 0;
        return added;
    }
    if (r->n_pend + n > r->llist_cap)
        flush_pend(r);
    uint32_t *pend = r->pend;
    size_t np = r->n_pend;
    for (size_t j = 0; j < n; j++) {
        uint32_t i = r->llist[j];
        uint64_t l = log[i], m = mig[i];
        if (!l) /* a repeat, already taken */
            continue;
        added += popc64(l & ~m);
        mig[i] = m | l;
        log[i] = 0;
        pend[np] = i;
        np += m == 0;
    }
    r->n_pend = np;
    r->n_llist = 0;
    return added;
}

/* ---- send ---------------------------------------------------------------- */

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

/*
 * Every dirty page at once, when the budget is known to let them all go:
 * the same pages, counts, cost and cursor as the loop below (the cursor
 * ends after the last page that loop would send: the highest dirty page
 * below the cursor if there is one, else the highest of all), visiting
 * only the words the summary marks.
 */
static void send_all(struct ram_model *r, struct budget *b)
{
    uint64_t *bm = r->mig, *sum = r->sum;
    uint64_t cur = r->cursor >= r->n_pages ? 0 : r->cursor;
    uint64_t last_any = 0, last_below = 0;
    bool below = false, any = false;
    uint64_t dz = r->dirty_zero_pages, dn = r->dirty_pages - dz;

    /* the words sum marks, in address order */
    for (size_t s = 0; r->sum_any && s < r->sum_words; s++) {
        uint64_t m = sum[s];
        if (!m)
            continue;
        sum[s] = 0;
        do {
            size_t wi = s * WORD_BITS + (size_t)__builtin_ctzll(m);
            uint64_t w = bm[wi], base = (uint64_t)wi * WORD_BITS;
            m &= m - 1;
            bm[wi] = 0;
            last_any = base + 63 - (uint64_t)__builtin_clzll(w);
            any = true;
            if (base < cur) {
                uint64_t wb = cur - base >= WORD_BITS
                                  ? w
                                  : w & ((1ULL << (cur - base)) - 1);
                if (wb) {
                    last_below = base + 63 - (uint64_t)__builtin_clzll(wb);
                    below = true;
                }
            }
        } while (m);
    }
    r->sum_any = false;
    /* the pending words, in any order: first the highest word and the
     * highest below the cursor's word (a scan of the list only), then
     * their pages, then every listed word cleared */
    const uint32_t *pl = r->pend;
    size_t np = r->n_pend;
    uint64_t curw = cur / WORD_BITS;
    /* four independent maxima (no chain of dependent selects); word
     * indices + 1 so that 0 means none */
    uint64_t mw[4] = {0, 0, 0, 0}, mb[4] = {0, 0, 0, 0};
    bool hascur = false;
    size_t j = 0;
    for (; j + 4 <= np; j += 4) {
        for (int u = 0; u < 4; u++) {
            uint64_t x = (uint64_t)pl[j + (size_t)u] + 1;
            mw[u] = x > mw[u] ? x : mw[u];
            uint64_t xb = x <= curw ? x : 0;
            mb[u] = xb > mb[u] ? xb : mb[u];
            hascur |= x == curw + 1;
        }
    }
    for (; j < np; j++) {
        uint64_t x = (uint64_t)pl[j] + 1;
        mw[0] = x > mw[0] ? x : mw[0];
        uint64_t xb = x <= curw ? x : 0;
        mb[0] = xb > mb[0] ? xb : mb[0];
        hascur |= x == curw + 1;
    }
    for (int u = 1; u < 4; u++) {
        mw[0] = mw[u] > mw[0] ? mw[u] : mw[0];
        mb[0] = mb[u] > mb[0] ? mb[u] : mb[0];
    }
    uint64_t maxw = mw[0] - 1, maxb = mb[0] - 1;
    bool hasb = mb[0] != 0;
    if (np) {
        uint64_t hi =
            maxw * WORD_BITS + 63 - (uint64_t)__builtin_clzll(bm[maxw]);
        last_any = !any || hi > last_any ? hi : last_any;
        any = true;
        uint64_t wb = hascur ? bm[curw] & ((1ULL << (cur % WORD_BITS)) - 1) : 0;
        uint64_t lo = 0;
        bool has = false;
        if (wb) {
            lo = curw * WORD_BITS + 63 - (uint64_t)__builtin_clzll(wb);
            has = true;
        } else if (hasb) {
            lo = maxb * WORD_BITS + 63 - (uint64_t)__builtin_clzll(bm[maxb]);
            has = true;
        }
        if (has) {
            last_below = !below || lo > last_below ? lo : last_below;
            below = true;
        }
        for (size_t k = 0; k < np; k++)
            bm[pl[k]] = 0;
    }
    r->n_pend = 0;
    r->cursor = (below ? last_below : last_any) + 1;
    b->wire += dn * b->wb[0] + dz * b->wb[1];
    b->n[0] += dn;
    b->n[1] += dz;
    b->cost = budget_cost(b, b->n[0], b->n[1]);
    r->dirty_pages = 0;
    r->dirty_zero_pages = 0;
}

/* Would the budget still be open after every dirty page went?  Then the
 * per-page checks let each of them go (the wire bytes and the cost only
 * grow), and the round ends with nothing left. */
static bool all_fit(const struct ram_model *r, const struct budget *b)
{
    uint64_t dz = r->dirty_zero_pages, dn = r->dirty_pages - dz, wn, wz, w;

    if (__builtin_mul_overflow(dn, b->wb[0], &wn) ||
        __builtin_mul_overflow(dz, b->wb[1], &wz) ||
        __builtin_add_overflow(wn, wz, &w) ||
        __builtin_add_overflow(w, b->wire, &w))
        return false;
    return w < b->max_wire &&
           budget_cost(b, b->n[0] + dn, b->n[1] + dz) < b->max_cost;
}

void ram_page_send(struct ram_model *r, struct budget *b, bool *done)
{
    uint64_t *bm = r->mig;

    if (r->dirty_pages && !budget_stop(b) && all_fit(r, b)) {
        send_all(r, b);
        *done = true;
        return;
    }
    flush_pend(r);
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
        uint64_t cnt = popc64(sub);
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
