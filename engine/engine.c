/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine/engine.c — the discrete-event engine (contract in engine/engine.h).
 *
 * Data structures
 *   heap[]   array binary min-heap of 24-byte entries {t, seq, prio, slot},
 *            ordered by (t, prio, seq).  Sifting moves only these small
 *            entries; the handler pointers stay put in the slot table.
 *   slots[]  one record per scheduled event: handler, subject, arg, the
 *            fingerprint fields, a generation and the entry's heap index
 *            (SLOT_FREE when the slot is on the free list).  Free slots are
 *            chained through next_free, so a slot is reused LIFO.
 *   rng[]    per-stream generators, sorted by stream number (binary search).
 *
 * Both arrays grow by doubling and never shrink, so steady-state scheduling
 * allocates nothing; capacity is the largest number of events ever pending
 * at once.  Every live slot has exactly one heap entry (the running event's
 * slot is released before its handler is called), so heap and slot table
 * share one capacity.
 *
 * Ids: generation << 32 | (slot + 1).  The slot's generation is bumped each
 * time it is released (run or cancelled), so an old id no longer matches.
 * Generations wrap after 2^32 reuses of one slot; an id kept that long
 * could alias a newer event.
 *
 * Costs: schedule, cancel and pop are O(log n) in the pending count n;
 * sim_rng is O(log s) in the number of streams used.
 */
#include "engine/engine.h"

#include <assert.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>

/* The one generator type of every stream (see sim_rng_name). */
#define RNG_TYPE gsl_rng_taus2

#define SLOT_FREE    UINT32_MAX
#define SLOT_NONE    UINT32_MAX
#define INITIAL_CAP  64u
#define MAX_CAP      (UINT32_MAX - 1u)
#define FNV_OFFSET   UINT64_C(14695981039346656037)
#define FNV_PRIME    UINT64_C(1099511628211)
#define STREAM_GAMMA UINT64_C(0xd1b54a32d192ed03)

struct heap_ent {
    sim_time_ns t;
    uint64_t seq;
    int32_t prio;
    uint32_t slot;
};

struct slot {
    sim_event_fn *fn;
    void *subject;
    void *arg;
    uint32_t kind;
    uint32_t subject_id;
    uint32_t gen;
    uint32_t heap_idx;  /* SLOT_FREE if not scheduled */
    uint32_t next_free; /* free-list link, SLOT_NONE at the end */
};

struct rng_ent {
    uint32_t stream;
    gsl_rng *r;
};

struct sim_engine {
    sim_time_ns now;
    uint64_t seed;
    uint64_t seq;
    uint64_t executed;
    uint64_t fingerprint;
    struct heap_ent *heap;
    uint32_t n;   /* pending events = heap entries */
    uint32_t cap; /* capacity of heap[] and slots[] */
    struct slot *slots;
    uint32_t n_slots; /* slots ever handed out (high-water mark) */
    uint32_t free_head;
    bool stop;
    bool running;
    sim_time_ns until;  /* bound of the current sim_run */
    uint64_t run_count; /* events executed by the current sim_run */
    struct rng_ent *rng;
    uint32_t n_rng;
    uint32_t cap_rng;
};

uint64_t sim_splitmix64(uint64_t x)
{
    uint64_t z = x + UINT64_C(0x9e3779b97f4a7c15);

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void sim_gsl_quiet(void)
{
    gsl_set_error_handler_off();
}

struct sim_engine *sim_engine_new(uint64_t seed)
{
    struct sim_engine *e = calloc(1, sizeof(*e));

    if (!e) {
        return NULL;
    }
    e->heap = malloc(INITIAL_CAP * sizeof(*e->heap));
    e->slots = malloc(INITIAL_CAP * sizeof(*e->slots));
    if (!e->heap || !e->slots) {
        free(e->heap);
        free(e->slots);
        free(e);
        return NULL;
    }
    e->cap = INITIAL_CAP;
    e->seed = seed;
    e->fingerprint = FNV_OFFSET;
    e->free_head = SLOT_NONE;
    return e;
}

void sim_engine_free(struct sim_engine *e)
{
    if (!e) {
        return;
    }
    for (uint32_t i = 0; i < e->n_rng; i++) {
        gsl_rng_free(e->rng[i].r);
    }
    free(e->rng);
    free(e->heap);
    free(e->slots);
    free(e);
}

sim_time_ns sim_now(const struct sim_engine *e)
{
    return e->now;
}

uint64_t sim_seed(const struct sim_engine *e)
{
    return e->seed;
}

uint64_t sim_pending(const struct sim_engine *e)
{
    return e->n;
}

uint64_t sim_executed(const struct sim_engine *e)
{
    return e->executed;
}

/* ---- heap ---------------------------------------------------------------- */

static inline bool ent_less(const struct heap_ent *a, const struct heap_ent *b)
{
    if (a->t != b->t) {
        return a->t < b->t;
    }
    if (a->prio != b->prio) {
        return a->prio < b->prio;
    }
    return a->seq < b->seq;
}

/* Place ent at position i and record the position in its slot. */
static inline void heap_put(struct sim_engine *e, uint32_t i,
                            const struct heap_ent *ent)
{
    e->heap[i] = *ent;
    e->slots[ent->slot].heap_idx = i;
}

/* Move the hole at i up until ent fits; returns the final position. */
static uint32_t sift_up(struct sim_engine *e, uint32_t i,
                        const struct heap_ent *ent)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;

        if (!ent_less(ent, &e->heap[parent])) {
            break;
        }
        heap_put(e, i, &e->heap[parent]);
        i = parent;
    }
    heap_put(e, i, ent);
    return i;
}

/* Move the hole at i down until ent fits (heap holds e->n entries). */
static void sift_down(struct sim_engine *e, uint32_t i,
                      const struct heap_ent *ent)
{
    uint32_t n = e->n;

    for (;;) {
        uint32_t c = 2 * i + 1;

        if (c >= n) {
            break;
        }
        if (c + 1 < n && ent_less(&e->heap[c + 1], &e->heap[c])) {
            c++;
        }
        if (!ent_less(&e->heap[c], ent)) {
            break;
        }
        heap_put(e, i, &e->heap[c]);
        i = c;
    }
    heap_put(e, i, ent);
}

/* Remove the entry at heap position i (the caller frees its slot). */
static void heap_remove_at(struct sim_engine *e, uint32_t i)
{
    struct heap_ent last;

    e->n--;
    if (i == e->n) {
        return;
    }
    last = e->heap[e->n];
    if (sift_up(e, i, &last) == i) {
        sift_down(e, i, &last);
    }
}

/* ---- slots --------------------------------------------------------------- */

static int grow(struct sim_engine *e)
{
    uint32_t ncap;
    struct heap_ent *h;
    struct slot *s;

    if (e->cap >= MAX_CAP) {
        return -1;
    }
    ncap = e->cap > MAX_CAP / 2 ? MAX_CAP : e->cap * 2;
    h = realloc(e->heap, (size_t)ncap * sizeof(*h));
    if (!h) {
        return -1;
    }
    e->heap = h;
    s = realloc(e->slots, (size_t)ncap * sizeof(*s));
    if (!s) {
        return -1; /* heap[] is larger than needed; harmless */
    }
    e->slots = s;
    e->cap = ncap;
    return 0;
}

static void slot_release(struct sim_engine *e, uint32_t si)
{
    struct slot *s = &e->slots[si];

    s->gen++;
    s->heap_idx = SLOT_FREE;
    s->next_free = e->free_head;
    e->free_head = si;
}

/* Slot index for an id, or SLOT_NONE if the id is not pending. */
static uint32_t slot_of(const struct sim_engine *e, sim_event_id id)
{
    uint64_t lo = id & 0xffffffffu;
    uint32_t si;

    if (lo == 0 || lo > e->n_slots) {
        return SLOT_NONE;
    }
    si = (uint32_t)(lo - 1);
    if (e->slots[si].gen != (uint32_t)(id >> 32) ||
        e->slots[si].heap_idx == SLOT_FREE) {
        return SLOT_NONE;
    }
    return si;
}

/* ---- scheduling ---------------------------------------------------------- */

sim_event_id sim_at(struct sim_engine *e, sim_time_ns t, int prio,
                    uint32_t kind, uint32_t subject_id, sim_event_fn *fn,
                    void *subject, void *arg)
{
    struct heap_ent ent;
    struct slot *s;
    uint32_t si;

    assert(fn);
    if (e->free_head != SLOT_NONE) {
        si = e->free_head;
        e->free_head = e->slots[si].next_free;
    } else {
        if (e->n_slots == e->cap && grow(e) < 0) {
            return 0;
        }
        si = e->n_slots++;
        e->slots[si].gen = 1;
    }
    s = &e->slots[si];
    s->fn = fn;
    s->subject = subject;
    s->arg = arg;
    s->kind = kind;
    s->subject_id = subject_id;

    ent.t = t < e->now ? e->now : t;
    ent.seq = e->seq++;
    ent.prio = (int32_t)prio;
    ent.slot = si;
    e->n++;
    sift_up(e, e->n - 1, &ent);
    return ((uint64_t)s->gen << 32) | ((uint64_t)si + 1);
}

sim_event_id sim_after(struct sim_engine *e, sim_time_ns delay, int prio,
                       uint32_t kind, uint32_t subject_id, sim_event_fn *fn,
                       void *subject, void *arg)
{
    sim_time_ns t;

    if (delay <= 0) {
        t = e->now;
    } else if (delay > SIM_TIME_MAX - e->now) {
        t = SIM_TIME_MAX;
    } else {
        t = e->now + delay;
    }
    return sim_at(e, t, prio, kind, subject_id, fn, subject, arg);
}

int sim_cancel(struct sim_engine *e, sim_event_id id)
{
    uint32_t si = slot_of(e, id);

    if (si == SLOT_NONE) {
        return -1;
    }
    heap_remove_at(e, e->slots[si].heap_idx);
    slot_release(e, si);
    return 0;
}

/* ---- running ------------------------------------------------------------- */

/* FNV-1a over whole 64-bit words, with an xor-shift after each multiply so
 * high input bits reach the low half: two serial multiplies per event
 * instead of sixteen for the byte-wise form. */
static inline uint64_t fold_word(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= FNV_PRIME;
    return h ^ (h >> 29);
}

static inline uint64_t fold_event(uint64_t h, sim_time_ns t, uint32_t kind,
                                  uint32_t subject_id)
{
    h = fold_word(h, (uint64_t)t);
    return fold_word(h, ((uint64_t)kind << 32) | subject_id);
}

void sim_fingerprint_mix(struct sim_engine *e, uint64_t v)
{
    e->fingerprint = fold_word(e->fingerprint, v);
}

uint64_t sim_fingerprint(const struct sim_engine *e)
{
    return e->fingerprint;
}

uint64_t sim_run(struct sim_engine *e, sim_time_ns until)
{
    assert(!e->running); /* sim_run is not re-entrant */
    e->running = true;
    e->until = until;
    e->run_count = 0;
    while (!e->stop && e->n > 0 && e->heap[0].t <= until) {
        struct heap_ent top = e->heap[0];
        struct slot *s = &e->slots[top.slot];
        sim_event_fn *fn = s->fn;
        void *subject = s->subject;
        void *arg = s->arg;

        e->n--;
        if (e->n > 0) {
            struct heap_ent last = e->heap[e->n];

            sift_down(e, 0, &last);
        }
        e->fingerprint =
            fold_event(e->fingerprint, top.t, s->kind, s->subject_id);
        slot_release(e, top.slot);

        e->now = top.t;
        e->executed++;
        e->run_count++;
        fn(e, subject, arg);
    }
    e->stop = false;
    e->running = false;
    return e->run_count;
}

int sim_advance_inline(struct sim_engine *e, sim_time_ns t, int prio,
                       uint32_t kind, uint32_t subject_id)
{
    if (!e->running || e->stop || t < e->now || t > e->until) {
        return 0;
    }
    if (e->n > 0) {
        const struct heap_ent *top = &e->heap[0];
        if (!(t < top->t || (t == top->t && prio < top->prio))) {
            return 0;
        }
    }
    e->fingerprint = fold_event(e->fingerprint, t, kind, subject_id);
    e->now = t;
    e->executed++;
    e->run_count++;
    return 1;
}

uint64_t sim_inline_room(const struct sim_engine *e, sim_time_ns t0,
                         sim_time_ns dt, uint64_t n, int prio)
{
    if (n == 0 || dt <= 0 || !e->running || e->stop || t0 < e->now) {
        return 0;
    }
    /* the events allowed: t < limit, or t == limit when prio wins */
    sim_time_ns limit = e->until;
    bool at_limit = true;
    if (e->n > 0) {
        const struct heap_ent *top = &e->heap[0];
        if (top->t < limit || (top->t == limit && !(prio < top->prio))) {
            limit = top->t;
            at_limit = prio < top->prio;
        }
    }
    if (t0 > limit || (t0 == limit && !at_limit)) {
        return 0;
    }
    /* how many of t0, t0 + dt, ... are allowed */
    uint64_t k = (uint64_t)(limit - t0) / (uint64_t)dt + 1;
    if ((sim_time_ns)((k - 1) * (uint64_t)dt) == limit - t0 && !at_limit) {
        k--;
    }
    return k < n ? k : n;
}

uint64_t sim_advance_inline_run(struct sim_engine *e, sim_time_ns t0,
                                sim_time_ns dt, uint64_t n, int prio,
                                uint32_t kind, uint32_t subject_id)
{
    n = sim_inline_room(e, t0, dt, n, prio);
    if (n == 0) {
        return 0;
    }
    uint64_t h = e->fingerprint;
    sim_time_ns t = t0;
    for (uint64_t i = 0; i < n; i++, t += dt) {
        h = fold_event(h, t, kind, subject_id);
    }
    e->fingerprint = h;
    e->now = t - dt;
    e->executed += n;
    e->run_count += n;
    return n;
}

void sim_stop(struct sim_engine *e)
{
    e->stop = true;
}

/* ---- random streams ------------------------------------------------------ */

gsl_rng *sim_rng(struct sim_engine *e, uint32_t stream)
{
    uint32_t lo = 0, hi = e->n_rng;
    uint64_t x;
    gsl_rng *r;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (e->rng[mid].stream < stream) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < e->n_rng && e->rng[lo].stream == stream) {
        return e->rng[lo].r;
    }

    if (e->n_rng == e->cap_rng) {
        uint32_t ncap = e->cap_rng ? e->cap_rng * 2 : 8;
        struct rng_ent *nr = realloc(e->rng, ncap * sizeof(*nr));

        if (!nr) {
            return NULL;
        }
        e->rng = nr;
        e->cap_rng = ncap;
    }
    r = gsl_rng_alloc(RNG_TYPE);
    if (!r) {
        return NULL;
    }
    /*
     * taus2 uses only the low 32 bits of its seed, so fold the 64-bit
     * SplitMix64 output into 32 bits (0 is legal: GSL maps it to 1).
     */
    x = sim_splitmix64(e->seed ^ ((uint64_t)stream * STREAM_GAMMA));
    gsl_rng_set(r, (unsigned long)((x ^ (x >> 32)) & 0xffffffffu));

    for (uint32_t i = e->n_rng; i > lo; i--) {
        e->rng[i] = e->rng[i - 1];
    }
    e->rng[lo].stream = stream;
    e->rng[lo].r = r;
    e->n_rng++;
    return r;
}

const char *sim_rng_name(void)
{
    return RNG_TYPE->name;
}
