/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/timeline.c — rebuild a migration from reader records (contract in
 * traces/timeline.h): the rebuild's state and lifetime, the decimated
 * buffers, iterations, the status sequence and the VFIO device states.
 * The per-record step is timeline_events.c, the last one
 * timeline_finish.c (timeline_int.h is what they share).
 *
 * Everything is computed in one pass with O(1) work per record; the only
 * growing structures are the decimated buffers (samples, sync events,
 * series) and the capped lists (events, states, violations, breakdown).
 */
#include "traces/timeline_int.h"

#include "run/qemu_version.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vfio_fsm.h"
#include "model/mig_status.h"

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

/* ---- decimated buffers ---- */

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
void tl_deci_push(struct deci *d, const void *x)
{
    d->have_last = true;
    d->last_kept = false;
    if ((d->seen++ & (d->stride - 1)) != 0) { /* stride: a power of 2 */
        return;
    }
    if (d->n == d->cap) {
        /* keep elements 0, 2, 4, ...: those at multiples of 2 x stride */
        for (size_t i = 0; i < d->n / 2; i++) {
            memcpy(d->v + i * d->elem, d->v + 2 * i * d->elem, d->elem);
        }
        d->n /= 2;
        d->stride *= 2;
        if (((d->seen - 1) & (d->stride - 1)) != 0) {
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
    if ((s->seen++ & (s->stride - 1)) != 0) { /* stride: a power of 2 */
        return 0;
    }
    if (s->n == s->cap) {
        for (size_t i = 0; i < s->n / 2; i++) {
            s->t_ns[i] = s->t_ns[2 * i];
            s->v[i] = s->v[2 * i];
        }
        s->n /= 2;
        s->stride *= 2;
        if (((s->seen - 1) & (s->stride - 1)) != 0) {
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

void tl_why(struct tl *t, const char *fmt, ...)
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

/* Evidence from the version table: the version is one whose row has
 * (tl_version_has) or lacks (tl_version_lacks) every bit of `bits`. */
static void version_bits(struct tl *t, unsigned bits, bool has,
                         const char *what)
{
    uint32_t *done = has ? &t->v_has_done : &t->v_lacks_done;
    bool single = bits && !(bits & (bits - 1));
    if (single && (*done & bits)) {
        return; /* the same narrowing again: no change */
    }
    unsigned lo, hi;
    if (qv_trace_span(bits, has, &lo, &hi)) {
        tl_version_range(t, lo, hi, what);
    }
    if (single) {
        *done |= bits;
    }
}

void tl_version_has(struct tl *t, unsigned bits, const char *what)
{
    if (!(bits & t->v_has_done) || (bits & (bits - 1))) {
        version_bits(t, bits, true, what); /* not applied yet */
    }
}

void tl_version_lacks(struct tl *t, unsigned bits, const char *what)
{
    if (!(bits & t->v_lacks_done) || (bits & (bits - 1))) {
        version_bits(t, bits, false, what);
    }
}

/* Evidence that the version is in [lo, hi]. */
void tl_version_range(struct tl *t, unsigned lo, unsigned hi, const char *what)
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
        tl_why(t, "%s", what);
    }
}

const char *tl_qemu_name(unsigned v, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u", v / 100, v % 100);
    return buf;
}

int tl_add_event(struct tl *t, int64_t t_ns, enum run_event_kind kind,
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
        tl_deci_push(&t->syncs, &x);
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
    t->mig_setup_ns = NO_T;
    t->mig_end_ns = NO_T;
    t->vm_stopped_ns = NO_T;
    t->gstate_save_ns = NO_T;
    t->ds.min_dl_ms = INFINITY;
    t->ds.min_asb = INFINITY;
    t->cs.min_dl_ms = INFINITY;
    t->cs.min_asb = INFINITY;
    t->thr_lo = 0;
    t->thr_hi = INFINITY;
    t->v_lo = qv_oldest();
    t->v_hi = qv_newest();
    t->dl_ns = t->o.downtime_limit_ns > 0 ? t->o.downtime_limit_ns
                                          : TL_DEFAULT_LIMIT_NS;
    if (t->o.bandwidth_bps > 0) {
        t->bw = t->o.bandwidth_bps;
        t->in.bandwidth_assumed = true;
    }
    if (t->o.qemu) {
        t->v_lo = t->v_hi = t->o.qemu;
        t->v_exact = true;
        tl_why(t, "given");
    }
    return t;
}

uint64_t tl_info_stop_copy_bytes(const struct tl_info *in)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < in->n_devices; i++) {
        s += in->dev[i].stop_copy_last;
    }
    return s;
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

void tl_arg_str(const struct trc_record *r, unsigned slot, char *buf,
                size_t len)
{
    buf[0] = '\0';
    if ((r->present & (1u << slot)) && r->a[slot].s) {
        size_t n = r->a[slot].len < len - 1 ? r->a[slot].len : len - 1;
        memcpy(buf, r->a[slot].s, n);
        buf[n] = '\0';
    }
}

const char *tl_fname(const struct tl *t, unsigned file)
{
    return file < 4 ? t->file_names[file] : "input";
}

int tl_device_index(struct tl *t, const char *name)
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

int tl_rec_device(struct tl *t, const struct trc_record *r)
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
    tl_arg_str(r, 0, name, sizeof(name));
    return tl_device_index(t, name);
}

/* The downtime-limit in force, in ms, from the inferred interval: the
 * integer inside it closest to its middle (QEMU's limit is whole ms). */
static double limit_ms(const struct tl *t)
{
    return (double)t->dl_ns / 1e6;
}

void tl_infer_limit(struct tl *t, double lo, double hi, int64_t now)
{
    if (!(lo > 0) || !(hi >= lo) || hi > 2e6 || t->in.limit_read) {
        return; /* the limit the input set wins over an inference */
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
            tl_add_event(t, now, RUN_EV_PARAM, (uint64_t)ns, 0,
                         "downtime-limit=%.0fms (inferred)", ms);
        }
        t->dl_ns = ns;
    }
    t->in.limit_inferred = true;
    t->in.limit_lo_ms = t->dl_lo;
    t->in.limit_hi_ms = t->dl_hi;
}

void tl_decision(struct dstats *d, uint64_t iter, uint64_t p, double bw,
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

void tl_close_iteration(struct tl *t, int64_t next_start, bool complete)
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
    for (uint32_t m = it->dev_est_mask; m; m &= m - 1) {
        dev_est += it->dev_est[__builtin_ctz(m)];
    }
    uint64_t ram = it->est_pre > dev_est ? it->est_pre - dev_est : 0;
    s->ram_dirty_bytes = ram;
    s->dirty_rate_bps = tl_u64(t->dirty_rate);
    s->sent_bytes = t->bytes_windows > it->bytes_at_start
                        ? t->bytes_windows - it->bytes_at_start
                        : 0;
    s->downtime_limit_ns = t->dl_ns;
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
    tl_deci_push(&t->samples, s);
    in->ram_pending_last = ram;
    if (!complete && !it->switchover) {
        return; /* cut off before its decision: no statistics */
    }
    tl_series_push(&in->pending, it->t_start, (double)p);
    tl_decision(&t->ds, it->index, p, it->bw, limit_ms(t) / 1000.0);
    if (it->exact_called) {
        double gap = it->exact > it->est ? (double)(it->exact - it->est) : 0;
        uint64_t devx = 0;
        for (uint32_t m = it->dev_exact_mask; m; m &= m - 1) {
            devx += it->dev_exact[__builtin_ctz(m)];
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

void tl_open_iteration(struct tl *t, int64_t now, uint64_t est, uint64_t pre,
                       unsigned file, uint64_t line)
{
    tl_close_iteration(t, now, true);
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

void tl_switchover(struct tl *t, int64_t now, uint64_t pending)
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

void tl_status_change(struct tl *t, const char *state, int64_t now,
                      unsigned file, uint64_t line)
{
    if (strcmp(state, t->status) == 0) {
        return;
    }
    snprintf(t->status, sizeof(t->status), "%s", state);
    struct tl_info *in = &t->in;
    tl_add_event(t, now, RUN_EV_STATE, 0, 0, "%s", state);
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
        tl_version_has(t, QV_TR_STATUS_POSTCOPY_DEVICE,
                       "postcopy-device state (10.2+)");
    } else if (strcmp(state, "postcopy-recover-setup") == 0) {
        tl_version_has(t, QV_TR_STATUS_RECOVER_SETUP,
                       "postcopy-recover-setup (9.1+)");
    } else if (strcmp(state, "device") == 0) {
        bool pre =
            in->n_states >= 2 &&
            strcmp(in->states[in->n_states - 2].state, "pre-switchover") == 0;
        if (!pre) {
            tl_version_has(t, QV_TR_STATUS_DEVICE,
                           "state device without pre-switchover (10.0+)");
        }
    }
    if (strcmp(state, "device") == 0 || strcmp(state, "postcopy-active") == 0 ||
        strcmp(state, "postcopy-device") == 0) {
        uint64_t p =
            t->it.open ? (t->it.exact_called ? t->it.exact : t->it.est) : 0;
        tl_switchover(t, now, p);
        if (strncmp(state, "postcopy", 8) == 0) {
            in->postcopy = true;
        }
    } else if (strcmp(state, "completed") == 0) {
        in->completed = true;
        if (!in->switchover) {
            tl_switchover(t, now, 0);
        }
    } else if (strcmp(state, "failed") == 0) {
        in->failed = true;
    } else if (strcmp(state, "cancelled") == 0 ||
               strcmp(state, "cancelling") == 0) {
        in->cancelled = true;
    }
    if (strcmp(state, "setup") == 0 && t->mig_setup_ns == NO_T) {
        t->mig_setup_ns = now;
    }
    if (!t->ended && tl_status_final(state)) {
        t->ended = true;
        t->mig_end_ns = now;
    }
}

bool tl_starts_next(const struct tl *t, const struct trc_record *r)
{
    if (!t->ended) {
        return false;
    }
    char st[32];
    if (r->kind == TRC_REC_EVENT && r->ev == TRC_EV_SET_STATE) {
        tl_arg_str(r, 0, st, sizeof(st));
        return strcmp(st, "setup") == 0;
    }
    if (r->kind == TRC_REC_QMP_EVENT && r->name_len == 9 &&
        memcmp(r->name, "MIGRATION", 9) == 0 && (r->present & 1) && r->a[0].s) {
        tl_arg_str(r, 0, st, sizeof(st));
        return strcmp(st, "setup") == 0;
    }
    if (r->kind == TRC_REC_SNAPSHOT && r->snap && r->snap->status[0]) {
        const char *ss = r->snap->status;
        return !tl_status_final(ss) && strcmp(ss, "none") != 0 &&
               strcmp(ss, "cancelling") != 0;
    }
    return false;
}

bool tl_status_final(const char *state)
{
    return strcmp(state, "completed") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "cancelled") == 0;
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
             "%s:%llu: %s", tl_fname(t, file), (unsigned long long)line, body);
}

void tl_dev_state(struct tl *t, int d, const char *state, const char *recover,
                  int64_t now, const struct trc_record *r)
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
        tl_add_event(t, now, RUN_EV_DEVICE, (uint64_t)ns, 0, "%s: %s->%s",
                     dv->name, vfio_fsm_state_name(cur),
                     vfio_fsm_state_name(ns));
        dv->transitions++;
    } else if (dv->state < 0) {
        tl_add_event(t, now, RUN_EV_DEVICE, (uint64_t)ns, 0, "%s: ->%s",
                     dv->name, vfio_fsm_state_name(ns));
    }
    dv->state = (int)ns;
}
