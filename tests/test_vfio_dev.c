/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_vfio_dev.c — the simulated VFIO device: size schedule,
 * shrink-on-precopy, query failure, pre-copy accounting, FSM use, final
 * stream draining, configuration errors and determinism with a real GSL
 * generator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/vfio_dev.h"

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)
#define MB ((uint64_t)1000000)
#define GB ((uint64_t)1000000000)

static char err[256];

static struct vfio_dev *mk(const struct vfio_dev_cfg *c, gsl_rng *rng)
{
    err[0] = '\0';
    struct vfio_dev *d = vfio_dev_new(c, rng, err, sizeof(err));
    if (!d) {
        print_message("vfio_dev_new: %s\n", err);
    }
    assert_non_null(d);
    return d;
}

static uint64_t q(struct vfio_dev *d, int64_t t)
{
    uint64_t b = 0xdeadbeef;
    assert_int_equal(vfio_dev_query_stop_copy(d, t, &b), 0);
    return b;
}

static void test_schedule(void **state)
{
    (void)state;
    struct vfio_dev_cfg c;
    vfio_dev_cfg_init(&c, "gpu0");
    c.stop_copy_bytes = 1 * GB;
    c.n_schedule = 3;
    c.schedule[0] = (struct vfio_dev_size_change){1 * S, 2 * GB};
    c.schedule[1] = (struct vfio_dev_size_change){3 * S, 500 * MB};
    c.schedule[2] = (struct vfio_dev_size_change){3 * S, 700 * MB};
    struct vfio_dev *d = mk(&c, NULL);
    assert_int_equal(q(d, 0), 1 * GB);
    assert_int_equal(q(d, 1 * S - 1), 1 * GB);
    assert_int_equal(q(d, 1 * S), 2 * GB);
    assert_int_equal(q(d, 2 * S), 2 * GB);
    /* two entries at the same time: the later one wins */
    assert_int_equal(q(d, 3 * S), 700 * MB);
    assert_int_equal(q(d, 100 * S), 700 * MB);
    assert_int_equal(vfio_dev_stop_copy_true(d, 2 * S), 2 * GB);
    /* the final stream is fixed at STOP_COPY entry and drained by reads */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP_COPY, 4 * S), 0);
    assert_int_equal(vfio_dev_stop_copy_stream_bytes(d), 700 * MB);
    assert_int_equal(q(d, 4 * S), 700 * MB);
    assert_int_equal(vfio_dev_read(d, 4 * S, 300 * MB), 300 * MB);
    assert_int_equal(q(d, 5 * S), 400 * MB);
    assert_int_equal(vfio_dev_read(d, 5 * S, 1 * GB), 400 * MB);
    assert_int_equal(vfio_dev_read(d, 5 * S, 1 * GB), 0); /* EOF */
    assert_int_equal(q(d, 5 * S), 0);
    /* the session ends with STOP: back to the scheduled size */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP, 6 * S), 0);
    assert_int_equal(q(d, 6 * S), 700 * MB);
    assert_int_equal(vfio_dev_stop_copy_stream_bytes(d), 0);
    vfio_dev_free(d);
}

static struct vfio_dev_cfg precopy_cfg(bool shrink)
{
    struct vfio_dev_cfg c;
    vfio_dev_cfg_init(&c, "vf0");
    c.stop_copy_bytes = 1 * GB;
    c.precopy = true;
    c.precopy_initial_bytes = 100 * MB;
    c.precopy_dirty_rate_bps = 10 * MB;
    c.precopy_shrinks_stop_copy = shrink;
    c.min_stop_copy_bytes = 200 * MB;
    return c;
}

static void test_shrink_on_precopy(void **state)
{
    (void)state;
    struct vfio_dev_cfg c = precopy_cfg(true);
    struct vfio_dev *d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    assert_int_equal(vfio_dev_read(d, 0, 50 * MB), 50 * MB);
    assert_int_equal(q(d, 0), 950 * MB);
    /* 10 s later: 100 MB dirty; read everything available */
    assert_int_equal(vfio_dev_read(d, 10 * S, 10 * GB), 150 * MB);
    assert_int_equal(vfio_dev_precopy_read_bytes(d), 200 * MB);
    assert_int_equal(q(d, 10 * S), 800 * MB);
    /* keep reading dirty data: the size floors at min_stop_copy_bytes */
    assert_int_equal(vfio_dev_read(d, 100 * S, 10 * GB), 900 * MB);
    assert_int_equal(q(d, 100 * S), 200 * MB);
    /* STOP_COPY takes the shrunk size as its final stream */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP_COPY, 100 * S), 0);
    assert_int_equal(vfio_dev_stop_copy_stream_bytes(d), 200 * MB);
    vfio_dev_free(d);

    /* aborting pre-copy gives the full size back */
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    assert_int_equal(vfio_dev_read(d, 0, 100 * MB), 100 * MB);
    assert_int_equal(q(d, 0), 900 * MB);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_RUNNING, 1 * S), 0);
    assert_int_equal(q(d, 1 * S), 1 * GB);
    assert_int_equal(vfio_dev_precopy_read_bytes(d), 0);
    vfio_dev_free(d);

    /* a base below the floor is not raised to it */
    c.stop_copy_bytes = 100 * MB;
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    assert_int_equal(vfio_dev_read(d, 0, 50 * MB), 50 * MB);
    assert_int_equal(q(d, 0), 100 * MB);
    vfio_dev_free(d);

    /* without the flag pre-copy reads leave the size alone */
    c = precopy_cfg(false);
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    assert_int_equal(vfio_dev_read(d, 5 * S, 10 * GB), 150 * MB);
    assert_int_equal(q(d, 5 * S), 1 * GB);
    vfio_dev_free(d);
}

static void test_query_failure(void **state)
{
    (void)state;
    struct vfio_dev_cfg c = precopy_cfg(false);
    c.query_fails = true;
    struct vfio_dev *d = mk(&c, NULL);
    uint64_t b = 42;
    assert_int_equal(vfio_dev_query_stop_copy(d, 0, &b), -EIO);
    assert_int_equal(b, 42); /* untouched */
    /* PRECOPY_INFO is another ioctl and still works */
    uint64_t ini = 0, dirty = 7;
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    assert_int_equal(vfio_dev_query_precopy(d, 0, &ini, &dirty), 0);
    assert_int_equal(ini, 100 * MB);
    assert_int_equal(dirty, 0);
    /* the true size is still known to the simulator */
    assert_int_equal(vfio_dev_stop_copy_true(d, 0), 1 * GB);
    vfio_dev_free(d);

    /* in ERROR every query is -EINVAL, also set_state; reset recovers */
    c.query_fails = false;
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    vfio_dev_fail(d, 1 * S);
    assert_int_equal(vfio_dev_state(d), VFIO_FSM_ERROR);
    assert_int_equal(vfio_dev_query_stop_copy(d, 1 * S, &b), -EINVAL);
    assert_int_equal(vfio_dev_query_precopy(d, 1 * S, &ini, &dirty), -EINVAL);
    assert_int_equal(vfio_dev_read(d, 1 * S, 1 * GB), 0);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_RUNNING, 1 * S), -EINVAL);
    assert_int_equal(vfio_dev_last_diag(d), VFIO_FSM_DIAG_CUR_ERROR);
    vfio_dev_reset(d, 2 * S);
    assert_int_equal(vfio_dev_state(d), VFIO_FSM_RUNNING);
    assert_int_equal(q(d, 2 * S), 1 * GB);
    vfio_dev_free(d);
}

static void test_precopy_accounting(void **state)
{
    (void)state;
    struct vfio_dev_cfg c = precopy_cfg(false);
    c.p2p = true;
    c.precopy_dirty_rate_bps = 1 * MB;
    struct vfio_dev *d = mk(&c, NULL);
    uint64_t ini = 1, dirty = 1;
    /* not in a pre-copy state: -EINVAL, outputs untouched */
    assert_int_equal(vfio_dev_query_precopy(d, 0, &ini, &dirty), -EINVAL);
    assert_int_equal(ini, 1);
    assert_int_equal(dirty, 1);
    /* RUNNING produces no dirty data for the device stream */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 1 * S), 0);
    assert_int_equal(vfio_dev_query_precopy(d, 1 * S, &ini, &dirty), 0);
    assert_int_equal(ini, 100 * MB);
    assert_int_equal(dirty, 0);
    assert_int_equal(vfio_dev_query_precopy(d, 3500 * MS, &ini, &dirty), 0);
    assert_int_equal(dirty, 2500000); /* 2.5 s at 1 MB/s */
    /* reads take initial first, then dirty */
    assert_int_equal(vfio_dev_read(d, 3500 * MS, 100 * MB + 1 * MB), 101 * MB);
    assert_int_equal(vfio_dev_query_precopy(d, 3500 * MS, &ini, &dirty), 0);
    assert_int_equal(ini, 0);
    assert_int_equal(dirty, 1500000);
    /* PRE_COPY_P2P keeps the session and keeps dirtying */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY_P2P, 4 * S), 0);
    assert_int_equal(vfio_dev_query_precopy(d, 5 * S, &ini, &dirty), 0);
    assert_int_equal(dirty, 3000000);
    /* temporary end of data */
    assert_int_equal(vfio_dev_read(d, 5 * S, 10 * GB), 3 * MB);
    assert_int_equal(vfio_dev_read(d, 5 * S, 10 * GB), 0);
    assert_int_equal(vfio_dev_precopy_read_bytes(d), 104 * MB);
    /* STOP_COPY: PRECOPY_INFO is invalid again */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP_COPY, 5 * S), 0);
    assert_int_equal(vfio_dev_query_precopy(d, 5 * S, &ini, &dirty), -EINVAL);
    vfio_dev_free(d);

    /* exact accrual: 7 B/s sampled every ms for 3 s is 21 bytes, no drift */
    c = precopy_cfg(false);
    c.precopy_dirty_rate_bps = 7;
    c.precopy_initial_bytes = 0;
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    uint64_t got = 0;
    for (int64_t t = MS; t <= 3 * S; t += MS) {
        got += vfio_dev_read(d, t, 1000);
    }
    assert_int_equal(got, 21);
    vfio_dev_free(d);

    /* a huge rate over a long time does not overflow */
    c.precopy_dirty_rate_bps = UINT64_MAX / 4;
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    assert_int_equal(vfio_dev_query_precopy(d, 1000 * S, &ini, &dirty), 0);
    assert_int_equal(dirty, UINT64_MAX);
    vfio_dev_free(d);
}

struct hop_seen {
    unsigned n;
    enum vfio_fsm_state from[8], to[8], state_at_call[8];
};

static void on_hop(void *ctx, const struct vfio_dev *dev,
                   const struct vfio_dev_hop *h)
{
    struct hop_seen *s = ctx;
    assert_true(s->n < 8);
    s->from[s->n] = h->from;
    s->to[s->n] = h->to;
    s->state_at_call[s->n] = vfio_dev_state(dev);
    s->n++;
}

static void test_fsm_use(void **state)
{
    (void)state;
    /* PRE_COPY without P2P: RUNNING -> PRE_COPY -> STOP_COPY -> STOP */
    struct vfio_dev_cfg c = precopy_cfg(false);
    c.save_ns = 30 * MS;
    struct vfio_dev *d = mk(&c, NULL);
    struct hop_seen seen = {0};
    vfio_dev_on_hop(d, on_hop, &seen);
    assert_int_equal(vfio_dev_mig_flags(d),
                     VFIO_FSM_F_STOP_COPY | VFIO_FSM_F_PRE_COPY);
    assert_int_equal(vfio_dev_state(d), VFIO_FSM_RUNNING);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 1 * S), 0);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP_COPY, 2 * S), 0);
    assert_int_equal(vfio_dev_last_cost_ns(d), 30 * MS);
    /* STOP_COPY -> PRE_COPY: refused, nothing happens */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 3 * S), -EINVAL);
    assert_int_equal(vfio_dev_last_diag(d), VFIO_FSM_DIAG_KERNEL_HANG);
    assert_int_equal(vfio_dev_state(d), VFIO_FSM_STOP_COPY);
    assert_int_equal(vfio_dev_stop_copy_left_bytes(d), 1 * GB);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP, 4 * S), 0);
    assert_int_equal(vfio_dev_last_diag(d), 0);
    assert_int_equal(vfio_dev_last_cost_ns(d), 0);

    const enum vfio_fsm_state want[4] = {VFIO_FSM_RUNNING, VFIO_FSM_PRE_COPY,
                                         VFIO_FSM_STOP_COPY, VFIO_FSM_STOP};
    const int64_t at[3] = {1 * S, 2 * S, 4 * S};
    assert_int_equal(vfio_dev_hop_count(d), 3);
    assert_int_equal(seen.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        const struct vfio_dev_hop *h = vfio_dev_hop(d, i);
        assert_non_null(h);
        assert_int_equal(h->from, want[i]);
        assert_int_equal(h->to, want[i + 1]);
        assert_int_equal(h->at_ns, at[i]);
        assert_int_equal(h->arc_class,
                         vfio_fsm_arc_class(want[i], want[i + 1]));
        assert_int_equal(h->cost_ns, i == 1 ? 30 * MS : 0);
        assert_int_equal(seen.from[i], want[i]);
        assert_int_equal(seen.to[i], want[i + 1]);
        /* callbacks run after the request committed */
        assert_int_equal(seen.state_at_call[i], want[i + 1]);
    }
    assert_null(vfio_dev_hop(d, 3));
    /* STOP -> RESUMING -> STOP charges the load time */
    c.load_ns = 80 * MS;
    vfio_dev_free(d);
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_RESUMING, 0), 0);
    assert_int_equal(vfio_dev_hop_count(d), 2); /* RUNNING -> STOP -> RES */
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_RUNNING, 1 * S), 0);
    assert_int_equal(vfio_dev_last_cost_ns(d), 80 * MS);
    assert_int_equal(vfio_dev_hop(d, 2)->cost_ns, 80 * MS);
    vfio_dev_free(d);

    /* with P2P the same request goes through PRE_COPY_P2P */
    c.p2p = true;
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), 0);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP_COPY, 0), 0);
    assert_int_equal(vfio_dev_hop_count(d), 3);
    assert_int_equal(vfio_dev_hop(d, 1)->to, VFIO_FSM_PRE_COPY_P2P);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY_P2P, 0), -EINVAL);
    assert_int_equal(vfio_dev_last_diag(d), VFIO_FSM_DIAG_KERNEL_HANG);
    vfio_dev_free(d);

    /* a device without PRE_COPY cannot be asked for it */
    c.precopy = false;
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, 0), -EINVAL);
    assert_int_equal(vfio_dev_last_diag(d), VFIO_FSM_DIAG_TARGET_UNSUPPORTED);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_ERROR, 0), -EINVAL);
    assert_int_equal(vfio_dev_hop_count(d), 0);
    assert_int_equal(vfio_dev_state(d), VFIO_FSM_RUNNING);
    vfio_dev_free(d);
}

static void test_hop_log_wraps(void **state)
{
    (void)state;
    struct vfio_dev_cfg c;
    vfio_dev_cfg_init(&c, "nic");
    struct vfio_dev *d = mk(&c, NULL);
    for (int i = 0; i < 40; i++) { /* 40 x (RUN -> STOP -> RUN) = 80 arcs */
        assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP, i), 0);
        assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_RUNNING, i), 0);
    }
    assert_int_equal(vfio_dev_hop_count(d), 80);
    assert_null(vfio_dev_hop(d, 15));
    assert_non_null(vfio_dev_hop(d, 16));
    assert_int_equal(vfio_dev_hop(d, 79)->to, VFIO_FSM_RUNNING);
    assert_int_equal(vfio_dev_hop(d, 79)->at_ns, 39);
    assert_int_equal(vfio_dev_hop(d, 78)->to, VFIO_FSM_STOP);
    vfio_dev_free(d);
}

static void test_read_ns(void **state)
{
    (void)state;
    struct vfio_dev_cfg c;
    vfio_dev_cfg_init(&c, "nic");
    c.read_bps = 3 * GB;
    c.query_latency_ns = 120000;
    struct vfio_dev *d = mk(&c, NULL);
    assert_int_equal(vfio_dev_read_ns(d, 3 * GB), 1 * S);
    assert_int_equal(vfio_dev_read_ns(d, 1), 1); /* rounded up */
    assert_int_equal(vfio_dev_read_ns(d, 0), 0);
    assert_int_equal(vfio_dev_query_latency_ns(d), 120000);
    assert_int_equal(vfio_dev_read_bps(d), 3 * GB);
    assert_string_equal(vfio_dev_name(d), "nic");
    assert_ptr_not_equal(vfio_dev_cfg(d), &c); /* copied */
    assert_int_equal(vfio_dev_cfg(d)->read_bps, 3 * GB);
    vfio_dev_free(d);
    c.read_bps = 0;
    d = mk(&c, NULL);
    assert_int_equal(vfio_dev_read_ns(d, 100 * GB), 0);
    vfio_dev_free(d);
}

static void test_bad_cfg(void **state)
{
    (void)state;
    struct vfio_dev_cfg c;
    vfio_dev_cfg_init(&c, "gpu1");
    c.n_schedule = 2;
    c.schedule[0] = (struct vfio_dev_size_change){2 * S, 1};
    c.schedule[1] = (struct vfio_dev_size_change){1 * S, 2};
    assert_null(vfio_dev_new(&c, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "gpu1"));
    assert_non_null(strstr(err, "schedule[1].at_ns"));

    vfio_dev_cfg_init(&c, "gpu1");
    c.n_schedule = VFIO_DEV_MAX_SCHEDULE + 1;
    assert_null(vfio_dev_new(&c, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "schedule"));

    vfio_dev_cfg_init(&c, "gpu1");
    c.schedule[0].at_ns = -1;
    c.n_schedule = 1;
    assert_null(vfio_dev_new(&c, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "schedule[0].at_ns is negative"));

    vfio_dev_cfg_init(&c, "gpu1");
    c.save_ns = -5;
    assert_null(vfio_dev_new(&c, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "save_ns"));

    vfio_dev_cfg_init(&c, "gpu1");
    c.size_jitter_bytes = 1000;
    assert_null(vfio_dev_new(&c, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "size_jitter_bytes"));

    vfio_dev_cfg_init(&c, "");
    assert_null(vfio_dev_new(&c, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "name is empty"));

    vfio_dev_cfg_init(&c, "x");
    memset(c.name, 'a', sizeof(c.name));
    assert_null(vfio_dev_new(&c, NULL, NULL, 0)); /* no buffer: no crash */
    assert_int_equal(vfio_dev_cfg_check(&c, false, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "NUL"));
}

/* Run the same query sequence on a device drawn from `seed`. */
static void jitter_run(unsigned long seed, uint64_t *out, unsigned n)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
    assert_non_null(r);
    gsl_rng_set(r, seed);
    struct vfio_dev_cfg c = precopy_cfg(false);
    c.stop_copy_bytes = 21038628864ull; /* trace 01 */
    c.size_jitter_bytes = 1500000;
    struct vfio_dev *d = mk(&c, r);
    for (unsigned i = 0; i < n; i++) {
        if (i == n / 2) {
            assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_PRE_COPY, i * MS),
                             0);
        }
        out[i] = q(d, (int64_t)i * MS);
    }
    vfio_dev_free(d);
    gsl_rng_free(r);
}

static void test_jitter_determinism(void **state)
{
    (void)state;
    enum { N = 400 };
    static uint64_t a[N], b[N], c[N];
    jitter_run(7, a, N);
    jitter_run(7, b, N);
    jitter_run(8, c, N);
    assert_memory_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    /* within +-1.5 MB, spread over the range, centred on the true size */
    const uint64_t t = 21038628864ull, j = 1500000;
    uint64_t lo = UINT64_MAX, hi = 0;
    double sum = 0;
    for (unsigned i = 0; i < N; i++) {
        assert_true(a[i] >= t - j && a[i] <= t + j);
        lo = a[i] < lo ? a[i] : lo;
        hi = a[i] > hi ? a[i] : hi;
        sum += (double)a[i] - (double)t;
    }
    assert_true(hi - lo > j); /* not stuck */
    assert_true(sum / N < 0.2 * (double)j && sum / N > -0.2 * (double)j);

    /* a stopped device reports its true size: no draw */
    gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
    struct vfio_dev_cfg cfg = precopy_cfg(false);
    cfg.size_jitter_bytes = 1000;
    struct vfio_dev *d = mk(&cfg, r);
    assert_int_equal(vfio_dev_set_state(d, VFIO_FSM_STOP, 0), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(q(d, i), 1 * GB);
    }
    /* jitter never takes a small size below 0 */
    vfio_dev_free(d);
    cfg.stop_copy_bytes = 10;
    d = mk(&cfg, r);
    unsigned zeros = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t v = q(d, i);
        assert_true(v <= 1010); /* no wrap-around below 0 */
        zeros += v == 0;
    }
    /* clamped: P(10 + U[-1000, 1000] <= 0) = 991/2001, about 99 of 200 */
    assert_true(zeros > 60 && zeros < 140);
    vfio_dev_free(d);
    gsl_rng_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_shrink_on_precopy),
        cmocka_unit_test(test_query_failure),
        cmocka_unit_test(test_precopy_accounting),
        cmocka_unit_test(test_fsm_use),
        cmocka_unit_test(test_hop_log_wraps),
        cmocka_unit_test(test_read_ns),
        cmocka_unit_test(test_bad_cfg),
        cmocka_unit_test(test_jitter_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
