/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_vfio_probe.c — the live VFIO probe against a mock device.
 *
 * THE MOCK BELOW IS THE HARDWARE BOUNDARY (the only mock hacking.md allows):
 * it stands in for the kernel behind struct vfio_probe_io.  It decodes the
 * probe's ioctls with the real uAPI layouts (VFIO_DEVICE_FEATURE envelope,
 * mig_state, mig_data_size, vfio_precopy_info, VFIO_DEVICE_RESET,
 * VFIO_DEVICE_BIND_IOMMUFD), enforces the kernel's rules that matter here
 * (argsz checks, data_fd only from an fd-opening arc, dead fd after the
 * session ends: -ENODEV, PRECOPY_INFO only in PRE_COPY*, ENOMSG at the
 * temporary end of pre-copy data, a failed SET may leave ERROR), and answers
 * from a real simulated device (devices/vfio_dev) on a virtual clock.
 * Faults are injected per ioctl to check that every failure gives a clear
 * message, no crash, no leaked fd and a device back in RUNNING.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devices/vfio_dev.h"
#include "devices/vfio_probe.h"
#include "base/units.h"

#define MS ((int64_t)1000000)
#define S  ((int64_t)1000000000)
#define MB ((uint64_t)1000000)

enum fault {
    F_NONE = 0,
    F_GET_MIG,       /* GET MIGRATION fails */
    F_GET_STATE,     /* every GET MIG_DEVICE_STATE fails */
    F_GET_STATE_2ND, /* GET MIG_DEVICE_STATE fails from the 2nd call on */
    F_SET,           /* SET whose target is fail_to fails */
    F_SET_NOFD,      /* SET to fail_to succeeds but returns no data_fd */
    F_SIZE,          /* MIG_DATA_SIZE fails (from call fail_from on) */
    F_PRECOPY,       /* PRECOPY_INFO fails */
    F_READ,          /* read fails once fail_after_bytes were read */
    F_RESET,         /* SET to fail_to fails, and so does the reset */
};

#define DEV_FD   7
#define FIRST_FD 100

struct mock {
    struct vfio_dev *dev;
    int64_t t;
    int64_t ioctl_ns; /* cost of every ioctl */
    uint64_t read_bps;
    int next_fd;
    int data_fd;       /* current session fd, -1 none */
    bool data_fd_live; /* session not ended */
    int open_fds;      /* handed out, not yet closed */
    int bad_closes;
    bool override_flags;
    uint64_t flags;

    enum fault fault;
    int fault_errno;
    enum vfio_fsm_state fail_to;
    bool fail_to_error; /* failed SET leaves the device in ERROR */
    unsigned fail_from; /* F_SIZE: 1-based call from which it fails */
    uint64_t fail_after_bytes;

    unsigned n_size_calls, n_get_state, n_resets, n_ioctls, n_binds;
    uint64_t bytes_read;
    unsigned n_sets;
    enum vfio_fsm_state set_from[32], set_to[32];
    bool non_arc_set; /* the probe asked for more than one arc at once */
};

static int m_feature(struct mock *m, void *arg)
{
    struct vfio_device_feature *h = arg;
    if (h->argsz < 8) {
        return -EINVAL;
    }
    uint32_t idx = h->flags & VFIO_DEVICE_FEATURE_MASK;
    bool get = h->flags & VFIO_DEVICE_FEATURE_GET;
    bool set = h->flags & VFIO_DEVICE_FEATURE_SET;
    if (get == set) {
        return -EINVAL;
    }
    if (h->argsz - 8 < 8) {
        return -EINVAL; /* every migration payload is 8 bytes */
    }
    uint8_t *payload = (uint8_t *)arg + 8;
    switch (idx) {
    case VFIO_DEVICE_FEATURE_MIGRATION: {
        if (!get) {
            return -EINVAL;
        }
        if (m->fault == F_GET_MIG) {
            return -m->fault_errno;
        }
        struct vfio_device_feature_migration mig = {
            .flags = m->override_flags ? m->flags : vfio_dev_mig_flags(m->dev),
        };
        memcpy(payload, &mig, sizeof(mig));
        return 0;
    }
    case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE: {
        struct vfio_device_feature_mig_state st;
        memcpy(&st, payload, sizeof(st));
        if (get) {
            m->n_get_state++;
            if (m->fault == F_GET_STATE ||
                (m->fault == F_GET_STATE_2ND && m->n_get_state > 1)) {
                return -m->fault_errno;
            }
            st.device_state = (uint32_t)vfio_dev_state(m->dev);
            st.data_fd = -1;
            memcpy(payload, &st, sizeof(st));
            return 0;
        }
        enum vfio_fsm_state from = vfio_dev_state(m->dev);
        enum vfio_fsm_state to = (enum vfio_fsm_state)st.device_state;
        if (m->n_sets < 32) {
            m->set_from[m->n_sets] = from;
            m->set_to[m->n_sets] = to;
        }
        m->n_sets++;
        if (vfio_fsm_arc_class(from, to) == 0) {
            m->non_arc_set = true;
        }
        st.data_fd = -1; /* written back on failure too */
        if ((m->fault == F_SET || m->fault == F_GET_STATE_2ND ||
             m->fault == F_RESET) &&
            to == m->fail_to) {
            if (m->fail_to_error) {
                vfio_dev_fail(m->dev, m->t);
                m->data_fd_live = false;
            }
            memcpy(payload, &st, sizeof(st));
            return -m->fault_errno;
        }
        unsigned h0 = vfio_dev_hop_count(m->dev);
        int rc = vfio_dev_set_state(m->dev, to, m->t);
        if (rc < 0) {
            memcpy(payload, &st, sizeof(st));
            return rc;
        }
        m->t += vfio_dev_last_cost_ns(m->dev);
        for (unsigned i = h0; i < vfio_dev_hop_count(m->dev); i++) {
            const struct vfio_dev_hop *hp = vfio_dev_hop(m->dev, i);
            if (hp->arc_class & VFIO_FSM_ARC_SAVE_CLOSE) {
                m->data_fd_live = false;
            }
            if ((hp->arc_class & VFIO_FSM_ARC_OPENS_FD) &&
                !(m->fault == F_SET_NOFD && to == m->fail_to)) {
                m->data_fd = m->next_fd++;
                m->data_fd_live = true;
                m->open_fds++;
                st.data_fd = m->data_fd;
            }
        }
        memcpy(payload, &st, sizeof(st));
        return 0;
    }
    case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: {
        if (!get) {
            return -EINVAL;
        }
        m->n_size_calls++;
        if (m->fault == F_SIZE && m->n_size_calls >= m->fail_from) {
            return -m->fault_errno;
        }
        struct vfio_device_feature_mig_data_size ds;
        uint64_t len = 0;
        int rc = vfio_dev_query_stop_copy(m->dev, m->t, &len);
        if (rc < 0) {
            return rc;
        }
        ds.stop_copy_length = len;
        memcpy(payload, &ds, sizeof(ds));
        return 0;
    }
    default:
        return -ENOTTY;
    }
}

static int m_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    struct mock *m = ctx;
    m->n_ioctls++;
    m->t += m->ioctl_ns;
    if (fd == DEV_FD && req == VFIO_DEVICE_FEATURE) {
        return m_feature(m, arg);
    }
    if (fd == DEV_FD && req == VFIO_DEVICE_RESET) {
        m->n_resets++;
        if (m->fault == F_RESET) {
            return -m->fault_errno;
        }
        vfio_dev_reset(m->dev, m->t);
        m->data_fd_live = false;
        return 0;
    }
    if (fd == DEV_FD && req == VFIO_DEVICE_BIND_IOMMUFD) {
        struct vfio_device_bind_iommufd *b = arg;
        if (b->argsz < 16 || b->flags != 0 || b->iommufd < 0) {
            return -EINVAL;
        }
        m->n_binds++;
        b->out_devid = 1;
        return 0;
    }
    if (fd == m->data_fd && fd >= 0 && req == VFIO_MIG_GET_PRECOPY_INFO) {
        struct vfio_precopy_info *info = arg;
        if (info->argsz < sizeof(*info)) {
            return -EINVAL;
        }
        if (!m->data_fd_live) {
            return -ENODEV;
        }
        if (m->fault == F_PRECOPY) {
            return -m->fault_errno;
        }
        uint64_t ini, dirty;
        int rc = vfio_dev_query_precopy(m->dev, m->t, &ini, &dirty);
        if (rc < 0) {
            return rc;
        }
        info->initial_bytes = ini;
        info->dirty_bytes = dirty;
        return 0;
    }
    return fd == DEV_FD || fd == m->data_fd ? -ENOTTY : -EBADF;
}

static ssize_t m_read(void *ctx, int fd, void *buf, size_t n)
{
    struct mock *m = ctx;
    if (fd != m->data_fd || fd < 0) {
        return -EBADF;
    }
    if (!m->data_fd_live) {
        return -ENODEV;
    }
    if (m->fault == F_READ && m->bytes_read >= m->fail_after_bytes) {
        return -m->fault_errno;
    }
    enum vfio_fsm_state s = vfio_dev_state(m->dev);
    uint64_t got = vfio_dev_read(m->dev, m->t, n);
    if (got == 0 && (s == VFIO_FSM_PRE_COPY || s == VFIO_FSM_PRE_COPY_P2P)) {
        return -ENOMSG; /* temporary end, as mlx5/virtio */
    }
    memset(buf, 0xa5, got);
    m->bytes_read += got;
    if (m->read_bps) {
        m->t += (int64_t)((got * (uint64_t)S + m->read_bps - 1) / m->read_bps);
    }
    return (ssize_t)got;
}

static int m_close(void *ctx, int fd)
{
    struct mock *m = ctx;
    if (fd < FIRST_FD || fd >= m->next_fd || m->open_fds <= 0) {
        m->bad_closes++;
        return -EBADF;
    }
    m->open_fds--;
    if (fd == m->data_fd) {
        m->data_fd = -1;
    }
    return 0;
}

static int64_t m_now(void *ctx)
{
    return ((struct mock *)ctx)->t;
}

static void m_sleep(void *ctx, int64_t ns)
{
    ((struct mock *)ctx)->t += ns;
}

static struct vfio_dev_cfg base_cfg(void)
{
    struct vfio_dev_cfg c;
    vfio_dev_cfg_init(&c, "vf0");
    c.stop_copy_bytes = 64 * MB;
    c.precopy = true;
    c.p2p = true;
    c.precopy_initial_bytes = 8 * MB;
    c.precopy_dirty_rate_bps = 4 * MB;
    c.save_ns = 30 * MS;
    return c;
}

static void mock_init(struct mock *m, struct vfio_probe_io *io,
                      const struct vfio_dev_cfg *c, gsl_rng *rng)
{
    memset(m, 0, sizeof(*m));
    char err[200];
    m->dev = vfio_dev_new(c, rng, err, sizeof(err));
    assert_non_null(m->dev);
    m->t = 5 * S;
    m->ioctl_ns = 120000;
    m->read_bps = 2000000000ull;
    m->next_fd = FIRST_FD;
    m->data_fd = -1;
    *io = (struct vfio_probe_io){m_ioctl, m_read, m_close, m_now, m_sleep, m};
}

static void mock_done(struct mock *m)
{
    assert_int_equal(m->open_fds, 0); /* no leaked data_fd */
    assert_int_equal(m->bad_closes, 0);
    assert_false(m->non_arc_set); /* one SET per single arc */
    vfio_dev_free(m->dev);
}

static struct vfio_probe_result res;
static char err[1024];

static void expect_sets(const struct mock *m, const enum vfio_fsm_state *to,
                        unsigned n)
{
    if (m->n_sets != n) {
        print_message("SETs issued:\n");
        for (unsigned i = 0; i < m->n_sets && i < 32; i++) {
            print_message("  %s -> %s\n", vfio_fsm_state_name(m->set_from[i]),
                          vfio_fsm_state_name(m->set_to[i]));
        }
    }
    assert_int_equal(m->n_sets, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(m->set_to[i], to[i]);
    }
}

/* Keys the scenario loader accepts for a device (run/scenario.c). */
static const char *const device_keys[] = {
    "name",
    "kind",
    "stop_copy_size",
    "precopy",
    "p2p",
    "precopy_initial",
    "precopy_dirty_rate",
    "precopy_shrinks_stop_copy",
    "min_stop_copy_size",
    "query_latency",
    "read_bandwidth",
    "save_time",
    "load_time",
    "config_size",
    "config_load_time",
    "query_fails",
    "size_jitter",
    "multifd",
};

static void check_keys_known(json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(device_keys) / sizeof(device_keys[0]);
             i++) {
            known |= strcmp(k, device_keys[i]) == 0;
        }
        if (!known) {
            print_message("unknown profile key %s\n", k);
        }
        assert_true(known);
    }
}

static void test_full_probe_all_flags(void **state)
{
    (void)state;
    struct mock m;
    struct vfio_probe_io io;
    struct vfio_dev_cfg c = base_cfg();
    mock_init(&m, &io, &c, NULL);
    struct vfio_probe_opts o;
    vfio_probe_opts_init(&o);
    err[0] = '\0';
    int rc = vfio_probe_run(&io, DEV_FD, &o, &res, err, sizeof(err));
    if (rc) {
        print_message("%s\n", err);
    }
    assert_int_equal(rc, 0);
    const enum vfio_fsm_state sets[] = {
        VFIO_FSM_PRE_COPY, VFIO_FSM_PRE_COPY_P2P, VFIO_FSM_STOP_COPY,
        VFIO_FSM_STOP,     VFIO_FSM_RUNNING_P2P,  VFIO_FSM_RUNNING};
    expect_sets(&m, sets, 6);
    assert_int_equal(vfio_dev_state(m.dev), VFIO_FSM_RUNNING);

    assert_int_equal(res.mig_flags, 7);
    assert_true(res.precopy && res.p2p && res.size_ok);
    assert_int_equal(res.stop_copy_bytes, 64 * MB);
    assert_int_equal(res.stop_copy_min_bytes, 64 * MB);
    assert_int_equal(res.stop_copy_max_bytes, 64 * MB);
    assert_int_equal(res.query_latency_ns, 120000);
    assert_true(res.precopy_probed);
    assert_int_equal(res.precopy_initial_bytes, 8 * MB);
    assert_int_equal(res.precopy_dirty_rate_bps, 4 * MB);
    /* read what PRECOPY_INFO announced after 1 s: 8 MB + 4 MB + a bit */
    assert_true(res.precopy_read_bytes >= 12 * MB &&
                res.precopy_read_bytes < 12 * MB + 100000);
    assert_true(res.stop_copy_size_ok);
    assert_int_equal(res.stop_copy_reported_bytes, 64 * MB);
    assert_int_equal(res.stop_copy_read_bytes, 64 * MB);
    assert_true(res.stop_copy_eof);
    assert_true(res.read_bps > 1998000000ull && res.read_bps <= 2000000000ull);
    /* the SET into STOP_COPY: ioctl cost + the driver's save time */
    assert_int_equal(res.save_ns, 120000 + 30 * MS);
    assert_int_equal(res.n_hops, 6);
    assert_int_equal(res.hops[2].from, VFIO_FSM_PRE_COPY_P2P);
    assert_int_equal(res.hops[2].to, VFIO_FSM_STOP_COPY);
    /* 11 samples running, 11 + 1 in pre-copy, 1 in STOP_COPY */
    assert_int_equal(res.n_samples, 24);
    assert_int_equal(res.samples[11].state, VFIO_FSM_PRE_COPY);
    assert_true(res.samples[11].precopy_ok);
    assert_int_equal(res.samples[23].state, VFIO_FSM_STOP_COPY);

    json_t *j = vfio_probe_profile_json(&res, "mlx5-vf");
    assert_non_null(j);
    check_keys_known(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")),
                        "mlx5-vf");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "vfio");
    assert_int_equal(json_integer_value(json_object_get(j, "stop_copy_size")),
                     64 * MB);
    assert_true(json_is_true(json_object_get(j, "precopy")));
    assert_true(json_is_true(json_object_get(j, "p2p")));
    assert_int_equal(json_integer_value(json_object_get(j, "precopy_initial")),
                     8 * MB);
    assert_null(json_object_get(j, "query_fails"));
    /* the strings parse with the scenario's own unit parsers */
    uint64_t rate = 0;
    int64_t ns = 0;
    assert_int_equal(units_parse_rate(json_string_value(json_object_get(
                                          j, "precopy_dirty_rate")),
                                      &rate, err, sizeof(err)),
                     0);
    assert_int_equal(rate, 4 * MB);
    assert_int_equal(units_parse_rate(json_string_value(
                                          json_object_get(j, "read_bandwidth")),
                                      &rate, err, sizeof(err)),
                     0);
    assert_int_equal(rate, res.read_bps);
    assert_int_equal(
        units_parse_time(json_string_value(json_object_get(j, "query_latency")),
                         0, &ns, err, sizeof(err)),
        0);
    assert_int_equal(ns, 120000);
    assert_int_equal(
        units_parse_time(json_string_value(json_object_get(j, "save_time")), 0,
                         &ns, err, sizeof(err)),
        0);
    assert_int_equal(ns, res.save_ns);
    assert_int_equal(json_integer_value(json_object_get(j, "size_jitter")), 0);
    json_decref(j);

    j = vfio_probe_samples_json(&res);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "samples")), 24);
    assert_int_equal(json_array_size(json_object_get(j, "hops")), 6);
    json_decref(j);
    mock_done(&m);
}

static void test_probe_without_precopy(void **state)
{
    (void)state;
    struct mock m;
    struct vfio_probe_io io;
    struct vfio_dev_cfg c = base_cfg();
    c.precopy = false; /* STOP_COPY | P2P */
    mock_init(&m, &io, &c, NULL);
    struct vfio_probe_opts o;
    vfio_probe_opts_init(&o);
    o.sample_ns = 300 * MS;
    assert_int_equal(vfio_probe_run(&io, DEV_FD, &o, &res, err, sizeof(err)),
                     0);
    const enum vfio_fsm_state sets[] = {VFIO_FSM_RUNNING_P2P, VFIO_FSM_STOP,
                                        VFIO_FSM_STOP_COPY,   VFIO_FSM_STOP,
                                        VFIO_FSM_RUNNING_P2P, VFIO_FSM_RUNNING};
    expect_sets(&m, sets, 6);
    assert_false(res.precopy_probed);
    assert_false(res.precopy);
    assert_int_equal(res.stop_copy_read_bytes, 64 * MB);
    json_t *j = vfio_probe_profile_json(&res, NULL);
    check_keys_known(j);
    assert_true(json_is_false(json_object_get(j, "precopy")));
    assert_null(json_object_get(j, "precopy_initial"));
    assert_null(json_object_get(j, "precopy_dirty_rate"));
    json_decref(j);
    mock_done(&m);

    /* PRE_COPY device without P2P, told not to use pre-copy */
    c = base_cfg();
    c.p2p = false;
    mock_init(&m, &io, &c, NULL);
    o.no_precopy = true;
    o.max_read_bytes = 10 * MB; /* capped: not to the end */
    assert_int_equal(vfio_probe_run(&io, DEV_FD, &o, &res, err, sizeof(err)),
                     0);
    const enum vfio_fsm_state sets2[] = {VFIO_FSM_STOP, VFIO_FSM_STOP_COPY,
                                         VFIO_FSM_STOP, VFIO_FSM_RUNNING};
    expect_sets(&m, sets2, 4);
    assert_true(res.precopy);
    assert_false(res.precopy_probed);
    assert_int_equal(res.stop_copy_read_bytes, 10 * MB);
    assert_false(res.stop_copy_eof);
    mock_done(&m);
}

static void test_probe_jitter(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
    gsl_rng_set(r, 11);
    struct mock m;
    struct vfio_probe_io io;
    struct vfio_dev_cfg c = base_cfg();
    c.stop_copy_bytes = 21038628864ull;
    c.size_jitter_bytes = 1500000;
    mock_init(&m, &io, &c, r);
    struct vfio_probe_opts o;
    vfio_probe_opts_init(&o);
    o.max_read_bytes = 5 * MB;
    o.no_precopy = true;
    assert_int_equal(vfio_probe_run(&io, DEV_FD, &o, &res, err, sizeof(err)),
                     0);
    assert_true(res.stop_copy_min_bytes >= c.stop_copy_bytes - 1500000);
    assert_true(res.stop_copy_max_bytes <= c.stop_copy_bytes + 1500000);
    assert_true(res.stop_copy_max_bytes - res.stop_copy_min_bytes > 1000000);
    uint64_t med = res.stop_copy_bytes;
    assert_true(med > c.stop_copy_bytes - 500000 &&
                med < c.stop_copy_bytes + 500000);
    json_t *j = vfio_probe_profile_json(&res, "gpu");
    json_int_t jit = json_integer_value(json_object_get(j, "size_jitter"));
    assert_true(jit > 500000 && jit <= 1500000);
    json_decref(j);
    mock_done(&m);
    gsl_rng_free(r);
}

static void test_size_query_unavailable(void **state)
{
    (void)state;
    struct mock m;
    struct vfio_probe_io io;
    struct vfio_dev_cfg c = base_cfg();
    mock_init(&m, &io, &c, NULL);
    m.fault = F_SIZE; /* a 6.1 kernel: feature 9 unknown */
    m.fault_errno = ENOTTY;
    m.fail_from = 1;
    struct vfio_probe_opts o;
    vfio_probe_opts_init(&o);
    assert_int_equal(vfio_probe_run(&io, DEV_FD, &o, &res, err, sizeof(err)),
                     0);
    assert_false(res.size_ok);
    assert_int_equal(res.size_errno, ENOTTY);
    assert_int_equal(m.n_size_calls, 1); /* not retried every sample */
    json_t *j = vfio_probe_profile_json(&res, "old");
    check_keys_known(j);
    assert_true(json_is_true(json_object_get(j, "query_fails")));
    assert_null(json_object_get(j, "query_latency"));
    /* the real size comes from reading the stream */
    assert_int_equal(json_integer_value(json_object_get(j, "stop_copy_size")),
                     64 * MB);
    json_decref(j);
    mock_done(&m);
}

struct fail_case {
    const char *what;
    enum fault fault;
    int fault_errno;
    enum vfio_fsm_state fail_to;
    bool fail_to_error;
    unsigned fail_from;
    uint64_t fail_after_bytes;
    bool start_stopped; /* device not RUNNING at start */
    bool no_stop_copy;  /* flags without STOP_COPY */
    int want_rc;
    const char *want1, *want2;
    bool want_running; /* device RUNNING at the end */
    unsigned max_sets; /* SETs allowed (0 = none) */
    unsigned want_resets;
};

static const struct fail_case cases[] = {
    {"not migratable", F_GET_MIG, ENOTTY, 0, false, 0, 0, false, false, -ENOTTY,
     "GET MIGRATION", "does not support migration", true, 0, 0},
    {"GET MIGRATION EIO", F_GET_MIG, EIO, 0, false, 0, 0, false, false, -EIO,
     "GET MIGRATION failed", "Input/output error", true, 0, 0},
    {"cdev not bound", F_GET_MIG, EINVAL, 0, false, 0, 0, false, false, -EINVAL,
     "GET MIGRATION failed", "bound first", true, 0, 0},
    {"no STOP_COPY flag", F_NONE, 0, 0, false, 0, 0, false, true, -EOPNOTSUPP,
     "lack VFIO_MIGRATION_STOP_COPY", "0x2", true, 0, 0},
    {"GET state fails", F_GET_STATE, EIO, 0, false, 0, 0, false, false, -EIO,
     "GET MIG_DEVICE_STATE failed", "Input/output error", true, 0, 0},
    {"device busy", F_NONE, 0, 0, false, 0, 0, true, false, -EBUSY,
     "state STOP, not RUNNING", "changed nothing", false, 0, 0},
    {"SET to STOP_COPY -> ERROR", F_SET, EIO, VFIO_FSM_STOP_COPY, true, 0, 0,
     false, false, -EIO, "PRE_COPY_P2P -> STOP_COPY failed",
     "has been reset (VFIO_DEVICE_RESET): it is RUNNING again", true, 3, 1},
    {"SET to STOP_COPY busy", F_SET, EBUSY, VFIO_FSM_STOP_COPY, false, 0, 0,
     false, false, -EBUSY, "PRE_COPY_P2P -> STOP_COPY failed",
     "was in PRE_COPY_P2P and is RUNNING again", true, 5, 0},
    {"SET to PRE_COPY fails", F_SET, ENOMEM, VFIO_FSM_PRE_COPY, false, 0, 0,
     false, false, -ENOMEM, "RUNNING -> PRE_COPY failed",
     "the device is RUNNING", true, 1, 0},
    {"no data_fd returned", F_SET_NOFD, 0, VFIO_FSM_PRE_COPY, false, 0, 0,
     false, false, -EIO,
     "RUNNING -> PRE_COPY succeeded but returned no "
     "data_fd",
     "was in PRE_COPY and is RUNNING again", true, 2, 0},
    {"PRECOPY_INFO fails", F_PRECOPY, EIO, 0, false, 0, 0, false, false, -EIO,
     "VFIO_MIG_GET_PRECOPY_INFO", "was in PRE_COPY and is RUNNING again", true,
     2, 0},
    {"read fails mid-stream", F_READ, EIO, 0, false, 0, 30 * MB, false, false,
     -EIO, "stop-copy stream failed after", "was in STOP_COPY and is RUNNING",
     true, 6, 0},
    {"size query breaks later", F_SIZE, EIO, 0, false, 2, 0, false, false, -EIO,
     "failed on try 2", "the device is RUNNING", true, 0, 0},
    {"state unknown after failure", F_GET_STATE_2ND, EIO, VFIO_FSM_STOP_COPY,
     false, 0, 0, false, false, -EIO, "PRE_COPY_P2P -> STOP_COPY failed",
     "state is unknown", false, 3, 0},
    {"reset fails", F_RESET, EIO, VFIO_FSM_STOP_COPY, true, 0, 0, false, false,
     -EIO, "PRE_COPY_P2P -> STOP_COPY failed", "VFIO_DEVICE_RESET failed",
     false, 3, 1},
};

static void test_failures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct fail_case *fc = &cases[i];
        struct mock m;
        struct vfio_probe_io io;
        struct vfio_dev_cfg c = base_cfg();
        print_message("case: %s\n", fc->what);
        mock_init(&m, &io, &c, NULL);
        m.fault = fc->fault;
        m.fault_errno = fc->fault_errno;
        m.fail_to = fc->fail_to;
        m.fail_to_error = fc->fail_to_error;
        m.fail_from = fc->fail_from;
        m.fail_after_bytes = fc->fail_after_bytes;
        if (fc->no_stop_copy) {
            m.override_flags = true;
            m.flags = VFIO_MIGRATION_P2P;
        }
        if (fc->start_stopped) {
            assert_int_equal(vfio_dev_set_state(m.dev, VFIO_FSM_STOP, 0), 0);
        }
        struct vfio_probe_opts o;
        vfio_probe_opts_init(&o);
        o.sample_ns = 200 * MS;
        err[0] = '\0';
        int rc;
        rc = vfio_probe_run(&io, DEV_FD, &o, &res, err, sizeof(err));
        print_message("  -> %d: %s\n", rc, err);
        assert_int_equal(rc, fc->want_rc);
        assert_non_null(strstr(err, fc->want1));
        assert_non_null(strstr(err, fc->want2));
        if (fc->want_running) {
            assert_int_equal(vfio_dev_state(m.dev), VFIO_FSM_RUNNING);
        }
        assert_true(m.n_sets <= fc->max_sets);
        assert_int_equal(m.n_resets, fc->want_resets);
        mock_done(&m);
    }
}

static void test_bind_and_opts(void **state)
{
    (void)state;
    struct mock m;
    struct vfio_probe_io io;
    struct vfio_dev_cfg c = base_cfg();
    mock_init(&m, &io, &c, NULL);
    assert_int_equal(vfio_probe_bind_iommufd(&io, DEV_FD, 9, err, sizeof(err)),
                     0);
    assert_int_equal(m.n_binds, 1);
    assert_int_equal(vfio_probe_bind_iommufd(&io, DEV_FD, -1, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "VFIO_DEVICE_BIND_IOMMUFD failed"));
    assert_int_equal(vfio_probe_bind_iommufd(&io, 55, 9, err, sizeof(err)),
                     -EBADF);

    struct vfio_probe_opts o;
    vfio_probe_opts_init(&o);
    o.interval_ns = 0;
    unsigned before = m.n_ioctls;
    assert_int_equal(vfio_probe_run(&io, DEV_FD, &o, &res, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "--interval"));
    assert_int_equal(m.n_ioctls, before); /* device untouched */
    vfio_probe_opts_init(&o);
    o.sample_ns = 100 * S;
    assert_int_equal(vfio_probe_opts_check(&o, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "--sample-time"));
    vfio_probe_opts_init(&o);
    o.latency_reps = 0;
    assert_int_equal(vfio_probe_opts_check(&o, err, sizeof(err)), -EINVAL);
    vfio_probe_opts_init(&o);
    o.buf_bytes = 10;
    assert_int_equal(vfio_probe_opts_check(&o, err, sizeof(err)), -EINVAL);
    vfio_probe_opts_init(&o);
    assert_int_equal(vfio_probe_opts_check(&o, err, sizeof(err)), 0);
    mock_done(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_probe_all_flags),
        cmocka_unit_test(test_probe_without_precopy),
        cmocka_unit_test(test_probe_jitter),
        cmocka_unit_test(test_size_query_unavailable),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_bind_and_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
