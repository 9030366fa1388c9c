/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_replay.c — `migsim replay`: read QEMU trace logs (or
 * query-migrate / info migrate records), rebuild what the migration did,
 * say why it did or did not converge and what would have, and re-drive the
 * decisions under other policies.  The work is trc_session_run() and the
 * JSON / table outputs are traces/replay_out.c; here: options, the series
 * CSV, storing, plots, exit codes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/units.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/runout.h"
#include "plots/plot.h"
#include "run/scenario.h"
#include "store/db.h"
#include "traces/replay.h"

#define MAX_FILES 64
#define STR_(x)   #x
#define STR(x)    STR_(x)

static const char usage_text[] =
    "Usage: migsim replay FILE... [options]\n\n"
    "Read QEMU trace logs as QEMU writes them (log backend with or "
    "without a\ntimestamp prefix, qemu-trace-stap output, simpletrace "
    "binary files, lines\ninside libvirt or journal logs; gzip or "
    "plain; '-' for stdin), or recorded\nquery-migrate replies / "
    "'info migrate' dumps, virsh domjobinfo, Proxmox task logs,\nlibvirt debug "
    "logs, rebuild each migration, say\nwhy it did or "
    "did not converge and what setting would have, and re-drive\nthe "
    "decisions with the trace-derived inputs under other policies.  "
    "Several\nfiles are read in order (e.g. source and destination "
    "logs).\n\n";

static const char after_text[] =
    "JSON output: {\"files\", \"format\", \"input\": {lines, events, "
    "unknown,\nunknown_events, malformed, messages, ...}, \"verdict\" "
    "(converged |\nnot-converging | inconclusive), \"summary\", "
    "\"why\", \"diagnosis\", \"notes\",\n\"iterations\", "
    "\"exact_calls\", \"bitmap_syncs\", \"exact_calls_per_s\",\n"
    "\"sync_time_ms\", \"min_downtime_limit_ms\" (null when the "
    "bandwidth is\nunknown), \"min_avail_switchover_bandwidth_bps\", "
    "\"expected_downtime_ms\",\n\"qemu\", \"states\", \"violations\", "
    "\"downtime_breakdown\", \"inputs\",\n\"observed\" (the simulate "
    "result object), \"counterfactual\": [...]}; with several "
    "migrations\nalso \"migration\", \"n_migrations\" and "
    "\"migrations\": [...] (each one's\nobject, in input order).\n"
    "A progress line is shown on a terminal for inputs over 256 MiB.\n";

/* ---- options ---- */

struct replay_args {
    struct trc_session_options so;
    const char *policies[TRC_MAX_POLICIES];
    unsigned n_pol;
    const char *series_path, *scen_path, *plot_dir, *db_path, *calibration;
    char calibration_abs[4096];
    bool no_db, quiet;
    enum cli_format fmt;
};

static int opt_trace_format(const char *arg, void *ctx, char *err,
                            size_t errlen)
{
    struct trc_options *o = ctx;
    if (trc_format_from_name(arg, &o->format)) {
        snprintf(err, errlen,
                 "unknown trace format '%s' (auto, log, log-tid, log-iso, "
                 "stap, simple, embedded, qmp, hmp)",
                 arg);
        return -1;
    }
    return 0;
}

static int opt_bandwidth(const char *arg, void *ctx, char *err, size_t errlen)
{
    struct tl_options *o = ctx;
    uint64_t bps = 0;
    if (units_parse_rate(arg, &bps, err, errlen)) {
        return -1;
    }
    if (!bps) {
        snprintf(err, errlen, "must be > 0");
        return -1;
    }
    o->bandwidth_bps = (double)bps;
    return 0;
}

/* A bare number is milliseconds, as before the shared parser. */
static int opt_downtime_limit(const char *arg, void *ctx, char *err,
                              size_t errlen)
{
    struct tl_options *o = ctx;
    if (units_parse_time(arg, 0, &o->downtime_limit_ns, err, errlen)) {
        return -1;
    }
    if (o->downtime_limit_ns <= 0) {
        snprintf(err, errlen, "must be > 0");
        return -1;
    }
    return 0;
}

static int opt_qemu(const char *arg, void *ctx, char *err, size_t errlen)
{
    struct tl_options *o = ctx;
    unsigned v;
    const char *model;
    if (cli_check_qemu(arg, &model, err, errlen) ||
        scn_qemu_from_name(model, &v)) {
        return -1;
    }
    o->qemu = v;
    return 0;
}

static int opt_page_size(const char *arg, void *ctx, char *err, size_t errlen)
{
    struct tl_options *o = ctx;
    if (units_parse_size(arg, &o->page_bytes, err, errlen)) {
        return -1;
    }
    if (o->page_bytes == 0) {
        snprintf(err, errlen, "must be > 0");
        return -1;
    }
    return 0;
}

static int opt_max_samples(const char *arg, void *ctx, char *err, size_t errlen)
{
    struct tl_options *o = ctx;
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (*end || v < 16 || v > 10000000) {
        snprintf(err, errlen, "expected a number from 16 to 10000000");
        return -1;
    }
    o->max_samples = (size_t)v;
    return 0;
}

/* Rows of the option table: a value stored at dst, or one fn decides. */
#define OPT(name_, key_, kind_, dst_, arg_, help_)                             \
    {                                                                          \
        .name = name_, .key = key_, .kind = kind_, .dst = dst_, .arg = arg_,   \
        .help = help_                                                          \
    }
#define CALL(name_, key_, arg_, fn_, ctx_, help_)                              \
    {                                                                          \
        .name = name_, .key = key_, .kind = CLI_CALL, .arg = arg_, .fn = fn_,  \
        .ctx = ctx_, .help = help_                                             \
    }

/* -1 to go on (operands from *argi), or the exit code. */
static int parse_args(int argc, char **argv, struct replay_args *a, int *argi)
{
    struct trc_options *rd = &a->so.replay.reader;
    struct tl_options *tl = &a->so.replay.timeline;
    const struct cli_opt opts[] = {
        CALL("trace-format", 't', "F", opt_trace_format, rd,
             "auto (default: per line), log, log-tid, log-iso,\n"
             "stap, simple, embedded, qmp, hmp, domjobinfo, proxmox"),
        OPT("events", 'e', CLI_STR, &rd->events_path, "FILE",
            "trace-events-all for simpletrace files\n"
            "(default " TRC_DEFAULT_EVENTS ")"),
        OPT("strict", 0, CLI_FLAG, &rd->strict, NULL,
            "the first malformed line is fatal (exit 3)"),
        {.name = "policy",
         .key = 'p',
         .kind = CLI_POLICY,
         .dst = a->policies,
         .arg = "SPEC",
         .count = &a->n_pol,
         .cap = TRC_MAX_POLICIES,
         .help = "simulate the trace-derived inputs under SPEC and show\n"
                 "it next to what happened (repeatable; see\n"
                 "'migsim policies'); the qemu model runs too"},
        OPT("format", 'f', CLI_FORMAT, &a->fmt, "FMT",
            "table (default), json, or csv (the series)"),
        OPT("series", 0, CLI_STR, &a->series_path, "FILE",
            "also write the series as CSV to FILE"),
        OPT("scenario", 0, CLI_STR, &a->scen_path, "FILE",
            "write the derived scenario (JSON for 'migsim simulate')"),
        CALL("bandwidth", 0, "RATE", opt_bandwidth, tl,
             "link bandwidth to assume when the trace has none\n"
             "(e.g. 25Gbit/s)"),
        CALL("downtime-limit", 0, "TIME", opt_downtime_limit, tl,
             "limit to assume when it cannot be inferred"),
        CALL("qemu", 0, "VERSION", opt_qemu, tl,
             "QEMU version of the trace (default: guessed)"),
        CALL("page-size", 0, "SIZE", opt_page_size, tl,
             "guest page size (default 4KiB or from the input)"),
        CALL("max-samples", 0, "N", opt_max_samples, tl,
             "keep at most N samples (default " STR(
                 TL_DEFAULT_SAMPLES) "; longer traces\n"
                                     "are decimated, statistics use every "
                                     "iteration)"),
        OPT("calibration", 0, CLI_STR, &a->calibration, "FILE",
            "constants from 'migsim calibrate' for what the trace\n"
            "does not show (the trace-derived inputs override them)"),
        OPT("db", 0, CLI_STR, &a->db_path, "FILE",
            "store the replay (and --policy runs) in FILE\n"
            "(default $MIGSIM_DB or ./" DB_DEFAULT_PATH ")"),
        OPT("no-db", 0, CLI_FLAG, &a->no_db, NULL, "do not store anything"),
        OPT("plot", 0, CLI_STR, &a->plot_dir, "DIR",
            "draw the timelines into DIR (PNG)"),
        OPT("quiet", 'q', CLI_FLAG, &a->quiet, NULL, "no progress line"),
        {.name = "migration",
         .kind = CLI_UINT,
         .dst = &a->so.replay.migration,
         .arg = "N",
         .min = 1,
         .help = "a log holding several migrations: show the N-th in\n"
                 "detail (default: the last; each is rebuilt, judged and\n"
                 "stored on its own)"},
    };
    const struct cli_spec spec = {
        .cmd = "replay",
        .usage = usage_text,
        .opts = opts,
        .n_opts = sizeof(opts) / sizeof(opts[0]),
        .after = after_text,
    };
    return cli_parse(&spec, argc, argv, argi);
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

/* ---- series CSV ---- */

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

static int write_csv(FILE *f, const struct trc_replay *r,
                     const struct trc_cf *cfs, unsigned n_cf)
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

/* ---- store and plots ---- */

/* Another migration of the same input as a replay run, annotated. */
static int store_other(struct db *db, const struct trc_replay *x,
                       const char *src, const char *sha)
{
    char err[512];
    struct db_run_meta m;
    memset(&m, 0, sizeof(m));
    db_run_meta_build(&m, &(struct db_run_origin){
                              .kind = DB_KIND_REPLAY,
                              .source_path = src,
                              .source_sha256 = sha,
                              .qemu = x->run.m.qemu,
                              .policy = "observed",
                              .seed = 1,
                              .command_line = cli_command_line(),
                              .fingerprint = x->run.m.fingerprint,
                          });
    int64_t id = 0;
    int rc = EXIT_OK;
    /* the verdict goes in with the run: one commit */
    char *text = trc_diagnosis_text(&x->diag);
    m.verdict = (char *)x->diag.summary;
    m.diagnosis = text ? text : "";
    if (db_run_save(db, &m, &x->run, &id, err, sizeof(err))) {
        cli_error("%s", err);
        rc = EXIT_IO;
    }
    free(text);
    m.verdict = m.diagnosis = NULL;
    m.command_line = NULL;
    return rc;
}

static int store(const char *path, const struct trc_replay *r,
                 const struct trc_cf *cfs, unsigned n_cf, long long *obs_id,
                 struct db_run_meta *metas)
{
    char err[512];
    struct db *db = db_open(path, err, sizeof(err));
    if (!db) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    /* the digest of the first input's bytes, hashed by the reader as it
     * read them (trc_options.sha256): a FIFO, a pipe or stdin cannot be
     * read again; "" if it was not read to its end */
    char sha[65] = "";
    const char *src = r->n_files ? r->files[0] : "";
    snprintf(sha, sizeof(sha), "%s", r->stats.sha256);
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
        /* the observed run's verdict goes in with it: one commit */
        char *text = i == 0 ? trc_diagnosis_text(&r->diag) : NULL;
        if (i == 0) {
            m->verdict = (char *)r->diag.summary;
            m->diagnosis = text ? text : "";
        }
        int saved = db_run_save(db, m, res, &id, err, sizeof(err));
        free(text);
        m->verdict = m->diagnosis = NULL;
        if (saved != 0) {
            cli_error("%s", err);
            rc = EXIT_IO;
            break;
        }
        m->id = id;
        if (i == 0) {
            *obs_id = id;
        }
    }
    for (unsigned i = 0; i <= n_cf; i++) {
        metas[i].scenario_json = NULL;
        metas[i].command_line = NULL;
    }
    free(scen);
    /* the other migrations of the input: each its own replay run */
    for (unsigned k = 0; rc == EXIT_OK && k < r->n_others; k++) {
        rc = store_other(db, &r->others[k], src, sha);
    }
    db_close(db);
    return rc;
}

static int draw(const char *dir, const struct trc_replay *r,
                const struct trc_cf *cfs, unsigned n_cf,
                const struct db_run_meta *metas, bool stored)
{
    char err[512];
    struct plot_run pr[TRC_MAX_POLICIES + 2];
    char labels[TRC_MAX_POLICIES + 2][64];
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

/* Is the input long enough for a progress line (over 256 MiB, or not a
 * regular file)?  stat() only: a FIFO must be opened once, by the reader. */
static bool input_is_long(char *const *files, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (strcmp(files[i], "-") != 0 && stat(files[i], &sb) == 0 &&
            S_ISREG(sb.st_mode)) {
            total += sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
        } else if (!strcmp(files[i], "-") || stat(files[i], &sb) == 0) {
            total += (uint64_t)1 << 40; /* unknown: may be long */
        }
    }
    return total >= ((uint64_t)256 << 20);
}

/* Messages about the session; the exit code it deserves. */
static int report_session(enum trc_session_status st,
                          const struct trc_session *s, const char *err)
{
    const struct trc_stats *in = &s->r.stats;
    switch (st) {
    case TRC_SESSION_USAGE:
    case TRC_SESSION_IO:
    case TRC_SESSION_DATA:
        cli_error("%s", err);
        return st == TRC_SESSION_USAGE ? EXIT_USAGE
               : st == TRC_SESSION_IO  ? EXIT_IO
                                       : EXIT_DATA;
    case TRC_SESSION_EMPTY:
        cli_error("no QEMU trace events or migration status records found "
                  "in the input (%" PRIu64 " lines, %" PRIu64 " malformed)",
                  in->lines, in->malformed);
        for (unsigned i = 0; i < in->n_messages && i < 5; i++) {
            fprintf(stderr, "  %s\n", in->messages[i]);
        }
        return EXIT_DATA;
    case TRC_SESSION_OK:
        break;
    }
    if (in->malformed) {
        cli_warn("%" PRIu64 " malformed line(s) skipped%s%s", in->malformed,
                 in->n_messages ? "; first: " : "",
                 in->n_messages ? in->messages[0] : "");
    }
    if (in->nonfinite) {
        cli_warn("%" PRIu64 " non-finite value(s) (nan, -nan, inf) in JSON "
                 "records read as missing",
                 in->nonfinite);
    }
    if (s->r.info.time_warning[0]) {
        cli_warn("%s", s->r.info.time_warning);
    }
    char cw[400];
    if (trc_replay_costly_events(&s->r, cw, sizeof(cw))[0]) {
        cli_warn("%s", cw);
    }
    int rc = EXIT_OK;
    for (unsigned i = 0; i < s->n_cf; i++) {
        if (!s->cf[i].ok) {
            cli_error("%s", s->cf[i].err);
            rc = EXIT_USAGE;
        }
    }
    return rc;
}

static int write_scenario(const char *path, const struct trc_session *s)
{
    int rc = EXIT_OK;
    char *js = trc_scenario_json(&s->r.inputs);
    FILE *f = js ? fopen(path, "w") : NULL;
    if (!f || fprintf(f, "%s\n", js) < 0 || fclose(f) != 0) {
        cli_error("%s: cannot write the scenario", path);
        rc = EXIT_IO;
    }
    free(js);
    return rc;
}

/* The chosen output on stdout, then the series file. */
static int print_result(const struct replay_args *a,
                        const struct trc_session *s, long long run_id)
{
    int rc = EXIT_OK;
    if (a->fmt == CLI_FMT_JSON) {
        json_t *j = trc_replay_json(s, run_id, runout_metrics_json);
        if (!j || json_dumpf(j, stdout,
                             JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                 JSON_REAL_PRECISION(10)) < 0) {
            rc = EXIT_IO;
        }
        fputc('\n', stdout);
        json_decref(j);
    } else if (a->fmt == CLI_FMT_CSV) {
        if (write_csv(stdout, &s->r, s->cf, s->n_cf) < 0) {
            rc = EXIT_IO;
        }
    } else {
        trc_replay_print_table(stdout, s, run_id);
    }
    if (a->series_path) {
        FILE *f = fopen(a->series_path, "w");
        if (!f || write_csv(f, &s->r, s->cf, s->n_cf) < 0) {
            cli_error("%s: cannot write the series", a->series_path);
            rc = EXIT_IO;
        }
        if (f && fclose(f) != 0) {
            rc = EXIT_IO;
        }
    }
    return rc;
}

/* Scenario file, store, plots, output: each only if all before went well. */
static int finish(const struct replay_args *a, const struct trc_session *s)
{
    int rc = EXIT_OK;
    if (a->scen_path) {
        rc = write_scenario(a->scen_path, s);
    }
    long long run_id = 0;
    struct db_run_meta metas[TRC_MAX_POLICIES + 2];
    memset(metas, 0, sizeof(metas));
    bool stored = false;
    /* the qemu re-run of the fit is stored and drawn only when policies
     * were asked for (one replay, one stored run otherwise) */
    unsigned n_cf = a->n_pol ? s->n_cf : 0;
    if (rc == EXIT_OK && !a->no_db) {
        rc = store(a->db_path && *a->db_path ? a->db_path : DB_DEFAULT_PATH,
                   &s->r, s->cf, n_cf, &run_id, metas);
        stored = rc == EXIT_OK;
    }
    if (rc == EXIT_OK && a->plot_dir) {
        rc = draw(a->plot_dir, &s->r, s->cf, n_cf, metas, stored);
    }
    if (rc == EXIT_OK) {
        rc = print_result(a, s, run_id);
    }
    return rc;
}

int cmd_replay(int argc, char **argv)
{
    struct replay_args a;
    memset(&a, 0, sizeof(a));
    a.db_path = getenv("MIGSIM_DB");
    a.fmt = CLI_FMT_TABLE;
    int argi;
    int rc = parse_args(argc, argv, &a, &argi);
    if (rc >= 0) {
        return rc;
    }
    int nf = argc - argi;
    if (nf < 1) {
        cli_error("expected at least one FILE (see 'migsim replay --help')");
        return EXIT_USAGE;
    }
    if (nf > MAX_FILES) {
        cli_error("at most %d files", MAX_FILES);
        return EXIT_USAGE;
    }
    struct progress prog = {.on = !a.quiet && isatty(2)};
    prog.on = prog.on && input_is_long(&argv[argi], nf);
    a.so.files = (const char *const *)&argv[argi];
    a.so.n_files = (unsigned)nf;
    a.so.policies = a.policies;
    a.so.n_policies = a.n_pol;
    if (a.calibration) {
        char err[600];
        if (cli_abs_path(a.calibration, a.calibration_abs,
                         sizeof(a.calibration_abs), err, sizeof(err)) < 0) {
            cli_error("--calibration %s", err);
            return EXIT_IO;
        }
        a.so.calibration = a.calibration_abs;
    }
    a.so.replay.progress = progress_cb;
    a.so.replay.progress_ctx = &prog;
    /* arguments of events the timeline does not read are not checked,
     * unless --strict asks for every line to be checked */
    a.so.replay.reader.lazy = !a.so.replay.reader.strict;
    /* the store keys the run by its source's digest, hashed as read */
    a.so.replay.reader.sha256 = !a.no_db;
    char err[512];
    struct trc_session s;
    enum trc_session_status st = trc_session_run(&a.so, &s, err, sizeof(err));
    if (prog.shown) {
        fprintf(stderr, "\r%60s\r", "");
    }
    rc = report_session(st, &s, err);
    if (rc == EXIT_OK) {
        rc = finish(&a, &s);
    }
    if (st == TRC_SESSION_OK || st == TRC_SESSION_EMPTY) {
        trc_session_free(&s);
    }
    return rc;
}
