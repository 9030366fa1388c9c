/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plots/charts.c — the figures over several runs: compare, sweep, cdf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/units.h"
#include "plots/plot_internal.h"

/* ---- compare ---------------------------------------------------------- */

int pl_write_compare(struct out *o, const struct plot_run *runs, size_t n,
                     const struct plot_opts *op, char *err, size_t errlen)
{
    char name[300];
    snprintf(name, sizeof(name), "%s.dat", o->stem);
    FILE *f = pl_out_open(o, name, err, errlen);
    if (!f) {
        return -1;
    }
    fputs("\"idx\"\t\"total time (s)\"\t\"downtime (ms)\"\t"
          "\"downtime limit (ms)\"\t\"exact() calls\"\t"
          "\"time in bitmap syncs (ms)\"\t\"converged\"\t\"run\"\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const struct run_metrics *m = &runs[i].res->m;
        char label[256];
        plot_run_label(&runs[i], i, label, sizeof(label));
        fprintf(f, "%zu\t", i);
        pl_dat_num(f, (double)m->total_ns / 1e9);
        fputc('\t', f);
        pl_dat_num(f,
                   run_switched_over(m) ? (double)m->downtime_ns / 1e6 : NAN);
        fputc('\t', f);
        pl_dat_num(f, (double)m->downtime_limit_ns / 1e6);
        fputc('\t', f);
        pl_dat_num(f, (double)m->exact_calls);
        fputc('\t', f);
        pl_dat_num(f, (double)m->sync_time_ns / 1e6);
        fprintf(f, "\t%d\t", m->outcome == RUN_CONVERGED ? 1 : 0);
        pl_dat_str(f, label);
        fputc('\n', f);
    }
    if (pl_out_close(f, o, name, err, errlen) != 0) {
        return -1;
    }
    int w = op && op->width_px > 0 ? op->width_px : 1100;
    int h = op && op->height_px > 0 ? op->height_px : 800;
    pl_gp_header(o, "compare", w, h);
    FILE *g = o->gpf;
    fprintf(g,
            "set multiplot layout 2,2 title 'migsim: %zu runs compared'\n"
            "set style fill solid 0.6 border -1\n"
            "set boxwidth 0.6\n"
            "set xrange [-0.6:%f]\n"
            "set yrange [0:*]\n"
            "set xtics rotate by -25 left font ',8'\n"
            "set key top left\n"
            "set offsets 0, 0, graph 0.15, 0\n"
            "bar(c) = c > 0 ? 0x1f77b4 : 0xd62728\n",
            n, (double)n - 0.4);
    static const struct {
        int col;
        const char *ylabel;
    } panels[] = {{2, "total time (s)"},
                  {3, "downtime (ms)"},
                  {5, "exact() calls"},
                  {6, "time in bitmap syncs (ms)"}};
    for (int p = 0; p < 4; p++) {
        fprintf(g, "set ylabel '%s'\n", panels[p].ylabel);
        fprintf(g,
                "plot '%s' using 1:%d:(bar($7)):xticlabels(8) with boxes lc "
                "rgb variable notitle",
                name, panels[p].col);
        if (p == 0) {
            /* the legend of the colours */
            fputs(", \\\n     keyentry with boxes lc rgb '#1f77b4' title "
                  "'switched over', \\\n     keyentry with boxes lc rgb "
                  "'#d62728' title 'did not switch over'",
                  g);
        }
        if (panels[p].col == 3) {
            fprintf(g,
                    ", \\\n     '%s' using 1:4 with points pt 3 ps 2.5 lw 2 "
                    "lc rgb 'black' title 'downtime limit', \\\n     '%s' "
                    "using 1:(0):($7 > 0 ? '' : 'no switchover') with labels "
                    "rotate by 90 left offset 0,0.5 font ',8' notitle",
                    name, name);
        }
        fputc('\n', g);
    }
    fputs("unset multiplot\n", g);
    return 0;
}

/* ---- sweep and cdf: grouping ------------------------------------------ */

struct grp {
    char name[256];
    size_t *idx;
    size_t n;
};

static void groups_free(struct grp *g, size_t ng)
{
    for (size_t i = 0; i < ng; i++) {
        free(g[i].idx);
    }
    free(g);
}

static struct grp *group_runs(const struct plot_run *runs, size_t n, size_t *ng)
{
    struct grp *g = calloc(n ? n : 1, sizeof(*g));
    *ng = 0;
    if (!g) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char name[256];
        pl_run_group(&runs[i], name, sizeof(name));
        size_t k = 0;
        while (k < *ng && strcmp(g[k].name, name) != 0) {
            k++;
        }
        if (k == *ng) {
            snprintf(g[k].name, sizeof(g[k].name), "%s", name);
            g[k].idx = calloc(n, sizeof(size_t));
            if (!g[k].idx) {
                groups_free(g, *ng);
                return NULL;
            }
            (*ng)++;
        }
        g[k].idx[g[k].n++] = i;
    }
    return g;
}

static int cmp_x(const void *a, const void *b, void *ctx)
{
    const struct plot_run *runs = ctx;
    double x = runs[*(const size_t *)a].x;
    double y = runs[*(const size_t *)b].x;
    return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A parameter value in its own unit ("100 ms", "1 GiB", "128 MiB/s"),
 * reduced to the characters a script may hold. */
static void unit_text(enum run_unit u, double v, char *buf, size_t len)
{
    char t[64];
    switch (u) {
    case RUN_U_NS:
        units_fmt_time((int64_t)llround(v), t, sizeof(t));
        break;
    case RUN_U_BYTES:
        units_fmt_size(v > 0 ? (uint64_t)llround(v) : 0, t, sizeof(t));
        break;
    case RUN_U_BPS:
        units_fmt_rate(v, t, sizeof(t));
        break;
    default:
        snprintf(t, sizeof(t), "%.6g", v);
        break;
    }
    plot_safe_text(t, buf, len);
}

/* The distinct values of x (or y), sorted: *nd of them (malloc'ed). */
static double *distinct(const struct plot_run *runs, size_t n, bool use_y,
                        size_t *nd)
{
    double *v = malloc((n ? n : 1) * sizeof(double));
    *nd = 0;
    if (!v) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = use_y ? runs[i].y : runs[i].x;
    }
    qsort(v, n, sizeof(double), cmp_dbl);
    for (size_t i = 0; i < n; i++) {
        if (*nd == 0 || v[i] != v[*nd - 1]) {
            v[(*nd)++] = v[i];
        }
    }
    return v;
}

static size_t index_of(const double *v, size_t nd, double x)
{
    size_t i = 0;
    while (i + 1 < nd && v[i] != x) {
        i++;
    }
    return i;
}

/* Tics of a sweep axis at its distinct values (at positions pos: the
 * values themselves, or their index when by_index), labelled in the
 * parameter's unit; at most about 12 labels (every k-th value). */
static void axis_tics(FILE *g, const char *axis, const double *v, size_t nd,
                      enum run_unit u, bool by_index)
{
    size_t step = nd > 12 ? (nd + 11) / 12 : 1;
    fprintf(g, "set %stics (", axis);
    for (size_t i = 0; i < nd; i += step) {
        char t[64];
        unit_text(u, v[i], t, sizeof(t));
        fprintf(g, "%s'%s' %.10g", i ? ", " : "", t,
                by_index ? (double)i : v[i]);
    }
    fputs(")\n", g);
}

/* sweep with two parameters: a heat map of downtime over (x, y), one cell
 * per distinct pair at its index (evenly spaced, labelled in the
 * parameters' units), coloured by the mean downtime of the cell's runs
 * that switched over; a cell where none did is marked, not coloured. */
static int sweep_heat(struct out *o, const struct plot_run *runs, size_t n,
                      const char *xname, const char *yname, char *err,
                      size_t errlen)
{
    FILE *g = o->gpf;
    size_t nx, ny;
    double *xv = distinct(runs, n, false, &nx);
    double *yv = distinct(runs, n, true, &ny);
    double *sum = calloc(nx * ny + 1, sizeof(double));
    size_t *nconv = calloc(nx * ny + 1, sizeof(size_t));
    size_t *nall = calloc(nx * ny + 1, sizeof(size_t));
    int ret = -1;
    FILE *f = NULL;
    char name[300];
    snprintf(name, sizeof(name), "%s.dat", o->stem);
    if (!xv || !yv || !sum || !nconv || !nall) {
        err_set(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t c =
            index_of(xv, nx, runs[i].x) * ny + index_of(yv, ny, runs[i].y);
        const struct run_metrics *m = &runs[i].res->m;
        nall[c]++;
        if (run_switched_over(m)) {
            nconv[c]++;
            sum[c] += (double)m->downtime_ns / 1e6;
        }
    }
    f = pl_out_open(o, name, err, errlen);
    if (!f) {
        goto out;
    }
    fputs("\"x index\"\t\"y index\"\t\"mean downtime of the runs that "
          "switched over (ms)\"\t\"runs that switched over\"\t\"runs\"\t"
          "\"x\"\t\"y\"\n",
          f);
    size_t none = 0, partial = 0;
    for (size_t xi = 0; xi < nx; xi++) {
        for (size_t yi = 0; yi < ny; yi++) {
            size_t c = xi * ny + yi;
            if (!nall[c]) {
                continue;
            }
            none += nconv[c] == 0;
            partial += nconv[c] > 0 && nconv[c] < nall[c];
            fprintf(f, "%zu\t%zu\t", xi, yi);
            pl_dat_num(f, nconv[c] ? sum[c] / (double)nconv[c] : NAN);
            fprintf(f, "\t%zu\t%zu\t", nconv[c], nall[c]);
            pl_dat_num(f, xv[xi]);
            fputc('\t', f);
            pl_dat_num(f, yv[yi]);
            fputc('\n', f);
        }
    }
    if (pl_out_close(f, o, name, err, errlen) != 0) {
        goto out;
    }
    axis_tics(g, "x", xv, nx, runs[0].x_unit, true);
    axis_tics(g, "y", yv, ny, runs[0].y_unit, true);
    fprintf(g,
            "set title 'mean downtime over %s and %s (runs that switched "
            "over)'\n"
            "set xlabel '%s'\n"
            "set ylabel '%s'\n"
            "set cblabel 'downtime (ms)'\n"
            "set xrange [-0.5:%zu.5]\n"
            "set yrange [-0.5:%zu.5]\n"
            "set grid noxtics noytics\n"
            "set palette defined (0 '#313695', 1 '#74add1', 2 "
            "'#ffffbf', 3 '#f46d43', 4 '#a50026')\n"
            "set key outside top center horizontal\n"
            "plot '%s' using 1:2:(0.5):(0.5):3 with boxxyerror fs "
            "solid 1.0 border lc rgb 'white' lc palette notitle",
            xname, yname, xname, yname, nx - 1, ny - 1, name);
    if (partial) {
        fprintf(g,
                ", \\\n     '%s' using 1:2:($4 < $5 && $4 > 0 ? "
                "sprintf('%%d/%%d', int($4), int($5)) : '') with labels "
                "font ',8' title 'k/n: k of n runs switched over'",
                name);
    }
    if (none) {
        fprintf(g,
                ", \\\n     '%s' using 1:($4 > 0 ? NaN : $2) with points "
                "pt 2 ps 3 lw 2 lc rgb 'black' title 'no run switched over'",
                name);
    }
    fputc('\n', g);
    ret = 0;
out:
    free(xv);
    free(yv);
    free(sum);
    free(nconv);
    free(nall);
    return ret;
}

/* sweep with one parameter: downtime and total time per group. */
static int sweep_lines(struct out *o, const struct plot_run *runs, size_t n,
                       const char *xname, char *err, size_t errlen)
{
    FILE *g = o->gpf;
    size_t ng;
    struct grp *gr = group_runs(runs, n, &ng);
    if (!gr) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    fprintf(g,
            "set title 'downtime and total time against %s'\n"
            "set xlabel '%s'\n"
            "set ylabel 'downtime (ms)'\n"
            "set y2label 'total time (s)'\n"
            "set y2tics\n"
            "set ytics nomirror\n"
            "set yrange [0:*]\n"
            "set y2range [0:*]\n"
            "set key outside right top vertical\n",
            xname, xname);
    double xmax = 0;
    for (size_t i = 0; i < n; i++) {
        xmax = fmax(xmax, fabs(runs[i].x));
    }
    if (n && runs[0].x_unit != RUN_U_NONE) {
        size_t nd;
        double *xv = distinct(runs, n, false, &nd);
        if (xv) {
            axis_tics(g, "x", xv, nd, runs[0].x_unit, false);
        }
        free(xv);
    } else if (xmax >= 1e4) {
        fputs("set format x '%.1s%c'\n", g);
    }
    fputs("plot ", g);
    int ret = 0;
    bool failed_titled = false;
    for (size_t k = 0; k < ng && !ret; k++) {
        char name[300];
        snprintf(name, sizeof(name), "%s-g%zu.dat", o->stem, k);
        FILE *f = pl_out_open(o, name, err, errlen);
        if (!f) {
            ret = -1;
            break;
        }
        qsort_r(gr[k].idx, gr[k].n, sizeof(size_t), cmp_x, (void *)runs);
        fputs("\"x\"\t", f);
        pl_dat_str(f, gr[k].name);
        fputs("\t\"total time (s)\"\t\"converged\"\t\"downtime limit\"\t"
              "\"run\"\n",
              f);
        for (size_t j = 0; j < gr[k].n; j++) {
            const struct plot_run *r = &runs[gr[k].idx[j]];
            const struct run_metrics *m = &r->res->m;
            char label[256];
            plot_run_label(r, gr[k].idx[j], label, sizeof(label));
            pl_dat_num(f, r->x);
            fputc('\t', f);
            /* no switchover, no downtime: out of the mean line */
            pl_dat_num(f, run_switched_over(m) ? (double)m->downtime_ns / 1e6
                                               : NAN);
            fputc('\t', f);
            pl_dat_num(f, (double)m->total_ns / 1e9);
            fprintf(f, "\t%d\t", m->outcome == RUN_CONVERGED ? 1 : 0);
            pl_dat_num(f, (double)m->downtime_limit_ns / 1e6);
            fputc('\t', f);
            pl_dat_str(f, label);
            fputc('\n', f);
        }
        if (pl_out_close(f, o, name, err, errlen) != 0) {
            ret = -1;
            break;
        }
        /* Lines through the mean per x (smooth unique), every run as a
         * point. */
        fprintf(g,
                "%s'%s' using 1:2 smooth unique with lines lw 2 lc %zu, "
                "\\\n"
                "     '%s' using 1:2 with points pt 7 ps 0.8 lc %zu notitle, "
                "\\\n"
                "     '%s' using 1:3 axes x1y2 smooth unique with lines lw 1 "
                "dt 2 lc %zu %s",
                k ? ", \\\n     " : "", name, k + 1, name, k + 1, name, k + 1,
                k == 0 ? "title 'total time, right axis (dashed)'" : "notitle");
        if (k == 0) {
            fprintf(g,
                    ", \\\n     '%s' using 1:5 with lines lw 1 dt 3 lc rgb "
                    "'black' title 'downtime limit'",
                    name);
        }
        size_t failed = 0;
        for (size_t j = 0; j < gr[k].n; j++) {
            failed += runs[gr[k].idx[j]].res->m.outcome != RUN_CONVERGED;
        }
        if (failed) {
            fprintf(g,
                    ", \\\n     '%s' using 1:($4 > 0 ? NaN : 0) with points "
                    "pt 2 ps 2 lw 2 lc rgb '#d62728' %s",
                    name,
                    failed_titled ? "notitle" : "title 'did not converge'");
            failed_titled = true;
        }
    }
    fputc('\n', g);
    groups_free(gr, ng);
    return ret;
}

int pl_write_sweep(struct out *o, const struct plot_run *runs, size_t n,
                   const struct plot_opts *op, char *err, size_t errlen)
{
    char xname[80], yname[80];
    plot_safe_text(op && op->x_name ? op->x_name : "parameter", xname,
                   sizeof(xname));
    bool heat = op && op->y_name;
    plot_safe_text(heat ? op->y_name : "", yname, sizeof(yname));
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(runs[i].x) || (heat && !isfinite(runs[i].y))) {
            char label[256];
            plot_run_label(&runs[i], i, label, sizeof(label));
            err_set(err, errlen,
                    "sweep: run %s has no value for the "
                    "parameter",
                    label);
            return -1;
        }
    }
    int w = op && op->width_px > 0 ? op->width_px : 1000;
    int h = op && op->height_px > 0 ? op->height_px : 650;
    pl_gp_header(o, "sweep", w, h);
    return heat ? sweep_heat(o, runs, n, xname, yname, err, errlen)
                : sweep_lines(o, runs, n, xname, err, errlen);
}

/* The distinct downtime limits (at most 8, sorted) and the x range: it
 * holds every limit and every downtime. */
static double cdf_limits(const struct plot_run *runs, size_t n,
                         double limits[8], size_t *nlim)
{
    double limit_ms = 0, xmax = 0;
    *nlim = 0;
    for (size_t i = 0; i < n; i++) {
        const struct run_metrics *m = &runs[i].res->m;
        double l = (double)m->downtime_limit_ns / 1e6;
        if (l > limit_ms) {
            limit_ms = l;
        }
        if (run_switched_over(m)) {
            xmax = fmax(xmax, (double)m->downtime_ns / 1e6);
        }
        size_t k = 0;
        while (k < *nlim && limits[k] != l) {
            k++;
        }
        if (k == *nlim && l > 0 && *nlim < 8) {
            limits[(*nlim)++] = l;
        }
    }
    qsort(limits, *nlim, sizeof(double), cmp_dbl);
    xmax = fmax(xmax, limit_ms) * 1.1;
    if (!(xmax > 0)) {
        xmax = 1;
    }
    return xmax;
}

/* Title, axes, and one limit line per limit with staggered labels so
 * they do not overprint. */
static void cdf_setup(FILE *g, size_t conv, size_t n, double xmax,
                      const double *limits, size_t nlim)
{
    fprintf(g,
            "set title 'downtime distribution: %zu of %zu runs switched "
            "over (the others count as never)'\n"
            "set xlabel 'downtime (ms)'\n"
            "set ylabel 'fraction of runs with downtime <= x'\n"
            "set yrange [0:1.05]\n"
            "set xrange [0:%.10g]\n"
            "set key top left\n",
            conv, n, xmax);
    for (size_t k = 0; k < nlim; k++) {
        char t[64];
        unit_text(RUN_U_NS, limits[k] * 1e6, t, sizeof(t));
        fprintf(g,
                "set arrow %zu from %.10g, graph 0 to %.10g, graph 1 nohead "
                "dt 2 lw 2 lc rgb '#d62728'\n"
                "set label %zu 'limit %s' at %.10g, graph %.3f right "
                "offset -0.5,0 tc rgb '#d62728'\n",
                k + 1, limits[k], limits[k], k + 10, t, limits[k],
                0.97 - 0.05 * (double)k);
    }
}

/* The step curve of one group's nv sorted downtimes v, from 0 and flat to
 * the right edge. */
static void cdf_dat(FILE *f, const struct grp *gr, const double *v, size_t nv,
                    double xmax)
{
    fputs("\"downtime (ms)\"\t", f);
    char title[300];
    snprintf(title, sizeof(title), "%s: %zu of %zu switched over", gr->name, nv,
             gr->n);
    pl_dat_str(f, title);
    fputc('\n', f);
    /* A step curve from 0. */
    pl_dat_num(f, v[0]);
    fputs("\t0\n", f);
    for (size_t j = 0; j < nv; j++) {
        pl_dat_num(f, v[j]);
        fputc('\t', f);
        pl_dat_num(f, (double)(j + 1) / (double)gr->n);
        fputc('\n', f);
    }
    /* flat to the right edge: the share that never switches over */
    pl_dat_num(f, xmax);
    fputc('\t', f);
    pl_dat_num(f, (double)nv / (double)gr->n);
    fputc('\n', f);
}

/* Group k's data file and plot clause; a group with no run that switched
 * over has neither.  0, or -1 with err set. */
static int cdf_group(struct out *o, const struct plot_run *runs,
                     const struct grp *gr, size_t k, double xmax,
                     const char **sep, char *err, size_t errlen)
{
    double *v = malloc(gr->n * sizeof(double));
    if (!v) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    size_t nv = 0;
    for (size_t j = 0; j < gr->n; j++) {
        const struct run_metrics *m = &runs[gr->idx[j]].res->m;
        if (m->outcome == RUN_CONVERGED) {
            v[nv++] = (double)m->downtime_ns / 1e6;
        }
    }
    if (nv == 0) {
        free(v);
        return 0;
    }
    char name[300];
    snprintf(name, sizeof(name), "%s-g%zu.dat", o->stem, k);
    FILE *f = pl_out_open(o, name, err, errlen);
    if (!f) {
        free(v);
        return -1;
    }
    qsort(v, nv, sizeof(double), cmp_dbl);
    cdf_dat(f, gr, v, nv, xmax);
    free(v);
    if (pl_out_close(f, o, name, err, errlen) != 0) {
        return -1;
    }
    fprintf(o->gpf, "%s'%s' using 1:2 with steps lw 2 lc %zu", *sep, name,
            k + 1);
    *sep = ", \\\n     ";
    return 0;
}

int pl_write_cdf(struct out *o, const struct plot_run *runs, size_t n,
                 const struct plot_opts *op, char *err, size_t errlen)
{
    size_t ng;
    struct grp *gr = group_runs(runs, n, &ng);
    if (!gr) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    int w = op && op->width_px > 0 ? op->width_px : 1000;
    int h = op && op->height_px > 0 ? op->height_px : 600;
    pl_gp_header(o, "cdf", w, h);
    FILE *g = o->gpf;
    double limits[8] = {0};
    size_t nlim;
    double xmax = cdf_limits(runs, n, limits, &nlim);
    /* Only runs that switched over have a downtime; the others count in
     * the denominator, so a curve ends at its group's converged share. */
    size_t conv = 0;
    for (size_t i = 0; i < n; i++) {
        conv += runs[i].res->m.outcome == RUN_CONVERGED;
    }
    cdf_setup(g, conv, n, xmax, limits, nlim);
    if (conv == 0) {
        fputs("set label 2 'no run switched over' at graph 0.5, graph 0.5 "
              "center\n"
              "plot NaN notitle\n",
              g);
        groups_free(gr, ng);
        return 0;
    }
    fputs("plot ", g);
    int ret = 0;
    const char *sep = "";
    for (size_t k = 0; k < ng && !ret; k++) {
        ret = cdf_group(o, runs, &gr[k], k, xmax, &sep, err, errlen);
    }
    fputc('\n', g);
    groups_free(gr, ng);
    return ret;
}
