/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_live.c — `migsim live --qmp SOCKET`: attach to a QEMU that is
 * migrating (or about to), sample query-migrate, record the run, show what a
 * policy advises and, with --apply, carry it out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "live/lab.h"
#include "live/live.h"
#include "live/qmp.h"
#include "base/units.h"
#include "store/db.h"

#define MS ((int64_t)1000000)

/* One cli_opt: name, short key, kind, destination, argument name, help;
 * then extra fields (ZERO_OK: a time of 0 is accepted). */
#define OPT(n, k, t, d, a, ...)                                                \
    {                                                                          \
        .name = (n), .key = (k), .kind = (t), .dst = (d), .arg = (a),          \
        .help = __VA_ARGS__                                                    \
    }
#define ZERO_OK .zero_ok = true

static const char usage_text[] =
    "Usage: migsim live --qmp SOCKET [options]\n\n"
    "Attach to the QMP monitor of a QEMU that is migrating or about "
    "to (the\nsource side), poll query-migrate, record the run (kind "
    "live) and show live\nwhether it converges at the current rates "
    "(\"will not converge at this rate;\nneeds >= X ms\") and what "
    "the policy advises.  With --apply the policy's\nchanges are "
    "carried out (migrate-set-parameters, migrate-start-postcopy,\n"
    "stop, migrate_cancel) and each is printed.\n\n";

static const char after_text[] =
    "MIGSIM_QMP_LOG=FILE appends all QMP traffic to FILE.  Faults "
    "(QEMU exiting,\nthe socket closing, malformed or oversized "
    "replies, a failed migration)\nend with a message; the run keeps "
    "what was observed (marked incomplete\nunless QEMU reported an "
    "outcome).\n"
    "\nExit status 1: the migration failed or was cancelled, or "
    "ended unobserved\n(--wait, --time-limit).  3: repeated malformed "
    "QMP replies.  4: cannot\nconnect.  5: QEMU went away during the "
    "migration.  130/143: interrupted.\n";

struct live_args {
    struct live_opts o;
    const char *addr, *db_file;
    const char *qemu, *accel; /* expected (live starts nothing) */
    bool no_db, quiet;
    enum cli_format fmt;
};

/* -1 to go on, or the exit code to return now. */
static int parse_args(int argc, char **argv, struct live_args *a)
{
    memset(a, 0, sizeof(*a));
    live_opts_default(&a->o);
    a->db_file = getenv("MIGSIM_DB");
    if (!a->db_file || !*a->db_file) {
        a->db_file = DB_DEFAULT_PATH;
    }
    a->fmt = CLI_FMT_TABLE;
    const struct cli_opt opts[] = {
        OPT("qmp", 0, CLI_STR, &a->addr, "ADDR",
            "QMP socket: PATH, unix:PATH, tcp:HOST:PORT or HOST:PORT"),
        OPT("qemu", 0, CLI_STR, &a->qemu, "VERSION|BIN",
            "the QEMU expected at the socket: a version (10.0,\n"
            "7.2.22), a name 'migsim lab qemus' lists or a binary\n"
            "(its --version); a different QEMU is refused (exit 5)"),
        OPT("accel", 0, CLI_STR, &a->accel, "kvm|tcg|auto",
            "the accelerator expected (query-kvm); auto (default):\n"
            "record whichever it is"),
        OPT("policy", 'p', CLI_CALL, NULL, "SPEC",
            "policy spec (see 'migsim policies'), e.g.\n"
            "nova-steps:downtime=2000ms,steps=4,delay=1s",
            .fn = cli_policy_fn, .ctx = &a->o.policy),
        OPT("apply", 0, CLI_FLAG, &a->o.apply, NULL,
            "carry out the policy's changes (and turn the events\n"
            "capability on if no migration runs yet)"),
        OPT("interval", 0, CLI_TIME, &a->o.interval_ns, "T",
            "query-migrate polling period (default 100ms)", ZERO_OK),
        OPT("wait", 0, CLI_TIME, &a->o.start_timeout_ns, "T",
            "give up if no migration starts within T (default:\n"
            "wait until one does)",
            .zero_ok = true),
        OPT("time-limit", 0, CLI_TIME, &a->o.time_limit_ns, "T",
            "stop observing after T (the run stays incomplete)", ZERO_OK),
        OPT("timeout", 0, CLI_TIME, &a->o.cmd_timeout_ns, "T",
            "per QMP command (default 5s)", ZERO_OK),
        OPT("db", 0, CLI_STR, &a->db_file, "FILE",
            "store the run in FILE (default $MIGSIM_DB or\n./migsim.db)"),
        OPT("no-db", 0, CLI_FLAG, &a->no_db, NULL, "do not store the run"),
        OPT("format", 'f', CLI_FORMAT, &a->fmt, "FMT",
            "table (default) or json: the run record (metrics,\n"
            "final_query_migrate, samples, events, error)"),
        OPT("quiet", 0, CLI_FLAG, &a->quiet, NULL,
            "no progress lines on stderr"),
    };
    const struct cli_spec spec = {
        "live",    usage_text, NULL, opts, sizeof(opts) / sizeof(opts[0]),
        after_text};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (argi < argc) {
        cli_error("unexpected argument '%s'", argv[argi]);
        return EXIT_USAGE;
    }
    if (a->o.interval_ns < 10 * MS || a->o.cmd_timeout_ns < 10 * MS) {
        cli_error("--%s: at least 10ms",
                  a->o.interval_ns < 10 * MS ? "interval" : "timeout");
        return EXIT_USAGE;
    }
    if (a->fmt == CLI_FMT_CSV) {
        cli_error("--format: table or json");
        return EXIT_USAGE;
    }
    if (!a->addr) {
        cli_error("--qmp SOCKET is required");
        cli_help(&spec, stderr);
        return EXIT_USAGE;
    }
    if (a->o.apply && !a->o.policy) {
        cli_error("--apply needs --policy");
        return EXIT_USAGE;
    }
    if (a->accel && strcmp(a->accel, "kvm") != 0 &&
        strcmp(a->accel, "tcg") != 0 && strcmp(a->accel, "auto") != 0) {
        cli_error("--accel: kvm, tcg or auto");
        return EXIT_USAGE;
    }
    return -1;
}

/* --qemu and --accel against what QMP reports; the accelerator is recorded
 * in s->accel either way.  0 or the exit code. */
static int check_qemu(const struct live_args *a, struct qmp_conn *q,
                      struct live_session *s)
{
    char err[1024];
    json_t *ret = NULL;
    if (qmp_execute(q, "query-kvm", NULL, a->o.cmd_timeout_ns, &ret, err,
                    sizeof(err)) == QMP_OK) {
        snprintf(s->accel, sizeof(s->accel), "%s",
                 json_is_true(json_object_get(ret, "enabled")) ? "kvm" : "tcg");
        json_decref(ret);
    }
    if (a->accel && strcmp(a->accel, "auto") != 0 &&
        strcmp(a->accel, s->accel) != 0) {
        cli_error("--accel %s: the QEMU at %s runs %s (query-kvm)", a->accel,
                  a->addr, s->accel[0] ? s->accel : "an unknown accelerator");
        return EXIT_EXTERNAL;
    }
    if (!a->qemu) {
        return 0;
    }
    char want[64];
    if (lab_is_version(a->qemu)) {
        snprintf(want, sizeof(want), "%s", a->qemu);
    } else {
        char bin[4096];
        if (lab_qemu_resolve(a->qemu, bin, sizeof(bin), err, sizeof(err)) ||
            lab_qemu_release(bin, want, sizeof(want), err, sizeof(err))) {
            cli_error("--qemu %s: %s", a->qemu, err);
            return EXIT_EXTERNAL;
        }
    }
    const char *got = qmp_version(q);
    size_t n = strlen(want);
    if (strncmp(got, want, n) != 0 || (got[n] != '\0' && got[n] != '.')) {
        cli_error("--qemu %s: the QEMU at %s is %s, not %s", a->qemu, a->addr,
                  got, want);
        return EXIT_EXTERNAL;
    }
    return 0;
}

static int exit_for(const struct live_session *s)
{
    switch (s->end) {
    case LIVE_END_OUTCOME:
        return s->res.m.outcome == RUN_CONVERGED ? EXIT_OK : EXIT_NO;
    case LIVE_END_QEMU_GONE:
    case LIVE_END_TICK:
        return EXIT_EXTERNAL;
    case LIVE_END_PROTO:
        return EXIT_DATA;
    case LIVE_END_INTERRUPTED:
        return 128 + (live_stop_signal ? live_stop_signal : 2);
    case LIVE_END_TIME_LIMIT:
    case LIVE_END_NO_START:
        return EXIT_NO;
    case LIVE_END_ERROR:
        break;
    }
    return EXIT_INTERNAL;
}

/* The QMP connection (with MIGSIM_QMP_LOG) and the store; 0 or the exit
 * code. */
static int connect_all(const struct live_args *a, struct qmp_conn **q,
                       FILE **qlog, struct db **db)
{
    char err[1024];
    *q = qmp_connect(a->addr, 0, a->o.cmd_timeout_ns, err, sizeof(err));
    if (!*q) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    const char *ql = getenv("MIGSIM_QMP_LOG");
    if (ql && *ql) {
        *qlog = fopen(ql, "a");
        if (!*qlog) {
            cli_warn("MIGSIM_QMP_LOG %s: cannot open", ql);
        }
        qmp_set_log(*q, *qlog);
    }
    if (!a->no_db) {
        *db = db_open(a->db_file, err, sizeof(err));
        if (!*db) {
            cli_error("%s", err);
            return EXIT_IO;
        }
    }
    return 0;
}

static void report(const struct live_args *a, struct live_session *s,
                   struct db *db)
{
    if (s->error[0]) {
        cli_error("%s", s->error);
        if (s->run_id) {
            cli_error("run %" PRId64 " in %s keeps what was observed "
                      "(marked incomplete)",
                      s->run_id, db_path(db));
        }
    } else if (s->res.m.outcome == RUN_FAILED) {
        cli_error("%s", s->verdict);
    }
    if (a->fmt == CLI_FMT_JSON) {
        json_t *j = live_session_json(s);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        live_print_summary(stdout, s);
    }
}

int cmd_live(int argc, char **argv)
{
    struct live_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        return rc;
    }
    struct live_opts *o = &a.o;
    live_signals_install();
    o->stop = &live_stop_signal;
    o->progress = a.quiet ? NULL : stderr;
    o->source = a.addr;
    o->command_line = cli_command_line();
    o->enable_events = o->apply;
    struct qmp_conn *q = NULL;
    FILE *qlog = NULL;
    struct db *db = NULL;
    char err[1024];
    rc = connect_all(&a, &q, &qlog, &db);
    if (rc == 0) {
        o->db = db;
        struct live_session s;
        int ir = live_session_init(&s, q, o, err, sizeof(err));
        if (ir != 0) {
            cli_error("%s", err);
            rc = ir == LIVE_E_POLICY ? EXIT_USAGE : EXIT_IO;
        } else if ((rc = check_qemu(&a, q, &s)) != 0) {
            /* a different QEMU or accelerator than asked */
        } else {
            if (!a.quiet) {
                fprintf(stderr, "attached to %s (QEMU %s, %s)%s%s%s\n", a.addr,
                        qmp_version(q), s.accel[0] ? s.accel : "accel ?",
                        o->policy ? ", policy " : "",
                        o->policy ? o->policy : "",
                        o->policy ? (o->apply ? " (applied)" : " (advice only)")
                                  : "");
            }
            live_session_run(&s);
            if (live_session_close(&s, NULL, err, sizeof(err)) != 0) {
                cli_error("%s", err);
            }
            report(&a, &s, db);
            rc = exit_for(&s);
        }
        live_session_free(&s);
    }
    db_close(db);
    qmp_close(q);
    if (qlog) {
        fclose(qlog);
    }
    return rc;
}
