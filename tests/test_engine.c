/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_engine.c — the discrete-event engine against a reference model
 * (a plain array scanned for the minimum), plus tie-break, re-entrancy,
 * cancel, fingerprint and random-stream tests.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"

/* ---- helpers ------------------------------------------------------------- */

#define LOG_MAX 100000

struct log {
    uint32_t tag[LOG_MAX];
    sim_time_ns t[LOG_MAX];
    size_t n;
    bool stop_each; /* call sim_stop after every event */
};

static void rec(struct sim_engine *e, void *subject, void *arg)
{
    struct log *l = subject;

    assert_true(l->n < LOG_MAX);
    l->tag[l->n] = (uint32_t)(uintptr_t)arg;
    l->t[l->n] = sim_now(e);
    l->n++;
    if (l->stop_each) {
        sim_stop(e);
    }
}

static struct log *log_new(void)
{
    struct log *l = calloc(1, sizeof(*l));

    assert_non_null(l);
    return l;
}

static sim_event_id at(struct sim_engine *e, sim_time_ns t, int prio,
                       struct log *l, uint32_t tag)
{
    sim_event_id id =
        sim_at(e, t, prio, 1, tag, rec, l, (void *)(uintptr_t)tag);

    assert_true(id != 0);
    return id;
}

/* Test-local PRNG, independent of the engine. */
static uint64_t test_rand(uint64_t *s)
{
    *s = sim_splitmix64(*s);
    return *s;
}

/* ---- reference model ----------------------------------------------------- */

struct ref_ev {
    sim_time_ns t;
    int prio;
    uint64_t seq;
    sim_event_id id;
    uint32_t tag;
    bool live;
};

struct ref {
    struct ref_ev *ev;
    size_t n, cap;
    uint64_t seq;
    size_t live;
};

static void ref_add(struct ref *r, sim_time_ns t, int prio, sim_event_id id,
                    uint32_t tag)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
        assert_non_null(r->ev);
    }
    r->ev[r->n++] = (struct ref_ev){t, prio, r->seq++, id, tag, true};
    r->live++;
}

/* Index of the minimum live event by (t, prio, seq), or -1. */
static long ref_min(const struct ref *r)
{
    long best = -1;

    for (size_t i = 0; i < r->n; i++) {
        const struct ref_ev *a = &r->ev[i];
        const struct ref_ev *b;

        if (!a->live) {
            continue;
        }
        if (best < 0) {
            best = (long)i;
            continue;
        }
        b = &r->ev[best];
        if (a->t < b->t || (a->t == b->t && a->prio < b->prio) ||
            (a->t == b->t && a->prio == b->prio && a->seq < b->seq)) {
            best = (long)i;
        }
    }
    return best;
}

static void ref_kill(struct ref *r, size_t i)
{
    assert_true(r->ev[i].live);
    r->ev[i].live = false;
    r->live--;
}

/* Pick a random index with the given liveness, or -1. */
static long ref_pick(const struct ref *r, bool live, uint64_t *rs)
{
    size_t want = live ? r->live : r->n - r->live;
    size_t k;

    if (want == 0) {
        return -1;
    }
    k = test_rand(rs) % want;
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].live == live && k-- == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void differential_run(uint64_t seed, int ops)
{
    struct sim_engine *e = sim_engine_new(seed);
    struct log *l = log_new();
    struct ref r = {0};
    uint64_t rs = seed;
    uint32_t next_tag = 1;

    assert_non_null(e);
    for (int op = 0; op < ops; op++) {
        unsigned what = (unsigned)(test_rand(&rs) % 100);
        sim_time_ns now = sim_now(e);

        if (what < 45) {
            /* Narrow time and priority ranges so ties are common; some
             * times lie in the past and must be clamped to now. */
            int prio = (int)(test_rand(&rs) % 3) - 1;
            uint32_t tag = next_tag++;
            sim_time_ns t;
            sim_event_id id;

            if (what < 8) {
                sim_time_ns d = (sim_time_ns)(test_rand(&rs) % 10);

                id = sim_after(e, d, prio, 1, tag, rec, l,
                               (void *)(uintptr_t)tag);
                assert_true(id != 0);
                t = now + d;
            } else {
                t = now + (sim_time_ns)(test_rand(&rs) % 40) - 5;
                id = at(e, t, prio, l, tag);
            }
            ref_add(&r, t < now ? now : t, prio, id, tag);
        } else if (what < 60) {
            long i = ref_pick(&r, true, &rs);

            if (i >= 0) {
                assert_int_equal(sim_cancel(e, r.ev[i].id), 0);
                ref_kill(&r, (size_t)i);
            }
        } else if (what < 65) {
            long i = ref_pick(&r, false, &rs);

            if (i >= 0) {
                assert_int_equal(sim_cancel(e, r.ev[i].id), -1);
            }
            assert_int_equal(sim_cancel(e, test_rand(&rs) | (1ull << 63)), -1);
        } else if (what < 90) {
            long i = ref_min(&r);
            uint64_t n;

            l->n = 0;
            l->stop_each = true;
            n = sim_run(e, SIM_TIME_MAX);
            if (i < 0) {
                assert_int_equal(n, 0);
            } else {
                assert_int_equal(n, 1);
                assert_int_equal(l->tag[0], r.ev[i].tag);
                assert_int_equal(l->t[0], r.ev[i].t);
                assert_int_equal(sim_now(e), r.ev[i].t);
                ref_kill(&r, (size_t)i);
            }
        } else {
            sim_time_ns until = now + (sim_time_ns)(test_rand(&rs) % 30);
            size_t k = 0;
            uint64_t n;

            l->n = 0;
            l->stop_each = false;
            n = sim_run(e, until);
            for (;;) {
                long i = ref_min(&r);

                if (i < 0 || r.ev[i].t > until) {
                    break;
                }
                assert_true(k < l->n);
                assert_int_equal(l->tag[k], r.ev[i].tag);
                assert_int_equal(l->t[k], r.ev[i].t);
                ref_kill(&r, (size_t)i);
                k++;
            }
            assert_int_equal(n, k);
            assert_int_equal(l->n, k);
        }
        assert_int_equal(sim_pending(e), r.live);
    }

    /* Drain and compare the rest. */
    l->n = 0;
    l->stop_each = false;
    sim_run(e, SIM_TIME_MAX);
    for (size_t k = 0; k < l->n; k++) {
        long i = ref_min(&r);

        assert_true(i >= 0);
        assert_int_equal(l->tag[k], r.ev[i].tag);
        ref_kill(&r, (size_t)i);
    }
    assert_int_equal(r.live, 0);
    assert_int_equal(sim_pending(e), 0);

    free(r.ev);
    free(l);
    sim_engine_free(e);
}

static void test_heap_vs_reference(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {1, 2, 42, 0xdeadbeef, 987654321};

    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        differential_run(seeds[i], 6000);
    }
}

/* Many events at once: forces the arrays to grow several times. */
static void test_growth_and_order(void **state)
{
    (void)state;
    struct sim_engine *e = sim_engine_new(7);
    struct log *l = log_new();
    uint64_t rs = 99;
    const uint32_t n = 20000;

    for (uint32_t i = 0; i < n; i++) {
        at(e, (sim_time_ns)(test_rand(&rs) % 1000), 0, l, i);
    }
    assert_int_equal(sim_pending(e), n);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), n);
    assert_int_equal(l->n, n);
    for (uint32_t i = 1; i < n; i++) {
        assert_true(l->t[i - 1] <= l->t[i]);
        if (l->t[i - 1] == l->t[i]) {
            assert_true(l->tag[i - 1] < l->tag[i]); /* FIFO */
        }
    }
    assert_int_equal(sim_executed(e), n);
    free(l);
    sim_engine_free(e);
}

static void test_fifo_tie_break(void **state)
{
    (void)state;
    struct sim_engine *e = sim_engine_new(1);
    struct log *l = log_new();
    /* tags in scheduling order; expected run order below */
    at(e, 10, 0, l, 1);
    at(e, 10, 1, l, 2);
    at(e, 10, 0, l, 3);
    at(e, 5, 5, l, 4);
    at(e, 10, -1, l, 5);
    at(e, 10, 0, l, 6);
    at(e, 10, 1, l, 7);
    static const uint32_t want[] = {4, 5, 1, 3, 6, 2, 7};

    assert_int_equal(sim_run(e, SIM_TIME_MAX), 7);
    assert_int_equal(l->n, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(l->tag[i], want[i]);
    }
    free(l);
    sim_engine_free(e);
}

static void test_cancel_stale_and_run_ids(void **state)
{
    (void)state;
    struct sim_engine *e = sim_engine_new(1);
    struct log *l = log_new();
    sim_event_id a = at(e, 1, 0, l, 1);
    sim_event_id b = at(e, 2, 0, l, 2);
    sim_event_id c;

    assert_int_equal(sim_cancel(e, 0), -1);
    assert_int_equal(sim_cancel(e, b), 0);
    assert_int_equal(sim_cancel(e, b), -1); /* twice */
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 1);
    assert_int_equal(sim_cancel(e, a), -1); /* already run */

    /* The freed slot is reused with a new generation: the old id of that
     * slot must not cancel the new event. */
    c = at(e, 3, 0, l, 3);
    assert_true((c & 0xffffffffu) == (a & 0xffffffffu) ||
                (c & 0xffffffffu) == (b & 0xffffffffu));
    assert_true(c != a && c != b);
    assert_int_equal(sim_cancel(e, a), -1);
    assert_int_equal(sim_cancel(e, b), -1);
    assert_int_equal(sim_pending(e), 1);
    /* Ids with a slot number never handed out. */
    assert_int_equal(sim_cancel(e, (c & ~0xffffffffull) | 1000), -1);
    assert_int_equal(sim_cancel(e, c), 0);
    assert_int_equal(sim_pending(e), 0);
    free(l);
    sim_engine_free(e);
}

/* Re-entrancy fixtures. */
struct reent {
    struct log *l;
    sim_event_id victim;
    sim_event_id self;
    int cancel_rc;
    int self_rc;
};

static void sched_now_same_prio(struct sim_engine *e, void *subject, void *arg)
{
    struct reent *r = subject;

    rec(e, r->l, arg);
    sim_at(e, sim_now(e), 0, 1, 99, rec, r->l, (void *)(uintptr_t)99);
    sim_at(e, sim_now(e), -1, 1, 98, rec, r->l, (void *)(uintptr_t)98);
    /* in the past: clamped to now, runs after the same-prio ones queued */
    sim_at(e, sim_now(e) - 5, 0, 1, 97, rec, r->l, (void *)(uintptr_t)97);
}

static void test_schedule_now_from_handler(void **state)
{
    (void)state;
    struct sim_engine *e = sim_engine_new(1);
    struct reent r = {.l = log_new()};

    sim_at(e, 10, 0, 1, 1, sched_now_same_prio, &r, (void *)(uintptr_t)1);
    at(e, 10, 0, r.l, 2);
    at(e, 10, 0, r.l, 3);
    at(e, 11, -5, r.l, 4);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 7);
    /* 98 has a lower prio, so it overtakes the queued prio-0 events. */
    static const uint32_t want[] = {1, 98, 2, 3, 99, 97, 4};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(r.l->tag[i], want[i]);
    }
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(r.l->t[i], 10);
    }
    free(r.l);
    sim_engine_free(e);
}

static void cancel_victim(struct sim_engine *e, void *subject, void *arg)
{
    struct reent *r = subject;

    rec(e, r->l, arg);
    r->cancel_rc = sim_cancel(e, r->victim);
    r->self_rc = sim_cancel(e, r->self);
}

static void test_cancel_from_handler(void **state)
{
    (void)state;
    struct sim_engine *e = sim_engine_new(1);
    struct reent r = {.l = log_new()};

    r.self = sim_at(e, 10, 0, 1, 1, cancel_victim, &r, (void *)(uintptr_t)1);
    r.victim = at(e, 10, 0, r.l, 2); /* due at the same time */
    at(e, 10, 0, r.l, 3);
    at(e, 20, 0, r.l, 4);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 3);
    assert_int_equal(r.cancel_rc, 0);
    assert_int_equal(r.self_rc, -1); /* the running event: no-op */
    assert_int_equal(r.l->n, 3);
    assert_int_equal(r.l->tag[0], 1);
    assert_int_equal(r.l->tag[1], 3);
    assert_int_equal(r.l->tag[2], 4);
    free(r.l);
    sim_engine_free(e);
}

static void stopper(struct sim_engine *e, void *subject, void *arg)
{
    rec(e, subject, arg);
    sim_stop(e);
}

static void test_run_until_and_stop(void **state)
{
    (void)state;
    struct sim_engine *e = sim_engine_new(1);
    struct log *l = log_new();

    at(e, 100, 0, l, 1);
    sim_at(e, 200, 0, 1, 2, stopper, l, (void *)(uintptr_t)2);
    at(e, 200, 0, l, 3);
    at(e, 300, 0, l, 4);

    assert_int_equal(sim_run(e, 150), 1);
    assert_int_equal(sim_now(e), 100); /* stays at the last event */
    assert_int_equal(sim_run(e, 50), 0);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 1); /* stopper stops */
    assert_int_equal(sim_now(e), 200);
    assert_int_equal(sim_pending(e), 2);

    sim_stop(e); /* outside a run: the next run returns at once */
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 0);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 2);
    assert_int_equal(sim_now(e), 300);
    assert_int_equal(sim_executed(e), 4);

    /* Clamping: a past time runs now; a huge delay saturates. */
    at(e, 5, 0, l, 5);
    assert_true(
        sim_after(e, SIM_TIME_MAX, 0, 1, 6, rec, l, (void *)(uintptr_t)6) != 0);
    l->n = 0;
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 2);
    assert_int_equal(l->t[0], 300);
    assert_int_equal(l->t[1], SIM_TIME_MAX);
    free(l);
    sim_engine_free(e);
}

/* ---- fingerprint and determinism ---------------------------------------- */

static void nop(struct sim_engine *e, void *subject, void *arg)
{
    (void)e;
    (void)subject;
    (void)arg;
}

static uint64_t fold_ref(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 1099511628211ull;
    return h ^ (h >> 29);
}

static void test_fingerprint_value(void **state)
{
    (void)state;
    struct sim_engine *e = sim_engine_new(1);
    /* an event folds t, then kind << 32 | subject; a mix folds its word */
    uint64_t h = 14695981039346656037ull;

    assert_true(sim_fingerprint(e) == h);
    sim_at(e, 0x0102030405060708ll, 0, 0xa1a2a3a4u, 0xb1b2b3b4u, nop, NULL,
           NULL);
    assert_int_equal(sim_run(e, SIM_TIME_MAX), 1);
    h = fold_ref(h, 0x0102030405060708ull);
    h = fold_ref(h, 0xa1a2a3a4b1b2b3b4ull);
    assert_true(sim_fingerprint(e) == h);
    sim_fingerprint_mix(e, 0x1122334455667788ull);
    h = fold_ref(h, 0x1122334455667788ull);
    assert_true(sim_fingerprint(e) == h);
    /* order matters: the same event with kind and subject swapped differs */
    struct sim_engine *e2 = sim_engine_new(1);
    sim_at(e2, 0x0102030405060708ll, 0, 0xb1b2b3b4u, 0xa1a2a3a4u, nop, NULL,
           NULL);
    sim_run(e2, SIM_TIME_MAX);
    assert_true(
        sim_fingerprint(e2) !=
        fold_ref(fold_ref(14695981039346656037ull, 0x0102030405060708ull),
                 0xa1a2a3a4b1b2b3b4ull));
    sim_engine_free(e2);
    sim_engine_free(e);
}

/* A small model: 5 components, each re-arming itself after an exponential
 * delay drawn from its own stream; every draw is recorded. */
struct model {
    struct sim_engine *e;
    double draws[4096];
    size_t n_draws;
    uint32_t idx[5];
};

static void comp_tick(struct sim_engine *e, void *subject, void *arg)
{
    struct model *m = subject;
    uint32_t i = *(uint32_t *)arg;
    gsl_rng *r = sim_rng(e, SIM_STREAM_DEVICE_BASE + i);
    double u;
    sim_time_ns d;

    assert_non_null(r);
    u = gsl_rng_uniform_pos(r);
    if (m->n_draws < 4096) {
        m->draws[m->n_draws++] = u;
    }
    d = (sim_time_ns)(u * 10 * SIM_MS);
    sim_after(e, d, (int)(i % 2), i % 3, i, comp_tick, m, arg);
}

static void model_run(struct model *m, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    m->e = sim_engine_new(seed);
    assert_non_null(m->e);
    for (uint32_t i = 0; i < 5; i++) {
        m->idx[i] = i;
        sim_at(m->e, 0, 0, i % 3, i, comp_tick, m, &m->idx[i]);
    }
    sim_run(m->e, 2 * SIM_S);
}

static void test_determinism(void **state)
{
    (void)state;
    struct model *a = calloc(1, sizeof(*a));
    struct model *b = calloc(1, sizeof(*b));
    struct model *c = calloc(1, sizeof(*c));

    assert_true(a && b && c);
    model_run(a, 12345);
    model_run(b, 12345);
    model_run(c, 12346);

    assert_true(sim_executed(a->e) > 1000);
    assert_true(sim_fingerprint(a->e) == sim_fingerprint(b->e));
    assert_int_equal(sim_executed(a->e), sim_executed(b->e));
    assert_int_equal(a->n_draws, b->n_draws);
    assert_memory_equal(a->draws, b->draws, a->n_draws * sizeof(double));

    assert_true(sim_fingerprint(a->e) != sim_fingerprint(c->e));
    assert_true(memcmp(a->draws, c->draws, 16 * sizeof(double)) != 0);

    sim_engine_free(a->e);
    sim_engine_free(b->e);
    sim_engine_free(c->e);
    free(a);
    free(b);
    free(c);
}

static void test_rng_type_and_env(void **state)
{
    (void)state;
    struct sim_engine *e1, *e2;
    gsl_rng *r1, *r2;

    /* The engine must not read GSL_RNG_TYPE / GSL_RNG_SEED. */
    setenv("GSL_RNG_TYPE", "mt19937", 1);
    setenv("GSL_RNG_SEED", "777", 1);
    e1 = sim_engine_new(5);
    r1 = sim_rng(e1, SIM_STREAM_RAM);
    assert_non_null(r1);
    assert_string_equal(gsl_rng_name(r1), "taus2");
    assert_ptr_equal(sim_rng(e1, SIM_STREAM_RAM), r1); /* cached */
    unsetenv("GSL_RNG_TYPE");
    unsetenv("GSL_RNG_SEED");
    e2 = sim_engine_new(5);
    r2 = sim_rng(e2, SIM_STREAM_RAM);
    for (int i = 0; i < 100; i++) {
        assert_true(gsl_rng_get(r1) == gsl_rng_get(r2));
    }
    assert_true(sim_seed(e1) == 5);
    sim_engine_free(e1);
    sim_engine_free(e2);
}

static void test_stream_independence(void **state)
{
    (void)state;
    struct sim_engine *a = sim_engine_new(2024);
    struct sim_engine *b = sim_engine_new(2024);
    unsigned long sa[200], sb[200], s1[200];
    gsl_rng *ra, *rb;

    /* Engine a: heavy use of RAM, POLICY and a device stream first. */
    ra = sim_rng(a, SIM_STREAM_RAM);
    for (int i = 0; i < 5000; i++) {
        gsl_rng_get(ra);
        gsl_rng_get(sim_rng(a, SIM_STREAM_POLICY));
    }
    gsl_rng_get(sim_rng(a, SIM_STREAM_DEVICE_BASE + 3));
    ra = sim_rng(a, SIM_STREAM_NOISE);
    for (int i = 0; i < 200; i++) {
        sa[i] = gsl_rng_get(ra);
    }
    /* Engine b: NOISE only, created first. */
    rb = sim_rng(b, SIM_STREAM_NOISE);
    for (int i = 0; i < 200; i++) {
        sb[i] = gsl_rng_get(rb);
    }
    assert_memory_equal(sa, sb, sizeof(sa));

    /* Streams differ from each other. */
    rb = sim_rng(b, SIM_STREAM_RAM);
    for (int i = 0; i < 200; i++) {
        s1[i] = gsl_rng_get(rb);
    }
    assert_true(memcmp(s1, sb, sizeof(s1)) != 0);

    /* And the same stream under another seed differs. */
    {
        struct sim_engine *c = sim_engine_new(2025);
        gsl_rng *rc = sim_rng(c, SIM_STREAM_NOISE);
        int same = 0;

        for (int i = 0; i < 200; i++) {
            same += gsl_rng_get(rc) == sb[i];
        }
        assert_true(same < 5);
        sim_engine_free(c);
    }
    sim_engine_free(a);
    sim_engine_free(b);
}

static void test_splitmix_known_values(void **state)
{
    (void)state;
    /* SplitMix64 outputs for state 0 (first call adds the gamma), as
     * published with the reference implementation. */
    assert_true(sim_splitmix64(0) == 0xe220a8397b1dcdafull);
    assert_true(sim_splitmix64(0x9e3779b97f4a7c15ull) == 0x6e789e6aa1b965f4ull);
}

/* sim_advance_inline: a chain of passes run inline gives the same order,
 * clock and fingerprint as the same chain scheduled through the heap, and
 * is refused whenever a queued event must run first. */
struct chain {
    int left;
    bool use_inline;
    int64_t step;
    int inlined;
};

static void chain_fn(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct chain *c = subject;
    while (--c->left > 0) {
        int64_t next = sim_now(e) + c->step;
        if (c->use_inline && sim_advance_inline(e, next, 1, 7, 3)) {
            c->inlined++;
            continue;
        }
        sim_at(e, next, 1, 7, 3, chain_fn, c, NULL);
        return;
    }
}

static void noop_fn(struct sim_engine *e, void *subject, void *arg)
{
    (void)e;
    (void)subject;
    (void)arg;
}

static void test_advance_inline(void **state)
{
    (void)state;
    uint64_t fp[2];
    int64_t now[2];
    uint64_t ex[2];
    int inl = 0;
    for (int mode = 0; mode < 2; mode++) {
        struct sim_engine *e = sim_engine_new(5);
        struct chain c = {.left = 100, .use_inline = mode, .step = 10};
        sim_at(e, 0, 1, 7, 3, chain_fn, &c, NULL);
        /* other events interleave: at 255 (between passes) and at 500
         * (same time as a pass, lower prio number: runs first) */
        sim_at(e, 255, 1, 9, 0, noop_fn, NULL, NULL);
        sim_at(e, 500, 0, 9, 1, noop_fn, NULL, NULL);
        sim_run(e, SIM_TIME_MAX);
        fp[mode] = sim_fingerprint(e);
        now[mode] = sim_now(e);
        ex[mode] = sim_executed(e);
        if (mode) {
            inl = c.inlined;
        }
        sim_engine_free(e);
    }
    assert_int_equal(fp[0], fp[1]);
    assert_int_equal(now[0], now[1]);
    assert_int_equal(ex[0], ex[1]);
    assert_true(inl > 90); /* all but the passes the two events interrupt */
    assert_true(inl < 99);

    /* refused outside sim_run, before now, and past the run's bound */
    struct sim_engine *e = sim_engine_new(1);
    assert_int_equal(sim_advance_inline(e, 10, 0, 1, 1), 0);
    struct chain c = {.left = 100, .use_inline = true, .step = 10};
    sim_at(e, 0, 1, 7, 3, chain_fn, &c, NULL);
    sim_run(e, 205);
    assert_true(sim_now(e) <= 205);
    assert_int_equal(sim_pending(e), 1);
    sim_engine_free(e);
}

/* sim_advance_inline_run: the same clock, counts and fingerprint as the
 * events one by one through sim_advance_inline; it stops where that would
 * refuse (a queued event first: earlier, or at the same time with a lower
 * prio number; the run's bound), and sim_inline_room says how far. */
struct runner {
    int mode; /* 0: one by one, 1: in runs of up to 7 */
    int64_t step;
    uint64_t left, done;
};

static void runner_fn(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct runner *r = subject;
    while (r->left > 0) {
        int64_t next = sim_now(e) + r->step;
        uint64_t k;
        if (r->mode) {
            uint64_t want = r->left < 7 ? r->left : 7;
            uint64_t room = sim_inline_room(e, next, r->step, want, 1);
            k = sim_advance_inline_run(e, next, r->step, want, 1, 7, 3);
            assert_int_equal(k, room);
        } else {
            k = (uint64_t)sim_advance_inline(e, next, 1, 7, 3);
        }
        if (k == 0) {
            r->left--;
            sim_at(e, next, 1, 7, 3, runner_fn, r, NULL);
            return;
        }
        r->left -= k;
        r->done += k;
    }
}

static void test_advance_inline_run(void **state)
{
    (void)state;
    uint64_t fp[2], ex[2], done[2];
    int64_t now[2];
    for (int mode = 0; mode < 2; mode++) {
        struct sim_engine *e = sim_engine_new(5);
        struct runner r = {.mode = mode, .step = 10, .left = 200};
        sim_at(e, 0, 1, 7, 3, runner_fn, &r, NULL);
        sim_at(e, 255, 1, 9, 0, noop_fn, NULL, NULL); /* between two */
        sim_at(e, 500, 0, 9, 1, noop_fn, NULL, NULL); /* same t, first */
        sim_at(e, 800, 2, 9, 2, noop_fn, NULL, NULL); /* same t, after */
        sim_run(e, 1500);
        fp[mode] = sim_fingerprint(e);
        ex[mode] = sim_executed(e);
        now[mode] = sim_now(e);
        done[mode] = r.done;
        sim_engine_free(e);
    }
    assert_int_equal(fp[0], fp[1]);
    assert_int_equal(ex[0], ex[1]);
    assert_int_equal(now[0], now[1]);
    assert_int_equal(done[0], done[1]);
    assert_true(done[1] > 100);
    assert_int_equal(now[1], 1500); /* the bound itself may run */
    /* outside sim_run: nothing */
    struct sim_engine *e = sim_engine_new(1);
    assert_int_equal(sim_inline_room(e, 10, 10, 5, 0), 0);
    assert_int_equal(sim_advance_inline_run(e, 10, 10, 5, 0, 1, 1), 0);
    sim_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_vs_reference),
        cmocka_unit_test(test_growth_and_order),
        cmocka_unit_test(test_fifo_tie_break),
        cmocka_unit_test(test_cancel_stale_and_run_ids),
        cmocka_unit_test(test_schedule_now_from_handler),
        cmocka_unit_test(test_cancel_from_handler),
        cmocka_unit_test(test_run_until_and_stop),
        cmocka_unit_test(test_fingerprint_value),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_rng_type_and_env),
        cmocka_unit_test(test_stream_independence),
        cmocka_unit_test(test_splitmix_known_values),
        cmocka_unit_test(test_advance_inline),
        cmocka_unit_test(test_advance_inline_run),
    };

    sim_gsl_quiet();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
