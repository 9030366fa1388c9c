/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plots/plot.c — gnuplot scripts and data files for timeline, compare,
 * sweep and cdf figures, and running gnuplot on them (see plot.h for the
 * rules about input text).
 */
#include "plots/plot.h"
#include "base/err.h"
#include "base/names.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[] = {
    [PLOT_TIMELINE] = "timeline",
    [PLOT_COMPARE] = "compare",
    [PLOT_SWEEP] = "sweep",
    [PLOT_CDF] = "cdf",
};

const char *plot_kind_name(enum plot_kind k)
{
    return names_get(kind_names, NAMES_COUNT(kind_names), (unsigned)k);
}

int plot_kind_from_name(const char *s, enum plot_kind *k)
{
    int i = names_find(kind_names, NAMES_COUNT(kind_names), s);
    if (i >= 0) {
        *k = (enum plot_kind)i;
    }
    return i >= 0 ? 0 : -1;
}

/* ---- safe text -------------------------------------------------------- */

char *plot_safe_name(const char *in, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < len; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
                  c == '-';
        if (o == 0 && (c == '.' || c == '-')) {
            ok = false;
        }
        buf[o++] = ok ? (char)c : '_';
    }
    buf[o] = '\0';
    if (o == 0) {
        snprintf(buf, len, "plot");
    }
    return buf;
}

char *plot_safe_text(const char *in, char *buf, size_t len)
{
    static const char extra[] = " ._:/=+%-";
    size_t o = 0;
    for (const char *p = in ? in : ""; *p && o + 1 < len; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || (c && strchr(extra, c));
        buf[o++] = ok ? (char)c : '_';
    }
    buf[o] = '\0';
    return buf;
}

/* A quoted data-file string: '"', '\\', '`' and control bytes become '_'
 * (so the field cannot end early, span lines or carry shell syntax). */
static void dat_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const char *p = s ? s : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '`') {
            c = '_';
        }
        fputc(c, f);
    }
    fputc('"', f);
}

/* Numbers for data files; NaN/inf as NaN (gnuplot's missing value here). */
static void dat_num(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("NaN", f);
    } else {
        fprintf(f, "%.10g", v);
    }
}

/* Sizes for a log axis: exact integers; 0 is not drawable, write NaN.
 * Counts the drawable values in *valid. */
static void dat_bytes(FILE *f, uint64_t v, bool present, size_t *valid)
{
    if (!present || v == 0) {
        fputs("NaN", f);
        return;
    }
    fprintf(f, "%llu", (unsigned long long)v);
    (*valid)++;
}

static void fixed_copy(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t n = strnlen(src, srclen);
    if (n >= dstlen) {
        n = dstlen - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static const char *run_policy(const struct plot_run *r)
{
    if (r->res->m.policy[0]) {
        return r->res->m.policy;
    }
    return r->meta ? r->meta->policy : "";
}

void plot_run_label(const struct plot_run *r, size_t i, char *buf, size_t len)
{
    if (r->label) {
        snprintf(buf, len, "%s", r->label);
        return;
    }
    char pol[sizeof(r->res->m.policy) + 1];
    fixed_copy(pol, sizeof(pol), run_policy(r), sizeof(r->res->m.policy));
    if (r->meta && r->meta->id > 0) {
        snprintf(buf, len, "#%lld%s%s", (long long)r->meta->id,
                 pol[0] ? " " : "", pol);
    } else {
        snprintf(buf, len, "run %zu%s%s", i + 1, pol[0] ? " " : "", pol);
    }
}

static void run_group(const struct plot_run *r, char *buf, size_t len)
{
    if (r->group) {
        snprintf(buf, len, "%s", r->group);
        return;
    }
    fixed_copy(buf, len, run_policy(r), sizeof(r->res->m.policy));
    if (!buf[0]) {
        snprintf(buf, len, "(no policy)");
    }
}

/* ---- output files ----------------------------------------------------- */

struct out {
    char dir[1024];
    char stem[256];   /* safe stem */
    char ext[8];      /* "png" | "svg" */
    char image[300];  /* name gnuplot writes (in dir) */
    char final[1024]; /* the requested path */
    char gp[300];     /* script name (in dir) */
    FILE *gpf;
    int n_dat;
};

static int out_init(struct out *o, const char *out_path, char *err,
                    size_t errlen)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->final, sizeof(o->final), "%s", out_path);
    const char *slash = strrchr(out_path, '/');
    const char *base = slash ? slash + 1 : out_path;
    if (slash) {
        size_t dl = (size_t)(slash - out_path);
        if (dl == 0) {
            dl = 1; /* "/x.png" */
        }
        if (dl >= sizeof(o->dir)) {
            err_set(err, errlen, "%s: path too long", out_path);
            return -1;
        }
        memcpy(o->dir, out_path, dl);
        o->dir[dl] = '\0';
    } else {
        snprintf(o->dir, sizeof(o->dir), ".");
    }
    const char *dot = strrchr(base, '.');
    if (!dot ||
        (strcasecmp(dot, ".png") != 0 && strcasecmp(dot, ".svg") != 0)) {
        err_set(err, errlen, "%s: the image name must end in .png or .svg",
                out_path);
        return -1;
    }
    snprintf(o->ext, sizeof(o->ext), "%s",
             strcasecmp(dot, ".png") == 0 ? "png" : "svg");
    char stem[256];
    size_t sl = (size_t)(dot - base);
    if (sl >= sizeof(stem)) {
        sl = sizeof(stem) - 1;
    }
    memcpy(stem, base, sl);
    stem[sl] = '\0';
    plot_safe_name(stem, o->stem, sizeof(o->stem));
    snprintf(o->image, sizeof(o->image), "%s.%s", o->stem, o->ext);
    snprintf(o->gp, sizeof(o->gp), "%s.gp", o->stem);
    return 0;
}

static FILE *out_open(const struct out *o, const char *name, char *err,
                      size_t errlen)
{
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", o->dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
    }
    return f;
}

static int out_close(FILE *f, const struct out *o, const char *name, char *err,
                     size_t errlen)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        err_set(err, errlen, "%s/%s: write error", o->dir, name);
        return -1;
    }
    return 0;
}

static void gp_header(const struct out *o, const char *kind, int w, int h)
{
    FILE *g = o->gpf;
    fprintf(g,
            "# migsim %s plot, generated by migsim %s.\n"
            "# Edit and re-render with: gnuplot %s\n"
            "# Data: %s*.dat (tab-separated, first line = column titles).\n",
            kind, MIGSIM_VERSION, o->gp, o->stem);
    if (strcmp(o->ext, "png") == 0) {
        fprintf(g,
                "set terminal pngcairo noenhanced size %d,%d font 'sans,10' "
                "background rgb 'white'\n",
                w, h);
    } else {
        fprintf(g,
                "set terminal svg noenhanced size %d,%d dynamic font "
                "'sans,10' background rgb 'white'\n",
                w, h);
    }
    fprintf(g, "set output '%s'\n", o->image);
    fputs("set datafile separator tab\n"
          "set datafile missing 'NaN'\n"
          "set key autotitle columnheader\n"
          "set grid\n",
          g);
}

/* ---- timeline --------------------------------------------------------- */

/* The files of one run's timeline and what went into them. */
struct tl_files {
    char name[320];  /* samples */
    char ev[3][340]; /* states, syncs, other events */
    size_t n_ev[3];  /* rows in each */
    unsigned ndev;   /* device columns */
    /* Drawable values per column (1: estimate ... 4: RAM dirty, then the
     * devices): a column without any is left out of the plot command, as
     * gnuplot warns about it. */
    size_t valid[5 + RUN_MAX_DEVICES];
};

enum { TL_STATES = 0, TL_SYNCS, TL_OTHERS };

static void tl_samples_header(FILE *f, const struct run_result *res,
                              unsigned ndev)
{
    fputs("\"t_s\"\t\"estimate (must+can)\"\t\"exact()\"\t\"threshold\"\t"
          "\"RAM dirty\"",
          f);
    for (unsigned d = 0; d < ndev; d++) {
        char dn[RUN_NAME_LEN + 1], label[RUN_NAME_LEN + 32];
        fixed_copy(dn, sizeof(dn), res->m.devices[d].name, RUN_NAME_LEN);
        if (d < res->m.n_devices && dn[0]) {
            snprintf(label, sizeof(label), "%s reported", dn);
        } else {
            snprintf(label, sizeof(label), "device %u reported", d);
        }
        fputc('\t', f);
        dat_str(f, label);
    }
    fputc('\n', f);
}

static int tl_samples(struct out *o, const struct run_result *res,
                      struct tl_files *t, char *err, size_t errlen)
{
    t->ndev = res->m.n_devices;
    for (size_t k = 0; k < res->n_samples; k++) {
        if (res->samples[k].n_devices > t->ndev) {
            t->ndev = res->samples[k].n_devices;
        }
    }
    if (t->ndev > RUN_MAX_DEVICES) {
        t->ndev = RUN_MAX_DEVICES;
    }
    FILE *f = out_open(o, t->name, err, errlen);
    if (!f) {
        return -1;
    }
    tl_samples_header(f, res, t->ndev);
    size_t *valid = t->valid;
    for (size_t k = 0; k < res->n_samples; k++) {
        const struct run_sample *s = &res->samples[k];
        dat_num(f, (double)s->t_ns / 1e9);
        fputc('\t', f);
        dat_bytes(f, s->estimate_bytes, true, &valid[1]);
        fputc('\t', f);
        dat_bytes(f, s->exact_bytes, s->exact_called, &valid[2]);
        fputc('\t', f);
        dat_bytes(f, s->threshold_bytes, true, &valid[3]);
        fputc('\t', f);
        dat_bytes(f, s->ram_dirty_bytes, true, &valid[4]);
        for (unsigned d = 0; d < t->ndev; d++) {
            fputc('\t', f);
            dat_bytes(f, s->dev_reported_bytes[d], d < s->n_devices,
                      &valid[5 + d]);
        }
        fputc('\n', f);
    }
    return out_close(f, o, t->name, err, errlen);
}

static int tl_event_file(enum run_event_kind k)
{
    return k == RUN_EV_STATE  ? TL_STATES
           : k == RUN_EV_SYNC ? TL_SYNCS
                              : TL_OTHERS;
}

static void tl_event_row(FILE *f, const struct run_event *e)
{
    char text[sizeof(e->text) + 1], label[sizeof(e->text) + 16];
    fixed_copy(text, sizeof(text), e->text, sizeof(e->text));
    dat_num(f, (double)e->t_ns / 1e9);
    fputc('\t', f);
    if (e->kind == RUN_EV_STATE) {
        dat_str(f, text);
    } else if (e->kind == RUN_EV_SYNC) {
        dat_num(f, (double)e->dur_ns / 1e6);
        fputc('\t', f);
        dat_num(f, (double)e->value);
    } else {
        snprintf(label, sizeof(label), "%s: %s", run_event_kind_name(e->kind),
                 text);
        dat_str(f, label);
    }
    fputc('\n', f);
}

/* The three event files (only those with rows). */
static int tl_events(struct out *o, const struct run_result *res,
                     struct tl_files *t, char *err, size_t errlen)
{
    static const char *const heads[3] = {
        "\"t_s\"\t\"state\"\n",
        "\"t_s\"\t\"sync_ms\"\t\"dirty_pages\"\n",
        "\"t_s\"\t\"event\"\n",
    };
    for (size_t k = 0; k < res->n_events; k++) {
        t->n_ev[tl_event_file(res->events[k].kind)]++;
    }
    FILE *f[3] = {NULL, NULL, NULL};
    int rc = 0;
    for (int j = 0; j < 3 && rc == 0; j++) {
        if (t->n_ev[j] && !(f[j] = out_open(o, t->ev[j], err, errlen))) {
            rc = -1;
        } else if (f[j]) {
            fputs(heads[j], f[j]);
        }
    }
    for (size_t k = 0; k < res->n_events && rc == 0; k++) {
        tl_event_row(f[tl_event_file(res->events[k].kind)], &res->events[k]);
    }
    for (int j = 0; j < 3; j++) {
        if (f[j] && rc != 0) {
            fclose(f[j]);
        } else if (f[j] && out_close(f[j], o, t->ev[j], err, errlen) != 0) {
            rc = -1;
        }
    }
    return rc;
}

static void tl_script(struct out *o, const struct plot_run *r, size_t i,
                      const struct tl_files *t);

static int timeline_one(struct out *o, const struct plot_run *r, size_t i,
                        char *err, size_t errlen)
{
    struct tl_files t;
    memset(&t, 0, sizeof(t));
    snprintf(t.name, sizeof(t.name), "%s-run%zu.dat", o->stem, i);
    snprintf(t.ev[TL_STATES], sizeof(t.ev[0]), "%s-run%zu-states.dat", o->stem,
             i);
    snprintf(t.ev[TL_SYNCS], sizeof(t.ev[0]), "%s-run%zu-syncs.dat", o->stem,
             i);
    snprintf(t.ev[TL_OTHERS], sizeof(t.ev[0]), "%s-run%zu-events.dat", o->stem,
             i);
    if (tl_samples(o, r->res, &t, err, errlen) != 0 ||
        tl_events(o, r->res, &t, err, errlen) != 0) {
        return -1;
    }
    tl_script(o, r, i, &t);
    return 0;
}

static void tl_script(struct out *o, const struct plot_run *r, size_t i,
                      const struct tl_files *t)
{
    const char *name = t->name, *states = t->ev[TL_STATES],
               *syncs = t->ev[TL_SYNCS], *others = t->ev[TL_OTHERS];
    size_t n_states = t->n_ev[TL_STATES], n_syncs = t->n_ev[TL_SYNCS],
           n_others = t->n_ev[TL_OTHERS];
    unsigned ndev = t->ndev;
    const size_t *valid = t->valid;
    FILE *g = o->gpf;
    if (r->meta && r->meta->id > 0) {
        fprintf(g, "set title 'run %lld: remaining bytes over time'\n",
                (long long)r->meta->id);
    } else {
        fprintf(g, "set title 'run %zu: remaining bytes over time'\n", i + 1);
    }
    fputs("set xlabel 'time (s)'\n"
          "set ylabel 'bytes (log)'\n"
          "set logscale y 10\n"
          "set format y '%.0s %cB'\n"
          "set y2range [0:1]\n"
          "unset y2tics\n"
          "set key outside right top vertical Left reverse\n",
          g);
    size_t any = 0;
    for (unsigned c = 1; c < 5 + ndev; c++) {
        any += valid[c];
    }
    if (any == 0) {
        /* Nothing drawable on the bytes axis (no samples, or all zero). */
        fputs("set xrange [0:1]\n"
              "set yrange [1:1e12]\n"
              "set label 1 'no sizes recorded' at graph 0.5, graph 0.5 "
              "center\n"
              "plot NaN notitle\n"
              "unset label 1\n"
              "set autoscale x\n"
              "unset title\n",
              g);
        return;
    }
    fputs("set autoscale xy\n", g);
    static const struct {
        const char *style;
    } cols[5] = {{NULL},
                 {"with lines lw 2 lc rgb '#1f77b4'"},
                 {"with points pt 7 ps 0.7 lc rgb '#d62728'"},
                 {"with lines lw 2 dt 2 lc rgb '#2ca02c'"},
                 {"with lines lw 1 dt 3 lc rgb '#7f7f7f'"}};
    const char *sep = "plot ";
    for (unsigned c = 1; c < 5 + ndev; c++) {
        if (!valid[c]) {
            continue;
        }
        if (c < 5) {
            fprintf(g, "%s'%s' using 1:%u %s", sep, name, c + 1, cols[c].style);
        } else {
            fprintf(g, "%s'%s' using 1:%u with lines lw 1 lc %u", sep, name,
                    c + 1, c - 1);
        }
        sep = ", \\\n     ";
    }
    if (n_states) {
        fprintf(g,
                ", \\\n     '%s' using 1:(1) axes x1y2 with impulses lw 1 "
                "lc rgb '#9467bd' title 'state change'",
                states);
        fprintf(g,
                ", \\\n     '%s' using 1:(0.98):2 axes x1y2 with labels "
                "rotate by 90 right offset -0.7,0 font ',8' tc rgb "
                "'#9467bd' notitle",
                states);
    }
    if (n_syncs) {
        fprintf(g,
                ", \\\n     '%s' using 1:(0.02) axes x1y2 with points pt 9 "
                "ps 0.8 lc rgb '#8c564b' title 'bitmap sync'",
                syncs);
    }
    if (n_others) {
        fprintf(g,
                ", \\\n     '%s' using 1:(0.06) axes x1y2 with points pt 12 "
                "ps 1 lc rgb '#e377c2' title 'event'",
                others);
        if (n_others <= 30) {
            fprintf(g,
                    ", \\\n     '%s' using 1:(0.08):2 axes x1y2 with labels "
                    "rotate by 90 left font ',7' tc rgb '#e377c2' notitle",
                    others);
        }
    }
    fputc('\n', g);
    fputs("unset title\n", g);
}

static int write_timeline(struct out *o, const struct plot_run *runs, size_t n,
                          const struct plot_opts *op, char *err, size_t errlen)
{
    if (n > PLOT_MAX_TIMELINE) {
        err_set(err, errlen,
                "timeline: at most %d runs in one figure (got %zu)",
                PLOT_MAX_TIMELINE, n);
        return -1;
    }
    int w = op && op->width_px > 0 ? op->width_px : 1100;
    int h = op && op->height_px > 0 ? op->height_px : 520 * (int)n;
    gp_header(o, "timeline", w, h);
    if (n > 1) {
        fprintf(o->gpf, "set multiplot layout %zu,1\n", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (timeline_one(o, &runs[i], i, err, errlen) != 0) {
            return -1;
        }
    }
    if (n > 1) {
        fputs("unset multiplot\n", o->gpf);
    }
    return 0;
}

/* ---- compare ---------------------------------------------------------- */

static int write_compare(struct out *o, const struct plot_run *runs, size_t n,
                         const struct plot_opts *op, char *err, size_t errlen)
{
    char name[300];
    snprintf(name, sizeof(name), "%s.dat", o->stem);
    FILE *f = out_open(o, name, err, errlen);
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
        dat_num(f, (double)m->total_ns / 1e9);
        fputc('\t', f);
        dat_num(f, (double)m->downtime_ns / 1e6);
        fputc('\t', f);
        dat_num(f, (double)m->downtime_limit_ns / 1e6);
        fputc('\t', f);
        dat_num(f, (double)m->exact_calls);
        fputc('\t', f);
        dat_num(f, (double)m->sync_time_ns / 1e6);
        fprintf(f, "\t%d\t", m->outcome == RUN_CONVERGED ? 1 : 0);
        dat_str(f, label);
        fputc('\n', f);
    }
    if (out_close(f, o, name, err, errlen) != 0) {
        return -1;
    }
    int w = op && op->width_px > 0 ? op->width_px : 1100;
    int h = op && op->height_px > 0 ? op->height_px : 800;
    gp_header(o, "compare", w, h);
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
        run_group(&runs[i], name, sizeof(name));
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
    FILE *f = out_open(o, name, err, errlen);
    if (!f) {
        return -1;
    }
    fputs("\"x\"\t\"y\"\t\"downtime (ms)\"\t\"converged\"\t\"run\"\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct run_metrics *m = &runs[i].res->m;
        char label[256];
        plot_run_label(&runs[i], i, label, sizeof(label));
        dat_num(f, runs[i].x);
        fputc('\t', f);
        dat_num(f, runs[i].y);
        fputc('\t', f);
        dat_num(f, (double)m->downtime_ns / 1e6);
        fprintf(f, "\t%d\t", m->outcome == RUN_CONVERGED ? 1 : 0);
        dat_str(f, label);
        fputc('\n', f);
    }
    if (out_close(f, o, name, err, errlen) != 0) {
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
        FILE *f = out_open(o, name, err, errlen);
        if (!f) {
            ret = -1;
            break;
        }
        qsort_r(gr[k].idx, gr[k].n, sizeof(size_t), cmp_x, (void *)runs);
        fputs("\"x\"\t", f);
        dat_str(f, gr[k].name);
        fputs("\t\"total time (s)\"\t\"converged\"\t\"downtime limit\"\t"
              "\"run\"\n",
              f);
        for (size_t j = 0; j < gr[k].n; j++) {
            const struct plot_run *r = &runs[gr[k].idx[j]];
            const struct run_metrics *m = &r->res->m;
            char label[256];
            plot_run_label(r, gr[k].idx[j], label, sizeof(label));
            dat_num(f, r->x);
            fputc('\t', f);
            dat_num(f, (double)m->downtime_ns / 1e6);
            fputc('\t', f);
            dat_num(f, (double)m->total_ns / 1e9);
            fprintf(f, "\t%d\t", m->outcome == RUN_CONVERGED ? 1 : 0);
            dat_num(f, (double)m->downtime_limit_ns / 1e6);
            fputc('\t', f);
            dat_str(f, label);
            fputc('\n', f);
        }
        if (out_close(f, o, name, err, errlen) != 0) {
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

static int write_sweep(struct out *o, const struct plot_run *runs, size_t n,
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
    gp_header(o, "sweep", w, h);
    return heat ? sweep_heat(o, runs, n, xname, yname, err, errlen)
                : sweep_lines(o, runs, n, xname, err, errlen);
}
static int write_cdf(struct out *o, const struct plot_run *runs, size_t n,
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
    gp_header(o, "cdf", w, h);
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
        FILE *f = out_open(o, name, err, errlen);
        if (!f) {
            free(v);
            ret = -1;
            break;
        }
        qsort(v, nv, sizeof(double), cmp_dbl);
        fputs("\"downtime (ms)\"\t", f);
        dat_str(f, gr[k].name);
        fputc('\n', f);
        /* A step curve from 0. */
        dat_num(f, v[0]);
        fputs("\t0\n", f);
        for (size_t j = 0; j < nv; j++) {
            dat_num(f, v[j]);
            fputc('\t', f);
            dat_num(f, (double)(j + 1) / (double)gr[k].n);
            fputc('\n', f);
        }
        free(v);
        if (out_close(f, o, name, err, errlen) != 0) {
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

/* ---- running gnuplot -------------------------------------------------- */

static int run_gnuplot(const struct out *o, int timeout_s, char *err,
                       size_t errlen)
{
    const char *prog = getenv("MIGSIM_GNUPLOT");
    if (!prog || !*prog) {
        prog = "gnuplot";
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        err_set(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        err_set(err, errlen, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
        }
        dup2(pfd[1], 2);
        close(pfd[0]);
        if (chdir(o->dir) != 0) {
            dprintf(2, "cannot enter %s: %s\n", o->dir, strerror(errno));
            _exit(126);
        }
        char *argv[] = {(char *)prog, (char *)o->gp, NULL};
        execvp(prog, argv);
        dprintf(2, "cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    char buf[4096];
    size_t len = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool timed_out = false;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms =
            (long)timeout_s * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 +
                                      (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left_ms <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pf = {pfd[0], POLLIN, 0};
        int pr = poll(&pf, 1, (int)left_ms);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            continue;
        }
        char tmp[1024];
        ssize_t r = read(pfd[0], tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        size_t take = (size_t)r;
        if (take > sizeof(buf) - 1 - len) {
            take = sizeof(buf) - 1 - len;
        }
        memcpy(buf + len, tmp, take);
        len += take;
    }
    buf[len] = '\0';
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            err_set(err, errlen, "waitpid: %s", strerror(errno));
            return PLOT_ERR_GNUPLOT;
        }
    }
    /* Trim trailing blank lines. */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) {
        buf[--len] = '\0';
    }
    if (timed_out) {
        err_set(err, errlen, "%s %s/%s: killed after %d s", prog, o->dir, o->gp,
                timeout_s);
        return PLOT_ERR_GNUPLOT;
    }
    if (WIFSIGNALED(status)) {
        err_set(err, errlen, "%s %s/%s: killed by signal %d%s%s", prog, o->dir,
                o->gp, WTERMSIG(status), len ? ": " : "", buf);
        return PLOT_ERR_GNUPLOT;
    }
    if (WEXITSTATUS(status) != 0) {
        err_set(err, errlen, "%s %s/%s: exit status %d%s%s", prog, o->dir,
                o->gp, WEXITSTATUS(status), len ? ": " : "", buf);
        return PLOT_ERR_GNUPLOT;
    }
    err_set(err, errlen, "%s", buf);
    return 0;
}

int plot_runs(enum plot_kind kind, const struct plot_run *runs, size_t n,
              const char *out_path, const struct plot_opts *opts, char *err,
              size_t errlen)
{
    if (n == 0) {
        err_set(err, errlen, "%s: no runs to plot", plot_kind_name(kind));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!runs[i].res) {
            err_set(err, errlen, "%s: run %zu has no result",
                    plot_kind_name(kind), i + 1);
            return -1;
        }
    }
    struct out o;
    if (out_init(&o, out_path, err, errlen) != 0) {
        return -1;
    }
    o.gpf = out_open(&o, o.gp, err, errlen);
    if (!o.gpf) {
        return -1;
    }
    int rc = -1;
    switch (kind) {
    case PLOT_TIMELINE:
        rc = write_timeline(&o, runs, n, opts, err, errlen);
        break;
    case PLOT_COMPARE:
        rc = write_compare(&o, runs, n, opts, err, errlen);
        break;
    case PLOT_SWEEP:
        rc = write_sweep(&o, runs, n, opts, err, errlen);
        break;
    case PLOT_CDF:
        rc = write_cdf(&o, runs, n, opts, err, errlen);
        break;
    default:
        err_set(err, errlen, "unknown plot kind %d", (int)kind);
    }
    if (rc != 0) {
        fclose(o.gpf);
        return -1;
    }
    fputs("set output\n", o.gpf);
    if (out_close(o.gpf, &o, o.gp, err, errlen) != 0) {
        return -1;
    }
    if (opts && opts->no_render) {
        err_set(err, errlen, "%s", "");
        return 0;
    }
    char image[1400];
    snprintf(image, sizeof(image), "%s/%s", o.dir, o.image);
    unlink(image); /* so a stale image cannot pass for a new one */
    rc = run_gnuplot(&o, opts && opts->timeout_s > 0 ? opts->timeout_s : 120,
                     err, errlen);
    if (rc != 0) {
        return rc;
    }
    struct stat st;
    if (stat(image, &st) != 0 || st.st_size == 0) {
        err_set(err, errlen, "gnuplot %s/%s: no image written to %s", o.dir,
                o.gp, image);
        return PLOT_ERR_GNUPLOT;
    }
    if (strcmp(image, o.final) != 0) {
        /* The requested name has bytes we keep out of the script. */
        const char *slash = strrchr(o.final, '/');
        const char *base = slash ? slash + 1 : o.final;
        if (strcmp(base, o.image) != 0 && rename(image, o.final) != 0) {
            err_set(err, errlen, "%s: %s", o.final, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                err_set(err, errlen, "%s: %s", buf, strerror(errno));
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        err_set(err, errlen, "%s: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}

int plot_to_dir(const char *dir, const struct plot_run *runs, size_t n,
                const char *ext, char *err, size_t errlen)
{
    if (!ext) {
        ext = "png";
    }
    if (strcmp(ext, "png") != 0 && strcmp(ext, "svg") != 0) {
        err_set(err, errlen, "plot format '%s': png or svg", ext);
        return -1;
    }
    if (mkdir_p(dir, err, errlen) != 0) {
        return -1;
    }
    int count = 0;
    char path[1400];
    for (size_t i = 0; i < n; i++) {
        if (runs[i].meta && runs[i].meta->id > 0) {
            snprintf(path, sizeof(path), "%s/timeline-%lld.%s", dir,
                     (long long)runs[i].meta->id, ext);
        } else {
            snprintf(path, sizeof(path), "%s/timeline-%zu.%s", dir, i + 1, ext);
        }
        int rc = plot_runs(PLOT_TIMELINE, &runs[i], 1, path, NULL, err, errlen);
        if (rc != 0) {
            return rc;
        }
        count++;
    }
    if (n >= 2) {
        static const enum plot_kind kinds[] = {PLOT_COMPARE, PLOT_CDF};
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof(path), "%s/%s.%s", dir,
                     plot_kind_name(kinds[k]), ext);
            int rc = plot_runs(kinds[k], runs, n, path, NULL, err, errlen);
            if (rc != 0) {
                return rc;
            }
            count++;
        }
    }
    return count;
}
