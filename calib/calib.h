/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calib/calib.h — fitting the environment's constants from real runs:
 * contract of `migsim calibrate` (docs/calibrate.md).
 *
 * Each run is a replay (traces/replay.h) of a real migration — a trace, a
 * query-migrate log, or a stored live/lab run (its trace, with the figures
 * the store holds from query-migrate: downtime, downtime bytes, vCPUs).
 * From all runs together, by least squares (gsl_multifit_linear):
 *
 *   migration.sync_cost, .sync_cost_per_gib   every timed bitmap sync:
 *       duration = fixed + per_gib x guest GiB (per GiB only when the runs
 *       have two RAM sizes or more; else 0 and the fixed part carries it)
 *   migration.sender_page_cost, vm.zero_page_scan   every migrate_
 *       transferred window of the first pass of a run where max-bandwidth
 *       did not bind: window time = normal pages x c_n + zero pages x c_z
 *   vm.stop_cost, .stop_cost_per_vcpu   10.0's src-downtime-start ->
 *       src-vm-stopped = fixed + per_vcpu x vCPUs (per vCPU only with two
 *       vCPU counts or more)
 *   vm.non_iterable_save_time   10.0's vmstate_downtime_save non-iterable
 *       sums
 *   migration.link_bandwidth   the downtime phase: RAM bytes sent inside
 *       the downtime (query-migrate downtime-bytes) against the RAM section
 *       save time minus its bitmap sync (time = bytes / link)
 *   vm.non_iterable_load_time   what the observed downtime leaves after the
 *       parts above (destination load and the rest); when no run splits the
 *       downtime (7.2 has no vmstate_downtime_* events) the whole remainder
 *       goes to vm.stop_cost, the save and load times are set to 0 and the
 *       constants say so.
 *
 * Every constant has its value, its spread (standard error of the fit),
 * how many runs and points supported it, and a status: fitted, separated
 * (set by the rule above), or default (no run informed it: the scenario
 * default stays).  The calibration file is {"migsim_calibration": 1,
 * "runs": [...], "constants": [...], "scenario": {"vm": {...},
 * "migration": {...}}}; a scenario loads its "scenario" part with the
 * top-level key "calibration" (run/scenario.h).
 */
#ifndef MIGSIM_CALIB_CALIB_H
#define MIGSIM_CALIB_CALIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "traces/replay.h"

#define CALIB_MAX_RUNS 256

enum calib_status {
    CALIB_DEFAULT = 0, /* no run informed it: the scenario default */
    CALIB_FITTED,
    CALIB_SEPARATED, /* set by rule (not separable from another) */
};

enum calib_key {
    CALIB_SYNC_COST = 0,
    CALIB_SYNC_PER_GIB,
    CALIB_SENDER_PAGE,
    CALIB_ZERO_PAGE,
    CALIB_STOP,
    CALIB_STOP_PER_VCPU,
    CALIB_NI_SAVE,
    CALIB_NI_LOAD,
    CALIB_LINK,
    CALIB_SETUP,        /* migration.setup_time */
    CALIB_ZERO_LIMITED, /* vm.zero_page_scan_limited */
    CALIB_N_KEYS,
};

struct calib_const {
    const char *key;  /* scenario key, "migration.sync_cost" */
    const char *unit; /* "ns" or "B/s" */
    double value;     /* in unit (the default when CALIB_DEFAULT) */
    double spread;    /* standard error, same unit; 0 when not fitted */
    unsigned runs;    /* runs that contributed points */
    unsigned points;
    enum calib_status status;
    char note[160];
};

/* One real run. */
struct calib_run {
    char name[512];
    struct trc_replay r;
    unsigned vcpus;          /* 0 = unknown (1 assumed) */
    int64_t downtime_ns;     /* observed, -1 = from the trace */
    uint64_t downtime_bytes; /* 0 = unknown */
    bool return_path;        /* the source waited for the destination's SHUT
                                (return-path, postcopy-ram or switchover-ack on);
                                a postcopy start in the trace implies it too */
};

struct calib {
    unsigned n_runs;
    struct calib_run *runs; /* CALIB_MAX_RUNS */
    struct calib_const c[CALIB_N_KEYS];
};

/* Empty set; -1 on allocation failure. */
int calib_init(struct calib *c);
void calib_free(struct calib *c);
/* Add one run from a trace / query-migrate log; -1 with a message naming
 * the file. */
int calib_add_trace(struct calib *c, const char *path, char *err,
                    size_t errlen);
/* Add a replayed run the caller prepared (taken over: do not free r);
 * vcpus 0 / downtime_ns -1 / downtime_bytes 0 for unknown. */
int calib_add_replay(struct calib *c, const char *name, struct trc_replay *r,
                     unsigned vcpus, int64_t downtime_ns,
                     uint64_t downtime_bytes, char *err, size_t errlen);
/* Fit every constant from the runs added (0; -1 with a message when there
 * is no run). */
int calib_fit(struct calib *c, char *err, size_t errlen);
/* The calibration file's document. */
json_t *calib_json(const struct calib *c);
/* The table of `migsim calibrate`. */
void calib_print(FILE *f, const struct calib *c);

#endif
