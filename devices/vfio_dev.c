/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/vfio_dev.c — simulated VFIO migratable device (see vfio_dev.h).
 */
#include "devices/vfio_dev.h"
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000ull

struct vfio_dev {
    struct vfio_dev_cfg cfg;
    gsl_rng *rng; /* borrowed */
    uint64_t flags;
    enum vfio_fsm_state state;

    /* pre-copy part of the saving session */
    uint64_t pc_initial_left;
    uint64_t pc_dirty;
    uint64_t pc_dirty_rem; /* fraction of a byte, in 1e-9 bytes */
    int64_t pc_last_ns;    /* dirty accrued up to here */
    uint64_t pc_read_bytes;

    /* final stream (STOP_COPY) */
    uint64_t sc_stream_bytes;
    uint64_t sc_left_bytes;

    /* request bookkeeping */
    int64_t now_ns; /* time of the request being walked */
    unsigned last_diag;
    int64_t last_cost_ns;
    unsigned n_hops; /* total arcs since creation */
    struct vfio_dev_hop log[VFIO_DEV_HOP_LOG];
    vfio_dev_hop_fn *on_hop;
    void *on_hop_ctx;
};

void vfio_dev_cfg_init(struct vfio_dev_cfg *cfg, const char *name)
{
    memset(cfg, 0, sizeof(*cfg));
    if (name) {
        snprintf(cfg->name, sizeof(cfg->name), "%s", name);
    }
}

int vfio_dev_cfg_check(const struct vfio_dev_cfg *cfg, bool rng_given,
                       char *err, size_t errlen)
{
    if (!memchr(cfg->name, '\0', sizeof(cfg->name))) {
        err_set(err, errlen,
                "vfio device: name is not NUL-terminated "
                "within %d bytes",
                VFIO_DEV_NAME_LEN);
        return -EINVAL;
    }
    if (cfg->name[0] == '\0') {
        err_set(err, errlen, "vfio device: name is empty");
        return -EINVAL;
    }
    const char *n = cfg->name;
    if (cfg->n_schedule > VFIO_DEV_MAX_SCHEDULE) {
        err_set(err, errlen,
                "vfio device '%s': schedule has %u entries (at most %d)", n,
                cfg->n_schedule, VFIO_DEV_MAX_SCHEDULE);
        return -EINVAL;
    }
    for (unsigned i = 0; i < cfg->n_schedule; i++) {
        if (cfg->schedule[i].at_ns < 0) {
            err_set(err, errlen,
                    "vfio device '%s': schedule[%u].at_ns is negative", n, i);
            return -EINVAL;
        }
        if (i > 0 && cfg->schedule[i].at_ns < cfg->schedule[i - 1].at_ns) {
            err_set(err, errlen,
                    "vfio device '%s': schedule[%u].at_ns is earlier than "
                    "schedule[%u].at_ns (entries must be in time order)",
                    n, i, i - 1);
            return -EINVAL;
        }
    }
    const struct {
        const char *field;
        int64_t v;
    } times[] = {
        {"query_latency_ns", cfg->query_latency_ns},
        {"save_ns", cfg->save_ns},
        {"load_ns", cfg->load_ns},
        {"config_load_ns", cfg->config_load_ns},
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        if (times[i].v < 0) {
            err_set(err, errlen, "vfio device '%s': %s is negative", n,
                    times[i].field);
            return -EINVAL;
        }
    }
    if (cfg->size_jitter_bytes > 0 && !rng_given) {
        err_set(err, errlen,
                "vfio device '%s': size_jitter_bytes needs a random stream", n);
        return -EINVAL;
    }
    return 0;
}

struct vfio_dev *vfio_dev_new(const struct vfio_dev_cfg *cfg, gsl_rng *rng,
                              char *err, size_t errlen)
{
    if (vfio_dev_cfg_check(cfg, rng != NULL, err, errlen) < 0) {
        return NULL;
    }
    struct vfio_dev *dev = calloc(1, sizeof(*dev));
    if (!dev) {
        err_set(err, errlen, "vfio device '%s': out of memory", cfg->name);
        return NULL;
    }
    dev->cfg = *cfg;
    dev->rng = rng;
    dev->flags = VFIO_FSM_F_STOP_COPY;
    if (cfg->p2p) {
        dev->flags |= VFIO_FSM_F_P2P;
    }
    if (cfg->precopy) {
        dev->flags |= VFIO_FSM_F_PRE_COPY;
    }
    dev->state = VFIO_FSM_RUNNING;
    return dev;
}

void vfio_dev_free(struct vfio_dev *dev)
{
    free(dev);
}

const struct vfio_dev_cfg *vfio_dev_cfg(const struct vfio_dev *dev)
{
    return &dev->cfg;
}

const char *vfio_dev_name(const struct vfio_dev *dev)
{
    return dev->cfg.name;
}

uint64_t vfio_dev_mig_flags(const struct vfio_dev *dev)
{
    return dev->flags;
}

int64_t vfio_dev_query_latency_ns(const struct vfio_dev *dev)
{
    return dev->cfg.query_latency_ns;
}

uint64_t vfio_dev_read_bps(const struct vfio_dev *dev)
{
    return dev->cfg.read_bps;
}

int64_t vfio_dev_read_ns(const struct vfio_dev *dev, uint64_t bytes)
{
    if (dev->cfg.read_bps == 0 || bytes == 0) {
        return 0;
    }
    unsigned __int128 num = (unsigned __int128)bytes * NS_PER_S;
    unsigned __int128 ns = (num + dev->cfg.read_bps - 1) / dev->cfg.read_bps;
    return ns > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)ns;
}

enum vfio_fsm_state vfio_dev_state(const struct vfio_dev *dev)
{
    return dev->state;
}

unsigned vfio_dev_last_diag(const struct vfio_dev *dev)
{
    return dev->last_diag;
}

int64_t vfio_dev_last_cost_ns(const struct vfio_dev *dev)
{
    return dev->last_cost_ns;
}

unsigned vfio_dev_hop_count(const struct vfio_dev *dev)
{
    return dev->n_hops;
}

const struct vfio_dev_hop *vfio_dev_hop(const struct vfio_dev *dev, unsigned i)
{
    if (i >= dev->n_hops || dev->n_hops - i > VFIO_DEV_HOP_LOG) {
        return NULL;
    }
    return &dev->log[i % VFIO_DEV_HOP_LOG];
}

void vfio_dev_on_hop(struct vfio_dev *dev, vfio_dev_hop_fn *fn, void *ctx)
{
    dev->on_hop = fn;
    dev->on_hop_ctx = ctx;
}

static bool in_precopy(enum vfio_fsm_state s)
{
    return s == VFIO_FSM_PRE_COPY || s == VFIO_FSM_PRE_COPY_P2P;
}

/* Add the dirty bytes produced since pc_last_ns (exact: the fraction of a
 * byte is carried in pc_dirty_rem). */
static void accrue(struct vfio_dev *dev, int64_t now_ns)
{
    if (!in_precopy(dev->state) || now_ns <= dev->pc_last_ns) {
        return;
    }
    uint64_t dt = (uint64_t)(now_ns - dev->pc_last_ns);
    unsigned __int128 num =
        (unsigned __int128)dev->cfg.precopy_dirty_rate_bps * dt +
        dev->pc_dirty_rem;
    unsigned __int128 add = num / NS_PER_S;
    dev->pc_dirty_rem = (uint64_t)(num % NS_PER_S);
    if (add > (unsigned __int128)(UINT64_MAX - dev->pc_dirty)) {
        dev->pc_dirty = UINT64_MAX;
    } else {
        dev->pc_dirty += (uint64_t)add;
    }
    dev->pc_last_ns = now_ns;
}

static uint64_t base_size(const struct vfio_dev *dev, int64_t now_ns)
{
    uint64_t b = dev->cfg.stop_copy_bytes;
    for (unsigned i = 0; i < dev->cfg.n_schedule; i++) {
        if (dev->cfg.schedule[i].at_ns > now_ns) {
            break;
        }
        b = dev->cfg.schedule[i].stop_copy_bytes;
    }
    return b;
}

/* true(t) outside STOP_COPY. */
static uint64_t live_size(const struct vfio_dev *dev, int64_t now_ns)
{
    uint64_t b = base_size(dev, now_ns);
    uint64_t floor = dev->cfg.min_stop_copy_bytes;
    if (dev->cfg.precopy_shrinks_stop_copy && b > floor) {
        b = (b - floor > dev->pc_read_bytes) ? b - dev->pc_read_bytes : floor;
    }
    return b;
}

uint64_t vfio_dev_stop_copy_true(const struct vfio_dev *dev, int64_t now_ns)
{
    if (dev->state == VFIO_FSM_STOP_COPY) {
        return dev->sc_left_bytes;
    }
    return live_size(dev, now_ns);
}

static void end_session(struct vfio_dev *dev)
{
    dev->pc_initial_left = 0;
    dev->pc_dirty = 0;
    dev->pc_dirty_rem = 0;
    dev->pc_read_bytes = 0;
    dev->sc_stream_bytes = 0;
    dev->sc_left_bytes = 0;
}

/* The driver's single-arc step: model effects and cost, then record. */
static int dev_step(void *ctx, enum vfio_fsm_state from, enum vfio_fsm_state to,
                    unsigned cls, bool final_hop)
{
    struct vfio_dev *dev = ctx;
    int64_t now = dev->now_ns;
    int64_t cost = 0;
    (void)final_hop;

    accrue(dev, now); /* dev->state is still `from` */
    if ((cls & VFIO_FSM_ARC_SAVE_OPEN) && in_precopy(to)) {
        end_session(dev);
        dev->pc_initial_left = dev->cfg.precopy_initial_bytes;
        dev->pc_last_ns = now;
    }
    if (to == VFIO_FSM_STOP_COPY) {
        /* STOP -> STOP_COPY (new session) or PRE_COPY* -> STOP_COPY */
        uint64_t len = live_size(dev, now);
        end_session(dev);
        dev->sc_stream_bytes = len;
        dev->sc_left_bytes = len;
        cost = dev->cfg.save_ns;
    }
    if (cls & VFIO_FSM_ARC_SAVE_CLOSE) {
        end_session(dev);
    }
    if (from == VFIO_FSM_RESUMING && to == VFIO_FSM_STOP) {
        cost = dev->cfg.load_ns;
    }

    struct vfio_dev_hop *h = &dev->log[dev->n_hops % VFIO_DEV_HOP_LOG];
    h->at_ns = now;
    h->from = from;
    h->to = to;
    h->arc_class = cls;
    h->cost_ns = cost;
    dev->n_hops++;
    dev->last_cost_ns += cost;
    return 0;
}

int vfio_dev_set_state(struct vfio_dev *dev, enum vfio_fsm_state target,
                       int64_t now_ns)
{
    unsigned diag = 0;
    if (vfio_fsm_validate_request(dev->state, target, dev->flags, &diag) < 0) {
        dev->last_diag = diag;
        return -EINVAL;
    }
    unsigned first = dev->n_hops;
    dev->now_ns = now_ns;
    dev->last_diag = 0;
    dev->last_cost_ns = 0;
    int rc = vfio_fsm_walk(&dev->state, target, dev->flags, dev_step, dev);
    if (rc < 0) {
        return rc; /* cannot happen: validated, and dev_step never fails */
    }
    if (dev->on_hop) {
        for (unsigned i = first; i < dev->n_hops; i++) {
            const struct vfio_dev_hop *h = vfio_dev_hop(dev, i);
            if (h) {
                dev->on_hop(dev->on_hop_ctx, dev, h);
            }
        }
    }
    return 0;
}

void vfio_dev_fail(struct vfio_dev *dev, int64_t now_ns)
{
    accrue(dev, now_ns);
    end_session(dev);
    dev->state = VFIO_FSM_ERROR;
}

void vfio_dev_reset(struct vfio_dev *dev, int64_t now_ns)
{
    accrue(dev, now_ns);
    end_session(dev);
    dev->state = VFIO_FSM_RUNNING;
}

static bool device_runs(enum vfio_fsm_state s)
{
    const struct vfio_fsm_props *p = vfio_fsm_props(s);
    return p && p->dma == VFIO_FSM_YES;
}

int vfio_dev_query_stop_copy(struct vfio_dev *dev, int64_t now_ns,
                             uint64_t *bytes)
{
    if (dev->state == VFIO_FSM_ERROR) {
        return -EINVAL;
    }
    if (dev->cfg.query_fails) {
        return -EIO;
    }
    accrue(dev, now_ns);
    uint64_t v = vfio_dev_stop_copy_true(dev, now_ns);
    uint64_t j = dev->cfg.size_jitter_bytes;
    if (j > 0 && device_runs(dev->state)) {
        /* uniform integer in [-j, +j] */
        double span = 2.0 * (double)j + 1.0;
        double u = gsl_rng_uniform(dev->rng) * span;
        uint64_t k = (uint64_t)u; /* 0 .. 2j */
        if (k > 2 * j) {
            k = 2 * j;
        }
        if (k >= j) {
            uint64_t up = k - j;
            v = (v > UINT64_MAX - up) ? UINT64_MAX : v + up;
        } else {
            uint64_t down = j - k;
            v = (v > down) ? v - down : 0;
        }
    }
    *bytes = v;
    return 0;
}

int vfio_dev_query_precopy(struct vfio_dev *dev, int64_t now_ns,
                           uint64_t *initial, uint64_t *dirty)
{
    if (!in_precopy(dev->state)) {
        return -EINVAL;
    }
    accrue(dev, now_ns);
    *initial = dev->pc_initial_left;
    *dirty = dev->pc_dirty;
    return 0;
}

uint64_t vfio_dev_read(struct vfio_dev *dev, int64_t now_ns, uint64_t max_bytes)
{
    if (in_precopy(dev->state)) {
        accrue(dev, now_ns);
        uint64_t a =
            dev->pc_initial_left < max_bytes ? dev->pc_initial_left : max_bytes;
        dev->pc_initial_left -= a;
        uint64_t rest = max_bytes - a;
        uint64_t b = dev->pc_dirty < rest ? dev->pc_dirty : rest;
        dev->pc_dirty -= b;
        dev->pc_read_bytes += a + b;
        return a + b;
    }
    if (dev->state == VFIO_FSM_STOP_COPY) {
        uint64_t n =
            dev->sc_left_bytes < max_bytes ? dev->sc_left_bytes : max_bytes;
        dev->sc_left_bytes -= n;
        return n;
    }
    return 0;
}

uint64_t vfio_dev_precopy_read_bytes(const struct vfio_dev *dev)
{
    return dev->pc_read_bytes;
}

uint64_t vfio_dev_stop_copy_stream_bytes(const struct vfio_dev *dev)
{
    return dev->sc_stream_bytes;
}

uint64_t vfio_dev_stop_copy_left_bytes(const struct vfio_dev *dev)
{
    return dev->sc_left_bytes;
}
