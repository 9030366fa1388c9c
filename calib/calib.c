/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * calib/calib.c — least-squares fit of the environment's constants from
 * real runs (contract in calib/calib.h).
 */
#include "calib/calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "base/err.h"
#include "run/scenario.h"

#define GIB ((double)((uint64_t)1 << 30))

static const struct {
    const char *key, *unit;
} key_rows[CALIB_N_KEYS] = {
    [CALIB_SYNC_COST] = {"migration.sync_cost", "ns"},
    [CALIB_SYNC_PER_GIB] = {"migration.sync_cost_per_gib", "ns"},
    [CALIB_SENDER_PAGE] = {"migration.sender_page_cost", "ns"},
    [CALIB_ZERO_PAGE] = {"vm.zero_page_scan", "ns"},
    [CALIB_STOP] = {"vm.stop_cost", "ns"},
    [CALIB_STOP_PER_VCPU] = {"vm.stop_cost_per_vcpu", "ns"},
    [CALIB_NI_SAVE] = {"vm.non_iterable_save_time", "ns"},
    [CALIB_NI_LOAD] = {"vm.non_iterable_load_time", "ns"},
    [CALIB_LINK] = {"migration.link_bandwidth", "B/s"},
    [CALIB_SETUP] = {"migration.setup_time", "ns"},
    [CALIB_ZERO_LIMITED] = {"vm.zero_page_scan_limited", "ns"},
};

int calib_init(struct calib *c)
{
    memset(c, 0, sizeof(*c));
    c->runs = calloc(CALIB_MAX_RUNS, sizeof(*c->runs));
    return c->runs ? 0 : -1;
}

void calib_free(struct calib *c)
{
    for (unsigned i = 0; i < c->n_runs; i++) {
        trc_replay_free(&c->runs[i].r);
    }
    free(c->runs);
    memset(c, 0, sizeof(*c));
}

int calib_add_replay(struct calib *c, const char *name, struct trc_replay *r,
                     unsigned vcpus, int64_t downtime_ns,
                     uint64_t downtime_bytes, char *err, size_t errlen)
{
    if (c->n_runs >= CALIB_MAX_RUNS) {
        err_set(err, errlen, "%s: more than %d runs", name, CALIB_MAX_RUNS);
        trc_replay_free(r);
        return -1;
    }
    struct calib_run *u = &c->runs[c->n_runs++];
    snprintf(u->name, sizeof(u->name), "%s", name);
    u->r = *r;
    memset(r, 0, sizeof(*r));
    u->vcpus = vcpus;
    u->downtime_ns = downtime_ns;
    u->downtime_bytes = downtime_bytes;
    u->return_path = false;
    return 0;
}

int calib_add_trace(struct calib *c, const char *path, char *err, size_t errlen)
{
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    struct trc_replay r;
    const char *files[1] = {path};
    if (trc_replay_run(files, 1, &o, &r, err, errlen) < 0) {
        return -1;
    }
    if (r.stats.events + r.stats.snapshots == 0) {
        trc_replay_free(&r);
        err_set(err, errlen, "%s: no trace event or query-migrate record",
                path);
        return -1;
    }
    int64_t down = -1;
    uint64_t dbytes = r.run.m.downtime_bytes;
    return calib_add_replay(c, path, &r, 0, down, dbytes, err, errlen);
}

/* ---- least squares ---- */

/* Points of one fit: y = X b, p columns. */
struct pts {
    size_t n, cap, p;
    double *x, *y;
    unsigned runs;
    int last_run;
};

static int pts_add(struct pts *s, int run, const double *x, double y)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        double *nx = realloc(s->x, nc * s->p * sizeof(*nx));
        if (!nx) {
            return -1;
        }
        s->x = nx;
        double *ny = realloc(s->y, nc * sizeof(*ny));
        if (!ny) {
            return -1;
        }
        s->y = ny;
        s->cap = nc;
    }
    memcpy(s->x + s->n * s->p, x, s->p * sizeof(*x));
    s->y[s->n++] = y;
    if (run != s->last_run) {
        s->runs++;
        s->last_run = run;
    }
    return 0;
}

static void pts_free(struct pts *s)
{
    free(s->x);
    free(s->y);
}

/* Fit s (first p columns): coefficients and their standard errors.
 * Robust (GSL's bisquare M-estimator, which weighs down points far off
 * the fit) when asked and there are points to spare, else ordinary least
 * squares.  0, or -1 when underdetermined or GSL fails. */
static int lsq_fit(const struct pts *s, size_t p, double *b, double *se,
                   bool robust);

static int lsq(const struct pts *s, size_t p, double *b, double *se)
{
    return lsq_fit(s, p, b, se, false);
}

/* The robust path of lsq_fit: X, y filled. */
static int robust_fit(const gsl_matrix *X, const gsl_vector *y, gsl_vector *c,
                      gsl_matrix *cov)
{
    gsl_multifit_robust_workspace *w = gsl_multifit_robust_alloc(
        gsl_multifit_robust_bisquare, X->size1, X->size2);
    if (!w) {
        return -1;
    }
    int rc = gsl_multifit_robust(X, y, c, cov, w) == GSL_SUCCESS ? 0 : -1;
    gsl_multifit_robust_free(w);
    return rc;
}

/* One constant, robustly: the median (the least-absolute-deviations fit),
 * its spread from the median absolute deviation (1.4826 MAD as sigma, x
 * 1.2533 / sqrt(n) for a median).  0, or -1 out of memory. */
static int median_fit(const struct pts *s, double *b, double *se)
{
    double *v = malloc(s->n * sizeof(*v));
    if (!v) {
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        v[i] = s->y[i];
    }
    gsl_sort(v, 1, s->n);
    double med = gsl_stats_median_from_sorted_data(v, 1, s->n);
    for (size_t i = 0; i < s->n; i++) {
        v[i] = fabs(s->y[i] - med);
    }
    gsl_sort(v, 1, s->n);
    double mad = gsl_stats_median_from_sorted_data(v, 1, s->n);
    free(v);
    b[0] = med;
    se[0] = 1.4826 * mad * 1.2533 / sqrt((double)s->n);
    return 0;
}

static int lsq_fit(const struct pts *s, size_t p, double *b, double *se,
                   bool robust)
{
    if (s->n < p + 1 && !(p == 1 && s->n >= 1)) {
        return -1;
    }
    if (robust && p == 1) {
        return median_fit(s, b, se);
    }
    gsl_matrix *X = gsl_matrix_alloc(s->n, p);
    gsl_vector *y = gsl_vector_alloc(s->n);
    gsl_vector *c = gsl_vector_alloc(p);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(s->n, p);
    int rc = -1;
    if (X && y && c && cov && w) {
        for (size_t i = 0; i < s->n; i++) {
            for (size_t j = 0; j < p; j++) {
                gsl_matrix_set(X, i, j, s->x[i * s->p + j]);
            }
            gsl_vector_set(y, i, s->y[i]);
        }
        double chisq;
        gsl_error_handler_t *old = gsl_set_error_handler_off();
        bool ok =
            robust && s->n >= p + 3
                ? robust_fit(X, y, c, cov) == 0
                : gsl_multifit_linear(X, y, c, cov, &chisq, w) == GSL_SUCCESS;
        if (ok) {
            /* GSL scales cov by the residuals' variance already */
            for (size_t j = 0; j < p; j++) {
                b[j] = gsl_vector_get(c, j);
                double v = gsl_matrix_get(cov, j, j);
                se[j] = v > 0 ? sqrt(v) : 0;
            }
            rc = 0;
        }
        gsl_set_error_handler(old);
    }
    gsl_multifit_linear_free(w);
    gsl_matrix_free(cov);
    gsl_vector_free(c);
    gsl_vector_free(y);
    gsl_matrix_free(X);
    return rc;
}

static void set_fit(struct calib_const *k, double v, double se,
                    const struct pts *s, enum calib_status st, const char *note)
{
    k->value = v;
    k->spread = se;
    k->runs = s->runs;
    k->points = (unsigned)s->n;
    k->status = st;
    snprintf(k->note, sizeof(k->note), "%s", note);
}

/* Distinct values of column col. */
static unsigned distinct(const struct pts *s, size_t col)
{
    unsigned n = 0;
    for (size_t i = 0; i < s->n && n < 2; i++) {
        double v = s->x[i * s->p + col];
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            seen |= s->x[j * s->p + col] == v;
        }
        n += !seen;
    }
    return n;
}

/* y = a + b x when x varies, else y = a with b separated to 0. */
static int fit_affine(struct calib *c, struct pts *s, enum calib_key ka,
                      enum calib_key kb, const char *what,
                      const char *one_value, bool robust)
{
    double b[2], se[2];
    char note[160];
    (void)c;
    if (!s->n) {
        return 0;
    }
    bool varies = distinct(s, 1) >= 2 && s->n >= 3;
    if (varies && lsq_fit(s, 2, b, se, robust) == 0 && b[0] >= 0 && b[1] >= 0) {
        snprintf(note, sizeof(note), "%s", what);
        set_fit(&c->c[ka], b[0], se[0], s, CALIB_FITTED, note);
        set_fit(&c->c[kb], b[1], se[1], s, CALIB_FITTED, note);
        return 0;
    }
    if (varies) {
        one_value = "fitted negative (the runs do not show it growing): 0, "
                    "the fixed part carries it";
    }
    if (lsq_fit(s, 1, b, se, robust) < 0) {
        return 0;
    }
    if (b[0] < 0) {
        b[0] = 0;
    }
    snprintf(note, sizeof(note), "%s (fixed part only)", what);
    set_fit(&c->c[ka], b[0], se[0], s, CALIB_FITTED, note);
    set_fit(&c->c[kb], 0, 0, s, CALIB_SEPARATED, one_value);
    return 0;
}

static int64_t last_sync_ns(const struct run_result *run)
{
    for (size_t i = run->n_events; i-- > 0;) {
        if (run->events[i].kind == RUN_EV_SYNC) {
            return run->events[i].dur_ns;
        }
    }
    return 0;
}

static int64_t ram_save_ns(const struct tl_info *in)
{
    for (unsigned i = 0; i < in->n_items; i++) {
        if (strcmp(in->items[i].idstr, "ram") == 0) {
            return in->items[i].save_iterable_ns;
        }
    }
    return -1;
}

/* Every constant at its scenario default, until a fit informs it. */
static void set_defaults(struct calib *c)
{
    struct scenario d;
    scn_defaults(&d);
    const double defv[CALIB_N_KEYS] = {
        [CALIB_SYNC_COST] = (double)d.sync_base_ns,
        [CALIB_SYNC_PER_GIB] = (double)d.sync_per_gib_ns,
        [CALIB_SENDER_PAGE] = (double)d.sender_page_ns,
        [CALIB_ZERO_PAGE] = (double)d.zero_page_scan_ns,
        [CALIB_STOP] = (double)d.stop_base_ns,
        [CALIB_STOP_PER_VCPU] = (double)d.stop_per_vcpu_ns,
        [CALIB_NI_SAVE] = (double)d.non_iterable_save_ns,
        [CALIB_NI_LOAD] = (double)d.non_iterable_load_ns,
        [CALIB_LINK] = (double)d.link_bandwidth_bps,
        [CALIB_SETUP] = (double)d.setup_ns,
        [CALIB_ZERO_LIMITED] = (double)d.zero_page_scan_limited_ns,
    };
    for (unsigned k = 0; k < CALIB_N_KEYS; k++) {
        c->c[k].key = key_rows[k].key;
        c->c[k].unit = key_rows[k].unit;
        c->c[k].value = defv[k];
        c->c[k].spread = 0;
        c->c[k].runs = c->c[k].points = 0;
        c->c[k].status = CALIB_DEFAULT;
        snprintf(c->c[k].note, sizeof(c->c[k].note),
                 "no run informs it: scenario default");
    }
}

/* The points of every fit. */
struct fit_sets {
    struct pts sync, snd, pass, stop, save, link, rest, tail, setup, zlim;
};

/* Run i's points for the sync, sender, stop, save and link fits.
 * 0, or -1 out of memory. */
static int add_run_points(struct fit_sets *f, unsigned i,
                          const struct calib_run *u)
{
    const struct trc_replay *r = &u->r;
    const struct trc_derived_inputs *di = &r->inputs;
    double gib = (double)di->ram_total_bytes / GIB;
    for (size_t k = 0; k < r->run.n_events; k++) {
        const struct run_event *e = &r->run.events[k];
        if (e->kind == RUN_EV_SYNC && e->dur_ns > 0 && gib > 0) {
            double x[2] = {1, gib};
            if (pts_add(&f->sync, (int)i, x, (double)e->dur_ns) < 0) {
                return -1;
            }
        }
    }
    if (!di->max_bandwidth_binds) {
        double A[512][2], y[512];
        size_t n = trc_sender_windows(&r->run, di->page_bytes, A, y, 512);
        for (size_t k = 0; k < n; k++) {
            if (pts_add(&f->snd, (int)i, A[k], y[k]) < 0) {
                return -1;
            }
        }
        /* the whole first pass, one point per run */
        if (di->have_zero && di->first_pass_ns > 0 && di->normal_pages) {
            double x[2] = {(double)di->normal_pages, (double)di->zero_pages};
            if (pts_add(&f->pass, (int)i, x, (double)di->first_pass_ns) < 0) {
                return -1;
            }
        }
    }
    double vc = u->vcpus ? (double)u->vcpus : 1.0;
    if (di->vm_stop_ns >= 0) {
        double x[2] = {1, vc};
        if (pts_add(&f->stop, (int)i, x, (double)di->vm_stop_ns) < 0) {
            return -1;
        }
    }
    if (di->max_bandwidth_binds && di->have_zero_scan && !di->have_sender &&
        di->sender_zero_page_ns > 0) {
        /* replay's zero-page cost from the windows of mostly zero pages
         * under the limit */
        double x[1] = {1};
        if (pts_add(&f->zlim, (int)i, x, di->sender_zero_page_ns) < 0) {
            return -1;
        }
    }
    if (di->setup_ns >= 0) {
        double x[1] = {1};
        if (pts_add(&f->setup, (int)i, x, (double)di->setup_ns) < 0) {
            return -1;
        }
    }
    if (di->non_iterable_save_ns >= 0) {
        double x[1] = {1};
        if (pts_add(&f->save, (int)i, x, (double)di->non_iterable_save_ns) <
            0) {
            return -1;
        }
    }
    int64_t rs = ram_save_ns(&r->info);
    int64_t ls = last_sync_ns(&r->run);
    if (u->downtime_bytes && rs > ls) {
        double x[1] = {(double)u->downtime_bytes};
        if (pts_add(&f->link, (int)i, x, (double)(rs - ls)) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The data page's cost held to the runs' whole first passes, the zero
 * page's cost as the windows gave it: c_n = sum N (T - Z c_z) / sum N^2
 * (single windows scatter 3-5x on a shared host; the passes cannot
 * separate the two costs themselves, their zero shares being alike).
 * true when set. */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The passes that are not far off the others (per-page time within 2x of
 * the median): on 2026-12-04 three unlimited 512 MiB passes took 104 ms
 * whatever their data share (8-33 K data pages) and one took 505 ms; the
 * windows of that one alone (the others were too short for any) gave c_n
 * 12 us, which made every unlimited prediction 2-4x slow.  0, -1 out of
 * memory; *med the median per-page time. */
static int passes_kept(const struct pts *pass, struct pts *keep, double *med)
{
    double *r = malloc((pass->n ? pass->n : 1) * sizeof(*r));
    if (!r) {
        return -1;
    }
    for (size_t i = 0; i < pass->n; i++) {
        double pages = pass->x[i * 2] + pass->x[i * 2 + 1];
        r[i] = pages > 0 ? pass->y[i] / pages : 0;
    }
    double *sorted = malloc((pass->n ? pass->n : 1) * sizeof(*sorted));
    if (!sorted) {
        free(r);
        return -1;
    }
    memcpy(sorted, r, pass->n * sizeof(*r));
    qsort(sorted, pass->n, sizeof(*sorted), cmp_dbl);
    *med = pass->n ? sorted[pass->n / 2] : 0;
    free(sorted);
    int rc = 0;
    for (size_t i = 0; i < pass->n && rc == 0; i++) {
        if (r[i] > 0 && r[i] <= 2 * *med && r[i] >= *med / 2) {
            rc = pts_add(keep, (int)i, pass->x + i * 2, pass->y[i]);
        }
    }
    free(r);
    return rc;
}

/* The sender's costs held to the runs' whole first passes.  False when
 * the passes say nothing (the windows' fit stays). */
static bool sender_from_passes(struct calib *c, const struct pts *pass)
{
    struct calib_const *kn = &c->c[CALIB_SENDER_PAGE];
    struct calib_const *kz = &c->c[CALIB_ZERO_PAGE];
    if (pass->runs == 1 && kn->status == CALIB_FITTED) {
        /* one run: the windows' pair held to its whole first pass, as
         * replay holds it (within -20 % / +20 %) */
        double t = pass->x[0] * kn->value + pass->x[1] * kz->value;
        double k = t > 0 ? pass->y[0] / t : 1.0;
        if (k < 0.8 || k > 1.2) {
            const char *w = "first-pass windows, held to the run's whole "
                            "first pass";
            set_fit(kn, kn->value * k, kn->spread * k, pass, CALIB_FITTED, w);
            if (kz->status == CALIB_FITTED) {
                set_fit(kz, kz->value * k, kz->spread * k, pass, CALIB_FITTED,
                        w);
            }
        }
        return true;
    }
    if (pass->runs < 2) {
        return false;
    }
    struct pts keep = {.p = 2, .last_run = -1};
    double med = 0;
    if (passes_kept(pass, &keep, &med) < 0 || keep.runs < 2) {
        pts_free(&keep);
        return false;
    }
    /* both costs from the passes, when runs of other data shares determine
     * them (to 50 %) */
    double b[2], bse[2];
    if (keep.n >= 3 && distinct(&keep, 0) >= 2 && lsq(&keep, 2, b, bse) == 0 &&
        b[0] > 0 && b[1] > 0 && bse[0] < 0.5 * b[0] && bse[1] < 0.5 * b[1]) {
        const char *w = "first passes (the odd ones out): time = normal x c_n "
                        "+ zero x c_z, both from the passes";
        set_fit(kn, b[0], bse[0], &keep, CALIB_FITTED, w);
        set_fit(kz, b[1], bse[1], &keep, CALIB_FITTED, w);
        pts_free(&keep);
        return true;
    }
    /* else c_n with c_z as the windows (or the default) give it, when that
     * c_z leaves the passes time for their data pages */
    double cz = kz->value;
    double sxy = 0, sxx = 0;
    bool room = true;
    for (size_t i = 0; i < keep.n; i++) {
        double n = keep.x[i * 2], z = keep.x[i * 2 + 1];
        room = room && z * cz < keep.y[i];
        sxy += n * (keep.y[i] - z * cz);
        sxx += n * n;
    }
    if (!room || !(sxx > 0) || !(sxy > 0)) {
        /* the zero pages alone would take longer than the passes did: the
         * passes cannot tell the two costs apart, so both are the passes'
         * median time per page */
        const char *w = "first passes (the odd ones out): their median time "
                        "per page, data and zero pages alike (the windows' "
                        "zero-page cost exceeded the passes)";
        set_fit(kn, med, 0, &keep, CALIB_FITTED, w);
        set_fit(kz, med, 0, &keep, CALIB_FITTED, w);
        pts_free(&keep);
        return true;
    }
    double cn = sxy / sxx, rss = 0;
    for (size_t i = 0; i < keep.n; i++) {
        double n = keep.x[i * 2], z = keep.x[i * 2 + 1];
        double r = keep.y[i] - z * cz - n * cn;
        rss += r * r;
    }
    double se = keep.n > 1 ? sqrt(rss / (double)(keep.n - 1) / sxx) : 0;
    set_fit(kn, cn, se, &keep, CALIB_FITTED,
            "first passes: time = normal x c_n + zero x c_z, c_z from the "
            "windows");
    pts_free(&keep);
    return true;
}

/* sender: no intercept, both columns, from the windows; then the data
 * page's cost held to the whole first passes */
static void fit_sender(struct calib *c, const struct pts *snd,
                       const struct pts *pass)
{
    double b[2], se[2];
    if (snd->n >= 3 && lsq(snd, 2, b, se) == 0 && b[0] > 0 && b[1] >= 0) {
        const char *w = "first-pass windows: time = normal x c_n + zero x "
                        "c_z";
        set_fit(&c->c[CALIB_SENDER_PAGE], b[0], se[0], snd, CALIB_FITTED, w);
        set_fit(&c->c[CALIB_ZERO_PAGE], b[1], se[1], snd, CALIB_FITTED, w);
    } else if (snd->n >= 1 && lsq(snd, 1, b, se) == 0 && b[0] > 0) {
        set_fit(&c->c[CALIB_SENDER_PAGE], b[0], se[0], snd, CALIB_FITTED,
                "first-pass windows (normal pages only: zero pages not "
                "separable)");
    }
    sender_from_passes(c, pass);
}

/* The non-iterable save time and the link bandwidth. */
static void fit_save_link(struct calib *c, const struct pts *save,
                          const struct pts *link)
{
    double b[2], se[2];
    if (save->n && lsq(save, 1, b, se) == 0) {
        set_fit(&c->c[CALIB_NI_SAVE], b[0] > 0 ? b[0] : 0, se[0], save,
                CALIB_FITTED, "vmstate_downtime_save type=non-iterable sums");
    }
    if (link->n && lsq(link, 1, b, se) == 0 && b[0] > 0) {
        double l = 1e9 / b[0];
        set_fit(&c->c[CALIB_LINK], l, l * se[0] / b[0], link, CALIB_FITTED,
                "downtime-bytes against the RAM section's save time minus "
                "its sync");
    }
}

/* Whether the source waited for the destination's SHUT in run u: a
 * return path is open with postcopy-ram (a postcopy start shows it) or
 * return-path / switchover-ack.  A trace of a precopy run does not show
 * those capabilities: it counts as without (QEMU's default). */
static bool run_return_path(const struct calib_run *u)
{
    return u->return_path || u->r.inputs.postcopy;
}

/* What each run's observed downtime leaves once the fitted parts are
 * taken out (all of stop and save too when split): into rest for runs
 * whose source waited for the destination (the load time), into tail for
 * the others (time after the non-iterable save).  0, or -1 out of
 * memory. */
static int add_rest_points(const struct calib *c, bool split, struct pts *rest,
                           struct pts *tail)
{
    for (unsigned i = 0; i < c->n_runs; i++) {
        const struct calib_run *u = &c->runs[i];
        const struct trc_replay *r = &u->r;
        char src[80];
        int64_t down = u->downtime_ns >= 0
                           ? u->downtime_ns
                           : trc_observed_downtime(r, src, sizeof(src));
        if (down < 0 || !r->info.switchover) {
            continue;
        }
        /* RAM sent inside the downtime: query-migrate's downtime-bytes,
         * else the pending at the switchover, its zero pages taken out
         * while the first pass was still going (once a sync found pages
         * again, what is pending is pages written since: data) */
        const struct trc_derived_inputs *di = &r->inputs;
        double data_share =
            r->run.m.bitmap_syncs < 2 && di->have_zero &&
                    di->normal_pages + di->zero_pages
                ? (double)di->normal_pages /
                      (double)(di->normal_pages + di->zero_pages)
                : 1.0;
        double ram_bytes =
            u->downtime_bytes ? (double)u->downtime_bytes
                              : (double)r->info.switchover_pending * data_share;
        double vc = u->vcpus ? (double)u->vcpus : 1.0;
        /* the RAM's time at the link is left in: rest_fit takes it out,
         * or fits the link from it */
        double y = (double)down - (double)last_sync_ns(&r->run);
        if (split) {
            /* the run's own stop and save where its trace times them, the
             * fitted ones otherwise */
            y -= di->vm_stop_ns >= 0 ? (double)di->vm_stop_ns
                                     : c->c[CALIB_STOP].value +
                                           vc * c->c[CALIB_STOP_PER_VCPU].value;
            /* a save no run times is what the tail fit below finds, not
             * its default: the default is left in only once fitted */
            y -= di->non_iterable_save_ns >= 0
                     ? (double)di->non_iterable_save_ns
                 : c->c[CALIB_NI_SAVE].status == CALIB_FITTED
                     ? c->c[CALIB_NI_SAVE].value
                     : 0.0;
        }
        double x[2] = {1, ram_bytes};
        /* without a return path the source never waited for the
         * destination: what is left is its own tail */
        struct pts *to = split && !run_return_path(u) ? tail : rest;
        if (pts_add(to, (int)i, x, y) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The constant part of remainders s (y = a + RAM bytes / link).  When no
 * run's downtime-bytes gave the link and the RAM inside the downtimes
 * varies, a and the link are fitted together (the link set in c); else
 * the RAM goes out at the link in force and a is the mean.  0, or -1 when
 * nothing fits. */
static int rest_fit(struct calib *c, const struct pts *s, double *a,
                    double *se_a)
{
    struct calib_const *L = &c->c[CALIB_LINK];
    double b[2], se[2];
    if (L->status == CALIB_DEFAULT && s->n >= 3 && distinct(s, 1) >= 2 &&
        lsq_fit(s, 2, b, se, true) == 0 && b[0] >= 0 && b[1] > 1e-3 &&
        se[1] < 0.25 * b[1]) {
        /* b[1] ns per byte: under 1 TB/s, and determined to 25 % (the
         * downtimes of a shared host scatter; a looser slope is noise) */
        double l = 1e9 / b[1];
        set_fit(L, l, l * se[1] / b[1], s, CALIB_FITTED,
                "observed downtimes = fixed + their RAM bytes / link (the "
                "RAM at the switchover varies over the runs)");
        *a = b[0];
        *se_a = se[0];
        return 0;
    }
    struct pts t = {.p = 1, .last_run = -1};
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        double x[1] = {1};
        double y = s->y[i] - s->x[i * s->p + 1] * 1e9 / L->value;
        rc = pts_add(&t, 0, x, y);
    }
    if (rc == 0) {
        rc = lsq_fit(&t, 1, b, se, true);
    }
    pts_free(&t);
    if (rc == 0) {
        *a = b[0];
        *se_a = se[0];
    }
    return rc;
}

/* The downtime's remainder: the load time, or when nothing splits the
 * downtime one lumped stop cost. */
static void fit_rest(struct calib *c, bool split, const struct pts *rest,
                     const struct pts *tail)
{
    double b[2], se[2];
    struct calib_const *k = &c->c[CALIB_NI_SAVE];
    bool saved = k->status == CALIB_FITTED;
    if (split && tail->n && rest_fit(c, tail, &b[0], &se[0]) == 0 &&
        (b[0] > 0 || !saved)) {
        /* the source's own time after the non-iterable save (closing the
         * stream): the model's last source-side term carries it.  Where no
         * run times the save (7.2-9.x: the stop is timed from
         * migration_completion_vm_stop) the tail is all of it, not added
         * to the 5 ms default: that default made every 7.2 prediction
         * 5 ms too long */
        double sp = sqrt(k->spread * k->spread + se[0] * se[0]);
        const char *note =
            saved ? "non-iterable save sums + the source's tail after them "
                    "(no return path: downtime minus stop, save, RAM, sync)"
                  : "the source's tail, no run timing the save (no return "
                    "path: downtime minus stop, RAM and its sync)";
        double v = (saved ? k->value : 0.0) + b[0];
        set_fit(k, v > 0 ? v : 0, sp, tail, CALIB_FITTED, note);
    }
    if (rest->n && rest_fit(c, rest, &b[0], &se[0]) == 0) {
        double v = b[0] > 0 ? b[0] : 0;
        if (split) {
            set_fit(&c->c[CALIB_NI_LOAD], v, se[0], rest, CALIB_FITTED,
                    "observed downtime minus stop, save, RAM and its sync");
        } else {
            /* nothing splits the downtime: one lumped constant */
            set_fit(&c->c[CALIB_STOP], v, se[0], rest, CALIB_FITTED,
                    "observed downtime minus RAM and its sync (lumped: no "
                    "run splits the downtime)");
            const char *n0 = "not separable (no vmstate_downtime_* in any "
                             "run): 0, vm.stop_cost carries it";
            set_fit(&c->c[CALIB_STOP_PER_VCPU], 0, 0, rest, CALIB_SEPARATED,
                    n0);
            set_fit(&c->c[CALIB_NI_SAVE], 0, 0, rest, CALIB_SEPARATED, n0);
            set_fit(&c->c[CALIB_NI_LOAD], 0, 0, rest, CALIB_SEPARATED, n0);
        }
    }
}

int calib_fit(struct calib *c, char *err, size_t errlen)
{
    if (!c->n_runs) {
        err_set(err, errlen, "no run to calibrate from");
        return -1;
    }
    set_defaults(c);
    struct fit_sets f = {
        .sync = {.p = 2, .last_run = -1},
        .snd = {.p = 2, .last_run = -1},
        .pass = {.p = 2, .last_run = -1},
        .stop = {.p = 2, .last_run = -1},
        .save = {.p = 1, .last_run = -1},
        .link = {.p = 1, .last_run = -1},
        .rest = {.p = 2, .last_run = -1},
        .tail = {.p = 2, .last_run = -1},
        .setup = {.p = 1, .last_run = -1},
        .zlim = {.p = 1, .last_run = -1},
    };
    int rc = -1;
    for (unsigned i = 0; i < c->n_runs; i++) {
        if (add_run_points(&f, i, &c->runs[i]) < 0) {
            goto oom;
        }
    }
    /* robust: under TCG the first sync after the bulk pass takes 4-12 ms
     * where the others take 0.03-0.3 ms (docs/calibrate.md) */
    fit_affine(c, &f.sync, CALIB_SYNC_COST, CALIB_SYNC_PER_GIB,
               "timed bitmap syncs (robust): duration = fixed + per_gib x GiB",
               "not separable (one RAM size): 0, the fixed part carries it",
               true);
    fit_sender(c, &f.snd, &f.pass);
    fit_affine(c, &f.stop, CALIB_STOP, CALIB_STOP_PER_VCPU,
               "traced VM stops (10.0: src-downtime-start -> "
               "src-vm-stopped; before: the switchover -> "
               "migration_completion_vm_stop) = fixed + per_vcpu x vCPUs",
               "not separable (one vCPU count): 0, the fixed part carries "
               "it",
               true);
    fit_save_link(c, &f.save, &f.link);
    double b[1], se[1];
    if (f.setup.n && lsq_fit(&f.setup, 1, b, se, true) == 0 && b[0] >= 0) {
        /* the model adds RAM's first sync after it (replay takes the
         * setup's own sync out) */
        set_fit(&c->c[CALIB_SETUP], b[0], se[0], &f.setup, CALIB_FITTED,
                "setup -> active less the setup's bitmap sync (median)");
    }
    if (f.zlim.n && lsq_fit(&f.zlim, 1, b, se, true) == 0 && b[0] > 0) {
        set_fit(&c->c[CALIB_ZERO_LIMITED], b[0], se[0], &f.zlim, CALIB_FITTED,
                "max-bandwidth runs: their windows of mostly zero pages "
                "under the limit (median)");
    }
    /* what the observed downtime leaves */
    bool split = c->c[CALIB_STOP].status == CALIB_FITTED ||
                 c->c[CALIB_NI_SAVE].status == CALIB_FITTED;
    if (add_rest_points(c, split, &f.rest, &f.tail) < 0) {
        goto oom;
    }
    fit_rest(c, split, &f.rest, &f.tail);
    rc = 0;
    goto out;
oom:
    err_set(err, errlen, "out of memory");
out:
    pts_free(&f.sync);
    pts_free(&f.snd);
    pts_free(&f.pass);
    pts_free(&f.stop);
    pts_free(&f.save);
    pts_free(&f.link);
    pts_free(&f.rest);
    pts_free(&f.tail);
    pts_free(&f.setup);
    pts_free(&f.zlim);
    return rc;
}

/* ---- output ---- */

static const char *status_name(enum calib_status s)
{
    return s == CALIB_FITTED      ? "fitted"
           : s == CALIB_SEPARATED ? "separated"
                                  : "default";
}

/* The scenario value of a constant: "123ns" or "456B/s". */
static json_t *scenario_value(const struct calib_const *k)
{
    char b[48];
    if (strcmp(k->unit, "ns") == 0) {
        snprintf(b, sizeof(b), "%.0fns", k->value > 0 ? round(k->value) : 0);
    } else {
        snprintf(b, sizeof(b), "%.0fB/s", k->value > 1 ? round(k->value) : 1);
    }
    return json_string(b);
}

json_t *calib_json(const struct calib *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "migsim_calibration", json_integer(1));
    json_t *runs = json_array();
    for (unsigned i = 0; i < c->n_runs; i++) {
        const struct calib_run *u = &c->runs[i];
        json_t *j = json_object();
        char v[16];
        json_object_set_new(j, "name", json_string(u->name));
        json_object_set_new(j, "qemu",
                            json_string(tl_qemu_name(u->r.inputs.qemu, v, 16)));
        json_object_set_new(j, "verdict",
                            json_string(trc_verdict_name(u->r.diag.verdict)));
        json_object_set_new(
            j, "ram_bytes",
            json_integer((json_int_t)u->r.inputs.ram_total_bytes));
        json_array_append_new(runs, j);
    }
    json_object_set_new(o, "runs", runs);
    json_t *cs = json_array();
    json_t *scen = json_object();
    json_t *vm = json_object();
    json_t *mig = json_object();
    for (unsigned k = 0; k < CALIB_N_KEYS; k++) {
        const struct calib_const *q = &c->c[k];
        json_t *j = json_object();
        json_object_set_new(j, "key", json_string(q->key));
        json_object_set_new(j, "unit", json_string(q->unit));
        json_object_set_new(j, "value", json_real(q->value));
        json_object_set_new(j, "spread", json_real(q->spread));
        json_object_set_new(j, "runs", json_integer(q->runs));
        json_object_set_new(j, "points", json_integer(q->points));
        json_object_set_new(j, "status", json_string(status_name(q->status)));
        json_object_set_new(j, "note", json_string(q->note));
        json_array_append_new(cs, j);
        if (q->status != CALIB_DEFAULT) {
            bool is_vm = strncmp(q->key, "vm.", 3) == 0;
            const char *name = strchr(q->key, '.') + 1;
            json_object_set_new(is_vm ? vm : mig, name, scenario_value(q));
        }
    }
    json_object_set_new(o, "constants", cs);
    json_object_set_new(scen, "vm", vm);
    json_object_set_new(scen, "migration", mig);
    json_object_set_new(o, "scenario", scen);
    return o;
}

void calib_print(FILE *f, const struct calib *c)
{
    fprintf(f, "Calibration from %u run%s:\n", c->n_runs,
            c->n_runs == 1 ? "" : "s");
    for (unsigned i = 0; i < c->n_runs; i++) {
        char v[16];
        fprintf(f, "  %s (QEMU %s, %s)\n", c->runs[i].name,
                tl_qemu_name(c->runs[i].r.inputs.qemu, v, sizeof(v)),
                trc_verdict_name(c->runs[i].r.diag.verdict));
    }
    fprintf(f, "\n  %-30s %14s %12s %5s %6s  %-9s %s\n", "constant", "value",
            "spread", "runs", "points", "status", "from");
    for (unsigned k = 0; k < CALIB_N_KEYS; k++) {
        const struct calib_const *q = &c->c[k];
        char val[32], sp[32];
        if (strcmp(q->unit, "ns") == 0) {
            snprintf(val, sizeof(val), "%.1f us", q->value / 1e3);
            snprintf(sp, sizeof(sp), "%.1f us", q->spread / 1e3);
        } else {
            snprintf(val, sizeof(val), "%.1f MB/s", q->value / 1e6);
            snprintf(sp, sizeof(sp), "%.1f MB/s", q->spread / 1e6);
        }
        fprintf(f, "  %-30s %14s %12s %5u %6u  %-9s %s\n", q->key, val,
                q->status == CALIB_FITTED ? sp : "-", q->runs, q->points,
                status_name(q->status), q->note);
    }
}
