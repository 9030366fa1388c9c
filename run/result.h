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

#include <stdarg.h>
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

/*
 * Decimation (opt-in, run_result_set_limits; a long simulation uses it so
 * that memory does not grow with the simulated time).  Deterministic:
 *   samples  every sample offered is candidate number k (0, 1, 2, ...);
 *            the kept ones are those with k a multiple of the stride
 *            (initially 1).  When max_samples are kept and one more is due,
 *            the stride doubles and every other kept sample goes (the
 *            survivors are again exactly the multiples of the new stride).
 *            The newest candidate, when the stride dropped it, is held
 *            back and appended by run_result_flush, so the series still
 *            ends at the last sample offered: at most max_samples + 1.
 *   events   run_result_add_event always keeps the event;
 *            run_result_add_event_rep adds one of a repetitive stream
 *            (1 .. RUN_EV_STREAMS - 1: e.g. the bitmap syncs), decimated
 *            within its stream by the same rule (max_events_per_stream
 *            kept per stream, no held-back newest); the other events and
 *            the order of all kept events are unchanged.
 * Without limits (the default) every sample and event is kept.
 */
#define RUN_EV_STREAMS 8

struct run_deci {
    size_t max_samples; /* 0: keep every sample */
    uint64_t sample_stride, samples_seen;
    bool held; /* held_sample: newest candidate, not kept */
    struct run_sample held_sample;
    size_t max_events; /* per stream; 0: keep every event */
    uint64_t ev_stride[RUN_EV_STREAMS], ev_seen[RUN_EV_STREAMS];
    size_t ev_kept[RUN_EV_STREAMS];
    unsigned char *ev_stream; /* per kept event: its stream (0: always) */
    size_t cap_ev_stream;
};

struct run_result {
    struct run_metrics m;
    struct run_sample *samples;
    size_t n_samples, cap_samples;
    struct run_event *events;
    size_t n_events, cap_events;
    struct run_deci deci;
};

void run_result_init(struct run_result *r);
void run_result_free(struct run_result *r);
/* Append; return 0, or -1 on allocation failure (the result stays valid). */
int run_result_add_sample(struct run_result *r, const struct run_sample *s);
int run_result_add_event(struct run_result *r, int64_t t_ns,
                         enum run_event_kind kind, uint64_t value,
                         int64_t dur_ns, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Decimate from now on: keep at most max_samples samples (+ the newest,
 * see run_result_flush) and max_events_per_stream events of each
 * repetitive stream; 0 = no limit.  Call on an empty result. */
void run_result_set_limits(struct run_result *r, size_t max_samples,
                           size_t max_events_per_stream);
/* An event of repetitive stream (1 .. RUN_EV_STREAMS - 1; others are kept
 * as run_result_add_event does).  0 also when the stride dropped it. */
int run_result_add_event_rep(struct run_result *r, unsigned stream,
                             int64_t t_ns, enum run_event_kind kind,
                             uint64_t value, int64_t dur_ns, const char *fmt,
                             ...) __attribute__((format(printf, 7, 8)));
/* The same with a va_list (formats only an event that is kept). */
int run_result_vadd_event_rep(struct run_result *r, unsigned stream,
                              int64_t t_ns, enum run_event_kind kind,
                              uint64_t value, int64_t dur_ns, const char *fmt,
                              va_list ap) __attribute__((format(printf, 7, 0)));
/* The newest sample offered (kept or held back), for a last correction;
 * NULL if none. */
struct run_sample *run_result_newest_sample(struct run_result *r);
/* The end of a decimated run: append the held-back newest sample.  -1 on
 * allocation failure. */
int run_result_flush(struct run_result *r);
const char *run_event_kind_name(enum run_event_kind k);

#endif
