/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plots/report.h — one self-contained HTML page about one or more runs,
 * the thing a QE engineer attaches to a bug: contract.
 *
 * The page holds, per run: the outcome and the stored verdict and
 * diagnosis, the metadata (kind, source file and SHA-256, QEMU model,
 * policy, seed, rng, program version, command line, times, fingerprint,
 * completeness), the metrics table, the devices, the timeline figure and
 * the scenario JSON; for two or more runs also a summary table and the
 * compare and cdf figures.  Figures are PNGs rendered by plot_runs() and
 * embedded as base64 data: URIs; the CSS is inline; the page has no
 * scripts and no external references.  Every string from the inputs is
 * HTML-escaped (& < > " ').
 */
#ifndef MIGSIM_PLOTS_REPORT_H
#define MIGSIM_PLOTS_REPORT_H

#include <stddef.h>

#include "plots/plot.h"

#define PLOT_REPORT_MAX_TIMELINES 20 /* more runs: the first 20 */

struct plot_report_opts {
    const char *title;    /* page title; NULL: "migsim report" */
    const char *plot_dir; /* keep figures, .gp and .dat here (created if
                             missing); NULL: a temporary directory that is
                             removed afterwards */
};

/*
 * Write the page to out_path.  opts may be NULL.  Returns 0, -1 on a bad
 * argument or a file error, PLOT_ERR_GNUPLOT if a figure could not be
 * rendered (err says which and why).
 */
int plot_report_html(const struct plot_run *runs, size_t n,
                     const char *out_path, const struct plot_report_opts *opts,
                     char *err, size_t errlen);

/* Write s HTML-escaped (& < > " ' as entities; other control bytes but
 * tab and newline as U+FFFD). */
void plot_html_escape(FILE *f, const char *s);

/* Base64 (RFC 4648, no line breaks) of len bytes; malloc'ed, NUL-ended. */
char *plot_base64(const unsigned char *data, size_t len);

#endif
