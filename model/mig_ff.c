/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig_ff.c — the fast-forward of the migration thread: runs of
 * passes that repeat, replayed without the general pass's machinery, with
 * the same results, state and engine fingerprint to the bit.
 *
 * A long migration is mostly runs of passes that do the same thing again:
 * while max-bandwidth binds, one RAM send per 100 ms window and a sleep;
 * while RAM's bitmap is empty between two syncs (nothing reaches the
 * threshold, so no exact() and no sync), every pass scans the clean bitmap
 * and each VFIO pre-copy device reads its 1 MiB chunk.  After every pass of
 * the loop (model/mig.c step), mig_ff() replays the passes that follow
 * with a copy of QEMU's pass reduced to what such a pass can do, and hands
 * back to the general pass at the first one that could do anything else:
 *   - a pass that would call exact() (so sync), switch over, record a
 *     sample, reach the time limit, start from a spent window that is not
 *     over, or let a device send its INIT_DATA_SENT (switchover-ack);
 *   - a device whose next read could come out short of a full chunk (or
 *     not empty, for a device that has nothing and dirties nothing);
 *   - any other engine event due first (sim_advance_inline refuses).
 * Two kinds of run go a stretch at a time, their passes differing only in
 * time (ff_busy: RAM clean, devices reading, back to back; ff_bound: one
 * RAM send per window); any other qualifying pass goes one at a time
 * (ff_pass).  It applies only with QEMU's reporting, no policy hook, 8.0+ (7.2
 * syncs and queries inside the estimate), outside postcopy and pause.
 *
 * Each replayed pass is still one engine event (sim_advance_inline folds
 * it into the fingerprint), so fingerprints and event counts are those of
 * the plain loop.  What is deferred, and why that is exact:
 *   - the devices' reads: a full chunk at every pass, proven before the
 *     pass (below), so k reads of 1 MiB at t_1 < ... < t_k leave the device
 *     as one read of k MiB at t_k (pre-copy dirty bytes accrue exactly,
 *     integer with a carried remainder, and reads take the initial bytes
 *     first, then the dirty ones, whatever their batching);
 *   - the RAM model's advances: the guest's writes go to the dirty log,
 *     which nothing reads before the next sync, and sends take pages from
 *     the migration bitmap, which the writes do not touch; the advances are
 *     applied at the same times, in order (ram_advance_steps), before
 *     anything else uses the RAM model.
 * A full chunk is proven with a lower bound of what the device has: A bytes
 * when the run starts (its cached pre-copy estimate, equal to the device's
 * sizes at each query and then lowered by the same reads while the device
 * also accrues; the query itself when that is short of a chunk: it draws
 * nothing and accrual is path-independent), plus at least
 * floor(rate x gap) accrued between two reads at least gap apart (gap: the
 * device's own cost plus the pass overhead, the least two of its reads can
 * be apart), minus a chunk per read.  docs/model.md states the rule.
 */
#include <math.h>
#include <string.h>

#include "model/mig_priv.h"

struct ff_dev {
    struct vdev *v;
    bool active;       /* is_active_iterate */
    uint64_t n;        /* bytes each read returns: a chunk, or 0 (dry) */
    int64_t cost;      /* its pass cost: max(read, send of n + header) */
    uint64_t left;     /* reads still proven full */
    uint64_t deferred; /* bytes read and not yet taken from the device */
    int64_t read_t;    /* time of the last deferred read */
};

struct ff {
    struct ff_dev d[SCN_MAX_DEVICES];
    unsigned nd;
    int64_t scan_ns; /* a clean round's bitmap scan (ram_iterate) */
    /* deferred RAM advances: t0, t0 + dt, ... (n of them) */
    int64_t adv_t0, adv_dt;
    uint64_t adv_n;
};

/* Reads of n = chunk bytes still proven full, from A bytes available, a
 * dirty rate of rate_bps and reads at least gap_ns apart: the largest k
 * with A + floor(rate x i x gap / 1e9) - i x n >= n for i < k (the floor
 * taken as rate x i x gap / 1e9 - 1).  Capped at 2^32. */
static uint64_t full_reads(uint64_t a, uint64_t rate_bps, int64_t gap_ns,
                           uint64_t n)
{
    const uint64_t cap = UINT64_C(1) << 32;
    if (a < n) {
        return 0;
    }
    unsigned __int128 acc = (unsigned __int128)rate_bps * (uint64_t)gap_ns;
    unsigned __int128 use = (unsigned __int128)n * 1000000000u;
    if (acc >= use) {
        return cap; /* the device gains a chunk between reads */
    }
    if (a < n + 1) {
        return 1;
    }
    unsigned __int128 room = (unsigned __int128)(a - n - 1) * 1000000000u;
    unsigned __int128 k = room / (use - acc) + 1;
    return k > cap ? cap : (uint64_t)k;
}

/* Set up a run from the state after the last pass; false when some device
 * is not steady (its next read would not be a full chunk or nothing). */
static bool ff_plan(struct mig *m, struct ff *f)
{
    if (m->done || m->in_postcopy || m->start_postcopy || m->paused ||
        m->rate_limit_off || m->sleep_until_ns || m->ff_diverged) {
        return false;
    }
    double link = (double)m->s.link_bandwidth_bps;
    f->nd = m->nd;
    f->adv_n = 0;
    f->scan_ns =
        (int64_t)((double)ram_total_pages(m->ram) / 8.0 / BITMAP_SCAN_BPNS);
    for (unsigned i = 0; i < m->nd; i++) {
        struct ff_dev *d = &f->d[i];
        struct vdev *v = &m->d[i];
        memset(d, 0, sizeof(*d));
        d->v = v;
        d->active = mig_vfio_active(m, v);
        if (!d->active) {
            continue;
        }
        /* what it has: at least the cached estimate (equal at each
         * query, then both lowered by the same reads while the device
         * also accrues), exactly that when it dirties nothing; else ask */
        uint64_t a = v->init_bytes + v->dirty_bytes;
        uint64_t rate = v->cfg->precopy_dirty_rate_bps;
        if (a < MIG_VFIO_CHUNK_BYTES && rate != 0) {
            uint64_t init = 0, dirty = 0;
            if (vfio_dev_query_precopy(v->dev, sim_now(m->e), &init, &dirty)) {
                return false;
            }
            a = init + dirty;
        }
        if (a >= MIG_VFIO_CHUNK_BYTES) {
            d->n = MIG_VFIO_CHUNK_BYTES;
        } else if (a == 0 && rate == 0) {
            d->n = 0;
        } else {
            return false;
        }
        int64_t send = mig_bytes_ns(d->n + VFIO_CHUNK_HDR_BYTES, link);
        int64_t rd = vfio_dev_read_ns(v->dev, d->n);
        d->cost = rd > send ? rd : send;
        d->left = d->n ? full_reads(a, rate, d->cost + PASS_OVERHEAD_NS, d->n)
                       : UINT64_MAX;
    }
    return true;
}

static void ff_adv_flush(struct mig *m, struct ff *f)
{
    if (f->adv_n) {
        ram_advance_steps(m->ram, f->adv_t0, f->adv_dt, f->adv_n);
        f->adv_n = 0;
    }
}

/* ram_advance(m->ram, t), deferred (t not before the last one). */
static void ff_adv(struct mig *m, struct ff *f, int64_t t)
{
    if (f->adv_n == 0) {
        f->adv_t0 = t;
        f->adv_n = 1;
        return;
    }
    int64_t last = f->adv_t0 + (int64_t)(f->adv_n - 1) * f->adv_dt;
    if (t == last) {
        return;
    }
    if (f->adv_n == 1) {
        f->adv_dt = t - f->adv_t0;
        f->adv_n = 2;
        return;
    }
    if (t == last + f->adv_dt) {
        f->adv_n++;
        return;
    }
    ff_adv_flush(m, f);
    f->adv_t0 = t;
    f->adv_n = 1;
}

/* Everything deferred, applied: after it the model is what the plain loop
 * leaves. */
static void ff_flush(struct mig *m, struct ff *f)
{
    ff_adv_flush(m, f);
    for (unsigned i = 0; i < f->nd; i++) {
        struct ff_dev *d = &f->d[i];
        if (d->deferred) {
            uint64_t got = vfio_dev_read(d->v->dev, d->read_t, d->deferred);
            if (got != d->deferred) {
                m->ff_diverged = true;
            }
            d->deferred = 0;
        }
    }
}

/* ff_adv for t0, t0 + dt, ... (n > 0 of them, dt > 0). */
static void ff_adv_run(struct mig *m, struct ff *f, int64_t t0, int64_t dt,
                       uint64_t n)
{
    ff_adv(m, f, t0);
    if (n == 1) {
        return;
    }
    ff_adv(m, f, t0 + dt);
    int64_t last = f->adv_t0 + (int64_t)(f->adv_n - 1) * f->adv_dt;
    if (f->adv_dt == dt && last == t0 + dt) {
        f->adv_n += n - 2;
        return;
    }
    for (uint64_t i = 2; i < n; i++) {
        ff_adv(m, f, t0 + (int64_t)i * dt);
    }
}

/* One device's estimate i passes into a busy run. */
static uint64_t busy_pending_one(const struct ff_dev *d, uint64_t i)
{
    uint64_t e = d->v->init_bytes + d->v->dirty_bytes;
    uint64_t used = d->n && i > e / d->n ? e : i * d->n;
    return e - used;
}

/* The estimate of the pass i passes into a busy run (the devices'
 * cached pre-copy sizes, each lowered by n per pass, at least 0). */
static uint64_t busy_pending(const struct ff *f, uint64_t i)
{
    uint64_t p = 0;
    for (unsigned k = 0; k < f->nd; k++) {
        if (f->d[k].active) {
            p += busy_pending_one(&f->d[k], i);
        }
    }
    return p;
}

/* Does the pass at estimate pending call exact() or switch over? */
static bool busy_stops(struct mig *m, uint64_t pending)
{
    struct mig_pending p = {pending, 0, 0};
    bool ni_sleep = false;
    return mig_exact_wanted(m, 0, &p, &ni_sleep) || ni_sleep ||
           mig_complete_ready(m, pending);
}

/* The shape of a busy run and how long it may go. */
struct busy {
    int64_t c;       /* cost of each pass */
    uint64_t b;      /* bytes each pass moves */
    bool spin;       /* no device moves data */
    uint64_t j;      /* passes allowed so far */
    bool steady;     /* it goes on through window ends */
    uint64_t room_w; /* passes up to the end of this window, that one too */
    uint64_t w;      /* passes of a full window */
};

/* The devices' share: cost, bytes, and the passes before a read is no
 * longer proven full, switchover-ack's INIT_DATA_SENT, or (<= 8.2) a
 * return value that would change the walk; false when none may go. */
static bool busy_devices(const struct mig *m, struct ff *f, struct busy *z)
{
    unsigned last_active = f->nd;
    for (unsigned k = 0; k < f->nd; k++) {
        if (f->d[k].active) {
            last_active = k;
        }
    }
    for (unsigned k = 0; k < f->nd; k++) {
        struct ff_dev *d = &f->d[k];
        struct vdev *v = d->v;
        if (!d->active) {
            continue;
        }
        z->c += d->cost;
        z->b += d->n + VFIO_CHUNK_HDR_BYTES;
        z->spin = z->spin && d->n == 0;
        if (d->n && d->left < z->j) {
            z->j = d->left;
        }
        if (m->s.switchover_ack && !v->init_sent) {
            if (d->n == 0 || v->init_bytes == 0) {
                return false;
            }
            uint64_t room = (v->init_bytes - 1) / d->n;
            z->j = room < z->j ? room : z->j;
        }
        uint64_t e = v->init_bytes + v->dirty_bytes;
        if (m->qv->iterate_serial && e > d->n) {
            /* only the last active device may stop the walk */
            if (k != last_active) {
                return false;
            }
            uint64_t room = (e - 1) / d->n;
            z->j = room < z->j ? room : z->j;
        }
    }
    return true;
}

/* The time limit, the next sample and the window: its budget never
 * exceeded; the pass that ends it updates the counters.  Steady windows
 * (this one started at the end of a pass like these, and the last one was
 * w of them, as every later one will be) give the same counters at each
 * end: then the run goes on through them.  False when none may go. */
static bool busy_limits(const struct mig *m, int64_t t, struct busy *z)
{
    int64_t c = z->c;
    uint64_t room = (uint64_t)(m->s.time_limit_ns - 1 - t) / (uint64_t)c + 1;
    z->j = room < z->j ? room : z->j;
    if (!m->opt.no_samples) {
        int64_t due = m->last_sample_ns + m->opt.sample_interval_ns;
        if (!m->out->n_samples || t >= due) {
            return false;
        }
        room = (uint64_t)(due - 1 - t) / (uint64_t)c + 1;
        z->j = room < z->j ? room : z->j;
    }
    const int64_t win = MIG_BUFFER_DELAY_NS;
    uint64_t bw = m->max_bw_bps, used = mig_window_used(m), b = z->b;
    uint64_t cap = bw ? bw / 10 : UINT64_MAX;
    uint64_t rate_room = used + b > cap ? 0 : (cap - used) / b;
    int64_t wend = m->win_start_ns + win;
    z->room_w =
        t + c >= wend ? 1 : (uint64_t)(wend - t - c + c - 1) / (uint64_t)c + 1;
    z->w = (uint64_t)((win + c - 1) / c);
    int64_t into = t - m->win_start_ns;
    z->steady = rate_room >= z->room_w && into >= 0 && into % c == 0 &&
                used == (uint64_t)(into / c) * b && z->w * b <= cap &&
                m->ctr.ok && m->ctr.transferred == z->w * b &&
                m->ctr.time_ms == (uint64_t)((int64_t)z->w * c / SIM_MS);
    if (!z->steady) {
        room = rate_room < z->room_w ? rate_room : z->room_w;
        z->j = room < z->j ? room : z->j;
    }
    return z->j > 0;
}

/* The first j passes of the busy run, applied (their events executed). */
static void busy_apply(struct mig *m, struct ff *f, int64_t t,
                       const struct busy *z, uint64_t j)
{
    int64_t c = z->c, t_last = t + (int64_t)(j - 1) * c;
    uint64_t total0 = m->total_bytes;
    m->iterations += j;
    m->estimate_calls += j;
    m->h[0].reported = 0;
    m->total_bytes += 8 * j;
    int64_t off = f->scan_ns;
    for (unsigned k = 0; k < f->nd; k++) {
        struct ff_dev *d = &f->d[k];
        uint64_t r = 0;
        if (d->active) {
            r = busy_pending_one(d, j - 1);
            if (d->n) {
                d->deferred += j * d->n;
                d->read_t = t_last + off;
                d->left -= j;
            }
            mig_vfio_account(m, d->v, d->n, j, t_last + off, off + d->cost);
            off += d->cost;
        }
        d->v->reported = r;
        m->h[1 + k].reported = r;
    }
    if (z->spin) {
        m->spin_ns += (int64_t)j * c;
    }
    ff_adv_run(m, f, t, c, j);
    if (!z->steady) {
        mig_update_counters(m, t_last + c); /* a no-op inside the window */
    } else if (j >= z->room_w) {
        /* the last window end passed: the same counters, moved window */
        uint64_t ends = z->room_w + (j - z->room_w) / z->w * z->w;
        m->win_start_ns = t + (int64_t)ends * c;
        m->win_start_bytes = total0 + ends * z->b;
    }
    m->ff_passes += j;
}

/*
 * A busy run from the pass at t (not yet executed): RAM has nothing dirty
 * (its iterate is a clean round), every active device reads its n, every
 * handler iterates, the window budget is not reached and no pass sleeps:
 * each pass costs the same c and moves the same bytes, and the passes run
 * back to back at t, t + c, ...  Runs the longest such stretch before any
 * pass that could do otherwise, all at once; false when not even one pass
 * qualifies.  *next: the time of the pass after.
 */
static bool ff_busy(struct mig *m, struct ff *f, int64_t *next)
{
    int64_t t = *next;
    if (ram_dirty_pages(m->ram) != 0 || !ram_send_idle(m->ram) ||
        mig_rate_exceeded(m) || t >= m->s.time_limit_ns) {
        return false;
    }
    struct busy z = {.c = f->scan_ns + PASS_OVERHEAD_NS,
                     .b = 8, /* RAM_SAVE_FLAG_EOS */
                     .spin = true,
                     .j = UINT64_C(1) << 30};
    if (!busy_devices(m, f, &z) || !busy_limits(m, t, &z) ||
        busy_stops(m, busy_pending(f, 0))) {
        return false;
    }
    uint64_t j = z.j;
    if (busy_stops(m, busy_pending(f, j - 1))) {
        uint64_t lo = 1, hi = j - 1; /* pass lo - 1 runs, pass hi stops */
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (busy_stops(m, busy_pending(f, mid))) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        j = lo;
    }
    j = sim_advance_inline_run(m->e, t, z.c, j, 1, MIG_EV_STEP_KIND, 0);
    if (j == 0) {
        return false;
    }
    busy_apply(m, f, t, &z, j);
    *next = t + (int64_t)j * z.c;
    return true;
}

/* Does a pass whose estimate is RAM's rem and the devices' dev call
 * exact() or switch over? */
static bool bound_stops(struct mig *m, uint64_t rem, uint64_t dev)
{
    struct mig_pending p = {dev, 0, 0};
    if (m->s.postcopy_ram) {
        p.can = rem;
    } else {
        p.must += rem;
    }
    bool ni_sleep = false;
    return mig_exact_wanted(m, 0, &p, &ni_sleep) || ni_sleep ||
           mig_complete_ready(m, p.must + p.can);
}

/*
 * A bound run from the pass at t (not yet executed), max-bandwidth binding:
 * the pass starts a window (t is the end of the last, spent), RAM's send
 * spends the new window's budget inside the segment at its cursor, so no
 * device iterates and the thread sleeps to the window's end; the window
 * behind it moved the same bytes in 100 ms, so every pass sees the same
 * counters.  Runs the longest such stretch, one pass per window, before
 * any pass that could do otherwise (exact() or a switchover as RAM's
 * remaining shrinks, a change of the spin rule, the time limit, a sample,
 * another event, the end of the segment); false when none qualifies.
 */
static bool ff_bound(struct mig *m, struct ff *f, int64_t *next)
{
    int64_t t = *next;
    const int64_t win = MIG_BUFFER_DELAY_NS;
    uint64_t bw = m->max_bw_bps;
    if (!bw || t >= m->s.time_limit_ns || !mig_rate_exceeded(m) ||
        t != m->win_start_ns + win) {
        return false;
    }
    uint64_t j = UINT64_C(1) << 30;
    uint64_t room = (uint64_t)(m->s.time_limit_ns - 1 - t) / win + 1;
    j = room < j ? room : j;
    if (!m->opt.no_samples) {
        int64_t due = m->last_sample_ns + m->opt.sample_interval_ns;
        if (!m->out->n_samples || t >= due) {
            return false;
        }
        room = (uint64_t)(due - 1 - t) / win + 1;
        j = room < j ? room : j;
    }
    mig_update_counters(m, t); /* the pass's own first step */
    if (mig_rate_exceeded(m)) {
        return false;
    }
    uint64_t budget = bw / 10 - mig_window_used(m) + 1;
    double zero_ns = mig_zero_page_ns(m);
    struct ram_send one;
    if (!ram_send_peek(m->ram, budget, (double)MIG_MAX_WAIT_NS,
                       m->ram_page_ns[0], zero_ns, &one)) {
        return false;
    }
    uint64_t b = one.wire_bytes + 8; /* + RAM_SAVE_FLAG_EOS */
    int64_t c = (int64_t)ceil(one.cost_ns) + PASS_OVERHEAD_NS;
    if (!(b > bw / 10) || c >= win || !m->ctr.ok || m->ctr.transferred != b ||
        m->ctr.time_ms != (uint64_t)(win / SIM_MS)) {
        return false;
    }
    uint64_t dev = 0;
    for (unsigned i = 0; i < f->nd; i++) {
        if (f->d[i].active) {
            dev += f->d[i].v->init_bytes + f->d[i].v->dirty_bytes;
        }
    }
    uint64_t page = ram_page_bytes(m->ram);
    uint64_t rem = ram_dirty_pages(m->ram) * page, step = one.pages * page;
    room = rem / step; /* sends the dirty pages allow, at most */
    j = room < j ? room : j;
    /* the spin rule (RAM moved: spin while its remaining < threshold) */
    bool spin = rem < m->threshold;
    if (!spin && rem >= m->threshold) {
        room = (rem - m->threshold) / step + 1; /* passes with rem >= thr */
        j = room < j ? room : j;
    }
    if (j == 0 || bound_stops(m, rem, dev)) {
        return false;
    }
    if (bound_stops(m, rem - (j - 1) * step, dev)) {
        uint64_t lo = 1, hi = j - 1; /* pass lo - 1 runs, pass hi stops */
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (bound_stops(m, rem - mid * step, dev)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        j = lo;
    }
    j = sim_inline_room(m->e, t, win, j, 1);
    j = ram_send_repeat(m->ram, j, budget, (double)MIG_MAX_WAIT_NS,
                        m->ram_page_ns[0], zero_ns);
    if (j == 0) {
        return false;
    }
    sim_advance_inline_run(m->e, t, win, j, 1, MIG_EV_STEP_KIND, 0);
    int64_t t_last = t + (int64_t)(j - 1) * win;
    m->iterations += j;
    m->estimate_calls += j;
    m->h[0].reported = rem - (j - 1) * step;
    for (unsigned i = 0; i < f->nd; i++) {
        struct ff_dev *d = &f->d[i];
        uint64_t r = d->active ? d->v->init_bytes + d->v->dirty_bytes : 0;
        d->v->reported = r;
        m->h[1 + i].reported = r;
    }
    m->total_bytes += j * b;
    m->precopy_bytes += j * one.wire_bytes;
    if (spin) {
        m->spin_ns += (int64_t)j * c;
    }
    ff_adv_run(m, f, t, win, j);
    /* each later pass's counter update: the same values, the window moved */
    m->win_start_ns = t_last;
    m->win_start_bytes = m->total_bytes - b;
    m->ff_passes += j;
    *next = t_last + win;
    return true;
}

/* Checks that need nothing of the pass at t itself. */
static bool ff_pre(const struct mig *m, int64_t t)
{
    if (t >= m->s.time_limit_ns) {
        return false;
    }
    /* record_sample at t (the estimate costs nothing here) */
    return m->opt.no_samples ||
           (m->out->n_samples &&
            t - m->last_sample_ns < m->opt.sample_interval_ns);
}

/*
 * The pass at t (already an executed event), as mig_pass and
 * iteration_run do it in this state.  Returns the time of the next pass,
 * or -1 when the pass is not one the fast-forward can do, having changed
 * nothing that the general pass would not redo the same way (the counter
 * update at the start of a pass, done once, and deferred advances).
 */
static int64_t ff_pass(struct mig *m, struct ff *f, int64_t t)
{
    if (mig_rate_exceeded(m)) {
        mig_update_counters(m, t);
        if (mig_rate_exceeded(m)) {
            return -1;
        }
    }
    /* the estimate: RAM's remaining, each pre-copy device's cached
     * precopy sizes */
    ff_adv(m, f, t);
    uint64_t rem = ram_dirty_pages(m->ram) * ram_page_bytes(m->ram);
    struct mig_pending p = {0, 0, 0};
    if (m->s.postcopy_ram) {
        p.can = rem;
    } else {
        p.must = rem;
    }
    for (unsigned i = 0; i < f->nd; i++) {
        struct ff_dev *d = &f->d[i];
        if (d->active) {
            p.must += d->v->init_bytes + d->v->dirty_bytes;
            /* a read left to prove, or the INIT_DATA_SENT of
             * switchover-ack (it schedules the ack) */
            if (d->left == 0 || (m->s.switchover_ack && !d->v->init_sent &&
                                 (d->n == 0 || d->v->init_bytes <= d->n))) {
                return -1;
            }
        }
    }
    bool ni_sleep = false;
    if (mig_exact_wanted(m, t, &p, &ni_sleep) || ni_sleep ||
        mig_complete_ready(m, p.must + p.can)) {
        return -1;
    }
    /* the pass: estimate, no exact(), iterate */
    m->iterations++;
    m->estimate_calls++;
    m->h[0].reported = rem;
    for (unsigned i = 0; i < f->nd; i++) {
        struct ff_dev *d = &f->d[i];
        uint64_t r = d->active ? d->v->init_bytes + d->v->dirty_bytes : 0;
        d->v->reported = r;
        m->h[1 + i].reported = r;
    }
    int64_t c = 0;
    bool spin = true;
    for (unsigned i = 0; i < m->nh; i++) {
        struct mig_handler *h = &m->h[i];
        struct ff_dev *d = i ? &f->d[i - 1] : NULL;
        if (d && !d->active) {
            continue;
        }
        if (mig_rate_exceeded(m)) {
            break;
        }
        uint64_t moved = 0;
        int ret;
        if (!d) {
            if (rem == 0 && ram_send_idle(m->ram)) {
                c += f->scan_ns; /* ram_iterate: a clean round */
                m->total_bytes += 8;
                ret = 1;
            } else {
                ff_adv_flush(m, f);
                ret = h->ops->iterate(m, h, t + c, &c, &moved);
            }
            if (moved && !(h->reported < m->threshold)) {
                spin = false;
            }
        } else {
            int64_t at = t + c;
            if (d->n) {
                d->deferred += d->n;
                d->read_t = at;
                d->left--;
            }
            c += d->cost;
            mig_vfio_account(m, d->v, d->n, 1, at, c);
            moved = d->n;
            ret = d->v->init_bytes == 0 && d->v->dirty_bytes == 0;
            if (moved) {
                spin = false;
            }
        }
        if (m->qv->iterate_serial && ret == 0) {
            break;
        }
    }
    c += PASS_OVERHEAD_NS;
    if (spin) {
        m->spin_ns += c;
    }
    int64_t now = t + c;
    mig_update_counters(m, now);
    int64_t next = now;
    if (mig_rate_exceeded(m)) {
        next = m->win_start_ns + MIG_BUFFER_DELAY_NS;
    }
    if (next <= t) {
        next = t + PASS_OVERHEAD_NS;
    }
    m->ff_passes++;
    return next;
}

/* A quick look before a plan: the next pass calls exact() or switches
 * over by the estimate now (the seed case's every pass) — then the plain
 * loop goes on at once. */
static bool ff_declines(struct mig *m)
{
    uint64_t p = ram_dirty_pages(m->ram) * ram_page_bytes(m->ram);
    for (unsigned i = 0; i < m->nd; i++) {
        const struct vdev *v = &m->d[i];
        if (mig_vfio_active(m, v)) {
            p += v->init_bytes + v->dirty_bytes;
        }
    }
    return m->done || busy_stops(m, p);
}

int64_t mig_ff(struct mig *m, int64_t next)
{
    struct ff f;
    if (ff_declines(m)) {
        /* a phase of passes that each call exact(): look less often
         * (what a skipped look would have replayed runs plainly) */
        m->ff_backoff = m->ff_backoff ? m->ff_backoff * 2 : 1;
        m->ff_backoff = m->ff_backoff > 64 ? 64 : m->ff_backoff;
        m->ff_wait = m->ff_backoff;
        return next;
    }
    m->ff_backoff = 0;
    while (!ff_declines(m) && ff_plan(m, &f)) {
        for (;;) {
            if (ff_busy(m, &f, &next) || ff_bound(m, &f, &next)) {
                continue;
            }
            int64_t t = next;
            if (!ff_pre(m, t) ||
                !sim_advance_inline(m->e, t, 1, MIG_EV_STEP_KIND, 0)) {
                ff_flush(m, &f);
                return next;
            }
            next = ff_pass(m, &f, t);
            if (next < 0) {
                /* not one of ours: the general pass, then try again */
                ff_flush(m, &f);
                next = mig_pass(m, t);
                if (next < 0) {
                    return -1;
                }
                break;
            }
        }
    }
    return next;
}
