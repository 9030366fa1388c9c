/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * live/lab_fit.c — `migsim lab validate --calibrate`: fit a calibration
 * (calib/calib.h) on half the grid's real runs and simulate the other half
 * with it (contract in live/lab_validate.h).
 */
#include "live/lab_validate.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "calib/calib.h"
#include "model/mig.h"
#include "run/scenario.h"

/* Before, runs went in pairs ((k / 2) % 2), which on a grid of three
 * axes of two values put every run of one --dirty-rate in the fit half
 * and every run of the other in the validation half (all converged
 * against all timeouts). */
static bool in_fit_half(const struct lab_validate_result *r, size_t k)
{
    return r->rows[k].fit;
}

void lab_fit_trace_path(const struct lab_validate_result *r, size_t k,
                        char *buf, size_t len)
{
    if (!r->fit_dir[0]) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, len, "%s/run-%zu.log", r->fit_dir, k + 1);
}

/* Simulate row k's model scenario with the calibration file. */
static void resimulate(const struct lab_validate_result *r, size_t k,
                       const char *cal, struct lab_validate_row *v)
{
    char err[1024] = "";
    struct scn_doc *doc =
        r->model_json[k]
            ? scn_doc_parse(r->model_json[k], "lab validate", err, sizeof(err))
            : NULL;
    json_t *js = json_string(cal);
    char *q = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    char set[1100];
    snprintf(set, sizeof(set), "calibration=%s", q ? q : "\"\"");
    free(q);
    struct scenario sc;
    struct run_result sim;
    run_result_init(&sim);
    struct mig_options mo;
    mig_options_default(&mo);
    v->ran = false;
    if (doc && scn_doc_set(doc, set, err, sizeof(err)) == 0 &&
        scn_resolve(doc, &sc, err, sizeof(err)) == 0 &&
        mig_simulate(&sc, "qemu", &mo, &sim, err, sizeof(err)) == 0) {
        v->ran = true;
        v->pred = sim.m.outcome;
        v->pred_syncs = sim.m.bitmap_syncs;
        v->pred_total = sim.m.total_ns;
        v->pred_down = sim.m.src_downtime_ns;
    } else {
        snprintf(v->error, sizeof(v->error), "simulation: %.230s", err);
    }
    run_result_free(&sim);
    scn_doc_free(doc);
}

int lab_fit_half(const struct lab_validate_opts *o,
                 struct lab_validate_result *r, char *err, size_t errlen)
{
    (void)o;
    struct calib c;
    if (calib_init(&c) < 0) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    char e[1024];
    for (size_t k = 0; k < r->n_rows; k++) {
        const struct lab_validate_row *v = &r->rows[k];
        char tp[512];
        lab_fit_trace_path(r, k, tp, sizeof(tp));
        if (!in_fit_half(r, k) || !v->ran) {
            continue;
        }
        if (calib_add_trace(&c, tp, e, sizeof(e)) < 0) {
            continue; /* said in the note: fewer runs */
        }
        /* the downtime query-migrate reported */
        c.runs[c.n_runs - 1].downtime_ns = v->real_down;
        c.runs[c.n_runs - 1].vcpus = 1;
    }
    r->n_fit_runs = c.n_runs;
    char cal[400];
    snprintf(cal, sizeof(cal), "%s/calibration.json", r->fit_dir);
    int rc = -1;
    json_t *doc = NULL;
    if (calib_fit(&c, e, sizeof(e)) < 0) {
        err_set(err, errlen, "--calibrate: %s", e);
        goto out;
    }
    doc = calib_json(&c);
    if (!doc || json_dump_file(doc, cal, JSON_INDENT(2)) < 0) {
        err_set(err, errlen, "--calibrate: cannot write %s", cal);
        goto out;
    }
    r->fit_rows = calloc(r->n_rows ? r->n_rows : 1, sizeof(*r->fit_rows));
    if (!r->fit_rows) {
        err_set(err, errlen, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < r->n_rows; k++) {
        if (in_fit_half(r, k) || !r->rows[k].ran) {
            continue;
        }
        struct lab_validate_row *v = &r->fit_rows[r->n_fit_rows++];
        *v = r->rows[k];
        v->error[0] = '\0';
        resimulate(r, k, cal, v);
    }
    snprintf(r->fit_note, sizeof(r->fit_note),
             "calibration fitted on %zu runs of the other half: %.300s",
             r->n_fit_runs, cal);
    rc = 0;
out:
    json_decref(doc);
    calib_free(&c);
    return rc;
}

void lab_fit_print(FILE *f, const struct lab_validate_result *r)
{
    struct lab_validate_result half = *r;
    struct lab_validate_row *rows =
        calloc(r->n_rows ? r->n_rows : 1, sizeof(*rows));
    if (!rows) {
        return;
    }
    size_t n = 0;
    for (size_t k = 0; k < r->n_rows; k++) {
        if (in_fit_half(r, k)) {
            rows[n++] = r->rows[k];
        }
    }
    half.rows = rows;
    half.n_rows = n;
    fprintf(f, "\nCalibration half (simulated before the fit):\n");
    lab_validate_print(f, &half, false);
    half.rows = r->fit_rows;
    half.n_rows = r->n_fit_rows;
    snprintf(half.calib, sizeof(half.calib), "%.250s", r->fit_note);
    fprintf(f, "\nValidation half (simulated with the fitted calibration):\n");
    lab_validate_print(f, &half, false);
    free(rows);
}
