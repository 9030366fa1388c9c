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

void ram_page_write_sweep(struct ram_model *r, uint64_t k)
{
    uint64_t ws = r->ws_pages, s = r->sweep_pos;

    if (k >= ws) {
        ram_page_bits_set_range(r->log, 0, ws);
    } else if (s + k <= ws) {
        ram_page_bits_set_range(r->log, s, s + k);
    } else {
        ram_page_bits_set_range(r->log, s, ws);
        ram_page_bits_set_range(r->log, 0, s + k - ws);
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

/* OR the log into the migration bitmap, count the 0 -> 1 bits, clear the
 * log.  Skipping zero words keeps low-rate syncs cheap; a dense 64 GiB
 * working set (256 K words) takes about 1 ms, mostly the portable popcount
 * (no POPCNT in the baseline x86-64 target). */
uint64_t ram_page_sync(struct ram_model *r)
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

void ram_page_send(struct ram_model *r, struct budget *b, bool *done)
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
