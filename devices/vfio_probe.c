/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/vfio_probe.c — live VFIO migration probe (see vfio_probe.h).
 */
#include "devices/vfio_probe.h"
#include "base/err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Our FSM enum and flags must be the uAPI's numbers. */
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(VFIO_FSM_ERROR, VFIO_DEVICE_STATE_ERROR), "uAPI ERROR");
_Static_assert(SAME(VFIO_FSM_STOP, VFIO_DEVICE_STATE_STOP), "uAPI STOP");
_Static_assert(SAME(VFIO_FSM_RUNNING, VFIO_DEVICE_STATE_RUNNING),
               "uAPI RUNNING");
_Static_assert(SAME(VFIO_FSM_STOP_COPY, VFIO_DEVICE_STATE_STOP_COPY),
               "uAPI STOP_COPY");
_Static_assert(SAME(VFIO_FSM_RESUMING, VFIO_DEVICE_STATE_RESUMING),
               "uAPI RESUMING");
_Static_assert(SAME(VFIO_FSM_RUNNING_P2P, VFIO_DEVICE_STATE_RUNNING_P2P),
               "uAPI RUNNING_P2P");
#ifndef MIGSIM_VFIO_COMPAT_PRE_COPY
/* headers new enough to have the PRE_COPY enumerators */
_Static_assert(SAME(VFIO_FSM_PRE_COPY, VFIO_DEVICE_STATE_PRE_COPY),
               "uAPI PRE_COPY");
_Static_assert(SAME(VFIO_FSM_PRE_COPY_P2P, VFIO_DEVICE_STATE_PRE_COPY_P2P),
               "uAPI PRE_COPY_P2P");
_Static_assert(SAME(VFIO_FSM_NR, VFIO_DEVICE_STATE_NR), "uAPI NR");
#endif
_Static_assert(VFIO_FSM_F_STOP_COPY == VFIO_MIGRATION_STOP_COPY,
               "uAPI STOP_COPY flag");
_Static_assert(VFIO_FSM_F_P2P == VFIO_MIGRATION_P2P, "uAPI P2P flag");
_Static_assert(VFIO_FSM_F_PRE_COPY == VFIO_MIGRATION_PRE_COPY,
               "uAPI PRE_COPY flag");
/* Layouts and numbers from the uAPI (vfio-uapi.md §1.1, §1.12). */
_Static_assert(sizeof(struct vfio_device_feature) == 8, "feature header");
_Static_assert(sizeof(struct vfio_device_feature_migration) == 8, "mig");
_Static_assert(sizeof(struct vfio_device_feature_mig_state) == 8, "state");
_Static_assert(sizeof(struct vfio_device_feature_mig_data_size) == 8, "size");
_Static_assert(sizeof(struct vfio_precopy_info) == 24, "precopy_info");
_Static_assert(offsetof(struct vfio_precopy_info, initial_bytes) == 8,
               "initial_bytes");
_Static_assert(offsetof(struct vfio_precopy_info, dirty_bytes) == 16,
               "dirty_bytes");
_Static_assert(sizeof(struct vfio_device_bind_iommufd) >= 16, "bind");
_Static_assert(VFIO_DEVICE_FEATURE == 0x3B75, "VFIO_DEVICE_FEATURE");
_Static_assert(VFIO_MIG_GET_PRECOPY_INFO == 0x3B79, "PRECOPY_INFO");
_Static_assert(VFIO_DEVICE_RESET == 0x3B6F, "VFIO_DEVICE_RESET");
_Static_assert(VFIO_DEVICE_BIND_IOMMUFD == 0x3B76, "BIND_IOMMUFD");
_Static_assert(VFIO_DEVICE_FEATURE_MIGRATION == 1, "feature 1");
_Static_assert(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE == 2, "feature 2");
_Static_assert(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE == 9, "feature 9");

#define NS_PER_S            1000000000LL
#define MAX_PHASE_SAMPLES   200
#define MAX_LATENCY_REPS    256
#define PROFILE_MIN_READ_BW (4u << 20) /* bytes needed to report a rate */

/* ---- the real system --------------------------------------------------- */

static int sys_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    (void)ctx;
    int rc = ioctl(fd, req, arg);
    return rc < 0 ? -errno : rc;
}

static ssize_t sys_read(void *ctx, int fd, void *buf, size_t n)
{
    (void)ctx;
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0) {
            return r;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
}

static int sys_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd) < 0 ? -errno : 0;
}

static int64_t sys_now_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sys_sleep_ns(void *ctx, int64_t ns)
{
    (void)ctx;
    if (ns <= 0) {
        return;
    }
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S),
                          .tv_nsec = (long)(ns % NS_PER_S)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static const struct vfio_probe_io sys_io = {
    sys_ioctl, sys_read, sys_close, sys_now_ns, sys_sleep_ns, NULL,
};

const struct vfio_probe_io *vfio_probe_sys_io(void)
{
    return &sys_io;
}

/* ---- helpers ------------------------------------------------------------ */

void vfio_probe_opts_init(struct vfio_probe_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->sample_ns = NS_PER_S;
    o->interval_ns = 100 * 1000000LL;
    o->latency_reps = 32;
    o->buf_bytes = 1u << 20;
}

struct probe {
    const struct vfio_probe_io *io;
    int fd;
    int data_fd; /* -1 = none */
    uint64_t flags;
    enum vfio_fsm_state cur; /* committed by the walker */
    struct vfio_probe_result *res;
    int64_t t0;
    char step_err[200]; /* why the last step failed */
};

static int64_t now(struct probe *p)
{
    return p->io->now_ns(p->io->ctx);
}

/* VFIO_DEVICE_FEATURE with an 8-byte payload (all migration features). */
static int feature(struct probe *p, uint32_t flags, void *payload)
{
    uint64_t buf[2]; /* header + payload, 8-byte aligned */
    struct vfio_device_feature *hdr = (struct vfio_device_feature *)buf;
    hdr->argsz = sizeof(buf);
    hdr->flags = flags;
    memcpy(&buf[1], payload, 8);
    int rc = p->io->ioctl(p->io->ctx, p->fd, VFIO_DEVICE_FEATURE, buf);
    memcpy(payload, &buf[1], 8);
    return rc < 0 ? rc : 0;
}

static int get_state(struct probe *p, enum vfio_fsm_state *s)
{
    struct vfio_device_feature_mig_state st = {.device_state = 0,
                                               .data_fd = -1};
    int rc = feature(
        p, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st);
    if (rc == 0) {
        *s = (enum vfio_fsm_state)st.device_state;
    }
    return rc;
}

static int data_size(struct probe *p, uint64_t *bytes)
{
    struct vfio_device_feature_mig_data_size ds = {0};
    int rc = feature(
        p, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &ds);
    if (rc == 0) {
        *bytes = ds.stop_copy_length;
    }
    return rc;
}

static int precopy_info(struct probe *p, uint64_t *initial, uint64_t *dirty)
{
    /* flags = 0 in: drivers may echo it back (vfio-uapi.md §1.10) */
    struct vfio_precopy_info info = {.argsz = sizeof(info), .flags = 0};
    int rc =
        p->io->ioctl(p->io->ctx, p->data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info);
    if (rc < 0) {
        return rc;
    }
    *initial = info.initial_bytes;
    *dirty = info.dirty_bytes;
    return 0;
}

static void close_data_fd(struct probe *p)
{
    if (p->data_fd >= 0) {
        p->io->close(p->io->ctx, p->data_fd);
        p->data_fd = -1;
    }
}

/* One SET per arc, timed; keeps the data_fd an opening arc returns. */
static int live_step(void *ctx, enum vfio_fsm_state from,
                     enum vfio_fsm_state to, unsigned cls, bool final_hop)
{
    struct probe *p = ctx;
    (void)final_hop;
    struct vfio_device_feature_mig_state st = {.device_state = (uint32_t)to,
                                               .data_fd = -1};
    int64_t t = now(p);
    int rc = feature(
        p, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st);
    int64_t dt = now(p) - t;
    if (rc < 0) {
        snprintf(p->step_err, sizeof(p->step_err),
                 "VFIO_DEVICE_FEATURE SET MIG_DEVICE_STATE %s -> %s failed: "
                 "%s",
                 vfio_fsm_state_name(from), vfio_fsm_state_name(to),
                 strerror(-rc));
        return rc;
    }
    if (cls & VFIO_FSM_ARC_OPENS_FD) {
        if (st.data_fd < 0) {
            snprintf(p->step_err, sizeof(p->step_err),
                     "SET %s -> %s succeeded but returned no data_fd",
                     vfio_fsm_state_name(from), vfio_fsm_state_name(to));
            return -EIO;
        }
        close_data_fd(p); /* a stale fd from an earlier session */
        p->data_fd = st.data_fd;
    } else if (st.data_fd >= 0) {
        /* the kernel writes -1 here; never leak what it gave anyway */
        p->io->close(p->io->ctx, st.data_fd);
    }
    struct vfio_probe_result *r = p->res;
    if (r->n_hops < VFIO_PROBE_MAX_HOPS) {
        r->hops[r->n_hops++] = (struct vfio_probe_hop){from, to, dt};
    }
    if (to == VFIO_FSM_STOP_COPY) {
        r->save_ns = dt;
    }
    return 0;
}

/* Walk to target; on failure a message (without recovery) in err. */
static int walk(struct probe *p, enum vfio_fsm_state target, char *err,
                size_t errlen)
{
    unsigned diag = 0;
    if (vfio_fsm_validate_request(p->cur, target, p->flags, &diag) < 0) {
        err_set(err, errlen, "refusing %s -> %s: %s",
                vfio_fsm_state_name(p->cur), vfio_fsm_state_name(target),
                vfio_fsm_diag_str(diag));
        return -EINVAL;
    }
    p->step_err[0] = '\0';
    enum vfio_fsm_state start = p->cur;
    int rc = vfio_fsm_walk(&p->cur, target, p->flags, live_step, p);
    if (rc < 0) {
        err_set(err, errlen, "%s (walking %s -> %s)",
                p->step_err[0] ? p->step_err : strerror(-rc),
                vfio_fsm_state_name(start), vfio_fsm_state_name(target));
    }
    return rc;
}

/*
 * After a failure: close the data_fd, read the real state (the walker's
 * committed state may be stale after a failed SET), and bring the device
 * back to RUNNING.  Appends what happened to err.
 */
static void recover(struct probe *p, char *err, size_t errlen)
{
    close_data_fd(p);
    enum vfio_fsm_state s;
    int rc = get_state(p, &s);
    if (rc < 0) {
        err_append(err, errlen,
                   "; reading the device state back failed (%s): the "
                   "device state is unknown, check it before using it",
                   strerror(-rc));
        return;
    }
    if (s == VFIO_FSM_ERROR) {
        rc = p->io->ioctl(p->io->ctx, p->fd, VFIO_DEVICE_RESET, NULL);
        if (rc < 0) {
            err_append(err, errlen,
                       "; the device is in ERROR and VFIO_DEVICE_RESET "
                       "failed (%s)",
                       strerror(-rc));
            return;
        }
        rc = get_state(p, &s);
        if (rc == 0 && s == VFIO_FSM_RUNNING) {
            err_append(err, errlen,
                       "; the device was in ERROR and has been reset "
                       "(VFIO_DEVICE_RESET): it is RUNNING again");
        } else {
            err_append(err, errlen,
                       "; the device was in ERROR; after VFIO_DEVICE_RESET "
                       "it is %s",
                       rc == 0 ? vfio_fsm_state_name(s) : "unknown");
        }
        return;
    }
    p->cur = s;
    if (s == VFIO_FSM_RUNNING) {
        err_append(err, errlen, "; the device is RUNNING");
        return;
    }
    char werr[256] = "";
    rc = walk(p, VFIO_FSM_RUNNING, werr, sizeof(werr));
    if (rc == 0) {
        err_append(err, errlen, "; the device was in %s and is RUNNING again",
                   vfio_fsm_state_name(s));
    } else {
        err_append(err, errlen,
                   "; the device was in %s and could not be returned to "
                   "RUNNING (%s)",
                   vfio_fsm_state_name(s), werr);
    }
}

static void add_sample(struct probe *p, const struct vfio_probe_sample *s)
{
    struct vfio_probe_result *r = p->res;
    if (r->n_samples < VFIO_PROBE_MAX_SAMPLES) {
        r->samples[r->n_samples++] = *s;
    }
}

/* One sample in the current state.  Returns a negative errno only for a
 * PRECOPY_INFO failure (MIG_DATA_SIZE failures are data). */
static int take_sample(struct probe *p, struct vfio_probe_sample *s)
{
    memset(s, 0, sizeof(*s));
    s->t_ns = now(p) - p->t0;
    s->state = p->cur;
    if (p->res->size_ok) {
        s->size_ok = data_size(p, &s->stop_copy_bytes) == 0;
    }
    if (p->cur == VFIO_FSM_PRE_COPY || p->cur == VFIO_FSM_PRE_COPY_P2P) {
        int rc = precopy_info(p, &s->initial_bytes, &s->dirty_bytes);
        if (rc < 0) {
            return rc;
        }
        s->precopy_ok = true;
    }
    add_sample(p, s);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median_u64(uint64_t *v, unsigned n)
{
    qsort(v, n, sizeof(v[0]), cmp_u64);
    return v[n / 2];
}

/*
 * Read the data_fd until end of data, a read error, `budget` bytes (0 = no
 * limit) or (pre-copy) the temporary end (0 or ENOMSG).  Time in read() is
 * added to *ns.
 */
static int drain(struct probe *p, void *buf, size_t buf_bytes, bool precopy,
                 uint64_t budget, uint64_t *bytes, int64_t *ns, bool *eof)
{
    *eof = false;
    for (;;) {
        size_t want = buf_bytes;
        if (budget) {
            if (*bytes >= budget) {
                return 0;
            }
            if (budget - *bytes < want) {
                want = (size_t)(budget - *bytes);
            }
        }
        int64_t t = now(p);
        ssize_t n = p->io->read(p->io->ctx, p->data_fd, buf, want);
        *ns += now(p) - t;
        if (n == 0 || (precopy && (n == -ENOMSG || n == -EAGAIN))) {
            *eof = (n == 0);
            return 0;
        }
        if (n < 0) {
            return (int)n;
        }
        *bytes += (uint64_t)n;
    }
}

int vfio_probe_opts_check(const struct vfio_probe_opts *o, char *err,
                          size_t errlen)
{
    if (o->interval_ns <= 0) {
        err_set(err, errlen,
                "--interval: the sampling interval must be positive");
        return -EINVAL;
    }
    if (o->sample_ns < 0 || o->sample_ns / o->interval_ns > MAX_PHASE_SAMPLES) {
        err_set(err, errlen,
                "--sample-time: must be >= 0 and at most %d intervals",
                MAX_PHASE_SAMPLES);
        return -EINVAL;
    }
    if (o->latency_reps < 1 || o->latency_reps > MAX_LATENCY_REPS) {
        err_set(err, errlen, "--reps: latency repetitions must be 1..%d",
                MAX_LATENCY_REPS);
        return -EINVAL;
    }
    if (o->buf_bytes < 4096 || o->buf_bytes > (64u << 20)) {
        err_set(err, errlen, "read buffer must be 4 KiB .. 64 MiB");
        return -EINVAL;
    }
    return 0;
}

int vfio_probe_bind_iommufd(const struct vfio_probe_io *io, int dev_fd,
                            int iommu_fd, char *err, size_t errlen)
{
    struct vfio_device_bind_iommufd b;
    memset(&b, 0, sizeof(b));
    b.argsz = 16; /* argsz, flags, iommufd, out_devid: no optional fields */
    b.flags = 0;
    b.iommufd = iommu_fd;
    int rc = io->ioctl(io->ctx, dev_fd, VFIO_DEVICE_BIND_IOMMUFD, &b);
    if (rc < 0) {
        err_set(err, errlen,
                "VFIO_DEVICE_BIND_IOMMUFD failed: %s (is the device bound to a "
                "vfio driver and not in use by another process?)",
                strerror(-rc));
        return rc;
    }
    return 0;
}

/* Steps 2..5; the caller recovers on failure. */
/* RUNNING: the size query's latency, then sizes over time. */
static int probe_running(struct probe *p, const struct vfio_probe_opts *o,
                         unsigned n_phase, char *err, size_t errlen)
{
    struct vfio_probe_result *r = p->res;
    uint64_t sizes[MAX_LATENCY_REPS + MAX_PHASE_SAMPLES + 1];
    uint64_t lat[MAX_LATENCY_REPS];
    unsigned n_sizes = 0;
    struct vfio_probe_sample s;
    uint64_t first;
    int64_t t = now(p);
    int rc = data_size(p, &first);
    int64_t dt = now(p) - t;
    if (rc < 0) {
        r->size_ok = false;
        r->size_errno = -rc;
    } else {
        r->size_ok = true;
        lat[0] = (uint64_t)dt;
        sizes[n_sizes++] = first;
        for (unsigned i = 1; i < o->latency_reps; i++) {
            uint64_t v;
            t = now(p);
            rc = data_size(p, &v);
            lat[i] = (uint64_t)(now(p) - t);
            if (rc < 0) {
                err_set(
                    err, errlen,
                    "VFIO_DEVICE_FEATURE GET MIG_DATA_SIZE failed on try %u "
                    "after succeeding: %s",
                    i + 1, strerror(-rc));
                return rc;
            }
            sizes[n_sizes++] = v;
        }
        r->query_latency_ns = (int64_t)median_u64(lat, o->latency_reps);
        r->query_latency_max_ns = (int64_t)lat[o->latency_reps - 1];
    }
    for (unsigned i = 0; i < n_phase; i++) {
        if (i > 0) {
            p->io->sleep_ns(p->io->ctx, o->interval_ns);
        }
        (void)take_sample(p, &s); /* no PRECOPY_INFO in RUNNING */
        if (s.size_ok) {
            sizes[n_sizes++] = s.stop_copy_bytes;
        }
    }
    if (n_sizes > 0) {
        qsort(sizes, n_sizes, sizeof(sizes[0]), cmp_u64);
        r->stop_copy_min_bytes = sizes[0];
        r->stop_copy_max_bytes = sizes[n_sizes - 1];
        r->stop_copy_bytes = sizes[n_sizes / 2];
    }
    return 0;
}

/* PRE_COPY samples over the phase; the dirty rate between the first and
 * the last. */
static int precopy_samples(struct probe *p, const struct vfio_probe_opts *o,
                           unsigned n_phase, char *err, size_t errlen)
{
    struct vfio_probe_result *r = p->res;
    struct vfio_probe_sample s, first_pc = {0}, last_pc = {0};
    for (unsigned i = 0; i < n_phase; i++) {
        if (i > 0) {
            p->io->sleep_ns(p->io->ctx, o->interval_ns);
        }
        int rc = take_sample(p, &s);
        if (rc < 0) {
            err_set(err, errlen,
                    "VFIO_MIG_GET_PRECOPY_INFO on the data_fd failed in %s: "
                    "%s",
                    vfio_fsm_state_name(p->cur), strerror(-rc));
            return rc;
        }
        if (i == 0) {
            first_pc = s;
            r->precopy_initial_bytes = s.initial_bytes;
        }
        last_pc = s;
    }
    if (last_pc.t_ns > first_pc.t_ns &&
        last_pc.dirty_bytes > first_pc.dirty_bytes) {
        unsigned __int128 d =
            (unsigned __int128)(last_pc.dirty_bytes - first_pc.dirty_bytes) *
            NS_PER_S;
        r->precopy_dirty_rate_bps =
            (uint64_t)(d / (uint64_t)(last_pc.t_ns - first_pc.t_ns));
    }
    return 0;
}

/* PRE_COPY: samples, then read what the device says it has now (not what
 * it keeps making). */
static int probe_precopy(struct probe *p, const struct vfio_probe_opts *o,
                         unsigned n_phase, void *buf, char *err, size_t errlen)
{
    struct vfio_probe_result *r = p->res;
    int rc = walk(p, VFIO_FSM_PRE_COPY, err, errlen);
    if (rc < 0) {
        return rc;
    }
    r->precopy_probed = true;
    rc = precopy_samples(p, o, n_phase, err, errlen);
    if (rc < 0) {
        return rc;
    }
    uint64_t ini = 0, dirty = 0;
    rc = precopy_info(p, &ini, &dirty);
    if (rc < 0) {
        err_set(err, errlen, "VFIO_MIG_GET_PRECOPY_INFO failed: %s",
                strerror(-rc));
        return rc;
    }
    uint64_t budget = ini + dirty;
    if (o->max_read_bytes && o->max_read_bytes < budget) {
        budget = o->max_read_bytes;
    }
    int64_t ns = 0;
    bool eof;
    if (budget > 0) {
        rc = drain(p, buf, o->buf_bytes, true, budget, &r->precopy_read_bytes,
                   &ns, &eof);
        if (rc < 0) {
            err_set(err, errlen,
                    "read() of pre-copy data from the data_fd failed after "
                    "%" PRIu64 " bytes: %s",
                    r->precopy_read_bytes, strerror(-rc));
            return rc;
        }
    }
    struct vfio_probe_sample s;
    (void)take_sample(p, &s); /* what is left after reading */
    return 0;
}

/* STOP_COPY: the device stops here; its reported size, then the stream. */
static int probe_stop_copy(struct probe *p, const struct vfio_probe_opts *o,
                           void *buf, char *err, size_t errlen)
{
    struct vfio_probe_result *r = p->res;
    int rc = walk(p, VFIO_FSM_STOP_COPY, err, errlen);
    if (rc < 0) {
        return rc;
    }
    if (r->size_ok) {
        r->stop_copy_size_ok = data_size(p, &r->stop_copy_reported_bytes) == 0;
    }
    add_sample(p, &(struct vfio_probe_sample){
                      .t_ns = now(p) - p->t0,
                      .state = p->cur,
                      .size_ok = r->stop_copy_size_ok,
                      .stop_copy_bytes = r->stop_copy_reported_bytes,
                  });
    rc = drain(p, buf, o->buf_bytes, false, o->max_read_bytes,
               &r->stop_copy_read_bytes, &r->stop_copy_read_ns,
               &r->stop_copy_eof);
    if (rc < 0) {
        err_set(err, errlen,
                "read() of the stop-copy stream failed after %" PRIu64
                " bytes: %s",
                r->stop_copy_read_bytes, strerror(-rc));
        return rc;
    }
    if (r->stop_copy_read_ns > 0) {
        r->read_bps = (uint64_t)((unsigned __int128)r->stop_copy_read_bytes *
                                 NS_PER_S / (uint64_t)r->stop_copy_read_ns);
    }
    return 0;
}

static int probe_body(struct probe *p, const struct vfio_probe_opts *o,
                      void *buf, char *err, size_t errlen)
{
    unsigned n_phase = (unsigned)(o->sample_ns / o->interval_ns) + 1;
    /* 2. RUNNING: latency, then sizes over time */
    int rc = probe_running(p, o, n_phase, err, errlen);
    /* 3. pre-copy */
    if (rc == 0 && p->res->precopy && !o->no_precopy) {
        rc = probe_precopy(p, o, n_phase, buf, err, errlen);
    }
    /* 4. STOP_COPY */
    if (rc == 0) {
        rc = probe_stop_copy(p, o, buf, err, errlen);
    }
    if (rc < 0) {
        return rc;
    }
    /* 5. back to RUNNING (STOP_COPY -> STOP ends the session) */
    rc = walk(p, VFIO_FSM_RUNNING, err, errlen);
    close_data_fd(p);
    return rc;
}

int vfio_probe_run(const struct vfio_probe_io *io, int dev_fd,
                   const struct vfio_probe_opts *opts,
                   struct vfio_probe_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    if (vfio_probe_opts_check(opts, err, errlen) < 0) {
        return -EINVAL;
    }
    struct probe p = {.io = io, .fd = dev_fd, .data_fd = -1, .res = res};
    p.t0 = now(&p);

    /* 1. what the device can do, and where it is */
    struct vfio_device_feature_migration mig = {0};
    int rc = feature(
        &p, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig);
    if (rc == -ENOTTY) {
        err_set(err, errlen,
                "VFIO_DEVICE_FEATURE GET MIGRATION: %s: the device does not "
                "support migration (not a VFIO device fd, or no "
                "migration-capable variant driver bound)",
                strerror(-rc));
        return rc;
    }
    if (rc < 0) {
        err_set(err, errlen, "VFIO_DEVICE_FEATURE GET MIGRATION failed: %s%s",
                strerror(-rc),
                rc == -EINVAL ? " (an iommufd device cdev must be bound first; "
                                "a group fd is not a device fd)"
                              : "");
        return rc;
    }
    if (!(mig.flags & VFIO_MIGRATION_STOP_COPY)) {
        err_set(err, errlen,
                "device migration flags 0x%llx lack VFIO_MIGRATION_STOP_COPY: "
                "not a usable migration device",
                (unsigned long long)mig.flags);
        return -EOPNOTSUPP;
    }
    p.flags = mig.flags &
              (VFIO_FSM_F_STOP_COPY | VFIO_FSM_F_P2P | VFIO_FSM_F_PRE_COPY);
    res->mig_flags = p.flags;
    res->p2p = (p.flags & VFIO_FSM_F_P2P) != 0;
    res->precopy = (p.flags & VFIO_FSM_F_PRE_COPY) != 0;

    enum vfio_fsm_state s;
    rc = get_state(&p, &s);
    if (rc < 0) {
        err_set(err, errlen,
                "VFIO_DEVICE_FEATURE GET MIG_DEVICE_STATE failed: %s",
                strerror(-rc));
        return rc;
    }
    if (s != VFIO_FSM_RUNNING) {
        err_set(err, errlen,
                "device is in state %s, not RUNNING: it may be in use by a "
                "migration%s; the probe changed nothing",
                vfio_fsm_state_name(s),
                s == VFIO_FSM_ERROR ? " (ERROR: reset the device first)" : "");
        return -EBUSY;
    }
    p.cur = s;

    void *buf = malloc(opts->buf_bytes);
    if (!buf) {
        err_set(err, errlen, "probe: out of memory for a %zu-byte read buffer",
                opts->buf_bytes);
        return -ENOMEM;
    }
    rc = probe_body(&p, opts, buf, err, errlen);
    free(buf);
    if (rc < 0) {
        recover(&p, err, errlen);
    }
    close_data_fd(&p);
    return rc;
}

/* ---- JSON --------------------------------------------------------------- */

static int set_str(json_t *o, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_str(json_t *o, const char *k, const char *fmt, ...)
{
    char b[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    return json_object_set_new(o, k, json_string(b));
}

static int set_u64(json_t *o, const char *k, uint64_t v)
{
    /* jansson integers are signed 64-bit; sizes this large do not occur */
    return json_object_set_new(
        o, k, json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v));
}

json_t *vfio_probe_profile_json(const struct vfio_probe_result *res,
                                const char *name)
{
    json_t *o = json_object();
    if (!o) {
        return NULL;
    }
    int bad = 0;
    bad |= json_object_set_new(o, "name", json_string(name ? name : "vfio0"));
    bad |= json_object_set_new(o, "kind", json_string("vfio"));
    bad |= set_u64(o, "stop_copy_size",
                   res->size_ok ? res->stop_copy_bytes
                                : res->stop_copy_read_bytes);
    bad |= json_object_set_new(o, "precopy", json_boolean(res->precopy));
    bad |= json_object_set_new(o, "p2p", json_boolean(res->p2p));
    if (res->precopy_probed) {
        bad |= set_u64(o, "precopy_initial", res->precopy_initial_bytes);
        bad |= set_str(o, "precopy_dirty_rate", "%" PRIu64 "B/s",
                       res->precopy_dirty_rate_bps);
    }
    if (res->size_ok) {
        bad |=
            set_str(o, "query_latency", "%" PRId64 "ns", res->query_latency_ns);
        bad |=
            set_u64(o, "size_jitter",
                    (res->stop_copy_max_bytes - res->stop_copy_min_bytes) / 2);
    } else {
        bad |= json_object_set_new(o, "query_fails", json_true());
    }
    if (res->stop_copy_read_bytes >= PROFILE_MIN_READ_BW && res->read_bps) {
        bad |= set_str(o, "read_bandwidth", "%" PRIu64 "B/s", res->read_bps);
    }
    bad |= set_str(o, "save_time", "%" PRId64 "ns", res->save_ns);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *vfio_probe_samples_json(const struct vfio_probe_result *res)
{
    json_t *o = json_object(), *a = json_array(), *h = json_array();
    if (!o || !a || !h) {
        json_decref(o);
        json_decref(a);
        json_decref(h);
        return NULL;
    }
    int bad = 0;
    bad |= set_u64(o, "migration_flags", res->mig_flags);
    bad |= json_object_set_new(o, "mig_data_size_errno",
                               json_integer(res->size_errno));
    bad |= set_u64(o, "stop_copy_min_bytes", res->stop_copy_min_bytes);
    bad |= set_u64(o, "stop_copy_max_bytes", res->stop_copy_max_bytes);
    bad |= json_object_set_new(o, "query_latency_max_ns",
                               json_integer(res->query_latency_max_ns));
    bad |= set_u64(o, "precopy_read_bytes", res->precopy_read_bytes);
    bad |=
        set_u64(o, "stop_copy_reported_bytes", res->stop_copy_reported_bytes);
    bad |= set_u64(o, "stop_copy_read_bytes", res->stop_copy_read_bytes);
    bad |= json_object_set_new(o, "stop_copy_eof",
                               json_boolean(res->stop_copy_eof));
    bad |= json_object_set_new(o, "stop_copy_read_ns",
                               json_integer(res->stop_copy_read_ns));
    for (unsigned i = 0; i < res->n_samples; i++) {
        const struct vfio_probe_sample *s = &res->samples[i];
        json_t *e = json_object();
        if (!e) {
            bad = 1;
            break;
        }
        bad |= json_object_set_new(e, "t_ns", json_integer(s->t_ns));
        bad |= json_object_set_new(e, "state",
                                   json_string(vfio_fsm_state_name(s->state)));
        if (s->size_ok) {
            bad |= set_u64(e, "stop_copy_bytes", s->stop_copy_bytes);
        }
        if (s->precopy_ok) {
            bad |= set_u64(e, "initial_bytes", s->initial_bytes);
            bad |= set_u64(e, "dirty_bytes", s->dirty_bytes);
        }
        bad |= json_array_append_new(a, e);
    }
    for (unsigned i = 0; i < res->n_hops; i++) {
        json_t *e = json_object();
        if (!e) {
            bad = 1;
            break;
        }
        bad |= json_object_set_new(
            e, "from", json_string(vfio_fsm_state_name(res->hops[i].from)));
        bad |= json_object_set_new(
            e, "to", json_string(vfio_fsm_state_name(res->hops[i].to)));
        bad |= json_object_set_new(e, "ns", json_integer(res->hops[i].ns));
        bad |= json_array_append_new(h, e);
    }
    bad |= json_object_set_new(o, "samples", a);
    bad |= json_object_set_new(o, "hops", h);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
