/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/timeline.c — rebuild a migration from reader records (contract in
 * traces/timeline.h).
 *
 * Everything is computed in one pass with O(1) work per record; the only
 * growing structures are the decimated buffers (samples, sync events,
 * series) and the capped lists (events, states, violations, breakdown).
 */
#include "traces/timeline.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vfio_fsm.h"
#include "model/mig_status.h"

#define MS   1000000LL
#define SEC  1000000000LL
#define NO_T (-1)
#define ALL_VFIO_FLAGS                                                         \
    (VFIO_FSM_F_STOP_COPY | VFIO_FSM_F_P2P | VFIO_FSM_F_PRE_COPY)

int64_t tl_i64(double x)
{
    if (!(x == x)) {
        return 0;
    }
    if (x >= 9.2e18) {
        return INT64_MAX;
    }
    if (x <= -9.2e18) {
        return INT64_MIN;
    }
    return (int64_t)x;
}

uint64_t tl_u64(double x)
{
    if (!(x > 0)) {
        return 0;
    }
    if (x >= 1.8e19) {
        return UINT64_MAX;
    }
    return (uint64_t)x;
}

int64_t tl_add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) {
        return b > 0 ? INT64_MAX : INT64_MIN;
    }
    return r;
}

/* Latest plausible trace time (ns since the epoch, year 2096): larger
 * values, and negative ones, are treated as "no time" so differences of
 * two times always fit int64. */
#define TL_MAX_ABS_NS 4000000000000000000LL

/* ---- decimated buffers ---- */

struct deci {
    char *v;
    size_t n, cap, elem;
    uint64_t stride, seen;
    bool last_kept; /* the newest element pushed was kept */
    bool have_last;
};

static int deci_init(struct deci *d, size_t cap, size_t elem)
{
    memset(d, 0, sizeof(*d));
    d->cap = cap < 4 ? 4 : cap & ~(size_t)1;
    d->elem = elem;
    d->stride = 1;
    d->v = malloc(d->cap * elem);
    return d->v ? 0 : -1;
}

static void deci_free(struct deci *d)
{
    free(d->v);
    memset(d, 0, sizeof(*d));
}

/* Push x; the caller keeps its newest element itself (for the end). */
static void deci_push(struct deci *d, const void *x)
{
    d->have_last = true;
    d->last_kept = false;
    if (d->seen++ % d->stride != 0) {
        return;
    }
    if (d->n == d->cap) {
        /* keep elements 0, 2, 4, ...: those at multiples of 2 x stride */
        for (size_t i = 0; i < d->n / 2; i++) {
            memcpy(d->v + i * d->elem, d->v + 2 * i * d->elem, d->elem);
        }
        d->n /= 2;
        d->stride *= 2;
        if ((d->seen - 1) % d->stride != 0) {
            return;
        }
    }
    memcpy(d->v + d->n * d->elem, x, d->elem);
    d->n++;
    d->last_kept = true;
}

int tl_series_push(struct tl_series *s, int64_t t_ns, double v)
{
    if (!s->t_ns) {
        if (s->cap == 0) {
            s->cap = TL_DEFAULT_SAMPLES;
        }
        s->cap &= ~(size_t)1;
        s->t_ns = malloc(s->cap * sizeof(*s->t_ns));
        s->v = malloc(s->cap * sizeof(*s->v));
        s->stride = 1;
        if (!s->t_ns || !s->v) {
            free(s->t_ns);
            free(s->v);
            s->t_ns = NULL;
            s->v = NULL;
            return -1;
        }
    }
    if (s->seen++ % s->stride != 0) {
        return 0;
    }
    if (s->n == s->cap) {
        for (size_t i = 0; i < s->n / 2; i++) {
            s->t_ns[i] = s->t_ns[2 * i];
            s->v[i] = s->v[2 * i];
        }
        s->n /= 2;
        s->stride *= 2;
        if ((s->seen - 1) % s->stride != 0) {
            return 0;
        }
    }
    s->t_ns[s->n] = t_ns;
    s->v[s->n] = v;
    s->n++;
    return 0;
}

void tl_series_free(struct tl_series *s)
{
    free(s->t_ns);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

double tl_series_mean(const struct tl_series *s)
{
    if (!s->n) {
        return 0;
    }
    double sum = 0;
    for (size_t i = 0; i < s->n; i++) {
        sum += s->v[i];
    }
    return sum / (double)s->n;
}

/* ---- state ---- */

struct tl_evx {
    uint64_t seq;
    uint64_t sync_no; /* RUN_EV_SYNC: text formatted at the end */
    struct run_event e;
};

struct iter {
    bool open;
    uint64_t index;
    int64_t t_start, t_exact;
    uint64_t est, est_pre;
    bool exact_called;
    uint64_t exact, exact_pre;
    uint64_t threshold;
    bool thr_known;
    double bw;
    bool switchover;
    bool iterated; /* savevm_state_iterate seen: decided, no switchover */
    uint32_t dev_est_mask, dev_exact_mask;
    uint64_t dev_est[RUN_MAX_DEVICES], dev_exact[RUN_MAX_DEVICES];
    uint64_t bytes_at_start;
    unsigned file;
    uint64_t line;
};

/* Per-decision statistics, kept apart for trace iterations and for
 * query-migrate snapshots (the coarse timeline). */
struct dstats {
    uint64_t n;
    double min_dl_ms;
    uint64_t min_dl_iter, min_dl_pending;
    double min_dl_bw;
    double min_asb;
    uint64_t p_first, p_last, p_min, p_max;
    bool have_p;
};

struct tl {
    struct tl_options o;
    struct tl_info in;
    struct run_sample last_sample; /* newest trace sample */
    enum trc_format last_fmt;      /* shape of the previous record */
    unsigned char evflags[TRC_EV_COUNT];
    struct run_sample last_coarse; /* newest snapshot sample */

    bool t0_set;
    int64_t t0, t_last;

    struct iter it;
    uint64_t n_iter, n_est, n_exact;
    uint32_t pend_est_mask, pend_exact_mask;
    uint64_t pend_est[RUN_MAX_DEVICES], pend_exact[RUN_MAX_DEVICES];

    /* threshold / bandwidth in force */
    uint64_t threshold;
    bool thr_known;
    double bw;
    bool bw_traced;
    int64_t tb_t;
    uint64_t tb_bytes;
    bool tb_have;
    uint64_t bytes_windows; /* sum of migrate_transferred windows */
    uint64_t bytes_cum;     /* migration_transferred_bytes */
    double bw_sum_w, bw_sum_t;

    /* downtime-limit inference */
    bool dl_have;
    double dl_lo, dl_hi;
    int64_t dl_ns; /* in force */

    /* threshold bounds when not traced */
    double thr_lo, thr_hi;

    /* syncs */
    uint64_t n_sync;
    bool sync_open;
    int64_t sync_t;
    int64_t sync_time;
    bool period_have;
    int64_t period_start;
    uint64_t period_prev;
    double dirty_rate;

    /* spin */
    int64_t spin_ns;
    double throttle, throttle_max;

    struct dstats ds, cs; /* trace decisions, snapshot decisions */

    /* events */
    struct tl_evx *ev;
    size_t n_ev, cap_ev;
    uint64_t seq;
    struct deci syncs;
    struct deci samples;
    struct deci coarse;

    /* snapshots */
    bool have_snap;
    struct trc_snapshot snap_last;
    int64_t snap_t0;
    bool snap_t0_set;
    uint64_t snap_max_sync;
    uint64_t pass_max; /* MIGRATION_PASS */

    /* status */
    char status[32];
    enum mig_status st_list[TL_MAX_STATES];
    uint64_t st_pos[TL_MAX_STATES];
    unsigned st_file[TL_MAX_STATES];
    unsigned n_dev_viol;
    struct tl_violation dev_viol[TL_MAX_VIOLATIONS];
    uint64_t dev_viol_total;
    char file_names[4][64]; /* names of the first inputs, for messages */

    /* version evidence */
    unsigned v_lo, v_hi;
    bool v_exact;

    /* devices */
    int64_t dev_save_start[RUN_MAX_DEVICES];
    int64_t dev_save_ns[RUN_MAX_DEVICES];
    uint64_t dev_precopy_bytes[RUN_MAX_DEVICES];
};

static int64_t rel(struct tl *t, int64_t abs_ns)
{
    if (abs_ns == TRC_NO_TIME || !t->t0_set) {
        return NO_T;
    }
    return abs_ns - t->t0;
}

static void why(struct tl *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void why(struct tl *t, const char *fmt, ...)
{
    size_t n = strlen(t->in.qemu_why);
    if (n + 4 >= sizeof(t->in.qemu_why)) {
        return;
    }
    if (n) {
        strcat(t->in.qemu_why, "; ");
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->in.qemu_why + n, sizeof(t->in.qemu_why) - n, fmt, ap);
    va_end(ap);
}

/* Evidence that the version is in [lo, hi]. */
static void version_range(struct tl *t, unsigned lo, unsigned hi,
                          const char *what)
{
    if (t->v_exact) {
        return;
    }
    bool changed = false;
    if (lo > t->v_lo) {
        t->v_lo = lo;
        changed = true;
    }
    if (hi < t->v_hi) {
        t->v_hi = hi;
        changed = true;
    }
    if (changed) {
        why(t, "%s", what);
    }
}

const char *tl_qemu_name(unsigned v, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u", v / 100, v % 100);
    return buf;
}

static int add_event(struct tl *t, int64_t t_ns, enum run_event_kind kind,
                     uint64_t value, int64_t dur, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int add_event(struct tl *t, int64_t t_ns, enum run_event_kind kind,
                     uint64_t value, int64_t dur, const char *fmt, ...)
{
    struct tl_evx x;
    memset(&x, 0, sizeof(x));
    x.seq = t->seq++;
    x.e.t_ns = t_ns;
    x.e.kind = kind;
    x.e.value = value;
    x.e.dur_ns = dur;
    if (kind == RUN_EV_SYNC) {
        x.sync_no = t->n_sync;
        deci_push(&t->syncs, &x);
        return 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x.e.text, sizeof(x.e.text), fmt, ap);
    va_end(ap);
    if (t->n_ev >= t->o.max_events) {
        t->in.events_dropped++;
        return 0;
    }
    if (t->n_ev == t->cap_ev) {
        size_t nc = t->cap_ev ? t->cap_ev * 2 : 64;
        struct tl_evx *ne = realloc(t->ev, nc * sizeof(*ne));
        if (!ne) {
            return -1;
        }
        t->ev = ne;
        t->cap_ev = nc;
    }
    t->ev[t->n_ev++] = x;
    return 0;
}

struct tl *tl_new(const struct tl_options *o)
{
    struct tl *t = calloc(1, sizeof(*t));
    if (!t) {
        return NULL;
    }
    if (o) {
        t->o = *o;
    }
    if (!t->o.max_samples) {
        t->o.max_samples = TL_DEFAULT_SAMPLES;
    }
    for (unsigned ev = 0; ev < TRC_EV_COUNT; ev++) {
        t->evflags[ev] = (unsigned char)trc_event_flags((enum trc_ev)ev);
    }
    if (!t->o.max_events) {
        t->o.max_events = TL_DEFAULT_EVENTS;
    }
    if (deci_init(&t->samples, t->o.max_samples, sizeof(struct run_sample)) ||
        deci_init(&t->coarse, t->o.max_samples, sizeof(struct run_sample)) ||
        deci_init(&t->syncs, t->o.max_events, sizeof(struct tl_evx))) {
        tl_free(t);
        return NULL;
    }
    struct tl_info *in = &t->in;
    size_t sc = t->o.max_samples;
    in->dirty_rate.cap = sc;
    in->bandwidth.cap = sc;
    in->pending.cap = sc;
    in->nonram_exact.cap = sc;
    for (unsigned i = 0; i < RUN_MAX_DEVICES; i++) {
        in->dev_stop_copy[i].cap = sc;
        t->dev_save_start[i] = NO_T;
        t->dev_save_ns[i] = -1;
    }
    in->exact_gap_min = INFINITY;
    in->exact_gap_max = 0;
    in->exact_first_ns = NO_T;
    in->exact_last_ns = NO_T;
    in->vm_stop_ns = -1;
    in->src_downtime_ns = -1;
    in->switchover_t_ns = NO_T;
    t->ds.min_dl_ms = INFINITY;
    t->ds.min_asb = INFINITY;
    t->cs.min_dl_ms = INFINITY;
    t->cs.min_asb = INFINITY;
    t->thr_lo = 0;
    t->thr_hi = INFINITY;
    t->v_lo = 702;
    t->v_hi = 1002;
    t->dl_ns = t->o.downtime_limit_ns > 0 ? t->o.downtime_limit_ns
                                          : TL_DEFAULT_LIMIT_NS;
    if (t->o.bandwidth_bps > 0) {
        t->bw = t->o.bandwidth_bps;
        t->in.bandwidth_assumed = true;
    }
    if (t->o.qemu) {
        t->v_lo = t->v_hi = t->o.qemu;
        t->v_exact = true;
        why(t, "given");
    }
    return t;
}

void tl_info_free(struct tl_info *in)
{
    tl_series_free(&in->dirty_rate);
    tl_series_free(&in->bandwidth);
    tl_series_free(&in->pending);
    tl_series_free(&in->nonram_exact);
    for (unsigned i = 0; i < RUN_MAX_DEVICES; i++) {
        tl_series_free(&in->dev_stop_copy[i]);
    }
}

void tl_free(struct tl *t)
{
    if (!t) {
        return;
    }
    deci_free(&t->samples);
    deci_free(&t->coarse);
    deci_free(&t->syncs);
    free(t->ev);
    tl_info_free(&t->in);
    free(t);
}

void tl_note_dropped(struct tl *t, uint64_t n)
{
    t->in.dropped_events += n;
}

/* ---- helpers ---- */

static void arg_str(const struct trc_record *r, unsigned slot, char *buf,
                    size_t len)
{
    buf[0] = '\0';
    if ((r->present & (1u << slot)) && r->a[slot].s) {
        size_t n = r->a[slot].len < len - 1 ? r->a[slot].len : len - 1;
        memcpy(buf, r->a[slot].s, n);
        buf[n] = '\0';
    }
}

static uint64_t arg_u(const struct trc_record *r, unsigned slot)
{
    return (r->present & (1u << slot)) ? r->a[slot].u : 0;
}

static bool has(const struct trc_record *r, unsigned slot)
{
    return (r->present & (1u << slot)) != 0;
}

static const char *fname(const struct tl *t, unsigned file)
{
    return file < 4 ? t->file_names[file] : "input";
}

static int device_index(struct tl *t, const char *name)
{
    for (unsigned i = 0; i < t->in.n_devices; i++) {
        if (strcmp(t->in.dev[i].name, name) == 0) {
            return (int)i;
        }
    }
    if (t->in.n_devices >= RUN_MAX_DEVICES) {
        t->in.devices_overflow++;
        return -1;
    }
    struct tl_device *d = &t->in.dev[t->in.n_devices];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->state = -1;
    return (int)t->in.n_devices++;
}

static int rec_device(struct tl *t, const struct trc_record *r)
{
    if (!(r->present & 1u) || !r->a[0].s || r->a[0].len == 0) {
        return -1;
    }
    const char *s = r->a[0].s;
    size_t n = r->a[0].len;
    /* the common case: a device already seen, compared in place */
    for (unsigned i = 0; n < RUN_NAME_LEN && i < t->in.n_devices; i++) {
        const char *dn = t->in.dev[i].name;
        if (strncmp(dn, s, n) == 0 && dn[n] == '\0') {
            return (int)i;
        }
    }
    char name[RUN_NAME_LEN];
    arg_str(r, 0, name, sizeof(name));
    return device_index(t, name);
}

/* The downtime-limit in force, in ms, from the inferred interval: the
 * integer inside it closest to its middle (QEMU's limit is whole ms). */
static double limit_ms(const struct tl *t)
{
    return (double)t->dl_ns / 1e6;
}

static void infer_limit(struct tl *t, double lo, double hi, int64_t now)
{
    if (!(lo > 0) || !(hi >= lo) || hi > 2e6) {
        return;
    }
    if (t->dl_have && (lo > t->dl_hi || hi < t->dl_lo)) {
        /* a different limit: it was changed during the migration */
        t->dl_have = false;
    }
    if (!t->dl_have) {
        t->dl_lo = lo;
        t->dl_hi = hi;
        t->dl_have = true;
    } else {
        t->dl_lo = fmax(t->dl_lo, lo);
        t->dl_hi = fmin(t->dl_hi, hi);
    }
    double mid = (t->dl_lo + t->dl_hi) / 2;
    double whole = round(mid);
    double ms =
        (whole >= t->dl_lo - 1e-9 && whole <= t->dl_hi + 1e-9) ? whole : mid;
    int64_t ns = (int64_t)llround(ms * 1e6);
    if (!t->in.limit_inferred || ns != t->dl_ns) {
        if (t->in.limit_inferred) {
            add_event(t, now, RUN_EV_PARAM, (uint64_t)ns, 0,
                      "downtime-limit=%.0fms (inferred)", ms);
        }
        t->dl_ns = ns;
    }
    t->in.limit_inferred = true;
    t->in.limit_lo_ms = t->dl_lo;
    t->in.limit_hi_ms = t->dl_hi;
}

static void decision(struct dstats *d, uint64_t iter, uint64_t p, double bw,
                     double limit_s)
{
    d->n++;
    if (!d->have_p) {
        d->p_first = p;
        d->p_min = p;
        d->have_p = true;
    }
    d->p_last = p;
    if (p < d->p_min) {
        d->p_min = p;
    }
    if (p > d->p_max) {
        d->p_max = p;
    }
    if (bw > 0) {
        double dl = (double)p / bw * 1000.0;
        if (dl < d->min_dl_ms) {
            d->min_dl_ms = dl;
            d->min_dl_iter = iter;
            d->min_dl_pending = p;
            d->min_dl_bw = bw;
        }
    }
    if (limit_s > 0) {
        double asb = (double)p / limit_s;
        if (asb < d->min_asb) {
            d->min_asb = asb;
        }
    }
}

/* ---- iterations ---- */

static void close_iteration(struct tl *t, int64_t next_start, bool complete)
{
    struct iter *it = &t->it;
    if (!it->open) {
        return;
    }
    it->open = false;
    struct tl_info *in = &t->in;
    struct run_sample *s = &t->last_sample;
    memset(s, 0, sizeof(*s));
    s->t_ns = it->t_start;
    s->iteration = it->index;
    s->estimate_bytes = it->est;
    s->exact_bytes = it->exact_called ? it->exact : 0;
    s->exact_called = it->exact_called;
    s->threshold_bytes = it->threshold;
    s->bandwidth_bps = it->bw;
    uint64_t dev_est = 0;
    for (unsigned d = 0; d < RUN_MAX_DEVICES; d++) {
        if (it->dev_est_mask & (1u << d)) {
            dev_est += it->dev_est[d];
        }
    }
    uint64_t ram = it->est_pre > dev_est ? it->est_pre - dev_est : 0;
    s->ram_dirty_bytes = ram;
    s->dirty_rate_bps = tl_u64(t->dirty_rate);
    s->sent_bytes = t->bytes_windows > it->bytes_at_start
                        ? t->bytes_windows - it->bytes_at_start
                        : 0;
    s->downtime_limit_ns = (uint64_t)t->dl_ns;
    s->throttle_pct = t->throttle;
    uint64_t p = it->exact_called ? it->exact : it->est;
    if (it->bw > 0) {
        s->expected_downtime_ns = tl_u64((double)p / it->bw * 1e9);
    }
    s->n_devices = in->n_devices;
    for (unsigned d = 0; d < in->n_devices; d++) {
        if (it->dev_exact_mask & (1u << d)) {
            s->dev_reported_bytes[d] = it->dev_exact[d];
        } else if (it->dev_est_mask & (1u << d)) {
            s->dev_reported_bytes[d] = it->dev_est[d];
        }
        s->dev_stop_copy_bytes[d] = in->dev[d].stop_copy_last;
    }
    deci_push(&t->samples, s);
    in->ram_pending_last = ram;
    if (!complete && !it->switchover) {
        return; /* cut off before its decision: no statistics */
    }
    tl_series_push(&in->pending, it->t_start, (double)p);
    decision(&t->ds, it->index, p, it->bw, limit_ms(t) / 1000.0);
    if (it->exact_called) {
        double gap = it->exact > it->est ? (double)(it->exact - it->est) : 0;
        uint64_t devx = 0;
        for (unsigned d = 0; d < RUN_MAX_DEVICES; d++) {
            if (it->dev_exact_mask & (1u << d)) {
                devx += it->dev_exact[d];
            }
        }
        uint64_t nonram = it->dev_exact_mask ? devx : tl_u64(gap);
        in->nonram_exact_last = nonram;
        tl_series_push(&in->nonram_exact, it->t_exact, (double)nonram);
        if (!it->switchover) {
            in->exact_spin_iterations++;
            if (gap < in->exact_gap_min) {
                in->exact_gap_min = gap;
            }
            if (gap > in->exact_gap_max) {
                in->exact_gap_max = gap;
            }
            if (next_start != NO_T && it->t_start != NO_T) {
                t->spin_ns = tl_add_sat(t->spin_ns, next_start - it->t_start);
            }
            if (!it->thr_known) {
                /* 9.0+: exact() only when estimate < threshold; no
                 * switchover: threshold <= exact */
                t->thr_lo = fmax(t->thr_lo, (double)it->est);
                t->thr_hi = fmin(t->thr_hi, (double)it->exact);
            }
        }
    } else if (!it->switchover && !it->thr_known) {
        t->thr_hi = fmin(t->thr_hi, (double)it->est);
    }
}

static void open_iteration(struct tl *t, int64_t now, uint64_t est,
                           uint64_t pre, unsigned file, uint64_t line)
{
    close_iteration(t, now, true);
    struct iter *it = &t->it;
    memset(it, 0, sizeof(*it));
    it->open = true;
    it->index = ++t->n_iter;
    it->t_start = now;
    it->t_exact = NO_T;
    it->est = est;
    it->est_pre = pre;
    it->file = file;
    it->line = line;
    it->bytes_at_start = t->bytes_windows;
    if (!t->thr_known && t->bw > 0) {
        t->threshold = tl_u64(t->bw / 1000.0 * limit_ms(t));
    }
    it->threshold = t->threshold;
    it->thr_known = t->thr_known;
    it->bw = t->bw;
    it->dev_est_mask = t->pend_est_mask;
    memcpy(it->dev_est, t->pend_est, sizeof(it->dev_est));
    t->pend_est_mask = 0;
    t->pend_exact_mask = 0;
    t->n_est++;
}

static void switchover(struct tl *t, int64_t now, uint64_t pending)
{
    struct tl_info *in = &t->in;
    if (in->switchover) {
        return;
    }
    in->switchover = true;
    in->switchover_iteration = t->it.open ? t->it.index : t->n_iter;
    in->switchover_pending = pending;
    in->switchover_t_ns = now;
    if (t->it.open) {
        t->it.switchover = true;
    }
}

/* ---- status ---- */

static void status_change(struct tl *t, const char *state, int64_t now,
                          unsigned file, uint64_t line)
{
    if (strcmp(state, t->status) == 0) {
        return;
    }
    snprintf(t->status, sizeof(t->status), "%s", state);
    struct tl_info *in = &t->in;
    add_event(t, now, RUN_EV_STATE, 0, 0, "%s", state);
    if (in->n_states < TL_MAX_STATES) {
        struct tl_state_change *c = &in->states[in->n_states];
        c->t_ns = now;
        snprintf(c->state, sizeof(c->state), "%s", state);
        c->file = file;
        c->line = line;
        enum mig_status ms;
        t->st_list[in->n_states] =
            mig_status_from_name(state, &ms) == 0 ? ms : MIG_STATUS__COUNT;
        t->st_pos[in->n_states] = line;
        t->st_file[in->n_states] = file;
        in->n_states++;
    } else {
        in->states_overflow++;
    }
    if (strcmp(state, "postcopy-device") == 0) {
        version_range(t, 1002, 1002, "postcopy-device state (10.2+)");
    } else if (strcmp(state, "postcopy-recover-setup") == 0) {
        version_range(t, 901, 1002, "postcopy-recover-setup (9.1+)");
    } else if (strcmp(state, "device") == 0) {
        bool pre =
            in->n_states >= 2 &&
            strcmp(in->states[in->n_states - 2].state, "pre-switchover") == 0;
        if (!pre) {
            version_range(t, 1000, 1002,
                          "state device without pre-switchover (10.0+)");
        }
    }
    if (strcmp(state, "device") == 0 || strcmp(state, "postcopy-active") == 0 ||
        strcmp(state, "postcopy-device") == 0) {
        uint64_t p =
            t->it.open ? (t->it.exact_called ? t->it.exact : t->it.est) : 0;
        switchover(t, now, p);
        if (strncmp(state, "postcopy", 8) == 0) {
            in->postcopy = true;
        }
    } else if (strcmp(state, "completed") == 0) {
        in->completed = true;
        if (!in->switchover) {
            switchover(t, now, 0);
        }
    } else if (strcmp(state, "failed") == 0) {
        in->failed = true;
    } else if (strcmp(state, "cancelled") == 0 ||
               strcmp(state, "cancelling") == 0) {
        in->cancelled = true;
    }
}

/* ---- VFIO device states ---- */

static void dev_violation(struct tl *t, unsigned file, uint64_t line,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void dev_violation(struct tl *t, unsigned file, uint64_t line,
                          const char *fmt, ...)
{
    t->dev_viol_total++;
    if (t->n_dev_viol >= TL_MAX_VIOLATIONS) {
        return;
    }
    char body[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    snprintf(t->dev_viol[t->n_dev_viol++].msg, sizeof(t->dev_viol[0].msg),
             "%s:%llu: %s", fname(t, file), (unsigned long long)line, body);
}

static void dev_state(struct tl *t, int d, const char *state,
                      const char *recover, int64_t now,
                      const struct trc_record *r)
{
    struct tl_device *dv = &t->in.dev[d];
    enum vfio_fsm_state ns, rs;
    if (state[0] >= '0' && state[0] <= '9') {
        /* 7.2 protocol v1: a bit mask, not the v2 FSM */
        return;
    }
    if (vfio_fsm_state_from_name(state, &ns) != 0) {
        dev_violation(t, r->file, r->line, "VFIO %s: unknown device state '%s'",
                      dv->name, state);
        return;
    }
    if (ns == VFIO_FSM_PRE_COPY || ns == VFIO_FSM_PRE_COPY_P2P) {
        dv->precopy = true;
    }
    if (dv->state < 0 && recover && recover[0] &&
        vfio_fsm_state_from_name(recover, &rs) == 0) {
        dv->state = (int)rs;
    }
    if (dv->state >= 0 && (int)ns != dv->state) {
        unsigned diag = 0;
        enum vfio_fsm_state cur = (enum vfio_fsm_state)dv->state;
        if (vfio_fsm_validate_request(cur, ns, ALL_VFIO_FLAGS, &diag) != 0) {
            dev_violation(t, r->file, r->line, "VFIO %s: %s -> %s: %s",
                          dv->name, vfio_fsm_state_name(cur),
                          vfio_fsm_state_name(ns), vfio_fsm_diag_str(diag));
        }
        add_event(t, now, RUN_EV_DEVICE, (uint64_t)ns, 0, "%s: %s->%s",
                  dv->name, vfio_fsm_state_name(cur), vfio_fsm_state_name(ns));
        dv->transitions++;
    } else if (dv->state < 0) {
        add_event(t, now, RUN_EV_DEVICE, (uint64_t)ns, 0, "%s: ->%s", dv->name,
                  vfio_fsm_state_name(ns));
    }
    dv->state = (int)ns;
}

/* ---- per-event handling ---- */

static void on_transferred(struct tl *t, const struct trc_record *r,
                           int64_t now)
{
    uint64_t tr = arg_u(r, 0), ts = arg_u(r, 1), bwms = arg_u(r, 2);
    uint64_t sbw = arg_u(r, 3), maxsz = arg_u(r, 4);
    struct tl_info *in = &t->in;
    if (has(r, 3)) {
        version_range(t, 802, 1002,
                      "migrate_transferred with switchover_bw "
                      "(8.2+)");
    } else {
        version_range(t, 702, 801,
                      "migrate_transferred without switchover_bw "
                      "(<= 8.1)");
    }
    if ((int64_t)maxsz < 0) {
        maxsz = 0;
    }
    double bw = ts ? (double)tr * 1000.0 / (double)ts : (double)bwms * 1000.0;
    t->bw = bw;
    t->bw_traced = true;
    in->bandwidth_traced = true;
    in->bandwidth_assumed = false;
    t->threshold = maxsz;
    t->thr_known = true;
    in->threshold_traced = true;
    t->bytes_windows += tr;
    t->bw_sum_w += bw * (double)(ts ? ts : 100);
    t->bw_sum_t += (double)(ts ? ts : 100);
    if (bw > in->bw_peak_bps) {
        in->bw_peak_bps = bw;
    }
    in->bw_last_bps = bw;
    tl_series_push(&in->bandwidth, now, bw);
    if (sbw) {
        in->avail_switchover_bps = sbw * 1000;
        infer_limit(t, (double)maxsz / ((double)sbw + 1),
                    (double)(maxsz + 1) / (double)sbw, now);
    } else if (tr && ts) {
        double bpm = (double)tr / (double)ts;
        infer_limit(t, (double)maxsz / bpm, (double)(maxsz + 1) / bpm, now);
    }
}

static void on_transferred_bytes(struct tl *t, const struct trc_record *r,
                                 int64_t now)
{
    uint64_t b = arg_u(r, 0) + arg_u(r, 1) + arg_u(r, 2);
    version_range(t, 801, 1002, "migration_transferred_bytes (8.1+)");
    if (b > t->bytes_cum) {
        t->bytes_cum = b;
    }
    if (now == NO_T) {
        return;
    }
    if (!t->tb_have) {
        t->tb_have = true;
        t->tb_t = now;
        t->tb_bytes = b;
        return;
    }
    if (now - t->tb_t >= 100 * MS && b >= t->tb_bytes) {
        double bw = (double)(b - t->tb_bytes) * 1e9 / (double)(now - t->tb_t);
        t->tb_t = now;
        t->tb_bytes = b;
        if (!t->bw_traced) {
            t->bw = bw;
            t->in.bandwidth_derived = true;
            t->in.bandwidth_assumed = false;
            t->bw_sum_w += bw;
            t->bw_sum_t += 1;
            if (bw > t->in.bw_peak_bps) {
                t->in.bw_peak_bps = bw;
            }
            t->in.bw_last_bps = bw;
            tl_series_push(&t->in.bandwidth, now, bw);
        }
    }
}

static void on_sync_end(struct tl *t, const struct trc_record *r, int64_t now)
{
    uint64_t cum = arg_u(r, 0);
    struct tl_info *in = &t->in;
    int64_t start = t->sync_open ? t->sync_t : now;
    t->n_sync++;
    int64_t dur = 0;
    if (t->sync_open && now != NO_T && t->sync_t != NO_T && now >= t->sync_t) {
        dur = now - t->sync_t;
        t->sync_time = tl_add_sat(t->sync_time, dur);
    }
    t->sync_open = false;
    if (!t->period_have) {
        t->period_have = true;
        t->period_start = start;
        t->period_prev = 0;
    }
    bool reset_seen = cum < t->period_prev;
    uint64_t found = reset_seen ? cum : cum - t->period_prev;
    t->period_prev = cum;
    if (reset_seen && now != NO_T) {
        t->period_start = start;
    }
    add_event(t, now, RUN_EV_SYNC, found, dur, "%s", "");
    if (now != NO_T && t->period_start != NO_T &&
        now - t->period_start > 1000 * MS) {
        double rate = (double)cum * (double)in->page_bytes * 1e9 /
                      (double)(now - t->period_start);
        t->dirty_rate = rate;
        tl_series_push(&in->dirty_rate, now, rate);
        if (rate > in->dirty_rate_max_bps) {
            in->dirty_rate_max_bps = rate;
        }
        in->dirty_rate_last_bps = rate;
        t->period_start = now;
        t->period_prev = 0;
    }
}

static void on_vfio_pending(struct tl *t, const struct trc_record *r,
                            int64_t now, bool exact, bool fork)
{
    int d = rec_device(t, r);
    if (d < 0) {
        return;
    }
    struct tl_device *dv = &t->in.dev[d];
    bool hex = r->hex;
    if (r->args) {
        if (hex) {
            dv->hex_sizes = true;
            version_range(t, 801, 901, "VFIO sizes in hex (< 9.2)");
        } else if (!fork) {
            version_range(t, 902, 1002, "VFIO sizes in decimal (9.2+)");
        }
    }
    uint64_t init = arg_u(r, 4), dirty = arg_u(r, 5);
    if (has(r, 4)) {
        dv->precopy_init_last = init;
        dv->precopy_dirty_last = dirty;
        if (init || dirty) {
            dv->precopy = true;
        }
    }
    uint64_t contrib;
    if (fork) {
        uint64_t sc = arg_u(r, 3);
        contrib = sc > init + dirty ? sc : init + dirty;
        exact = arg_u(r, 7) != 0;
        version_range(t, 1002, 1002, "vfio_state_pending (post-10.2 fork)");
    } else if (exact) {
        uint64_t sc = arg_u(r, 3);
        /* 8.1-9.1 add the pre-copy sizes to the stop-copy size */
        contrib = sc + (hex && has(r, 4) ? init + dirty : 0);
        if (!has(r, 4)) {
            version_range(t, 800, 800,
                          "vfio_state_pending_exact without "
                          "pre-copy sizes (8.0)");
        }
    } else {
        contrib = init + dirty;
        version_range(t, 801, 1002, "vfio_state_pending_estimate (8.1+)");
    }
    if (exact || fork) {
        uint64_t sc = arg_u(r, 3);
        dv->stop_copy_last = sc;
        if (sc > dv->stop_copy_max) {
            dv->stop_copy_max = sc;
        }
        tl_series_push(&t->in.dev_stop_copy[d], now, (double)sc);
    }
    if (exact) {
        t->pend_exact[d] = contrib;
        t->pend_exact_mask |= 1u << d;
    } else {
        t->pend_est[d] = contrib;
        t->pend_est_mask |= 1u << d;
        dv->estimate_last = contrib;
    }
}

static void item_add(struct tl *t, const struct trc_record *r, bool load)
{
    char idstr[64], type[24];
    arg_str(r, 1, idstr, sizeof(idstr));
    arg_str(r, 0, type, sizeof(type));
    int64_t us = (int64_t)arg_u(r, 3);
    if (us < 0 || us > 1000000000000LL) {
        return; /* not a plausible duration */
    }
    int64_t ns = us * 1000;
    struct tl_info *in = &t->in;
    struct tl_item *it = NULL;
    for (unsigned i = 0; i < in->n_items; i++) {
        if (strcmp(in->items[i].idstr, idstr) == 0) {
            it = &in->items[i];
        }
    }
    if (!it) {
        if (in->n_items >= TL_MAX_ITEMS) {
            return;
        }
        it = &in->items[in->n_items++];
        snprintf(it->idstr, sizeof(it->idstr), "%s", idstr);
        it->save_iterable_ns = it->save_non_iterable_ns = -1;
        it->load_iterable_ns = it->load_non_iterable_ns = -1;
        size_t n = strlen(idstr);
        it->vfio = n > 5 && strcmp(idstr + n - 5, "/vfio") == 0;
        if (it->vfio) {
            char dev[64];
            snprintf(dev, sizeof(dev), "%.*s", (int)(n - 5), idstr);
            device_index(t, dev);
        }
    }
    bool iter = strcmp(type, "iterable") == 0;
    int64_t *f =
        load ? (iter ? &it->load_iterable_ns : &it->load_non_iterable_ns)
             : (iter ? &it->save_iterable_ns : &it->save_non_iterable_ns);
    *f = tl_add_sat(*f < 0 ? 0 : *f, ns);
}

/* migrate_pending_exact: closes the estimate -> exact step of the open
 * iteration (opens one when no estimate was traced). */
static void on_pending_exact(struct tl *t, const struct trc_record *r,
                             int64_t now)
{
    struct tl_info *in = &t->in;
    if (!t->it.open) {
        open_iteration(t, now, 0, 0, r->file, r->line);
        t->n_est--; /* no estimate was traced */
    }
    t->it.exact_called = true;
    t->it.exact = arg_u(r, 0);
    t->it.exact_pre = arg_u(r, 1);
    t->it.t_exact = now;
    t->it.dev_exact_mask = t->pend_exact_mask;
    memcpy(t->it.dev_exact, t->pend_exact, sizeof(t->it.dev_exact));
    t->pend_exact_mask = 0;
    t->n_exact++;
    if (now != NO_T) {
        if (in->exact_first_ns == NO_T) {
            in->exact_first_ns = now;
        }
        in->exact_last_ns = now;
        if (t->it.t_start != NO_T && now >= t->it.t_start) {
            in->exact_time_ns =
                tl_add_sat(in->exact_time_ns, now - t->it.t_start);
        }
    }
}

/* Pending data, bandwidth, syncs and states: the migration core; false if r is
 * not one of them. */
static bool on_core_event(struct tl *t, const struct trc_record *r, int64_t now)
{
    struct tl_info *in = &t->in;
    char buf[64];
    switch (r->ev) {
    case TRC_EV_PENDING:
        version_range(t, 702, 702, "migrate_pending (7.2)");
        open_iteration(t, now, arg_u(r, 0), arg_u(r, 1), r->file, r->line);
        /* 7.2 prints the threshold itself */
        t->threshold = arg_u(r, 3);
        t->thr_known = true;
        in->threshold_traced = true;
        t->it.threshold = t->threshold;
        t->it.thr_known = true;
        break;
    case TRC_EV_PENDING_ESTIMATE:
        version_range(t, 800, 1002, "migrate_pending_estimate (8.0+)");
        open_iteration(t, now, arg_u(r, 0), arg_u(r, 1), r->file, r->line);
        break;
    case TRC_EV_PENDING_EXACT:
        on_pending_exact(t, r, now);
        break;
    case TRC_EV_TRANSFERRED:
        on_transferred(t, r, now);
        break;
    case TRC_EV_TRANSFERRED_BYTES:
        on_transferred_bytes(t, r, now);
        break;
    case TRC_EV_SYNC_START:
        t->sync_open = true;
        t->sync_t = now;
        break;
    case TRC_EV_SYNC_END:
        on_sync_end(t, r, now);
        break;
    case TRC_EV_LOW_PENDING:
        switchover(t, now, arg_u(r, 0));
        break;
    case TRC_EV_SET_STATE:
        arg_str(r, 0, buf, sizeof(buf));
        status_change(t, buf, now, r->file, r->line);
        break;
    default:
        return false;
    }
    return true;
}

/* Throttling, limits, savevm passes and the downtime breakdown; false if r is
 * not one of them. */
static bool on_note_event(struct tl *t, const struct trc_record *r, int64_t now)
{
    struct tl_info *in = &t->in;
    switch (r->ev) {
    case TRC_EV_COMPLETION_VM_STOP:
        add_event(t, now, RUN_EV_NOTE, 0, 0, "VM stopped for switchover");
        break;
    case TRC_EV_POSTCOPY_START:
        in->postcopy = true;
        add_event(t, now, RUN_EV_NOTE, 0, 0, "postcopy start");
        break;
    case TRC_EV_SWITCHOVER_ACKED:
        add_event(t, now, RUN_EV_NOTE, 0, 0, "switchover acked");
        break;
    case TRC_EV_THROTTLE:
        add_event(t, now, RUN_EV_NOTE, 0, 0, "auto-converge throttle");
        break;
    case TRC_EV_CPU_THROTTLE_SET:
        t->throttle = (double)arg_u(r, 0);
        if (t->throttle > t->throttle_max) {
            t->throttle_max = t->throttle;
        }
        add_event(t, now, RUN_EV_THROTTLE, arg_u(r, 0), 0, "throttle %llu%%",
                  (unsigned long long)arg_u(r, 0));
        break;
    case TRC_EV_CPU_THROTTLE_DIRTY_SYNC:
        version_range(t, 902, 1002, "cpu_throttle_dirty_sync (9.2+)");
        break;
    case TRC_EV_DIRTY_LIMIT_GUEST:
        add_event(t, now, RUN_EV_PARAM, arg_u(r, 0), 0, "dirty-limit=%lluMB/s",
                  (unsigned long long)arg_u(r, 0));
        break;
    case TRC_EV_DIRTYLIMIT_SET_VCPU:
        add_event(t, now, RUN_EV_PARAM, arg_u(r, 1), 0,
                  "vcpu %lld dirty-limit=%llu", (long long)(int64_t)arg_u(r, 0),
                  (unsigned long long)arg_u(r, 1));
        break;
    case TRC_EV_RATE_LIMIT_PRE:
        in->rate_limit_sleeps++;
        if ((int64_t)arg_u(r, 0) > 0) {
            in->rate_limit_sleep_ns =
                tl_add_sat(in->rate_limit_sleep_ns,
                           (int64_t)(arg_u(r, 0) & 0x7fffffff) * MS);
        }
        break;
    case TRC_EV_SAVEVM_STATE_ITERATE:
        in->iterate_passes++;
        if (t->it.open) {
            t->it.iterated = true;
        }
        break;
    case TRC_EV_RAM_SAVE_COMPLETE:
        version_range(t, 1001, 1002, "ram_save_complete trace (10.1+)");
        break;
    case TRC_EV_DOWNTIME_SAVE:
        version_range(t, 802, 1002, "vmstate_downtime_* (8.2+)");
        item_add(t, r, false);
        break;
    case TRC_EV_DOWNTIME_LOAD:
        item_add(t, r, true);
        break;
    case TRC_EV_DOWNTIME_CHECKPOINT:
        if (in->n_checkpoints < TL_MAX_CHECKPOINTS) {
            struct tl_checkpoint *c = &in->checkpoints[in->n_checkpoints++];
            arg_str(r, 0, c->name, sizeof(c->name));
            c->t_ns = r->t_ns;
            c->dest = strncmp(c->name, "dst-", 4) == 0;
        }
        break;
    case TRC_EV_INCOMING_END:
        if (r->name_len == 30) {
            version_range(t, 1000, 1002,
                          "process_incoming_migration_end "
                          "(10.x)");
        }
        break;
    default:
        return false;
    }
    return true;
}

/* VFIO devices' pending and stop-copy sizes and precopy data; false if r is not
 * one of them. */
static bool on_vfio_size_event(struct tl *t, const struct trc_record *r,
                               int64_t now)
{
    struct tl_info *in = &t->in;
    int d;
    switch (r->ev) {
    case TRC_EV_VFIO_PENDING_ESTIMATE:
        on_vfio_pending(t, r, now, false, false);
        break;
    case TRC_EV_VFIO_PENDING_EXACT:
        on_vfio_pending(t, r, now, true, false);
        break;
    case TRC_EV_VFIO_PENDING:
        on_vfio_pending(t, r, now, false, true);
        break;
    case TRC_EV_VFIO_QUERY_STOP_COPY:
        d = rec_device(t, r);
        if (d >= 0 && (int64_t)arg_u(r, 1) >= 0) {
            in->dev[d].stop_copy_last = arg_u(r, 3);
            if (arg_u(r, 3) > in->dev[d].stop_copy_max) {
                in->dev[d].stop_copy_max = arg_u(r, 3);
            }
            tl_series_push(&in->dev_stop_copy[d], now, (double)arg_u(r, 3));
        }
        break;
    case TRC_EV_VFIO_SAVE_PENDING:
        version_range(t, 702, 702, "vfio_save_pending (VFIO v1, 7.2)");
        break;
    case TRC_EV_VFIO_UPDATE_PENDING:
        d = rec_device(t, r);
        if (d >= 0) {
            t->pend_est[d] = arg_u(r, 2);
            t->pend_est_mask |= 1u << d;
            in->dev[d].estimate_last = arg_u(r, 2);
        }
        break;
    case TRC_EV_VFIO_SAVE_ITERATE:
        d = rec_device(t, r);
        if (d >= 0 && has(r, 4)) {
            in->dev[d].precopy_init_last = arg_u(r, 4);
            in->dev[d].precopy_dirty_last = arg_u(r, 5);
            in->dev[d].precopy = true;
        } else if (d >= 0 && has(r, 1) && (int64_t)arg_u(r, 1) > 0) {
            t->dev_precopy_bytes[d] += arg_u(r, 1);
        }
        break;
    case TRC_EV_VFIO_SAVE_BLOCK:
        d = rec_device(t, r);
        if (d >= 0 && (int64_t)arg_u(r, 1) > 0) {
            if (in->switchover) {
                in->dev[d].saved_bytes += arg_u(r, 1);
            } else {
                t->dev_precopy_bytes[d] += arg_u(r, 1);
            }
        }
        break;
    default:
        return false;
    }
    return true;
}

/* VFIO device states and save times; false if r is not one of them. */
static bool on_vfio_state_event(struct tl *t, const struct trc_record *r,
                                int64_t now)
{
    char buf[64];
    int d;
    switch (r->ev) {
    case TRC_EV_VFIO_SAVE_COMPLETE_START:
        version_range(t, 1000, 1002,
                      "vfio_save_complete_precopy_start "
                      "(10.0+)");
        d = rec_device(t, r);
        if (d >= 0) {
            t->dev_save_start[d] = now;
        }
        break;
    case TRC_EV_VFIO_SAVE_COMPLETE:
        d = rec_device(t, r);
        if (d >= 0 && now != NO_T && t->dev_save_start[d] != NO_T) {
            t->dev_save_ns[d] = now - t->dev_save_start[d];
        }
        break;
    case TRC_EV_VFIO_SAVE_ITERATE_START:
        version_range(t, 1000, 1002, "vfio_save_iterate_start (10.0+)");
        break;
    case TRC_EV_VFIO_VMSTATE_CHANGE_PREPARE:
        version_range(t, 802, 1002, "vfio_vmstate_change_prepare (8.2+)");
        /* fall through */
    case TRC_EV_VFIO_VMSTATE_CHANGE:
        d = rec_device(t, r);
        if (d >= 0) {
            arg_str(r, 3, buf, sizeof(buf));
            dev_state(t, d, buf, NULL, now, r);
        }
        break;
    case TRC_EV_VFIO_SET_STATE:
    case TRC_EV_VFIO_SET_DEVICE_STATE:
        d = rec_device(t, r);
        if (d >= 0) {
            char rec_s[32];
            arg_str(r, 1, buf, sizeof(buf));
            arg_str(r, 2, rec_s, sizeof(rec_s));
            if (buf[0] >= '0' && buf[0] <= '9') {
                version_range(t, 702, 702, "numeric VFIO states (v1, 7.2)");
            }
            dev_state(t, d, buf, r->ev == TRC_EV_VFIO_SET_STATE ? rec_s : NULL,
                      now, r);
        }
        break;
    case TRC_EV_VFIO_SAVE_SETUP:
        rec_device(t, r);
        break;
    default:
        return false;
    }
    return true;
}

static void on_event(struct tl *t, const struct trc_record *r, int64_t now)
{
    if (!on_core_event(t, r, now) && !on_note_event(t, r, now) &&
        !on_vfio_size_event(t, r, now)) {
        on_vfio_state_event(t, r, now);
    }
}

static void on_snapshot(struct tl *t, const struct trc_record *r)
{
    const struct trc_snapshot *s = r->snap;
    struct tl_info *in = &t->in;
    in->n_snapshots++;
    t->have_snap = true;
    t->snap_last = *s;
    if ((s->have & TRC_SNAP_PAGE_SIZE) && s->page_bytes && !t->o.page_bytes) {
        in->page_bytes = s->page_bytes;
    }
    if (s->have & TRC_SNAP_TOTAL) {
        in->ram_total_bytes = s->total_bytes;
    }
    if ((s->have & TRC_SNAP_SYNC_COUNT) &&
        s->dirty_sync_count > t->snap_max_sync) {
        t->snap_max_sync = s->dirty_sync_count;
    }
    /* time axis: the record's timestamp, else total-time */
    int64_t now = NO_T;
    if (r->t_ns != TRC_NO_TIME) {
        if (!t->snap_t0_set) {
            t->snap_t0 =
                r->t_ns -
                ((s->have & TRC_SNAP_TOTAL_TIME) ? s->total_time_ms * MS : 0);
            t->snap_t0_set = true;
        }
        now = r->t_ns - t->snap_t0;
    } else if (s->have & TRC_SNAP_TOTAL_TIME) {
        now = s->total_time_ms * MS;
    }
    if (s->have & TRC_SNAP_STATUS) {
        status_change(t, s->status, t->t0_set ? rel(t, r->t_ns) : now, r->file,
                      r->line);
    }
    struct run_sample *smp = &t->last_coarse;
    memset(smp, 0, sizeof(*smp));
    smp->t_ns = now;
    smp->iteration = s->dirty_sync_count;
    smp->estimate_bytes = s->remaining_bytes;
    smp->ram_dirty_bytes = s->remaining_bytes;
    double bw = (s->have & TRC_SNAP_MBPS) ? s->mbps * 1e6 / 8.0 : 0;
    if (bw <= 0 && t->o.bandwidth_bps > 0) {
        bw = t->o.bandwidth_bps;
    }
    smp->bandwidth_bps = bw;
    smp->threshold_bytes = tl_u64(bw * (double)t->dl_ns / 1e9);
    smp->downtime_limit_ns = (uint64_t)t->dl_ns;
    uint64_t page = in->page_bytes ? in->page_bytes : 4096;
    smp->dirty_rate_bps = s->dirty_pages_rate * page;
    smp->sent_bytes = s->transferred_bytes;
    smp->throttle_pct = s->throttle_pct;
    if (s->have & TRC_SNAP_EXPECTED_DOWNTIME) {
        smp->expected_downtime_ns = (uint64_t)s->expected_downtime_ms * MS;
    }
    deci_push(&t->coarse, smp);
    bool active =
        !(s->have & TRC_SNAP_STATUS) || strcmp(s->status, "active") == 0;
    if (active && (s->have & TRC_SNAP_REMAINING)) {
        decision(&t->cs, s->dirty_sync_count, s->remaining_bytes, bw,
                 (double)t->dl_ns / 1e9);
        if (s->have & TRC_SNAP_DIRTY_RATE) {
            double rate = (double)s->dirty_pages_rate * (double)page;
            tl_series_push(&in->dirty_rate, now, rate);
            if (rate > in->dirty_rate_max_bps) {
                in->dirty_rate_max_bps = rate;
            }
            in->dirty_rate_last_bps = rate;
        }
    }
    if (bw > 0 && (s->have & TRC_SNAP_MBPS)) {
        tl_series_push(&in->bandwidth, now, bw);
    }
}

int tl_feed(struct tl *t, const struct trc_record *r, const char *file_name)
{
    struct trc_record tmp;
    if (r->t_ns != TRC_NO_TIME && (r->t_ns < 0 || r->t_ns > TL_MAX_ABS_NS)) {
        tmp = *r;
        tmp.t_ns = TRC_NO_TIME;
        r = &tmp;
    }
    if (r->file < 4 && !t->file_names[r->file][0] && file_name) {
        snprintf(t->file_names[r->file], sizeof(t->file_names[0]), "%s",
                 file_name);
    }
    struct tl_info *in = &t->in;
    if (!in->page_bytes) {
        in->page_bytes = t->o.page_bytes ? t->o.page_bytes : 4096;
    }
    if (r->kind == TRC_REC_QMP_GREETING) {
        unsigned maj = (unsigned)r->a[0].u, min = (unsigned)r->a[1].u;
        unsigned mic = (unsigned)r->a[2].u;
        if (maj < 100 && min < 100 && !t->o.qemu) {
            unsigned v = maj * 100 + min;
            if (mic >= 50) { /* development tree of the next release */
                v = min >= 2 ? (maj + 1) * 100 : v + 1;
            }
            t->v_lo = t->v_hi = v;
            t->v_exact = true;
            in->qemu_why[0] = '\0';
            why(t, "QMP greeting %u.%u.%u", maj, min, mic);
        }
        return 0;
    }
    if (r->kind == TRC_REC_SNAPSHOT) {
        on_snapshot(t, r);
        return 0;
    }
    if (r->format == t->last_fmt) {
        /* version evidence of the line shape: once per shape change */
    } else if ((t->last_fmt = r->format) == TRC_FMT_LOG_ISO) {
        version_range(t, 1001, 1002, "ISO-8601 log prefix (10.1+)");
    } else if (r->format == TRC_FMT_LOG_TID) {
        version_range(t, 702, 1000, "TID@SEC.USEC log prefix (<= 10.0)");
    }
    bool dest = r->kind == TRC_REC_EVENT && (t->evflags[r->ev] & TRC_EVF_DEST);
    if (dest) {
        in->dest_records++;
    }
    if (!dest && r->t_ns != TRC_NO_TIME) {
        if (!t->t0_set) {
            t->t0 = r->t_ns;
            t->t0_set = true;
            in->has_time = true;
            in->t0_ns = r->t_ns;
        }
        if (r->t_ns > t->t_last) {
            t->t_last = r->t_ns;
        }
    }
    int64_t now = dest ? NO_T : rel(t, r->t_ns);
    if (r->kind == TRC_REC_QMP_EVENT) {
        if (r->name_len == 9 && memcmp(r->name, "MIGRATION", 9) == 0 &&
            (r->present & 1) && r->a[0].s) {
            char st[32];
            arg_str(r, 0, st, sizeof(st));
            status_change(t, st, now, r->file, r->line);
        } else if (r->name_len == 14 &&
                   memcmp(r->name, "MIGRATION_PASS", 14) == 0) {
            if (r->a[0].u > t->pass_max) {
                t->pass_max = r->a[0].u;
            }
        } else {
            add_event(t, now, RUN_EV_NOTE, 0, 0, "QMP %.*s", (int)r->name_len,
                      r->name);
        }
        return 0;
    }
    if (r->kind == TRC_REC_EVENT && r->ev >= TRC_EV_SET_STATE) {
        on_event(t, r, now);
    }
    return 0;
}

/* ---- finish ---- */

static int cmp_seq(const void *a, const void *b)
{
    const struct tl_evx *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void check_states(struct tl *t)
{
    struct tl_info *in = &t->in;
    unsigned v = (t->v_lo == t->v_hi) ? t->v_lo : 0;
    struct mig_status_checker *c = mig_status_checker_new(v);
    if (!c) {
        return;
    }
    in->n_violations = 0;
    in->violations_total = 0;
    for (unsigned i = 0; i < in->n_states; i++) {
        mig_status_checker_set_position(c, MIG_POS_LINE,
                                        fname(t, t->st_file[i]));
        if (i == 0) {
            mig_status_checker_resync(c);
        }
        if (t->st_list[i] == MIG_STATUS__COUNT) {
            mig_status_checker_feed_name(c, in->states[i].state, t->st_pos[i]);
        } else {
            mig_status_checker_feed(c, t->st_list[i], t->st_pos[i]);
        }
    }
    size_t n = mig_status_checker_count(c);
    in->violations_total = n + t->dev_viol_total;
    for (size_t i = 0; i < n && in->n_violations < TL_MAX_VIOLATIONS; i++) {
        const struct mig_status_violation *vi =
            mig_status_checker_violation(c, i);
        if (vi) {
            snprintf(in->violations[in->n_violations++].msg,
                     sizeof(in->violations[0].msg), "%s", vi->msg);
        }
    }
    for (unsigned i = 0;
         i < t->n_dev_viol && in->n_violations < TL_MAX_VIOLATIONS; i++) {
        in->violations[in->n_violations++] = t->dev_viol[i];
    }
    mig_status_checker_free(c);
}

static int64_t checkpoint(const struct tl_info *in, const char *name)
{
    for (unsigned i = 0; i < in->n_checkpoints; i++) {
        if (strcmp(in->checkpoints[i].name, name) == 0) {
            return in->checkpoints[i].t_ns;
        }
    }
    return TRC_NO_TIME;
}

static void sum_items(struct tl_info *in)
{
    int64_t *tot[4] = {&in->save_iterable_ns, &in->save_non_iterable_ns,
                       &in->load_iterable_ns, &in->load_non_iterable_ns};
    for (unsigned k = 0; k < 4; k++) {
        *tot[k] = -1;
    }
    in->vfio_save_ns = -1;
    in->vfio_load_ns = -1;
    for (unsigned i = 0; i < in->n_items; i++) {
        const struct tl_item *it = &in->items[i];
        const int64_t v[4] = {it->save_iterable_ns, it->save_non_iterable_ns,
                              it->load_iterable_ns, it->load_non_iterable_ns};
        for (unsigned k = 0; k < 4; k++) {
            if (v[k] >= 0) {
                *tot[k] = (*tot[k] < 0 ? 0 : *tot[k]) + v[k];
                int64_t *vf = k < 2 ? &in->vfio_save_ns : &in->vfio_load_ns;
                if (it->vfio) {
                    *vf = (*vf < 0 ? 0 : *vf) + v[k];
                }
            }
        }
    }
}

/* The kept samples (decimated) and the last one. */
static int finish_samples(struct tl *t, struct run_result *out)
{
    const struct tl_info *in = &t->in;
    const struct deci *sd = in->coarse ? &t->coarse : &t->samples;
    for (size_t i = 0; i < sd->n; i++) {
        if (run_result_add_sample(
                out, (struct run_sample *)(sd->v + i * sd->elem))) {
            return -1;
        }
    }
    if (sd->have_last && !sd->last_kept &&
        run_result_add_sample(out,
                              in->coarse ? &t->last_coarse : &t->last_sample)) {
        return -1;
    }
    return 0;
}

static int finish_events(struct tl *t, struct run_result *out)
{
    /* events: capped list + decimated syncs, merged in input order */
    size_t ne = t->n_ev + t->syncs.n;
    struct tl_evx *all = malloc((ne ? ne : 1) * sizeof(*all));
    if (!all) {
        return -1;
    }
    if (t->n_ev) {
        memcpy(all, t->ev, t->n_ev * sizeof(*all));
    }
    if (t->syncs.n) {
        memcpy(all + t->n_ev, t->syncs.v, t->syncs.n * sizeof(*all));
    }
    qsort(all, ne, sizeof(*all), cmp_seq);
    for (size_t i = 0; i < ne; i++) {
        struct run_event *e = &all[i].e;
        if (e->kind == RUN_EV_SYNC) {
            snprintf(e->text, sizeof(e->text), "sync %llu: %llu pages",
                     (unsigned long long)all[i].sync_no,
                     (unsigned long long)e->value);
        }
        if (run_result_add_event(out, e->t_ns, e->kind, e->value, e->dur_ns,
                                 "%s", e->text)) {
            free(all);
            return -1;
        }
    }
    free(all);
    return 0;
}

/* The QEMU version range, the model to simulate, the state checks. */
static void finish_version(struct tl *t)
{
    struct tl_info *in = &t->in;
    /* version */
    if (t->v_lo > t->v_hi) {
        why(t, "conflicting evidence");
        t->v_lo = t->v_hi;
    }
    in->qemu_lo = t->v_lo;
    in->qemu_hi = t->v_hi;
    unsigned model = 901;
    if (model < t->v_lo) {
        model = t->v_lo;
    }
    if (model > t->v_hi) {
        model = t->v_hi;
    }
    in->qemu_model = model;
    check_states(t);
}

/* Total, downtime and setup times and the limit. */
static void finish_times(struct tl *t, struct run_metrics *m)
{
    struct tl_info *in = &t->in;
    /* downtime limit */
    in->limit_assumed = !in->limit_inferred;

    /* times */
    in->span_ns = t->t0_set ? t->t_last - t->t0 : 0;
    if (t->t0_set) {
        m->total_ns = in->span_ns;
    }
    if (t->have_snap && (t->snap_last.have & TRC_SNAP_TOTAL_TIME) &&
        t->snap_last.total_time_ms * MS > m->total_ns) {
        m->total_ns = t->snap_last.total_time_ms * MS;
    }
    int64_t a = checkpoint(in, "src-downtime-start");
    int64_t b = checkpoint(in, "src-vm-stopped");
    int64_t e = checkpoint(in, "src-downtime-end");
    if (a != TRC_NO_TIME && b != TRC_NO_TIME && b >= a) {
        in->vm_stop_ns = b - a;
    }
    if (a != TRC_NO_TIME && e != TRC_NO_TIME && e >= a) {
        in->src_downtime_ns = e - a;
    } else if (t->have_snap && (t->snap_last.have & TRC_SNAP_DOWNTIME)) {
        in->src_downtime_ns = t->snap_last.downtime_ms * MS;
    }
    sum_items(in);
    m->src_downtime_ns = in->src_downtime_ns > 0 ? in->src_downtime_ns : 0;
    m->downtime_ns = m->src_downtime_ns;
    if (t->have_snap && (t->snap_last.have & TRC_SNAP_SETUP_TIME)) {
        m->setup_ns = t->snap_last.setup_time_ms * MS;
    } else {
        int64_t ts = NO_T, ta = NO_T;
        for (unsigned i = 0; i < in->n_states; i++) {
            if (strcmp(in->states[i].state, "setup") == 0 && ts == NO_T) {
                ts = in->states[i].t_ns;
            }
            if (strcmp(in->states[i].state, "active") == 0 && ta == NO_T) {
                ta = in->states[i].t_ns;
            }
        }
        if (ts != NO_T && ta != NO_T && ta >= ts) {
            m->setup_ns = ta - ts;
        }
    }
    m->downtime_limit_ns = t->dl_ns;
    m->downtime_violation = m->downtime_ns > m->downtime_limit_ns;
}

/* Iterations, calls, syncs, bytes. */
static void finish_counters(struct tl *t, struct run_metrics *m,
                            const struct dstats *ds)
{
    struct tl_info *in = &t->in;
    /* counters */
    m->iterations = t->n_iter;
    m->estimate_calls = t->n_est;
    m->exact_calls = t->n_exact;
    m->bitmap_syncs = t->n_sync;
    if (t->n_sync == 0) {
        uint64_t s =
            t->snap_max_sync > t->pass_max ? t->snap_max_sync : t->pass_max;
        if (s) {
            m->bitmap_syncs = s;
        } else if (t->n_exact && t->v_lo >= 900) {
            /* 9.0+: RAM's exact() syncs every time */
            m->bitmap_syncs = t->n_exact;
            in->syncs_inferred = true;
        } else if (t->n_exact && t->v_hi >= 900) {
            m->bitmap_syncs = t->n_exact;
            in->syncs_inferred = true;
        }
    }
    if (in->coarse) {
        m->iterations = ds->n;
    }
    if (t->n_exact >= 2 && in->exact_last_ns > in->exact_first_ns) {
        m->exact_calls_per_s = (double)(t->n_exact - 1) * 1e9 /
                               (double)(in->exact_last_ns - in->exact_first_ns);
    } else if (t->n_exact && in->span_ns > 0) {
        m->exact_calls_per_s = (double)t->n_exact * 1e9 / (double)in->span_ns;
    }
    m->sync_time_ns = t->sync_time;
    if (t->n_sync == 0 && t->n_exact && in->exact_time_ns > 0) {
        m->sync_time_ns = in->exact_time_ns;
        in->sync_time_estimated = true;
    }
    m->bql_ns = m->sync_time_ns;
    m->spin_cpu_ns = t->spin_ns;
    m->bytes_transferred =
        t->bytes_windows > t->bytes_cum ? t->bytes_windows : t->bytes_cum;
    if (t->have_snap && (t->snap_last.have & TRC_SNAP_TRANSFERRED)) {
        uint64_t sb =
            t->snap_last.transferred_bytes +
            ((t->snap_last.have & TRC_SNAP_VFIO) ? t->snap_last.vfio_bytes : 0);
        if (sb > m->bytes_transferred) {
            m->bytes_transferred = sb;
        }
        m->precopy_bytes = t->snap_last.precopy_bytes;
        m->downtime_bytes = t->snap_last.downtime_bytes;
        m->postcopy_bytes = t->snap_last.postcopy_bytes;
    }
}

/* Throttle, policy name, QEMU name, outcome, status. */
static void finish_outcome(struct tl *t, struct run_metrics *m)
{
    struct tl_info *in = &t->in;
    m->max_throttle_pct = t->throttle_max;
    m->postcopy = in->postcopy;
    snprintf(m->policy, sizeof(m->policy), "observed");
    char vb[16], vb2[16];
    if (t->v_lo == t->v_hi) {
        tl_qemu_name(t->v_lo, m->qemu, sizeof(m->qemu));
    } else {
        snprintf(m->qemu, sizeof(m->qemu), "%.7s-%.7s",
                 tl_qemu_name(t->v_lo, vb, sizeof(vb)),
                 tl_qemu_name(t->v_hi, vb2, sizeof(vb2)));
    }
    if (in->failed) {
        m->outcome = RUN_FAILED;
    } else if (in->cancelled) {
        m->outcome = RUN_ABORTED;
    } else if (in->switchover || in->completed) {
        m->outcome = RUN_CONVERGED;
    } else {
        m->outcome = RUN_INCOMPLETE;
    }
    snprintf(in->status, sizeof(in->status), "%s", t->status);
}

/* A device's save / load times from the downtime breakdown (its
 * "NAME/vfio" item), when traced. */
static void device_item_times(const struct tl_info *in,
                              const struct tl_device *dv,
                              struct run_device_result *rd)
{
    char idv[RUN_NAME_LEN + 8];
    snprintf(idv, sizeof(idv), "%s/vfio", dv->name);
    for (unsigned i = 0; i < in->n_items; i++) {
        const struct tl_item *it = &in->items[i];
        if (strcmp(it->idstr, idv) != 0) {
            continue;
        }
        int64_t sv =
            (it->save_iterable_ns > 0 ? it->save_iterable_ns : 0) +
            (it->save_non_iterable_ns > 0 ? it->save_non_iterable_ns : 0);
        int64_t ld =
            (it->load_iterable_ns > 0 ? it->load_iterable_ns : 0) +
            (it->load_non_iterable_ns > 0 ? it->load_non_iterable_ns : 0);
        if (sv > 0) {
            rd->save_ns = sv;
        }
        rd->load_ns = ld;
    }
}

static void finish_devices(struct tl *t, struct run_metrics *m)
{
    struct tl_info *in = &t->in;
    m->n_devices = in->n_devices;
    for (unsigned d = 0; d < in->n_devices; d++) {
        struct run_device_result *rd = &m->devices[d];
        const struct tl_device *dv = &in->dev[d];
        snprintf(rd->name, sizeof(rd->name), "%s", dv->name);
        rd->precopy_bytes = t->dev_precopy_bytes[d];
        rd->stop_copy_bytes =
            dv->saved_bytes ? dv->saved_bytes : dv->stop_copy_last;
        rd->save_ns = t->dev_save_ns[d] >= 0 ? t->dev_save_ns[d] : 0;
        rd->load_ns = 0;
        device_item_times(in, dv, rd);
    }
}

/* What the decisions say: pending, bandwidth, dirty rate, the smallest
 * limit that would have switched over. */
static void finish_convergence(struct tl *t, struct run_metrics *m,
                               const struct dstats *ds)
{
    struct tl_info *in = &t->in;
    /* convergence figures */
    in->decided = ds->n;
    in->min_dl_ms = ds->min_dl_ms;
    in->min_dl_iteration = ds->min_dl_iter;
    in->min_dl_pending = ds->min_dl_pending;
    in->min_dl_bw_bps = ds->min_dl_bw;
    in->min_asb_bps = ds->min_asb;
    in->pending_first = ds->p_first;
    in->pending_last = ds->p_last;
    in->pending_min = ds->p_min;
    in->pending_max = ds->p_max;
    in->bw_mean_bps = t->bw_sum_t > 0 ? t->bw_sum_w / t->bw_sum_t
                                      : tl_series_mean(&in->bandwidth);
    if (in->bw_peak_bps == 0 && in->bandwidth.n) {
        for (size_t i = 0; i < in->bandwidth.n; i++) {
            if (in->bandwidth.v[i] > in->bw_peak_bps) {
                in->bw_peak_bps = in->bandwidth.v[i];
            }
        }
        in->bw_last_bps = in->bandwidth.v[in->bandwidth.n - 1];
    }
    if (in->bandwidth_assumed && in->bw_peak_bps == 0) {
        in->bw_peak_bps = in->bw_mean_bps = in->bw_last_bps =
            t->o.bandwidth_bps;
    }
    in->dirty_rate_mean_bps = tl_series_mean(&in->dirty_rate);
    m->expected_downtime_ns =
        in->bw_last_bps > 0 ? tl_i64((double)ds->p_last / in->bw_last_bps * 1e9)
                            : 0;
    if (in->coarse && t->have_snap &&
        (t->snap_last.have & TRC_SNAP_EXPECTED_DOWNTIME)) {
        m->expected_downtime_ns = t->snap_last.expected_downtime_ms * MS;
    }
}

int tl_finish(struct tl *t, struct run_result *out, struct tl_info *info,
              char *err, size_t errlen)
{
    struct tl_info *in = &t->in;
    bool cut = t->it.open && !t->it.switchover && !t->it.iterated;
    close_iteration(t, NO_T, !cut);
    run_result_init(out);
    struct run_metrics *m = &out->m;

    in->coarse = t->n_iter == 0 && t->coarse.n > 0;
    const struct dstats *ds = in->coarse ? &t->cs : &t->ds;
    if (finish_samples(t, out) < 0 || finish_events(t, out) < 0) {
        run_result_free(out);
        snprintf(err, errlen, "out of memory rebuilding the timeline");
        return -1;
    }
    finish_version(t);
    finish_times(t, m);
    finish_counters(t, m, ds);
    finish_outcome(t, m);
    finish_devices(t, m);
    finish_convergence(t, m, ds);

    *info = *in;
    /* the series now belong to info */
    memset(&in->dirty_rate, 0, sizeof(in->dirty_rate));
    memset(&in->bandwidth, 0, sizeof(in->bandwidth));
    memset(&in->pending, 0, sizeof(in->pending));
    memset(&in->nonram_exact, 0, sizeof(in->nonram_exact));
    memset(in->dev_stop_copy, 0, sizeof(in->dev_stop_copy));
    info->thr_lo_bytes = t->thr_lo;
    info->thr_hi_bytes = isfinite(t->thr_hi) ? t->thr_hi : 0;
    return 0;
}
