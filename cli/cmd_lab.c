/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_lab.c — `migsim lab run` (one real migration between two TCG
 * QEMUs on this machine, recorded as a live run) and `migsim lab validate`
 * (a grid of real runs, each simulated with the qemu model from the same
 * parameters, real against predicted).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/err.h"
#include "live/lab.h"
#include "live/lab_validate.h"
#include "live/live.h"
#include "model/mig.h"
#include "run/qmp_params.h"
#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"

#define MS ((int64_t)1000000)

static void usage_top(FILE *f)
{
    fprintf(f, "Usage: migsim lab run [options]\n"
               "       migsim lab validate [options]\n"
               "       migsim lab qemus\n\n"
               "Real QEMU migrations on this machine: two QEMUs (TCG or KVM, "
               "-machine pc) on\nloopback booting migsim's own test guest, "
               "which writes one byte per 4 KiB\npage over a working set at "
               "a known rate.  'run' migrates once and records\nthe run; "
               "'validate' runs a grid and compares each run with the "
               "simulator.\n'migsim lab run --help' and 'migsim lab validate "
               "--help' list the options.\n");
    cli_print_exit_codes(f);
}

static const char common_after[] =
    "Sizes take B, KiB, MiB, GiB ...; rates B/s, MiB/s, Gbit/s ...; "
    "times ms, s, min.\nMIGSIM_QMP_LOG=FILE appends all QMP traffic "
    "to FILE.\n";

static const char run_usage[] =
    "Usage: migsim lab run [options]\n\n"
    "Boot the test guest in a source and a destination QEMU, set the "
    "migration\ncapabilities and parameters, migrate over "
    "tcp:127.0.0.1, sample query-migrate,\nrecord the run (kind "
    "live) and stop every process it started, also on error\nand on "
    "Ctrl-C.\n\n";

static const char run_after[] =
    "\nJSON output: the live run record of 'migsim live' plus "
    "\"lab\": {\"guest_rate_bps\",\n\"mig_rate_bps\", \"dest_ok\", "
    "\"dest_note\", "
    "\"trace_syncs\", \"trace_sync_ns\", \"zero_fraction\",\n"
    "\"scenario\", \"workdir\"}.\n"
    "\nExit status 1: the migration did not converge (timeout, "
    "failed, cancelled).\nExit status 5: QEMU failed to start or "
    "died, or the destination did not run\nthe guest.  130: "
    "interrupted (everything cleaned up, run kept incomplete).\n";

static const char validate_usage[] =
    "Usage: migsim lab validate [options]\n\n"
    "Run a grid of real migrations and simulate each with the "
    "simulator's model\nof the QEMU found (7.2 on Debian 12) from "
    "the same parameters: guest RAM,\nworking set, the guest's "
    "measured write rate during the migration,\nmax-bandwidth, "
    "downtime-limit.  Prints per run the "
    "real and predicted outcome, dirty syncs, total time and\n"
    "downtime with the error, then the verdict agreement and the "
    "median total-time\nerror.  Before the grid one calibration "
    "migration (idle 256 MiB working set,\nunlimited bandwidth) "
    "measures what the model then uses: the sender's ceiling\n(its "
    "best 100 ms window), the sync cost (the median of its syncs), the "
    "setup\ntime, and from its trace the VM stop and the non-iterable "
    "save.\n\n";

static const char validate_after[] = "\nExit status 1: a verdict disagrees.\n";

/* ---- option values ------------------------------------------------------ */

/* One cli_opt: name, short key, kind, destination, argument name, help;
 * then extra fields (ZERO_OK: a time of 0 is accepted). */
#define OPT(n, k, t, d, a, ...)                                                \
    {                                                                          \
        .name = (n), .key = (k), .kind = (t), .dst = (d), .arg = (a),          \
        .help = __VA_ARGS__                                                    \
    }
#define ZERO_OK .zero_ok = true
#define CALL(n, a, f, c, ...)                                                  \
    {                                                                          \
        .name = (n), .kind = CLI_CALL, .arg = (a), .fn = (f), .ctx = (c),      \
        .help = __VA_ARGS__                                                    \
    }

/* A rate, or "0" (unlimited / idle). */
static int opt_rate0(const char *arg, void *ctx, char *err, size_t errlen)
{
    if (strcmp(arg, "0") == 0) {
        *(uint64_t *)ctx = 0;
        return 0;
    }
    return units_parse_rate(arg, (uint64_t *)ctx, err, errlen);
}

static int opt_pause(const char *arg, void *ctx, char *err, size_t errlen)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end || v == 0 || v > 0xffffffffUL) {
        err_set(err, errlen, "a count from 1 to 4294967295");
        return -1;
    }
    *(uint32_t *)ctx = (uint32_t)v;
    return 0;
}

static int opt_smp(const char *arg, void *ctx, char *err, size_t errlen)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end || v == 0 || v > 64) {
        err_set(err, errlen, "a count from 1 to 64");
        return -1;
    }
    *(unsigned *)ctx = (unsigned)v;
    return 0;
}

static int opt_ring(const char *arg, void *ctx, char *err, size_t errlen)
{
    char *end;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end || v < 1024 || v > 65536 || (v & (v - 1))) {
        err_set(err, errlen,
                "a power of 2 from 1024 to 65536 (KVM's limit "
                "here)");
        return -1;
    }
    *(uint32_t *)ctx = (uint32_t)v;
    return 0;
}

static int opt_cap(const char *arg, void *ctx, char *err, size_t errlen)
{
    struct lab_cfg *c = ctx;
    if (c->n_caps == LAB_MAX_CAPS || strlen(arg) >= sizeof(c->caps[0])) {
        err_set(err, errlen, "too many or too long");
        return -1;
    }
    snprintf(c->caps[c->n_caps++], sizeof(c->caps[0]), "%s", arg);
    return 0;
}

static int opt_param(const char *arg, void *ctx, char *err, size_t errlen)
{
    struct lab_cfg *c = ctx;
    if (c->n_params == LAB_MAX_PARAMS || strlen(arg) >= sizeof(c->params[0]) ||
        !strchr(arg, '=')) {
        err_set(err, errlen, "NAME=VALUE (at most %d, each < 80 characters)",
                LAB_MAX_PARAMS);
        return -1;
    }
    snprintf(c->params[c->n_params++], sizeof(c->params[0]), "%s", arg);
    return 0;
}

/* A comma-separated list of sizes, rates or times (lab validate). */
enum list_kind { L_SIZE, L_RATE, L_TIME };
struct list_ctx {
    enum list_kind kind;
    uint64_t *out;
    size_t *n;
};

static int opt_list(const char *arg, void *ctx, char *err, size_t errlen)
{
    const struct list_ctx *l = ctx;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", arg);
    *l->n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (*l->n == LAB_GRID_MAX) {
            err_set(err, errlen, "at most %d values", LAB_GRID_MAX);
            return -1;
        }
        uint64_t *v = &l->out[*l->n];
        int64_t ns = 0;
        int r = l->kind == L_SIZE   ? units_parse_size(t, v, err, errlen)
                : l->kind == L_RATE ? opt_rate0(t, v, err, errlen)
                                    : units_parse_time(t, 0, &ns, err, errlen);
        if (r) {
            return -1;
        }
        if (l->kind == L_TIME) {
            if (ns < 0) {
                err_set(err, errlen, "'%s' must be >= 0", t);
                return -1;
            }
            *v = (uint64_t)ns;
        }
        (*l->n)++;
    }
    if (*l->n == 0) {
        err_set(err, errlen, "empty list");
        return -1;
    }
    return 0;
}

/* ---- options both subcommands take ------------------------------------- */

struct common {
    struct lab_cfg cfg;
    struct live_opts lo;
    const char *db_path;
    bool no_db;
    enum cli_format fmt;
    bool quiet;
};

#define COMMON_OPTS(c)                                                         \
    OPT("qemu", 0, CLI_STR, &(c)->cfg.qemu, "VERSION|BIN",                     \
        "QEMU: a name or version 'migsim lab qemus' lists\n"                   \
        "(system, 10.0, 7.2 ...) or a binary (default\n"                       \
        "$MIGSIM_QEMU or qemu-system-x86_64)"),                                \
        OPT("accel", 0, CLI_STR, &(c)->cfg.accel, "kvm|tcg|auto",              \
            "accelerator (default tcg; auto: KVM when /dev/kvm\n"              \
            "is usable, said in the output)"),                                 \
        OPT("cpu", 0, CLI_STR, &(c)->cfg.cpu, "MODEL",                         \
            "-cpu MODEL (default QEMU's; -cpu host aborts here:\n"             \
            "use host,-arch-capabilities)"),                                   \
        CALL("smp", "N", opt_smp, &(c)->cfg.smp, "vCPUs (default 1)"),         \
        CALL("dirty-ring", "N", opt_ring, &(c)->cfg.dirty_ring,                \
             "KVM dirty ring of N entries (power of 2, 1024-65536;\n"          \
             "dirty-limit needs it)"),                                         \
        OPT("guest", 0, CLI_STR, &(c)->cfg.guest, "FILE",                      \
            "guest image (default: next to the binary, guest/guest.bin)"),     \
        OPT("boot-timeout", 0, CLI_TIME, &(c)->cfg.boot_timeout_ns, "T",       \
            "wait this long for the guest (default 60s)", ZERO_OK),            \
        OPT("settle", 0, CLI_TIME, &(c)->cfg.settle_ns, "T",                   \
            "measure the guest's write rate this long (default 1s)", ZERO_OK), \
        OPT("interval", 0, CLI_TIME, &(c)->lo.interval_ns, "T",                \
            "query-migrate polling period (default 100ms)", ZERO_OK),          \
        OPT("db", 0, CLI_STR, &(c)->db_path, "FILE",                           \
            "store runs in FILE (default $MIGSIM_DB or ./migsim.db)"),         \
        OPT("no-db", 0, CLI_FLAG, &(c)->no_db, NULL, "do not store runs"),     \
        OPT("format", 'f', CLI_FORMAT, &(c)->fmt, "FMT",                       \
            "table (default) or json"),                                        \
        OPT("quiet", 0, CLI_FLAG, &(c)->quiet, NULL,                           \
            "no progress lines on stderr")

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

/* Parse with spec, then the checks both subcommands share: -1 to go on,
 * or the exit code. */
static int parse_common(const struct cli_spec *spec, int argc, char **argv,
                        struct common *c)
{
    int argi;
    int rc = cli_parse(spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (argi < argc) {
        cli_error("unexpected argument '%s'", argv[argi]);
        return EXIT_USAGE;
    }
    if (c->lo.interval_ns < 10 * MS) {
        cli_error("--interval: at least 10ms");
        return EXIT_USAGE;
    }
    if (c->fmt == CLI_FMT_CSV) {
        cli_error("--format: table or json");
        return EXIT_USAGE;
    }
    if (c->cfg.accel && strcmp(c->cfg.accel, "kvm") != 0 &&
        strcmp(c->cfg.accel, "tcg") != 0 && strcmp(c->cfg.accel, "auto") != 0) {
        cli_error("--accel: kvm, tcg or auto");
        return EXIT_USAGE;
    }
    if (c->cfg.ram_bytes % ((uint64_t)1 << 20) || c->cfg.ram_bytes == 0) {
        cli_error("--ram: a positive multiple of 1 MiB");
        return EXIT_USAGE;
    }
    return -1;
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
    json_t *lab = json_object_get(o, "lab");
    json_object_set_new(lab, "accel", json_string(r->accel));
    json_object_set_new(lab, "accel_note", json_string(r->accel_note));
    json_object_set_new(lab, "qemu_binary", json_string(r->qemu_bin));
    json_object_set_new(lab, "trace_exact",
                        json_integer((json_int_t)r->trace_exact));
    json_object_set_new(lab, "trace_events",
                        json_integer((json_int_t)r->trace_events));
    json_object_set_new(lab, "postcopy_started",
                        json_boolean(r->postcopy_started));
    json_object_set_new(lab, "continued", json_boolean(r->continued));
    return o;
}

static void warn_cb(const char *msg)
{
    cli_warn("%s", msg);
}

/* Signals, progress, command line and the store for a lab command; -1 if
 * the store cannot be opened. */
static int start(struct common *c, struct db **db)
{
    *db = NULL;
    /* a missing input file is exit 4 in every command (cli_input_rc) */
    if (c->cfg.guest && access(c->cfg.guest, R_OK) != 0) {
        cli_error("guest image %s: %s", c->cfg.guest, strerror(errno));
        return -1;
    }
    live_signals_install();
    c->lo.stop = &live_stop_signal;
    c->lo.progress = c->quiet ? NULL : stderr;
    c->lo.command_line = cli_command_line();
    *db = open_db(c);
    if (!c->no_db && !*db) {
        return -1;
    }
    c->lo.db = *db;
    return 0;
}

static int check_downtime_limit(int64_t ns)
{
    char err[256];
    if (qmp_downtime_limit_check("--downtime-limit", ns, true, err,
                                 sizeof(err))) {
        cli_error("%s", err);
        return -1;
    }
    return 0;
}

/* ---- run ---------------------------------------------------------------- */

/* -1 to go on, or the exit code. */
static int run_opts(int argc, char **argv, struct common *c)
{
    struct lab_cfg *g = &c->cfg;
    bool dl_given = false;
    const struct cli_opt opts[] = {
        OPT("ram", 0, CLI_SIZE, &g->ram_bytes, "SIZE",
            "guest RAM (default 512MiB)"),
        OPT("working-set", 0, CLI_SIZE, &g->working_set_bytes, "SIZE",
            "pages the guest writes, from 1 MiB up (default 64MiB)"),
        CALL("dirty-rate", "RATE", opt_rate0, &g->dirty_rate_bps,
             "page writes x 4 KiB per second (default 4MiB/s; 0 = idle)"),
        CALL("pause-loops", "N", opt_pause, &g->pause_loops,
             "pace by a busy loop of N iterations instead of the\n"
             "PM timer (rate then depends on TCG speed; measured)"),
        CALL("max-bandwidth", "R", opt_rate0, &g->max_bandwidth_bps,
             "migrate-set-parameters max-bandwidth (0 = unlimited;\n"
             "default QEMU's 128MiB/s)",
             .given = &g->set_max_bandwidth),
        OPT("downtime-limit", 0, CLI_TIME, &g->downtime_limit_ns, "T",
            "downtime-limit (default QEMU's 300ms)", .given = &dl_given),
        CALL("capability", "NAME", opt_cap, g,
             "turn a migration capability on (repeatable),\n"
             "e.g. auto-converge"),
        CALL("param", "NAME=VALUE", opt_param, g,
             "any other migrate-set-parameters value (repeatable)"),
        OPT("time-limit", 0, CLI_TIME, &g->time_limit_ns, "T",
            "cancel the migration after T (outcome timeout;\n"
            "default 120s)",
            ZERO_OK),
        OPT("policy", 'p', CLI_CALL, NULL, "SPEC",
            "run a policy over the migration (see 'migsim policies')",
            .fn = cli_policy_fn, .ctx = &c->lo.policy),
        OPT("apply", 0, CLI_FLAG, &c->lo.apply, NULL,
            "carry out the policy's changes (default: advise)"),
        OPT("postcopy-after", 0, CLI_TIME, &g->postcopy_after_ns, "T",
            "migrate-start-postcopy T after migrate (needs\n"
            "--capability postcopy-ram)"),
        OPT("trace", 0, CLI_STR, &g->trace_path, "FILE",
            "keep the source's trace log in FILE (default: a\n"
            "temporary file, read and removed)"),
        OPT("workdir", 0, CLI_STR, &g->workdir, "DIR",
            "use DIR for sockets, logs, pid files (src.pid, dst.pid)\n"
            "instead of a private temporary directory"),
        OPT("observer", 0, CLI_FLAG, &g->observer, NULL,
            "open a second source QMP socket, DIR/src-observe.qmp,\n"
            "for 'migsim live --qmp' (needs --workdir)"),
        COMMON_OPTS(c),
    };
    char after[sizeof(common_after) + sizeof(run_after)];
    snprintf(after, sizeof(after), "%s%s", common_after, run_after);
    const struct cli_spec spec = {
        "lab run", run_usage, NULL, opts, sizeof(opts) / sizeof(opts[0]),
        after};
    int rc = parse_common(&spec, argc, argv, c);
    if (rc >= 0) {
        return rc;
    }
    if (dl_given && check_downtime_limit(g->downtime_limit_ns)) {
        return EXIT_USAGE;
    }
    if (g->observer && !g->workdir) {
        cli_error("--observer needs --workdir (the socket is "
                  "DIR/src-observe.qmp)");
        return EXIT_USAGE;
    }
    if (c->lo.apply && !c->lo.policy) {
        cli_error("--apply needs --policy");
        return EXIT_USAGE;
    }
    return -1;
}

static void print_run(const struct common *c, const struct lab_result *r)
{
    if (c->fmt == CLI_FMT_JSON) {
        json_t *o = lab_json(r);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(o);
        return;
    }
    live_print_summary(stdout, &r->s);
    printf("guest write rate  %.2f MiB/s before, %.2f MiB/s during the "
           "migration (asked %.2f MiB/s)\n",
           r->guest_rate_bps / 1048576.0, r->mig_rate_bps / 1048576.0,
           (double)c->cfg.dirty_rate_bps / 1048576.0);
    printf("accelerator       %s\n", r->accel_note);
    if (r->trace_read) {
        printf("trace             %" PRIu64 " syncs, %.3f ms in syncs, "
               "%" PRIu64 " pending queries (estimate), %" PRIu64
               " exact, %u events enabled%s%s\n",
               r->trace_syncs, (double)r->trace_sync_ns / 1e6, r->trace_pending,
               r->trace_exact, r->trace_events,
               r->trace_path[0] ? ", kept in " : "", r->trace_path);
    }
    if (r->dest_checked) {
        printf("destination       %s\n", r->dest_note);
    }
}

static int lab_cmd_run(int argc, char **argv)
{
    struct common c;
    common_init(&c);
    int rc = run_opts(argc, argv, &c);
    if (rc >= 0) {
        return rc;
    }
    struct db *db;
    if (start(&c, &db)) {
        return EXIT_IO;
    }
    struct lab_result r;
    char err[1024];
    if (lab_run(&c.cfg, &c.lo, &r, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        rc = live_stop_signal ? 128 + live_stop_signal : EXIT_EXTERNAL;
        lab_result_free(&r);
        db_close(db);
        return rc;
    }
    char diag[8192];
    lab_diagnosis(&r, diag, sizeof(diag));
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
    print_run(&c, &r);
    rc = exit_for(&r);
    lab_result_free(&r);
    db_close(db);
    return rc;
}

/* ---- validate ----------------------------------------------------------- */

static int lab_cmd_validate(int argc, char **argv);

/* ---- qemus -------------------------------------------------------------- */

static const char qemus_usage[] =
    "Usage: migsim lab qemus [--format json]\n\n"
    "List the QEMUs 'lab' and 'live' can use with --qemu NAME: the system "
    "one\n(qemu-system-x86_64 on PATH), the project's 10.0 "
    "($MIGSIM_QEMU10_PREFIX or\n/opt/migsim/qemu-10.0, installed by "
    "scripts/qemu10.sh) and every\nMIGSIM_QEMU_<X>_<Y>=BINARY, each "
    "started once (paused, no guest) to read its\nversion "
    "(query-version) and whether KVM works with it (query-kvm, when\n"
    "/dev/kvm is usable).\n\n";

static int lab_cmd_qemus(int argc, char **argv)
{
    enum cli_format fmt = CLI_FMT_TABLE;
    const struct cli_opt opts[] = {
        OPT("format", 'f', CLI_FORMAT, &fmt, "FMT", "table (default) or json"),
    };
    const struct cli_spec spec = {
        "lab qemus", qemus_usage, NULL,
        opts,        1,           "\nExit status 5: no QEMU found.\n"};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (argi < argc) {
        cli_error("unexpected argument '%s'", argv[argi]);
        return EXIT_USAGE;
    }
    struct lab_qemu q[16];
    size_t n = lab_qemus(q, 16);
    char why[160];
    bool kvm = lab_kvm_usable(why, sizeof(why));
    json_t *arr = json_array();
    if (fmt != CLI_FMT_JSON) {
        printf("%-8s %-9s %-4s %-s\n", "NAME", "VERSION", "KVM", "BINARY");
    }
    for (size_t i = 0; i < n; i++) {
        struct lab_qemu_info info;
        char err[512] = "";
        int pr = lab_qemu_probe(q[i].path, kvm, &info, err, sizeof(err));
        const char *k = pr ? "?" : info.kvm_enabled ? "yes" : "no";
        if (fmt == CLI_FMT_JSON) {
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "name",
                               q[i].name, "binary", q[i].path, "origin",
                               q[i].origin, "version", pr ? "" : info.version,
                               "package", pr ? "" : info.package, "kvm",
                               pr == 0 && info.kvm_enabled, "error", err));
        } else {
            printf("%-8s %-9s %-4s %s (%s)%s%s\n", q[i].name,
                   pr ? "?" : info.version, k, q[i].path, q[i].origin,
                   pr ? ": " : "", pr ? err : "");
        }
    }
    if (fmt == CLI_FMT_JSON) {
        json_t *o = json_pack("{s:o, s:b, s:s}", "qemus", arr, "kvm_usable",
                              kvm, "kvm_note", why);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        json_decref(arr);
        printf("KVM: %s\n", why);
    }
    return n ? EXIT_OK : EXIT_EXTERNAL;
}

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
    if (strcmp(argv[1], "qemus") == 0) {
        return lab_cmd_qemus(argc - 1, argv + 1);
    }
    cli_error("lab: unknown subcommand '%s' (run, validate or qemus)", argv[1]);
    return EXIT_USAGE;
}

/* Options of lab validate: -1 to go on, or the exit code. */
static int validate_opts(int argc, char **argv, struct common *c,
                         struct lab_validate_opts *v, const char **md)
{
    uint64_t dl[LAB_GRID_MAX];
    size_t ndl = 0;
    bool no_cal = false;
    struct list_ctx lws = {L_SIZE, v->ws, &v->nws},
                    lrate = {L_RATE, v->rate, &v->nrate},
                    lbw = {L_RATE, v->bw, &v->nbw}, ldl = {L_TIME, dl, &ndl};
    const struct cli_opt opts[] = {
        OPT("ram", 0, CLI_SIZE, &c->cfg.ram_bytes, "SIZE", "(default 512MiB)"),
        CALL("working-set", "LIST", opt_list, &lws, "(default 32MiB,64MiB)"),
        CALL("dirty-rate", "LIST", opt_list, &lrate,
             "(default 8MiB/s,64MiB/s)"),
        CALL("max-bandwidth", "LIST", opt_list, &lbw, "(default 16MiB/s)"),
        CALL("downtime-limit", "LIST", opt_list, &ldl, "(default 300ms)"),
        OPT("time-limit", 0, CLI_TIME, &c->cfg.time_limit_ns, "T",
            "per run (default 30s)", ZERO_OK),
        OPT("no-calibrate", 0, CLI_FLAG, &no_cal, NULL,
            "use the scenario default link bandwidth"),
        OPT("calibrate", 0, CLI_FLAG, &v->fit_half, NULL,
            "fit a calibration ('migsim calibrate') on half the\n"
            "grid, simulate the other half with it; both tables"),
        OPT("markdown", 0, CLI_STR, md, "FILE",
            "also write the table as Markdown"),
        COMMON_OPTS(c),
    };
    char after[sizeof(common_after) + sizeof(validate_after)];
    snprintf(after, sizeof(after), "%s%s", common_after, validate_after);
    const struct cli_spec spec = {
        "lab validate",
        validate_usage,
        "Grid (each a comma-separated list; every combination runs):",
        opts,
        sizeof(opts) / sizeof(opts[0]),
        after};
    int rc = parse_common(&spec, argc, argv, c);
    if (rc >= 0) {
        return rc;
    }
    v->calibrate = !no_cal;
    if (ndl == 0) {
        return -1; /* the default limit */
    }
    v->ndl = ndl;
    for (size_t i = 0; i < ndl; i++) {
        v->dl[i] = (int64_t)dl[i];
        if (check_downtime_limit(v->dl[i])) {
            return EXIT_USAGE;
        }
    }
    return -1;
}

static int lab_cmd_validate(int argc, char **argv)
{
    struct common c;
    common_init(&c);
    struct lab_validate_opts v;
    lab_validate_opts_default(&v);
    c.cfg.time_limit_ns = v.cfg.time_limit_ns;
    const char *md = NULL;
    int pr = validate_opts(argc, argv, &c, &v, &md);
    if (pr >= 0) {
        return pr;
    }
    struct db *db;
    if (start(&c, &db)) {
        return EXIT_IO;
    }
    v.cfg = c.cfg;
    v.lo = c.lo;
    v.warn = warn_cb;
    struct lab_validate_result r;
    char err[1024];
    if (lab_validate(&v, &r, err, sizeof(err)) != 0) {
        cli_error("%s", err);
        lab_validate_result_free(&r);
        db_close(db);
        return live_stop_signal                    ? 128 + live_stop_signal
               : strcmp(err, "out of memory") == 0 ? EXIT_INTERNAL
                                                   : EXIT_EXTERNAL;
    }
    int rc = r.run_failed ? EXIT_EXTERNAL : EXIT_OK;
    if (r.interrupted) {
        cli_error("interrupted after %zu of %zu runs", r.n_rows, r.n_planned);
        rc = 128 + live_stop_signal;
    }
    if (r.disagree && rc == EXIT_OK) {
        rc = EXIT_NO;
    }
    if (c.fmt == CLI_FMT_JSON) {
        json_t *o = lab_validate_json(&r);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        putchar('\n');
        lab_validate_print(stdout, &r, false);
        if (v.fit_half && r.fit_rows) {
            lab_fit_print(stdout, &r);
        }
    }
    if (md) {
        FILE *f = fopen(md, "w");
        if (!f) {
            cli_error("%s: cannot write", md);
            rc = rc == EXIT_OK ? EXIT_IO : rc;
        } else {
            lab_validate_print(f, &r, true);
            fclose(f);
        }
    }
    lab_validate_result_free(&r);
    db_close(db);
    return rc;
}
