/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plots/plot.h — figures of runs through gnuplot: contract.
 *
 * plot_runs() writes a gnuplot script (<stem>.gp) and its data files
 * (<stem>*.dat, tab-separated, first line a header) next to the image and
 * then runs gnuplot on the script (fork/exec, no shell, in the image's
 * directory, stdin and stdout on /dev/null, stderr captured).  The files
 * stay, so a user can edit the script and re-render with `gnuplot
 * <stem>.gp`.  The terminal follows the extension of out_path: .png
 * (pngcairo) or .svg (svg).  The program is $MIGSIM_GNUPLOT if set, else
 * `gnuplot` on PATH.
 *
 * Kinds:
 *   timeline  per run: estimate, exact() and threshold over time on a log
 *             bytes axis, RAM dirty, each device's reported size; state
 *             changes as labelled vertical lines, bitmap syncs and other
 *             events as marks.  Several runs are stacked (at most
 *             PLOT_MAX_TIMELINE).
 *   compare   runs side by side: total time, downtime against the limit,
 *             exact() calls, time in bitmap syncs.
 *   sweep     a parameter against the outcome.  One parameter (x): the
 *             frontier, downtime and total time against x, one line per
 *             group, non-converged runs marked.  Two parameters (x, y): a
 *             heat map of downtime over (x, y), non-converged cells marked.
 *   cdf       the distribution of downtime over runs (seeds), one step
 *             curve per group, the downtime limit marked.
 *
 * Security: text that comes from inputs (device names, policies, event
 * text, labels, file names) never appears in the .gp script.  Labels go
 * into the .dat files (quoted; quotes, backslashes, backquotes and control
 * characters replaced by '_') and reach the figure through columnheader()
 * and xticlabels()/labels, which gnuplot does not evaluate.  File names in
 * the script are generated from the output stem restricted to
 * [A-Za-z0-9._+-] (other bytes become '_'); if that changes the image's
 * name, the rendered image is renamed to out_path afterwards.  Sweep axis
 * names are reduced to [A-Za-z0-9 ._:/=+%-].  The terminal runs with
 * `noenhanced` so labels are shown literally.
 *
 * Units on the figures: time in s (ms for downtime and syncs), sizes in
 * bytes on a log axis with SI prefixes.
 */
#ifndef MIGSIM_PLOTS_PLOT_H
#define MIGSIM_PLOTS_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "run/result.h"
#include "store/db.h"

#define PLOT_MAX_TIMELINE 8
#define PLOT_ERR_GNUPLOT  (-2) /* gnuplot missing, failed or timed out */

enum plot_kind { PLOT_TIMELINE = 0, PLOT_COMPARE, PLOT_SWEEP, PLOT_CDF };

const char *plot_kind_name(enum plot_kind k);
int plot_kind_from_name(const char *s, enum plot_kind *k); /* -1: unknown */

/* One run to draw.  Borrowed pointers; nothing is freed by the plots. */
struct plot_run {
    const struct db_run_meta *meta; /* may be NULL (id, policy for labels) */
    const struct run_result *res;   /* required */
    const char *label;              /* NULL: "#ID policy" (or "run N policy") */
    const char *group;              /* sweep/cdf curve; NULL: the policy */
    double x, y;                    /* sweep: parameter values of this run */
    enum run_unit x_unit, y_unit;   /* their units (plot_set_params; the
                                       axes are labelled in them) */
};

struct plot_opts {
    const char *x_name; /* sweep: name of the x parameter (axis label) */
    const char *y_name; /* sweep: second parameter (heat map) or NULL */
    int width_px;       /* 0: default per kind */
    int height_px;      /* 0: default per kind */
    bool no_render;     /* write .gp and .dat only */
    int timeout_s;      /* gnuplot time limit; 0: 120 s */
};

/*
 * Draw runs[0..n) as kind into out_path (.png or .svg).  opts may be NULL.
 * Returns 0; -1 on bad input or a file error; PLOT_ERR_GNUPLOT when gnuplot
 * cannot be run, exits non-zero, is killed or leaves no image (err then
 * holds its exit status and stderr).  On success err is set to gnuplot's
 * warnings if it printed any, else to "".
 */
int plot_runs(enum plot_kind kind, const struct plot_run *runs, size_t n,
              const char *out_path, const struct plot_opts *opts, char *err,
              size_t errlen);

/*
 * The default set for `--plot DIR` of simulate/compare/replay: one
 * timeline per run (timeline-<ID or index>.<ext>), and with two or more
 * runs compare.<ext> and cdf.<ext>.  ext is "png" or "svg" (NULL: png).
 * The directory is created if missing.  Returns the number of images
 * written, or a negative value as plot_runs.
 */
int plot_to_dir(const char *dir, const struct plot_run *runs, size_t n,
                const char *ext, char *err, size_t errlen);

/* Stored runs to draw: loaded together, freed together. */
struct plot_set {
    struct db_run_meta *metas;
    struct run_result *res;
    struct plot_run *runs; /* runs[i] points at metas[i], res[i] */
    size_t n;
};
/* Open the store at db_path, resolve the selectors (db_select_runs) and
 * load those runs.  0, DB_ERR_NOTFOUND or -1 as db_load_selected; on error
 * nothing is left allocated. */
int plot_set_load(struct plot_set *s, const char *db_path, char **sel, int nsel,
                  char *err, size_t errlen);
void plot_set_free(struct plot_set *s);
/* Value of sweep parameter name for a run: a dotted path into its scenario
 * JSON (numbers, booleans, strings with units), "seed", or the last
 * parameter-change event NAME=VALUE; NAN if it has none. */
double plot_run_param(const struct db_run_meta *m, const struct run_result *r,
                      const char *name);
/* Set x (and y if y_name) of every run; -1 naming a run without one. */
int plot_set_params(struct plot_set *s, const char *x_name, const char *y_name,
                    char *err, size_t errlen);

/* The label plot_runs uses for run i (label, or "#ID policy"). */
void plot_run_label(const struct plot_run *r, size_t i, char *buf, size_t len);

/* Filename-safe copy: bytes outside [A-Za-z0-9._+-] become '_', a leading
 * '.' or '-' too; "" becomes "plot".  Returns buf. */
char *plot_safe_name(const char *in, char *buf, size_t len);

/* Text safe inside a single-quoted gnuplot string: only
 * [A-Za-z0-9 ._:/=+%-] kept, other bytes become '_'.  Returns buf. */
char *plot_safe_text(const char *in, char *buf, size_t len);

#endif
