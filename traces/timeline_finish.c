/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/timeline_finish.c — the timeline's last step (tl_finish): the
 * run result (samples, events, metrics, devices) and the info the
 * diagnosis reads (see timeline_int.h).
 */
#include "traces/timeline_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/mig_status.h"

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
                                        tl_fname(t, t->st_file[i]));
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
        tl_why(t, "conflicting evidence");
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

static void finish_time_warning(struct tl *t)
{
    struct tl_info *in = &t->in;
    in->time_backwards = t->time_back;
    in->time_out_of_range = t->time_bad;
    in->time_warning[0] = '\0';
    size_t o = 0;
    if (t->time_back) {
        o += (size_t)snprintf(
            in->time_warning, sizeof(in->time_warning),
            "%s:%llu: timestamp goes back %.3f ms (%llu such line(s)); "
            "rates and durations around it are unreliable",
            tl_fname(t, t->time_back_file),
            (unsigned long long)t->time_back_line,
            (double)t->time_back_ns / 1e6, (unsigned long long)t->time_back);
    }
    if (t->time_bad && o < sizeof(in->time_warning)) {
        snprintf(in->time_warning + o, sizeof(in->time_warning) - o,
                 "%s%s:%llu: timestamp out of range, read as no time (%llu "
                 "such line(s))",
                 o ? "; " : "", tl_fname(t, t->time_bad_file),
                 (unsigned long long)t->time_bad_line,
                 (unsigned long long)t->time_bad);
    }
}

/* Total, downtime and setup times and the limit. */
static void finish_times(struct tl *t, struct run_metrics *m)
{
    struct tl_info *in = &t->in;
    /* downtime limit */
    in->limit_assumed = !in->limit_inferred && !in->limit_read;

    /* times */
    in->span_ns = t->t0_set ? t->t_last - t->t0 : 0;
    if (t->t0_set) {
        m->total_ns = in->span_ns;
    }
    in->ended = t->ended;
    in->setup_ns = t->mig_setup_ns;
    in->end_ns = t->mig_end_ns;
    in->after_end_records = t->after_end;
    if (t->t0_set) {
        /* setup -> end, as query-migrate's total-time */
        int64_t a = t->mig_setup_ns != NO_T ? t->mig_setup_ns : 0;
        int64_t b =
            t->ended && t->mig_end_ns != NO_T ? t->mig_end_ns : in->span_ns;
        if (b >= a) {
            m->total_ns = b - a;
        }
    } else if (t->ended && t->mig_setup_ns != NO_T && t->mig_end_ns != NO_T &&
               t->mig_end_ns >= t->mig_setup_ns) {
        /* status records only (their own time axis): setup -> end */
        m->total_ns = t->mig_end_ns - t->mig_setup_ns;
    }
    finish_time_warning(t);
    if (t->have_snap && (t->snap_last.have & TRC_SNAP_TOTAL_TIME) &&
        t->snap_last.total_time_ms * MS > m->total_ns) {
        m->total_ns = t->snap_last.total_time_ms * MS;
    }
    int64_t a = checkpoint(in, "src-downtime-start");
    int64_t b = checkpoint(in, "src-vm-stopped");
    int64_t e = checkpoint(in, "src-downtime-end");
    if (a != TRC_NO_TIME && b != TRC_NO_TIME && b >= a) {
        in->vm_stop_ns = b - a;
    } else if (t->vm_stopped_ns != NO_T) {
        /* before 10.0: the switchover (migration_thread_low_pending) to
         * migration_completion_vm_stop, the BQL taken and the VM stopped */
        in->vm_stop_ns = t->vm_stopped_ns - in->switchover_t_ns;
        in->vm_stop_from_completion = true;
    }
    if (a != TRC_NO_TIME && e != TRC_NO_TIME && e >= a) {
        in->src_downtime_ns = e - a;
    } else if (t->have_snap && (t->snap_last.have & TRC_SNAP_DOWNTIME)) {
        in->src_downtime_ns = t->snap_last.downtime_ms * MS;
    }
    sum_items(in);
    if (in->save_non_iterable_ns < 0 && t->gstate_save_ns != NO_T) {
        /* before 10.0: the global state's save (the first non-iterable
         * section QEMU registers, after RAM's last pages) to completed */
        for (unsigned i = 0; i < in->n_states; i++) {
            if (strcmp(in->states[i].state, "completed") == 0 &&
                in->states[i].t_ns >= t->gstate_save_ns) {
                in->save_non_iterable_ns =
                    in->states[i].t_ns - t->gstate_save_ns;
                in->save_from_gstate = true;
                break;
            }
        }
    }
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
    tl_close_iteration(t, NO_T, !cut);
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
