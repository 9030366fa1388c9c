/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/replay.c — replaying a migration (contract in traces/replay.h):
 * the driver (reader -> timeline -> diagnosis -> derived inputs) and the
 * diagnosis.  The derived inputs, their scenario and the counterfactual
 * runs are replay_derive.c.
 */
#include "traces/replay.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "run/qmp_params.h"

const char *trc_verdict_name(enum trc_verdict v)
{
    switch (v) {
    case TRC_VERDICT_CONVERGED:
        return "converged";
    case TRC_VERDICT_NOT_CONVERGING:
        return "not-converging";
    default:
        return "inconclusive";
    }
}

const char *trc_why_name(unsigned bit)
{
    switch (bit) {
#define WHY_CASE(name, n, tag)                                                 \
    case TRC_WHY_##name:                                                       \
        return tag;
        TRC_WHY_LIST(WHY_CASE)
#undef WHY_CASE
    default:
        return "unknown";
    }
}

/* ---- diagnosis ---- */

static void note(struct trc_diagnosis *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct trc_diagnosis *d, const char *fmt, ...)
{
    if (d->n_notes >= TRC_MAX_NOTES) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->notes[d->n_notes++], TRC_NOTE_LEN, fmt, ap);
    va_end(ap);
}

static const char *sz(uint64_t b, char *buf, size_t n)
{
    return units_fmt_size(b, buf, n);
}

static const char *rt(double bps, char *buf, size_t n)
{
    return units_fmt_rate(bps, buf, n);
}

static const char *tm(int64_t ns, char *buf, size_t n)
{
    return units_fmt_time(ns, buf, n);
}

static double pos(int64_t ns)
{
    return ns > 0 ? (double)ns : 0;
}

/* VM stop + non-RAM save and load times seen in the trace, ms. */
static double overhead_ms(const struct tl_info *in)
{
    double o = pos(in->vm_stop_ns);
    for (unsigned i = 0; i < in->n_items; i++) {
        const struct tl_item *it = &in->items[i];
        if (strcmp(it->idstr, "ram") == 0) {
            continue;
        }
        o += pos(it->save_iterable_ns) + pos(it->save_non_iterable_ns) +
             pos(it->load_iterable_ns) + pos(it->load_non_iterable_ns);
    }
    return o / 1e6;
}

static void advise(const struct run_result *run, const struct tl_info *in,
                   struct trc_diagnosis *d)
{
    struct trc_advice *a = &d->advice;
    a->limit_ms = (double)run->m.downtime_limit_ns / 1e6;
    a->bandwidth_assumed = in->bandwidth_assumed;
    a->overhead_ms = overhead_ms(in);
    if (isfinite(in->min_dl_ms)) {
        a->have_limit = true;
        a->min_downtime_limit_ms = floor(in->min_dl_ms) + 1;
        a->at_iteration = in->min_dl_iteration;
        a->pending_bytes = in->min_dl_pending;
        a->bandwidth_bps = in->min_dl_bw_bps;
    }
    if (isfinite(in->min_asb_bps)) {
        a->have_asb = true;
        a->min_avail_switchover_bps = floor(in->min_asb_bps) + 1;
    }
    double link = in->bw_peak_bps;
    uint64_t p = a->have_limit ? a->pending_bytes : in->pending_min;
    if (link > 0) {
        a->expected_downtime_ms = (double)p / link * 1000.0 + a->overhead_ms;
    }
}

static void downtime_notes(const struct run_result *run,
                           const struct tl_info *in, struct trc_diagnosis *d)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    const struct run_metrics *m = &run->m;
    if (m->downtime_ns <= 0) {
        return;
    }
    bool over = m->downtime_ns > m->downtime_limit_ns;
    if (over) {
        d->why |= TRC_WHY_DOWNTIME;
    }
    note(d, "Downtime %s %s the %s limit%s.", tm(m->downtime_ns, b1, 32),
         over ? "exceeded" : "stayed within", tm(m->downtime_limit_ns, b2, 32),
         in->limit_read       ? " (set in the input)"
         : in->limit_inferred ? " (inferred from the trace)"
                              : " (QEMU's default; not in the trace)");
    if (in->n_items == 0 && in->vm_stop_ns < 0) {
        if (over) {
            note(d, "The trace has no vmstate_downtime_* events, so the "
                    "downtime cannot be broken down; enable "
                    "-trace vmstate_downtime_* to see it.");
        }
        return;
    }
    double ram_save = 0, ram_load = 0;
    for (unsigned i = 0; i < in->n_items; i++) {
        if (strcmp(in->items[i].idstr, "ram") == 0) {
            ram_save = pos(in->items[i].save_iterable_ns) +
                       pos(in->items[i].save_non_iterable_ns);
            ram_load = pos(in->items[i].load_iterable_ns) +
                       pos(in->items[i].load_non_iterable_ns);
        }
    }
    double vs = pos(in->vfio_save_ns), vl = pos(in->vfio_load_ns);
    double all = ram_save + ram_load + vs + vl + pos(in->vm_stop_ns);
    for (unsigned i = 0; i < in->n_items; i++) {
        const struct tl_item *it = &in->items[i];
        if (!it->vfio && strcmp(it->idstr, "ram") != 0) {
            all += pos(it->save_iterable_ns) + pos(it->save_non_iterable_ns) +
                   pos(it->load_iterable_ns) + pos(it->load_non_iterable_ns);
        }
    }
    char b6[32], b7[32];
    note(d,
         "Breakdown: VM stop %s; source save RAM %s, VFIO %s; destination "
         "load RAM %s, VFIO %s (all devices: iterable %s + non-iterable %s).",
         in->vm_stop_ns >= 0 ? tm(in->vm_stop_ns, b1, 32) : "not traced",
         tm(tl_i64(ram_save), b2, 32), tm(tl_i64(vs), b3, 32),
         tm(tl_i64(ram_load), b4, 32), tm(tl_i64(vl), b5, 32),
         tm(tl_i64(pos(in->load_iterable_ns)), b6, 32),
         tm(tl_i64(pos(in->load_non_iterable_ns)), b7, 32));
    if (vs + vl > 0 && all > 0) {
        bool dom = (vs + vl) > 0.5 * all;
        note(d,
             "VFIO device save+load takes %s, %.0f%% of the traced "
             "stop-and-copy work%s; a downtime model of remaining bytes / "
             "bandwidth alone misses it.",
             tm(tl_i64(vs + vl), b1, 32), 100.0 * (vs + vl) / all,
             dom ? " - it dominates the downtime" : "");
    }
}

static void bandwidth_note(const struct tl_info *in, struct trc_diagnosis *d)
{
    char b1[32], b2[32], b3[32];
    if (in->bandwidth_traced) {
        note(d,
             "Bandwidth (migrate_transferred windows): mean %s, peak %s, "
             "last %s.",
             rt(in->bw_mean_bps, b1, 32), rt(in->bw_peak_bps, b2, 32),
             rt(in->bw_last_bps, b3, 32));
    } else if (in->bandwidth_derived) {
        note(d,
             "Bandwidth derived from migration_transferred_bytes deltas: "
             "mean %s, peak %s (no migrate_transferred, so the threshold is "
             "bandwidth x downtime-limit, not traced).",
             rt(in->bw_mean_bps, b1, 32), rt(in->bw_peak_bps, b2, 32));
    } else if (in->bandwidth_assumed) {
        note(d, "Bandwidth not in the input: %s assumed as given.",
             rt(in->bw_peak_bps, b1, 32));
    } else if (in->bw_peak_bps > 0) {
        note(d,
             "Bandwidth from the query-migrate / info migrate throughput: "
             "mean %s, peak %s (a completed migration reports its overall "
             "average).",
             rt(in->bw_mean_bps, b1, 32), rt(in->bw_peak_bps, b2, 32));
    } else {
        note(d, "Bandwidth is not in the input (no migrate_transferred or "
                "migration_transferred_bytes events): the threshold and the "
                "limit that would switch over cannot be computed exactly.");
    }
}

/* What the rebuilt run shows, before any wording. */
struct findings {
    int64_t span_ns;  /* the time the trace covers */
    uint64_t decided; /* iterations that reached their decision */
    bool spin;        /* exact-spin */
    uint64_t devsc;   /* devices' stop-copy bytes */
    uint64_t nonram;  /* stop-copy data outside RAM */
    double thr;       /* the switchover threshold, bytes */
    bool thr_known;
    bool stopcopy;  /* non-RAM data above the threshold */
    bool dirty;     /* RAM dirtied about as fast as it is sent */
    bool flat;      /* pending data not shrinking */
    bool shrinking; /* pending data still shrinking */
    bool converged;
};

static void find_causes(const struct run_result *run, const struct tl_info *in,
                        struct findings *f)
{
    const struct run_metrics *m = &run->m;
    f->decided = in->decided;
    f->spin = !in->coarse && in->exact_spin_iterations >= 3 &&
              in->exact_spin_iterations * 2 >= f->decided;
    f->devsc = tl_info_stop_copy_bytes(in);
    f->nonram = f->devsc ? f->devsc : in->nonram_exact_last;
    if (in->threshold_traced && run->n_samples) {
        f->thr = (double)run->samples[run->n_samples - 1].threshold_bytes;
        f->thr_known = true;
    } else if (in->bw_last_bps > 0) {
        f->thr = in->bw_last_bps * (double)m->downtime_limit_ns / 1e9;
        f->thr_known = true;
    }
    f->stopcopy =
        f->nonram > 0 && ((f->thr_known && (double)f->nonram >= f->thr) ||
                          (!f->thr_known && f->spin));
    f->dirty = in->dirty_rate_mean_bps > 0 && in->bw_mean_bps > 0 &&
               in->dirty_rate_mean_bps >= 0.9 * in->bw_mean_bps;
    f->flat = f->decided >= 5 && !f->spin && in->pending_first > 0 &&
              (double)in->pending_last >= 0.9 * (double)in->pending_first &&
              (!f->thr_known || (double)in->pending_last > f->thr);
    /* still shrinking: the last quarter of the decisions well below the
     * quarter before (the first decisions include the initial bulk of RAM,
     * so first-vs-last says little on a long trace) */
    const struct tl_series *ps = &in->pending;
    if (ps->n >= 8) {
        double q3 = 0, q4 = 0;
        size_t a = ps->n / 2, b = 3 * ps->n / 4;
        for (size_t i = a; i < b; i++) {
            q3 += ps->v[i] / (double)(b - a);
        }
        for (size_t i = b; i < ps->n; i++) {
            q4 += ps->v[i] / (double)(ps->n - b);
        }
        f->shrinking = !f->spin && q4 < 0.7 * q3;
    } else {
        f->shrinking =
            f->decided >= 2 && !f->spin &&
            (double)in->pending_last < 0.5 * (double)in->pending_first;
    }

    f->converged = in->switchover || in->completed;
}

/* The verdict, its TRC_WHY_* bits and the one-line summary. */
static void set_verdict(const struct tl_info *in, const struct findings *f,
                        struct trc_diagnosis *d)
{
    char b1[32];
    if (in->failed) {
        d->why |= TRC_WHY_FAILED;
    }
    if (in->cancelled) {
        d->why |= TRC_WHY_CANCELLED;
    }
    if (f->converged && !in->failed) {
        d->verdict = TRC_VERDICT_CONVERGED;
        d->why |= TRC_WHY_SWITCHED_OVER;
        if (in->switchover_iteration) {
            snprintf(d->summary, sizeof(d->summary),
                     "converged: switched over in iteration %llu with %s "
                     "pending%s",
                     (unsigned long long)in->switchover_iteration,
                     sz(in->switchover_pending, b1, 32),
                     in->cancelled && !in->completed
                         ? "; then cancelled during the switchover"
                         : "");
        } else {
            snprintf(d->summary, sizeof(d->summary), "converged: migration %s",
                     in->completed ? "completed" : "switched over");
        }
    } else {
        if (f->spin) {
            d->why |= TRC_WHY_EXACT_SPIN;
        }
        if (f->stopcopy) {
            d->why |= TRC_WHY_STOPCOPY;
        }
        if (f->dirty || f->flat) {
            d->why |= TRC_WHY_DIRTY_RATE;
        }
        bool enough = f->decided >= 3;
        if (enough && (f->spin || f->stopcopy || f->dirty || f->flat)) {
            d->verdict = TRC_VERDICT_NOT_CONVERGING;
        } else {
            d->verdict = TRC_VERDICT_INCONCLUSIVE;
            if (f->decided == 0 && in->n_snapshots == 0) {
                d->why |= TRC_WHY_NO_DATA;
            } else if (!enough) {
                d->why |= TRC_WHY_TOO_SHORT;
            }
            if (f->shrinking) {
                d->why |= TRC_WHY_SHRINKING;
            }
        }
        const char *cause = f->spin       ? "exact-spin"
                            : f->stopcopy ? "stop-copy data above the threshold"
                            : (f->dirty || f->flat)
                                ? "RAM dirtied as fast as it is sent"
                            : f->shrinking   ? "pending still shrinking"
                            : f->decided < 3 ? "too few iterations to tell"
                                             : "no cause found";
        snprintf(d->summary, sizeof(d->summary), "%s: %s%s",
                 trc_verdict_name(d->verdict), cause,
                 in->failed      ? " (migration failed)"
                 : in->cancelled ? " (migration cancelled)"
                                 : "");
    }
}

/* How the input was read and, when it converged, how. */
static void converged_notes(const struct run_result *run,
                            const struct tl_info *in, const struct findings *f,
                            struct trc_diagnosis *d)
{
    const struct run_metrics *m = &run->m;
    char b1[32], b2[32];
    if (in->coarse) {
        note(d,
             "Built from %llu query-migrate / info migrate record(s): values "
             "are samples at the polling interval, the estimate/exact split "
             "and device stop-copy sizes are not visible (remaining is RAM "
             "only, vfio.transferred is all that shows of devices), so the "
             "verdict and advice below are approximate.",
             (unsigned long long)in->n_snapshots);
    }
    if (f->converged) {
        if (in->switchover_iteration && !in->coarse) {
            note(d,
                 "Switched over in iteration %llu of %llu with %s pending "
                 "(threshold %s).",
                 (unsigned long long)in->switchover_iteration,
                 (unsigned long long)m->iterations,
                 sz(in->switchover_pending, b1, 32),
                 in->threshold_traced && run->n_samples
                     ? sz(run->samples[run->n_samples - 1].threshold_bytes, b2,
                          32)
                     : "not traced");
        }
        downtime_notes(run, in, d);
        if (d->why & TRC_WHY_DOWNTIME) {
            size_t n = strlen(d->summary);
            snprintf(d->summary + n, sizeof(d->summary) - n,
                     ", but the downtime (%s) exceeded the %s limit",
                     tm(m->downtime_ns, b1, 32),
                     tm(m->downtime_limit_ns, b2, 32));
        }
    }
}

static void spin_notes(const struct run_result *run, const struct tl_info *in,
                       const struct findings *f, struct trc_diagnosis *d)
{
    const struct run_metrics *m = &run->m;
    char b1[32], b2[32], b3[32];
    if (!f->spin) {
        return;
    }
    char gap[72];
    sz(tl_u64(in->exact_gap_min), b2, 32);
    sz(tl_u64(in->exact_gap_max), b3, 32);
    if (strcmp(b2, b3) == 0) {
        snprintf(gap, sizeof(gap), "about %s", b2);
    } else {
        snprintf(gap, sizeof(gap), "%s to %s", b2, b3);
    }
    note(d,
         "Exact-spin: in %llu of %llu decided iterations estimate() "
         "reported %s (under the threshold, so exact() was called) and "
         "exact() reported %s more (over it), so the migration did not "
         "switch over.",
         (unsigned long long)in->exact_spin_iterations,
         (unsigned long long)f->decided,
         sz(run->n_samples ? run->samples[0].estimate_bytes : 0, b1, 32), gap);
    note(d,
         "exact() ran %.2f times/s, each with a full dirty-bitmap sync "
         "(QEMU >= 9.0 syncs in every exact()); %.0f%% of the time went "
         "to exact() and its syncs (%s in %s, %s).",
         m->exact_calls_per_s, 100.0 * d->sync_share,
         tm(m->sync_time_ns, b1, 32), tm(f->span_ns, b2, 32),
         in->sync_time_estimated ? "estimated from the estimate->exact "
                                   "gaps, no sync events traced"
                                 : "measured from the sync events");
}

static void stopcopy_note(const struct findings *f, struct trc_diagnosis *d)
{
    char b1[32], b2[32];
    if (f->stopcopy) {
        if (f->devsc) {
            note(d,
                 "The VFIO devices' stop-copy data (%s) is above the "
                 "threshold (%s): it cannot be sent before the switchover, "
                 "so no amount of RAM iteration converges at this "
                 "downtime-limit.",
                 sz(f->devsc, b1, 32),
                 f->thr_known ? sz(tl_u64(f->thr), b2, 32) : "not traced");
        } else {
            note(d,
                 "%s is reported only by exact() (exact minus estimate; no "
                 "VFIO trace lines say which device holds it, consistent with "
                 "a device's stop-copy size) and is above the threshold%s%s: "
                 "iterating RAM cannot bring it under.",
                 sz(f->nonram, b1, 32), f->thr_known ? " of " : "",
                 f->thr_known ? sz(tl_u64(f->thr), b2, 32) : "");
        }
    }
}

/* RAM: dirty rate against bandwidth, pending data over time. */
static void ram_notes(const struct tl_info *in, const struct findings *f,
                      struct trc_diagnosis *d)
{
    char b1[32], b2[32];
    if (f->dirty) {
        note(d,
             "RAM is dirtied at %s on average against a bandwidth of %s "
             "(%.0f%%): each iteration finds about as much as it sent.",
             rt(in->dirty_rate_mean_bps, b1, 32), rt(in->bw_mean_bps, b2, 32),
             100.0 * in->dirty_rate_mean_bps / in->bw_mean_bps);
    } else if (f->flat) {
        note(d,
             "The pending data did not shrink over %llu iterations (%s at "
             "the first decision, %s at the last).",
             (unsigned long long)f->decided, sz(in->pending_first, b1, 32),
             sz(in->pending_last, b2, 32));
    }
    if (d->verdict == TRC_VERDICT_INCONCLUSIVE && f->shrinking) {
        note(d,
             "The pending data was still shrinking (%s -> %s) when the "
             "input ends.",
             sz(in->pending_first, b1, 32), sz(in->pending_last, b2, 32));
    }
    if (!f->converged && !in->coarse && f->decided < 3 && f->decided > 0) {
        note(d, "Only %llu iteration(s) reached their decision.",
             (unsigned long long)f->decided);
    }
    if (in->dirty_rate_mean_bps > 0 && !f->dirty) {
        note(d, "RAM dirty rate (per >= 1 s sync period): mean %s, peak %s.",
             rt(in->dirty_rate_mean_bps, b1, 32),
             rt(in->dirty_rate_max_bps, b2, 32));
    }
}

static void limit_notes(const struct run_result *run, const struct tl_info *in,
                        struct trc_diagnosis *d)
{
    char b1[32];
    bandwidth_note(in, d);
    if (in->limit_read) {
        note(d, "downtime-limit %s, read from the input (%s).",
             tm(run->m.downtime_limit_ns, b1, 32), in->limit_source);
    } else if (in->limit_inferred) {
        note(d,
             "downtime-limit %s, inferred from migrate_transferred "
             "(max_size / bandwidth lies in %.2f-%.2f ms).",
             tm(run->m.downtime_limit_ns, b1, 32), in->limit_lo_ms,
             in->limit_hi_ms);
    } else {
        note(d, "downtime-limit %s assumed (not inferable from the input).",
             tm(run->m.downtime_limit_ns, b1, 32));
    }
}

/* What would have converged (for a migration that did not). */
static void advice_notes(const struct run_result *run, const struct tl_info *in,
                         struct trc_diagnosis *d)
{
    const struct run_metrics *m = &run->m;
    char b1[32], b2[32], b3[32], b4[32];
    const struct trc_advice *a = &d->advice;
    /* safe advice (issue 14): a figure past QEMU's maximum or on an
     * inconclusive verdict is said to be no setting to apply */
    if (a->have_limit &&
        (a->min_downtime_limit_ms > (double)QMP_DOWNTIME_LIMIT_MAX_MS ||
         d->verdict == TRC_VERDICT_INCONCLUSIVE)) {
        note(d,
             "Not advice: %s; by pending / bandwidth at iteration %llu "
             "(%s pending at %s) it would take a downtime-limit of %.0f ms.",
             a->min_downtime_limit_ms > (double)QMP_DOWNTIME_LIMIT_MAX_MS
                 ? "no downtime-limit QEMU accepts (at most 2000 s) would "
                   "have switched over"
                 : "the verdict is inconclusive",
             (unsigned long long)a->at_iteration, sz(a->pending_bytes, b1, 32),
             rt(a->bandwidth_bps, b2, 32), a->min_downtime_limit_ms);
    } else if (a->have_limit) {
        note(d,
             "Would have switched over with downtime-limit >= %.0f ms "
             "(%s; iteration %llu: %s pending at %s%s); expect about %s "
             "of downtime%s.",
             a->min_downtime_limit_ms,
             tm(tl_i64(a->min_downtime_limit_ms * 1e6), b3, 32),
             (unsigned long long)a->at_iteration, sz(a->pending_bytes, b1, 32),
             rt(a->bandwidth_bps, b2, 32),
             a->bandwidth_assumed ? ", assumed" : "",
             tm(tl_i64(a->expected_downtime_ms * 1e6), b4, 32),
             a->overhead_ms > 0 ? " including the traced device "
                                  "save/load and VM stop"
                                : "");
    } else {
        uint64_t p = in->pending_min;
        note(d,
             "Would switch over with downtime-limit >= pending / "
             "bandwidth = %s / bandwidth: %.2f s at 10 Gbit/s, %.2f s at "
             "25 Gbit/s, %.2f s at 100 Gbit/s (pass --bandwidth to "
             "compute it for the real link).",
             sz(p, b1, 32), (double)p / 1.25e9, (double)p / 3.125e9,
             (double)p / 12.5e9);
    }
    if (a->have_asb) {
        note(d,
             "Or with avail-switchover-bandwidth >= %s at the %s limit "
             "(QEMU 8.2+)%s.",
             rt(a->min_avail_switchover_bps, b1, 32),
             tm(m->downtime_limit_ns, b2, 32),
             in->bw_peak_bps > 0 &&
                     a->min_avail_switchover_bps > in->bw_peak_bps
                 ? ": more than the link was seen to carry, so the real "
                   "downtime would exceed the limit"
                 : "");
    }
}

/* Impossible state changes and the QEMU version. */
static void qemu_notes(const struct tl_info *in, struct trc_diagnosis *d)
{
    if (in->n_violations) {
        note(d, "%llu impossible state change(s), first: %s",
             (unsigned long long)in->violations_total, in->violations[0].msg);
    }
    char v1[16], v2[16];
    if (in->qemu_lo == in->qemu_hi) {
        note(d, "QEMU %s (%s).", tl_qemu_name(in->qemu_lo, v1, 16),
             in->qemu_why[0] ? in->qemu_why : "no evidence");
    } else {
        note(d, "QEMU %s-%s (%s).", tl_qemu_name(in->qemu_lo, v1, 16),
             tl_qemu_name(in->qemu_hi, v2, 16),
             in->qemu_why[0] ? in->qemu_why : "no version evidence");
    }
}

void trc_diagnose(const struct run_result *run, const struct tl_info *in,
                  const struct tl_options *o, struct trc_diagnosis *d)
{
    (void)o;
    memset(d, 0, sizeof(*d));
    const struct run_metrics *m = &run->m;
    d->exact_calls_per_s = m->exact_calls_per_s;
    struct findings f = {0};
    f.span_ns = in->span_ns > 0 ? in->span_ns : m->total_ns;
    d->sync_share =
        f.span_ns > 0 ? (double)m->sync_time_ns / (double)f.span_ns : 0;
    if (d->sync_share > 1) {
        d->sync_share = 1;
    }
    d->decided = in->decided;
    advise(run, in, d);
    if (in->coarse) {
        d->why |= TRC_WHY_COARSE;
    }

    find_causes(run, in, &f);
    set_verdict(in, &f, d);
    /* the explanation */
    converged_notes(run, in, &f, d);
    spin_notes(run, in, &f, d);
    stopcopy_note(&f, d);
    ram_notes(in, &f, d);
    limit_notes(run, in, d);
    if (!f.converged) {
        advice_notes(run, in, d);
    }
    qemu_notes(in, d);
}

/* ---- driver ---- */

void trc_replay_free(struct trc_replay *r)
{
    run_result_free(&r->run);
    tl_info_free(&r->info);
    for (unsigned i = 0; i < r->stats.n_messages; i++) {
        free(r->stats.messages[i]);
    }
    free(r->stats.messages);
    for (unsigned i = 0; i < r->n_files; i++) {
        free(r->files[i]);
    }
    free(r->files);
    trc_derived_free(&r->inputs);
    for (unsigned i = 0; i < r->n_others; i++) {
        trc_replay_free(&r->others[i]);
    }
    free(r->others);
    memset(r, 0, sizeof(*r));
}

/* Events QEMU writes per page or per block: tracing them costs the
 * migration time.  Above this rate (lines/s of the migration) warn. */
#define COSTLY_EVENT_PER_S 1000.0
const char *trc_replay_costly_events(const struct trc_replay *r, char *buf,
                                     size_t len)
{
    buf[0] = '\0';
    static const enum trc_ev costly[] = {TRC_EV_TRANSFERRED_BYTES};
    double secs = (double)r->run.m.total_ns / 1e9;
    for (size_t i = 0; i < sizeof(costly) / sizeof(costly[0]); i++) {
        uint64_t n = r->stats.per_event[costly[i]];
        if (n == 0 || secs <= 0) {
            continue;
        }
        double rate = (double)n / secs;
        if (rate >= COSTLY_EVENT_PER_S) {
            snprintf(buf, len,
                     "the trace enables %s: %llu lines, %.0f per second of "
                     "migration; it is written once per page sent and "
                     "slows the migration down (disable it with "
                     "'-%s' in the -trace events file)",
                     trc_event_name(costly[i]), (unsigned long long)n, rate,
                     trc_event_name(costly[i]));
            return buf;
        }
    }
    return buf;
}

/* The reader's figures into out (messages copied, owned by out). */
static void copy_stats(struct trc_replay *out, const struct trc_stats *st)
{
    for (unsigned i = 0; i < out->stats.n_messages; i++) {
        free(out->stats.messages[i]);
    }
    free(out->stats.messages);
    out->stats = *st;
    out->stats.messages =
        calloc(st->n_messages ? st->n_messages : 1, sizeof(char *));
    out->stats.n_messages = 0;
    if (out->stats.messages) {
        for (unsigned i = 0; i < st->n_messages; i++) {
            out->stats.messages[i] = strdup(st->messages[i]);
            if (out->stats.messages[i]) {
                out->stats.n_messages = i + 1;
            }
        }
    }
}

/* One migration's rebuild t (freed here) into out: result, the reader's
 * figures, diagnosis and derived inputs. */
static int finish_one(struct trc_reader *rd, struct tl *t,
                      const struct tl_options *to, struct trc_replay *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const struct trc_stats *st = trc_reader_stats(rd);
    tl_note_dropped(t, st->dropped);
    if (tl_finish(t, &out->run, &out->info, err, errlen) < 0) {
        tl_free(t);
        return -1;
    }
    tl_free(t);
    copy_stats(out, st);
    out->format = trc_reader_dominant_format(rd);
    out->n_files = trc_reader_n_files(rd);
    out->files = calloc(out->n_files ? out->n_files : 1, sizeof(char *));
    if (!out->files) {
        out->n_files = 0;
    }
    for (unsigned i = 0; i < out->n_files; i++) {
        out->files[i] = strdup(trc_reader_file_name(rd, i));
    }
    trc_diagnose(&out->run, &out->info, to, &out->diag);
    if (trc_derive_inputs(&out->run, &out->info, &out->inputs) < 0) {
        trc_replay_free(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The migrations read so far: full results for up to TRC_MAX_MIGRATIONS
 * (the wanted one always kept), the others counted. */
struct segs {
    struct trc_replay *v; /* grown on demand: most inputs hold one */
    unsigned n, cap, total;
    unsigned want; /* 1-based, 0 = the last */
};

static int seg_close(struct segs *g, struct trc_reader *rd, struct tl *t,
                     const struct tl_options *to, char *err, size_t errlen)
{
    struct trc_replay one;
    if (finish_one(rd, t, to, &one, err, errlen) < 0) {
        return -1;
    }
    one.mig_index = ++g->total;
    if (g->n >= TRC_MAX_MIGRATIONS) {
        /* full: drop the oldest kept one that is not the wanted one */
        unsigned k = g->v[0].mig_index == g->want ? 1 : 0;
        trc_replay_free(&g->v[k]);
        memmove(&g->v[k], &g->v[k + 1], (g->n - k - 1) * sizeof(g->v[0]));
        g->n--;
    }
    if (g->n == g->cap) {
        unsigned cap = g->cap ? g->cap * 2 : 2;
        cap = cap > TRC_MAX_MIGRATIONS ? TRC_MAX_MIGRATIONS : cap;
        struct trc_replay *nv = realloc(g->v, cap * sizeof(*nv));
        if (!nv) {
            trc_replay_free(&one);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        g->v = nv;
        g->cap = cap;
    }
    g->v[g->n++] = one;
    return 0;
}

/* Move the segments into out: the wanted one is out, the rest others. */
static int seg_pick(struct segs *g, struct trc_replay *out, char *err,
                    size_t errlen)
{
    unsigned want = g->want ? g->want : g->total;
    unsigned w = g->n;
    for (unsigned i = 0; i < g->n; i++) {
        if (g->v[i].mig_index == want) {
            w = i;
        }
    }
    if (w == g->n) {
        snprintf(err, errlen, "--migration %u: the input holds %u migration%s",
                 want, g->total, g->total == 1 ? "" : "s");
        for (unsigned i = 0; i < g->n; i++) {
            trc_replay_free(&g->v[i]);
        }
        return -1;
    }
    *out = g->v[w];
    out->n_migrations = g->total;
    out->others = NULL;
    out->n_others = 0;
    if (g->n > 1) {
        out->others = calloc(g->n - 1, sizeof(*out->others));
        if (!out->others) {
            for (unsigned i = 0; i < g->n; i++) {
                if (i != w) {
                    trc_replay_free(&g->v[i]);
                }
            }
            trc_replay_free(out);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (unsigned i = 0; i < g->n; i++) {
            if (i != w) {
                g->v[i].n_migrations = g->total;
                out->others[out->n_others++] = g->v[i];
            }
        }
    }
    return 0;
}

int trc_replay_reader(struct trc_reader *rd, const struct trc_replay_options *o,
                      struct trc_replay *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct tl_options to = {0};
    if (o) {
        to = o->timeline;
    }
    struct segs g = {.want = o ? o->migration : 0};
    struct tl *t = tl_new(&to);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const struct trc_record *rec;
    int rc;
    uint64_t next_progress = 64u << 20;
    uint64_t n = 0;
    unsigned named = UINT32_MAX;
    while ((rc = trc_reader_next_ref(rd, &rec, err, errlen)) == 1) {
        const char *fn = NULL;
        if (tl_starts_next(t, rec)) {
            /* the migration before ended: rebuild the next one apart */
            if (seg_close(&g, rd, t, &to, err, errlen) < 0 ||
                !(t = tl_new(&to))) {
                t = NULL;
                rc = -1;
                break;
            }
            named = UINT32_MAX;
        }
        if (rec->file != named) {
            named = rec->file;
            fn = trc_reader_file_name(rd, rec->file);
        }
        if (tl_feed(t, rec, fn) < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        if (o && o->progress && (++n & 4095) == 0) {
            uint64_t done, total;
            trc_reader_progress(rd, &done, &total);
            if (done >= next_progress) {
                o->progress(o->progress_ctx, done, total);
                next_progress = done + (64u << 20);
            }
        }
    }
    if (rc >= 0) {
        rc = seg_close(&g, rd, t, &to, err, errlen);
        t = NULL;
    }
    if (rc < 0) {
        if (t) {
            tl_free(t);
        }
        for (unsigned i = 0; i < g.n; i++) {
            trc_replay_free(&g.v[i]);
        }
        free(g.v);
        return -1;
    }
    /* every migration carries the figures of the whole input (counts,
     * messages, the digest known only once it was read to its end) */
    for (unsigned i = 0; i < g.n; i++) {
        copy_stats(&g.v[i], trc_reader_stats(rd));
        g.v[i].format = trc_reader_dominant_format(rd);
    }
    rc = seg_pick(&g, out, err, errlen);
    free(g.v);
    return rc;
}

int trc_replay_run(const char *const *files, unsigned n_files,
                   const struct trc_replay_options *o, struct trc_replay *out,
                   char *err, size_t errlen)
{
    struct trc_options ro = {0};
    if (o) {
        ro = o->reader;
    }
    struct trc_reader *rd = trc_reader_new(&ro, err, errlen);
    if (!rd) {
        return -1;
    }
    for (unsigned i = 0; i < n_files; i++) {
        if (trc_reader_add_file(rd, files[i], err, errlen) < 0) {
            trc_reader_free(rd);
            return -1;
        }
    }
    int rc = trc_replay_reader(rd, o, out, err, errlen);
    trc_reader_free(rd);
    return rc;
}
