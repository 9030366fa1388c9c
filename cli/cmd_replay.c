/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_replay.c — `migsim replay`: read QEMU trace logs (or
 * query-migrate / info migrate records), rebuild what the migration did,
 * say why it did or did not converge and what would have, and re-drive the
 * decisions under other policies (traces/replay.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/runout.h"
#include "plots/plot.h"
#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"
#include "traces/replay.h"

#define MAX_POLICIES 16
#define MAX_FILES    64

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: migsim replay FILE... [options]\n\n"
            "Read QEMU trace logs as QEMU writes them (log backend with or "
            "without a\ntimestamp prefix, qemu-trace-stap output, simpletrace "
            "binary files, lines\ninside libvirt or journal logs; gzip or "
            "plain; '-' for stdin), or recorded\nquery-migrate replies / "
            "'info migrate' dumps, rebuild the migration, say\nwhy it did or "
            "did not converge and what setting would have, and re-drive\nthe "
            "decisions with the trace-derived inputs under other policies.  "
            "Several\nfiles are read in order (e.g. source and destination "
            "logs).\n\n"
            "Options:\n"
            "  -t, --trace-format F  auto (default: per line), log, log-tid, "
            "log-iso,\n"
            "                        stap, simple, embedded, qmp, hmp\n"
            "  -e, --events FILE     trace-events-all for simpletrace "
            "files\n"
            "                        (default %s)\n"
            "      --strict          the first malformed line is fatal "
            "(exit 3)\n"
            "  -p, --policy SPEC     simulate the trace-derived inputs under "
            "SPEC and show\n"
            "                        it next to what happened (repeatable; "
            "see\n"
            "                        'migsim policies'); the qemu model runs "
            "too\n"
            "  -f, --format FMT      table (default), json, or csv (the "
            "series)\n"
            "      --series FILE     also write the series as CSV to FILE\n"
            "      --scenario FILE   write the derived scenario (JSON for "
            "'migsim simulate')\n"
            "      --bandwidth RATE  link bandwidth to assume when the trace "
            "has none\n"
            "                        (e.g. 25Gbit/s)\n"
            "      --downtime-limit TIME  limit to assume when it cannot be "
            "inferred\n"
            "      --qemu VERSION    QEMU version of the trace (default: "
            "guessed)\n"
            "      --page-size SIZE  guest page size (default 4KiB or from "
            "the input)\n"
            "      --max-samples N   keep at most N samples (default %d; "
            "longer traces\n"
            "                        are decimated, statistics use every "
            "iteration)\n"
            "      --db FILE         store the replay (and --policy runs) in "
            "FILE\n"
            "                        (default $MIGSIM_DB or ./%s)\n"
            "      --no-db           do not store anything\n"
            "      --plot DIR        draw the timelines into DIR (PNG)\n"
            "  -q, --quiet           no progress line\n"
            "  -h, --help            this text\n\n"
            "JSON output: {\"files\", \"format\", \"input\": {lines, events, "
            "unknown,\nunknown_events, malformed, messages, ...}, \"verdict\" "
            "(converged |\nnot-converging | inconclusive), \"summary\", "
            "\"why\", \"diagnosis\", \"notes\",\n\"iterations\", "
            "\"exact_calls\", \"bitmap_syncs\", \"exact_calls_per_s\",\n"
            "\"sync_time_ms\", \"min_downtime_limit_ms\" (null when the "
            "bandwidth is\nunknown), \"min_avail_switchover_bandwidth_bps\", "
            "\"expected_downtime_ms\",\n\"qemu\", \"states\", \"violations\", "
            "\"downtime_breakdown\", \"inputs\",\n\"observed\" (the simulate "
            "result object), \"counterfactual\": [...]}.\n"
            "A progress line is shown on a terminal for inputs over 256 MiB.\n",
            TRC_DEFAULT_EVENTS, TL_DEFAULT_SAMPLES, DB_DEFAULT_PATH);
    cli_print_exit_codes(f);
}

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

static json_t *jnum_or_null(bool have, double v)
{
    return have && isfinite(v) ? json_real(v) : json_null();
}

/* ---- progress ---- */

struct progress {
    bool on;
    bool shown;
};

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *p = ctx;
    if (!p->on) {
        return;
    }
    char a[32], b[32];
    if (total) {
        fprintf(stderr, "\rmigsim replay: %s of %s (%.0f%%)   ",
                units_fmt_size(done, a, sizeof(a)),
                units_fmt_size(total, b, sizeof(b)),
                100.0 * (double)done / (double)total);
    } else {
        fprintf(stderr, "\rmigsim replay: %s read   ",
                units_fmt_size(done, a, sizeof(a)));
    }
    p->shown = true;
}

/* ---- output ---- */

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

static json_t *breakdown_json(const struct tl_info *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "vm_stop_ms",
                        jnum_or_null(in->vm_stop_ns >= 0, ms(in->vm_stop_ns)));
    json_object_set_new(
        o, "save_iterable_ms",
        jnum_or_null(in->save_iterable_ns >= 0, ms(in->save_iterable_ns)));
    json_object_set_new(o, "save_non_iterable_ms",
                        jnum_or_null(in->save_non_iterable_ns >= 0,
                                     ms(in->save_non_iterable_ns)));
    json_object_set_new(
        o, "load_iterable_ms",
        jnum_or_null(in->load_iterable_ns >= 0, ms(in->load_iterable_ns)));
    json_object_set_new(o, "load_non_iterable_ms",
                        jnum_or_null(in->load_non_iterable_ns >= 0,
                                     ms(in->load_non_iterable_ns)));
    json_object_set_new(
        o, "vfio_save_ms",
        jnum_or_null(in->vfio_save_ns >= 0, ms(in->vfio_save_ns)));
    json_object_set_new(
        o, "vfio_load_ms",
        jnum_or_null(in->vfio_load_ns >= 0, ms(in->vfio_load_ns)));
    json_object_set_new(
        o, "src_downtime_ms",
        jnum_or_null(in->src_downtime_ns >= 0, ms(in->src_downtime_ns)));
    json_t *items = json_array();
    for (unsigned i = 0; i < in->n_items; i++) {
        const struct tl_item *it = &in->items[i];
        json_t *j = json_object();
        json_object_set_new(j, "idstr", json_string(it->idstr));
        json_object_set_new(j, "vfio", json_boolean(it->vfio));
        json_object_set_new(
            j, "save_iterable_ms",
            jnum_or_null(it->save_iterable_ns >= 0, ms(it->save_iterable_ns)));
        json_object_set_new(j, "save_non_iterable_ms",
                            jnum_or_null(it->save_non_iterable_ns >= 0,
                                         ms(it->save_non_iterable_ns)));
        json_object_set_new(
            j, "load_iterable_ms",
            jnum_or_null(it->load_iterable_ns >= 0, ms(it->load_iterable_ns)));
        json_object_set_new(j, "load_non_iterable_ms",
                            jnum_or_null(it->load_non_iterable_ns >= 0,
                                         ms(it->load_non_iterable_ns)));
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
    return o;
}

static char *diagnosis_text(const struct trc_diagnosis *d)
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

struct cf {
    const char *policy;
    struct run_result res;
    bool ok;
    char err[256];
};

static json_t *replay_json(const struct trc_replay *r, const struct cf *cfs,
                           unsigned n_cf, long long run_id)
{
    const struct run_metrics *m = &r->run.m;
    const struct tl_info *in = &r->info;
    const struct trc_diagnosis *d = &r->diag;
    json_t *o = json_object();
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
    char *text = diagnosis_text(d);
    json_object_set_new(o, "diagnosis", json_string(text ? text : ""));
    free(text);
    json_t *notes = json_array();
    for (unsigned i = 0; i < d->n_notes; i++) {
        json_array_append_new(notes, json_string(d->notes[i]));
    }
    json_object_set_new(o, "notes", notes);
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
    const struct trc_advice *a = &d->advice;
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
    json_t *obs = runout_metrics_json(m);
    json_object_set_new(o, "observed", obs);
    json_t *cfa = json_array();
    for (unsigned i = 0; i < n_cf; i++) {
        json_t *j;
        if (cfs[i].ok) {
            j = runout_metrics_json(&cfs[i].res.m);
        } else {
            j = json_object();
            json_object_set_new(j, "policy", json_string(cfs[i].policy));
            json_object_set_new(j, "error", json_string(cfs[i].err));
        }
        json_array_append_new(cfa, j);
    }
    json_object_set_new(o, "counterfactual", cfa);
    if (run_id > 0) {
        json_object_set_new(o, "run_id", json_integer(run_id));
    }
    return o;
}

/* replay --format csv, after the run column */
static const struct run_col replay_csv_cols[] = {
    {"t_ms", "t_ns", RUN_F_MS_POS, 6, 0},
    {"iteration", NULL, RUN_F_INT, 0, 0},
    {"estimate_bytes", NULL, RUN_F_INT, 0, 0},
    {"exact_bytes", NULL, RUN_F_INT, 0, 0},
    {"exact_called", NULL, RUN_F_INT, 0, 0},
    {"threshold_bytes", NULL, RUN_F_INT, 0, 0},
    {"bandwidth_bps", NULL, RUN_F_FIX, 0, 0},
    {"ram_dirty_bytes", NULL, RUN_F_INT, 0, 0},
    {"dirty_rate_bps", NULL, RUN_F_INT, 0, 0},
    {"expected_downtime_ms", "expected_downtime_ns", RUN_F_MS, 3, 0},
    {"downtime_limit_ms", "downtime_limit_ns", RUN_F_MS, 6, 0},
    {NULL, NULL, 0, 0, 0},
};

static void csv_rows(FILE *f, const char *run, const struct run_result *r)
{
    for (size_t i = 0; i < r->n_samples; i++) {
        csv_put(f, run, CSV_QUOTE_MINIMAL);
        run_csv_row(f, RUN_REC_SAMPLE, replay_csv_cols, &r->samples[i], true);
        run_csv_dev_row(f, &r->samples[i], r->m.n_devices, false);
        fputc('\n', f);
    }
}

static int write_csv(FILE *f, const struct trc_replay *r, const struct cf *cfs,
                     unsigned n_cf)
{
    unsigned nd = r->run.m.n_devices;
    for (unsigned i = 0; i < n_cf; i++) {
        if (cfs[i].ok && cfs[i].res.m.n_devices > nd) {
            nd = cfs[i].res.m.n_devices;
        }
    }
    fputs("run", f);
    run_csv_header(f, RUN_REC_SAMPLE, replay_csv_cols, true);
    run_csv_dev_header(f, nd);
    fputc('\n', f);
    csv_rows(f, "observed", &r->run);
    for (unsigned i = 0; i < n_cf; i++) {
        if (cfs[i].ok) {
            csv_rows(f, cfs[i].policy, &cfs[i].res);
        }
    }
    return ferror(f) ? -1 : 0;
}

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

static void print_table(FILE *f, const struct trc_replay *r,
                        const struct cf *cfs, unsigned n_cf, long long run_id)
{
    const struct run_metrics *m = &r->run.m;
    const struct tl_info *in = &r->info;
    const struct trc_stats *s = &r->stats;
    const struct trc_diagnosis *d = &r->diag;
    char b1[32], b2[32];
    fprintf(f, "Replay of");
    for (unsigned i = 0; i < r->n_files; i++) {
        fprintf(f, " %s", r->files[i]);
    }
    fprintf(f,
            " (%s): %" PRIu64 " lines, %" PRIu64 " events (%" PRIu64
            " unknown), %" PRIu64 " status records, %" PRIu64 " malformed\n",
            trc_format_name(r->format), s->lines, s->events, s->unknown,
            s->snapshots, s->malformed);
    if (s->n_unknown_names) {
        fprintf(f, "Unknown events:");
        for (unsigned i = 0; i < s->n_unknown_names; i++) {
            fprintf(f, " %s (%" PRIu64 "%s)", s->unknown_names[i].name,
                    s->unknown_names[i].count,
                    s->unknown_names[i].migration ? ", migration" : "");
        }
        fputc('\n', f);
    }
    fprintf(f, "\nVerdict: %s\n", d->summary);
    for (unsigned i = 0; i < d->n_notes; i++) {
        wrap(f, "  ", d->notes[i]);
    }
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
            in->limit_inferred ? " (inferred)" : " (assumed)");
    if (in->bw_peak_bps > 0) {
        fprintf(f, "%-24s %s (peak %s)\n", "bandwidth",
                units_fmt_rate(in->bw_mean_bps, b1, sizeof(b1)),
                units_fmt_rate(in->bw_peak_bps, b2, sizeof(b2)));
    }
    bool conv = d->verdict == TRC_VERDICT_CONVERGED;
    if (d->advice.have_limit && !conv) {
        fprintf(f, "%-24s %.0f ms\n", "min downtime-limit",
                d->advice.min_downtime_limit_ms);
    }
    if (d->advice.have_asb && !conv) {
        fprintf(
            f, "%-24s %s\n", "min avail-switchover-bw",
            units_fmt_rate(d->advice.min_avail_switchover_bps, b1, sizeof(b1)));
    }
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
        }
    }
    if (run_id > 0) {
        fprintf(f, "\nStored as run %lld.\n", run_id);
    }
}

/* ---- store and plots ---- */

static int store(const char *path, const struct trc_replay *r, struct cf *cfs,
                 unsigned n_cf, long long *obs_id, struct db_run_meta *metas)
{
    char err[512];
    struct db *db = db_open(path, err, sizeof(err));
    if (!db) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    char sha[65] = "";
    const char *src = r->n_files ? r->files[0] : "";
    if (strcmp(src, "(stdin)") != 0 && src[0] &&
        db_sha256_file(src, sha, err, sizeof(err)) != 0) {
        sha[0] = '\0';
    }
    char *scen = trc_scenario_json(&r->inputs);
    int rc = EXIT_OK;
    for (unsigned i = 0; i <= n_cf; i++) {
        if (i > 0 && !cfs[i - 1].ok) {
            continue;
        }
        struct db_run_meta *m = &metas[i];
        const struct run_result *res = i == 0 ? &r->run : &cfs[i - 1].res;
        /* the observed run has no seed and no generator; a counterfactual
         * re-run is seeded 1, as trc_scenario_json writes it */
        db_run_meta_build(m,
                          &(struct db_run_origin){
                              .kind = i == 0 ? DB_KIND_REPLAY : DB_KIND_SIM,
                              .scenario_json = i == 0 ? NULL : scen,
                              .source_path = src,
                              .source_sha256 = sha,
                              .qemu = res->m.qemu,
                              .policy = i == 0 ? "observed" : cfs[i - 1].policy,
                              .seed = 1,
                              .command_line = cli_command_line(),
                              .fingerprint = res->m.fingerprint,
                          });
        int64_t id = 0;
        if (db_run_save(db, m, res, &id, err, sizeof(err))) {
            cli_error("%s", err);
            rc = EXIT_IO;
            break;
        }
        m->id = id;
        if (i == 0) {
            *obs_id = id;
            char *text = diagnosis_text(&r->diag);
            if (db_run_annotate(db, id, r->diag.summary, text, err,
                                sizeof(err))) {
                cli_error("%s", err);
                rc = EXIT_IO;
            }
            free(text);
            if (rc != EXIT_OK) {
                break;
            }
        }
    }
    for (unsigned i = 0; i <= n_cf; i++) {
        metas[i].scenario_json = NULL;
        metas[i].command_line = NULL;
    }
    free(scen);
    db_close(db);
    return rc;
}

static int draw(const char *dir, const struct trc_replay *r,
                const struct cf *cfs, unsigned n_cf,
                const struct db_run_meta *metas, bool stored)
{
    char err[512];
    struct plot_run pr[MAX_POLICIES + 2];
    char labels[MAX_POLICIES + 2][64];
    size_t n = 0;
    memset(pr, 0, sizeof(pr));
    pr[n].res = &r->run;
    pr[n].meta = stored ? &metas[0] : NULL;
    snprintf(labels[n], sizeof(labels[n]), "observed");
    pr[n].label = labels[n];
    n++;
    for (unsigned i = 0; i < n_cf; i++) {
        if (!cfs[i].ok) {
            continue;
        }
        pr[n].res = &cfs[i].res;
        pr[n].meta = stored ? &metas[i + 1] : NULL;
        snprintf(labels[n], sizeof(labels[n]), "%s", cfs[i].policy);
        pr[n].label = labels[n];
        n++;
    }
    if (plot_to_dir(dir, pr, n, "png", err, sizeof(err)) < 0) {
        cli_error("%s", err);
        return EXIT_EXTERNAL;
    }
    return EXIT_OK;
}

/* ---- main ---- */

int cmd_replay(int argc, char **argv)
{
    const char *policies[MAX_POLICIES + 1];
    unsigned n_pol = 0;
    const char *series_path = NULL, *scen_path = NULL, *plot_dir = NULL;
    const char *db_path = getenv("MIGSIM_DB");
    bool no_db = false, quiet = false;
    enum cli_format fmt = CLI_FMT_TABLE;
    struct trc_replay_options ro;
    memset(&ro, 0, sizeof(ro));
    char err[512];
    static const struct option opts[] = {
        {"trace-format", required_argument, NULL, 't'},
        {"events", required_argument, NULL, 'e'},
        {"strict", no_argument, NULL, 'S'},
        {"policy", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'f'},
        {"series", required_argument, NULL, 'T'},
        {"scenario", required_argument, NULL, 'C'},
        {"bandwidth", required_argument, NULL, 'B'},
        {"downtime-limit", required_argument, NULL, 'L'},
        {"qemu", required_argument, NULL, 'Q'},
        {"page-size", required_argument, NULL, 'G'},
        {"max-samples", required_argument, NULL, 'M'},
        {"db", required_argument, NULL, 'D'},
        {"no-db", no_argument, NULL, 'N'},
        {"plot", required_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "t:e:p:f:qh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (trc_format_from_name(optarg, &ro.reader.format)) {
                cli_error("unknown trace format '%s' (auto, log, log-tid, "
                          "log-iso, stap, simple, embedded, qmp, hmp)",
                          optarg);
                return EXIT_USAGE;
            }
            break;
        case 'e':
            ro.reader.events_path = optarg;
            break;
        case 'S':
            ro.reader.strict = true;
            break;
        case 'p':
            if (n_pol == MAX_POLICIES) {
                cli_error("at most %d policies", MAX_POLICIES);
                return EXIT_USAGE;
            }
            policies[n_pol++] = optarg;
            break;
        case 'f':
            if (cli_parse_format(optarg, &fmt)) {
                return EXIT_USAGE;
            }
            break;
        case 'T':
            series_path = optarg;
            break;
        case 'C':
            scen_path = optarg;
            break;
        case 'B': {
            uint64_t bps;
            if (units_parse_rate(optarg, &bps, err, sizeof(err)) || !bps) {
                cli_error("--bandwidth: %s", bps ? err : "must be > 0");
                return EXIT_USAGE;
            }
            ro.timeline.bandwidth_bps = (double)bps;
            break;
        }
        case 'L':
            if (units_parse_time(optarg, 1000000,
                                 &ro.timeline.downtime_limit_ns, err,
                                 sizeof(err)) ||
                ro.timeline.downtime_limit_ns <= 0) {
                cli_error("--downtime-limit: %s",
                          ro.timeline.downtime_limit_ns <= 0 ? "must be > 0"
                                                             : err);
                return EXIT_USAGE;
            }
            break;
        case 'Q': {
            unsigned v;
            if (scn_qemu_from_name(optarg, &v)) {
                cli_error("--qemu: '%s' is not one of %s", optarg,
                          scn_qemu_list());
                return EXIT_USAGE;
            }
            ro.timeline.qemu = v;
            break;
        }
        case 'G':
            if (units_parse_size(optarg, &ro.timeline.page_bytes, err,
                                 sizeof(err)) ||
                ro.timeline.page_bytes == 0) {
                cli_error("--page-size: %s", err);
                return EXIT_USAGE;
            }
            break;
        case 'M': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || v < 16 || v > 10000000) {
                cli_error("--max-samples: expected a number from 16 to "
                          "10000000");
                return EXIT_USAGE;
            }
            ro.timeline.max_samples = (size_t)v;
            break;
        }
        case 'D':
            db_path = optarg;
            break;
        case 'N':
            no_db = true;
            break;
        case 'P':
            plot_dir = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    int nf = argc - optind;
    if (nf < 1) {
        cli_error("expected at least one FILE (see 'migsim replay --help')");
        return EXIT_USAGE;
    }
    if (nf > MAX_FILES) {
        cli_error("at most %d files", MAX_FILES);
        return EXIT_USAGE;
    }
    struct progress prog = {.on = !quiet && isatty(2)};
    if (prog.on) {
        /* only for long inputs */
        uint64_t total = 0;
        for (int i = optind; i < argc; i++) {
            FILE *fp = strcmp(argv[i], "-") ? fopen(argv[i], "rb") : NULL;
            if (fp) {
                if (fseek(fp, 0, SEEK_END) == 0) {
                    long sz = ftell(fp);
                    total += sz > 0 ? (uint64_t)sz : 0;
                }
                fclose(fp);
            } else if (!strcmp(argv[i], "-")) {
                total += (uint64_t)1 << 40; /* unknown: may be long */
            }
        }
        prog.on = total >= ((uint64_t)256 << 20);
    }
    ro.progress = progress_cb;
    ro.progress_ctx = &prog;

    struct trc_replay r;
    /* arguments of events the timeline does not read are not checked,
     * unless --strict asks for every line to be checked */
    ro.reader.lazy = !ro.reader.strict;
    struct trc_reader *rd = trc_reader_new(&ro.reader, err, sizeof(err));
    if (!rd) {
        cli_error("%s", err);
        return strstr(err, "not a trace-events declaration") ? EXIT_DATA
                                                             : EXIT_IO;
    }
    for (int i = optind; i < argc; i++) {
        if (trc_reader_add_file(rd, argv[i], err, sizeof(err)) < 0) {
            cli_error("%s", err);
            trc_reader_free(rd);
            return strstr(err, "more than once") ? EXIT_USAGE : EXIT_IO;
        }
    }
    int rc = trc_replay_reader(rd, &ro, &r, err, sizeof(err));
    trc_reader_free(rd);
    if (prog.shown) {
        fprintf(stderr, "\r%60s\r", "");
    }
    if (rc < 0) {
        cli_error("%s", err);
        /* under --strict the reader stops at the first malformed line */
        return ro.reader.strict ? EXIT_DATA : EXIT_IO;
    }
    if (r.stats.events + r.stats.snapshots + r.stats.qmp_events == 0) {
        cli_error("no QEMU trace events or migration status records found "
                  "in the input (%" PRIu64 " lines, %" PRIu64 " malformed)",
                  r.stats.lines, r.stats.malformed);
        for (unsigned i = 0; i < r.stats.n_messages && i < 5; i++) {
            fprintf(stderr, "  %s\n", r.stats.messages[i]);
        }
        trc_replay_free(&r);
        return EXIT_DATA;
    }
    if (r.stats.malformed) {
        cli_warn("%" PRIu64 " malformed line(s) skipped%s%s", r.stats.malformed,
                 r.stats.n_messages ? "; first: " : "",
                 r.stats.n_messages ? r.stats.messages[0] : "");
    }

    /* counterfactual runs: the qemu model first, then each policy */
    struct cf cfs[MAX_POLICIES + 1];
    unsigned n_cf = 0;
    memset(cfs, 0, sizeof(cfs));
    if (n_pol) {
        bool have_qemu = false;
        for (unsigned i = 0; i < n_pol; i++) {
            have_qemu |= strcmp(policies[i], "qemu") == 0;
        }
        if (!have_qemu) {
            cfs[n_cf++].policy = "qemu";
        }
        for (unsigned i = 0; i < n_pol; i++) {
            cfs[n_cf++].policy = policies[i];
        }
        for (unsigned i = 0; i < n_cf; i++) {
            cfs[i].ok =
                trc_counterfactual(&r.inputs, cfs[i].policy, &cfs[i].res,
                                   cfs[i].err, sizeof(cfs[i].err)) == 0;
            if (!cfs[i].ok) {
                cli_error("%s", cfs[i].err);
                rc = EXIT_USAGE;
            }
        }
    }
    if (rc == EXIT_OK && scen_path) {
        char *js = trc_scenario_json(&r.inputs);
        FILE *f = js ? fopen(scen_path, "w") : NULL;
        if (!f || fprintf(f, "%s\n", js) < 0 || fclose(f) != 0) {
            cli_error("%s: cannot write the scenario", scen_path);
            rc = EXIT_IO;
        }
        free(js);
    }
    long long run_id = 0;
    struct db_run_meta metas[MAX_POLICIES + 2];
    memset(metas, 0, sizeof(metas));
    bool stored = false;
    if (rc == EXIT_OK && !no_db) {
        rc = store(db_path && *db_path ? db_path : DB_DEFAULT_PATH, &r, cfs,
                   n_cf, &run_id, metas);
        stored = rc == EXIT_OK;
    }
    if (rc == EXIT_OK && plot_dir) {
        rc = draw(plot_dir, &r, cfs, n_cf, metas, stored);
    }
    if (rc == EXIT_OK) {
        if (fmt == CLI_FMT_JSON) {
            json_t *j = replay_json(&r, cfs, n_cf, run_id);
            if (!j || json_dumpf(j, stdout,
                                 JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                     JSON_REAL_PRECISION(10)) < 0) {
                rc = EXIT_IO;
            }
            fputc('\n', stdout);
            json_decref(j);
        } else if (fmt == CLI_FMT_CSV) {
            if (write_csv(stdout, &r, cfs, n_cf) < 0) {
                rc = EXIT_IO;
            }
        } else {
            print_table(stdout, &r, cfs, n_cf, run_id);
        }
        if (series_path) {
            FILE *f = fopen(series_path, "w");
            if (!f || write_csv(f, &r, cfs, n_cf) < 0) {
                cli_error("%s: cannot write the series", series_path);
                rc = EXIT_IO;
            }
            if (f && fclose(f) != 0) {
                rc = EXIT_IO;
            }
        }
    }
    for (unsigned i = 0; i < n_cf; i++) {
        if (cfs[i].ok) {
            run_result_free(&cfs[i].res);
        }
    }
    trc_replay_free(&r);
    return rc;
}
