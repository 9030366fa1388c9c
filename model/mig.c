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
 * (ram_advance) up to the moment each sync or send happens.  Runs of
 * passes that repeat are replayed by model/mig_ff.c (same results and
 * fingerprint, a fraction of the cost).
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

#include "devices/vfio_fsm.h"
#include "model/mig_priv.h"

enum ev_kind {
    EV_STEP = MIG_EV_STEP_KIND,
    EV_ACK,
    EV_THROTTLE_TIMER,
    EV_COMPLETE_END,
    EV_SETUP,
};

/* ---- small helpers --------------------------------------------------- */

int64_t mig_bytes_ns(uint64_t bytes, double bps)
{
    if (bps <= 0.0) {
        return 0;
    }
    return (int64_t)ceil((double)bytes * 1e9 / bps);
}

double mig_ram_throughput_bps(const struct mig *m)
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

static void vmig_ev(struct mig *m, unsigned stream, int64_t t,
                    enum run_event_kind k, uint64_t v, int64_t dur,
                    const char *fmt, va_list ap)
{
    run_result_vadd_event_rep(m->out, stream, t, k, v, dur, fmt, ap);
}

void mig_ev(struct mig *m, int64_t t, enum run_event_kind k, uint64_t v,
            int64_t dur, const char *fmt, ...)
{
    if (m->opt.no_events) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vmig_ev(m, 0, t, k, v, dur, fmt, ap);
    va_end(ap);
}

/* An event that repeats with the simulated time (decimated per stream,
 * run/result.h). */
static void mig_ev_rep(struct mig *m, enum mig_ev_stream st, int64_t t,
                       enum run_event_kind k, uint64_t v, int64_t dur,
                       const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void mig_ev_rep(struct mig *m, enum mig_ev_stream st, int64_t t,
                       enum run_event_kind k, uint64_t v, int64_t dur,
                       const char *fmt, ...)
{
    if (m->opt.no_events) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vmig_ev(m, st, t, k, v, dur, fmt, ap);
    va_end(ap);
}

static void set_status(struct mig *m, int64_t t, enum mig_status st)
{
    if (m->status == st) {
        return;
    }
    mig_status_checker_feed(m->status_chk, st, (uint64_t)t);
    m->status = st;
    mig_ev(m, t, RUN_EV_STATE, 0, 0, "%s", mig_status_name(st));
}

uint64_t mig_window_used(const struct mig *m)
{
    return m->total_bytes - m->win_start_bytes;
}

/* QEMU: migration_rate_exceeded / qemu_file_rate_limit. */
bool mig_rate_exceeded(const struct mig *m)
{
    if (m->rate_limit_off) {
        return false;
    }
    uint64_t bw =
        m->in_postcopy ? m->s.max_postcopy_bandwidth_bps : m->max_bw_bps;
    if (bw == 0) {
        return false;
    }
    return mig_window_used(m) > bw / 10;
}

double mig_zero_page_ns(const struct mig *m)
{
    if (!m->in_postcopy && m->max_bw_bps && !m->rate_limit_off &&
        m->s.zero_page_scan_limited_ns > 0) {
        return (double)m->s.zero_page_scan_limited_ns;
    }
    return (double)m->s.zero_page_scan_ns;
}

uint64_t mig_threshold_bytes(unsigned qemu, uint64_t transferred_bytes,
                             uint64_t time_spent_ms, uint64_t limit_ms,
                             uint64_t avail_bps)
{
    if (time_spent_ms == 0) {
        return 0;
    }
    double bw = (double)transferred_bytes / (double)time_spent_ms;
    if (qv_get(qemu)->avail_switchover_bw && avail_bps) {
        bw = (double)avail_bps / 1000.0;
    }
    return (uint64_t)(bw * (double)limit_ms);
}

/* QEMU: migration_update_counters.  Windows of the same length that moved
 * the same bytes (a max-bandwidth-bound migration's every window) give the
 * same bandwidth, threshold and expected downtime: those are kept from the
 * last window (m->ctr) instead of being divided out again; the values are
 * the same expressions, so bit-identical. */
void mig_update_counters(struct mig *m, int64_t now)
{
    if (now < m->win_start_ns + MIG_BUFFER_DELAY_NS) {
        return;
    }
    uint64_t time_spent_ms = (uint64_t)((now - m->win_start_ns) / SIM_MS);
    uint64_t transferred = mig_window_used(m);
    uint64_t limit_ms = (uint64_t)(m->limit_ns / SIM_MS);
    struct mig_ctr_cache *k = &m->ctr;
    if (!k->ok || k->transferred != transferred ||
        k->time_ms != time_spent_ms || k->limit_ms != limit_ms ||
        k->avail_bps != m->avail_bw_bps) {
        k->bw = (double)transferred / (double)time_spent_ms;
        k->threshold = mig_threshold_bytes(
            m->s.qemu, transferred, time_spent_ms, limit_ms, m->avail_bw_bps);
        k->bw_per_ms = k->bw;
        if (m->qv->avail_switchover_bw && m->avail_bw_bps) {
            k->bw_per_ms = (double)m->avail_bw_bps / 1000.0;
        }
        k->transferred = transferred;
        k->time_ms = time_spent_ms;
        k->limit_ms = limit_ms;
        k->avail_bps = m->avail_bw_bps;
        k->ok = true;
        k->exp_ok = false;
    }
    m->bw_bytes_per_ms = k->bw;
    m->threshold = k->threshold;
    if (m->dirty_pages_rate != 0.0 && transferred > 10000 && k->bw_per_ms > 0) {
        /* 7.2/8.0: ram remaining; 8.1+: dirty_bytes_last_sync; both are the
         * migration bitmap at the last sync */
        if (!k->exp_ok || k->exp_rem != m->remaining_at_sync) {
            k->exp_ns =
                (int64_t)((double)m->remaining_at_sync / k->bw_per_ms * 1e6);
            k->exp_rem = m->remaining_at_sync;
            k->exp_ok = true;
        }
        m->expected_downtime_ns = k->exp_ns;
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
    /* before dirty-limit existed, only auto-converge throttles */
    if (!m->qv->dirty_limit && !m->s.auto_converge) {
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
        mig_ev_rep(m, MIG_EVS_THROTTLE, t, RUN_EV_THROTTLE, (uint64_t)pct, 0,
                   "cpu_throttle_set %.0f%%", pct);
        apply_throttle(m, t);
    } else if (m->s.dirty_limit && !m->dirty_limit_active) {
        m->dirty_limit_active = true;
        mig_ev_rep(m, MIG_EVS_THROTTLE, t, RUN_EV_THROTTLE,
                   m->s.vcpu_dirty_limit_bps, 0,
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
int64_t mig_bitmap_sync(struct mig *m, int64_t t)
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
    mig_ev_rep(m, MIG_EVS_SYNC, t, RUN_EV_SYNC, fresh, cost, "sync %llu",
               (unsigned long long)m->sync_count);
    return cost;
}

static void ack_event(struct sim_engine *e, void *subject, void *arg)
{
    (void)arg;
    struct mig *m = subject;
    if (m->done) {
        return;
    }
    m->acked = true;
    mig_ev(m, sim_now(e), RUN_EV_NOTE, 0, 0, "switchover acked");
}

void mig_schedule_ack(struct mig *m, int64_t t)
{
    sim_at(m->e, t, 0, EV_ACK, 0, ack_event, m, NULL);
}

int mig_handler_add(struct mig *m, const struct mig_handler_ops *ops,
                    void *opaque)
{
    if (m->nh >= MIG_MAX_HANDLERS) {
        return -1;
    }
    m->h[m->nh].ops = ops;
    m->h[m->nh].opaque = opaque;
    m->h[m->nh].reported = 0;
    m->nh++;
    return 0;
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
    for (unsigned i = 0; i < m->nh; i++) {
        if (m->h[i].ops->end) {
            m->h[i].ops->end(m, &m->h[i], t);
        }
    }
    set_status(m, t, MIG_STATUS_COMPLETED);
    finish(m, t, RUN_CONVERGED);
}

/* The VM stops: every handler's vmstate change hook. */
static void vm_stop_handlers(struct mig *m, int64_t t, bool to_stop_copy)
{
    for (unsigned i = 0; i < m->nh; i++) {
        if (m->h[i].ops->vm_stop) {
            m->h[i].ops->vm_stop(m, &m->h[i], t, to_stop_copy);
        }
    }
}

static int64_t load_ns(const struct mig_handler *h)
{
    return h->ops->load_ns ? h->ops->load_ns(h) : 0;
}

/* The destination loads a section that arrived at t after the previous
 * one. */
static void load_after(int64_t *load_end, int64_t t, int64_t load)
{
    *load_end = (*load_end > t ? *load_end : t) + load;
}

/* The multifd device-state threads (10.0+) of every handler that has
 * them; the destination loads their data as the buffers come. */
static void complete_threads(struct mig *m, struct mig_complete *c)
{
    for (unsigned k = 0; k < m->nh; k++) {
        struct mig_handler *h = &m->h[k];
        if (h->ops->complete_threads && h->ops->complete_threads(m, h, c)) {
            int64_t le = c->mf_end + load_ns(h);
            if (le > c->load_end) {
                c->load_end = le;
            }
        }
    }
}

/* Non-iterable state: the VM's own plus every handler's config. */
static uint64_t non_iterable(const struct mig *m, int64_t *load)
{
    uint64_t ni = m->s.non_iterable_bytes;
    *load = m->s.non_iterable_load_ns;
    for (unsigned i = 0; i < m->nh; i++) {
        if (m->h[i].ops->config) {
            m->h[i].ops->config(&m->h[i], &ni, load);
        }
    }
    return ni;
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
    double link = (double)m->s.link_bandwidth_bps;
    struct mig_complete c = {.t0 = t0, .t = t0, .load_end = t0, .mf_end = t0};
    bool threads = false;
    for (unsigned i = 0; i < m->nh; i++) {
        struct mig_handler *h = &m->h[i];
        if (h->ops->complete_threads && !threads) {
            threads = true;
            complete_threads(m, &c);
        }
        if (h->ops->complete && h->ops->complete(m, h, &c)) {
            load_after(&c.load_end, c.t, load_ns(h));
        }
    }
    m->total_bytes += c.mf_bytes;
    m->downtime_bytes += c.mf_bytes;
    /* the link is shared: all bytes cannot beat the wire */
    int64_t wire_end = t0 + mig_bytes_ns(m->downtime_bytes, link);
    int64_t t = c.t > c.mf_end ? c.t : c.mf_end;
    if (wire_end > t) {
        t = wire_end;
    }
    int64_t ni_load;
    uint64_t ni = non_iterable(m, &ni_load);
    t += m->s.non_iterable_save_ns + mig_bytes_ns(ni, link);
    m->total_bytes += ni;
    m->downtime_bytes += ni;
    load_after(&c.load_end, t, ni_load);
    *src_end = t;
    return c.load_end > t ? c.load_end : t;
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
    vm_stop_handlers(m, t + c, true);
    if (m->s.pause_before_switchover) {
        set_status(m, t + c, MIG_STATUS_PRE_SWITCHOVER);
        c += m->s.pause_wait_ns;
        set_status(m, t + c, MIG_STATUS_DEVICE);
    } else if (m->qv->status_device_always) {
        set_status(m, t + c, MIG_STATUS_DEVICE);
    }
    int64_t src_end;
    int64_t end = switchover_data(m, t + c, &src_end);
    r->downtime_ns = end - down0;
    /* With a return path open (capability return-path, postcopy-ram or
     * switchover-ack, which needs it) the source waits for the
     * destination's SHUT, sent once everything is loaded; without one it
     * completes when its last byte is out, and query-migrate's downtime
     * leaves the destination's load out. */
    int64_t done = src_end;
    if (m->s.return_path || m->s.postcopy_ram || m->s.switchover_ack) {
        int64_t shut = end + m->s.rtt_ns / 2;
        done = shut > src_end ? shut : src_end;
    }
    r->src_downtime_ns = done - down0;
    sim_at(m->e, done, 0, EV_COMPLETE_END, 0, complete_end, m, NULL);
}

/* postcopy_start(): stop, finish non-postcopiable data, package, resume on
 * the destination; RAM continues from there. */
static int64_t start_postcopy(struct mig *m, int64_t t)
{
    struct run_metrics *r = &m->out->m;
    int64_t c = m->s.stop_base_ns + (int64_t)m->s.vcpus * m->s.stop_per_vcpu_ns;
    ram_advance(m->ram, t);
    int64_t down0 = t;
    vm_stop_handlers(m, t + c, true);
    int64_t load_end = t + c;
    for (unsigned i = 0; i < m->nh; i++) {
        struct mig_handler *h = &m->h[i];
        bool wrote = false;
        if (h->ops->postcopy_save) {
            c += h->ops->postcopy_save(m, h, t + c, &wrote);
        }
        if (wrote) {
            load_after(&load_end, t + c, load_ns(h));
        }
    }
    /* the config state: its bytes (the loads overlap with postcopy) */
    int64_t ignored;
    uint64_t ni = non_iterable(m, &ignored);
    double link = (double)m->s.link_bandwidth_bps;
    c += m->s.non_iterable_save_ns + mig_bytes_ns(ni, link);
    m->total_bytes += ni;
    m->downtime_bytes += ni;
    load_after(&load_end, t + c, m->s.non_iterable_load_ns);
    int64_t end = load_end > t + c ? load_end : t + c;
    r->downtime_ns = end + m->s.rtt_ns / 2 - down0;
    r->src_downtime_ns = t + c - down0;
    m->in_postcopy = true;
    m->paused = false;
    apply_throttle(m, t); /* the guest now runs on the destination */
    /* 10.0+: the switchover always passes through "device"; 10.2 adds
     * "postcopy-device" until the destination has loaded the package */
    if (m->qv->status_device_always) {
        set_status(m, t, MIG_STATUS_DEVICE);
    }
    if (m->qv->status_postcopy_device) {
        set_status(m, t + c, MIG_STATUS_POSTCOPY_DEVICE);
    }
    set_status(m, end, MIG_STATUS_POSTCOPY_ACTIVE);
    mig_ev(m, t + c, RUN_EV_NOTE, 0, 0, "postcopy started");
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
        mig_ev_rep(m, MIG_EVS_PARAM, t, RUN_EV_PARAM, (uint64_t)m->limit_ns, 0,
                   "downtime-limit=%lldms", (long long)(m->limit_ns / SIM_MS));
    }
    if (a->set_avail_switchover_bandwidth &&
        a->avail_switchover_bandwidth_bps != m->avail_bw_bps &&
        m->qv->avail_switchover_bw) {
        m->avail_bw_bps = a->avail_switchover_bandwidth_bps;
        mig_ev_rep(m, MIG_EVS_PARAM, t, RUN_EV_PARAM, m->avail_bw_bps, 0,
                   "avail-switchover-bandwidth=%llu",
                   (unsigned long long)m->avail_bw_bps);
    }
    if (a->set_max_bandwidth && a->max_bandwidth_bps != m->max_bw_bps) {
        m->max_bw_bps = a->max_bandwidth_bps;
        mig_ev_rep(m, MIG_EVS_PARAM, t, RUN_EV_PARAM, m->max_bw_bps, 0,
                   "max-bandwidth=%llu", (unsigned long long)m->max_bw_bps);
    }
    if (a->abort) {
        mig_ev(m, t, RUN_EV_NOTE, 0, 0, "abort: %s", a->reason);
        set_status(m, t, MIG_STATUS_CANCELLING);
        set_status(m, t, MIG_STATUS_CANCELLED);
        finish(m, t, RUN_ABORTED);
        return 1;
    }
    if (a->start_postcopy && !m->start_postcopy) {
        if (m->s.postcopy_ram) {
            m->start_postcopy = true;
            mig_ev(m, t, RUN_EV_NOTE, 0, 0, "migrate-start-postcopy: %s",
                   a->reason);
        }
    }
    if (a->force_complete && !m->paused) {
        /* the management layer pauses the guest; QEMU goes on migrating a
         * stopped VM (devices stop, the downtime clock runs) */
        mig_ev(m, t, RUN_EV_NOTE, 0, 0, "force-complete (pause): %s",
               a->reason);
        ram_advance(m->ram, t);
        m->paused = true;
        m->pause_start_ns = t;
        apply_throttle(m, t);
        vm_stop_handlers(m, t, true);
    }
    return 0;
}

/* ---- the iteration ---------------------------------------------------- */

bool mig_can_switchover(const struct mig *m)
{
    if (!m->qv->switchover_ack || !m->s.switchover_ack) {
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

/* One pending query (estimate, or exact) at t + *c: the sum over the
 * handler table; each handler's must + can is kept for the spin rule. */
static void query_pending(struct mig *m, int64_t t, bool exact, int64_t *c,
                          struct mig_pending *p)
{
    memset(p, 0, sizeof(*p));
    for (unsigned i = 0; i < m->nh; i++) {
        struct mig_handler *h = &m->h[i];
        uint64_t before = p->must + p->can;
        if (exact && h->ops->pending_exact) {
            h->ops->pending_exact(m, h, t + *c, c, p);
        } else if (!exact && h->ops->pending_estimate) {
            h->ops->pending_estimate(m, h, t + *c, c, p);
        }
        h->reported = p->must + p->can - before;
    }
}

/* Does this pass call exact()?  The per-version trigger on the estimate
 * p; *ni_sleep when only data reported as non-iterable keeps the
 * migration above the threshold (non-iterable-report: sleep instead). */
bool mig_exact_wanted(struct mig *m, int64_t t, const struct mig_pending *p,
                      bool *ni_sleep)
{
    const struct qv_row *qv = m->qv;
    uint64_t pending = p->must + p->can;
    bool trig;
    if (qv->exact == QV_EXACT_NONE) {
        return false;
    }
    if (qv->exact == QV_EXACT_MUST_LE) {
        trig = p->must <= m->threshold;
    } else {
        trig = pending < m->threshold;
    }
    if (qv->exact_precopy_only && m->in_postcopy) {
        trig = false;
    }
    if (trig && m->pol.report.mode == POL_REPORT_NON_ITERABLE &&
        pending + p->non_iter >= m->threshold &&
        t - m->last_exact_ns < m->pol.report.interval_ns) {
        trig = false;
        *ni_sleep = true;
    }
    return trig;
}

/* The switchover predicate of the version. */
bool mig_complete_ready(const struct mig *m, uint64_t pending)
{
    bool cs = mig_can_switchover(m);
    if (m->qv->switchover == QV_SWITCHOVER_LE) {
        return m->in_postcopy ? pending == 0 : cs && pending <= m->threshold;
    }
    return (pending == 0 || pending < m->threshold) && cs;
}

/* migration_thread_low_pending: complete (precopy) or end (postcopy). */
static void low_pending(struct mig *m, int64_t t, uint64_t pending)
{
    mig_ev(m, t, RUN_EV_NOTE, pending, 0, "migration_thread_low_pending %llu",
           (unsigned long long)pending);
    if (m->in_postcopy) {
        set_status(m, t, MIG_STATUS_COMPLETED);
        finish(m, t, RUN_CONVERGED);
    } else {
        start_completion(m, t);
    }
}

/* The policy chain's hook; 1 if the migration ended or switches over. */
static int run_policies(struct mig *m, int64_t t, uint64_t pending,
                        uint64_t must, bool exact)
{
    if (!m->pol_active) {
        return 0;
    }
    struct pol_view view;
    struct pol_actions act;
    fill_view(m, t, pending, must, exact, &view);
    memset(&act, 0, sizeof(act));
    pol_chain_iteration(&m->pol, &view, &act);
    return apply_actions(m, t, &act);
}

/* qemu_savevm_state_iterate at t + *c over the table, charging *c: handlers in
 * order while the budget lasts; <= 8.2 stops at the first unfinished one.
 * Returns true when the pass only re-measured what it cannot move (no
 * handler moved data that blocks the switchover). */
static bool iterate_handlers(struct mig *m, int64_t t, int64_t *c)
{
    bool spin = true;
    for (unsigned i = 0; i < m->nh; i++) {
        struct mig_handler *h = &m->h[i];
        if (!h->ops->iterate ||
            (h->ops->is_active_iterate && !h->ops->is_active_iterate(m, h))) {
            continue;
        }
        if (mig_rate_exceeded(m)) {
            break;
        }
        uint64_t moved = 0;
        int r = h->ops->iterate(m, h, t + *c, c, &moved);
        if (moved &&
            !(h->ops->spin_below_threshold && h->reported < m->threshold)) {
            spin = false;
        }
        if (m->qv->iterate_serial && r == 0) {
            break;
        }
    }
    return spin;
}

/*
 * iteration_run when only RAM is migrated (m->lean_ok: RAM the one
 * handler, no policy hook, QEMU's reporting) and its pending is above the
 * threshold: what the general path below does then, step for step, without
 * the table walks (estimate = RAM's remaining, no exact(), no switchover,
 * no policy, RAM's iterate, spin iff it moved nothing).  Returns -1,
 * having changed nothing the general path would not redo (ram_advance to
 * the same time), when the case does not apply.
 */
static int64_t iteration_lean(struct mig *m, int64_t t)
{
    if (m->in_postcopy || m->start_postcopy || m->paused) {
        return -1;
    }
    ram_advance(m->ram, t);
    uint64_t rem = ram_dirty_pages(m->ram) * ram_page_bytes(m->ram);
    if (!(rem > m->threshold)) { /* 7.2's sync, exact(), switchover */
        return -1;
    }
    struct mig_handler *h = &m->h[0];
    m->iterations++;
    h->reported = rem;
    m->estimate_calls++;
    record_sample(m, t, rem, 0, false, 0);
    uint64_t sent0 = m->total_bytes;
    int64_t c = 0;
    uint64_t moved = 0;
    h->ops->iterate(m, h, t, &c, &moved);
    c += PASS_OVERHEAD_NS;
    if (!moved) {
        m->spin_ns += c;
    }
    struct run_sample *last = run_result_newest_sample(m->out);
    if (last && last->iteration == m->iterations) {
        last->sent_bytes = m->total_bytes - sent0;
    }
    return c;
}

/* QEMU's migration_iteration_run.  Returns the thread time the iteration
 * took; *ended when the migration switched over, started completion or
 * ended. */
static int64_t iteration_run(struct mig *m, int64_t t, bool *ended)
{
    if (m->lean_ok) {
        int64_t c = iteration_lean(m, t);
        if (c >= 0) {
            return c;
        }
    }
    int64_t c = 0;
    struct mig_pending p;
    m->iterations++;
    query_pending(m, t, false, &c, &p);
    m->estimate_calls++;
    uint64_t est = p.must + p.can + p.non_iter;
    bool ni_sleep = false;
    bool exact = mig_exact_wanted(m, t + c, &p, &ni_sleep);
    if (exact) {
        m->exact_calls++;
        m->last_exact_ns = t + c;
        query_pending(m, t, true, &c, &p);
    }
    uint64_t pending = p.must + p.can + p.non_iter;
    uint64_t must = p.must + p.non_iter;
    bool pc_ok = !m->in_postcopy && must <= m->threshold &&
                 mig_can_switchover(m) && m->start_postcopy;
    record_sample(m, t + c, est, exact ? pending : 0, exact, 0);
    if (mig_complete_ready(m, pending)) {
        low_pending(m, t + c, pending);
        *ended = true;
        return c;
    }
    if (pc_ok && m->s.postcopy_ram) {
        return c + start_postcopy(m, t + c) + PASS_OVERHEAD_NS;
    }
    if (run_policies(m, t + c, pending, must, exact)) {
        *ended = true;
        return c;
    }
    if (ni_sleep) {
        m->sleep_until_ns = m->last_exact_ns + m->pol.report.interval_ns;
        return c + PASS_OVERHEAD_NS;
    }
    uint64_t sent0 = m->total_bytes;
    bool spin = iterate_handlers(m, t, &c);
    c += PASS_OVERHEAD_NS;
    if (spin) {
        m->spin_ns += c;
    }
    struct run_sample *last = run_result_newest_sample(m->out);
    if (last && last->iteration == m->iterations) {
        last->sent_bytes = m->total_bytes - sent0;
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
int64_t mig_pass(struct mig *m, int64_t t)
{
    if (m->done) {
        return -1;
    }
    if (t >= m->s.time_limit_ns) {
        mig_ev(m, t, RUN_EV_NOTE, 0, 0, "time limit reached");
        set_status(m, t, MIG_STATUS_CANCELLING);
        set_status(m, t, MIG_STATUS_CANCELLED);
        finish(m, t, RUN_TIMEOUT);
        return -1;
    }
    /* after a sleep: the counters update before the next iteration */
    if (mig_rate_exceeded(m)) {
        mig_update_counters(m, t);
    }
    int64_t c = 0;
    if (!mig_rate_exceeded(m)) {
        bool ended = false;
        c = iteration_run(m, t, &ended);
        if (ended || m->done) {
            return -1;
        }
    }
    int64_t now = t + c;
    mig_update_counters(m, now);
    int64_t next = now;
    if (mig_rate_exceeded(m)) {
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
        int64_t next = mig_pass(m, t);
        if (next < 0) {
            return;
        }
        /* runs of passes that repeat (model/mig_ff.c) */
        if (m->ff_ok && m->ff_wait) {
            m->ff_wait--;
        } else if (m->ff_ok && (next = mig_ff(m, next)) < 0) {
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
        mig_ev_rep(m, MIG_EVS_TIMER, t, RUN_EV_NOTE, 0, 0,
                   "cpu_throttle_dirty_sync");
        mig_bitmap_sync(m, t);
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

/* The handler kinds, in QEMU's registration order: RAM first, then the
 * devices.  A new kind is one file (model/mig_<kind>.c) and one row. */
static const struct mig_handler_ops *const kinds[] = {
    &mig_ram_ops,
    &mig_vfio_ops,
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static int setup(struct mig *m)
{
    char e[256] = "";
    m->ram = ram_new(&m->s.ram, sim_rng(m->e, SIM_STREAM_RAM), e, sizeof(e));
    if (!m->ram) {
        snprintf(m->err, m->errlen, "RAM model: %s", e);
        return -1;
    }
    for (size_t k = 0; k < N_KINDS; k++) {
        if (kinds[k]->attach(m)) {
            return -1;
        }
    }
    m->limit_ns = m->s.downtime_limit_ns;
    m->max_bw_bps = m->s.max_bandwidth_bps;
    m->avail_bw_bps = m->s.avail_switchover_bandwidth_bps;
    m->expected_downtime_ns = m->limit_ns;
    m->period_start_ns = -1;
    m->throttle_pct = 0;

    /* setup: state setup, then every handler's save_setup in order: RAM's
     * bitmaps (all dirty) and first sync, each device's size query and
     * PRE_COPY entry */
    set_status(m, 0, MIG_STATUS_SETUP);
    int64_t t = m->s.setup_ns;
    for (unsigned i = 0; i < m->nh; i++) {
        if (m->h[i].ops->save_setup) {
            t += m->h[i].ops->save_setup(m, &m->h[i], t);
        }
    }
    if (m->s.switchover_ack && m->ack_pending == 0) {
        mig_schedule_ack(m, t + m->s.rtt_ns);
    }
    if (m->s.auto_converge && m->qv->autoconverge_sync_timer) {
        sim_at(m->e, 5 * SIM_S, 2, EV_THROTTLE_TIMER, 0, throttle_timer, m,
               NULL);
    }
    sim_at(m->e, t, 0, EV_SETUP, 0, setup_done, m, NULL);
    m->lean_ok = m->nh == 1 && m->h[0].ops == &mig_ram_ops &&
                 m->h[0].ops->iterate && !m->pol_active &&
                 m->pol.report.mode == POL_REPORT_QEMU;
    /* model/mig_ff.c: QEMU's reporting, no hook, no query or sync inside
     * the estimate (7.2), RAM then the devices */
    m->ff_ok = !m->opt.no_fast_forward && !m->pol_active &&
               m->pol.report.mode == POL_REPORT_QEMU &&
               m->qv->vfio != QV_VFIO_V1 && m->qv->sync != QV_SYNC_IN_PENDING &&
               m->nh == 1 + m->nd && m->h[0].ops == &mig_ram_ops;
    return 0;
}

void mig_options_default(struct mig_options *o)
{
    memset(o, 0, sizeof(*o));
    o->sample_interval_ns = 10 * SIM_MS;
    o->max_samples = MIG_DEFAULT_MAX_SAMPLES;
    o->max_events = MIG_DEFAULT_MAX_EVENTS;
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
    if (opt) {
        run_result_set_limits(out, opt->max_samples, opt->max_events);
    } else {
        run_result_set_limits(out, MIG_DEFAULT_MAX_SAMPLES,
                              MIG_DEFAULT_MAX_EVENTS);
    }
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
    m->qv = qv_get(m->s.qemu);
    if (m->s.postcopy_ram && m->s.n_devices && m->qv->vfio_refuses_postcopy) {
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
        mig_ev(m, (int64_t)v->pos, RUN_EV_NOTE, 0, 0, "status violation: %.60s",
               v->msg);
    }
    if (!m->done) {
        snprintf(err, errlen, "internal: the simulation stopped early");
        goto out;
    }
    if (m->ff_diverged) {
        snprintf(err, errlen, "internal: the fast-forward diverged");
        goto out;
    }
    if (ram_error(m->ram)) {
        snprintf(err, errlen, "RAM model: %s", ram_error(m->ram));
        goto out;
    }
    out->m.setup_ns = m->s.setup_ns;
    if (m->opt.ff_passes) {
        *m->opt.ff_passes = m->ff_passes;
    }
    if (run_result_flush(out)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
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
