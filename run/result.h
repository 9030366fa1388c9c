/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/result.h — what one run (simulated, replayed or observed live)
 * produced: metrics, per-iteration series, events.  Contract shared by the
 * simulator, replay, the live backend, the run store and the plots.
 *
 * Times are int64 ns, sizes uint64 bytes, rates double bytes/s.  A result
 * owns its arrays; free with run_result_free().
 */
#ifndef MIGSIM_SIM_RESULT_H
#define MIGSIM_SIM_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUN_MAX_DEVICES 16
#define RUN_NAME_LEN    64

enum run_outcome {
    RUN_CONVERGED = 0, /* switched over and completed */
    RUN_TIMEOUT,       /* migration.time_limit reached without switchover */
    RUN_ABORTED,       /* a policy cancelled the migration */
    RUN_FAILED,        /* migration failed (error, device error) */
    RUN_INCOMPLETE,    /* run interrupted (live, replay of a cut trace) */
};

const char *run_outcome_name(enum run_outcome o);
int run_outcome_from_name(const char *s, enum run_outcome *o);

/* One sample per migration-thread iteration (migration_iteration_run). */
struct run_sample {
    int64_t t_ns;
    uint64_t iteration;
    uint64_t estimate_bytes; /* must + can from estimate() */
    uint64_t exact_bytes;    /* must + can from exact(); 0 if not called */
    bool exact_called;
    uint64_t threshold_bytes;  /* threshold_size in force */
    double bandwidth_bps;      /* measured in the last window */
    uint64_t ram_dirty_bytes;  /* migration bitmap after this iteration */
    uint64_t dirty_rate_bps;   /* guest page-write rate in force */
    uint64_t sent_bytes;       /* bytes this iteration put on the wire */
    int64_t downtime_limit_ns; /* in force */
    double throttle_pct;       /* CPU throttle in force (0 = none) */
    int64_t expected_downtime_ns;
    unsigned n_devices;
    uint64_t dev_reported_bytes[RUN_MAX_DEVICES];  /* what the device
                                                      reported this iteration */
    uint64_t dev_stop_copy_bytes[RUN_MAX_DEVICES]; /* its true size */
};

enum run_event_kind {
    RUN_EV_STATE = 0, /* migration status change: text = new state */
    RUN_EV_SYNC,      /* dirty bitmap sync: value = dirty pages found,
                         dur_ns = BQL-held time */
    RUN_EV_PARAM,     /* parameter change: text = "name=value" */
    RUN_EV_DEVICE,    /* VFIO device state change: text = "dev: A->B" */
    RUN_EV_THROTTLE,  /* throttle change: value = percent */
    RUN_EV_NOTE,      /* anything else worth a mark on a plot */
};

struct run_event {
    int64_t t_ns;
    enum run_event_kind kind;
    uint64_t value;
    int64_t dur_ns;
    char text[96];
};

struct run_device_result {
    char name[RUN_NAME_LEN];
    uint64_t precopy_bytes;   /* sent while the VM ran */
    uint64_t stop_copy_bytes; /* sent inside the downtime */
    int64_t save_ns;          /* save_complete time */
    int64_t load_ns;          /* destination load time */
};

struct run_metrics {
    enum run_outcome outcome;
    char qemu[16];           /* QEMU version model, e.g. "9.1" */
    char policy[160];        /* policy spec as given */
    int64_t total_ns;        /* start to completion (or give-up) */
    int64_t downtime_ns;     /* guest-visible: VM stop to destination
                                running */
    int64_t src_downtime_ns; /* as query-migrate reports (source side) */
    int64_t setup_ns;
    int64_t downtime_limit_ns; /* final limit in force */
    bool downtime_violation;   /* downtime_ns > downtime_limit_ns */
    uint64_t iterations;
    uint64_t bitmap_syncs;
    uint64_t estimate_calls;
    uint64_t exact_calls;
    double exact_calls_per_s;
    int64_t sync_time_ns; /* time spent in bitmap syncs */
    int64_t bql_ns;       /* BQL-held time in the migration thread */
    int64_t spin_cpu_ns;  /* thread time in iterations that moved no
                             data */
    uint64_t bytes_transferred;
    uint64_t precopy_bytes;
    uint64_t downtime_bytes;
    uint64_t postcopy_bytes;
    int64_t expected_downtime_ns; /* last value QEMU would show */
    double max_throttle_pct;
    bool postcopy;
    uint64_t fingerprint; /* engine event-stream fingerprint */
    unsigned n_devices;
    struct run_device_result devices[RUN_MAX_DEVICES];
};

struct run_result {
    struct run_metrics m;
    struct run_sample *samples;
    size_t n_samples, cap_samples;
    struct run_event *events;
    size_t n_events, cap_events;
};

void run_result_init(struct run_result *r);
void run_result_free(struct run_result *r);
/* Append; return 0, or -1 on allocation failure (the result stays valid). */
int run_result_add_sample(struct run_result *r, const struct run_sample *s);
int run_result_add_event(struct run_result *r, int64_t t_ns,
                         enum run_event_kind kind, uint64_t value,
                         int64_t dur_ns, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
const char *run_event_kind_name(enum run_event_kind k);

#endif
