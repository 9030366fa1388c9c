/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_runs.c — `migsim runs list|show|export|delete|diff|import|merge`:
 * the run store from the command line.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/csv.h"
#include "base/term.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "run/fields.h"
#include "store/db.h"
#include "store/outfile.h"

static const char usage_text[] =
    "Usage: migsim runs [--db FILE] ACTION [ARGS]\n"
    "\n"
    "Actions:\n"
    "  list                   every run: id, kind, state, start, policy, "
    "outcome\n"
    "  show ID                metadata, verdict, metrics and devices of a "
    "run\n"
    "  export ID              the whole run (--format json) or one table "
    "(csv)\n"
    "  delete ID...           remove runs and everything they own\n"
    "  diff A B               metrics of two runs side by side with deltas\n"
    "  import FILE...         add runs exported as JSON (runs already "
    "present\n"
    "                         by run key are skipped)\n"
    "  merge A.db B.db... -o OUT.db\n"
    "                         copy every run of the inputs into OUT.db with "
    "new\n"
    "                         ids, skipping runs already there\n"
    "\n";

/* Exit code for a store error return. */
static int rc_exit(int rc)
{
    return rc == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_IO;
}

/* Print text from a run on a terminal: control bytes (escape sequences,
 * carriage returns; newlines unless keep_nl) become '?'. */
static void put_clean(FILE *f, const char *s, bool keep_nl)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool ctl = c < 0x20 || c == 0x7f;
        if (ctl && !(keep_nl && (c == '\n' || c == '\t'))) {
            c = '?';
        }
        fputc(c, f);
    }
}

static void clean_in_place(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            *s = '?';
        }
    }
}

static void truncate_to(char *s, size_t max)
{
    if (strlen(s) > max && max > 3) {
        strcpy(s + max - 3, "...");
    }
}

static void list_json(const struct db_run_summary *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct db_run_summary *s = &list[i];
        char t[48];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(s->id));
        json_object_set_new(o, "kind", json_string(db_kind_name(s->kind)));
        json_object_set_new(o, "complete", json_boolean(s->complete));
        json_object_set_new(
            o, "started",
            json_string(db_format_time(s->started_ns, t, sizeof(t))));
        json_object_set_new(o, "qemu", json_string(s->qemu));
        json_object_set_new(o, "policy", json_string(s->policy));
        json_object_set_new(o, "source", json_string(s->source));
        json_object_set_new(o, "seed", json_integer((json_int_t)s->seed));
        json_object_set_new(o, "outcome",
                            json_string(run_outcome_name(s->outcome)));
        if (s->have_metrics) {
            json_object_set_new(o, "total_ns", json_integer(s->total_ns));
            json_object_set_new(o, "total_ms",
                                json_real((double)s->total_ns / 1e6));
            json_object_set_new(o, "downtime_ns",
                                s->outcome == RUN_CONVERGED
                                    ? json_integer(s->downtime_ns)
                                    : json_null());
        }
        json_array_append_new(a, o);
    }
    json_dumpf(a, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(a);
}

static void list_csv(const struct db_run_summary *list, size_t n)
{
    fputs("id,kind,complete,started,qemu,policy,source,seed,outcome,"
          "total_ns,downtime_ns\r\n",
          stdout);
    for (size_t i = 0; i < n; i++) {
        const struct db_run_summary *s = &list[i];
        char t[48];
        printf("%lld,%s,%d,%s,", (long long)s->id, db_kind_name(s->kind),
               s->complete ? 1 : 0,
               db_format_time(s->started_ns, t, sizeof(t)));
        csv_put(stdout, s->qemu, CSV_QUOTE_MINIMAL);
        fputc(',', stdout);
        csv_put(stdout, s->policy, CSV_QUOTE_MINIMAL);
        fputc(',', stdout);
        csv_put(stdout, s->source, CSV_QUOTE_MINIMAL);
        printf(",%" PRIu64 ",%s,", s->seed, run_outcome_name(s->outcome));
        if (s->have_metrics) {
            printf("%lld,", (long long)s->total_ns);
            if (s->outcome == RUN_CONVERGED) {
                printf("%lld", (long long)s->downtime_ns);
            } else {
                fputc('-', stdout);
            }
        } else {
            fputc(',', stdout);
        }
        fputs("\r\n", stdout);
    }
}

static void list_table(struct db *db, const struct db_run_summary *list,
                       size_t n)
{
    printf("%5s  %-6s  %-10s  %-20s  %-5s  %-24s  %-20s  %-10s  %10s  "
           "%10s\n",
           "ID", "KIND", "STATE", "STARTED", "QEMU", "POLICY", "SOURCE",
           "OUTCOME", "TOTAL", "DOWNTIME");
    for (size_t i = 0; i < n; i++) {
        const struct db_run_summary *s = &list[i];
        char t[48], a[32] = "-", b[32] = "-", pol[160], src[128];
        snprintf(pol, sizeof(pol), "%s", s->policy[0] ? s->policy : "-");
        snprintf(src, sizeof(src), "%s", s->source[0] ? s->source : "-");
        clean_in_place(pol);
        clean_in_place(src);
        truncate_to(pol, 24);
        truncate_to(src, 20);
        if (s->have_metrics) {
            run_format_value(RUN_U_NS, (double)s->total_ns, a, sizeof(a));
            if (s->outcome == RUN_CONVERGED) {
                run_format_value(RUN_U_NS, (double)s->downtime_ns, b,
                                 sizeof(b));
            }
        }
        printf("%5lld  %-6s  %-10s  %-20s  %-5s  %-24s  %-20s  %-10s  "
               "%10s  %10s\n",
               (long long)s->id, db_kind_name(s->kind),
               s->complete ? "complete" : "incomplete",
               db_format_time(s->started_ns, t, sizeof(t)),
               s->qemu[0] ? s->qemu : "-", pol, src,
               run_outcome_name(s->outcome), a, b);
    }
    if (n == 0) {
        printf("(no runs in %s)\n", db_path(db));
    }
}

static int do_list(struct db *db, enum cli_format fmt)
{
    struct db_run_summary *list;
    size_t n;
    char err[1024];
    if (db_list(db, &list, &n, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    if (fmt == CLI_FMT_JSON) {
        list_json(list, n);
    } else if (fmt == CLI_FMT_CSV) {
        list_csv(list, n);
    } else {
        list_table(db, list, n);
    }
    free(list);
    return EXIT_OK;
}

static void kv(const char *k, const char *v)
{
    printf("  %-34s ", k);
    put_clean(stdout, v && *v ? v : "-", false);
    fputc('\n', stdout);
}

static int do_show(struct db *db, int64_t id, enum cli_format fmt)
{
    char err[1024];
    if (fmt == CLI_FMT_JSON) {
        int rc = db_export_json(db, id, stdout, err, sizeof(err));
        if (rc != 0) {
            cli_error("%s", err);
            return rc_exit(rc);
        }
        return EXIT_OK;
    }
    if (fmt == CLI_FMT_CSV) {
        int rc =
            db_export_csv(db, id, DB_CSV_METRICS, stdout, err, sizeof(err));
        if (rc != 0) {
            cli_error("%s", err);
            return rc_exit(rc);
        }
        return EXIT_OK;
    }
    struct db_run_meta m;
    struct run_result r;
    int rc = db_run_load(db, id, &m, &r, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        return rc_exit(rc);
    }
    char buf[128];
    printf("Run %lld (%s, %s)\n", (long long)id, db_kind_name(m.kind),
           m.complete ? "complete" : "incomplete: interrupted");
    kv("outcome", run_outcome_name(r.m.outcome));
    if (m.verdict) {
        kv("verdict", m.verdict);
    }
    kv("source", m.source_path);
    kv("source SHA-256", m.source_sha256);
    kv("QEMU model", m.qemu[0] ? m.qemu : r.m.qemu);
    kv("policy", r.m.policy[0] ? r.m.policy : m.policy);
    snprintf(buf, sizeof(buf), "%" PRIu64, m.seed);
    kv("seed", buf);
    kv("rng", m.rng);
    kv("migsim version", m.version);
    kv("command line", m.command_line);
    kv("started", db_format_time(m.started_ns, buf, sizeof(buf)));
    kv("finished", db_format_time(m.finished_ns, buf, sizeof(buf)));
    snprintf(buf, sizeof(buf), "%016" PRIx64, m.fingerprint);
    kv("fingerprint", buf);
    kv("run key", m.run_key);
    snprintf(buf, sizeof(buf), "%" PRIu64 " samples, %" PRIu64 " events",
             m.n_samples, m.n_events);
    kv("recorded", buf);
    if (m.complete) {
        printf("Metrics\n");
        size_t nf;
        const struct run_field *f = run_metric_fields(&nf);
        for (size_t k = 0; k < nf; k++) {
            kv(f[k].label, run_field_format(&f[k], &r.m, buf, sizeof(buf)));
        }
        if (r.m.n_devices) {
            printf("Devices\n");
            for (unsigned d = 0; d < r.m.n_devices; d++) {
                const struct run_device_result *dv = &r.m.devices[d];
                char a[32], b[32], c[32], e[32], nm[256];
                printf("  %-20s precopy %s, stop-copy %s, save %s, load %s\n",
                       term_safe(dv->name, nm, sizeof(nm)),
                       run_format_value(RUN_U_BYTES, (double)dv->precopy_bytes,
                                        a, sizeof(a)),
                       run_format_value(RUN_U_BYTES,
                                        (double)dv->stop_copy_bytes, b,
                                        sizeof(b)),
                       run_format_value(RUN_U_NS, (double)dv->save_ns, c,
                                        sizeof(c)),
                       run_format_value(RUN_U_NS, (double)dv->load_ns, e,
                                        sizeof(e)));
            }
        }
    }
    if (m.diagnosis) {
        printf("Diagnosis\n");
        put_clean(stdout, m.diagnosis, true);
        fputc('\n', stdout);
    }
    db_run_meta_free(&m);
    run_result_free(&r);
    return EXIT_OK;
}

static int do_export(struct db *db, int64_t id, const char *format,
                     const char *table, const char *out_path)
{
    enum db_csv_table t = DB_CSV_SERIES;
    bool csv;
    if (!format || strcmp(format, "json") == 0) {
        csv = false;
    } else if (strcmp(format, "csv") == 0) {
        csv = true;
    } else {
        cli_error("export --format: json or csv, not '%s'", format);
        return EXIT_USAGE;
    }
    if (table && (!csv || db_csv_table_from_name(table, &t) != 0)) {
        cli_error("--table %s: with --format csv, one of series, events, "
                  "metrics, devices",
                  table);
        return EXIT_USAGE;
    }
    FILE *out = stdout;
    struct outfile of = {0};
    char err[1024];
    if (out_path && strcmp(out_path, "-") != 0) {
        /* A temporary renamed into place: a write error leaves an
         * existing FILE as it was. */
        if (outfile_open(&of, out_path, err, sizeof(err)) != 0) {
            cli_error("%s", err);
            return EXIT_IO;
        }
        out = of.f;
    }
    int rc = csv ? db_export_csv(db, id, t, out, err, sizeof(err))
                 : db_export_json(db, id, out, err, sizeof(err));
    if (out != stdout) {
        if (rc == 0) {
            rc = outfile_commit(&of, err, sizeof(err));
        } else {
            int e = ferror(of.f) ? errno : 0;
            outfile_abort(&of);
            size_t l = strlen(err);
            snprintf(err + l, sizeof(err) - l, "%s%s; %s was left as it was",
                     e ? ": write error: " : "", e ? strerror(e) : "",
                     out_path);
        }
    }
    if (rc != 0) {
        cli_error("%s", err);
        return rc_exit(rc);
    }
    return EXIT_OK;
}

static void diff_row(enum cli_format fmt, const char *name, const char *a,
                     const char *b, const char *delta)
{
    if (fmt == CLI_FMT_CSV) {
        csv_put(stdout, name, CSV_QUOTE_MINIMAL);
        fputc(',', stdout);
        csv_put(stdout, a, CSV_QUOTE_MINIMAL);
        fputc(',', stdout);
        csv_put(stdout, b, CSV_QUOTE_MINIMAL);
        fputc(',', stdout);
        csv_put(stdout, delta, CSV_QUOTE_MINIMAL);
        fputs("\r\n", stdout);
    } else {
        char ca[256], cb[256];
        snprintf(ca, sizeof(ca), "%s", a);
        snprintf(cb, sizeof(cb), "%s", b);
        clean_in_place(ca);
        clean_in_place(cb);
        printf("%-34s %-22s %-22s %s\n", name, ca, cb, delta);
    }
}

/* The derived columns (total_ms) of two runs as {a, b, delta} in mt. */
static void diff_json_derived(json_t *mt, const struct run_metrics *a,
                              const struct run_metrics *b)
{
    json_t *ja = json_object(), *jb = json_object();
    run_json_set(ja, RUN_REC_METRICS, run_cols_total_ms, a);
    run_json_set(jb, RUN_REC_METRICS, run_cols_total_ms, b);
    const char *k;
    json_t *va;
    json_object_foreach(ja, k, va)
    {
        json_t *vb = json_object_get(jb, k);
        double x = json_number_value(va), y = json_number_value(vb);
        json_t *e = json_object();
        json_object_set(e, "a", va);
        json_object_set(e, "b", vb);
        json_object_set_new(e, "delta",
                            isfinite(y - x) ? json_real(y - x) : json_null());
        json_object_set_new(mt, k, e);
    }
    json_decref(ja);
    json_decref(jb);
}

static int do_diff(struct db *db, int64_t ida, int64_t idb, enum cli_format fmt)
{
    struct db_run_meta ma, mb;
    struct run_result ra, rb;
    char err[1024];
    int rc = db_run_load(db, ida, &ma, &ra, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        return rc_exit(rc);
    }
    rc = db_run_load(db, idb, &mb, &rb, err, sizeof(err));
    if (rc != 0) {
        cli_error("%s", err);
        db_run_meta_free(&ma);
        run_result_free(&ra);
        return rc_exit(rc);
    }
    size_t nf;
    const struct run_field *f = run_metric_fields(&nf);
    if (fmt == CLI_FMT_JSON) {
        json_t *o = json_object();
        json_object_set_new(o, "a", json_integer(ida));
        json_object_set_new(o, "b", json_integer(idb));
        json_object_set_new(o, "outcome_a",
                            json_string(run_outcome_name(ra.m.outcome)));
        json_object_set_new(o, "outcome_b",
                            json_string(run_outcome_name(rb.m.outcome)));
        json_t *mt = json_object();
        for (size_t k = 0; k < nf; k++) {
            double a = run_field_value(&f[k], &ra.m);
            double b = run_field_value(&f[k], &rb.m);
            /* no downtime for a run that never switched over: null, as in
             * every other JSON (run/fields.h) */
            if (run_field_needs_switchover(&f[k])) {
                a = run_switched_over(&ra.m) ? a : NAN;
                b = run_switched_over(&rb.m) ? b : NAN;
            }
            json_t *e = json_object();
            json_object_set_new(e, "a",
                                isfinite(a) ? json_real(a) : json_null());
            json_object_set_new(e, "b",
                                isfinite(b) ? json_real(b) : json_null());
            json_object_set_new(
                e, "delta", isfinite(b - a) ? json_real(b - a) : json_null());
            json_object_set_new(mt, f[k].name, e);
        }
        diff_json_derived(mt, &ra.m, &rb.m);
        json_object_set_new(o, "metrics", mt);
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        char ha[32], hb[32];
        snprintf(ha, sizeof(ha), "A (run %lld)", (long long)ida);
        snprintf(hb, sizeof(hb), "B (run %lld)", (long long)idb);
        diff_row(fmt, "metric", ha, hb, "B - A");
        char pa[161], pb[161];
        snprintf(pa, sizeof(pa), "%s", ra.m.policy[0] ? ra.m.policy : "-");
        snprintf(pb, sizeof(pb), "%s", rb.m.policy[0] ? rb.m.policy : "-");
        diff_row(fmt, "policy", pa, pb, strcmp(pa, pb) ? "differs" : "");
        diff_row(fmt, "QEMU model", ra.m.qemu[0] ? ra.m.qemu : "-",
                 rb.m.qemu[0] ? rb.m.qemu : "-",
                 strcmp(ra.m.qemu, rb.m.qemu) ? "differs" : "");
        char sa[32], sb[32];
        snprintf(sa, sizeof(sa), "%" PRIu64, ma.seed);
        snprintf(sb, sizeof(sb), "%" PRIu64, mb.seed);
        diff_row(fmt, "seed", sa, sb, ma.seed != mb.seed ? "differs" : "");
        diff_row(fmt, "outcome", run_outcome_name(ra.m.outcome),
                 run_outcome_name(rb.m.outcome),
                 ra.m.outcome != rb.m.outcome ? "differs" : "");
        for (size_t k = 0; k < nf; k++) {
            char a[48], b[48], d[80] = "";
            double va = run_field_value(&f[k], &ra.m);
            double vb = run_field_value(&f[k], &rb.m);
            run_field_format(&f[k], &ra.m, a, sizeof(a));
            run_field_format(&f[k], &rb.m, b, sizeof(b));
            if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0) {
                snprintf(d, sizeof(d), "%s", strcmp(a, b) ? "differs" : "");
            } else if (f[k].unit == RUN_U_BOOL) {
                snprintf(d, sizeof(d), "%s", va != vb ? "differs" : "");
            } else if (isfinite(va) && isfinite(vb) && va != vb) {
                char dv[48];
                run_format_value(f[k].unit, vb - va, dv, sizeof(dv));
                if (va != 0) {
                    snprintf(d, sizeof(d), "%s%s (%+.1f%%)", vb > va ? "+" : "",
                             dv, 100.0 * (vb - va) / va);
                } else {
                    snprintf(d, sizeof(d), "%s%s", vb > va ? "+" : "", dv);
                }
            }
            diff_row(fmt, f[k].label, a, b, d);
        }
    }
    db_run_meta_free(&ma);
    db_run_meta_free(&mb);
    run_result_free(&ra);
    run_result_free(&rb);
    return EXIT_OK;
}

static int do_import(struct db *db, char **files, int n)
{
    int ret = EXIT_OK;
    for (int i = 0; i < n; i++) {
        char err[1024];
        int64_t id = 0;
        int rc = db_import_json(db, files[i], &id, err, sizeof(err));
        if (rc == 0) {
            printf("%s: imported as run %lld\n", files[i], (long long)id);
        } else if (rc == DB_ERR_DUPLICATE) {
            printf("%s: already present as run %lld\n", files[i],
                   (long long)id);
        } else {
            cli_error("%s", err);
            ret = strstr(err, ": No such file") ? EXIT_IO : EXIT_DATA;
        }
    }
    return ret;
}

static int do_merge(const char *out, char **args, int nargs)
{
    if (!out || nargs < 1) {
        cli_error("usage: migsim runs merge A.db [B.db...] -o OUT.db");
        return EXIT_USAGE;
    }
    char err[1024];
    size_t copied, skipped;
    if (db_merge(out, (const char *const *)args, (size_t)nargs, &copied,
                 &skipped, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    printf("merged %zu runs into %s (%zu already present)\n", copied, out,
           skipped);
    return EXIT_OK;
}

/* Run selectors (ID, A-B, 'all', 'last': db_select_runs, as plot and
 * report take them) to ids; EXIT_OK or the exit code (message printed).
 * one: every selector must name exactly one run. */
static int select_ids(struct db *db, char **sel, int nsel, bool one,
                      int64_t **ids, size_t *n)
{
    char err[1024];
    *ids = NULL;
    *n = 0;
    for (int i = 0; one && i < nsel; i++) {
        int64_t *x = NULL;
        size_t k = 0;
        int r = db_select_runs(db, sel + i, 1, &x, &k, err, sizeof(err));
        free(x);
        if (r == 0 && k != 1) {
            cli_error("'%s' names %zu runs, not one", sel[i], k);
            return EXIT_USAGE;
        }
        if (r != 0) {
            cli_error("%s", err);
            return r == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_USAGE;
        }
    }
    int r = db_select_runs(db, sel, nsel, ids, n, err, sizeof(err));
    if (r != 0) {
        cli_error("%s", err);
        return r == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_USAGE;
    }
    return EXIT_OK;
}

static int do_delete(struct db *db, char **args, int nargs)
{
    char err[1024];
    int64_t *ids;
    size_t nids;
    int src = select_ids(db, args, nargs, false, &ids, &nids);
    if (src != EXIT_OK) {
        return src;
    }
    for (size_t i = 0; i < nids; i++) {
        int64_t id = ids[i];
        int rc = db_delete(db, id, err, sizeof(err));
        if (rc != 0) {
            cli_error("%s", err);
            free(ids);
            return rc_exit(rc);
        }
        printf("deleted run %lld\n", (long long)id);
    }
    free(ids);
    return EXIT_OK;
}

enum action { A_LIST, A_SHOW, A_EXPORT, A_DIFF, A_DELETE, A_IMPORT };

static const struct {
    const char *name;
    int want; /* run ids it takes; -1: at least one argument (not ids) */
} actions[] = {
    [A_LIST] = {"list", 0},      [A_SHOW] = {"show", 1},
    [A_EXPORT] = {"export", 1},  [A_DIFF] = {"diff", 2},
    [A_DELETE] = {"delete", -1}, [A_IMPORT] = {"import", -1},
};

struct runs_args {
    const char *db_file, *format, *table, *out;
    enum cli_format fmt;
    enum action act;
    char **args;
    int nargs;
    int64_t ids[2];
};

/* The action and its arguments; EXIT_OK or EXIT_USAGE. */
static int check_action(const char *name, struct runs_args *a)
{
    int k = -1;
    for (unsigned i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(name, actions[i].name) == 0) {
            k = (int)i;
        }
    }
    if (k < 0) {
        cli_error("unknown action '%s' (see 'migsim runs --help')", name);
        return EXIT_USAGE;
    }
    a->act = (enum action)k;
    if (a->act != A_EXPORT && a->format &&
        cli_parse_format(a->format, &a->fmt) != 0) {
        return EXIT_USAGE;
    }
    int want = actions[k].want;
    if ((want >= 0 && a->nargs != want) || (want < 0 && a->nargs < 1)) {
        cli_error("runs %s: expected %s", name,
                  want == 0   ? "no arguments"
                  : want == 1 ? "one run id"
                  : want == 2 ? "two run ids"
                              : "at least one argument");
        return EXIT_USAGE;
    }
    return EXIT_OK; /* run selectors are resolved once the store is open */
}

static int run_action(struct db *db, struct runs_args *a)
{
    int want = actions[a->act].want;
    if (want > 0) {
        int64_t *ids;
        size_t n;
        int src = select_ids(db, a->args, want, true, &ids, &n);
        if (src != EXIT_OK) {
            return src;
        }
        a->ids[0] = ids[0];
        a->ids[1] = n > 1 ? ids[1] : ids[0]; /* diff A A: one id */
        free(ids);
    }
    switch (a->act) {
    case A_LIST:
        return do_list(db, a->fmt);
    case A_SHOW:
        return do_show(db, a->ids[0], a->fmt);
    case A_EXPORT:
        return do_export(db, a->ids[0], a->format, a->table, a->out);
    case A_DIFF:
        return do_diff(db, a->ids[0], a->ids[1], a->fmt);
    case A_IMPORT:
        return do_import(db, a->args, a->nargs);
    case A_DELETE:
        break;
    }
    return do_delete(db, a->args, a->nargs);
}

int cmd_runs(int argc, char **argv)
{
    struct runs_args a = {.db_file = getenv("MIGSIM_DB")};
    // clang-format off
    const struct cli_opt opts[] = {
        {.name = "db", .kind = CLI_STR, .dst = &a.db_file, .arg = "FILE", .help = "run store (default: $MIGSIM_DB or ./migsim.db)"},
        {.name = "format", .key = 'f', .kind = CLI_STR, .dst = &a.format, .arg = "F", .help = "list/show/diff: table, json or csv; export: json\n" "(default) or csv"},
        {.name = "table", .kind = CLI_STR, .dst = &a.table, .arg = "T", .help = "export --format csv: series (default), events,\n" "metrics or devices"},
        {.name = "output", .key = 'o', .kind = CLI_STR, .dst = &a.out, .arg = "FILE", .help = "export: write to FILE instead of stdout; merge: the\n" "output store"},
    };
    // clang-format on
    const struct cli_spec spec = {"runs",
                                  usage_text,
                                  NULL,
                                  opts,
                                  sizeof(opts) / sizeof(opts[0]),
                                  "Runs are named by id as shown by `runs "
                                  "list`, or by a selector as plot and\n"
                                  "report take them: A-B, 'all' (delete), "
                                  "'last'.\n"};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (argi >= argc) {
        cli_help(&spec, stderr);
        return EXIT_USAGE;
    }
    const char *action = argv[argi];
    a.args = argv + argi + 1;
    a.nargs = argc - argi - 1;
    if (strcmp(action, "merge") == 0) {
        return do_merge(a.out, a.args, a.nargs);
    }
    rc = check_action(action, &a);
    if (rc != EXIT_OK) {
        return rc;
    }
    const char *path = a.db_file && *a.db_file ? a.db_file : DB_DEFAULT_PATH;
    char err[1024];
    /* Only import creates a store; delete writes an existing one; the
     * others only read (and can read a store in a read-only place). */
    struct db *db = a.act == A_IMPORT ? db_open(path, err, sizeof(err))
                    : a.act == A_DELETE
                        ? db_open_existing(path, err, sizeof(err))
                        : db_open_readonly(path, err, sizeof(err));
    if (!db) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    rc = run_action(db, &a);
    db_close(db);
    return rc;
}
