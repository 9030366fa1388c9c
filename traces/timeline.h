/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/timeline.h — rebuilding what a migration did from reader records
 * (traces/trace.h): contract.
 *
 * Feed every record in input order with tl_feed(), then tl_finish() fills
 * a struct run_result (run/result.h: metrics, per-iteration samples,
 * events — the same shape a simulated run has, so the store and the plots
 * take replays too) and a struct tl_info with what only a replay has:
 * the state sequence and its violations, the downtime breakdown, what was
 * measured and what was inferred.
 *
 * Iterations.  One iteration per migration_iteration_run, opened by its
 * migrate_pending_estimate (7.2: migrate_pending); migrate_pending_exact,
 * bitmap syncs and VFIO pending lines between two estimates belong to it
 * (VFIO per-device lines print before the summary line, so they are held
 * until it arrives).  The threshold and bandwidth in force are the last
 * migrate_transferred (max_size, transferred/time_spent); without it the
 * bandwidth is derived from migration_transferred_bytes every >= 100 ms
 * and the threshold from bandwidth x downtime-limit (the assumed limit
 * when none can be inferred) — tl_info says which.  A switchover is
 * migration_thread_low_pending, or a status of device / postcopy-active /
 * completed.
 *
 * Syncs.  migration_bitmap_sync_end prints the dirty pages counted since
 * the start of the current >= 1 s rate period (QEMU resets the count
 * after a sync that ends more than 1000 ms after the period began); the
 * pages found by each sync and the dirty rate per period are recovered by
 * replaying that rule on the trace timestamps (without timestamps: a count
 * lower than the previous one starts a new period).
 *
 * Downtime.  vmstate_downtime_checkpoint deltas (source and destination
 * separately: their clocks are different hosts'), vmstate_downtime_save /
 * _load per idstr and type (iterable / non-iterable); VFIO devices are
 * matched by name ("0000:00:02.0/vfio" is device "0000:00:02.0").
 *
 * Status and device checks.  Migration status changes (migrate_set_state,
 * QMP MIGRATION events, query-migrate/info migrate status) go through the
 * shared status machine (model/mig_status.h) for the QEMU version guessed
 * from the trace; VFIO device state changes through the kernel device FSM
 * (devices/vfio_fsm.h).  Impossible sequences are listed with file:line.
 *
 * query-migrate / info migrate only (no trace events): a coarser timeline,
 * one sample per record (iteration = dirty-sync-count, estimate = RAM
 * remaining, bandwidth from the window throughput "mbps", threshold =
 * bandwidth x downtime-limit); tl_info.coarse is set.
 *
 * Memory is bounded whatever the trace length: samples and sync events are
 * decimated (every other one dropped, stride doubled) when their buffers
 * fill; other events, states and violations are capped and counted.
 * Per-iteration statistics are computed on every iteration, not on the
 * decimated series.  Times in run_result are ns since the first source
 * record with a time (tl_info.t0_ns, epoch for text traces).
 */
#ifndef MIGSIM_TRACES_TIMELINE_H
#define MIGSIM_TRACES_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run/result.h"
#include "traces/trace.h"

#define TL_DEFAULT_SAMPLES  4096
#define TL_DEFAULT_EVENTS   4096
#define TL_MAX_STATES       64
#define TL_MAX_VIOLATIONS   32
#define TL_MAX_ITEMS        32 /* downtime breakdown entries */
#define TL_MAX_CHECKPOINTS  16
#define TL_DEFAULT_LIMIT_NS (300 * 1000000LL) /* QEMU's downtime-limit */

/* A bounded time series: (t, v) points, decimated by 2 when full. */
struct tl_series {
    size_t n, cap;
    uint64_t stride, seen;
    int64_t *t_ns;
    double *v;
};
/* Append (0, or -1 on allocation failure).  cap 0 means
 * TL_DEFAULT_SAMPLES. */
int tl_series_push(struct tl_series *s, int64_t t_ns, double v);
void tl_series_free(struct tl_series *s);
/* Mean of the values (0 if empty), and the last value. */
double tl_series_mean(const struct tl_series *s);

struct tl_options {
    size_t max_samples;        /* 0: TL_DEFAULT_SAMPLES */
    size_t max_events;         /* 0: TL_DEFAULT_EVENTS */
    uint64_t page_bytes;       /* 0: from the input, else 4096 */
    int64_t downtime_limit_ns; /* assumed when not inferable; 0: 300 ms */
    double bandwidth_bps;      /* assumed when not measurable; 0: none */
    unsigned qemu;             /* QEMU version (902 style); 0: guess */
};

struct tl_state_change {
    int64_t t_ns; /* relative, -1 if unknown */
    char state[24];
    unsigned file;
    uint64_t line;
};

struct tl_violation {
    char msg[200]; /* "file:line: ..." */
};

/* One idstr of the downtime breakdown (times in ns, -1 = not traced). */
struct tl_item {
    char idstr[64];
    bool vfio;
    int64_t save_iterable_ns, save_non_iterable_ns;
    int64_t load_iterable_ns, load_non_iterable_ns;
};

struct tl_checkpoint {
    char name[40];
    int64_t t_ns; /* absolute, as traced */
    bool dest;
};

/* Per VFIO device (same index as run_metrics.devices). */
struct tl_device {
    char name[RUN_NAME_LEN];
    uint64_t stop_copy_last, stop_copy_max; /* from exact() / queries */
    uint64_t precopy_init_last, precopy_dirty_last;
    uint64_t estimate_last; /* what estimate() added */
    bool hex_sizes;         /* printed in hex: QEMU < 9.2 */
    bool precopy;           /* PRE_COPY states or precopy sizes seen */
    int state;              /* enum vfio_fsm_state, -1 unknown */
    unsigned transitions;
    uint64_t saved_bytes; /* vfio_save_block data during completion */
};

struct tl_info {
    bool has_time;
    int64_t t0_ns;   /* absolute time of the first source record */
    int64_t span_ns; /* first to last source record */
    bool coarse;     /* built from query-migrate / info migrate only */
    uint64_t n_snapshots;
    char status[32]; /* last known migration status */

    /* QEMU version: range guessed from the trace (902 style) */
    unsigned qemu_lo, qemu_hi;
    char qemu_why[160];
    unsigned qemu_model; /* the version used for the checks */

    /* what the numbers rest on */
    bool threshold_traced;  /* migrate_transferred / migrate_pending max */
    bool bandwidth_traced;  /* migrate_transferred */
    bool bandwidth_derived; /* migration_transferred_bytes deltas */
    bool bandwidth_assumed; /* tl_options.bandwidth_bps */
    bool limit_inferred;    /* from max_size / bandwidth */
    bool limit_read;        /* set by a command the input records */
    char limit_source[48];  /* that command ("migrate-set-parameters") */
    bool limit_assumed;     /* default or tl_options */
    double limit_lo_ms, limit_hi_ms; /* interval it was inferred to */
    uint64_t avail_switchover_bps;   /* traced switchover_bw, 0 = none */
    /* without a traced threshold: bounds implied by the decisions
     * (exact() called: estimate < threshold; no switchover: pending >=
     * threshold); hi 0 = no bound */
    double thr_lo_bytes, thr_hi_bytes;
    bool syncs_inferred;      /* bitmap_syncs from exact() calls (9.0+) */
    bool sync_time_estimated; /* from estimate -> exact gaps */

    /* iterations */
    uint64_t exact_spin_iterations;        /* exact() called, still above */
    double exact_gap_min, exact_gap_max;   /* exact - estimate, bytes */
    int64_t exact_first_ns, exact_last_ns; /* relative */
    int64_t exact_time_ns;                 /* estimate -> exact, summed */
    uint64_t rate_limit_sleeps;
    int64_t rate_limit_sleep_ns;
    uint64_t iterate_passes; /* savevm_state_iterate */

    bool switchover;
    uint64_t switchover_iteration;
    uint64_t switchover_pending;
    int64_t switchover_t_ns;
    bool completed, failed, cancelled, postcopy;

    /* convergence figures over all iterations */
    uint64_t decided; /* iterations that reached their decision */
    double min_dl_ms; /* min over iterations of pending / bw */
    uint64_t min_dl_iteration;
    uint64_t min_dl_pending;
    double min_dl_bw_bps;
    double min_asb_bps; /* min pending / limit */
    double bw_peak_bps, bw_mean_bps, bw_last_bps;
    double dirty_rate_mean_bps, dirty_rate_max_bps, dirty_rate_last_bps;
    uint64_t pending_first, pending_last, pending_min, pending_max;
    uint64_t ram_pending_last;  /* RAM part of the last estimate */
    uint64_t nonram_exact_last; /* exact minus RAM (device data) */
    uint64_t page_bytes;
    uint64_t ram_total_bytes;

    /* series for the derived inputs (traces/replay.h) */
    struct tl_series dirty_rate; /* bytes/s at sync ends */
    struct tl_series bandwidth;  /* bytes/s per window */
    struct tl_series pending;    /* decision pending, bytes */
    struct tl_series dev_stop_copy[RUN_MAX_DEVICES];
    struct tl_series nonram_exact; /* unattributed exact data */

    unsigned n_devices;
    unsigned devices_overflow;
    struct tl_device dev[RUN_MAX_DEVICES];

    /* status sequence and checks */
    unsigned n_states;
    uint64_t states_overflow;
    struct tl_state_change states[TL_MAX_STATES];
    unsigned n_violations;
    uint64_t violations_total;
    struct tl_violation violations[TL_MAX_VIOLATIONS];

    /* downtime breakdown */
    unsigned n_items;
    struct tl_item items[TL_MAX_ITEMS];
    unsigned n_checkpoints;
    struct tl_checkpoint checkpoints[TL_MAX_CHECKPOINTS];
    int64_t vm_stop_ns;           /* src-downtime-start -> src-vm-stopped */
    bool vm_stop_from_completion; /* else: the switchover ->
                                     migration_completion_vm_stop (< 10.0) */
    int64_t save_iterable_ns;     /* sums over items, -1 if none */
    int64_t save_non_iterable_ns;
    bool save_from_gstate; /* save_non_iterable_ns is, before 10.0,
                              migrate_global_state_pre_save -> completed */
    int64_t load_iterable_ns;
    int64_t load_non_iterable_ns;
    int64_t vfio_save_ns, vfio_load_ns;
    int64_t src_downtime_ns; /* traced or reported, -1 if unknown */

    /* migration boundaries: total time is setup -> completed / failed /
     * cancelled (query-migrate's total-time); source records after the
     * end (cleanup, the migration_cancel 10.0 writes at quit) are counted
     * here and do not extend it */
    bool ended;
    int64_t setup_ns, end_ns; /* relative, -1 unknown */
    uint64_t after_end_records;

    /* timestamps: going backwards (> 1 ms, same input) or out of range
     * (negative, past 2096: read as "no time"); the first of each is
     * described in time_warning ("file:line: ...", "" if none) */
    uint64_t time_backwards, time_out_of_range;
    char time_warning[240];

    uint64_t dropped_events; /* simpletrace "dropped" records */
    uint64_t dest_records;
    uint64_t events_dropped; /* run_result events beyond the cap */
};

struct tl;

/* New rebuild.  NULL on allocation failure. */
struct tl *tl_new(const struct tl_options *o);
void tl_free(struct tl *t);

/* Feed one record; file_name names rec->file in messages.  0, or -1 on
 * allocation failure. */
int tl_feed(struct tl *t, const struct trc_record *rec, const char *file_name);

/* Note simpletrace "dropped" counts (from the reader's stats). */
void tl_note_dropped(struct tl *t, uint64_t n);

/*
 * Finish: fill out (run_result_init is done here) and info (owned by the
 * caller; free its series with tl_info_free).  0, or -1 on allocation
 * failure with a message in err.
 */
int tl_finish(struct tl *t, struct run_result *out, struct tl_info *info,
              char *err, size_t errlen);
/* The devices' last reported stop-copy sizes, summed. */
uint64_t tl_info_stop_copy_bytes(const struct tl_info *in);
void tl_info_free(struct tl_info *info);

/* Saturating conversions of computed doubles (NaN -> 0), and saturating
 * int64 add, for figures derived from untrusted trace values. */
int64_t tl_i64(double x);
uint64_t tl_u64(double x);
int64_t tl_add_sat(int64_t a, int64_t b);

/* "7.2".."10.2" style name of a 902-style version (static buffer owned by
 * the caller: buf). */
const char *tl_qemu_name(unsigned v, char *buf, size_t len);

/* Is this migration status one a migration ends in (completed, failed,
 * cancelled)? */
bool tl_status_final(const char *state);
/* Does rec start another migration (a status setup, or a query-migrate /
 * info migrate status that is not final, after this rebuild's migration
 * ended)? */
bool tl_starts_next(const struct tl *t, const struct trc_record *rec);

#endif
