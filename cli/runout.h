/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/runout.h — printing simulated runs: table, JSON, CSV; series CSV.
 * Shared by simulate, compare and the planner.
 */
#ifndef MIGSIM_CLI_RUNOUT_H
#define MIGSIM_CLI_RUNOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/cli.h"
#include "run/result.h"
#include "run/scenario.h"

struct runout_ctx {
    const struct scenario *scenario;
    const char *source; /* scenario file */
    const struct run_result *runs;
    size_t n;
    bool rank;                /* compare: rank and mark costs */
    const long long *run_ids; /* store ids (or NULL) */
};

/* One run's metrics as a JSON object (the `results` array element). */
json_t *runout_metrics_json(const struct run_metrics *m);
int runout_print(const struct runout_ctx *c, enum cli_format f, FILE *out);
/* Per-iteration series of every run, CSV with a policy column. */
int runout_write_series(const struct runout_ctx *c, const char *path, char *err,
                        size_t errlen);
/* Order in which compare ranks runs: converged first, then total time,
 * then downtime.  Fills idx[0..n). */
void runout_rank(const struct run_result *runs, size_t n, size_t *idx);

#endif
