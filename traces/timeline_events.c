/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/timeline_events.c — the timeline's per-record step (tl_feed):
 * what each catalogue event, QMP event and query-migrate / info migrate
 * snapshot changes in the rebuild (see timeline_int.h).
 */
#include "traces/timeline_int.h"

#include "run/qemu_version.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/mig_status.h"

/* ---- per-event handling ---- */

static void on_transferred(struct tl *t, const struct trc_record *r,
                           int64_t now)
{
    uint64_t tr = tl_arg_u(r, 0), ts = tl_arg_u(r, 1), bwms = tl_arg_u(r, 2);
    uint64_t sbw = tl_arg_u(r, 3), maxsz = tl_arg_u(r, 4);
    struct tl_info *in = &t->in;
    if (tl_has(r, 3)) {
        tl_version_has(t, QV_TR_XFER_SWITCHOVER_BW,
                       "migrate_transferred with switchover_bw "
                       "(8.2+)");
    } else {
        tl_version_lacks(t, QV_TR_XFER_SWITCHOVER_BW,
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
        tl_infer_limit(t, (double)maxsz / ((double)sbw + 1),
                       (double)(maxsz + 1) / (double)sbw, now);
    } else if (tr && ts) {
        double bpm = (double)tr / (double)ts;
        tl_infer_limit(t, (double)maxsz / bpm, (double)(maxsz + 1) / bpm, now);
    }
}

static void on_transferred_bytes(struct tl *t, const struct trc_record *r,
                                 int64_t now)
{
    uint64_t b = tl_arg_u(r, 0) + tl_arg_u(r, 1) + tl_arg_u(r, 2);
    tl_version_has(t, QV_TR_TRANSFERRED_BYTES,
                   "migration_transferred_bytes (8.1+)");
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
    uint64_t cum = tl_arg_u(r, 0);
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
    tl_add_event(t, now, RUN_EV_SYNC, found, dur, "%s", "");
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
    int d = tl_rec_device(t, r);
    if (d < 0) {
        return;
    }
    struct tl_device *dv = &t->in.dev[d];
    bool hex = r->hex;
    if (r->args) {
        if (hex) {
            dv->hex_sizes = true;
            tl_version_has(t, QV_TR_VFIO_HEX_SIZES,
                           "VFIO sizes in hex (< 9.2)");
        } else if (!fork) {
            tl_version_has(t, QV_TR_VFIO_DEC_SIZES,
                           "VFIO sizes in decimal (9.2+)");
        }
    }
    uint64_t init = tl_arg_u(r, 4), dirty = tl_arg_u(r, 5);
    if (tl_has(r, 4)) {
        dv->precopy_init_last = init;
        dv->precopy_dirty_last = dirty;
        if (init || dirty) {
            dv->precopy = true;
        }
    }
    uint64_t contrib;
    if (fork) {
        uint64_t sc = tl_arg_u(r, 3);
        contrib = sc > init + dirty ? sc : init + dirty;
        exact = tl_arg_u(r, 7) != 0;
        tl_version_has(t, QV_TR_VFIO_STATE_PENDING,
                       "vfio_state_pending (post-10.2 fork)");
    } else if (exact) {
        uint64_t sc = tl_arg_u(r, 3);
        /* 8.1-9.1 add the pre-copy sizes to the stop-copy size */
        contrib = sc + (hex && tl_has(r, 4) ? init + dirty : 0);
        if (!tl_has(r, 4)) {
            tl_version_has(t, QV_TR_VFIO_EXACT_NO_PRECOPY,
                           "vfio_state_pending_exact without "
                           "pre-copy sizes (8.0)");
        }
    } else {
        contrib = init + dirty;
        tl_version_has(t, QV_TR_VFIO_PENDING_EST,
                       "vfio_state_pending_estimate (8.1+)");
    }
    if (exact || fork) {
        uint64_t sc = tl_arg_u(r, 3);
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
    tl_arg_str(r, 1, idstr, sizeof(idstr));
    tl_arg_str(r, 0, type, sizeof(type));
    int64_t us = (int64_t)tl_arg_u(r, 3);
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
            tl_device_index(t, dev);
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
        tl_open_iteration(t, now, 0, 0, r->file, r->line);
        t->n_est--; /* no estimate was traced */
    }
    t->it.exact_called = true;
    t->it.exact = tl_arg_u(r, 0);
    t->it.exact_pre = tl_arg_u(r, 1);
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
        tl_version_has(t, QV_TR_PENDING_ONE, "migrate_pending (7.2)");
        tl_open_iteration(t, now, tl_arg_u(r, 0), tl_arg_u(r, 1), r->file,
                          r->line);
        /* 7.2 prints the threshold itself */
        t->threshold = tl_arg_u(r, 3);
        t->thr_known = true;
        in->threshold_traced = true;
        t->it.threshold = t->threshold;
        t->it.thr_known = true;
        break;
    case TRC_EV_PENDING_ESTIMATE:
        tl_version_has(t, QV_TR_PENDING_SPLIT,
                       "migrate_pending_estimate (8.0+)");
        tl_open_iteration(t, now, tl_arg_u(r, 0), tl_arg_u(r, 1), r->file,
                          r->line);
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
        tl_switchover(t, now, tl_arg_u(r, 0));
        break;
    case TRC_EV_SET_STATE:
        tl_arg_str(r, 0, buf, sizeof(buf));
        tl_status_change(t, buf, now, r->file, r->line);
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
        if (in->switchover && t->vm_stopped_ns == NO_T &&
            in->switchover_t_ns != NO_T && now >= in->switchover_t_ns) {
            t->vm_stopped_ns = now;
        }
        tl_add_event(t, now, RUN_EV_NOTE, 0, 0, "VM stopped for switchover");
        break;
    case TRC_EV_POSTCOPY_START:
        in->postcopy = true;
        tl_add_event(t, now, RUN_EV_NOTE, 0, 0, "postcopy start");
        break;
    case TRC_EV_SWITCHOVER_ACKED:
        tl_add_event(t, now, RUN_EV_NOTE, 0, 0, "switchover acked");
        break;
    case TRC_EV_THROTTLE:
        tl_add_event(t, now, RUN_EV_NOTE, 0, 0, "auto-converge throttle");
        break;
    case TRC_EV_CPU_THROTTLE_SET:
        t->throttle = (double)tl_arg_u(r, 0);
        if (t->throttle > t->throttle_max) {
            t->throttle_max = t->throttle;
        }
        tl_add_event(t, now, RUN_EV_THROTTLE, tl_arg_u(r, 0), 0,
                     "throttle %llu%%", (unsigned long long)tl_arg_u(r, 0));
        break;
    case TRC_EV_CPU_THROTTLE_DIRTY_SYNC:
        tl_version_has(t, QV_TR_CPU_THROTTLE_SYNC,
                       "cpu_throttle_dirty_sync (9.2+)");
        break;
    case TRC_EV_DIRTY_LIMIT_GUEST:
        tl_add_event(t, now, RUN_EV_PARAM, tl_arg_u(r, 0), 0,
                     "dirty-limit=%lluMB/s",
                     (unsigned long long)tl_arg_u(r, 0));
        break;
    case TRC_EV_DIRTYLIMIT_SET_VCPU:
        tl_add_event(t, now, RUN_EV_PARAM, tl_arg_u(r, 1), 0,
                     "vcpu %lld dirty-limit=%llu",
                     (long long)(int64_t)tl_arg_u(r, 0),
                     (unsigned long long)tl_arg_u(r, 1));
        break;
    case TRC_EV_RATE_LIMIT_PRE:
        in->rate_limit_sleeps++;
        if ((int64_t)tl_arg_u(r, 0) > 0) {
            in->rate_limit_sleep_ns =
                tl_add_sat(in->rate_limit_sleep_ns,
                           (int64_t)(tl_arg_u(r, 0) & 0x7fffffff) * MS);
        }
        break;
    case TRC_EV_SAVEVM_STATE_ITERATE:
        in->iterate_passes++;
        if (t->it.open) {
            t->it.iterated = true;
        }
        break;
    case TRC_EV_RAM_SAVE_COMPLETE:
        tl_version_has(t, QV_TR_RAM_SAVE_COMPLETE,
                       "ram_save_complete trace (10.1+)");
        break;
    case TRC_EV_DOWNTIME_SAVE:
        tl_version_has(t, QV_TR_VMSTATE_DOWNTIME, "vmstate_downtime_* (8.2+)");
        item_add(t, r, false);
        break;
    case TRC_EV_DOWNTIME_LOAD:
        item_add(t, r, true);
        break;
    case TRC_EV_DOWNTIME_CHECKPOINT:
        if (in->n_checkpoints < TL_MAX_CHECKPOINTS) {
            struct tl_checkpoint *c = &in->checkpoints[in->n_checkpoints++];
            tl_arg_str(r, 0, c->name, sizeof(c->name));
            c->t_ns = r->t_ns;
            c->dest = strncmp(c->name, "dst-", 4) == 0;
        }
        break;
    case TRC_EV_INCOMING_END:
        if (r->name_len == 30) {
            tl_version_has(t, QV_TR_INCOMING_END,
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
        d = tl_rec_device(t, r);
        if (d >= 0 && (int64_t)tl_arg_u(r, 1) >= 0) {
            in->dev[d].stop_copy_last = tl_arg_u(r, 3);
            if (tl_arg_u(r, 3) > in->dev[d].stop_copy_max) {
                in->dev[d].stop_copy_max = tl_arg_u(r, 3);
            }
            tl_series_push(&in->dev_stop_copy[d], now, (double)tl_arg_u(r, 3));
        }
        break;
    case TRC_EV_VFIO_SAVE_PENDING:
        tl_version_has(t, QV_TR_VFIO_V1, "vfio_save_pending (VFIO v1, 7.2)");
        break;
    case TRC_EV_VFIO_UPDATE_PENDING:
        d = tl_rec_device(t, r);
        if (d >= 0) {
            t->pend_est[d] = tl_arg_u(r, 2);
            t->pend_est_mask |= 1u << d;
            in->dev[d].estimate_last = tl_arg_u(r, 2);
        }
        break;
    case TRC_EV_VFIO_SAVE_ITERATE:
        d = tl_rec_device(t, r);
        if (d >= 0 && tl_has(r, 4)) {
            in->dev[d].precopy_init_last = tl_arg_u(r, 4);
            in->dev[d].precopy_dirty_last = tl_arg_u(r, 5);
            in->dev[d].precopy = true;
        } else if (d >= 0 && tl_has(r, 1) && (int64_t)tl_arg_u(r, 1) > 0) {
            t->dev_precopy_bytes[d] += tl_arg_u(r, 1);
        }
        break;
    case TRC_EV_VFIO_SAVE_BLOCK:
        d = tl_rec_device(t, r);
        if (d >= 0 && (int64_t)tl_arg_u(r, 1) > 0) {
            if (in->switchover) {
                in->dev[d].saved_bytes += tl_arg_u(r, 1);
            } else {
                t->dev_precopy_bytes[d] += tl_arg_u(r, 1);
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
        tl_version_has(t, QV_TR_VFIO_SAVE_COMPLETE_START,
                       "vfio_save_complete_precopy_start "
                       "(10.0+)");
        d = tl_rec_device(t, r);
        if (d >= 0) {
            t->dev_save_start[d] = now;
        }
        break;
    case TRC_EV_VFIO_SAVE_COMPLETE:
        d = tl_rec_device(t, r);
        if (d >= 0 && now != NO_T && t->dev_save_start[d] != NO_T) {
            t->dev_save_ns[d] = now - t->dev_save_start[d];
        }
        break;
    case TRC_EV_VFIO_SAVE_ITERATE_START:
        tl_version_has(t, QV_TR_VFIO_SAVE_ITERATE_START,
                       "vfio_save_iterate_start (10.0+)");
        break;
    case TRC_EV_VFIO_VMSTATE_CHANGE_PREPARE:
        tl_version_has(t, QV_TR_VFIO_P2P_PREPARE,
                       "vfio_vmstate_change_prepare (8.2+)");
        /* fall through */
    case TRC_EV_VFIO_VMSTATE_CHANGE:
        d = tl_rec_device(t, r);
        if (d >= 0) {
            tl_arg_str(r, 3, buf, sizeof(buf));
            tl_dev_state(t, d, buf, NULL, now, r);
        }
        break;
    case TRC_EV_VFIO_SET_STATE:
    case TRC_EV_VFIO_SET_DEVICE_STATE:
        d = tl_rec_device(t, r);
        if (d >= 0) {
            char rec_s[32];
            tl_arg_str(r, 1, buf, sizeof(buf));
            tl_arg_str(r, 2, rec_s, sizeof(rec_s));
            if (buf[0] >= '0' && buf[0] <= '9') {
                tl_version_has(t, QV_TR_VFIO_V1,
                               "numeric VFIO states (v1, 7.2)");
            }
            tl_dev_state(t, d, buf,
                         r->ev == TRC_EV_VFIO_SET_STATE ? rec_s : NULL, now, r);
        }
        break;
    case TRC_EV_VFIO_SAVE_SETUP:
        tl_rec_device(t, r);
        break;
    default:
        return false;
    }
    return true;
}

/* Cleanup, cancel and error records: version evidence (renamed in 10.0)
 * and notes.  A cancel after the migration ended is QEMU quitting (10.0
 * writes migration_cancel at exit after a completed migration), not a
 * cancel; a real one shows as the status cancelling/cancelled.  false if r
 * is not one of them. */
static bool on_end_event(struct tl *t, const struct trc_record *r, int64_t now)
{
    bool v10 = r->ev == TRC_EV_MIG_CLEANUP || r->ev == TRC_EV_MIG_CANCEL ||
               r->ev == TRC_EV_MIG_ERROR;
    switch (r->ev) {
    case TRC_EV_MIG_CLEANUP:
    case TRC_EV_FD_CLEANUP:
        break;
    case TRC_EV_MIG_CANCEL:
    case TRC_EV_FD_CANCEL:
        if (!t->ended) {
            tl_add_event(t, now, RUN_EV_NOTE, 0, 0, "cancel requested");
        }
        break;
    case TRC_EV_MIG_ERROR:
    case TRC_EV_FD_ERROR: {
        char e[96];
        tl_arg_str(r, 0, e, sizeof(e));
        tl_add_event(t, now, RUN_EV_NOTE, 0, 0, "error: %s", e);
        break;
    }
    default:
        return false;
    }
    if (v10) {
        tl_version_has(t, QV_TR_MIGRATION_CLEANUP,
                       "migration_cleanup/_cancel, migrate_error (10.0+)");
    } else {
        tl_version_has(t, QV_TR_MIGRATE_FD,
                       "migrate_fd_cleanup/_cancel/_error (<= 9.2)");
    }
    return true;
}

static void on_event(struct tl *t, const struct trc_record *r, int64_t now)
{
    static const char gs[] = "migrate_global_state_pre_save";
    if (r->ev == TRC_EV_OTHER_KNOWN) {
        /* known by name only: one of them times a < 10.0 downtime */
        if (t->vm_stopped_ns != NO_T && t->gstate_save_ns == NO_T &&
            r->name_len == sizeof(gs) - 1 &&
            memcmp(r->name, gs, sizeof(gs) - 1) == 0) {
            t->gstate_save_ns = now;
        }
        return;
    }
    if (!on_core_event(t, r, now) && !on_note_event(t, r, now) &&
        !on_end_event(t, r, now) && !on_vfio_size_event(t, r, now)) {
        on_vfio_state_event(t, r, now);
    }
}

/* Parameters a command set (migrate-set-parameters and older commands
 * in a libvirt debug log, a Proxmox "migration downtime limit"): the
 * downtime-limit is then read, not assumed nor inferred. */
static void on_params(struct tl *t, const struct trc_record *r)
{
    struct tl_info *in = &t->in;
    int64_t now = tl_rel(t, r->t_ns);
    if (tl_has(r, 0) && r->a[0].u > 0 && r->a[0].u <= 2000000) {
        t->dl_ns = (int64_t)r->a[0].u * MS;
        in->limit_read = true;
        in->limit_inferred = false;
        snprintf(in->limit_source, sizeof(in->limit_source), "%.*s",
                 (int)r->name_len, r->name);
        tl_add_event(t, now, RUN_EV_PARAM, r->a[0].u, 0,
                     "downtime-limit=%llums (%s)",
                     (unsigned long long)r->a[0].u, in->limit_source);
    }
    if (tl_has(r, 1)) {
        tl_add_event(t, now, RUN_EV_PARAM, r->a[1].u, 0,
                     "max-bandwidth=%lluB/s", (unsigned long long)r->a[1].u);
    }
    if (tl_has(r, 2) && r->a[2].u) {
        in->avail_switchover_bps = r->a[2].u;
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
        tl_status_change(t, s->status, t->t0_set ? tl_rel(t, r->t_ns) : now,
                         r->file, r->line);
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
    smp->downtime_limit_ns = t->dl_ns;
    uint64_t page = in->page_bytes ? in->page_bytes : 4096;
    smp->dirty_rate_bps = s->dirty_pages_rate * page;
    smp->sent_bytes = s->transferred_bytes;
    smp->throttle_pct = s->throttle_pct;
    if (s->have & TRC_SNAP_EXPECTED_DOWNTIME) {
        smp->expected_downtime_ns = s->expected_downtime_ms * MS;
    }
    tl_deci_push(&t->coarse, smp);
    bool active =
        !(s->have & TRC_SNAP_STATUS) || strcmp(s->status, "active") == 0;
    if (active && (s->have & TRC_SNAP_REMAINING)) {
        tl_decision(&t->cs, s->dirty_sync_count, s->remaining_bytes, bw,
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

/* A source record earlier than the previous one of the same input by
 * more than TL_BACK_TOLERANCE_NS (threads' lines interleave by a few us;
 * a different input may be another host's clock): counted, the first
 * one's line kept for the warning. */
#define TL_BACK_TOLERANCE_NS (1 * MS)
static void note_time_order(struct tl *t, const struct trc_record *r)
{
    if (t->prev_t_set && r->file == t->prev_t_file &&
        r->t_ns < t->prev_t - TL_BACK_TOLERANCE_NS) {
        if (t->time_back++ == 0) {
            t->time_back_file = r->file;
            t->time_back_line = r->line;
            t->time_back_ns = t->prev_t - r->t_ns;
        }
    }
    t->prev_t = r->t_ns;
    t->prev_t_file = r->file;
    t->prev_t_set = true;
}

int tl_feed(struct tl *t, const struct trc_record *r, const char *file_name)
{
    struct trc_record tmp;
    if (r->t_ns != TRC_NO_TIME && (r->t_ns < 0 || r->t_ns > TL_MAX_ABS_NS)) {
        if (t->time_bad++ == 0) {
            t->time_bad_file = r->file;
            t->time_bad_line = r->line;
        }
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
            tl_why(t, "QMP greeting %u.%u.%u", maj, min, mic);
        }
        return 0;
    }
    if (r->kind == TRC_REC_SNAPSHOT) {
        on_snapshot(t, r);
        return 0;
    }
    if (r->kind == TRC_REC_PARAMS) {
        on_params(t, r);
        return 0;
    }
    if (r->format == t->last_fmt) {
        /* version evidence of the line shape: once per shape change */
    } else if ((t->last_fmt = r->format) == TRC_FMT_LOG_ISO) {
        tl_version_has(t, QV_TR_ISO_PREFIX, "ISO-8601 log prefix (10.1+)");
    } else if (r->format == TRC_FMT_LOG_TID) {
        tl_version_has(t, QV_TR_TID_PREFIX,
                       "TID@SEC.USEC log prefix (<= 10.0)");
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
            t->t_last = r->t_ns;
        }
        note_time_order(t, r);
        if (t->ended) {
            t->after_end++; /* cleanup, quit: not part of the migration */
        } else if (r->t_ns > t->t_last) {
            t->t_last = r->t_ns;
        }
    }
    int64_t now = dest ? NO_T : tl_rel(t, r->t_ns);
    if (r->kind == TRC_REC_QMP_EVENT) {
        if (r->name_len == 9 && memcmp(r->name, "MIGRATION", 9) == 0 &&
            (r->present & 1) && r->a[0].s) {
            char st[32];
            tl_arg_str(r, 0, st, sizeof(st));
            tl_status_change(t, st, now, r->file, r->line);
        } else if (r->name_len == 14 &&
                   memcmp(r->name, "MIGRATION_PASS", 14) == 0) {
            if (r->a[0].u > t->pass_max) {
                t->pass_max = r->a[0].u;
            }
        } else {
            tl_add_event(t, now, RUN_EV_NOTE, 0, 0, "QMP %.*s",
                         (int)r->name_len, r->name);
        }
        return 0;
    }
    if (r->kind == TRC_REC_EVENT && r->ev >= TRC_EV_OTHER_KNOWN) {
        on_event(t, r, now);
    }
    return 0;
}
