/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * live/lab_validate.h — `migsim lab validate`: a grid of real lab
 * migrations, each simulated with the qemu model from the same parameters.
 *
 * Calibration (optional, first): one unlimited-bandwidth lab run of an
 * almost idle guest (half the RAM as working set, 64 KiB/s) gives the link
 * bandwidth (best sample) and the cost of one dirty-bitmap sync under TCG
 * (mean over the trace's syncs); both are set in every simulated scenario
 * (migration.link_bandwidth, migration.sync_cost, sync_cost_per_gib=0).
 *
 * Grid: working set x dirty rate x max-bandwidth x downtime-limit, first
 * axis slowest (plan_cross_coords).  Per cell: a lab run (recorded in
 * lo.db), then the lab's scenario (lab_scenario_json) with the guest's
 * measured write rate and zero fraction, simulated and recorded as a sim
 * run whose source names the real run.
 */
#ifndef MIGSIM_LIVE_LAB_VALIDATE_H
#define MIGSIM_LIVE_LAB_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "live/lab.h"
#include "live/live.h"
#include "run/result.h"

#define LAB_GRID_MAX 16

struct lab_validate_opts {
    struct lab_cfg cfg;  /* the base of every run (ram, qemu, limits) */
    struct live_opts lo; /* session options; lo.db stores both runs */
    bool calibrate;
    uint64_t ws[LAB_GRID_MAX], rate[LAB_GRID_MAX], bw[LAB_GRID_MAX];
    int64_t dl[LAB_GRID_MAX];
    size_t nws, nrate, nbw, ndl;
    /* warnings that do not stop the validation (a failed store); NULL =
     * stderr */
    void (*warn)(const char *msg);
    /* --calibrate (live/lab_fit.c): keep every run's trace, fit a
     * calibration (calib/calib.h) on half the grid and simulate the other
     * half with it */
    bool fit_half;
};
/* Defaults: working sets 32, 64 MiB; rates 8, 64 MiB/s; max-bandwidth
 * 16 MiB/s; downtime-limit 300 ms; time limit 30 s; calibrate. */
void lab_validate_opts_default(struct lab_validate_opts *o);

struct lab_validate_row {
    uint64_t ws, rate, bw;
    int64_t dl;
    /* --calibrate: in the half the calibration is fitted on.  The halves
     * are the two colours of a checkerboard over the grid (the parity of
     * the sum of the row's axis indices), so each holds every value of
     * every axis, and of two axes every pair of values but half */
    bool fit;
    bool ran; /* the real run reached an outcome and was simulated */
    char error[256];
    double guest_rate;
    enum run_outcome real, pred;
    uint64_t real_syncs, pred_syncs;
    int64_t real_total, pred_total, real_down, pred_down;
    long long real_id, sim_id;
};

struct lab_validate_result {
    struct lab_validate_row *rows; /* n_rows done (of n_planned) */
    size_t n_rows, n_planned;
    bool interrupted;  /* live_opts.stop was set */
    bool run_failed;   /* some lab run failed or ended early */
    bool disagree;     /* some verdict differs */
    uint64_t link_bps; /* calibration (0 = none) */
    int64_t sync_ns;
    int64_t setup_ns; /* its query-migrate setup-time (0 = none) */
    /* its trace's VM stop and non-iterable save, as replay reads them
     * (-1 = not traced) */
    int64_t stop_ns, save_ns;
    bool sync_median;  /* sync_ns is its trace's median, not the mean */
    char calib[512];   /* the calibration line */
    json_t *json_rows; /* one object per row (owned) */
    /* fit_half: the work folder (traces, calibration.json), each row's
     * model scenario, the validation half re-simulated with the fit */
    char fit_dir[256];
    char **model_json;
    struct lab_validate_row *fit_rows;
    size_t n_fit_rows, n_fit_runs;
    char fit_note[512];
};
/* live/lab_fit.c: the trace path of row k ("" unless fit_half) */
void lab_fit_trace_path(const struct lab_validate_result *r, size_t k,
                        char *buf, size_t len);
/* Fit on the calibration half (rows k with (k / 2) % 2 == 0: pairs, so
 * both halves hold every fastest-axis value) and re-simulate the other
 * half with it; 0, or -1 with a message. */
int lab_fit_half(const struct lab_validate_opts *o,
                 struct lab_validate_result *r, char *err, size_t errlen);
/* Both tables: the calibration half as simulated without it, the
 * validation half with it. */
void lab_fit_print(FILE *f, const struct lab_validate_result *r);
void lab_validate_result_free(struct lab_validate_result *r);

/* Run the validation.  0 when the grid ran (rows may hold errors: see
 * run_failed), -1 with a message when the calibration failed or memory
 * ran out (r is then still freeable). */
int lab_validate(const struct lab_validate_opts *o,
                 struct lab_validate_result *r, char *err, size_t errlen);

/* The result as a table (or markdown) with the agreement summary. */
void lab_validate_print(FILE *f, const struct lab_validate_result *r,
                        bool markdown);
/* The result as JSON (new reference). */
json_t *lab_validate_json(const struct lab_validate_result *r);

/* The lab run's diagnosis line stored with its run (rates, destination,
 * trace, zero fraction, scenario, final query-migrate). */
void lab_diagnosis(const struct lab_result *r, char *buf, size_t n);

#endif
