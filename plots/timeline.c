/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plots/timeline.c — the timeline figure: remaining bytes and events over
 * time, one panel per run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "plots/plot_internal.h"

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
    size_t est_zero; /* samples whose estimate() reported 0 */
    double min_pos;  /* smallest drawable size (bytes), 0: none */
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
        pl_fixed_copy(dn, sizeof(dn), res->m.devices[d].name, RUN_NAME_LEN);
        if (d < res->m.n_devices && dn[0]) {
            snprintf(label, sizeof(label), "%s reported", dn);
        } else {
            snprintf(label, sizeof(label), "device %u reported", d);
        }
        fputc('\t', f);
        pl_dat_str(f, label);
    }
    fputs("\t\"estimate() = 0\"\n", f);
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
    FILE *f = pl_out_open(o, t->name, err, errlen);
    if (!f) {
        return -1;
    }
    tl_samples_header(f, res, t->ndev);
    size_t *valid = t->valid;
    for (size_t k = 0; k < res->n_samples; k++) {
        const struct run_sample *s = &res->samples[k];
        pl_dat_num(f, (double)s->t_ns / 1e9);
        fputc('\t', f);
        pl_dat_bytes(f, s->estimate_bytes, true, &valid[1]);
        fputc('\t', f);
        pl_dat_bytes(f, s->exact_bytes, s->exact_called, &valid[2]);
        fputc('\t', f);
        pl_dat_bytes(f, s->threshold_bytes, true, &valid[3]);
        fputc('\t', f);
        pl_dat_bytes(f, s->ram_dirty_bytes, true, &valid[4]);
        for (unsigned d = 0; d < t->ndev; d++) {
            fputc('\t', f);
            pl_dat_bytes(f, s->dev_reported_bytes[d], d < s->n_devices,
                         &valid[5 + d]);
        }
        /* estimate() = 0 cannot sit on the log axis: a marker column */
        fputs(s->estimate_bytes == 0 ? "\t1\n" : "\tNaN\n", f);
        t->est_zero += s->estimate_bytes == 0;
        const uint64_t vals[4] = {s->estimate_bytes,
                                  s->exact_called ? s->exact_bytes : 0,
                                  s->threshold_bytes, s->ram_dirty_bytes};
        for (int j = 0; j < 4; j++) {
            if (vals[j] > 0 && (t->min_pos == 0 || vals[j] < t->min_pos)) {
                t->min_pos = (double)vals[j];
            }
        }
    }
    return pl_out_close(f, o, t->name, err, errlen);
}

static int tl_event_file(enum run_event_kind k)
{
    return k == RUN_EV_STATE  ? TL_STATES
           : k == RUN_EV_SYNC ? TL_SYNCS
                              : TL_OTHERS;
}

/* An event row; states and other events carry their text and the label
 * actually drawn: empty when the previous drawn label of the file is
 * closer than min_gap_ns (so labels do not overprint). */
static void tl_event_row(FILE *f, const struct run_event *e, int64_t *last_ns,
                         int64_t min_gap_ns)
{
    char text[sizeof(e->text) + 1], label[sizeof(e->text) + 16];
    pl_fixed_copy(text, sizeof(text), e->text, sizeof(e->text));
    pl_dat_num(f, (double)e->t_ns / 1e9);
    fputc('\t', f);
    if (e->kind == RUN_EV_SYNC) {
        pl_dat_num(f, (double)e->dur_ns / 1e6);
        fputc('\t', f);
        pl_dat_num(f, (double)e->value);
        fputc('\n', f);
        return;
    }
    if (e->kind == RUN_EV_STATE) {
        snprintf(label, sizeof(label), "%s", text);
    } else {
        snprintf(label, sizeof(label), "%s: %s", run_event_kind_name(e->kind),
                 text);
    }
    pl_dat_str(f, label);
    fputc('\t', f);
    bool show = *last_ns < 0 || e->t_ns - *last_ns >= min_gap_ns;
    pl_dat_str(f, show ? label : "");
    if (show) {
        *last_ns = e->t_ns;
    }
    fputc('\n', f);
}

/* The three event files (only those with rows). */
static int tl_events(struct out *o, const struct run_result *res,
                     struct tl_files *t, char *err, size_t errlen)
{
    static const char *const heads[3] = {
        "\"t_s\"\t\"state\"\t\"label drawn\"\n",
        "\"t_s\"\t\"sync_ms\"\t\"dirty_pages\"\n",
        "\"t_s\"\t\"event\"\t\"label drawn\"\n",
    };
    for (size_t k = 0; k < res->n_events; k++) {
        t->n_ev[tl_event_file(res->events[k].kind)]++;
    }
    FILE *f[3] = {NULL, NULL, NULL};
    int rc = 0;
    for (int j = 0; j < 3 && rc == 0; j++) {
        if (t->n_ev[j] && !(f[j] = pl_out_open(o, t->ev[j], err, errlen))) {
            rc = -1;
        } else if (f[j]) {
            fputs(heads[j], f[j]);
        }
    }
    /* labels at least 1/50 of the run apart (about a label's width) */
    int64_t span = res->m.total_ns;
    if (res->n_events && res->events[res->n_events - 1].t_ns > span) {
        span = res->events[res->n_events - 1].t_ns;
    }
    int64_t last[3] = {-1, -1, -1};
    for (size_t k = 0; k < res->n_events && rc == 0; k++) {
        int j = tl_event_file(res->events[k].kind);
        tl_event_row(f[j], &res->events[k], &last[j], span / 50);
    }
    for (int j = 0; j < 3; j++) {
        if (f[j] && rc != 0) {
            pl_out_discard(f[j], o);
        } else if (f[j] && pl_out_close(f[j], o, t->ev[j], err, errlen) != 0) {
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

/* The panel's title and the axes common to every panel. */
static void tl_axes(FILE *g, const struct plot_run *r, size_t i)
{
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
}

/* The downtime, shaded: from the VM stop to the destination running. */
static void tl_downtime(FILE *g, const struct run_metrics *m)
{
    if (run_switched_over(m) && m->downtime_ns > 0) {
        int64_t down0 =
            m->total_ns -
            (m->src_downtime_ns > 0 ? m->src_downtime_ns : m->downtime_ns);
        fprintf(g,
                "set object 1 rect from %.10g, graph 0 to %.10g, graph 1 "
                "fc rgb '#fdd0a2' fs solid 0.6 noborder behind\n",
                (double)down0 / 1e9, (double)(down0 + m->downtime_ns) / 1e9);
    } else {
        fputs("unset object 1\n", g);
    }
}

/* "plot" and the curves on the bytes axis: the sample columns that have
 * drawable values, the estimate() = 0 marks on the floor, and the key
 * entry of the downtime. */
static void tl_plot_bytes(FILE *g, const struct tl_files *t,
                          const struct run_metrics *m, double floor_b)
{
    static const struct {
        const char *style;
    } cols[5] = {{NULL},
                 {"with lines lw 2 lc rgb '#1f77b4'"},
                 {"with points pt 7 ps 0.7 lc rgb '#d62728'"},
                 {"with lines lw 2 dt 2 lc rgb '#2ca02c'"},
                 {"with lines lw 1 dt 3 lc rgb '#7f7f7f'"}};
    const char *name = t->name;
    unsigned ndev = t->ndev;
    const char *sep = "plot ";
    for (unsigned c = 1; c < 5 + ndev; c++) {
        if (!t->valid[c]) {
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
    if (t->est_zero) {
        fprintf(g,
                "%s'%s' using 1:($%u > 0 ? %.10g : NaN) with points pt 6 "
                "ps 1.2 lc rgb '#1f77b4' title 'estimate() = 0 (drawn at "
                "the floor)'",
                sep, name, 6 + ndev, floor_b / 1.8);
        sep = ", \\\n     ";
    }
    if (run_switched_over(m) && m->downtime_ns > 0) {
        fprintf(g,
                "%skeyentry with boxes fc rgb '#fdd0a2' fs solid 0.6 "
                "title 'downtime'",
                sep);
    }
}

/* The event curves on the y2 axis: state changes with their labels,
 * bitmap syncs, other events (labelled when few). */
static void tl_plot_events(FILE *g, const struct tl_files *t)
{
    const char *states = t->ev[TL_STATES], *syncs = t->ev[TL_SYNCS],
               *others = t->ev[TL_OTHERS];
    size_t n_others = t->n_ev[TL_OTHERS];
    if (t->n_ev[TL_STATES]) {
        fprintf(g,
                ", \\\n     '%s' using 1:(1) axes x1y2 with impulses lw 1 "
                "lc rgb '#9467bd' title 'state change'",
                states);
        fprintf(g,
                ", \\\n     '%s' using 1:(0.98):3 axes x1y2 with labels "
                "rotate by 90 right offset -0.7,0 font ',8' tc rgb "
                "'#9467bd' notitle",
                states);
    }
    if (t->n_ev[TL_SYNCS]) {
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
                    ", \\\n     '%s' using 1:(0.08):3 axes x1y2 with labels "
                    "rotate by 90 left font ',7' tc rgb '#e377c2' notitle",
                    others);
        }
    }
}

static void tl_script(struct out *o, const struct plot_run *r, size_t i,
                      const struct tl_files *t)
{
    FILE *g = o->gpf;
    tl_axes(g, r, i);
    size_t any = 0;
    for (unsigned c = 1; c < 5 + t->ndev; c++) {
        any += t->valid[c];
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
    /* The floor of the axis: a decade at or below the smallest size; the
     * samples where estimate() reported 0 are drawn on it. */
    double floor_b = t->min_pos > 0 ? pow(10, floor(log10(t->min_pos))) : 1;
    if (t->est_zero) {
        fprintf(g, "set yrange [%.10g:*]\n", floor_b / 3.2);
    }
    const struct run_metrics *m = &r->res->m;
    tl_downtime(g, m);
    tl_plot_bytes(g, t, m, floor_b);
    tl_plot_events(g, t);
    fputc('\n', g);
    fputs("unset title\n", g);
}

int pl_write_timeline(struct out *o, const struct plot_run *runs, size_t n,
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
    pl_gp_header(o, "timeline", w, h);
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
