/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cli/runout.c — printing simulated runs. */
#include "cli/runout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/term.h"
#include "base/units.h"
#include "engine/engine.h"
#include "run/fields.h"

/* The `results` element of simulate/compare JSON (the policy column is
 * always quoted in CSV). */
static const struct run_col metrics_json_cols[] = {
    {"policy", NULL, RUN_F_RAW, 0, CSV_QUOTE_ALWAYS},
    {"qemu", NULL, RUN_F_RAW, 0, 0},
    {"outcome", NULL, RUN_F_RAW, 0, 0},
    {"total_ms", "total_ns", RUN_F_MS, 3, 0},
    {"downtime_ms", "downtime_ns", RUN_F_MS, 3, 0},
    {"src_downtime_ms", "src_downtime_ns", RUN_F_MS, 3, 0},
    {"downtime_limit_ms", "downtime_limit_ns", RUN_F_MS, 3, 0},
    {"downtime_violation", NULL, RUN_F_INT, 0, 0},
    {"iterations", NULL, RUN_F_INT, 0, 0},
    {"bitmap_syncs", NULL, RUN_F_INT, 0, 0},
    {"estimate_calls", NULL, RUN_F_INT, 0, 0},
    {"exact_calls", NULL, RUN_F_INT, 0, 0},
    {"exact_calls_per_s", NULL, RUN_F_FIX, 3, 0},
    {"sync_time_ms", "sync_time_ns", RUN_F_MS, 3, 0},
    {"sync_bql_ms", "bql_ns", RUN_F_MS, 3, 0},
    {"spin_cpu_ms", "spin_cpu_ns", RUN_F_MS, 3, 0},
    {"bytes_transferred", NULL, RUN_F_INT, 0, 0},
    {"precopy_bytes", NULL, RUN_F_INT, 0, 0},
    {"downtime_bytes", NULL, RUN_F_INT, 0, 0},
    {"postcopy_bytes", NULL, RUN_F_INT, 0, 0},
    {"expected_downtime_ms", "expected_downtime_ns", RUN_F_MS, 3, 0},
    {"max_throttle_pct", NULL, RUN_F_FIX, 1, 0},
    {"postcopy", NULL, RUN_F_INT, 0, 0},
    {"fingerprint", NULL, RUN_F_RAW, 0, 0},
    {NULL, NULL, 0, 0, 0},
};

static const struct run_col device_json_cols[] = {
    {"name", NULL, RUN_F_RAW, 0, 0},
    {"precopy_bytes", NULL, RUN_F_INT, 0, 0},
    {"stop_copy_bytes", NULL, RUN_F_INT, 0, 0},
    {"save_ms", "save_ns", RUN_F_MS, 3, 0},
    {"load_ms", "load_ns", RUN_F_MS, 3, 0},
    {NULL, NULL, 0, 0, 0},
};

/* simulate/compare --format csv: these of the JSON columns */
static const char *const metrics_csv_names[] = {
    "policy",
    "qemu",
    "outcome",
    "total_ms",
    "downtime_ms",
    "src_downtime_ms",
    "downtime_limit_ms",
    "downtime_violation",
    "iterations",
    "bitmap_syncs",
    "estimate_calls",
    "exact_calls",
    "exact_calls_per_s",
    "sync_time_ms",
    "sync_bql_ms",
    "spin_cpu_ms",
    "bytes_transferred",
    "expected_downtime_ms",
    "max_throttle_pct",
    NULL,
};

/* --series FILE, after the policy column */
static const struct run_col series_csv_cols[] = {
    {"t_ms", "t_ns", RUN_F_MS, 3, 0},
    {"iteration", NULL, RUN_F_INT, 0, 0},
    {"estimate_bytes", NULL, RUN_F_INT, 0, 0},
    {"exact_bytes", NULL, RUN_F_INT, 0, 0},
    {"exact_called", NULL, RUN_F_INT, 0, 0},
    {"threshold_bytes", NULL, RUN_F_INT, 0, 0},
    {"bandwidth_bps", NULL, RUN_F_FIX, 0, 0},
    {"ram_dirty_bytes", NULL, RUN_F_INT, 0, 0},
    {"dirty_rate_bps", NULL, RUN_F_INT, 0, 0},
    {"sent_bytes", NULL, RUN_F_INT, 0, 0},
    {"downtime_limit_ms", "downtime_limit_ns", RUN_F_MS, 3, 0},
    {"throttle_pct", NULL, RUN_F_FIX, 1, 0},
    {"expected_downtime_ms", "expected_downtime_ns", RUN_F_MS, 3, 0},
    {NULL, NULL, 0, 0, 0},
};

json_t *runout_metrics_json(const struct run_metrics *m)
{
    json_t *o = json_object();
    run_json_set(o, RUN_REC_METRICS, metrics_json_cols, m);
    json_t *devs = json_array();
    for (unsigned i = 0; i < m->n_devices; i++) {
        json_t *dj = json_object();
        run_json_set(dj, RUN_REC_DEVICE, device_json_cols, &m->devices[i]);
        json_array_append_new(devs, dj);
    }
    json_object_set_new(o, "devices", devs);
    return o;
}

static int by_rank(const struct run_metrics *a, const struct run_metrics *b)
{
    bool ca = a->outcome == RUN_CONVERGED, cb = b->outcome == RUN_CONVERGED;
    if (ca != cb) {
        return ca ? -1 : 1;
    }
    if (ca) {
        bool va = a->downtime_violation, vb = b->downtime_violation;
        if (va != vb) {
            return va ? 1 : -1;
        }
    }
    if (a->total_ns != b->total_ns) {
        return a->total_ns < b->total_ns ? -1 : 1;
    }
    if (a->downtime_ns != b->downtime_ns) {
        return a->downtime_ns < b->downtime_ns ? -1 : 1;
    }
    return 0;
}

void runout_rank(const struct run_result *runs, size_t n, size_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    /* insertion sort: stable, n is small */
    for (size_t i = 1; i < n; i++) {
        size_t k = idx[i];
        size_t j = i;
        while (j > 0 && by_rank(&runs[k].m, &runs[idx[j - 1]].m) < 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = k;
    }
}

static void print_table(const struct runout_ctx *c, const size_t *idx,
                        FILE *out)
{
    const struct scenario *s = c->scenario;
    char b1[32], b2[32], b3[32], b4[32];
    char src[2048], nm[512];
    fprintf(out, "scenario: %s%s%s  (QEMU %s model, seed %" PRIu64 ")\n",
            term_safe(c->source, src, sizeof(src)), s->name[0] ? " — " : "",
            term_safe(s->name, nm, sizeof(nm)), scn_qemu_name(s->qemu),
            s->seed);
    fprintf(out, "RAM %s, working set %s at %s; downtime-limit %s",
            units_fmt_size(s->ram_bytes, b1, sizeof(b1)),
            units_fmt_size(s->ram.working_set_bytes, b2, sizeof(b2)),
            units_fmt_rate((double)s->ram.dirty_rate_bps, b3, sizeof(b3)),
            units_fmt_time(s->downtime_limit_ns, b4, sizeof(b4)));
    fprintf(out, ", max-bandwidth %s, link %s\n",
            s->max_bandwidth_bps
                ? units_fmt_rate((double)s->max_bandwidth_bps, b2, sizeof(b2))
                : "unlimited",
            units_fmt_rate((double)s->link_bandwidth_bps, b3, sizeof(b3)));
    for (unsigned i = 0; i < s->n_devices; i++) {
        fprintf(out, "device %s: stop-copy %s%s\n",
                term_safe(s->devices[i].name, nm, sizeof(nm)),
                units_fmt_size(s->devices[i].stop_copy_bytes, b1, sizeof(b1)),
                s->devices[i].precopy ? ", pre-copy" : "");
    }
    fprintf(out, "\n%s%-34s %-10s %10s %10s %9s %7s %6s %8s %8s %9s\n",
            c->rank ? "rank " : "", "policy", "outcome", "total", "downtime",
            "limit", "iters", "syncs", "exact/s", "sync", "spin");
    for (size_t r = 0; r < c->n; r++) {
        const struct run_metrics *m = &c->runs[idx[r]].m;
        char tot[24], dt[24], lim[24], sy[24], sp[24];
        units_fmt_time(m->total_ns, tot, sizeof(tot));
        if (m->outcome == RUN_CONVERGED) {
            units_fmt_time(m->downtime_ns, dt, sizeof(dt));
            if (m->downtime_violation) {
                strncat(dt, "!", sizeof(dt) - strlen(dt) - 1);
            }
        } else {
            snprintf(dt, sizeof(dt), "-");
        }
        units_fmt_time(m->downtime_limit_ns, lim, sizeof(lim));
        units_fmt_time(m->sync_time_ns, sy, sizeof(sy));
        units_fmt_time(m->spin_cpu_ns, sp, sizeof(sp));
        char pol[40];
        if (strlen(m->policy) > 34) {
            snprintf(pol, sizeof(pol), "%.31s...", m->policy);
        } else {
            snprintf(pol, sizeof(pol), "%.34s", m->policy);
        }
        if (c->rank) {
            fprintf(out, "%-5zu", r + 1);
        }
        fprintf(out,
                "%-34s %-10s %10s %10s %9s %7" PRIu64 " %6" PRIu64
                " %8.1f %8s %9s\n",
                pol, run_outcome_name(m->outcome), tot, dt, lim, m->iterations,
                m->bitmap_syncs, m->exact_calls_per_s, sy, sp);
    }
    if (c->rank) {
        fprintf(out, "\ncosts:\n");
        for (size_t r = 0; r < c->n; r++) {
            const struct run_metrics *m = &c->runs[idx[r]].m;
            char sy[24], tx[24];
            fprintf(out,
                    "  %-34s %" PRIu64 " exact() calls, %s BQL in syncs, "
                    "%s sent",
                    m->policy, m->exact_calls,
                    units_fmt_time(m->bql_ns, sy, sizeof(sy)),
                    units_fmt_size(m->bytes_transferred, tx, sizeof(tx)));
            if (m->max_throttle_pct > 0) {
                fprintf(out, ", CPU throttled up to %.0f%%",
                        m->max_throttle_pct);
            }
            if (m->postcopy) {
                fprintf(out, ", postcopy");
            }
            if (m->downtime_violation) {
                fprintf(out, ", downtime over the limit");
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "\n(downtime '!' = over the limit in force; spin = thread "
                 "time in passes that made no net progress)\n");
}

static void print_csv(const struct runout_ctx *c, const size_t *idx, FILE *out)
{
    struct run_col metrics_csv_cols[RUN_COLS_MAX];
    run_cols_pick(metrics_json_cols, metrics_csv_names, metrics_csv_cols,
                  RUN_COLS_MAX);
    run_csv_header(out, RUN_REC_METRICS, metrics_csv_cols, false);
    fputc('\n', out);
    for (size_t r = 0; r < c->n; r++) {
        run_csv_row(out, RUN_REC_METRICS, metrics_csv_cols, &c->runs[idx[r]].m,
                    false);
        fputc('\n', out);
    }
}

int runout_print(const struct runout_ctx *c, enum cli_format f, FILE *out)
{
    size_t *idx = calloc(c->n ? c->n : 1, sizeof(*idx));
    if (!idx) {
        return -1;
    }
    if (c->rank) {
        runout_rank(c->runs, c->n, idx);
    } else {
        for (size_t i = 0; i < c->n; i++) {
            idx[i] = i;
        }
    }
    int rc = 0;
    if (f == CLI_FMT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "scenario", json_string(c->scenario->name));
        json_object_set_new(o, "source", json_string(c->source));
        json_object_set_new(o, "seed",
                            json_integer((json_int_t)c->scenario->seed));
        json_t *arr = json_array();
        for (size_t r = 0; r < c->n; r++) {
            json_t *mj = runout_metrics_json(&c->runs[idx[r]].m);
            if (c->rank) {
                json_object_set_new(mj, "rank",
                                    json_integer((json_int_t)r + 1));
            }
            if (c->run_ids) {
                json_object_set_new(mj, "run_id",
                                    json_integer(c->run_ids[idx[r]]));
            }
            json_array_append_new(arr, mj);
        }
        json_object_set_new(o, "results", arr);
        rc = json_dumpf(o, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        fputc('\n', out);
        json_decref(o);
    } else if (f == CLI_FMT_CSV) {
        print_csv(c, idx, out);
    } else {
        print_table(c, idx, out);
    }
    free(idx);
    if (fflush(out) != 0) {
        rc = -1;
    }
    return rc;
}

int runout_write_series(const struct runout_ctx *c, const char *path, char *err,
                        size_t errlen)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fputs("policy", f);
    run_csv_header(f, RUN_REC_SAMPLE, series_csv_cols, true);
    unsigned nd = c->scenario->n_devices;
    run_csv_dev_header(f, nd);
    fputc('\n', f);
    for (size_t r = 0; r < c->n; r++) {
        const struct run_result *rr = &c->runs[r];
        for (size_t i = 0; i < rr->n_samples; i++) {
            csv_put(f, rr->m.policy, CSV_QUOTE_ALWAYS);
            run_csv_row(f, RUN_REC_SAMPLE, series_csv_cols, &rr->samples[i],
                        true);
            run_csv_dev_row(f, &rr->samples[i], nd, false);
            fputc('\n', f);
        }
    }
    int bad = ferror(f);
    if (f != stdout) {
        bad |= fclose(f);
    }
    if (bad) {
        snprintf(err, errlen, "%s: write error", path);
        return -1;
    }
    return 0;
}
