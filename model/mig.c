/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig.c — QEMU's migration thread on the discrete-event engine.
 *
 * One engine event per pass of the thread's loop (THREAD_STEP).  A pass
 * runs migration_iteration_run() unless the window budget is spent, charges
 * its costs (sends, syncs, ioctls) to a local clock, updates the counters
 * when >= 100 ms have passed since the window start, and schedules the next
 * pass at the end of its work, or at the window end when the budget is
 * spent (the thread sleeps only then; otherwise it spins).  Switchover-ack
 * arrival, the 9.2+ auto-converge sync timer and the end of completion are
 * events of their own.  The guest's page writes are applied lazily
 * (ram_advance) up to the moment each sync or send happens.
 *
 * Facts and numbers come from ../shared/reference/qemu-convergence.md
 * (sections 2-5 and 9); docs/model.md lists what is and is not modelled.
 */
#include "model/mig.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "devices/ram.h"
#include "devices/vfio_dev.h"
#include "devices/vfio_fsm.h"
#include "engine/engine.h"
#include "model/mig_status.h"

enum ev_kind {
    EV_STEP = 1,
    EV_ACK,
    EV_THROTTLE_TIMER,
    EV_COMPLETE_END,
    EV_SETUP,
};

#define PASS_OVERHEAD_NS     (20 * SIM_US) /* one loop pass, no data */
#define BITMAP_SCAN_BPNS     10.0          /* clean bitmap scan, bytes/ns */
#define VFIO_CHUNK_HDR_BYTES 16            /* DEV_DATA_STATE tag + be64 */

struct vdev {
    const struct scn_device *cfg;
    struct vfio_dev *dev;
    uint64_t init_bytes;  /* QEMU's cached precopy_init_size */
    uint64_t dirty_bytes; /* QEMU's cached precopy_dirty_size */
    uint64_t cached_stop; /* reporting variants: cached stop-copy size */
    int64_t cached_at_ns;
    bool init_sent;    /* VFIO_MIG_FLAG_DEV_INIT_DATA_SENT written */
    uint64_t reported; /* what it reported in the last estimate/exact */
    uint64_t precopy_sent;
    uint64_t stop_copy_sent;
    int64_t save_ns;
};

struct mig {
    struct sim_engine *e;
    struct scenario s;
    struct pol_chain pol;
    bool pol_active; /* some part has on_iteration */
    struct mig_options opt;
    struct run_result *out;
    struct ram_model *ram;
    unsigned nd;
    struct vdev d[SCN_MAX_DEVICES];
    struct mig_status_checker *status_chk;
    enum mig_status status;

    /* parameters in force */
    int64_t limit_ns;
    uint64_t max_bw_bps;
    uint64_t avail_bw_bps;

    /* byte accounting and the window */
    uint64_t total_bytes;
    int64_t win_start_ns;
    uint64_t win_start_bytes;
    double bw_bytes_per_ms;
    uint64_t threshold;
    bool rate_limit_off;

    /* bitmap syncs and dirty-rate statistics (ram.c) */
    uint64_t sync_count;
    int64_t period_start_ns; /* time_last_bitmap_sync */
    uint64_t period_dirty_pages;
    uint64_t bytes_xfer_prev;
    double dirty_pages_rate;
    uint64_t remaining_at_sync;
    unsigned dirty_rate_high_cnt;
    double throttle_pct;
    bool throttle_active;
    bool dirty_limit_active;
    uint64_t timer_prev_count;
    int64_t expected_downtime_ns;

    /* switchover-ack */
    bool acked;
    unsigned ack_pending;

    /* postcopy / pause */
    bool start_postcopy;
    bool in_postcopy;
    bool paused;
    int64_t pause_start_ns;

    /* reporting variant */
    int64_t last_exact_ns;
    int64_t sleep_until_ns;

    /* results */
    uint64_t iterations, estimate_calls, exact_calls;
    int64_t sync_time_ns, bql_ns, spin_ns;
    uint64_t precopy_bytes, downtime_bytes, postcopy_bytes;
    double max_throttle;
    int64_t last_sample_ns;
    bool done;
    int rc;
    char *err;
    size_t errlen;
};

/* ---- small helpers --------------------------------------------------- */

static int64_t bytes_ns(uint64_t bytes, double bps)
{
    if (bps <= 0.0) {
        return 0;
    }
    return (int64_t)ceil((double)bytes * 1e9 / bps);
}

static double ram_throughput_bps(const struct mig *m)
{
    double bw = (double)m->s.link_bandwidth_bps;
    if (m->s.multifd_channels && m->s.multifd_channel_bps) {
        double ch =
            (double)m->s.multifd_channels * (double)m->s.multifd_channel_bps;
        if (ch < bw) {
            bw = ch;
        }
    }
    return bw;
}

static void ev(struct mig *m, int64_t t, enum run_event_kind k, uint64_t v,
               int64_t dur, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void ev(struct mig *m, int64_t t, enum run_event_kind k, uint64_t v,
               int64_t dur, const char *fmt, ...)
{
    if (m->opt.no_events) {
        return;
    }
    char text[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    run_result_add_event(m->out, t, k, v, dur, "%s", text);
}

static void set_status(struct mig *m, int64_t t, enum mig_status st)
{
    if (m->status == st) {
        return;
    }
    mig_status_checker_feed(m->status_chk, st, (uint64_t)t);
    m->status = st;
    ev(m, t, RUN_EV_STATE, 0, 0, "%s", mig_status_name(st));
}

static void on_hop(void *ctx, const struct vfio_dev *dev,
                   const struct vfio_dev_hop *hop)
{
    struct mig *m = ctx;
    ev(m, hop->at_ns, RUN_EV_DEVICE, 0, hop->cost_ns, "%s: %s -> %s",
       vfio_dev_name(dev), vfio_fsm_state_name(hop->from),
       vfio_fsm_state_name(hop->to));
}

static bool in_precopy_state(const struct vdev *v)
{
    enum vfio_fsm_state st = vfio_dev_state(v->dev);
    return st == VFIO_FSM_PRE_COPY || st == VFIO_FSM_PRE_COPY_P2P;
}

static uint64_t window_used(const struct mig *m)
{
    return m->total_bytes - m->win_start_bytes;
}

/* QEMU: migration_rate_exceeded / qemu_file_rate_limit. */
static bool rate_exceeded(const struct mig *m)
{
    if (m->rate_limit_off) {
        return false;
    }
    uint64_t bw =
        m->in_postcopy ? m->s.max_postcopy_bandwidth_bps : m->max_bw_bps;
    if (bw == 0) {
        return false;
    }
    return window_used(m) > bw / 10;
}

uint64_t mig_threshold_bytes(unsigned qemu, uint64_t transferred_bytes,
                             uint64_t time_spent_ms, uint64_t limit_ms,
                             uint64_t avail_bps)
{
    if (time_spent_ms == 0) {
        return 0;
    }
    double bw = (double)transferred_bytes / (double)time_spent_ms;
    if (qemu >= QEMU_8_2 && avail_bps) {
        bw = (double)avail_bps / 1000.0;
    }
    return (uint64_t)(bw * (double)limit_ms);
}

/* QEMU: migration_update_counters. */
static void update_counters(struct mig *m, int64_t now)
{
    if (now < m->win_start_ns + MIG_BUFFER_DELAY_NS) {
        return;
    }
    uint64_t time_spent_ms = (uint64_t)((now - m->win_start_ns) / SIM_MS);
    uint64_t transferred = window_used(m);
    uint64_t limit_ms = (uint64_t)(m->limit_ns / SIM_MS);
    m->bw_bytes_per_ms = (double)transferred / (double)time_spent_ms;
    m->threshold = mig_threshold_bytes(m->s.qemu, transferred, time_spent_ms,
                                       limit_ms, m->avail_bw_bps);
    double bw_per_ms = m->bw_bytes_per_ms;
    if (m->s.qemu >= QEMU_8_2 && m->avail_bw_bps) {
        bw_per_ms = (double)m->avail_bw_bps / 1000.0;
    }
    if (m->dirty_pages_rate != 0.0 && transferred > 10000 && bw_per_ms > 0) {
        /* 7.2/8.0: ram remaining; 8.1+: dirty_bytes_last_sync; both are the
         * migration bitmap at the last sync */
        m->expected_downtime_ns =
            (int64_t)((double)m->remaining_at_sync / bw_per_ms * 1e6);
    }
    m->win_start_ns = now;
    m->win_start_bytes = m->total_bytes;
}

/* ---- RAM sync, throttling -------------------------------------------- */

static void apply_throttle(struct mig *m, int64_t t)
{
    double scale = 1.0 - m->throttle_pct / 100.0;
    if (m->dirty_limit_active) {
        ram_set_dirty_scale(m->ram, 1.0);
        double base = ram_dirty_rate_bps(m->ram);
        double quota = (double)m->s.vcpus * (double)m->s.vcpu_dirty_limit_bps;
        scale = base > quota ? quota / base : 1.0;
    }
    ram_set_dirty_scale(m->ram, m->paused || m->in_postcopy ? 0.0 : scale);
    (void)t;
}

/* QEMU: migration_trigger_throttle + mig_throttle_guest_down. */
static void trigger_throttle(struct mig *m, int64_t t, uint64_t xfer,
                             uint64_t dirty)
{
    bool pre81 = m->s.qemu < QEMU_8_1;
    if (pre81 && !m->s.auto_converge) {
        return;
    }
    uint64_t thresh = xfer * m->s.throttle_trigger_threshold / 100;
    if (!(dirty > thresh && ++m->dirty_rate_high_cnt >= 2)) {
        return;
    }
    m->dirty_rate_high_cnt = 0;
    if (m->s.auto_converge) {
        double pct;
        if (!m->throttle_active) {
            pct = m->s.cpu_throttle_initial;
        } else {
            double now = m->throttle_pct;
            double inc = m->s.cpu_throttle_increment;
            if (m->s.cpu_throttle_tailslow && dirty > 0) {
                double ideal = (100.0 - now) -
                               (100.0 - now) * (double)thresh / (double)dirty;
                inc = ideal < inc ? ideal : inc;
            }
            pct = now + inc;
            if (pct > m->s.max_cpu_throttle) {
                pct = m->s.max_cpu_throttle;
            }
        }
        pct = floor(pct);
        if (pct < 1) {
            pct = 1;
        }
        m->throttle_active = true;
        m->throttle_pct = pct;
        if (pct > m->max_throttle) {
            m->max_throttle = pct;
        }
        ev(m, t, RUN_EV_THROTTLE, (uint64_t)pct, 0, "cpu_throttle_set %.0f%%",
           pct);
        apply_throttle(m, t);
    } else if (m->s.dirty_limit && !m->dirty_limit_active) {
        m->dirty_limit_active = true;
        ev(m, t, RUN_EV_THROTTLE, m->s.vcpu_dirty_limit_bps, 0,
           "dirty-limit %llu B/s per vCPU",
           (unsigned long long)m->s.vcpu_dirty_limit_bps);
        apply_throttle(m, t);
    }
}

static int64_t sync_cost_ns(const struct mig *m)
{
    double gib = (double)m->s.ram_bytes / (double)(UINT64_C(1) << 30);
    return m->s.sync_base_ns + (int64_t)((double)m->s.sync_per_gib_ns * gib);
}

/* QEMU: migration_bitmap_sync at time t; returns its cost. */
static int64_t bitmap_sync(struct mig *m, int64_t t)
{
    ram_advance(m->ram, t);
    uint64_t fresh = ram_sync(m->ram);
    int64_t cost = sync_cost_ns(m);
    m->sync_count++;
    if (m->period_start_ns < 0) {
        m->period_start_ns = t;
    }
    m->period_dirty_pages += fresh;
    m->remaining_at_sync = ram_dirty_pages(m->ram) * ram_page_bytes(m->ram);
    int64_t end = t + cost;
    if (end > m->period_start_ns + SIM_S) {
        uint64_t page = ram_page_bytes(m->ram);
        trigger_throttle(m, end, m->total_bytes - m->bytes_xfer_prev,
                         m->period_dirty_pages * page);
        double ms = (double)(end - m->period_start_ns) / 1e6;
        m->dirty_pages_rate = (double)m->period_dirty_pages * 1000.0 / ms;
        m->period_start_ns = end;
        m->period_dirty_pages = 0;
        m->bytes_xfer_prev = m->total_bytes;
    }
    m->sync_time_ns += cost;
    m->bql_ns += cost;
    ev(m, t, RUN_EV_SYNC, fresh, cost, "sync %llu",
       (unsigned long long)m->sync_count);
    return cost;
}

/* ---- VFIO handler (QEMU's hw/vfio/migration.c, per version) ----------- */

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
    unsigned q = m->s.qemu;
    enum pol_report_mode mode = m->pol.report.mode;
    bool pre = in_precopy_state(v);
    uint64_t r = 0;

    if (q < QEMU_8_0) {
        /* 7.2 v1: pending_bytes read on every pending query */
        r = query_stop(m, v, t, cost);
        v->reported = r;
        return r;
    }
    if (mode == POL_REPORT_QEMU) {
        if (!exact) {
            if (q >= QEMU_8_1 && pre) {
                r = v->init_bytes + v->dirty_bytes;
            }
        } else {
            uint64_t stop = query_stop(m, v, t, cost);
            r = stop;
            if (q >= QEMU_8_1 && pre) {
                query_precopy(v, t, cost);
                if (q < QEMU_9_2) {
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

static void ack_event(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct mig *m = subject;
    if (m->done) {
        return;
    }
    m->acked = true;
    ev(m, sim_now(e), RUN_EV_NOTE, 0, 0, "switchover acked");
}

/* One save_live_iterate of a VFIO device; returns 1 when it has nothing
 * left for now (QEMU's return value). */
static int vfio_iterate(struct mig *m, struct vdev *v, int64_t t, int64_t *cost)
{
    uint64_t n = vfio_dev_read(v->dev, t, MIG_VFIO_CHUNK_BYTES);
    int64_t send =
        bytes_ns(n + VFIO_CHUNK_HDR_BYTES, (double)m->s.link_bandwidth_bps);
    int64_t rd = vfio_dev_read_ns(v->dev, n);
    *cost += rd > send ? rd : send;
    m->total_bytes += n + VFIO_CHUNK_HDR_BYTES;
    m->precopy_bytes += n;
    v->precopy_sent += n;
    consume_estimate(v, n);
    if (v->cached_stop) {
        v->cached_stop = v->cached_stop > n ? v->cached_stop - n : 0;
    }
    if (m->s.switchover_ack && v->init_bytes == 0 && !v->init_sent) {
        v->init_sent = true;
        if (m->ack_pending && --m->ack_pending == 0) {
            sim_at(m->e, t + *cost + m->s.rtt_ns, 0, EV_ACK, 0, ack_event, m,
                   NULL);
        }
    }
    return v->init_bytes == 0 && v->dirty_bytes == 0;
}

/* ---- completion ------------------------------------------------------- */

static void finish(struct mig *m, int64_t t, enum run_outcome o)
{
    struct run_metrics *r = &m->out->m;
    m->done = true;
    r->outcome = o;
    r->total_ns = t;
    r->iterations = m->iterations;
    r->bitmap_syncs = m->sync_count;
    r->estimate_calls = m->estimate_calls;
    r->exact_calls = m->exact_calls;
    r->exact_calls_per_s =
        t > 0 ? (double)m->exact_calls / ((double)t / 1e9) : 0.0;
    r->sync_time_ns = m->sync_time_ns;
    r->bql_ns = m->bql_ns;
    r->spin_cpu_ns = m->spin_ns;
    r->bytes_transferred = m->total_bytes;
    r->precopy_bytes = m->precopy_bytes;
    r->downtime_bytes = m->downtime_bytes;
    r->postcopy_bytes = m->postcopy_bytes;
    r->expected_downtime_ns = m->expected_downtime_ns;
    r->downtime_limit_ns = m->limit_ns;
    r->max_throttle_pct = m->max_throttle;
    r->postcopy = m->in_postcopy;
    r->n_devices = m->nd;
    for (unsigned i = 0; i < m->nd; i++) {
        struct run_device_result *d = &r->devices[i];
        snprintf(d->name, sizeof(d->name), "%s", m->d[i].cfg->name);
        d->precopy_bytes = m->d[i].precopy_sent;
        d->stop_copy_bytes = m->d[i].stop_copy_sent;
        d->save_ns = m->d[i].save_ns;
        d->load_ns = m->d[i].cfg->load_ns;
    }
    if (o != RUN_CONVERGED) {
        r->downtime_ns = 0;
        r->src_downtime_ns = 0;
        r->downtime_violation = false;
    } else {
        r->downtime_violation = r->downtime_ns > m->limit_ns;
    }
    sim_fingerprint_mix(m->e, (uint64_t)t);
    sim_fingerprint_mix(m->e, m->total_bytes);
    r->fingerprint = sim_fingerprint(m->e);
    sim_stop(m->e);
}

static void complete_end(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct mig *m = subject;
    int64_t t = sim_now(e);
    for (unsigned i = 0; i < m->nd; i++) {
        vfio_dev_set_state(m->d[i].dev, VFIO_FSM_STOP, t);
    }
    set_status(m, t, MIG_STATUS_COMPLETED);
    finish(m, t, RUN_CONVERGED);
}

/* Stop the devices as QEMU's vmstate change handler does. */
static void devices_stop(struct mig *m, int64_t t, bool to_stop_copy)
{
    for (unsigned i = 0; i < m->nd; i++) {
        struct vdev *v = &m->d[i];
        bool pre = in_precopy_state(v);
        if (m->s.qemu >= QEMU_8_2 && v->cfg->p2p) {
            enum vfio_fsm_state st = vfio_dev_state(v->dev);
            vfio_dev_set_state(v->dev,
                               st == VFIO_FSM_PRE_COPY ? VFIO_FSM_PRE_COPY_P2P
                                                       : VFIO_FSM_RUNNING_P2P,
                               t);
        }
        vfio_dev_set_state(v->dev,
                           to_stop_copy && (pre || m->s.qemu < QEMU_8_1)
                               ? VFIO_FSM_STOP_COPY
                               : VFIO_FSM_STOP,
                           t);
    }
}

/*
 * Downtime: everything from VM stop to the destination running.  Sections
 * go out in handler order (RAM, VFIO devices, non-iterable state); the
 * destination loads each after it has arrived and after the previous one
 * is loaded.  Devices with multifd transfer (10.0+) are saved by their own
 * threads in parallel with the main channel.  Returns the end time and the
 * source-side end (query-migrate's downtime reference).
 */
static int64_t switchover_data(struct mig *m, int64_t t0, int64_t *src_end)
{
    int64_t t = t0;
    double link = (double)m->s.link_bandwidth_bps;
    int64_t load_end = t0;

    /* RAM: final sync, then every dirty page, not rate limited */
    t += bitmap_sync(m, t);
    struct ram_send rs;
    memset(&rs, 0, sizeof(rs));
    double tp = ram_throughput_bps(m);
    double normal_ns =
        (double)(ram_page_bytes(m->ram) + RAM_PAGE_HDR_WIRE_BYTES) * 1e9 / tp;
    ram_send_pages(m->ram, UINT64_MAX, INFINITY, normal_ns,
                   (double)m->s.zero_page_scan_ns, &rs);
    t += (int64_t)ceil(rs.cost_ns);
    m->total_bytes += rs.wire_bytes;
    m->downtime_bytes += rs.wire_bytes;
    load_end = t;

    /* multifd device threads start with the iterable save */
    int64_t mf_end = t0;
    uint64_t mf_bytes = 0;
    for (unsigned i = 0; i < m->nd; i++) {
        struct vdev *v = &m->d[i];
        if (!(v->cfg->multifd && m->s.multifd_channels &&
              m->s.qemu >= QEMU_10_0)) {
            continue;
        }
        vfio_dev_set_state(v->dev, VFIO_FSM_STOP_COPY, t0);
        uint64_t n = vfio_dev_read(v->dev, t0, UINT64_MAX);
        int64_t dur = v->cfg->save_ns + vfio_dev_read_ns(v->dev, n);
        mf_bytes += n;
        v->stop_copy_sent += n;
        v->save_ns = dur;
        if (t0 + dur > mf_end) {
            mf_end = t0 + dur;
        }
        /* loads run in the destination's load threads as buffers come */
        int64_t le = mf_end + v->cfg->load_ns;
        if (le > load_end) {
            load_end = le;
        }
    }

    /* serialized VFIO devices on the main channel */
    for (unsigned i = 0; i < m->nd; i++) {
        struct vdev *v = &m->d[i];
        if (v->cfg->multifd && m->s.multifd_channels &&
            m->s.qemu >= QEMU_10_0) {
            continue;
        }
        int64_t s0 = t;
        vfio_dev_set_state(v->dev, VFIO_FSM_STOP_COPY, t);
        uint64_t n = vfio_dev_read(v->dev, t, UINT64_MAX);
        int64_t rd = vfio_dev_read_ns(v->dev, n);
        int64_t tx = bytes_ns(n, link);
        t += v->cfg->save_ns + (rd > tx ? rd : tx);
        v->stop_copy_sent += n;
        v->save_ns = t - s0;
        m->total_bytes += n;
        m->downtime_bytes += n;
        int64_t ls = load_end > t ? load_end : t;
        load_end = ls + v->cfg->load_ns;
    }
    m->total_bytes += mf_bytes;
    m->downtime_bytes += mf_bytes;
    /* the link is shared: all bytes cannot beat the wire */
    int64_t wire_end = t0 + bytes_ns(m->downtime_bytes, link);
    if (mf_end > t) {
        t = mf_end;
    }
    if (wire_end > t) {
        t = wire_end;
    }

    /* non-iterable state: the VM's own plus every device's config */
    uint64_t ni = m->s.non_iterable_bytes;
    int64_t ni_load = m->s.non_iterable_load_ns;
    for (unsigned i = 0; i < m->nd; i++) {
        ni += m->d[i].cfg->config_bytes;
        ni_load += m->d[i].cfg->config_load_ns;
    }
    t += m->s.non_iterable_save_ns + bytes_ns(ni, link);
    m->total_bytes += ni;
    m->downtime_bytes += ni;
    int64_t ls = load_end > t ? load_end : t;
    load_end = ls + ni_load;
    *src_end = t;
    return load_end > t ? load_end : t;
}

static void start_completion(struct mig *m, int64_t t)
{
    struct run_metrics *r = &m->out->m;
    int64_t down0 = m->paused ? m->pause_start_ns : t;
    m->rate_limit_off = true;
    int64_t c = 0;
    if (!m->paused) {
        c += m->s.stop_base_ns + (int64_t)m->s.vcpus * m->s.stop_per_vcpu_ns;
        ram_advance(m->ram, t);
        ram_set_dirty_scale(m->ram, 0.0);
    }
    devices_stop(m, t + c, true);
    if (m->s.pause_before_switchover) {
        set_status(m, t + c, MIG_STATUS_PRE_SWITCHOVER);
        c += m->s.pause_wait_ns;
        set_status(m, t + c, MIG_STATUS_DEVICE);
    } else if (m->s.qemu >= QEMU_10_0) {
        set_status(m, t + c, MIG_STATUS_DEVICE);
    }
    int64_t src_end;
    int64_t end = switchover_data(m, t + c, &src_end);
    /* the source waits for the destination's return-path SHUT */
    int64_t shut = end + m->s.rtt_ns / 2;
    r->downtime_ns = end - down0;
    r->src_downtime_ns = (shut > src_end ? shut : src_end) - down0;
    sim_at(m->e, shut, 0, EV_COMPLETE_END, 0, complete_end, m, NULL);
}

/* postcopy_start(): stop, finish non-postcopiable data, package, resume on
 * the destination; RAM continues from there. */
static int64_t start_postcopy(struct mig *m, int64_t t)
{
    struct run_metrics *r = &m->out->m;
    int64_t c = m->s.stop_base_ns + (int64_t)m->s.vcpus * m->s.stop_per_vcpu_ns;
    ram_advance(m->ram, t);
    int64_t down0 = t;
    devices_stop(m, t + c, true);
    c += bitmap_sync(m, t + c);
    double link = (double)m->s.link_bandwidth_bps;
    int64_t load_end = t + c;
    for (unsigned i = 0; i < m->nd; i++) {
        struct vdev *v = &m->d[i];
        vfio_dev_set_state(v->dev, VFIO_FSM_STOP_COPY, t + c);
        uint64_t n = vfio_dev_read(v->dev, t + c, UINT64_MAX);
        int64_t d = v->cfg->save_ns + bytes_ns(n, link);
        c += d;
        v->save_ns = d;
        v->stop_copy_sent += n;
        m->total_bytes += n;
        m->downtime_bytes += n;
        int64_t ls = load_end > t + c ? load_end : t + c;
        load_end = ls + v->cfg->load_ns;
    }
    uint64_t ni = m->s.non_iterable_bytes;
    for (unsigned i = 0; i < m->nd; i++) {
        ni += m->d[i].cfg->config_bytes;
    }
    c += m->s.non_iterable_save_ns + bytes_ns(ni, link);
    m->total_bytes += ni;
    m->downtime_bytes += ni;
    int64_t ls = load_end > t + c ? load_end : t + c;
    load_end = ls + m->s.non_iterable_load_ns;
    int64_t end = load_end > t + c ? load_end : t + c;
    r->downtime_ns = end + m->s.rtt_ns / 2 - down0;
    r->src_downtime_ns = t + c - down0;
    m->in_postcopy = true;
    m->paused = false;
    apply_throttle(m, t); /* the guest now runs on the destination */
    /* 10.0+: the switchover always passes through "device"; 10.2 adds
     * "postcopy-device" until the destination has loaded the package */
    if (m->s.qemu >= QEMU_10_0) {
        set_status(m, t, MIG_STATUS_DEVICE);
    }
    if (m->s.qemu >= QEMU_10_2) {
        set_status(m, t + c, MIG_STATUS_POSTCOPY_DEVICE);
    }
    set_status(m, end, MIG_STATUS_POSTCOPY_ACTIVE);
    ev(m, t + c, RUN_EV_NOTE, 0, 0, "postcopy started");
    /* a new window at postcopy bandwidth */
    m->win_start_ns = t + c;
    m->win_start_bytes = m->total_bytes;
    return c;
}

/* ---- policies --------------------------------------------------------- */

static void fill_view(struct mig *m, int64_t t, uint64_t pending, uint64_t must,
                      bool exact, struct pol_view *v)
{
    memset(v, 0, sizeof(*v));
    v->now_ns = t;
    v->start_ns = 0;
    v->qemu = m->s.qemu;
    v->iteration = m->iterations;
    v->downtime_limit_ns = m->limit_ns;
    v->max_bandwidth_bps = m->max_bw_bps;
    v->avail_switchover_bandwidth_bps = m->avail_bw_bps;
    v->pending_bytes = pending;
    v->must_bytes = must;
    v->threshold_bytes = m->threshold;
    v->bandwidth_bps = m->bw_bytes_per_ms * 1000.0;
    v->exact_called = exact;
    v->ram_total_bytes = m->s.ram_bytes;
    v->ram_remaining_bytes = ram_dirty_pages(m->ram) * ram_page_bytes(m->ram);
    for (unsigned i = 0; i < m->nd; i++) {
        v->device_bytes += vfio_dev_stop_copy_true(m->d[i].dev, t);
    }
    v->transferred_bytes = m->total_bytes;
    v->dirty_sync_count = m->sync_count;
    v->dirty_rate_bps = m->dirty_pages_rate * (double)ram_page_bytes(m->ram);
    v->throttle_pct = m->throttle_pct;
    v->in_postcopy = m->in_postcopy;
    v->paused = m->paused;
    v->postcopy_capable = m->s.postcopy_ram;
    v->expected_downtime_ns = m->expected_downtime_ns;
}

/* Apply a policy's requests.  Returns 1 if the migration ended or the
 * switchover starts now, 0 otherwise. */
static int apply_actions(struct mig *m, int64_t t, const struct pol_actions *a)
{
    if (a->set_downtime_limit && a->downtime_limit_ns != m->limit_ns) {
        m->limit_ns = a->downtime_limit_ns;
        ev(m, t, RUN_EV_PARAM, (uint64_t)m->limit_ns, 0,
           "downtime-limit=%lldms", (long long)(m->limit_ns / SIM_MS));
    }
    if (a->set_avail_switchover_bandwidth &&
        a->avail_switchover_bandwidth_bps != m->avail_bw_bps &&
        m->s.qemu >= QEMU_8_2) {
        m->avail_bw_bps = a->avail_switchover_bandwidth_bps;
        ev(m, t, RUN_EV_PARAM, m->avail_bw_bps, 0,
           "avail-switchover-bandwidth=%llu",
           (unsigned long long)m->avail_bw_bps);
    }
    if (a->set_max_bandwidth && a->max_bandwidth_bps != m->max_bw_bps) {
        m->max_bw_bps = a->max_bandwidth_bps;
        ev(m, t, RUN_EV_PARAM, m->max_bw_bps, 0, "max-bandwidth=%llu",
           (unsigned long long)m->max_bw_bps);
    }
    if (a->abort) {
        ev(m, t, RUN_EV_NOTE, 0, 0, "abort: %s", a->reason);
        set_status(m, t, MIG_STATUS_CANCELLING);
        set_status(m, t, MIG_STATUS_CANCELLED);
        finish(m, t, RUN_ABORTED);
        return 1;
    }
    if (a->start_postcopy && !m->start_postcopy) {
        if (m->s.postcopy_ram) {
            m->start_postcopy = true;
            ev(m, t, RUN_EV_NOTE, 0, 0, "migrate-start-postcopy: %s",
               a->reason);
        }
    }
    if (a->force_complete && !m->paused) {
        /* the management layer pauses the guest; QEMU goes on migrating a
         * stopped VM (devices stop, the downtime clock runs) */
        ev(m, t, RUN_EV_NOTE, 0, 0, "force-complete (pause): %s", a->reason);
        ram_advance(m->ram, t);
        m->paused = true;
        m->pause_start_ns = t;
        apply_throttle(m, t);
        devices_stop(m, t, true);
    }
    return 0;
}

/* ---- the iteration ---------------------------------------------------- */

static bool can_switchover(const struct mig *m)
{
    if (m->s.qemu < QEMU_8_1 || !m->s.switchover_ack) {
        return true;
    }
    return m->paused || m->acked;
}

static void record_sample(struct mig *m, int64_t t, uint64_t est,
                          uint64_t exact, bool exact_called, uint64_t sent)
{
    if (m->opt.no_samples) {
        return;
    }
    if (m->opt.max_samples && m->out->n_samples >= m->opt.max_samples) {
        return;
    }
    if (m->out->n_samples && !exact_called &&
        t - m->last_sample_ns < m->opt.sample_interval_ns) {
        return;
    }
    struct run_sample s;
    memset(&s, 0, sizeof(s));
    s.t_ns = t;
    s.iteration = m->iterations;
    s.estimate_bytes = est;
    s.exact_bytes = exact;
    s.exact_called = exact_called;
    s.threshold_bytes = m->threshold;
    s.bandwidth_bps = m->bw_bytes_per_ms * 1000.0;
    s.ram_dirty_bytes = ram_dirty_pages(m->ram) * ram_page_bytes(m->ram);
    s.dirty_rate_bps = (uint64_t)ram_dirty_rate_bps(m->ram);
    s.sent_bytes = sent;
    s.downtime_limit_ns = m->limit_ns;
    s.throttle_pct = m->throttle_pct;
    s.expected_downtime_ns = m->expected_downtime_ns;
    s.n_devices = m->nd;
    for (unsigned i = 0; i < m->nd; i++) {
        s.dev_reported_bytes[i] = m->d[i].reported;
        s.dev_stop_copy_bytes[i] = vfio_dev_stop_copy_true(m->d[i].dev, t);
    }
    run_result_add_sample(m->out, &s);
    m->last_sample_ns = t;
}

/* Returns the thread time the iteration took; *ended when the migration
 * switched over, started completion or ended. */
static int64_t iteration_run(struct mig *m, int64_t t, bool *ended)
{
    unsigned q = m->s.qemu;
    int64_t c = 0;
    uint64_t page = ram_page_bytes(m->ram);
    m->iterations++;
    ram_advance(m->ram, t);

    /* --- pending: estimate (7.2: the single pending query) --- */
    uint64_t ram_rem = ram_dirty_pages(m->ram) * page;
    if (q < QEMU_8_0 && !m->in_postcopy && ram_rem < m->threshold) {
        c += bitmap_sync(m, t + c);
        ram_rem = ram_dirty_pages(m->ram) * page;
    }
    uint64_t must = 0, can = 0, non_iter = 0;
    if (m->s.postcopy_ram) {
        can += ram_rem;
    } else {
        must += ram_rem;
    }
    for (unsigned i = 0; i < m->nd; i++) {
        must += vfio_pending(m, &m->d[i], t + c, false, &c, &non_iter);
    }
    m->estimate_calls++;
    uint64_t pending = must + can;
    uint64_t est = pending + non_iter;

    /* --- exact --- */
    bool exact = false;
    bool ni_sleep = false;
    if (q >= QEMU_8_0) {
        bool trig;
        if (q < QEMU_9_0) {
            trig = must <= m->threshold;
        } else {
            trig = pending < m->threshold;
        }
        if (q >= QEMU_10_1 && m->in_postcopy) {
            trig = false;
        }
        if (trig && m->pol.report.mode == POL_REPORT_NON_ITERABLE &&
            pending + non_iter >= m->threshold &&
            t + c - m->last_exact_ns < m->pol.report.interval_ns) {
            /* only non-iterable data keeps us above: sleep, no exact */
            trig = false;
            ni_sleep = true;
        }
        if (trig) {
            exact = true;
            m->exact_calls++;
            m->last_exact_ns = t + c;
            bool sync;
            if (q < QEMU_9_0) {
                sync = !m->in_postcopy && ram_rem < m->threshold;
            } else {
                sync = !m->in_postcopy;
            }
            if (sync) {
                c += bitmap_sync(m, t + c);
            }
            ram_rem = ram_dirty_pages(m->ram) * page;
            must = can = non_iter = 0;
            if (m->s.postcopy_ram) {
                can += ram_rem;
            } else {
                must += ram_rem;
            }
            for (unsigned i = 0; i < m->nd; i++) {
                must += vfio_pending(m, &m->d[i], t + c, true, &c, &non_iter);
            }
            pending = must + can;
        }
    }
    uint64_t total_pending = pending + non_iter;

    /* --- decision --- */
    bool cs = can_switchover(m);
    bool complete;
    if (q >= QEMU_10_1) {
        complete = m->in_postcopy ? total_pending == 0
                                  : cs && total_pending <= m->threshold;
    } else {
        complete = (total_pending == 0 || total_pending < m->threshold) && cs;
    }
    bool pc_ok = !m->in_postcopy && must + non_iter <= m->threshold && cs &&
                 m->start_postcopy;
    if (q < QEMU_8_1) {
        pc_ok = !m->in_postcopy && must + non_iter <= m->threshold &&
                m->start_postcopy;
    }
    if (q >= QEMU_10_1 && pc_ok && !complete) {
        /* 10.1+: postcopy is considered before completion */
    }
    record_sample(m, t + c, est, exact ? total_pending : 0, exact, 0);
    if (complete) {
        ev(m, t + c, RUN_EV_NOTE, total_pending, 0,
           "migration_thread_low_pending %llu",
           (unsigned long long)total_pending);
        if (m->in_postcopy) {
            set_status(m, t + c, MIG_STATUS_COMPLETED);
            finish(m, t + c, RUN_CONVERGED);
        } else {
            start_completion(m, t + c);
        }
        *ended = true;
        return c;
    }
    if (pc_ok && m->s.postcopy_ram) {
        c += start_postcopy(m, t + c);
        return c + PASS_OVERHEAD_NS;
    }

    /* --- policies --- */
    if (m->pol_active) {
        struct pol_view view;
        struct pol_actions act;
        fill_view(m, t + c, total_pending, must + non_iter, exact, &view);
        memset(&act, 0, sizeof(act));
        pol_chain_iteration(&m->pol, &view, &act);
        if (apply_actions(m, t + c, &act)) {
            *ended = true;
            return c;
        }
    }
    if (ni_sleep) {
        m->sleep_until_ns = m->last_exact_ns + m->pol.report.interval_ns;
        return c + PASS_OVERHEAD_NS;
    }

    /* --- iterate: RAM first, then devices --- */
    uint64_t sent0 = m->total_bytes;
    uint64_t ram_sent = 0, dev_moved = 0;
    int64_t t_it = t + c;
    bool stop_pass = false;
    if (!rate_exceeded(m)) {
        uint64_t bw =
            m->in_postcopy ? m->s.max_postcopy_bandwidth_bps : m->max_bw_bps;
        uint64_t budget = UINT64_MAX;
        if (bw && !m->rate_limit_off) {
            budget = bw / 10 - window_used(m) + 1;
        }
        double tp = ram_throughput_bps(m);
        if (m->in_postcopy && m->s.max_postcopy_bandwidth_bps &&
            (double)m->s.max_postcopy_bandwidth_bps < tp) {
            tp = (double)m->s.max_postcopy_bandwidth_bps;
        }
        double normal_ns = (double)(page + RAM_PAGE_HDR_WIRE_BYTES) * 1e9 / tp;
        struct ram_send rs;
        memset(&rs, 0, sizeof(rs));
        ram_advance(m->ram, t_it);
        ram_send_pages(m->ram, budget, (double)MIG_MAX_WAIT_NS, normal_ns,
                       (double)m->s.zero_page_scan_ns, &rs);
        int64_t rc = (int64_t)ceil(rs.cost_ns);
        if (rs.round_done) {
            rc += (int64_t)((double)ram_total_pages(m->ram) / 8.0 /
                            BITMAP_SCAN_BPNS);
        }
        c += rc;
        ram_sent = rs.wire_bytes;
        m->total_bytes += rs.wire_bytes + 8; /* + RAM_SAVE_FLAG_EOS */
        if (m->in_postcopy) {
            m->postcopy_bytes += rs.wire_bytes;
        } else {
            m->precopy_bytes += rs.wire_bytes;
        }
        if (q <= QEMU_8_2 && !rs.round_done) {
            stop_pass = true;
        }
    } else {
        stop_pass = true;
    }
    for (unsigned i = 0; i < m->nd && !stop_pass && !m->in_postcopy; i++) {
        struct vdev *v = &m->d[i];
        if (q < QEMU_8_1 || !in_precopy_state(v)) {
            continue;
        }
        if (rate_exceeded(m)) {
            break;
        }
        uint64_t before = v->precopy_sent;
        int r = vfio_iterate(m, v, t + c, &c);
        dev_moved += v->precopy_sent - before;
        if (q <= QEMU_8_2 && r == 0) {
            break;
        }
    }
    uint64_t sent = m->total_bytes - sent0;
    c += PASS_OVERHEAD_NS;
    /* spin: RAM is not what blocks the switchover (its pending is under
     * the threshold, or it had nothing to send) and no device data moved:
     * the pass only re-measured what it cannot move */
    if (dev_moved == 0 && (ram_rem < m->threshold || ram_sent <= 8)) {
        m->spin_ns += c;
    }
    if (m->out->n_samples &&
        m->out->samples[m->out->n_samples - 1].iteration == m->iterations) {
        m->out->samples[m->out->n_samples - 1].sent_bytes = sent;
    }
    return c;
}

/* ---- the thread loop -------------------------------------------------- */

static void step(struct sim_engine *e, void *subject, void *arg);

static void schedule_step(struct mig *m, int64_t t)
{
    sim_at(m->e, t, 1, EV_STEP, 0, step, m, NULL);
}

/* One pass of the thread's loop at time t; returns the time of the next
 * pass, or -1 when the migration ended or switched over. */
static int64_t pass(struct mig *m, int64_t t)
{
    if (m->done) {
        return -1;
    }
    if (t >= m->s.time_limit_ns) {
        ev(m, t, RUN_EV_NOTE, 0, 0, "time limit reached");
        set_status(m, t, MIG_STATUS_CANCELLING);
        set_status(m, t, MIG_STATUS_CANCELLED);
        finish(m, t, RUN_TIMEOUT);
        return -1;
    }
    /* after a sleep: the counters update before the next iteration */
    if (rate_exceeded(m)) {
        update_counters(m, t);
    }
    int64_t c = 0;
    if (!rate_exceeded(m)) {
        bool ended = false;
        c = iteration_run(m, t, &ended);
        if (ended || m->done) {
            return -1;
        }
    }
    int64_t now = t + c;
    update_counters(m, now);
    int64_t next = now;
    if (rate_exceeded(m)) {
        next = m->win_start_ns + MIG_BUFFER_DELAY_NS;
    }
    if (m->sleep_until_ns > next) {
        next = m->sleep_until_ns;
        m->sleep_until_ns = 0;
    }
    if (next <= t) {
        next = t + PASS_OVERHEAD_NS;
    }
    return next;
}

static void step(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct mig *m = subject;
    int64_t t = sim_now(e);
    for (;;) {
        int64_t next = pass(m, t);
        if (next < 0) {
            return;
        }
        /* the next pass is the next event: run it here, without the heap
         * (same order and fingerprint as scheduling it) */
        if (!sim_advance_inline(e, next, 1, EV_STEP, 0)) {
            schedule_step(m, next);
            return;
        }
        t = next;
    }
}

/* 9.2+: with auto-converge, a 5 s timer syncs if nothing else did. */
static void throttle_timer(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct mig *m = subject;
    int64_t t = sim_now(e);
    if (m->done || m->in_postcopy || m->paused || m->rate_limit_off) {
        return;
    }
    if (m->sync_count > 1 && m->sync_count == m->timer_prev_count) {
        ev(m, t, RUN_EV_NOTE, 0, 0, "cpu_throttle_dirty_sync");
        bitmap_sync(m, t);
    }
    m->timer_prev_count = m->sync_count;
    sim_after(e, 5 * SIM_S, 2, EV_THROTTLE_TIMER, 0, throttle_timer, m, NULL);
}

static void setup_done(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct mig *m = subject;
    int64_t t = sim_now(e);
    set_status(m, t, MIG_STATUS_ACTIVE);
    m->win_start_ns = t;
    m->win_start_bytes = m->total_bytes;
    schedule_step(m, t);
}

static int setup(struct mig *m)
{
    char e[256] = "";
    m->ram = ram_new(&m->s.ram, sim_rng(m->e, SIM_STREAM_RAM), e, sizeof(e));
    if (!m->ram) {
        snprintf(m->err, m->errlen, "RAM model: %s", e);
        return -1;
    }
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
        dc.precopy = sd->precopy && m->s.qemu >= QEMU_8_1;
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
    }
    m->limit_ns = m->s.downtime_limit_ns;
    m->max_bw_bps = m->s.max_bandwidth_bps;
    m->avail_bw_bps = m->s.avail_switchover_bandwidth_bps;
    m->expected_downtime_ns = m->limit_ns;
    m->period_start_ns = -1;
    m->throttle_pct = 0;

    /* setup: state setup, bitmaps (all dirty) and the first sync, device
     * save_setup (size query, PRE_COPY entry) */
    set_status(m, 0, MIG_STATUS_SETUP);
    int64_t t = m->s.setup_ns;
    t += bitmap_sync(m, t);
    for (unsigned i = 0; i < m->nd; i++) {
        struct vdev *v = &m->d[i];
        int64_t c = 0;
        if (m->s.qemu >= QEMU_8_0) {
            v->cached_stop = query_stop(m, v, t, &c);
            v->cached_at_ns = t;
        }
        if (m->s.qemu >= QEMU_8_1 && v->cfg->precopy) {
            vfio_dev_set_state(v->dev, VFIO_FSM_PRE_COPY, t + c);
            query_precopy(v, t + c, &c);
        }
        t += c;
    }
    if (m->s.switchover_ack) {
        for (unsigned i = 0; i < m->nd; i++) {
            if (m->d[i].cfg->precopy) {
                m->ack_pending++;
            }
        }
        if (m->ack_pending == 0) {
            sim_at(m->e, t + m->s.rtt_ns, 0, EV_ACK, 0, ack_event, m, NULL);
        }
    }
    if (m->s.auto_converge && m->s.qemu >= QEMU_9_2) {
        sim_at(m->e, 5 * SIM_S, 2, EV_THROTTLE_TIMER, 0, throttle_timer, m,
               NULL);
    }
    sim_at(m->e, t, 0, EV_SETUP, 0, setup_done, m, NULL);
    return 0;
}

void mig_options_default(struct mig_options *o)
{
    memset(o, 0, sizeof(*o));
    o->sample_interval_ns = 10 * SIM_MS;
    o->max_samples = 200000;
}

int mig_simulate(const struct scenario *s, const char *policy_spec,
                 const struct mig_options *opt, struct run_result *out,
                 char *err, size_t errlen)
{
    struct mig *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    run_result_init(out);
    m->s = *s;
    m->out = out;
    m->err = err;
    m->errlen = errlen;
    if (opt) {
        m->opt = *opt;
    } else {
        mig_options_default(&m->opt);
    }
    if (pol_chain_setup(&m->pol, policy_spec, &m->s, err, errlen)) {
        goto out;
    }
    if (m->s.postcopy_ram && m->s.n_devices && m->s.qemu >= QEMU_9_0) {
        snprintf(err, errlen,
                 "QEMU 9.0+ refuses postcopy-ram with VFIO "
                 "devices (vfio save_prepare)");
        goto out;
    }
    for (unsigned i = 0; i < m->pol.n; i++) {
        if (m->pol.ops[i]->on_iteration) {
            m->pol_active = true;
        }
    }
    m->e = sim_engine_new(m->s.seed);
    m->status_chk = mig_status_checker_new(m->s.qemu);
    if (!m->e || !m->status_chk) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    m->status = MIG_STATUS_NONE;
    snprintf(out->m.qemu, sizeof(out->m.qemu), "%s", scn_qemu_name(s->qemu));
    snprintf(out->m.policy, sizeof(out->m.policy), "%s", m->pol.spec);
    if (setup(m)) {
        goto out;
    }
    sim_run(m->e, SIM_TIME_MAX);
    for (size_t i = 0; i < mig_status_checker_count(m->status_chk) &&
                       i < MIG_STATUS_MAX_STORED;
         i++) {
        const struct mig_status_violation *v =
            mig_status_checker_violation(m->status_chk, i);
        ev(m, (int64_t)v->pos, RUN_EV_NOTE, 0, 0, "status violation: %.60s",
           v->msg);
    }
    if (!m->done) {
        snprintf(err, errlen, "internal: the simulation stopped early");
        goto out;
    }
    if (ram_error(m->ram)) {
        snprintf(err, errlen, "RAM model: %s", ram_error(m->ram));
        goto out;
    }
    out->m.setup_ns = m->s.setup_ns;
    rc = 0;
out:
    if (rc) {
        run_result_free(out);
    }
    for (unsigned i = 0; i < m->nd; i++) {
        vfio_dev_free(m->d[i].dev);
    }
    ram_free(m->ram);
    mig_status_checker_free(m->status_chk);
    pol_chain_free(&m->pol);
    sim_engine_free(m->e);
    free(m);
    return rc;
}
