/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plots/plot_internal.h — shared between the plots' .c files only: the
 * output files of one figure, data-file cells and the figure writers.
 */
#ifndef MIGSIM_PLOTS_PLOT_INTERNAL_H
#define MIGSIM_PLOTS_PLOT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plots/plot.h"
#include "store/outfile.h"

struct out {
    char dir[1024];
    char stem[256];   /* safe stem */
    char ext[8];      /* "png" | "svg" */
    char image[300];  /* name gnuplot writes (in dir) */
    char final[1024]; /* the requested path */
    char gp[300];     /* script name (in dir) */
    FILE *gpf;
    int n_dat;
    /* Files being written: temporaries renamed into place on close. */
    struct outfile **files;
    size_t n_files;
};

/* Data-file cells: a quoted label (unsafe bytes '_'), a number (NaN for
 * a missing one), a size (NaN unless present and > 0; counts drawable
 * values in *valid). */
void pl_dat_str(FILE *f, const char *s);
void pl_dat_num(FILE *f, double v);
void pl_dat_bytes(FILE *f, uint64_t v, bool present, size_t *valid);
/* Bounded copy of a fixed char array that may lack a NUL. */
void pl_fixed_copy(char *dst, size_t dstlen, const char *src, size_t srclen);
/* The sweep/cdf group of a run (group, else its policy). */
void pl_run_group(const struct plot_run *r, char *buf, size_t len);
/* A data file or the script in the figure's directory: written to a
 * mkstemp temporary and renamed over the name on pl_out_close (which
 * reports write errors), so a symlink planted at the name is replaced, not
 * followed.  pl_out_discard drops an open one; pl_out_cleanup every one
 * still open. */
FILE *pl_out_open(struct out *o, const char *name, char *err, size_t errlen);
int pl_out_close(FILE *f, struct out *o, const char *name, char *err,
                 size_t errlen);
void pl_out_discard(FILE *f, struct out *o);
void pl_out_cleanup(struct out *o);
/* The script's terminal, output and data settings. */
void pl_gp_header(const struct out *o, const char *kind, int w, int h);

/* The figures (plots/timeline.c, plots/charts.c). */
int pl_write_timeline(struct out *o, const struct plot_run *runs, size_t n,
                      const struct plot_opts *op, char *err, size_t errlen);
int pl_write_compare(struct out *o, const struct plot_run *runs, size_t n,
                     const struct plot_opts *op, char *err, size_t errlen);
int pl_write_sweep(struct out *o, const struct plot_run *runs, size_t n,
                   const struct plot_opts *op, char *err, size_t errlen);
int pl_write_cdf(struct out *o, const struct plot_run *runs, size_t n,
                 const struct plot_opts *op, char *err, size_t errlen);

#endif
