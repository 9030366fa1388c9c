/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_lab.c — `migsim lab run` (one real migration between two TCG
 * QEMUs on this machine, recorded as a live run) and `migsim lab validate`
 * (a grid of real runs, each simulated with the qemu model from the same
 * parameters, real against predicted).
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "live/lab.h"
#include "live/live.h"
#include "model/mig.h"
#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"

#define MS ((int64_t)1000000)

static void usage_top(FILE *f)
{
    fprintf(f, "Usage: migsim lab run [options]\n"
               "       migsim lab validate [options]\n\n"
               "Real QEMU migrations on this machine: two QEMUs (TCG, "
               "-machine pc) on\nloopback booting migsim's own test guest, "
               "which writes one byte per 4 KiB\npage over a working set at "
               "a known rate.  'run' migrates once and records\nthe run; "
               "'validate' runs a grid and compares each run with the "
               "simulator.\n'migsim lab run --help' and 'migsim lab validate "
               "--help' list the options.\n");
    cli_print_exit_codes(f);
}

static void usage_common(FILE *f)
{
    fprintf(f,
            "  -q, --qemu BIN          QEMU binary (default $MIGSIM_QEMU or "
            "qemu-system-x86_64)\n"
            "      --guest FILE        guest image (default: next to the "
            "binary, guest/guest.bin)\n"
            "      --boot-timeout T    wait this long for the guest "
            "(default 60s)\n"
            "      --settle T          measure the guest's write rate this "
            "long (default 1s)\n"
            "      --interval T        query-migrate polling period (default "
            "100ms)\n"
            "      --db FILE           store runs in FILE (default $MIGSIM_DB "
            "or ./migsim.db)\n"
            "      --no-db             do not store runs\n"
            "  -f, --format FMT        table (default) or json\n"
            "      --quiet             no progress lines on stderr\n"
            "  -h, --help              this text\n"
            "\nSizes take B, KiB, MiB, GiB ...; rates B/s, MiB/s, Gbit/s ...; "
            "times ms, s, min.\nMIGSIM_QMP_LOG=FILE appends all QMP traffic "
            "to FILE.\n");
}

static void usage_run(FILE *f)
{
    fprintf(f,
            "Usage: migsim lab run [options]\n\n"
            "Boot the test guest in a source and a destination QEMU, set the "
            "migration\ncapabilities and parameters, migrate over "
            "tcp:127.0.0.1, sample query-migrate,\nrecord the run (kind "
            "live) and stop every process it started, also on error\nand on "
            "Ctrl-C.\n\nOptions:\n"
            "      --ram SIZE          guest RAM (default 512MiB)\n"
            "      --working-set SIZE  pages the guest writes, from 1 MiB up "
            "(default 64MiB)\n"
            "      --dirty-rate RATE   page writes x 4 KiB per second "
            "(default 4MiB/s; 0 = idle)\n"
            "      --pause-loops N     pace by a busy loop of N iterations "
            "instead of the\n"
            "                          PM timer (rate then depends on TCG "
            "speed; measured)\n"
            "      --max-bandwidth R   migrate-set-parameters max-bandwidth "
            "(0 = unlimited;\n"
            "                          default QEMU's 128MiB/s)\n"
            "      --downtime-limit T  downtime-limit (default QEMU's 300ms)\n"
            "      --capability NAME   turn a migration capability on "
            "(repeatable),\n"
            "                          e.g. auto-converge\n"
            "      --param NAME=VALUE  any other migrate-set-parameters "
            "value (repeatable)\n"
            "      --time-limit T      cancel the migration after T (outcome "
            "timeout;\n"
            "                          default 120s)\n"
            "  -p, --policy SPEC       run a policy over the migration (see "
            "'migsim policies')\n"
            "      --apply             carry out the policy's changes "
            "(default: advise)\n"
            "      --trace FILE        keep the source's trace log in FILE "
            "(default: a\n"
            "                          temporary file, read and removed)\n"
            "      --workdir DIR       use DIR for sockets, logs, pid files "
            "(src.pid, dst.pid)\n"
            "                          instead of a private temporary "
            "directory\n"
            "      --observer          open a second source QMP socket, "
            "DIR/src-observe.qmp,\n"
            "                          for 'migsim live --qmp' (needs "
            "--workdir)\n");
    usage_common(f);
    fprintf(f, "\nJSON output: the live run record of 'migsim live' plus "
               "\"lab\": {\"guest_rate_bps\",\n\"mig_rate_bps\", \"dest_ok\", "
               "\"dest_note\", "
               "\"trace_syncs\", \"trace_sync_ns\", \"zero_fraction\",\n"
               "\"scenario\", \"workdir\"}.\n"
               "\nExit status 1: the migration did not converge (timeout, "
               "failed, cancelled).\nExit status 5: QEMU failed to start or "
               "died, or the destination did not run\nthe guest.  130: "
               "interrupted (everything cleaned up, run kept incomplete).\n");
    cli_print_exit_codes(f);
}

static void usage_validate(FILE *f)
{
    fprintf(f, "Usage: migsim lab validate [options]\n\n"
               "Run a grid of real migrations and simulate each with the "
               "simulator's model\nof the QEMU found (7.2 on Debian 12) from "
               "the same parameters: guest RAM,\nworking set, the guest's "
               "measured write rate during the migration,\nmax-bandwidth, "
               "downtime-limit.  Prints per run the "
               "real and predicted outcome, dirty syncs, total time and\n"
               "downtime with the error, then the verdict agreement and the "
               "median total-time\nerror.  Before the grid one calibration "
               "migration (idle 256 MiB working set,\nunlimited bandwidth) "
               "measures the loopback throughput used as the model's\nlink "
               "bandwidth (the downtime phase is not rate limited).\n\nGrid "
               "(each a comma-separated list; every combination runs):\n"
               "      --ram SIZE                   (default 512MiB)\n"
               "      --working-set LIST           (default 32MiB,64MiB)\n"
               "      --dirty-rate LIST            (default 8MiB/s,64MiB/s)\n"
               "      --max-bandwidth LIST         (default 16MiB/s)\n"
               "      --downtime-limit LIST        (default 300ms)\n"
               "      --time-limit T               per run (default 30s)\n"
               "      --no-calibrate               use the scenario default "
               "link bandwidth\n"
               "      --markdown FILE              also write the table as "
               "Markdown\n");
    usage_common(f);
    fprintf(f, "\nExit status 1: a verdict disagrees.\n");
    cli_print_exit_codes(f);
}

/* ---- shared options ----------------------------------------------------- */

enum {
    O_RAM = 256,
    O_WS,
    O_RATE,
    O_PAUSE,
    O_BW,
    O_DL,
    O_CAP,
    O_PARAM,
    O_TLIM,
    O_APPLY,
    O_TRACE,
    O_WORKDIR,
    O_OBSERVER,
    O_GUEST,
    O_BOOT,
    O_SETTLE,
    O_INTERVAL,
    O_DB,
    O_NODB,
    O_QUIET,
    O_NOCAL,
    O_MD,
};

static int parse_time(const char *opt, const char *v, int64_t *out)
{
    char err[256];
    if (units_parse_time(v, 0, out, err, sizeof(err)) != 0 || *out < 0) {
        cli_error("--%s: %s", opt, err);
        return -1;
    }
    return 0;
}

static int parse_size(const char *opt, const char *v, uint64_t *out)
{
    char err[256];
    if (units_parse_size(v, out, err, sizeof(err)) != 0) {
        cli_error("--%s: %s", opt, err);
        return -1;
    }
    return 0;
}

static int parse_rate(const char *opt, const char *v, uint64_t *out)
{
    char err[256];
    if (strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (units_parse_rate(v, out, err, sizeof(err)) != 0) {
        cli_error("--%s: %s", opt, err);
        return -1;
    }
    return 0;
}

struct common {
    struct lab_cfg cfg;
    struct live_opts lo;
    const char *db_path;
    bool no_db;
    enum cli_format fmt;
    bool quiet;
};

/* Options both subcommands take; 1 if handled, 0 if not, -1 on error. */
static int common_opt(struct common *c, int opt, const char *arg)
{
    switch (opt) {
    case 'q':
        c->cfg.qemu = arg;
        return 1;
    case O_GUEST:
        c->cfg.guest = arg;
        return 1;
    case O_BOOT:
        return parse_time("boot-timeout", arg, &c->cfg.boot_timeout_ns) ? -1
                                                                        : 1;
    case O_SETTLE:
        return parse_time("settle", arg, &c->cfg.settle_ns) ? -1 : 1;
    case O_INTERVAL:
        if (parse_time("interval", arg, &c->lo.interval_ns)) {
            return -1;
        }
        if (c->lo.interval_ns < 10 * MS) {
            cli_error("--interval: at least 10ms");
            return -1;
        }
        return 1;
    case O_DB:
        c->db_path = arg;
        return 1;
    case O_NODB:
        c->no_db = true;
        return 1;
    case 'f':
        if (cli_parse_format(arg, &c->fmt)) {
            return -1;
        }
        if (c->fmt == CLI_FMT_CSV) {
            cli_error("--format: table or json");
            return -1;
        }
        return 1;
    case O_QUIET:
        c->quiet = true;
        return 1;
    default:
        return 0;
    }
}

#define COMMON_LONGOPTS                                                        \
    {"qemu", required_argument, NULL, 'q'},                                    \
        {"guest", required_argument, NULL, O_GUEST},                           \
        {"boot-timeout", required_argument, NULL, O_BOOT},                     \
        {"settle", required_argument, NULL, O_SETTLE},                         \
        {"interval", required_argument, NULL, O_INTERVAL},                     \
        {"db", required_argument, NULL, O_DB},                                 \
        {"no-db", no_argument, NULL, O_NODB},                                  \
        {"format", required_argument, NULL, 'f'},                              \
        {"quiet", no_argument, NULL, O_QUIET},                                 \
    {                                                                          \
        "help", no_argument, NULL, 'h'                                         \
    }

static void common_init(struct common *c)
{
    memset(c, 0, sizeof(*c));
    lab_cfg_default(&c->cfg);
    live_opts_default(&c->lo);
    c->db_path = getenv("MIGSIM_DB");
    if (!c->db_path || !*c->db_path) {
        c->db_path = DB_DEFAULT_PATH;
    }
}

static struct db *open_db(const struct common *c)
{
    if (c->no_db) {
        return NULL;
    }
    char err[512];
    struct db *db = db_open(c->db_path, err, sizeof(err));
    if (!db) {
        cli_error("%s", err);
    }
    return db;
}

static int exit_for(const struct lab_result *r)
{
    if (live_stop_signal) {
        return 128 + live_stop_signal;
    }
    const struct live_session *s = &r->s;
    if (s->end != LIVE_END_OUTCOME) {
        return s->end == LIVE_END_PROTO ? EXIT_DATA : EXIT_EXTERNAL;
    }
    if (s->res.m.outcome != RUN_CONVERGED) {
        return EXIT_NO;
    }
    if (r->dest_checked && !r->dest_ok) {
        return EXIT_EXTERNAL;
    }
    return EXIT_OK;
}

static json_t *lab_json(const struct lab_result *r)
{
    json_t *o = live_session_json(&r->s);
    json_t *sc = NULL;
    if (r->scenario_json) {
        sc = json_loads(r->scenario_json, 0, NULL);
    }
    json_object_set_new(
        o, "lab",
        json_pack("{s:f, s:f, s:b, s:s, s:b, s:I, s:I, s:I, s:f, s:o, s:s, "
                  "s:s}",
                  "guest_rate_bps", r->guest_rate_bps, "mig_rate_bps",
                  r->mig_rate_bps, "dest_ok", r->dest_ok, "dest_note",
                  r->dest_note, "trace_read", r->trace_read, "trace_syncs",
                  (json_int_t)r->trace_syncs, "trace_sync_ns",
                  (json_int_t)r->trace_sync_ns, "trace_pending",
                  (json_int_t)r->trace_pending, "zero_fraction",
                  r->zero_fraction, "scenario", sc ? sc : json_null(), "trace",
                  r->trace_path, "workdir", r->workdir));
    return o;
}

static void diagnosis(const struct lab_result *r, char *buf, size_t n)
{
    char *fq = r->s.final ? json_dumps(r->s.final, JSON_COMPACT) : NULL;
    snprintf(buf, n,
             "lab run: guest write rate %.0f B/s before the migration, %.0f "
             "B/s during it; %s; trace %s (%" PRIu64 " syncs, %" PRId64
             " ns in syncs); zero fraction %.4f; scenario %s; final "
             "query-migrate %s",
             r->guest_rate_bps, r->mig_rate_bps,
             r->dest_note[0] ? r->dest_note : "no destination check",
             r->trace_path[0] ? r->trace_path : "(temporary, removed)",
             r->trace_syncs, r->trace_sync_ns, r->zero_fraction,
             r->scenario_json ? r->scenario_json : "-", fq ? fq : "-");
    free(fq);
}

/* ---- run ---------------------------------------------------------------- */

static int lab_cmd_run(int argc, char **argv)
{
    struct common c;
    common_init(&c);
    static const struct option opts[] = {
        {"ram", required_argument, NULL, O_RAM},
        {"working-set", required_argument, NULL, O_WS},
        {"dirty-rate", required_argument, NULL, O_RATE},
        {"pause-loops", required_argument, NULL, O_PAUSE},
        {"max-bandwidth", required_argument, NULL, O_BW},
        {"downtime-limit", required_argument, NULL, O_DL},
        {"capability", required_argument, NULL, O_CAP},
        {"param", required_argument, NULL, O_PARAM},
        {"time-limit", required_argument, NULL, O_TLIM},
        {"policy", required_argument, NULL, 'p'},
        {"apply", no_argument, NULL, O_APPLY},
        {"trace", required_argument, NULL, O_TRACE},
        {"workdir", required_argument, NULL, O_WORKDIR},
        {"observer", no_argument, NULL, O_OBSERVER},
        COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "q:f:p:h", opts, NULL)) != -1) {
        int h = common_opt(&c, opt, optarg);
        if (h < 0) {
            return EXIT_USAGE;
        }
        if (h > 0) {
            continue;
        }
        switch (opt) {
        case O_RAM:
            if (parse_size("ram", optarg, &c.cfg.ram_bytes)) {
                return EXIT_USAGE;
            }
            break;
        case O_WS:
            if (parse_size("working-set", optarg, &c.cfg.working_set_bytes)) {
                return EXIT_USAGE;
            }
            break;
        case O_RATE:
            if (parse_rate("dirty-rate", optarg, &c.cfg.dirty_rate_bps)) {
                return EXIT_USAGE;
            }
            break;
        case O_PAUSE: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > 0xffffffffUL) {
                cli_error("--pause-loops: a count from 1 to 4294967295");
                return EXIT_USAGE;
            }
            c.cfg.pause_loops = (uint32_t)v;
            break;
        }
        case O_BW:
            if (parse_rate("max-bandwidth", optarg, &c.cfg.max_bandwidth_bps)) {
                return EXIT_USAGE;
            }
            c.cfg.set_max_bandwidth = true;
            break;
        case O_DL:
            if (parse_time("downtime-limit", optarg,
                           &c.cfg.downtime_limit_ns)) {
                return EXIT_USAGE;
            }
            if (c.cfg.downtime_limit_ns < MS) {
                cli_error("--downtime-limit: at least 1ms");
                return EXIT_USAGE;
            }
            break;
        case O_CAP:
            if (c.cfg.n_caps == LAB_MAX_CAPS ||
                strlen(optarg) >= sizeof(c.cfg.caps[0])) {
                cli_error("--capability: too many or too long");
                return EXIT_USAGE;
            }
            snprintf(c.cfg.caps[c.cfg.n_caps++], sizeof(c.cfg.caps[0]), "%s",
                     optarg);
            break;
        case O_PARAM:
            if (c.cfg.n_params == LAB_MAX_PARAMS ||
                strlen(optarg) >= sizeof(c.cfg.params[0]) ||
                !strchr(optarg, '=')) {
                cli_error("--param: NAME=VALUE (at most %d, each < 80 "
                          "characters)",
                          LAB_MAX_PARAMS);
                return EXIT_USAGE;
            }
            snprintf(c.cfg.params[c.cfg.n_params++], sizeof(c.cfg.params[0]),
                     "%s", optarg);
            break;
        case O_TLIM:
            if (parse_time("time-limit", optarg, &c.cfg.time_limit_ns)) {
                return EXIT_USAGE;
            }
            break;
        case 'p':
            c.lo.policy = optarg;
            break;
        case O_APPLY:
            c.lo.apply = true;
            break;
        case O_TRACE:
            c.cfg.trace_path = optarg;
            break;
        case O_WORKDIR:
            c.cfg.workdir = optarg;
            break;
        case O_OBSERVER:
            c.cfg.observer = true;
            break;
        case 'h':
            usage_run(stdout);
            return EXIT_OK;
        default:
            usage_run(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (c.cfg.observer && !c.cfg.workdir) {
        cli_error("--observer needs --workdir (the socket is "
                  "DIR/src-observe.qmp)");
        return EXIT_USAGE;
    }
    if (c.lo.apply && !c.lo.policy) {
        cli_error("--apply needs --policy");
        return EXIT_USAGE;
    }
    if (c.cfg.ram_bytes % ((uint64_t)1 << 20) || c.cfg.ram_bytes == 0) {
        cli_error("--ram: a positive multiple of 1 MiB");
        return EXIT_USAGE;
    }
    live_signals_install();
    c.lo.stop = &live_stop_signal;
    c.lo.progress = c.quiet ? NULL : stderr;
    c.lo.command_line = cli_command_line();
    struct db *db = open_db(&c);
    if (!c.no_db && !db) {
        return EXIT_IO;
    }
    c.lo.db = db;
    struct lab_result r;
    char err[1024];
    int rc;
    if (lab_run(&c.cfg, &c.lo, &r, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        rc = live_stop_signal ? 128 + live_stop_signal : EXIT_EXTERNAL;
        lab_result_free(&r);
        db_close(db);
        return rc;
    }
    char diag[8192];
    diagnosis(&r, diag, sizeof(diag));
    if (live_session_close(&r.s, diag, err, sizeof(err)) != 0) {
        cli_error("%s", err);
    }
    if (r.s.error[0]) {
        cli_error("%s", r.s.error);
        if (r.s.run_id) {
            cli_error("run %" PRId64 " in %s is kept, marked incomplete",
                      r.s.run_id, db_path(db));
        }
    }
    if (r.dest_checked && !r.dest_ok) {
        cli_error("%s", r.dest_note);
    }
    if (c.fmt == CLI_FMT_JSON) {
        json_t *o = lab_json(&r);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        live_print_summary(stdout, &r.s);
        printf("guest write rate  %.2f MiB/s before, %.2f MiB/s during the "
               "migration (asked %.2f MiB/s)\n",
               r.guest_rate_bps / 1048576.0, r.mig_rate_bps / 1048576.0,
               (double)c.cfg.dirty_rate_bps / 1048576.0);
        if (r.trace_read) {
            printf("trace             %" PRIu64 " syncs, %.3f ms in syncs, "
                   "%" PRIu64 " pending queries%s%s\n",
                   r.trace_syncs, (double)r.trace_sync_ns / 1e6,
                   r.trace_pending, r.trace_path[0] ? ", kept in " : "",
                   r.trace_path);
        }
        if (r.dest_checked) {
            printf("destination       %s\n", r.dest_note);
        }
    }
    rc = exit_for(&r);
    lab_result_free(&r);
    db_close(db);
    return rc;
}

/* ---- validate ----------------------------------------------------------- */

static int lab_cmd_validate(int argc, char **argv);

int cmd_lab(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage_top(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0) {
        return lab_cmd_run(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "validate") == 0) {
        return lab_cmd_validate(argc - 1, argv + 1);
    }
    cli_error("lab: unknown subcommand '%s' (run or validate)", argv[1]);
    return EXIT_USAGE;
}

/* A comma-separated list of sizes, rates or times. */
#define GRID_MAX 16
enum list_kind { L_SIZE, L_RATE, L_TIME };

static int parse_list(const char *opt, const char *v, enum list_kind k,
                      uint64_t *out, size_t *n)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", v);
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (*n == GRID_MAX) {
            cli_error("--%s: at most %d values", opt, GRID_MAX);
            return -1;
        }
        int64_t ns;
        int r = k == L_SIZE   ? parse_size(opt, t, &out[*n])
                : k == L_RATE ? parse_rate(opt, t, &out[*n])
                              : parse_time(opt, t, &ns);
        if (r) {
            return -1;
        }
        if (k == L_TIME) {
            out[*n] = (uint64_t)ns;
        }
        (*n)++;
    }
    if (*n == 0) {
        cli_error("--%s: empty list", opt);
        return -1;
    }
    return 0;
}

struct vrow {
    uint64_t ws, rate, bw;
    int64_t dl;
    bool ran; /* the real run reached an outcome */
    char error[256];
    double guest_rate;
    enum run_outcome real, pred;
    uint64_t real_syncs, pred_syncs;
    int64_t real_total, pred_total, real_down, pred_down;
    long long real_id, sim_id;
};

static double rel_err(int64_t pred, int64_t real)
{
    return real > 0 ? ((double)pred - (double)real) / (double)real * 100.0
                    : NAN;
}

static bool is_conv(enum run_outcome o)
{
    return o == RUN_CONVERGED;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_table(FILE *f, const struct vrow *rows, size_t n,
                        bool markdown, const char *calib)
{
    if (markdown) {
        fprintf(f, "| working set | rate asked | rate real | max-bandwidth | "
                   "downtime-limit | outcome real / sim | syncs real / sim | "
                   "total real / sim (err) | downtime real / sim (err) |\n"
                   "|---|---|---|---|---|---|---|---|---|\n");
    } else {
        fprintf(f, "%-10s %-10s %-10s %-10s %-7s %-22s %-8s %-26s %s\n", "ws",
                "rate", "real rate", "bw", "limit", "outcome real / sim",
                "syncs", "total real / sim (err)", "downtime real / sim (err)");
    }
    for (size_t i = 0; i < n; i++) {
        const struct vrow *r = &rows[i];
        char ws[24], rate[24], grate[24], bw[24], dl[24], a[24], b[24], c[24],
            d[24];
        snprintf(ws, sizeof(ws), "%.0f MiB", (double)r->ws / 1048576.0);
        snprintf(rate, sizeof(rate), "%.1f MiB/s", (double)r->rate / 1048576.0);
        snprintf(grate, sizeof(grate), "%.2f MiB/s", r->guest_rate / 1048576.0);
        snprintf(bw, sizeof(bw), "%.1f MiB/s", (double)r->bw / 1048576.0);
        units_fmt_time(r->dl, dl, sizeof(dl));
        char oc[48], sy[32], tt[64], dt[64];
        if (!r->ran) {
            snprintf(oc, sizeof(oc), "error");
            sy[0] = tt[0] = dt[0] = '\0';
        } else {
            snprintf(oc, sizeof(oc), "%s / %s%s", run_outcome_name(r->real),
                     run_outcome_name(r->pred),
                     is_conv(r->real) == is_conv(r->pred) ? "" : " !!");
            snprintf(sy, sizeof(sy), "%" PRIu64 " / %" PRIu64, r->real_syncs,
                     r->pred_syncs);
            units_fmt_time(r->real_total, a, sizeof(a));
            units_fmt_time(r->pred_total, b, sizeof(b));
            units_fmt_time(r->real_down, c, sizeof(c));
            units_fmt_time(r->pred_down, d, sizeof(d));
            if (is_conv(r->real) && is_conv(r->pred)) {
                snprintf(tt, sizeof(tt), "%s / %s (%+.0f%%)", a, b,
                         rel_err(r->pred_total, r->real_total));
                snprintf(dt, sizeof(dt), "%s / %s (%+.0f%%)", c, d,
                         rel_err(r->pred_down, r->real_down));
            } else {
                snprintf(tt, sizeof(tt), "%s / %s", a, b);
                snprintf(dt, sizeof(dt), "-");
            }
        }
        if (markdown) {
            fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", ws,
                    rate, grate, bw, dl, oc, sy, tt, dt);
        } else {
            fprintf(f, "%-10s %-10s %-10s %-10s %-7s %-22s %-8s %-26s %s\n", ws,
                    rate, grate, bw, dl, oc, sy, tt, dt);
            if (r->error[0]) {
                fprintf(f, "    %s\n", r->error);
            }
        }
    }
    size_t agree = 0, ran = 0, nerr = 0;
    double *errs = calloc(n ? n : 1, sizeof(*errs));
    if (!errs) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].ran) {
            continue;
        }
        ran++;
        agree += is_conv(rows[i].real) == is_conv(rows[i].pred);
        if (is_conv(rows[i].real) && is_conv(rows[i].pred)) {
            errs[nerr++] =
                fabs(rel_err(rows[i].pred_total, rows[i].real_total));
        }
    }
    fprintf(f, "%s\nverdicts agree on %zu of %zu runs", markdown ? "" : "",
            agree, ran);
    if (nerr) {
        qsort(errs, nerr, sizeof(errs[0]), cmp_dbl);
        double med = nerr % 2 ? errs[nerr / 2]
                              : (errs[nerr / 2 - 1] + errs[nerr / 2]) / 2;
        fprintf(f, "; median total-time error %.1f%% over %zu converged runs",
                med, nerr);
    }
    fprintf(f, "\n%s%s\n", markdown ? "\n" : "", calib);
    free(errs);
}

static int lab_cmd_validate(int argc, char **argv)
{
    struct common c;
    common_init(&c);
    uint64_t ws[GRID_MAX], rate[GRID_MAX], bw[GRID_MAX], dl[GRID_MAX];
    size_t nws = 2, nrate = 2, nbw = 1, ndl = 1;
    ws[0] = (uint64_t)32 << 20;
    ws[1] = (uint64_t)64 << 20;
    rate[0] = (uint64_t)8 << 20;
    rate[1] = (uint64_t)64 << 20;
    bw[0] = (uint64_t)16 << 20;
    dl[0] = (uint64_t)(300 * MS);
    c.cfg.time_limit_ns = 30 * (int64_t)1000000000;
    bool calibrate = true;
    const char *md = NULL;
    static const struct option opts[] = {
        {"ram", required_argument, NULL, O_RAM},
        {"working-set", required_argument, NULL, O_WS},
        {"dirty-rate", required_argument, NULL, O_RATE},
        {"max-bandwidth", required_argument, NULL, O_BW},
        {"downtime-limit", required_argument, NULL, O_DL},
        {"time-limit", required_argument, NULL, O_TLIM},
        {"no-calibrate", no_argument, NULL, O_NOCAL},
        {"markdown", required_argument, NULL, O_MD},
        COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "q:f:h", opts, NULL)) != -1) {
        int h = common_opt(&c, opt, optarg);
        if (h < 0) {
            return EXIT_USAGE;
        }
        if (h > 0) {
            continue;
        }
        int r = 0;
        switch (opt) {
        case O_RAM:
            r = parse_size("ram", optarg, &c.cfg.ram_bytes);
            break;
        case O_WS:
            r = parse_list("working-set", optarg, L_SIZE, ws, &nws);
            break;
        case O_RATE:
            r = parse_list("dirty-rate", optarg, L_RATE, rate, &nrate);
            break;
        case O_BW:
            r = parse_list("max-bandwidth", optarg, L_RATE, bw, &nbw);
            break;
        case O_DL:
            r = parse_list("downtime-limit", optarg, L_TIME, dl, &ndl);
            break;
        case O_TLIM:
            r = parse_time("time-limit", optarg, &c.cfg.time_limit_ns);
            break;
        case O_NOCAL:
            calibrate = false;
            break;
        case O_MD:
            md = optarg;
            break;
        case 'h':
            usage_validate(stdout);
            return EXIT_OK;
        default:
            usage_validate(stderr);
            return EXIT_USAGE;
        }
        if (r) {
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (c.cfg.ram_bytes % ((uint64_t)1 << 20) || c.cfg.ram_bytes == 0) {
        cli_error("--ram: a positive multiple of 1 MiB");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < ndl; i++) {
        if (dl[i] < (uint64_t)MS) {
            cli_error("--downtime-limit: at least 1ms");
            return EXIT_USAGE;
        }
    }
    live_signals_install();
    c.lo.stop = &live_stop_signal;
    c.lo.progress = c.quiet ? NULL : stderr;
    c.lo.command_line = cli_command_line();
    struct db *db = open_db(&c);
    if (!c.no_db && !db) {
        return EXIT_IO;
    }
    c.lo.db = db;
    char err[1024];
    int rc = EXIT_OK;

    /* Calibration: bulk throughput of the migration thread on loopback and
     * the cost of one dirty-bitmap sync under TCG. */
    uint64_t link_bps = 0;
    int64_t sync_ns = 0;
    char calib[256] = "calibration: none (scenario defaults for link "
                      "bandwidth and sync cost)";
    if (calibrate) {
        struct lab_cfg k = c.cfg;
        k.working_set_bytes = c.cfg.ram_bytes / 2;
        k.dirty_rate_bps = (uint64_t)64 << 10;
        k.set_max_bandwidth = true;
        k.max_bandwidth_bps = 0;
        k.downtime_limit_ns = 0;
        if (c.lo.progress) {
            fprintf(c.lo.progress,
                    "calibration run: %" PRIu64 " MiB "
                    "working set, unlimited bandwidth\n",
                    k.working_set_bytes >> 20);
        }
        struct live_opts lo = c.lo;
        lo.db = NULL;
        struct lab_result r;
        if (lab_run(&k, &lo, &r, err, sizeof(err)) != 0) {
            cli_error("calibration: %s", err);
            lab_result_free(&r);
            db_close(db);
            return live_stop_signal ? 128 + live_stop_signal : EXIT_EXTERNAL;
        }
        live_session_close(&r.s, NULL, NULL, 0);
        for (size_t i = 0; i < r.s.res.n_samples; i++) {
            double b = r.s.res.samples[i].bandwidth_bps;
            if (b > (double)link_bps) {
                link_bps = (uint64_t)b;
            }
        }
        if (r.trace_syncs) {
            sync_ns = r.trace_sync_ns / (int64_t)r.trace_syncs;
        }
        bool ok = r.s.end == LIVE_END_OUTCOME &&
                  r.s.res.m.outcome == RUN_CONVERGED && link_bps > 0;
        lab_result_free(&r);
        if (!ok) {
            cli_error("calibration migration did not complete");
            db_close(db);
            return EXIT_EXTERNAL;
        }
        char lb[24], sc[24];
        snprintf(calib, sizeof(calib),
                 "calibration: link bandwidth %s (best 100 ms window, "
                 "unlimited run), sync cost %s (mean over its syncs)",
                 units_fmt_rate((double)link_bps, lb, sizeof(lb)),
                 units_fmt_time(sync_ns, sc, sizeof(sc)));
        if (c.lo.progress) {
            fprintf(c.lo.progress, "%s\n", calib);
        }
    }

    size_t n = nws * nrate * nbw * ndl, k = 0;
    struct vrow *rows = calloc(n, sizeof(*rows));
    if (!rows) {
        db_close(db);
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    for (size_t a = 0; a < nws; a++) {
        for (size_t b = 0; b < nrate; b++) {
            for (size_t d = 0; d < nbw; d++) {
                for (size_t e = 0; e < ndl; e++) {
                    struct vrow *v = &rows[k++];
                    v->ws = ws[a];
                    v->rate = rate[b];
                    v->bw = bw[d];
                    v->dl = (int64_t)dl[e];
                }
            }
        }
    }
    json_t *jrows = json_array();
    for (k = 0; k < n && !live_stop_signal; k++) {
        struct vrow *v = &rows[k];
        struct lab_cfg g = c.cfg;
        g.working_set_bytes = v->ws;
        g.dirty_rate_bps = v->rate;
        g.set_max_bandwidth = true;
        g.max_bandwidth_bps = v->bw;
        g.downtime_limit_ns = v->dl;
        if (c.lo.progress) {
            fprintf(c.lo.progress,
                    "\n== run %zu of %zu: working set %" PRIu64
                    " MiB, rate %" PRIu64 " B/s, "
                    "max-bandwidth %" PRIu64 " B/s, "
                    "downtime-limit %" PRId64 " ms\n",
                    k + 1, n, v->ws >> 20, v->rate, v->bw, v->dl / MS);
        }
        struct lab_result r;
        if (lab_run(&g, &c.lo, &r, err, sizeof(err)) != 0) {
            snprintf(v->error, sizeof(v->error), "%.250s", err);
            lab_result_free(&r);
            rc = EXIT_EXTERNAL;
            continue;
        }
        char diag[8192];
        diagnosis(&r, diag, sizeof(diag));
        live_session_close(&r.s, diag, NULL, 0);
        /* Simulate the workload the guest really ran: its mean write rate
         * during the migration (TCG shares the CPUs with the migration
         * thread and whatever else runs), else the rate before it. */
        v->guest_rate = r.mig_rate_bps > 0 ? r.mig_rate_bps : r.guest_rate_bps;
        v->real_id = r.s.run_id;
        if (r.s.end != LIVE_END_OUTCOME) {
            snprintf(v->error, sizeof(v->error), "%.250s", r.s.error);
            lab_result_free(&r);
            rc = EXIT_EXTERNAL;
            continue;
        }
        const struct run_metrics *m = &r.s.res.m;
        v->real = m->outcome;
        v->real_syncs = m->bitmap_syncs;
        v->real_total = m->total_ns;
        v->real_down = m->src_downtime_ns;
        /* The same migration in the model: the lab's scenario with the
         * measured guest rate and zero fraction, plus the calibration. */
        char *sj = lab_scenario_json(&g, r.s.res.m.qemu, v->guest_rate,
                                     r.zero_fraction);
        struct scn_doc *doc =
            sj ? scn_doc_parse(sj, "lab validate", err, sizeof(err)) : NULL;
        char set[128];
        int sr = doc ? 0 : -1;
        if (doc && link_bps) {
            snprintf(set, sizeof(set),
                     "migration.link_bandwidth=%" PRIu64 "B/s", link_bps);
            sr = scn_doc_set(doc, set, err, sizeof(err));
        }
        if (doc && sr == 0 && sync_ns > 0) {
            snprintf(set, sizeof(set), "migration.sync_cost=%" PRId64 "ns",
                     sync_ns);
            sr = scn_doc_set(doc, set, err, sizeof(err));
            if (sr == 0) {
                sr = scn_doc_set(doc, "migration.sync_cost_per_gib=0ns", err,
                                 sizeof(err));
            }
        }
        struct scenario sc;
        struct run_result sim;
        run_result_init(&sim);
        struct mig_options mo;
        mig_options_default(&mo);
        if (sr == 0 && scn_resolve(doc, &sc, err, sizeof(err)) == 0 &&
            mig_simulate(&sc, "qemu", &mo, &sim, err, sizeof(err)) == 0) {
            v->ran = true;
            v->pred = sim.m.outcome;
            v->pred_syncs = sim.m.bitmap_syncs;
            v->pred_total = sim.m.total_ns;
            v->pred_down = sim.m.src_downtime_ns;
            if (db) {
                struct db_run_meta meta;
                char *dj = scn_doc_json(doc);
                char src[64];
                snprintf(src, sizeof(src), "lab validate (real run %lld)",
                         v->real_id);
                db_run_meta_build(&meta, &(struct db_run_origin){
                                             .kind = DB_KIND_SIM,
                                             .scenario_json = dj,
                                             .source_path = src,
                                             .qemu = scn_qemu_name(sc.qemu),
                                             .policy = "qemu",
                                             .seed = sc.seed,
                                             .command_line = cli_command_line(),
                                             .fingerprint = sim.m.fingerprint,
                                         });
                int64_t id = 0;
                if (db_run_save(db, &meta, &sim, &id, err, sizeof(err)) == 0) {
                    v->sim_id = id;
                } else {
                    cli_warn("store: %s", err);
                }
                free(dj);
            }
        } else {
            snprintf(v->error, sizeof(v->error), "simulation: %.230s", err);
        }
        json_t *jr = json_pack(
            "{s:I, s:I, s:I, s:I, s:f, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
            "s:I, s:o, s:o}",
            "working_set", (json_int_t)v->ws, "dirty_rate", (json_int_t)v->rate,
            "max_bandwidth", (json_int_t)v->bw, "downtime_limit_ns",
            (json_int_t)v->dl, "guest_rate_bps", v->guest_rate, "real_outcome",
            run_outcome_name(v->real), "sim_outcome",
            v->ran ? run_outcome_name(v->pred) : "error", "real_syncs",
            (json_int_t)v->real_syncs, "sim_syncs", (json_int_t)v->pred_syncs,
            "real_total_ns", (json_int_t)v->real_total, "sim_total_ns",
            (json_int_t)v->pred_total, "real_downtime_ns",
            (json_int_t)v->real_down, "sim_downtime_ns",
            (json_int_t)v->pred_down, "real_run",
            v->real_id ? json_integer(v->real_id) : json_null(), "sim_run",
            v->sim_id ? json_integer(v->sim_id) : json_null());
        json_array_append_new(jrows, jr);
        run_result_free(&sim);
        scn_doc_free(doc);
        free(sj);
        lab_result_free(&r);
    }
    if (live_stop_signal) {
        cli_error("interrupted after %zu of %zu runs", k, n);
        n = k;
        rc = 128 + live_stop_signal;
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i].ran && is_conv(rows[i].real) != is_conv(rows[i].pred) &&
            rc == EXIT_OK) {
            rc = EXIT_NO;
        }
    }
    if (c.fmt == CLI_FMT_JSON) {
        json_t *o = json_pack("{s:o, s:I, s:I, s:s}", "runs", jrows,
                              "link_bandwidth_bps", (json_int_t)link_bps,
                              "sync_cost_ns", (json_int_t)sync_ns,
                              "calibration", calib);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        json_decref(jrows);
        putchar('\n');
        print_table(stdout, rows, n, false, calib);
    }
    if (md) {
        FILE *f = fopen(md, "w");
        if (!f) {
            cli_error("%s: cannot write", md);
            rc = rc == EXIT_OK ? EXIT_IO : rc;
        } else {
            print_table(f, rows, n, true, calib);
            fclose(f);
        }
    }
    free(rows);
    db_close(db);
    return rc;
}
