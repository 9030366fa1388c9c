/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/ram_priv.h — inside the RAM model: the state shared by the two
 * modes, the send budget, and the entry points of each mode.  Private to
 * devices/ram*.c; the contract is devices/ram.h and the design notes are
 * at the top of devices/ram.c.
 *   devices/ram.c       names, rate and time, writes and advance (both
 *                       modes), the sync and send dispatch, setup;
 *   devices/ram_page.c  page mode: bitmaps, page writes, sync, send;
 *   devices/ram_agg.c   aggregate mode: segments, expected-value writes,
 *                       sync, send.
 */
#ifndef MIGSIM_DEVICES_RAM_PRIV_H
#define MIGSIM_DEVICES_RAM_PRIV_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/ram.h"

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
    bool taus_inline; /* rng is taus/taus2 and ram_page_taus_check passed */
    uint64_t *mig;
    uint64_t *log;
    /* sum: bit i set iff mig[i] != 0, except for the words listed in
     * pend (synced since sum was last brought up to date: their bits may
     * be missing).  llist: the log word of every write since the last
     * sync (repeats allowed), up to llist_cap entries; a full list means
     * "too many: pass over the whole log" (it is then cheaper).  log_new:
     * the pages set in the log since the last sync.  Both lists have
     * llist_cap + 1 slots (a branch-free append writes one past). */
    uint64_t *sum;
    uint32_t *llist, *pend;
    size_t n_llist, n_pend, llist_cap;
    uint64_t log_new;
    bool sum_any; /* some bit of sum may be set */
    size_t mig_words, log_words, sum_words;
};

/* Population count without a call: the baseline x86-64 target has no
 * POPCNT, and __builtin_popcountll is then a libgcc call. */
static inline uint64_t popc64(uint64_t x)
{
#ifdef __POPCNT__
    return (uint64_t)__builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (x * 0x0101010101010101ULL) >> 56;
#endif
}

/* floor(a x b / c), exact; the 128-bit division (a libgcc call) only when
 * a x b does not fit in 64 bits. */
static inline uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t ab;

    if (__builtin_mul_overflow(a, b, &ab))
        return (uint64_t)((u128)a * b / c);
    return ab / c;
}

static inline struct fdiv fdiv_make(uint64_t d)
{
    return (struct fdiv){d, UINT64_MAX / d};
}

/* floor(x / f->d), with the remainder in *rem. */
static inline uint64_t fdiv_qr(const struct fdiv *f, uint64_t x, uint64_t *rem)
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

static inline bool is_random_wl(enum ram_workload w)
{
    return w == RAM_WL_UNIFORM || w == RAM_WL_HOTCOLD;
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

static inline double budget_cost(const struct budget *b, uint64_t n_norm,
                                 uint64_t n_zero)
{
    return (double)n_norm * b->ns[0] + (double)n_zero * b->ns[1];
}

/* QEMU checks the limits before each page. */
static inline bool budget_stop(const struct budget *b)
{
    return b->wire >= b->max_wire || b->cost >= b->max_cost;
}

/* Would the cost limit still let a page go after i more pages of class z? */
static inline bool cost_ok(const struct budget *b, int z, uint64_t i)
{
    uint64_t nn = b->n[0] + (z ? 0 : i), nz = b->n[1] + (z ? i : 0);

    return !(budget_cost(b, nn, nz) >= b->max_cost);
}

/* budget_allow() when the cost limit stops the run before p pages. */
static inline uint64_t budget_allow_cost(const struct budget *b, int z,
                                         uint64_t p)
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

static inline void budget_charge(struct budget *b, int z, uint64_t pages)
{
    b->wire += pages * b->wb[z];
    b->n[z] += pages;
    b->cost = budget_cost(b, b->n[0], b->n[1]);
}

#define SEG_SLACK        8   /* spare segments kept for a send or sync */
#define RAM_AGG_MAX_SEGS 256 /* random workloads: merged down to this */

/* ---- page mode (devices/ram_page.c) ---- */
bool ram_page_taus_check(const gsl_rng *rng);
void ram_page_bits_set_range(uint64_t *bm, uint64_t lo, uint64_t hi);
void ram_page_send(struct ram_model *r, struct budget *b, bool *done);
uint64_t ram_page_sync(struct ram_model *r);
void ram_page_write_uniform(struct ram_model *r, uint64_t range, uint64_t k);
void ram_page_write_sweep(struct ram_model *r, uint64_t k);
void ram_page_write_hotcold(struct ram_model *r, uint64_t k);

/* ---- aggregate mode (devices/ram_agg.c) ---- */

/* d' = m - (m - d)(1 - 1/m)^k in the form d - (m - d) f of ram_agg.c's
 * touched_how(); inline because a fast-forward applies it per pass. */
static inline double touched_apply(double d, double m, int how, double f)
{
    if (how == TF_SAME)
        return d;
    if (how == TF_ONE)
        return 1;
    return d - (m - d) * f;
}

/* The writes of one piece to the log, from its touched() factors. */
static inline void ram_agg_apply(struct ram_model *r,
                                 const unsigned char how[2], const double f[2])
{
    r->log_pop[POP_HOT] =
        touched_apply(r->log_pop[POP_HOT], r->pop_md[0], how[0], f[0]);
    if (r->wl == RAM_WL_HOTCOLD)
        r->log_pop[POP_COLD] =
            touched_apply(r->log_pop[POP_COLD], r->pop_md[1], how[1], f[1]);
}
void ram_agg_factors(const struct ram_model *r, uint64_t k,
                     unsigned char how[2], double f[2]);
bool ram_agg_send_fast(struct ram_model *r, uint64_t max_wire, double max_cost,
                       double ns0, double ns1, struct ram_send *out);
bool ram_agg_send_peek(const struct ram_model *r, uint64_t max_wire,
                       double max_cost, double ns0, double ns1,
                       struct ram_send *out);
uint64_t ram_agg_send_repeat(struct ram_model *r, uint64_t n, uint64_t max_wire,
                             double max_cost, double ns0, double ns1);
void ram_agg_send(struct ram_model *r, struct budget *b, bool *done);
uint64_t ram_agg_sync_random(struct ram_model *r);
uint64_t ram_agg_sync_sweep(struct ram_model *r);
void ram_agg_write(struct ram_model *r, uint64_t k);
void ram_agg_pop_sizes(const struct ram_model *r, uint64_t m[2]);
void ram_agg_seg_merge(struct ram_model *r);
int ram_agg_seg_reserve(struct ram_model *r, size_t extra);
int ram_agg_seg_room(struct ram_model *r);

#endif
