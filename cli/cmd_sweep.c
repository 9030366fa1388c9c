/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_sweep.c — `migsim sweep`: the cross product of parameter grids,
 * run in parallel, stored in the run store, resumable and shardable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/err.h"
#include "plan/plan.h"
#include "engine/engine.h"
#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"

#define MAX_SETS 64

static const char usage_text[] =
    "Usage: migsim sweep SCENARIO --grid KEY=VALUES [--grid ...] "
    "[options]\n"
    "\n"
    "Simulate every point of the cross product of the grids, on all "
    "cores, and\nstore each run in the run store.  Points already "
    "stored (same scenario\ntext, policy and seed) are not run again, so "
    "an interrupted sweep resumes\nwhere it stopped and shards merged "
    "with 'migsim runs merge' hold each\npoint once.\n"
    "\n";

static const char after_text[] =
    "Points are numbered with the first --grid axis varying slowest and "
    "the seed\nfastest.  RAM mode is aggregate unless the scenario or a "
    "grid sets\nsim.ram_mode; runs keep metrics only.  A summary line "
    "goes to stderr.\nSee docs/sweeps.md for GNU parallel and Slurm "
    "job arrays.\n"
    "\n"
    "CSV columns: index, key, one per axis, seed, policy, outcome, "
    "total_ms,\ndowntime_ms, src_downtime_ms, expected_downtime_ms, "
    "downtime_limit_ms,\niterations, bitmap_syncs, exact_calls, "
    "sync_time_ms, max_throttle_pct,\nbytes_transferred, fingerprint, "
    "run_id, status (ran|stored|failed), error.\n"
    "Exit status 3 if some point could not run (the error column says "
    "why).\n";

struct out_ctx {
    const struct plan_grid *g;
    enum cli_format fmt;
    bool quiet;
    bool erase; /* stdout and the progress bar share a terminal */
    uint64_t n;
    int width[PLAN_MAX_AXES];
};

/* sweep --format csv: the metrics after the policy column */
static const struct run_col sweep_csv_cols[] = {
    {"outcome", NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL},
    {"total_ms", "total_ns", RUN_F_MS, 6, 0},
    {"downtime_ms", "downtime_ns", RUN_F_MS, 6, 0},
    {"src_downtime_ms", "src_downtime_ns", RUN_F_MS, 6, 0},
    {"expected_downtime_ms", "expected_downtime_ns", RUN_F_MS, 6, 0},
    {"downtime_limit_ms", "downtime_limit_ns", RUN_F_MS, 6, 0},
    {"iterations", NULL, RUN_F_INT, 0, 0},
    {"bitmap_syncs", NULL, RUN_F_INT, 0, 0},
    {"exact_calls", NULL, RUN_F_INT, 0, 0},
    {"sync_time_ms", "sync_time_ns", RUN_F_MS, 6, 0},
    {"max_throttle_pct", NULL, RUN_F_G, 6, 0},
    {"bytes_transferred", NULL, RUN_F_INT, 0, 0},
    {"fingerprint", NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL},
    {NULL, NULL, 0, 0, 0},
};

static void header(const struct out_ctx *o)
{
    if (o->quiet) {
        return;
    }
    const struct plan_grid *g = o->g;
    if (o->fmt == CLI_FMT_CSV) {
        fputs("index,key", stdout);
        for (size_t a = 0; a < g->n_axes; a++) {
            fputc(',', stdout);
            csv_put(stdout, g->axes[a].key, CSV_QUOTE_MINIMAL);
        }
        fputs(",seed,policy", stdout);
        run_csv_header(stdout, RUN_REC_METRICS, sweep_csv_cols, true);
        fputs(",run_id,status,error\n", stdout);
    } else if (o->fmt == CLI_FMT_JSON) {
        json_t *ax = json_array();
        for (size_t a = 0; a < g->n_axes; a++) {
            json_t *v = json_array();
            for (size_t i = 0; i < g->axes[a].n; i++) {
                json_array_append_new(v, json_string(g->axes[a].values[i]));
            }
            json_array_append_new(
                ax, json_pack("{s:s,s:o}", "key", g->axes[a].key, "values", v));
        }
        char *s = json_dumps(ax, JSON_COMPACT);
        printf("{\"axes\": %s,\n \"results\": [\n", s ? s : "[]");
        free(s);
        json_decref(ax);
    } else {
        printf("%8s", "index");
        for (size_t a = 0; a < g->n_axes; a++) {
            printf("  %-*.*s", o->width[a], o->width[a], g->axes[a].key);
        }
        printf("  %6s  %-20s %-10s %11s %11s %8s %9s %8s  %s\n", "seed",
               "policy", "outcome", "total", "downtime", "exact()", "sync",
               "run", "status");
    }
}

static int on_point(void *ctx, const struct plan_point *p)
{
    struct out_ctx *o = ctx;
    if (o->quiet) {
        return 0;
    }
    if (o->erase) {
        fputs("\r\033[K", stderr);
    }
    const struct plan_grid *g = o->g;
    const struct run_metrics *m = p->m;
    const char *outcome = m ? run_outcome_name(m->outcome) : "-";
    if (o->fmt == CLI_FMT_CSV) {
        printf("%" PRIu64 ",%s", p->index, p->key);
        for (size_t a = 0; a < g->n_axes; a++) {
            fputc(',', stdout);
            csv_put(stdout, g->axes[a].values[p->coord[a]], CSV_QUOTE_MINIMAL);
        }
        printf(",%" PRIu64 ",", p->seed);
        csv_put(stdout, p->policy, CSV_QUOTE_MINIMAL);
        run_csv_row(stdout, RUN_REC_METRICS, sweep_csv_cols, m, true);
        printf(",%" PRId64 ",%s,", p->run_id,
               plan_point_status_name(p->status));
        csv_put(stdout, p->status == PLAN_PT_FAILED ? p->error : "",
                CSV_QUOTE_MINIMAL);
        fputc('\n', stdout);
    } else if (o->fmt == CLI_FMT_JSON) {
        json_t *e = json_object();
        json_object_set_new(e, "index", json_integer((json_int_t)p->index));
        json_object_set_new(e, "key", json_string(p->key));
        json_t *par = json_object();
        for (size_t a = 0; a < g->n_axes; a++) {
            json_object_set_new(par, g->axes[a].key,
                                json_string(g->axes[a].values[p->coord[a]]));
        }
        json_object_set_new(e, "params", par);
        json_object_set_new(e, "seed", json_integer((json_int_t)p->seed));
        json_object_set_new(e, "policy", json_string(p->policy));
        json_object_set_new(e, "status",
                            json_string(plan_point_status_name(p->status)));
        json_object_set_new(e, "run_id", json_integer(p->run_id));
        if (m) {
            json_object_set_new(e, "outcome", json_string(outcome));
            json_object_set_new(e, "total_ms",
                                json_real((double)m->total_ns / 1e6));
            json_object_set_new(e, "downtime_ms",
                                json_real((double)m->downtime_ns / 1e6));
            json_object_set_new(e, "src_downtime_ms",
                                json_real((double)m->src_downtime_ns / 1e6));
            json_object_set_new(e, "iterations",
                                json_integer((json_int_t)m->iterations));
            json_object_set_new(e, "exact_calls",
                                json_integer((json_int_t)m->exact_calls));
            json_object_set_new(e, "sync_time_ms",
                                json_real((double)m->sync_time_ns / 1e6));
            json_object_set_new(e, "max_throttle_pct",
                                json_real(m->max_throttle_pct));
        } else {
            json_object_set_new(e, "error", json_string(p->error));
        }
        char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s  %s", o->n ? ",\n" : "", s ? s : "{}");
        free(s);
        json_decref(e);
    } else {
        char a[32], b[32], c[32];
        printf("%8" PRIu64, p->index);
        for (size_t k = 0; k < g->n_axes; k++) {
            printf("  %-*.*s", o->width[k], o->width[k],
                   g->axes[k].values[p->coord[k]]);
        }
        printf("  %6" PRIu64 "  %-20.20s ", p->seed, p->policy);
        if (m) {
            printf("%-10s %11s %11s %8" PRIu64 " %9s %8" PRId64 "  %s\n",
                   outcome, units_fmt_time(m->total_ns, a, sizeof(a)),
                   m->outcome == RUN_CONVERGED
                       ? units_fmt_time(m->downtime_ns, b, sizeof(b))
                       : "-",
                   m->exact_calls,
                   units_fmt_time(m->sync_time_ns, c, sizeof(c)), p->run_id,
                   plan_point_status_name(p->status));
        } else {
            printf("failed: %s\n", p->error);
        }
    }
    o->n++;
    return ferror(stdout) ? EXIT_IO : 0;
}

static int parse_shard(const char *s, unsigned *i, unsigned *n)
{
    char *end;
    unsigned long a = strtoul(s, &end, 10);
    if (*end != '/') {
        return -1;
    }
    unsigned long b = strtoul(end + 1, &end, 10);
    if (*end || a < 1 || b < 1 || a > b || b > 1000000) {
        return -1;
    }
    *i = (unsigned)a;
    *n = (unsigned)b;
    return 0;
}

/* One cli_opt: name, short key, kind, destination, argument name, help;
 * then extra fields. */
#define OPT(n, k, t, d, a, ...)                                                \
    {                                                                          \
        .name = (n), .key = (k), .kind = (t), .dst = (d), .arg = (a),          \
        .help = __VA_ARGS__                                                    \
    }
#define CALL(n, k, a, f, c, ...)                                               \
    {                                                                          \
        .name = (n), .key = (k), .kind = CLI_CALL, .arg = (a), .fn = (f),      \
        .ctx = (c), .help = __VA_ARGS__                                        \
    }

struct sweep_args {
    struct plan_grid g;
    const char *sets[MAX_SETS];
    unsigned n_sets;
    const char *qemu, *policy, *db_path, *path, *calibration;
    unsigned seeds, jobs, shard[2];
    enum plan_shard_mode mode;
    enum cli_format fmt;
    bool quiet, no_progress;
};

static int opt_grid(const char *arg, void *ctx, char *err, size_t errlen)
{
    return plan_grid_add(ctx, arg, err, errlen);
}

static int opt_shard(const char *arg, void *ctx, char *err, size_t errlen)
{
    unsigned *in = ctx;
    if (parse_shard(arg, &in[0], &in[1])) {
        err_set(err, errlen, "expected I/N with 1 <= I <= N, not '%s'", arg);
        return -1;
    }
    return 0;
}

static int opt_shard_mode(const char *arg, void *ctx, char *err, size_t errlen)
{
    enum plan_shard_mode *m = ctx;
    if (strcmp(arg, "mod") == 0) {
        *m = PLAN_SHARD_MOD;
    } else if (strcmp(arg, "block") == 0) {
        *m = PLAN_SHARD_BLOCK;
    } else {
        err_set(err, errlen, "mod or block");
        return -1;
    }
    return 0;
}

/* -1 to go on, or the exit code (a->g is freed by the caller). */
static int parse_args(int argc, char **argv, struct sweep_args *a)
{
    char db_help[160], qemu_help[200];
    snprintf(db_help, sizeof(db_help), "run store (default $MIGSIM_DB or %s)",
             DB_DEFAULT_PATH);
    snprintf(qemu_help, sizeof(qemu_help), "override the QEMU version (%s)",
             scn_qemu_list());
    const struct cli_opt opts[] = {
        CALL("grid", 'g', "KEY=VALUES", opt_grid, &a->g,
             "an axis (repeatable; the same key again appends).\n"
             "KEY is any scenario key ('migsim simulate --keys',\n"
             "devices.0.stop_copy_size) or 'policy'. VALUES is a\n"
             "comma list of values (as --set takes them) and ranges\n"
             "A..B:STEP (linear) or A..B*FACTOR (geometric) of\n"
             "times, rates, sizes or numbers, e.g.\n"
             "migration.downtime_limit=100ms..2s:100ms\n"
             "policy=qemu,cached-stop-size (';' separates specs\n"
             "that contain commas)"),
        OPT("policy", 'p', CLI_CALL, NULL, "SPEC",
            "policy without a policy axis (default qemu)", .fn = cli_policy_fn,
            .ctx = &a->policy),
        OPT("seeds", 0, CLI_UINT, &a->seeds, "N",
            "seeds per point: the scenario's seed and the N-1\n"
            "following ones (default 1)",
            .min = 1, .max = PLAN_MAX_SEEDS),
        OPT("jobs", 'j', CLI_UINT, &a->jobs, "N",
            "worker threads (default: all CPUs)", .min = 1, .max = 1024),
        CALL("shard", 0, "I/N", opt_shard, a->shard,
             "run only shard I of N: the points whose index mod N\n"
             "is I-1 (or, with --shard-mode block, the I-th of N\n"
             "contiguous blocks)"),
        CALL("shard-mode", 0, "M", opt_shard_mode, &a->mode,
             "mod (default) or block"),
        OPT("db", 0, CLI_STR, &a->db_path, "FILE", db_help),
        OPT("set", 's', CLI_LIST, a->sets, "KEY=VALUE",
            "override a scenario key for every point (repeatable)",
            .count = &a->n_sets, .cap = MAX_SETS),
        OPT("qemu", 0, CLI_QEMU, &a->qemu, "VERSION", qemu_help),
        OPT("calibration", 0, CLI_STR, &a->calibration, "FILE",
            "constants from 'migsim calibrate' (scenario keys\n"
            "override them)"),
        OPT("format", 'f', CLI_FORMAT, &a->fmt, "FMT",
            "per-point output: table (default), json or csv"),
        OPT("quiet", 0, CLI_FLAG, &a->quiet, NULL,
            "no per-point output (summary only)"),
        OPT("no-progress", 0, CLI_FLAG, &a->no_progress, NULL,
            "no progress bar (it is drawn on stderr only when\n"
            "stderr is a terminal)"),
    };
    const struct cli_spec spec = {
        "sweep",   usage_text, NULL, opts, sizeof(opts) / sizeof(opts[0]),
        after_text};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (argi != argc - 1) {
        cli_error("expected one SCENARIO file (see 'migsim sweep --help')");
        return EXIT_USAGE;
    }
    if (a->g.n_axes == 0) {
        cli_error("give at least one --grid KEY=VALUES");
        return EXIT_USAGE;
    }
    if (a->policy && plan_grid_find(&a->g, PLAN_POLICY_KEY) >= 0) {
        cli_error("--policy and --grid policy=... exclude each other");
        return EXIT_USAGE;
    }
    a->path = argv[argi];
    return -1;
}

/* The scenario with --set and --qemu, and its file's digest; NULL with *rc
 * and a message. */
static struct scn_doc *load_doc(const struct sweep_args *a, char sha[65],
                                int *rc)
{
    char err[600];
    struct scn_doc *doc = scn_doc_load(a->path, err, sizeof(err));
    if (!doc) {
        cli_error("%s", err);
        *rc = cli_input_rc(a->path);
        return NULL;
    }
    *rc = cli_apply_sets(doc, a->sets, a->n_sets);
    if (*rc == EXIT_OK && a->calibration &&
        cli_set_calibration(doc, a->calibration, err, sizeof(err))) {
        cli_error("%s", err);
        *rc = EXIT_USAGE;
    }
    if (*rc == EXIT_OK && a->qemu) {
        char q[128];
        snprintf(q, sizeof(q), "qemu=\"%s\"", a->qemu);
        if (scn_doc_set(doc, q, err, sizeof(err))) {
            cli_error("%s", err);
            *rc = EXIT_USAGE;
        }
    }
    sha[0] = '\0';
    if (strcmp(a->path, "-") != 0 && db_sha256_file(a->path, sha, NULL, 0)) {
        sha[0] = '\0';
    }
    if (*rc != EXIT_OK) {
        scn_doc_free(doc);
        return NULL;
    }
    return doc;
}

/* Table columns: each axis as wide as its key or longest value, <= 24. */
static void column_widths(struct out_ctx *o)
{
    const struct plan_grid *g = o->g;
    for (size_t a = 0; a < g->n_axes; a++) {
        int w = (int)strlen(g->axes[a].key);
        for (size_t i = 0; i < g->axes[a].n; i++) {
            int l = (int)strlen(g->axes[a].values[i]);
            w = l > w ? l : w;
        }
        o->width[a] = w > 24 ? 24 : w;
    }
}

/* The JSON output's closing summary. */
static void summaries(const struct sweep_args *a, const struct out_ctx *o,
                      const struct plan_sweep_stats *st)
{
    if (!a->quiet && a->fmt == CLI_FMT_JSON) {
        printf("%s ],\n \"summary\": {\"points\": %" PRIu64
               ", \"shard\": \"%u/%u\", \"shard_points\": %" PRIu64
               ", \"ran\": %" PRIu64 ", \"stored\": %" PRIu64
               ", \"failed\": %" PRIu64 ", \"jobs\": %u, \"wall_s\": %.3f}}\n",
               o->n ? "\n" : "", st->points, a->shard[0], a->shard[1],
               st->shard_points, st->ran, st->stored, st->failed, st->jobs,
               st->wall_s);
    }
    fflush(stdout);
}

static void summary_line(const struct sweep_args *a,
                         const struct plan_sweep_stats *st, const char *db)
{
    fprintf(stderr,
            "sweep: %" PRIu64 " points, shard %u/%u: %" PRIu64 "; ran %" PRIu64
            ", already stored %" PRIu64 ", failed %" PRIu64
            "; %u jobs, %.2f s (%.0f points/s) -> %s\n",
            st->points, a->shard[0], a->shard[1], st->shard_points, st->ran,
            st->stored, st->failed, st->jobs, st->wall_s,
            st->wall_s > 0 ? (double)(st->ran + st->stored) / st->wall_s : 0.0,
            db);
}

/* Run the sweep on the loaded scenario; the exit code. */
static int run_sweep(const struct sweep_args *a, struct scn_doc *doc,
                     const char *sha)
{
    bool tty = isatty(STDERR_FILENO);
    struct out_ctx o = {
        .g = &a->g,
        .fmt = a->fmt,
        .quiet = a->quiet,
        .erase = tty && !a->no_progress && isatty(STDOUT_FILENO),
    };
    column_widths(&o);
    struct plan_sweep_cfg cfg = {
        .base = doc,
        .source_path = a->path,
        .source_sha256 = sha,
        .grid = &a->g,
        .policy = a->policy,
        .seeds = a->seeds,
        .jobs = a->jobs,
        .shard_i = a->shard[0],
        .shard_n = a->shard[1],
        .shard_mode = a->mode,
        .db_path = a->db_path && *a->db_path ? a->db_path : DB_DEFAULT_PATH,
        .command_line = cli_command_line(),
        .progress = tty && !a->no_progress,
    };
    header(&o);
    struct plan_sweep_stats st;
    char err[600];
    int r = plan_sweep_run(&cfg, on_point, &o, &st, err, sizeof(err));
    summaries(a, &o, &st);
    int rc = EXIT_OK;
    if (r < 0) {
        cli_error("%s", err);
        rc = r == PLAN_ERR_IO     ? EXIT_IO
             : r == PLAN_ERR_UNIT ? EXIT_USAGE
                                  : EXIT_DATA;
    } else if (r > 0) {
        rc = r;
    }
    summary_line(a, &st, cfg.db_path);
    if (rc == EXIT_OK && st.failed) {
        rc = EXIT_DATA;
    }
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    struct sweep_args a;
    memset(&a, 0, sizeof(a));
    plan_grid_init(&a.g);
    a.db_path = getenv("MIGSIM_DB");
    a.seeds = 1;
    a.shard[0] = a.shard[1] = 1;
    a.mode = PLAN_SHARD_MOD;
    a.fmt = CLI_FMT_TABLE;
    int rc = parse_args(argc, argv, &a);
    if (rc < 0) {
        char sha[65];
        struct scn_doc *doc = load_doc(&a, sha, &rc);
        if (doc) {
            rc = run_sweep(&a, doc, sha);
            scn_doc_free(doc);
        }
    }
    plan_grid_free(&a.g);
    return rc;
}
