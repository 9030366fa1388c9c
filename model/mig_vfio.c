/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig_vfio.c — the VFIO handler of the migration thread: QEMU's
 * hw/vfio/migration.c per version (m->qv->vfio), over the device model
 * of devices/vfio_dev.h driven through the shared FSM.  One handler per
 * scenario device; the instances are m->d[] (results and samples read
 * them).  Facts: ../shared/reference/qemu-convergence.md §5 and §9.12.
 */
#include <stdio.h>

#include "devices/vfio_fsm.h"
#include "model/mig_priv.h"

static void on_hop(void *ctx, const struct vfio_dev *dev,
                   const struct vfio_dev_hop *hop)
{
    struct mig *m = ctx;
    mig_ev(m, hop->at_ns, RUN_EV_DEVICE, 0, hop->cost_ns, "%s: %s -> %s",
           vfio_dev_name(dev), vfio_fsm_state_name(hop->from),
           vfio_fsm_state_name(hop->to));
}

static bool in_precopy_state(const struct vdev *v)
{
    enum vfio_fsm_state st = vfio_dev_state(v->dev);
    return st == VFIO_FSM_PRE_COPY || st == VFIO_FSM_PRE_COPY_P2P;
}

/* One MIG_DATA_SIZE ioctl; QEMU substitutes 100 GiB on failure. */
static uint64_t query_stop(struct mig *m, struct vdev *v, int64_t t,
                           int64_t *cost)
{
    uint64_t b = MIG_VFIO_FALLBACK_BYTES;
    if (vfio_dev_query_stop_copy(v->dev, t, &b) != 0) {
        b = MIG_VFIO_FALLBACK_BYTES;
    }
    *cost += v->cfg->query_latency_ns;
    (void)m;
    return b;
}

static void query_precopy(struct vdev *v, int64_t t, int64_t *cost)
{
    uint64_t init = 0, dirty = 0;
    if (vfio_dev_query_precopy(v->dev, t, &init, &dirty) == 0) {
        v->init_bytes = init;
        v->dirty_bytes = dirty;
    } else {
        v->init_bytes = v->dirty_bytes = 0;
    }
    *cost += v->cfg->query_latency_ns;
}

static uint64_t cached_report(const struct vdev *v)
{
    uint64_t pre = v->init_bytes + v->dirty_bytes;
    return v->cached_stop > pre ? v->cached_stop : pre;
}

/* Pending as a device reports it.  exact selects state_pending_exact.
 * *non_iter receives data reported as non-iterable. */
static uint64_t vfio_pending(struct mig *m, struct vdev *v, int64_t t,
                             bool exact, int64_t *cost, uint64_t *non_iter)
{
    enum qv_vfio h = m->qv->vfio;
    enum pol_report_mode mode = m->pol.report.mode;
    bool pre = in_precopy_state(v);
    uint64_t r = 0;

    if (h == QV_VFIO_V1) {
        /* 7.2 v1: pending_bytes read on every pending query */
        r = query_stop(m, v, t, cost);
        v->reported = r;
        return r;
    }
    if (mode == POL_REPORT_QEMU) {
        if (!exact) {
            if (qv_vfio_precopy(m->qv) && pre) {
                r = v->init_bytes + v->dirty_bytes;
            }
        } else {
            uint64_t stop = query_stop(m, v, t, cost);
            r = stop;
            if (qv_vfio_precopy(m->qv) && pre) {
                query_precopy(v, t, cost);
                if (h == QV_VFIO_PRECOPY_DOUBLE) {
                    r += v->init_bytes + v->dirty_bytes; /* double count */
                }
            }
        }
        v->reported = r;
        return r;
    }
    /* reporting variants (merged query: max(stop, precopy)) */
    bool refresh = exact;
    if (mode == POL_REPORT_IN_ESTIMATE) {
        refresh = true;
    } else if (mode == POL_REPORT_REFRESH &&
               t - v->cached_at_ns >= m->pol.report.interval_ns) {
        refresh = true;
    }
    if (refresh) {
        v->cached_stop = query_stop(m, v, t, cost);
        v->cached_at_ns = t;
        if (pre) {
            query_precopy(v, t, cost);
        }
    }
    if (mode == POL_REPORT_NON_ITERABLE) {
        uint64_t it = pre ? v->init_bytes + v->dirty_bytes : 0;
        uint64_t rest = v->cached_stop > it ? v->cached_stop - it : 0;
        *non_iter += rest;
        v->reported = it + rest;
        return it;
    }
    r = cached_report(v);
    v->reported = r;
    return r;
}

/* QEMU's vfio_update_estimated_pending_data. */
static void consume_estimate(struct vdev *v, uint64_t n)
{
    if (n == 0) {
        v->init_bytes = v->dirty_bytes = 0;
        return;
    }
    uint64_t a = n < v->init_bytes ? n : v->init_bytes;
    v->init_bytes -= a;
    n -= a;
    v->dirty_bytes = n < v->dirty_bytes ? v->dirty_bytes - n : 0;
}

/* One save_live_iterate of a VFIO device; returns 1 when it has nothing
 * left for now (QEMU's return value). */
static int vfio_iterate(struct mig *m, struct vdev *v, int64_t t, int64_t *cost)
{
    uint64_t n = vfio_dev_read(v->dev, t, MIG_VFIO_CHUNK_BYTES);
    int64_t send =
        mig_bytes_ns(n + VFIO_CHUNK_HDR_BYTES, (double)m->s.link_bandwidth_bps);
    int64_t rd = vfio_dev_read_ns(v->dev, n);
    *cost += rd > send ? rd : send;
    mig_vfio_account(m, v, n, 1, t, *cost);
    return v->init_bytes == 0 && v->dirty_bytes == 0;
}

/* k reads of n leave the cached estimate and stop size as one of k x n
 * (each takes initial, then dirty, and stops at 0; n = 0 zeroes both). */
void mig_vfio_account(struct mig *m, struct vdev *v, uint64_t n, uint64_t k,
                      int64_t t, int64_t cost)
{
    m->total_bytes += k * (n + VFIO_CHUNK_HDR_BYTES);
    m->precopy_bytes += k * n;
    v->precopy_sent += k * n;
    n *= k;
    consume_estimate(v, n);
    if (v->cached_stop) {
        v->cached_stop = v->cached_stop > n ? v->cached_stop - n : 0;
    }
    if (m->s.switchover_ack && v->init_bytes == 0 && !v->init_sent) {
        v->init_sent = true;
        if (m->ack_pending && --m->ack_pending == 0) {
            mig_schedule_ack(m, t + cost + m->s.rtt_ns);
        }
    }
}

bool mig_vfio_active(const struct mig *m, const struct vdev *v)
{
    return !m->in_postcopy && qv_vfio_precopy(m->qv) && in_precopy_state(v);
}

/* ---- the handler ops -------------------------------------------------- */

static int vfio_attach(struct mig *m)
{
    char e[256] = "";
    m->nd = m->s.n_devices;
    for (unsigned i = 0; i < m->nd; i++) {
        const struct scn_device *sd = &m->s.devices[i];
        struct vfio_dev_cfg dc;
        vfio_dev_cfg_init(&dc, sd->name);
        dc.stop_copy_bytes = sd->stop_copy_bytes;
        dc.n_schedule = sd->n_schedule;
        for (unsigned k = 0; k < sd->n_schedule; k++) {
            dc.schedule[k].at_ns = sd->schedule[k].at_ns;
            dc.schedule[k].stop_copy_bytes = sd->schedule[k].stop_copy_bytes;
        }
        dc.precopy = sd->precopy && qv_vfio_precopy(m->qv);
        dc.p2p = sd->p2p;
        dc.precopy_initial_bytes = sd->precopy_initial_bytes;
        dc.precopy_dirty_rate_bps = sd->precopy_dirty_rate_bps;
        dc.precopy_shrinks_stop_copy = sd->precopy_shrinks_stop_copy;
        dc.min_stop_copy_bytes = sd->min_stop_copy_bytes;
        dc.query_latency_ns = sd->query_latency_ns;
        dc.read_bps = sd->read_bps;
        dc.save_ns = 0; /* charged by the model as save_time */
        dc.load_ns = sd->load_ns;
        dc.config_bytes = sd->config_bytes;
        dc.config_load_ns = sd->config_load_ns;
        dc.query_fails = sd->query_fails;
        dc.size_jitter_bytes = sd->size_jitter_bytes;
        dc.multifd = sd->multifd;
        m->d[i].cfg = sd;
        m->d[i].dev = vfio_dev_new(
            &dc, sim_rng(m->e, SIM_STREAM_DEVICE_BASE + i), e, sizeof(e));
        if (!m->d[i].dev) {
            snprintf(m->err, m->errlen, "devices[%u]: %s", i, e);
            return -1;
        }
        vfio_dev_on_hop(m->d[i].dev, on_hop, m);
        if (mig_handler_add(m, &mig_vfio_ops, &m->d[i])) {
            snprintf(m->err, m->errlen, "devices[%u]: too many handlers", i);
            return -1;
        }
    }
    return 0;
}

/* save_setup: the size query, PRE_COPY entry (8.1+). */
static int64_t vfio_save_setup(struct mig *m, struct mig_handler *h, int64_t t)
{
    struct vdev *v = h->opaque;
    int64_t c = 0;
    if (m->qv->vfio != QV_VFIO_V1) {
        v->cached_stop = query_stop(m, v, t, &c);
        v->cached_at_ns = t;
    }
    if (qv_vfio_precopy(m->qv) && v->cfg->precopy) {
        vfio_dev_set_state(v->dev, VFIO_FSM_PRE_COPY, t + c);
        query_precopy(v, t + c, &c);
    }
    if (m->s.switchover_ack && v->cfg->precopy) {
        m->ack_pending++; /* its INIT_DATA_SENT is awaited */
    }
    return c;
}

static void vfio_estimate(struct mig *m, struct mig_handler *h, int64_t t,
                          int64_t *cost, struct mig_pending *p)
{
    p->must += vfio_pending(m, h->opaque, t, false, cost, &p->non_iter);
}

static void vfio_exact(struct mig *m, struct mig_handler *h, int64_t t,
                       int64_t *cost, struct mig_pending *p)
{
    p->must += vfio_pending(m, h->opaque, t, true, cost, &p->non_iter);
}

static bool vfio_is_active(const struct mig *m, const struct mig_handler *h)
{
    return mig_vfio_active(m, h->opaque);
}

static int vfio_iterate_op(struct mig *m, struct mig_handler *h, int64_t t,
                           int64_t *cost, uint64_t *moved)
{
    struct vdev *v = h->opaque;
    uint64_t before = v->precopy_sent;
    int r = vfio_iterate(m, v, t, cost);
    *moved = v->precopy_sent - before;
    return r;
}

/* QEMU's vmstate change handler: P2P first (8.2+), then STOP_COPY for
 * devices in pre-copy (and every device before 8.1), STOP otherwise. */
static void vfio_vm_stop(struct mig *m, struct mig_handler *h, int64_t t,
                         bool to_stop_copy)
{
    struct vdev *v = h->opaque;
    bool pre = in_precopy_state(v);
    if (m->qv->vfio_p2p_first && v->cfg->p2p) {
        enum vfio_fsm_state st = vfio_dev_state(v->dev);
        vfio_dev_set_state(v->dev,
                           st == VFIO_FSM_PRE_COPY ? VFIO_FSM_PRE_COPY_P2P
                                                   : VFIO_FSM_RUNNING_P2P,
                           t);
    }
    vfio_dev_set_state(v->dev,
                       to_stop_copy && (pre || !qv_vfio_precopy(m->qv))
                           ? VFIO_FSM_STOP_COPY
                           : VFIO_FSM_STOP,
                       t);
}

static bool uses_multifd(const struct mig *m, const struct vdev *v)
{
    return v->cfg->multifd && m->s.multifd_channels && m->qv->vfio_multifd;
}

/* 10.0+ multifd device state: saved by its own thread from c->t0. */
static bool vfio_complete_threads(struct mig *m, struct mig_handler *h,
                                  struct mig_complete *c)
{
    struct vdev *v = h->opaque;
    if (!uses_multifd(m, v)) {
        return false;
    }
    vfio_dev_set_state(v->dev, VFIO_FSM_STOP_COPY, c->t0);
    uint64_t n = vfio_dev_read(v->dev, c->t0, UINT64_MAX);
    int64_t dur = v->cfg->save_ns + vfio_dev_read_ns(v->dev, n);
    c->mf_bytes += n;
    v->stop_copy_sent += n;
    v->save_ns = dur;
    if (c->t0 + dur > c->mf_end) {
        c->mf_end = c->t0 + dur;
    }
    return true;
}

/* The stop-copy data on the main channel: read and send, serialized. */
static bool vfio_complete(struct mig *m, struct mig_handler *h,
                          struct mig_complete *c)
{
    struct vdev *v = h->opaque;
    if (uses_multifd(m, v)) {
        return false;
    }
    int64_t s0 = c->t;
    vfio_dev_set_state(v->dev, VFIO_FSM_STOP_COPY, c->t);
    uint64_t n = vfio_dev_read(v->dev, c->t, UINT64_MAX);
    int64_t rd = vfio_dev_read_ns(v->dev, n);
    int64_t tx = mig_bytes_ns(n, (double)m->s.link_bandwidth_bps);
    c->t += v->cfg->save_ns + (rd > tx ? rd : tx);
    v->stop_copy_sent += n;
    v->save_ns = c->t - s0;
    m->total_bytes += n;
    m->downtime_bytes += n;
    return true;
}

static int64_t vfio_load_ns(const struct mig_handler *h)
{
    const struct vdev *v = h->opaque;
    return v->cfg->load_ns;
}

static void vfio_config(const struct mig_handler *h, uint64_t *bytes,
                        int64_t *load_ns)
{
    const struct vdev *v = h->opaque;
    *bytes += v->cfg->config_bytes;
    *load_ns += v->cfg->config_load_ns;
}

/* postcopy_start: device data cannot go in postcopy; send it now. */
static int64_t vfio_postcopy_save(struct mig *m, struct mig_handler *h,
                                  int64_t t, bool *wrote)
{
    struct vdev *v = h->opaque;
    vfio_dev_set_state(v->dev, VFIO_FSM_STOP_COPY, t);
    uint64_t n = vfio_dev_read(v->dev, t, UINT64_MAX);
    int64_t d =
        v->cfg->save_ns + mig_bytes_ns(n, (double)m->s.link_bandwidth_bps);
    v->save_ns = d;
    v->stop_copy_sent += n;
    m->total_bytes += n;
    m->downtime_bytes += n;
    *wrote = true;
    return d;
}

static void vfio_end(struct mig *m, struct mig_handler *h, int64_t t)
{
    (void)m;
    struct vdev *v = h->opaque;
    vfio_dev_set_state(v->dev, VFIO_FSM_STOP, t);
}

const struct mig_handler_ops mig_vfio_ops = {
    .name = "vfio",
    .attach = vfio_attach,
    .save_setup = vfio_save_setup,
    .pending_estimate = vfio_estimate,
    .pending_exact = vfio_exact,
    .is_active_iterate = vfio_is_active,
    .iterate = vfio_iterate_op,
    .vm_stop = vfio_vm_stop,
    .complete_threads = vfio_complete_threads,
    .complete = vfio_complete,
    .load_ns = vfio_load_ns,
    .config = vfio_config,
    .postcopy_save = vfio_postcopy_save,
    .end = vfio_end,
};
