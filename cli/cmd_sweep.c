/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_sweep.c — `migsim sweep`: the cross product of parameter grids,
 * run in parallel, stored in the run store, resumable and shardable.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "engine/engine.h"
#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"

#define MAX_SETS 64

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: migsim sweep SCENARIO --grid KEY=VALUES [--grid ...] "
        "[options]\n"
        "\n"
        "Simulate every point of the cross product of the grids, on all "
        "cores, and\nstore each run in the run store.  Points already "
        "stored (same scenario\ntext, policy and seed) are not run again, so "
        "an interrupted sweep resumes\nwhere it stopped and shards merged "
        "with 'migsim runs merge' hold each\npoint once.\n"
        "\n"
        "Options:\n"
        "  -g, --grid KEY=VALUES  an axis (repeatable; the same key again "
        "appends).\n"
        "                        KEY is any scenario key "
        "('migsim simulate --keys',\n"
        "                        devices.0.stop_copy_size) or 'policy'. "
        "VALUES is a\n"
        "                        comma list of values (as --set takes them) "
        "and ranges\n"
        "                        A..B:STEP (linear) or A..B*FACTOR "
        "(geometric) of\n"
        "                        times, rates, sizes or numbers, e.g.\n"
        "                        migration.downtime_limit=100ms..2s:100ms\n"
        "                        policy=qemu,cached-stop-size (';' "
        "separates specs\n"
        "                        that contain commas)\n"
        "  -p, --policy SPEC     policy without a policy axis (default "
        "qemu)\n"
        "      --seeds N         seeds per point: the scenario's seed and the "
        "N-1\n"
        "                        following ones (default 1)\n"
        "  -j, --jobs N          worker threads (default: all CPUs)\n"
        "      --shard I/N       run only shard I of N: the points whose "
        "index mod N\n"
        "                        is I-1 (or, with --shard-mode block, the "
        "I-th of N\n"
        "                        contiguous blocks)\n"
        "      --shard-mode M    mod (default) or block\n"
        "      --db FILE         run store (default $MIGSIM_DB or %s)\n"
        "  -s, --set KEY=VALUE   override a scenario key for every point "
        "(repeatable)\n"
        "  -q, --qemu VERSION    override the QEMU version (%s)\n"
        "  -f, --format FMT      per-point output: table (default), json or "
        "csv\n"
        "      --quiet           no per-point output (summary only)\n"
        "      --no-progress     no progress bar (it is drawn on stderr only "
        "when\n"
        "                        stderr is a terminal)\n"
        "  -h, --help            this text\n"
        "\n"
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
        "why).\n",
        DB_DEFAULT_PATH, scn_qemu_list());
    cli_print_exit_codes(f);
}

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

int cmd_sweep(int argc, char **argv)
{
    const char *sets[MAX_SETS];
    unsigned n_sets = 0;
    const char *qemu = NULL, *policy = NULL;
    const char *db_path = getenv("MIGSIM_DB");
    unsigned seeds = 1, jobs = 0, shard_i = 1, shard_n = 1;
    enum plan_shard_mode mode = PLAN_SHARD_MOD;
    enum cli_format fmt = CLI_FMT_TABLE;
    bool quiet = false, progress = true;
    char err[600];
    struct plan_grid g;
    plan_grid_init(&g);
    static const struct option opts[] = {
        {"grid", required_argument, NULL, 'g'},
        {"policy", required_argument, NULL, 'p'},
        {"seeds", required_argument, NULL, 'S'},
        {"jobs", required_argument, NULL, 'j'},
        {"shard", required_argument, NULL, 'H'},
        {"shard-mode", required_argument, NULL, 'M'},
        {"db", required_argument, NULL, 'd'},
        {"set", required_argument, NULL, 's'},
        {"qemu", required_argument, NULL, 'q'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'Q'},
        {"no-progress", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c, rc = EXIT_OK;
    while (rc == EXIT_OK &&
           (c = getopt_long(argc, argv, "g:p:j:s:q:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            if (plan_grid_add(&g, optarg, err, sizeof(err))) {
                cli_error("%s", err);
                rc = EXIT_USAGE;
            }
            break;
        case 'p':
            policy = optarg;
            break;
        case 'S':
        case 'j': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 1 || v > (c == 'S' ? PLAN_MAX_SEEDS : 1024)) {
                cli_error("--%s: expected 1..%d", c == 'S' ? "seeds" : "jobs",
                          c == 'S' ? PLAN_MAX_SEEDS : 1024);
                rc = EXIT_USAGE;
            }
            *(c == 'S' ? &seeds : &jobs) = (unsigned)v;
            break;
        }
        case 'H':
            if (parse_shard(optarg, &shard_i, &shard_n)) {
                cli_error("--shard: expected I/N with 1 <= I <= N, not '%s'",
                          optarg);
                rc = EXIT_USAGE;
            }
            break;
        case 'M':
            if (strcmp(optarg, "mod") == 0) {
                mode = PLAN_SHARD_MOD;
            } else if (strcmp(optarg, "block") == 0) {
                mode = PLAN_SHARD_BLOCK;
            } else {
                cli_error("--shard-mode: mod or block");
                rc = EXIT_USAGE;
            }
            break;
        case 'd':
            db_path = optarg;
            break;
        case 's':
            if (n_sets == MAX_SETS) {
                cli_error("at most %d --set", MAX_SETS);
                rc = EXIT_USAGE;
                break;
            }
            sets[n_sets++] = optarg;
            break;
        case 'q':
            qemu = optarg;
            break;
        case 'f':
            if (cli_parse_format(optarg, &fmt)) {
                rc = EXIT_USAGE;
            }
            break;
        case 'Q':
            quiet = true;
            break;
        case 'N':
            progress = false;
            break;
        case 'h':
            usage(stdout);
            plan_grid_free(&g);
            return EXIT_OK;
        default:
            usage(stderr);
            rc = EXIT_USAGE;
        }
    }
    if (rc == EXIT_OK && optind != argc - 1) {
        cli_error("expected one SCENARIO file (see 'migsim sweep --help')");
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK && g.n_axes == 0) {
        cli_error("give at least one --grid KEY=VALUES");
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK && policy && plan_grid_find(&g, PLAN_POLICY_KEY) >= 0) {
        cli_error("--policy and --grid policy=... exclude each other");
        rc = EXIT_USAGE;
    }
    if (rc != EXIT_OK) {
        plan_grid_free(&g);
        return rc;
    }
    const char *path = argv[optind];
    struct scn_doc *doc = scn_doc_load(path, err, sizeof(err));
    if (!doc) {
        cli_error("%s", err);
        plan_grid_free(&g);
        return EXIT_DATA;
    }
    for (unsigned i = 0; i < n_sets && rc == EXIT_OK; i++) {
        if (scn_doc_set(doc, sets[i], err, sizeof(err))) {
            cli_error("%s", err);
            rc = EXIT_USAGE;
        }
    }
    if (rc == EXIT_OK && qemu) {
        char a[128];
        snprintf(a, sizeof(a), "qemu=\"%s\"", qemu);
        if (scn_doc_set(doc, a, err, sizeof(err))) {
            cli_error("%s", err);
            rc = EXIT_USAGE;
        }
    }
    char sha[65] = "";
    if (strcmp(path, "-") != 0 && db_sha256_file(path, sha, NULL, 0) != 0) {
        sha[0] = '\0';
    }
    if (rc != EXIT_OK) {
        scn_doc_free(doc);
        plan_grid_free(&g);
        return rc;
    }
    bool tty = isatty(STDERR_FILENO);
    struct out_ctx o = {
        .g = &g,
        .fmt = fmt,
        .quiet = quiet,
        .erase = tty && progress && isatty(STDOUT_FILENO),
    };
    for (size_t a = 0; a < g.n_axes; a++) {
        int w = (int)strlen(g.axes[a].key);
        for (size_t i = 0; i < g.axes[a].n; i++) {
            int l = (int)strlen(g.axes[a].values[i]);
            w = l > w ? l : w;
        }
        o.width[a] = w > 24 ? 24 : w;
    }
    struct plan_sweep_cfg cfg = {
        .base = doc,
        .source_path = path,
        .source_sha256 = sha,
        .grid = &g,
        .policy = policy,
        .seeds = seeds,
        .jobs = jobs,
        .shard_i = shard_i,
        .shard_n = shard_n,
        .shard_mode = mode,
        .db_path = db_path && *db_path ? db_path : DB_DEFAULT_PATH,
        .command_line = cli_command_line(),
        .progress = tty && progress,
    };
    header(&o);
    struct plan_sweep_stats st;
    int r = plan_sweep_run(&cfg, on_point, &o, &st, err, sizeof(err));
    if (!quiet && fmt == CLI_FMT_JSON) {
        printf("%s ],\n \"summary\": {\"points\": %" PRIu64
               ", \"shard\": \"%u/%u\", \"shard_points\": %" PRIu64
               ", \"ran\": %" PRIu64 ", \"stored\": %" PRIu64
               ", \"failed\": %" PRIu64 ", \"jobs\": %u, \"wall_s\": %.3f}}\n",
               o.n ? "\n" : "", st.points, shard_i, shard_n, st.shard_points,
               st.ran, st.stored, st.failed, st.jobs, st.wall_s);
    }
    fflush(stdout);
    if (r < 0) {
        cli_error("%s", err);
        rc = r == PLAN_ERR_IO ? EXIT_IO : EXIT_DATA;
    } else if (r > 0) {
        rc = r;
    }
    fprintf(stderr,
            "sweep: %" PRIu64 " points, shard %u/%u: %" PRIu64 "; ran %" PRIu64
            ", already stored %" PRIu64 ", failed %" PRIu64
            "; %u jobs, %.2f s (%.0f points/s) -> %s\n",
            st.points, shard_i, shard_n, st.shard_points, st.ran, st.stored,
            st.failed, st.jobs, st.wall_s,
            st.wall_s > 0 ? (double)(st.ran + st.stored) / st.wall_s : 0.0,
            cfg.db_path);
    if (rc == EXIT_OK && st.failed) {
        rc = EXIT_DATA;
    }
    scn_doc_free(doc);
    plan_grid_free(&g);
    return rc;
}
