/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/replay_out.c — what `migsim replay` prints for a replay session
 * (traces/replay.h): the JSON document and the table.  One public function
 * per output; the CLI chooses one and writes it.
 */
#include "traces/replay.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "run/qmp_params.h"
#include "base/units.h"

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

static json_t *jnum_or_null(bool have, double v)
{
    return have && isfinite(v) ? json_real(v) : json_null();
}

/* A time in ms, null when unknown (negative). */
static json_t *ms_or_null(int64_t ns)
{
    return jnum_or_null(ns >= 0, ms(ns));
}

/* ---- JSON ---- */

static json_t *input_json(const struct trc_replay *r)
{
    const struct trc_stats *s = &r->stats;
    json_t *o = json_object();
    json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(o, "lines", json_integer((json_int_t)s->lines));
    json_object_set_new(o, "records", json_integer((json_int_t)s->records));
    json_object_set_new(o, "events", json_integer((json_int_t)s->events));
    json_object_set_new(o, "known", json_integer((json_int_t)s->known));
    json_object_set_new(o, "unknown", json_integer((json_int_t)s->unknown));
    json_object_set_new(o, "unknown_migration",
                        json_integer((json_int_t)s->unknown_migration));
    json_t *un = json_array();
    for (unsigned i = 0; i < s->n_unknown_names; i++) {
        json_t *u = json_object();
        json_object_set_new(u, "name", json_string(s->unknown_names[i].name));
        json_object_set_new(
            u, "count", json_integer((json_int_t)s->unknown_names[i].count));
        json_object_set_new(u, "migration",
                            json_boolean(s->unknown_names[i].migration));
        json_array_append_new(un, u);
    }
    json_object_set_new(o, "unknown_events", un);
    json_object_set_new(o, "malformed", json_integer((json_int_t)s->malformed));
    json_object_set_new(o, "long_lines",
                        json_integer((json_int_t)s->long_lines));
    json_t *msgs = json_array();
    for (unsigned i = 0; i < s->n_messages; i++) {
        json_array_append_new(msgs, json_string(s->messages[i]));
    }
    json_object_set_new(o, "messages", msgs);
    json_object_set_new(o, "other", json_integer((json_int_t)s->other));
    json_object_set_new(o, "snapshots", json_integer((json_int_t)s->snapshots));
    json_object_set_new(o, "qmp_events",
                        json_integer((json_int_t)s->qmp_events));
    json_object_set_new(o, "dropped", json_integer((json_int_t)s->dropped));
    if (s->nonfinite) {
        json_object_set_new(o, "nonfinite_values",
                            json_integer((json_int_t)s->nonfinite));
    }
    if (s->multiline_json) {
        json_object_set_new(o, "multiline_json",
                            json_integer((json_int_t)s->multiline_json));
    }
    if (r->info.time_warning[0]) {
        json_object_set_new(o, "time_warning",
                            json_string(r->info.time_warning));
    }
    char cw[400];
    if (trc_replay_costly_events(r, cw, sizeof(cw))[0]) {
        json_object_set_new(o, "costly_events_warning", json_string(cw));
    }
    json_object_set_new(o, "declared_events", json_integer(s->decls));
    json_t *pf = json_object();
    for (unsigned f = 1; f < TRC_FMT_COUNT; f++) {
        if (s->per_format[f]) {
            json_object_set_new(pf, trc_format_name((enum trc_format)f),
                                json_integer((json_int_t)s->per_format[f]));
        }
    }
    json_object_set_new(o, "per_format", pf);
    return o;
}

/* The save / load times of the downtime breakdown (whole VM or one item). */
static void add_save_load(json_t *o, int64_t save_it_ns, int64_t save_non_ns,
                          int64_t load_it_ns, int64_t load_non_ns)
{
    json_object_set_new(o, "save_iterable_ms", ms_or_null(save_it_ns));
    json_object_set_new(o, "save_non_iterable_ms", ms_or_null(save_non_ns));
    json_object_set_new(o, "load_iterable_ms", ms_or_null(load_it_ns));
    json_object_set_new(o, "load_non_iterable_ms", ms_or_null(load_non_ns));
}

static json_t *breakdown_json(const struct tl_info *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "vm_stop_ms", ms_or_null(in->vm_stop_ns));
    add_save_load(o, in->save_iterable_ns, in->save_non_iterable_ns,
                  in->load_iterable_ns, in->load_non_iterable_ns);
    json_object_set_new(o, "vfio_save_ms", ms_or_null(in->vfio_save_ns));
    json_object_set_new(o, "vfio_load_ms", ms_or_null(in->vfio_load_ns));
    json_object_set_new(o, "src_downtime_ms", ms_or_null(in->src_downtime_ns));
    json_t *items = json_array();
    for (unsigned i = 0; i < in->n_items; i++) {
        const struct tl_item *it = &in->items[i];
        json_t *j = json_object();
        json_object_set_new(j, "idstr", json_string(it->idstr));
        json_object_set_new(j, "vfio", json_boolean(it->vfio));
        add_save_load(j, it->save_iterable_ns, it->save_non_iterable_ns,
                      it->load_iterable_ns, it->load_non_iterable_ns);
        json_array_append_new(items, j);
    }
    json_object_set_new(o, "items", items);
    json_t *cps = json_array();
    for (unsigned i = 0; i < in->n_checkpoints; i++) {
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(in->checkpoints[i].name));
        json_object_set_new(j, "t_ns",
                            json_integer((json_int_t)in->checkpoints[i].t_ns));
        json_object_set_new(j, "dest", json_boolean(in->checkpoints[i].dest));
        json_array_append_new(cps, j);
    }
    json_object_set_new(o, "checkpoints", cps);
    return o;
}

static json_t *series_json(const struct tl_series *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++) {
        json_t *p = json_array();
        json_array_append_new(p, json_real(ms(s->t_ns[i])));
        json_array_append_new(p, json_real(s->v[i]));
        json_array_append_new(a, p);
    }
    return a;
}

/* The inputs issue 11 completed, each with its *_source. */
static void add_completed_inputs(json_t *o, const struct trc_derived_inputs *di)
{
    json_object_set_new(o, "ram_total_source",
                        json_string(di->ram_total_source));
    json_object_set_new(o, "page_bytes",
                        json_integer((json_int_t)di->page_bytes));
    json_object_set_new(o, "normal_pages",
                        di->have_zero
                            ? json_integer((json_int_t)di->normal_pages)
                            : json_null());
    json_object_set_new(o, "zero_pages",
                        di->have_zero ? json_integer((json_int_t)di->zero_pages)
                                      : json_null());
    json_object_set_new(o, "zero_fraction",
                        jnum_or_null(di->have_zero, di->zero_fraction));
    json_object_set_new(o, "zero_source", json_string(di->zero_source));
    json_object_set_new(o, "working_set_bytes",
                        json_integer((json_int_t)di->working_set_bytes));
    json_object_set_new(o, "write_pattern", json_string(di->write_pattern));
    json_object_set_new(o, "working_set_source",
                        json_string(di->working_set_source));
    json_object_set_new(o, "ram_dirty_rate_source",
                        json_string(di->dirty_rate_source));
    json_object_set_new(o, "bandwidth_source",
                        json_string(di->bandwidth_source));
    json_object_set_new(o, "max_bandwidth_binds",
                        json_boolean(di->max_bandwidth_binds));
    json_object_set_new(
        o, "sender_normal_page_ns",
        jnum_or_null(di->have_sender, di->sender_normal_page_ns));
    json_object_set_new(
        o, "sender_zero_page_ns",
        jnum_or_null(di->have_zero_scan, di->sender_zero_page_ns));
    json_object_set_new(o, "sender_bps",
                        jnum_or_null(di->have_sender, di->sender_bps));
    json_object_set_new(o, "sender_source", json_string(di->sender_source));
    json_object_set_new(o, "sync_cost_source", json_string(di->sync_source));
    json_object_set_new(o, "vm_stop_ms", ms_or_null(di->vm_stop_ns));
    json_object_set_new(o, "vm_stop_source", json_string(di->vm_stop_source));
    json_object_set_new(o, "setup_ms", ms_or_null(di->setup_ns));
    json_object_set_new(o, "setup_source", json_string(di->setup_source));
    json_object_set_new(o, "non_iterable_save_ms",
                        ms_or_null(di->non_iterable_save_ns));
    json_object_set_new(o, "non_iterable_load_ms",
                        ms_or_null(di->non_iterable_load_ns));
    json_object_set_new(o, "save_load_source",
                        json_string(di->save_load_source));
    json_object_set_new(o, "postcopy", json_boolean(di->postcopy));
    json_object_set_new(o, "parameters_source", json_string(di->params_source));
}

static json_t *inputs_json(const struct trc_derived_inputs *di)
{
    char v[16];
    json_t *o = json_object();
    json_object_set_new(o, "qemu",
                        json_string(tl_qemu_name(di->qemu, v, sizeof(v))));
    json_object_set_new(o, "qemu_guess", json_string(di->qemu_guess));
    json_object_set_new(o, "bandwidth_bps",
                        jnum_or_null(di->bandwidth_bps > 0, di->bandwidth_bps));
    json_object_set_new(o, "downtime_limit_ms",
                        json_real(ms(di->downtime_limit_ns)));
    json_object_set_new(o, "downtime_limit_inferred",
                        json_boolean(di->downtime_limit_inferred));
    json_object_set_new(o, "avail_switchover_bandwidth_bps",
                        json_integer((json_int_t)di->avail_switchover_bps));
    json_object_set_new(o, "ram_dirty_rate_mean_bps",
                        json_real(di->ram_dirty_rate_mean_bps));
    json_object_set_new(o, "ram_dirty_rate", series_json(&di->ram_dirty_rate));
    json_object_set_new(o, "ram_pending_bytes",
                        json_integer((json_int_t)di->ram_pending_bytes));
    json_object_set_new(o, "ram_total_bytes",
                        json_integer((json_int_t)di->ram_total_bytes));
    json_object_set_new(o, "sync_cost_ms", json_real(ms(di->sync_cost_ns)));
    json_object_set_new(o, "duration_ms", json_real(ms(di->duration_ns)));
    json_t *devs = json_array();
    for (unsigned i = 0; i < di->n_devices; i++) {
        const struct trc_dev_input *d = &di->dev[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(d->name));
        json_object_set_new(j, "inferred", json_boolean(d->inferred));
        json_object_set_new(j, "precopy", json_boolean(d->precopy));
        json_object_set_new(j, "stop_copy_bytes",
                            json_integer((json_int_t)d->stop_copy_bytes));
        json_object_set_new(j, "stop_copy", series_json(&d->stop_copy));
        json_object_set_new(j, "save_ms", json_real(ms(d->save_ns)));
        json_object_set_new(j, "load_ms", json_real(ms(d->load_ns)));
        json_array_append_new(devs, j);
    }
    json_object_set_new(o, "devices", devs);
    add_completed_inputs(o, di);
    return o;
}

char *trc_diagnosis_text(const struct trc_diagnosis *d)
{
    size_t n = 1;
    for (unsigned i = 0; i < d->n_notes; i++) {
        n += strlen(d->notes[i]) + 1;
    }
    char *s = malloc(n);
    if (!s) {
        return NULL;
    }
    s[0] = '\0';
    for (unsigned i = 0; i < d->n_notes; i++) {
        if (i) {
            strcat(s, " ");
        }
        strcat(s, d->notes[i]);
    }
    return s;
}

/* What was read and the verdict with its explanation. */
static void add_verdict(json_t *o, const struct trc_replay *r)
{
    const struct trc_diagnosis *d = &r->diag;
    json_t *files = json_array();
    for (unsigned i = 0; i < r->n_files; i++) {
        json_array_append_new(files, json_string(r->files[i]));
    }
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "format", json_string(trc_format_name(r->format)));
    json_object_set_new(o, "input", input_json(r));
    json_object_set_new(o, "verdict",
                        json_string(trc_verdict_name(d->verdict)));
    json_object_set_new(o, "summary", json_string(d->summary));
    json_t *why = json_array();
    for (unsigned b = 0; b < 16; b++) {
        if (d->why & (1u << b)) {
            json_array_append_new(why, json_string(trc_why_name(1u << b)));
        }
    }
    json_object_set_new(o, "why", why);
    char *text = trc_diagnosis_text(d);
    json_object_set_new(o, "diagnosis", json_string(text ? text : ""));
    free(text);
    json_t *notes = json_array();
    for (unsigned i = 0; i < d->n_notes; i++) {
        json_array_append_new(notes, json_string(d->notes[i]));
    }
    json_object_set_new(o, "notes", notes);
}

/* The observed run's counts and times. */
static void add_counts(json_t *o, const struct trc_replay *r)
{
    const struct run_metrics *m = &r->run.m;
    const struct tl_info *in = &r->info;
    const struct trc_diagnosis *d = &r->diag;
    json_object_set_new(o, "outcome",
                        json_string(run_outcome_name(m->outcome)));
    json_object_set_new(o, "status", json_string(in->status));
    json_object_set_new(o, "iterations",
                        json_integer((json_int_t)m->iterations));
    json_object_set_new(o, "decided_iterations",
                        json_integer((json_int_t)in->decided));
    json_object_set_new(o, "estimate_calls",
                        json_integer((json_int_t)m->estimate_calls));
    json_object_set_new(o, "exact_calls",
                        json_integer((json_int_t)m->exact_calls));
    json_object_set_new(o, "exact_spin_iterations",
                        json_integer((json_int_t)in->exact_spin_iterations));
    json_object_set_new(o, "bitmap_syncs",
                        json_integer((json_int_t)m->bitmap_syncs));
    json_object_set_new(o, "bitmap_syncs_inferred",
                        json_boolean(in->syncs_inferred));
    json_object_set_new(o, "exact_calls_per_s",
                        json_real(m->exact_calls_per_s));
    json_object_set_new(o, "sync_time_ms", json_real(ms(m->sync_time_ns)));
    json_object_set_new(o, "sync_time_estimated",
                        json_boolean(in->sync_time_estimated));
    json_object_set_new(o, "sync_share", json_real(d->sync_share));
}

/* Limits, what would have converged, bandwidth, switchover. */
static void add_limits(json_t *o, const struct trc_replay *r)
{
    const struct run_metrics *m = &r->run.m;
    const struct tl_info *in = &r->info;
    const struct trc_advice *a = &r->diag.advice;
    json_object_set_new(o, "min_downtime_limit_ms",
                        jnum_or_null(a->have_limit, a->min_downtime_limit_ms));
    json_object_set_new(o, "min_avail_switchover_bandwidth_bps",
                        jnum_or_null(a->have_asb, a->min_avail_switchover_bps));
    json_object_set_new(
        o, "expected_downtime_ms",
        jnum_or_null(a->expected_downtime_ms > 0, a->expected_downtime_ms));
    json_object_set_new(o, "total_ms", json_real(ms(m->total_ns)));
    json_object_set_new(o, "downtime_ms", json_real(ms(m->downtime_ns)));
    json_object_set_new(o, "downtime_limit_ms",
                        json_real(ms(m->downtime_limit_ns)));
    json_object_set_new(o, "downtime_limit_inferred",
                        json_boolean(in->limit_inferred));
    if (in->limit_read) {
        json_object_set_new(o, "downtime_limit_source",
                            json_string(in->limit_source));
    }
    json_object_set_new(o, "bandwidth_bps",
                        jnum_or_null(in->bw_peak_bps > 0, in->bw_mean_bps));
    json_object_set_new(o, "bandwidth_peak_bps",
                        jnum_or_null(in->bw_peak_bps > 0, in->bw_peak_bps));
    json_object_set_new(o, "threshold_traced",
                        json_boolean(in->threshold_traced));
    json_object_set_new(
        o, "threshold_bytes",
        r->run.n_samples
            ? json_integer((json_int_t)r->run.samples[r->run.n_samples - 1]
                               .threshold_bytes)
            : json_null());
    json_object_set_new(
        o, "dirty_rate_bps",
        jnum_or_null(in->dirty_rate_mean_bps > 0, in->dirty_rate_mean_bps));
    json_object_set_new(o, "switchover", json_boolean(in->switchover));
    json_object_set_new(o, "switchover_iteration",
                        in->switchover && in->switchover_iteration
                            ? json_integer((json_int_t)in->switchover_iteration)
                            : json_null());
    json_object_set_new(o, "coarse", json_boolean(in->coarse));
}

/* QEMU version, states, violations, downtime breakdown, inputs. */
static void add_history(json_t *o, const struct trc_replay *r)
{
    const struct run_metrics *m = &r->run.m;
    const struct tl_info *in = &r->info;
    char v1[16], v2[16];
    json_t *q = json_object();
    json_object_set_new(q, "range",
                        json_string(in->qemu_lo == in->qemu_hi
                                        ? tl_qemu_name(in->qemu_lo, v1, 16)
                                        : m->qemu));
    json_object_set_new(q, "model",
                        json_string(tl_qemu_name(in->qemu_model, v2, 16)));
    json_object_set_new(q, "why", json_string(in->qemu_why));
    json_object_set_new(o, "qemu", q);
    json_t *states = json_array();
    for (unsigned i = 0; i < in->n_states; i++) {
        const struct tl_state_change *c = &in->states[i];
        json_t *j = json_object();
        json_object_set_new(j, "state", json_string(c->state));
        json_object_set_new(
            j, "file",
            json_string(c->file < r->n_files ? r->files[c->file] : ""));
        json_object_set_new(j, "line", json_integer((json_int_t)c->line));
        json_object_set_new(
            j, "t_ms", c->t_ns >= 0 ? json_real(ms(c->t_ns)) : json_null());
        json_array_append_new(states, j);
    }
    json_object_set_new(o, "states", states);
    json_t *viol = json_array();
    for (unsigned i = 0; i < in->n_violations; i++) {
        json_array_append_new(viol, json_string(in->violations[i].msg));
    }
    json_object_set_new(o, "violations", viol);
    json_object_set_new(o, "violations_total",
                        json_integer((json_int_t)in->violations_total));
    json_object_set_new(o, "downtime_breakdown", breakdown_json(in));
    json_object_set_new(o, "inputs", inputs_json(&r->inputs));
}

/* One migration as an object (the same members as the top level, without
 * the counterfactual runs). */
static json_t *
migration_json(const struct trc_replay *r,
               json_t *(*metrics_json)(const struct run_metrics *))
{
    json_t *o = json_object();
    json_object_set_new(o, "migration", json_integer(r->mig_index));
    add_verdict(o, r);
    add_counts(o, r);
    add_limits(o, r);
    add_history(o, r);
    json_object_set_new(o, "observed", metrics_json(&r->run.m));
    return o;
}

/* Several migrations: which one the top level describes, and all of them
 * in input order. */
static void add_migrations(json_t *o, const struct trc_replay *r,
                           json_t *(*metrics_json)(const struct run_metrics *))
{
    if (r->n_migrations <= 1) {
        return;
    }
    json_object_set_new(o, "migration", json_integer(r->mig_index));
    json_object_set_new(o, "n_migrations", json_integer(r->n_migrations));
    json_t *a = json_array();
    unsigned k = 0;
    bool self = false;
    while (k < r->n_others || !self) {
        const struct trc_replay *x;
        if (!self &&
            (k >= r->n_others || r->mig_index < r->others[k].mig_index)) {
            x = r;
            self = true;
        } else {
            x = &r->others[k++];
        }
        json_array_append_new(a, migration_json(x, metrics_json));
    }
    json_object_set_new(o, "migrations", a);
}

/* ---- the fit of the re-run under the trace's own policy ---- */

static void wrap(FILE *f, const char *indent, const char *text);

static json_t *err_or_null(double e)
{
    return isfinite(e) ? json_real(e) : json_null();
}

static void add_fit(json_t *o, const struct trc_session *s)
{
    const struct trc_fit *f = &s->fit;
    json_t *j = json_object();
    json_object_set_new(j, "have", json_boolean(f->have));
    json_object_set_new(j, "ok", json_boolean(f->have && f->ok));
    if (f->have) {
        json_object_set_new(j, "tolerance", json_real(TRC_FIT_TOLERANCE));
        json_object_set_new(j, "verdict_match", json_boolean(f->verdict_match));
        json_object_set_new(j, "observed_verdict",
                            json_string(f->observed_verdict));
        json_object_set_new(j, "rerun_verdict", json_string(f->rerun_verdict));
        json_object_set_new(j, "observed_total_ms",
                            json_real(ms(f->obs_total_ns)));
        json_object_set_new(j, "rerun_total_ms",
                            json_real(ms(f->rerun_total_ns)));
        json_object_set_new(j, "total_error", err_or_null(f->total_error));
        json_object_set_new(j, "observed_downtime_ms",
                            ms_or_null(f->obs_downtime_ns));
        json_object_set_new(j, "observed_downtime_source",
                            json_string(f->downtime_source));
        json_object_set_new(j, "rerun_downtime_ms",
                            ms_or_null(f->rerun_downtime_ns));
        json_object_set_new(j, "downtime_error",
                            err_or_null(f->downtime_error));
        json_object_set_new(j, "observed_syncs",
                            json_integer((json_int_t)f->obs_syncs));
        json_object_set_new(j, "rerun_syncs",
                            json_integer((json_int_t)f->rerun_syncs));
        json_object_set_new(j, "blame",
                            f->ok ? json_null() : json_string(f->blame));
    }
    json_object_set_new(o, "fit", j);
}

static void print_err(FILE *f, double e)
{
    if (isfinite(e)) {
        fprintf(f, " (%+.0f%%)", 100 * e);
    }
}

static void print_fit(FILE *f, const struct trc_session *s)
{
    const struct trc_fit *ft = &s->fit;
    char b1[32], b2[32];
    if (!ft->have) {
        return;
    }
    fprintf(f, "\nFit of the re-run (policy qemu) beside the observation: %s\n",
            ft->ok ? "ok" : "OUTSIDE TOLERANCE");
    fprintf(f, "  %-10s %-16s %-16s\n", "", "observed", "re-run");
    fprintf(f, "  %-10s %-16s %s%s\n", "verdict", ft->observed_verdict,
            ft->rerun_verdict, ft->verdict_match ? "" : " (differs)");
    fprintf(f, "  %-10s %-16s %s", "total",
            units_fmt_time(ft->obs_total_ns, b1, sizeof(b1)),
            units_fmt_time(ft->rerun_total_ns, b2, sizeof(b2)));
    print_err(f, ft->total_error);
    fputc('\n', f);
    fprintf(f, "  %-10s %-16" PRIu64 " %" PRIu64 " (%+lld)\n", "syncs",
            ft->obs_syncs, ft->rerun_syncs,
            (long long)ft->rerun_syncs - (long long)ft->obs_syncs);
    fprintf(f, "  %-10s %-16s %s", "downtime",
            ft->obs_downtime_ns >= 0
                ? units_fmt_time(ft->obs_downtime_ns, b1, sizeof(b1))
                : "-",
            ft->rerun_downtime_ns >= 0
                ? units_fmt_time(ft->rerun_downtime_ns, b2, sizeof(b2))
                : "-");
    print_err(f, ft->downtime_error);
    fputc('\n', f);
    if (!ft->ok) {
        wrap(f, "  ",
             "UNRELIABLE: the re-run does not reproduce the trace (verdict "
             "differs or total off by more than 25 %), so the "
             "counterfactual rows below are unfounded.");
        char line[TRC_SRC_LEN + 32];
        snprintf(line, sizeof(line), "Input to blame: %s", ft->blame);
        wrap(f, "  ", line);
    }
}

json_t *trc_replay_json(const struct trc_session *s, long long run_id,
                        json_t *(*metrics_json)(const struct run_metrics *m))
{
    const struct trc_replay *r = &s->r;
    json_t *o = json_object();
    add_verdict(o, r);
    add_counts(o, r);
    add_limits(o, r);
    add_history(o, r);
    add_migrations(o, r, metrics_json);
    const struct trc_cf *cfs = s->cf;
    unsigned n_cf = s->n_cf;
    json_t *obs = metrics_json(&r->run.m);
    json_object_set_new(o, "observed", obs);
    json_t *cfa = json_array();
    for (unsigned i = 0; i < n_cf; i++) {
        json_t *j;
        if (cfs[i].ok) {
            j = metrics_json(&cfs[i].res.m);
            json_object_set_new(j, "reliable",
                                json_boolean(s->fit.have && s->fit.ok));
        } else {
            j = json_object();
            json_object_set_new(j, "policy", json_string(cfs[i].policy));
            json_object_set_new(j, "error", json_string(cfs[i].err));
        }
        json_array_append_new(cfa, j);
    }
    json_object_set_new(o, "counterfactual", cfa);
    add_fit(o, s);
    if (run_id > 0) {
        json_object_set_new(o, "run_id", json_integer(run_id));
    }
    return o;
}

/* ---- table ---- */

static void wrap(FILE *f, const char *indent, const char *text)
{
    size_t col = 0, width = 78 - strlen(indent);
    const char *p = text;
    fputs(indent, f);
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t w = sp ? (size_t)(sp - p) : strlen(p);
        if (col && col + 1 + w > width) {
            fputc('\n', f);
            fputs(indent, f);
            col = 0;
        } else if (col) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, w, f);
        col += w;
        p += w;
        while (*p == ' ') {
            p++;
        }
    }
    fputc('\n', f);
}

static void print_header(FILE *f, const struct trc_replay *r)
{
    const struct trc_stats *st = &r->stats;
    const struct trc_diagnosis *d = &r->diag;
    fprintf(f, "Replay of");
    for (unsigned i = 0; i < r->n_files; i++) {
        fprintf(f, " %s", r->files[i]);
    }
    fprintf(f,
            " (%s): %" PRIu64 " lines, %" PRIu64 " events (%" PRIu64
            " unknown), %" PRIu64 " status records, %" PRIu64 " malformed\n",
            trc_format_name(r->format), st->lines, st->events, st->unknown,
            st->snapshots, st->malformed);
    if (st->n_unknown_names) {
        fprintf(f, "Unknown events:");
        for (unsigned i = 0; i < st->n_unknown_names; i++) {
            fprintf(f, " %s (%" PRIu64 "%s)", st->unknown_names[i].name,
                    st->unknown_names[i].count,
                    st->unknown_names[i].migration ? ", migration" : "");
        }
        fputc('\n', f);
    }
    fprintf(f, "\nVerdict: %s\n", d->summary);
    for (unsigned i = 0; i < d->n_notes; i++) {
        wrap(f, "  ", d->notes[i]);
    }
}

/* The "observed" column: what the trace shows. */
static void print_observed(FILE *f, const struct trc_replay *r)
{
    const struct run_metrics *m = &r->run.m;
    const struct tl_info *in = &r->info;
    const struct trc_diagnosis *d = &r->diag;
    char b1[32], b2[32];
    fprintf(f, "\n%-24s %s\n", "", "observed");
    fprintf(f, "%-24s %s\n", "outcome", run_outcome_name(m->outcome));
    fprintf(f, "%-24s %s\n", "QEMU", m->qemu);
    fprintf(f, "%-24s %" PRIu64 " (%" PRIu64 " decided)\n", "iterations",
            m->iterations, in->decided);
    fprintf(f, "%-24s %" PRIu64 " (%.2f/s)\n", "exact() calls", m->exact_calls,
            m->exact_calls_per_s);
    fprintf(f, "%-24s %" PRIu64 "%s\n", "bitmap syncs", m->bitmap_syncs,
            in->syncs_inferred ? " (inferred: one per exact())" : "");
    fprintf(f, "%-24s %s (%.0f%%%s)\n", "time in syncs",
            units_fmt_time(m->sync_time_ns, b1, sizeof(b1)),
            100.0 * d->sync_share,
            in->sync_time_estimated ? ", estimated" : "");
    fprintf(f, "%-24s %s\n", "total",
            m->total_ns > 0 ? units_fmt_time(m->total_ns, b1, sizeof(b1))
                            : "unknown (no timestamps)");
    if (m->downtime_ns > 0) {
        fprintf(f, "%-24s %s\n", "downtime",
                units_fmt_time(m->downtime_ns, b1, sizeof(b1)));
    }
    fprintf(f, "%-24s %s%s\n", "downtime-limit",
            units_fmt_time(m->downtime_limit_ns, b1, sizeof(b1)),
            in->limit_read       ? " (set in the input)"
            : in->limit_inferred ? " (inferred)"
                                 : " (assumed)");
    if (in->bw_peak_bps > 0) {
        fprintf(f, "%-24s %s (peak %s)\n", "bandwidth",
                units_fmt_rate(in->bw_mean_bps, b1, sizeof(b1)),
                units_fmt_rate(in->bw_peak_bps, b2, sizeof(b2)));
    }
    bool conv = d->verdict == TRC_VERDICT_CONVERGED;
    if (d->advice.have_limit && !conv) {
        if (d->advice.min_downtime_limit_ms >
            (double)QMP_DOWNTIME_LIMIT_MAX_MS) {
            fprintf(f, "%-24s none QEMU accepts (%.0f ms needed)\n",
                    "min downtime-limit", d->advice.min_downtime_limit_ms);
        } else {
            fprintf(f, "%-24s %.0f ms%s\n", "min downtime-limit",
                    d->advice.min_downtime_limit_ms,
                    d->verdict == TRC_VERDICT_INCONCLUSIVE
                        ? " (inconclusive: not advice)"
                        : "");
        }
    }
    if (d->advice.have_asb && !conv) {
        fprintf(
            f, "%-24s %s\n", "min avail-switchover-bw",
            units_fmt_rate(d->advice.min_avail_switchover_bps, b1, sizeof(b1)));
    }
}

/* Status sequence, impossible transitions, downtime breakdown. */
static void print_states(FILE *f, const struct tl_info *in)
{
    if (in->n_states) {
        fprintf(f, "\nStates:");
        for (unsigned i = 0; i < in->n_states; i++) {
            fprintf(f, "%s %s (line %" PRIu64 ")", i ? " ->" : "",
                    in->states[i].state, in->states[i].line);
        }
        fputc('\n', f);
    }
    for (unsigned i = 0; i < in->n_violations; i++) {
        fprintf(f, "Impossible: %s\n", in->violations[i].msg);
    }
    if (in->n_items) {
        fprintf(f, "\nDowntime breakdown (ms)    save-it  save-non  "
                   "load-it  load-non\n");
        for (unsigned i = 0; i < in->n_items; i++) {
            const struct tl_item *it = &in->items[i];
            const int64_t v[4] = {
                it->save_iterable_ns, it->save_non_iterable_ns,
                it->load_iterable_ns, it->load_non_iterable_ns};
            fprintf(f, "  %-24.24s", it->idstr);
            for (unsigned k = 0; k < 4; k++) {
                if (v[k] >= 0) {
                    fprintf(f, " %8.1f", ms(v[k]));
                } else {
                    fprintf(f, " %8s", "-");
                }
            }
            fputc('\n', f);
        }
        if (in->vm_stop_ns >= 0) {
            fprintf(f, "  %-24s %8.1f\n", "VM stop", ms(in->vm_stop_ns));
        }
    }
}

static void print_counterfactuals(FILE *f, const struct trc_session *s)
{
    const struct trc_replay *r = &s->r;
    const struct run_metrics *m = &r->run.m;
    const struct trc_cf *cfs = s->cf;
    unsigned n_cf = s->n_cf;
    char b1[32], b2[32];
    if (n_cf) {
        fprintf(f,
                "\nCounterfactual (trace-derived inputs, QEMU %s model%s):\n",
                tl_qemu_name(r->inputs.qemu, b1, sizeof(b1)),
                r->inputs.bandwidth_bps > 0 ? "" : ", link 10 Gbit/s assumed");
        fprintf(f, "  %-26s %-10s %6s %8s %8s %6s %10s %10s\n", "policy",
                "outcome", "iters", "exact", "exact/s", "syncs", "total",
                "downtime");
        fprintf(f,
                "  %-26s %-10s %6" PRIu64 " %8" PRIu64 " %8.2f %6" PRIu64
                " %10s %10s\n",
                "(observed)", run_outcome_name(m->outcome), m->iterations,
                m->exact_calls, m->exact_calls_per_s, m->bitmap_syncs,
                units_fmt_time(m->total_ns, b1, sizeof(b1)),
                m->downtime_ns > 0
                    ? units_fmt_time(m->downtime_ns, b2, sizeof(b2))
                    : "-");
        for (unsigned i = 0; i < n_cf; i++) {
            if (!cfs[i].ok) {
                fprintf(f, "  %-26.26s error: %s\n", cfs[i].policy, cfs[i].err);
                continue;
            }
            const struct run_metrics *c = &cfs[i].res.m;
            fprintf(f,
                    "  %-26.26s %-10s %6" PRIu64 " %8" PRIu64 " %8.2f %6" PRIu64
                    " %10s %10s\n",
                    cfs[i].policy, run_outcome_name(c->outcome), c->iterations,
                    c->exact_calls, c->exact_calls_per_s, c->bitmap_syncs,
                    units_fmt_time(c->total_ns, b1, sizeof(b1)),
                    c->outcome == RUN_CONVERGED
                        ? units_fmt_time(c->downtime_ns, b2, sizeof(b2))
                        : "-");
            if (s->fit.have && !s->fit.ok) {
                fprintf(f, "  %-26s (unreliable: %s)\n", "", s->fit.blame);
            }
        }
    }
}

/* Several migrations: one line each, in input order. */
static void print_mig_line(FILE *f, const struct trc_replay *x, bool shown)
{
    const struct tl_info *in = &x->info;
    char where[96] = "";
    if (in->n_states) {
        snprintf(where, sizeof(where), " (line %llu)",
                 (unsigned long long)in->states[0].line);
    }
    fprintf(f, "  %c %u%s: %s, %.0f ms, downtime %.0f ms\n", shown ? '*' : ' ',
            x->mig_index, where, x->diag.summary,
            (double)x->run.m.total_ns / 1e6,
            (double)x->run.m.downtime_ns / 1e6);
}

static void print_migrations(FILE *f, const struct trc_replay *r)
{
    if (r->n_migrations <= 1) {
        return;
    }
    fprintf(f,
            "Migrations in the input: %u (each rebuilt on its own; shown "
            "below: %u, --migration N picks another)\n",
            r->n_migrations, r->mig_index);
    unsigned k = 0;
    bool self = false;
    while (k < r->n_others || !self) {
        if (!self &&
            (k >= r->n_others || r->mig_index < r->others[k].mig_index)) {
            print_mig_line(f, r, true);
            self = true;
        } else {
            print_mig_line(f, &r->others[k++], false);
        }
    }
    if (r->n_migrations > r->n_others + 1) {
        fprintf(f, "  (%u more not kept: at most %u are)\n",
                r->n_migrations - r->n_others - 1,
                (unsigned)TRC_MAX_MIGRATIONS);
    }
    fputc('\n', f);
}

void trc_replay_print_table(FILE *f, const struct trc_session *s,
                            long long run_id)
{
    print_migrations(f, &s->r);
    print_header(f, &s->r);
    print_observed(f, &s->r);
    print_states(f, &s->r.info);
    print_fit(f, s);
    print_counterfactuals(f, s);
    if (run_id > 0) {
        fprintf(f, "\nStored as run %lld.\n", run_id);
    }
}
