/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/timeline_int.h — what the timeline's files share: the rebuild
 * state (struct tl) and the helpers the event handlers and the finish
 * step use.  Not a contract: only traces/timeline*.c include it.
 *
 *   timeline.c         state, buffers, iterations, status and VFIO states
 *   timeline_events.c  one record at a time (tl_feed): events, snapshots
 *   timeline_finish.c  the run result and the info at the end (tl_finish)
 */
#ifndef MIGSIM_TRACES_TIMELINE_INT_H
#define MIGSIM_TRACES_TIMELINE_INT_H

#include "traces/timeline.h"

#include <stdarg.h>

#include "devices/vfio_fsm.h"
#include "model/mig_status.h"

#define MS   1000000LL
#define SEC  1000000000LL
#define NO_T (-1)
#define ALL_VFIO_FLAGS                                                         \
    (VFIO_FSM_F_STOP_COPY | VFIO_FSM_F_P2P | VFIO_FSM_F_PRE_COPY)

/* Latest plausible trace time (ns since the epoch, year 2096): larger
 * values, and negative ones, are treated as "no time" so differences of
 * two times always fit int64. */
#define TL_MAX_ABS_NS 4000000000000000000LL

struct deci {
    char *v;
    size_t n, cap, elem;
    uint64_t stride, seen;
    bool last_kept; /* the newest element pushed was kept */
    bool have_last;
};

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

    /* migration boundaries: setup -> completed / failed / cancelled (what
     * query-migrate's total-time covers); records after the end (cleanup,
     * the migration_cancel QEMU writes at quit) do not extend the time */
    int64_t mig_setup_ns, mig_end_ns; /* relative, NO_T unknown */
    /* migration_completion_vm_stop after the switchover (NO_T none): the
     * VM stop where no vmstate_downtime_checkpoint times it (< 10.0) */
    int64_t vm_stopped_ns;
    /* migrate_global_state_pre_save after that VM stop (NO_T none): the
     * first non-iterable section's save, where no vmstate_downtime_save
     * times them (< 10.0) */
    int64_t gstate_save_ns;
    bool ended;
    uint64_t after_end; /* source records after the end */

    /* timestamps going backwards / out of range (first line kept) */
    uint64_t time_back, time_bad;
    uint64_t time_back_line, time_bad_line;
    unsigned time_back_file, time_bad_file;
    int64_t time_back_ns; /* how far the first one went back */
    int64_t prev_t;
    unsigned prev_t_file;
    bool prev_t_set;

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

    /* single evidence bits already applied (tl_version_has / _lacks):
     * narrowing by the same range again changes nothing, so the version
     * table is asked once per bit, not once per record */
    uint32_t v_has_done, v_lacks_done;
};

/* ---- helpers defined in timeline.c ---- */

/* Add to the QEMU version evidence text. */
void tl_why(struct tl *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tl_version_range(struct tl *t, unsigned lo, unsigned hi, const char *what);
/* Version evidence through the version table's trace bits (enum qv_trace,
 * run/qemu_version.h): the versions whose rows have / lack them. */
void tl_version_has(struct tl *t, unsigned bits, const char *what);
void tl_version_lacks(struct tl *t, unsigned bits, const char *what);
int tl_add_event(struct tl *t, int64_t t_ns, enum run_event_kind kind,
                 uint64_t value, int64_t dur, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void tl_arg_str(const struct trc_record *r, unsigned slot, char *buf,
                size_t len);
const char *tl_fname(const struct tl *t, unsigned file);
int tl_device_index(struct tl *t, const char *name);
int tl_rec_device(struct tl *t, const struct trc_record *r);
void tl_infer_limit(struct tl *t, double lo, double hi, int64_t now);
void tl_decision(struct dstats *d, uint64_t iter, uint64_t p, double bw,
                 double limit_s);
void tl_close_iteration(struct tl *t, int64_t next_start, bool complete);
void tl_open_iteration(struct tl *t, int64_t now, uint64_t est, uint64_t pre,
                       unsigned file, uint64_t line);
void tl_switchover(struct tl *t, int64_t now, uint64_t pending);
void tl_status_change(struct tl *t, const char *state, int64_t now,
                      unsigned file, uint64_t line);
void tl_dev_state(struct tl *t, int d, const char *state, const char *recover,
                  int64_t now, const struct trc_record *r);
void tl_deci_push(struct deci *d, const void *x);

/* Small enough to inline in every file. */
static inline int64_t tl_rel(struct tl *t, int64_t abs_ns)
{
    if (abs_ns == TRC_NO_TIME || !t->t0_set) {
        return NO_T;
    }
    return abs_ns - t->t0;
}

static inline uint64_t tl_arg_u(const struct trc_record *r, unsigned slot)
{
    return (r->present & (1u << slot)) ? r->a[slot].u : 0;
}

static inline bool tl_has(const struct trc_record *r, unsigned slot)
{
    return (r->present & (1u << slot)) != 0;
}

#endif
