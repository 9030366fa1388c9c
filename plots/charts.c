/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plots/charts.c — the figures over several runs: compare, sweep, cdf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
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
        pl_dat_num(f, (double)m->downtime_ns / 1e6);
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
            "set multiplot layout 2,2 title 'migsim: %zu runs compared "
            "(red bars: did not converge)'\n"
            "set style fill solid 0.6 border -1\n"
            "set boxwidth 0.6\n"
            "set xrange [-0.6:%f]\n"
            "set yrange [0:*]\n"
            "set xtics rotate by -25 left font ',8'\n"
            "set key top left\n"
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
        if (panels[p].col == 3) {
            fprintf(g,
                    ", \\\n     '%s' using 1:4 with points pt 3 ps 2.5 lw 2 "
                    "lc rgb 'black' title 'downtime limit'",
                    name);
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

/* Smallest positive gap between distinct values (1 if none). */
static double min_gap(const struct plot_run *runs, size_t n, bool use_y)
{
    double *v = malloc((n ? n : 1) * sizeof(double));
    if (!v) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = use_y ? runs[i].y : runs[i].x;
    }
    qsort(v, n, sizeof(double), cmp_dbl);
    double gap = INFINITY;
    for (size_t i = 1; i < n; i++) {
        double d = v[i] - v[i - 1];
        if (d > 0 && d < gap) {
            gap = d;
        }
    }
    free(v);
    return isfinite(gap) ? gap : 1;
}

/* sweep with two parameters: a heat map of downtime over (x, y). */
static int sweep_heat(struct out *o, const struct plot_run *runs, size_t n,
                      const char *xname, const char *yname, char *err,
                      size_t errlen)
{
    FILE *g = o->gpf;
    char name[300];
    snprintf(name, sizeof(name), "%s.dat", o->stem);
    FILE *f = pl_out_open(o, name, err, errlen);
    if (!f) {
        return -1;
    }
    fputs("\"x\"\t\"y\"\t\"downtime (ms)\"\t\"converged\"\t\"run\"\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct run_metrics *m = &runs[i].res->m;
        char label[256];
        plot_run_label(&runs[i], i, label, sizeof(label));
        pl_dat_num(f, runs[i].x);
        fputc('\t', f);
        pl_dat_num(f, runs[i].y);
        fputc('\t', f);
        pl_dat_num(f, (double)m->downtime_ns / 1e6);
        fprintf(f, "\t%d\t", m->outcome == RUN_CONVERGED ? 1 : 0);
        pl_dat_str(f, label);
        fputc('\n', f);
    }
    if (pl_out_close(f, o, name, err, errlen) != 0) {
        return -1;
    }
    double dx = min_gap(runs, n, false) / 2;
    double dy = min_gap(runs, n, true) / 2;
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed += runs[i].res->m.outcome != RUN_CONVERGED;
    }
    fprintf(g,
            "set title 'downtime over %s and %s (x: did not converge)'\n"
            "set xlabel '%s'\n"
            "set ylabel '%s'\n"
            "set cblabel 'downtime (ms)'\n"
            "set palette defined (0 '#313695', 1 '#74add1', 2 "
            "'#ffffbf', 3 '#f46d43', 4 '#a50026')\n"
            "set key outside bottom center horizontal\n"
            "plot '%s' using 1:2:(%.10g):(%.10g):3 with boxxyerror fs "
            "solid 1.0 noborder lc palette notitle",
            xname, yname, xname, yname, name, dx, dy);
    if (failed) {
        fprintf(g,
                ", \\\n     '%s' using 1:($4 > 0 ? NaN : $2) with points "
                "pt 2 ps 2 lw 2 lc rgb 'black' title 'did not converge'",
                name);
    }
    fputc('\n', g);
    return 0;
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
    if (xmax >= 1e4) {
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
            pl_dat_num(f, (double)m->downtime_ns / 1e6);
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
                    ", \\\n     '%s' using 1:($4 > 0 ? NaN : $2) with points "
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
    double limit_ms = 0;
    for (size_t i = 0; i < n; i++) {
        double l = (double)runs[i].res->m.downtime_limit_ns / 1e6;
        if (l > limit_ms) {
            limit_ms = l;
        }
    }
    /* Only runs that switched over have a downtime; the others count in
     * the denominator, so a curve ends at its group's converged share. */
    size_t conv = 0;
    for (size_t i = 0; i < n; i++) {
        conv += runs[i].res->m.outcome == RUN_CONVERGED;
    }
    fprintf(g,
            "set title 'downtime distribution: %zu of %zu runs converged'\n"
            "set xlabel 'downtime (ms)'\n"
            "set ylabel 'fraction of runs with downtime <= x'\n"
            "set yrange [0:1.05]\n"
            "set xrange [0:*]\n"
            "set key bottom right\n",
            conv, n);
    if (limit_ms > 0) {
        fprintf(g,
                "set arrow 1 from %.10g, graph 0 to %.10g, graph 1 nohead dt "
                "2 lw 2 lc rgb '#d62728'\n"
                "set label 1 'downtime limit' at %.10g, graph 0.97 right "
                "offset -0.5,0 tc rgb '#d62728'\n",
                limit_ms, limit_ms, limit_ms);
    }
    if (conv == 0) {
        fprintf(g,
                "set xrange [0:%.10g]\n"
                "set label 2 'no run converged' at graph 0.5, graph 0.5 "
                "center\n"
                "plot NaN notitle\n",
                limit_ms > 0 ? limit_ms * 1.2 : 1.0);
        groups_free(gr, ng);
        return 0;
    }
    fputs("plot ", g);
    int ret = 0;
    const char *sep = "";
    for (size_t k = 0; k < ng && !ret; k++) {
        double *v = malloc(gr[k].n * sizeof(double));
        if (!v) {
            err_set(err, errlen, "out of memory");
            ret = -1;
            break;
        }
        size_t nv = 0;
        for (size_t j = 0; j < gr[k].n; j++) {
            const struct run_metrics *m = &runs[gr[k].idx[j]].res->m;
            if (m->outcome == RUN_CONVERGED) {
                v[nv++] = (double)m->downtime_ns / 1e6;
            }
        }
        if (nv == 0) {
            free(v);
            continue;
        }
        char name[300];
        snprintf(name, sizeof(name), "%s-g%zu.dat", o->stem, k);
        FILE *f = pl_out_open(o, name, err, errlen);
        if (!f) {
            free(v);
            ret = -1;
            break;
        }
        qsort(v, nv, sizeof(double), cmp_dbl);
        fputs("\"downtime (ms)\"\t", f);
        pl_dat_str(f, gr[k].name);
        fputc('\n', f);
        /* A step curve from 0. */
        pl_dat_num(f, v[0]);
        fputs("\t0\n", f);
        for (size_t j = 0; j < nv; j++) {
            pl_dat_num(f, v[j]);
            fputc('\t', f);
            pl_dat_num(f, (double)(j + 1) / (double)gr[k].n);
            fputc('\n', f);
        }
        free(v);
        if (pl_out_close(f, o, name, err, errlen) != 0) {
            ret = -1;
            break;
        }
        fprintf(g, "%s'%s' using 1:2 with steps lw 2 lc %zu", sep, name, k + 1);
        sep = ", \\\n     ";
    }
    fputc('\n', g);
    groups_free(gr, ng);
    return ret;
}
