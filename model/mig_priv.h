/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig_priv.h — inside the migration model: the thread's state and
 * the handler table (QEMU's SaveVMHandlers) the thread iterates over.
 * Private to model/mig*.c; the public contract is model/mig.h.
 *
 * A handler is one entry the thread walks in order (RAM first, then each
 * VFIO device, as QEMU registers them): at setup, for the pending
 * estimate and exact queries (the thread sums must/can/non-iterable over
 * the table once per query), for iterate, at VM stop, for the stop-copy
 * save (complete) and the destination's load of it, for the non-iterable
 * config state and for the data that cannot go in postcopy.  Every op but
 * attach may be NULL ("does nothing", 0 bytes, 0 ns).  Times are ns of
 * simulated time, costs thread time charged to the current pass, sizes
 * bytes.  docs/model.md has the recipe for a new handler kind.
 */
#ifndef MIGSIM_MODEL_MIG_PRIV_H
#define MIGSIM_MODEL_MIG_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/ram.h"
#include "devices/vfio_dev.h"
#include "engine/engine.h"
#include "model/mig.h"
#include "model/mig_status.h"
#include "run/qemu_version.h"

#define MIG_MAX_HANDLERS (1 + SCN_MAX_DEVICES)

/* What handlers report to one pending query (QEMU's must_precopy and
 * can_postcopy; non_iter: reported as non-iterable by a reporting variant,
 * counted into the switchover decision but never iterated). */
struct mig_pending {
    uint64_t must, can, non_iter;
};

/* The stop-copy save in progress (see mig_handler_ops.complete). */
struct mig_complete {
    int64_t t0;        /* VM stopped, devices in STOP_COPY */
    int64_t t;         /* main channel: end of what was written so far */
    int64_t load_end;  /* destination: end of what was loaded so far */
    int64_t mf_end;    /* multifd device-state threads: latest end */
    uint64_t mf_bytes; /* bytes they sent */
};

struct mig;
struct mig_handler;

struct mig_handler_ops {
    const char *name;
    /* Create this kind's instances for m->s and add each with
     * mig_handler_add(); 0, or -1 with a message in m->err. */
    int (*attach)(struct mig *m);
    /* save_setup at t (after the first RAM sync); returns its cost. */
    int64_t (*save_setup)(struct mig *m, struct mig_handler *h, int64_t t);
    /* state_pending_estimate / state_pending_exact at t: add to *p and
     * charge ioctls, syncs to *cost. */
    void (*pending_estimate)(struct mig *m, struct mig_handler *h, int64_t t,
                             int64_t *cost, struct mig_pending *p);
    void (*pending_exact)(struct mig *m, struct mig_handler *h, int64_t t,
                          int64_t *cost, struct mig_pending *p);
    /* is_active_iterate; NULL = always. */
    bool (*is_active_iterate)(const struct mig *m, const struct mig_handler *h);
    /* save_live_iterate at t: charge *cost, put the data bytes moved in
     * *moved; returns 1 when it has nothing left for now, 0 if more. */
    int (*iterate)(struct mig *m, struct mig_handler *h, int64_t t,
                   int64_t *cost, uint64_t *moved);
    /* A pass that moved this handler's data still counts as spin while
     * its pending is under the threshold (RAM). */
    bool spin_below_threshold;
    /* The VM stops (vmstate change handler) at t. */
    void (*vm_stop)(struct mig *m, struct mig_handler *h, int64_t t,
                    bool to_stop_copy);
    /* 10.0+: save in a multifd device-state thread from c->t0; true if it
     * did (then complete skips it).  Threads start when the main channel
     * reaches the first handler that has this op. */
    bool (*complete_threads)(struct mig *m, struct mig_handler *h,
                             struct mig_complete *c);
    /* save_complete on the main channel from c->t, advancing c->t; true if
     * it wrote a section (the destination then loads it). */
    bool (*complete)(struct mig *m, struct mig_handler *h,
                     struct mig_complete *c);
    /* Destination load time of its stop-copy section. */
    int64_t (*load_ns)(const struct mig_handler *h);
    /* Its share of the non-iterable state: bytes and destination load. */
    void (*config)(const struct mig_handler *h, uint64_t *bytes,
                   int64_t *load_ns);
    /* postcopy_start at t: save what cannot go in postcopy; returns the
     * cost and sets *wrote if a section was written. */
    int64_t (*postcopy_save)(struct mig *m, struct mig_handler *h, int64_t t,
                             bool *wrote);
    /* The migration completed at t (devices to STOP). */
    void (*end)(struct mig *m, struct mig_handler *h, int64_t t);
};

struct mig_handler {
    const struct mig_handler_ops *ops;
    void *opaque;      /* the kind's instance */
    uint64_t reported; /* must + can of its last pending report */
};

/* The handler kinds, one row each (model/mig.c holds the table). */
extern const struct mig_handler_ops mig_ram_ops;  /* model/mig_ram.c */
extern const struct mig_handler_ops mig_vfio_ops; /* model/mig_vfio.c */

#define MIG_EV_STEP_KIND     1 /* the engine event kind of a thread pass */
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

/* The last window's counters, by what they were computed from (see
 * update_counters in model/mig.c). */
struct mig_ctr_cache {
    bool ok, exp_ok;
    uint64_t transferred, time_ms, limit_ms, avail_bps;
    double bw, bw_per_ms;
    uint64_t threshold;
    uint64_t exp_rem;
    int64_t exp_ns;
};

struct mig {
    struct sim_engine *e;
    struct scenario s;
    const struct qv_row *qv; /* the row of s.qemu */
    struct pol_chain pol;
    bool pol_active;    /* some part has on_iteration */
    bool lean_ok;       /* RAM only, no policy hook: iteration_lean applies */
    bool ff_ok;         /* the fast-forward may run (model/mig_ff.c) */
    bool ff_diverged;   /* internal: a fast-forwarded read came out short */
    uint64_t ff_passes; /* passes the fast-forward ran (for tests) */
    /* after mig_ff declined at once: passes left before it looks again,
     * and the next such wait (doubling to 64, back to 0 when it runs) */
    unsigned ff_wait, ff_backoff;
    struct mig_options opt;
    struct run_result *out;
    struct ram_model *ram;
    unsigned nd;
    struct vdev d[SCN_MAX_DEVICES];
    struct mig_handler h[MIG_MAX_HANDLERS]; /* the table, in order */
    unsigned nh;
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
    struct mig_ctr_cache ctr;
    double ram_page_ns[3]; /* thread time per normal page: precopy and
                              postcopy while the VM runs (the sender's
                              ceiling applies), the downtime phase (the
                              link only); set by the RAM handler's attach */
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

/* The event streams that repeat with the simulated time, decimated in the
 * result (run/result.h); every other event is kept. */
enum mig_ev_stream {
    MIG_EVS_SYNC = 1, /* bitmap syncs */
    MIG_EVS_THROTTLE, /* auto-converge / dirty-limit triggers */
    MIG_EVS_PARAM,    /* parameter changes by policies */
    MIG_EVS_TIMER,    /* the 9.2+ auto-converge timer's syncs */
};

/* ---- small helpers --------------------------------------------------- */

/* Add a handler (attach ops); -1 when the table is full. */
int mig_handler_add(struct mig *m, const struct mig_handler_ops *ops,
                    void *opaque);

/* Helpers of the thread (model/mig.c) for the handlers. */
int64_t mig_bytes_ns(uint64_t bytes, double bps); /* rounded up; 0 if bps<=0 */
double mig_ram_throughput_bps(const struct mig *m); /* link vs multifd caps */
uint64_t mig_window_used(const struct mig *m);
bool mig_rate_exceeded(const struct mig *m);
/* The live phase's time per zero page: vm.zero_page_scan_limited while a
 * precopy max-bandwidth is in force and that is set, else zero_page_scan */
double mig_zero_page_ns(const struct mig *m);
/* migration_bitmap_sync at t; returns its cost. */
int64_t mig_bitmap_sync(struct mig *m, int64_t t);
/* The destination acks the switchover at t (switchover-ack). */
void mig_schedule_ack(struct mig *m, int64_t t);
/* Pieces of the thread loop (model/mig.c) the fast-forward replays. */
void mig_update_counters(struct mig *m, int64_t now);
bool mig_can_switchover(const struct mig *m);
bool mig_exact_wanted(struct mig *m, int64_t t, const struct mig_pending *p,
                      bool *ni_sleep);
bool mig_complete_ready(const struct mig *m, uint64_t pending);
/* One pass at t; the time of the next, or -1 when the migration ended. */
int64_t mig_pass(struct mig *m, int64_t t);

/* The VFIO handler's bookkeeping of k save_live_iterate calls that read n
 * bytes each, the last at t with its pass cost so far cost (the ack it may
 * schedule) (model/mig_vfio.c). */
void mig_vfio_account(struct mig *m, struct vdev *v, uint64_t n, uint64_t k,
                      int64_t t, int64_t cost);
bool mig_vfio_active(const struct mig *m, const struct vdev *v);

/*
 * The fast-forward (model/mig_ff.c), called by the thread loop after a
 * pass that asks for the next at next (not yet executed): runs the passes
 * that follow while they repeat a steady pattern, each still one engine
 * event (sim_advance_inline), and returns the time of the next pass left
 * to the loop, or -1 when the migration ended.
 */
int64_t mig_ff(struct mig *m, int64_t next);

void mig_ev(struct mig *m, int64_t t, enum run_event_kind k, uint64_t v,
            int64_t dur, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
