/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cli/runout.c — printing simulated runs. */
#include "cli/runout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "base/units.h"

static double ms(int64_t ns)
{
    return (double)ns / 1e6;
}

json_t *runout_metrics_json(const struct run_metrics *m)
{
    json_t *o = json_object();
    char fp[24];
    snprintf(fp, sizeof(fp), "%016" PRIx64, m->fingerprint);
    json_object_set_new(o, "policy", json_string(m->policy));
    json_object_set_new(o, "qemu", json_string(m->qemu));
    json_object_set_new(o, "outcome",
                        json_string(run_outcome_name(m->outcome)));
    json_object_set_new(o, "total_ms", json_real(ms(m->total_ns)));
    json_object_set_new(o, "downtime_ms", json_real(ms(m->downtime_ns)));
    json_object_set_new(o, "src_downtime_ms",
                        json_real(ms(m->src_downtime_ns)));
    json_object_set_new(o, "downtime_limit_ms",
                        json_real(ms(m->downtime_limit_ns)));
    json_object_set_new(o, "downtime_violation",
                        json_boolean(m->downtime_violation));
    json_object_set_new(o, "iterations",
                        json_integer((json_int_t)m->iterations));
    json_object_set_new(o, "bitmap_syncs",
                        json_integer((json_int_t)m->bitmap_syncs));
    json_object_set_new(o, "estimate_calls",
                        json_integer((json_int_t)m->estimate_calls));
    json_object_set_new(o, "exact_calls",
                        json_integer((json_int_t)m->exact_calls));
    json_object_set_new(o, "exact_calls_per_s",
                        json_real(m->exact_calls_per_s));
    json_object_set_new(o, "sync_time_ms", json_real(ms(m->sync_time_ns)));
    json_object_set_new(o, "sync_bql_ms", json_real(ms(m->bql_ns)));
    json_object_set_new(o, "spin_cpu_ms", json_real(ms(m->spin_cpu_ns)));
    json_object_set_new(o, "bytes_transferred",
                        json_integer((json_int_t)m->bytes_transferred));
    json_object_set_new(o, "precopy_bytes",
                        json_integer((json_int_t)m->precopy_bytes));
    json_object_set_new(o, "downtime_bytes",
                        json_integer((json_int_t)m->downtime_bytes));
    json_object_set_new(o, "postcopy_bytes",
                        json_integer((json_int_t)m->postcopy_bytes));
    json_object_set_new(o, "expected_downtime_ms",
                        json_real(ms(m->expected_downtime_ns)));
    json_object_set_new(o, "max_throttle_pct", json_real(m->max_throttle_pct));
    json_object_set_new(o, "postcopy", json_boolean(m->postcopy));
    json_object_set_new(o, "fingerprint", json_string(fp));
    json_t *devs = json_array();
    for (unsigned i = 0; i < m->n_devices; i++) {
        const struct run_device_result *d = &m->devices[i];
        json_t *dj = json_object();
        json_object_set_new(dj, "name", json_string(d->name));
        json_object_set_new(dj, "precopy_bytes",
                            json_integer((json_int_t)d->precopy_bytes));
        json_object_set_new(dj, "stop_copy_bytes",
                            json_integer((json_int_t)d->stop_copy_bytes));
        json_object_set_new(dj, "save_ms", json_real(ms(d->save_ns)));
        json_object_set_new(dj, "load_ms", json_real(ms(d->load_ns)));
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
    fprintf(out, "scenario: %s%s%s  (QEMU %s model, seed %" PRIu64 ")\n",
            c->source, s->name[0] ? " — " : "", s->name, scn_qemu_name(s->qemu),
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
        fprintf(out, "device %s: stop-copy %s%s\n", s->devices[i].name,
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
    fprintf(out, "policy,qemu,outcome,total_ms,downtime_ms,src_downtime_ms,"
                 "downtime_limit_ms,downtime_violation,iterations,"
                 "bitmap_syncs,estimate_calls,exact_calls,exact_calls_per_s,"
                 "sync_time_ms,sync_bql_ms,spin_cpu_ms,bytes_transferred,"
                 "expected_downtime_ms,max_throttle_pct\n");
    for (size_t r = 0; r < c->n; r++) {
        const struct run_metrics *m = &c->runs[idx[r]].m;
        fputc('"', out);
        for (const char *p = m->policy; *p; p++) {
            if (*p == '"') {
                fputc('"', out);
            }
            fputc(*p, out);
        }
        fprintf(out,
                "\",%s,%s,%.3f,%.3f,%.3f,%.3f,%d,%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f,%.3f,%" PRIu64
                ",%.3f,%.1f\n",
                m->qemu, run_outcome_name(m->outcome), ms(m->total_ns),
                ms(m->downtime_ns), ms(m->src_downtime_ns),
                ms(m->downtime_limit_ns), m->downtime_violation ? 1 : 0,
                m->iterations, m->bitmap_syncs, m->estimate_calls,
                m->exact_calls, m->exact_calls_per_s, ms(m->sync_time_ns),
                ms(m->bql_ns), ms(m->spin_cpu_ns), m->bytes_transferred,
                ms(m->expected_downtime_ns), m->max_throttle_pct);
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
    fprintf(f, "policy,t_ms,iteration,estimate_bytes,exact_bytes,"
               "exact_called,threshold_bytes,bandwidth_bps,ram_dirty_bytes,"
               "dirty_rate_bps,sent_bytes,downtime_limit_ms,throttle_pct,"
               "expected_downtime_ms");
    unsigned nd = c->scenario->n_devices;
    for (unsigned d = 0; d < nd; d++) {
        fprintf(f, ",dev%u_reported_bytes,dev%u_stop_copy_bytes", d, d);
    }
    fputc('\n', f);
    for (size_t r = 0; r < c->n; r++) {
        const struct run_result *rr = &c->runs[r];
        for (size_t i = 0; i < rr->n_samples; i++) {
            const struct run_sample *s = &rr->samples[i];
            fprintf(f,
                    "\"%s\",%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",%d,%" PRIu64 ",%.0f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",%.3f,%.1f,%.3f",
                    rr->m.policy, ms(s->t_ns), s->iteration, s->estimate_bytes,
                    s->exact_bytes, s->exact_called ? 1 : 0, s->threshold_bytes,
                    s->bandwidth_bps, s->ram_dirty_bytes, s->dirty_rate_bps,
                    s->sent_bytes, ms((int64_t)s->downtime_limit_ns),
                    s->throttle_pct, ms((int64_t)s->expected_downtime_ns));
            for (unsigned d = 0; d < nd; d++) {
                fprintf(f, ",%" PRIu64 ",%" PRIu64, s->dev_reported_bytes[d],
                        s->dev_stop_copy_bytes[d]);
            }
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
