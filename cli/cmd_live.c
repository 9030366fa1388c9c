/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_live.c — `migsim live --qmp SOCKET`: attach to a QEMU that is
 * migrating (or about to), sample query-migrate, record the run, show what a
 * policy advises and, with --apply, carry it out.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "live/live.h"
#include "live/qmp.h"
#include "base/units.h"
#include "store/db.h"

#define MS ((int64_t)1000000)

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: migsim live --qmp SOCKET [options]\n\n"
            "Attach to the QMP monitor of a QEMU that is migrating or about "
            "to (the\nsource side), poll query-migrate, record the run (kind "
            "live) and show live\nwhether it converges at the current rates "
            "(\"will not converge at this rate;\nneeds >= X ms\") and what "
            "the policy advises.  With --apply the policy's\nchanges are "
            "carried out (migrate-set-parameters, migrate-start-postcopy,\n"
            "stop, migrate_cancel) and each is printed.\n\n"
            "Options:\n"
            "      --qmp ADDR          QMP socket: PATH, unix:PATH, "
            "tcp:HOST:PORT or HOST:PORT\n"
            "  -p, --policy SPEC       policy spec (see 'migsim policies'), "
            "e.g.\n"
            "                          nova-steps:downtime=2000ms,steps=4,"
            "delay=1s\n"
            "      --apply             carry out the policy's changes (and "
            "turn the events\n"
            "                          capability on if no migration runs "
            "yet)\n"
            "      --interval T        query-migrate polling period (default "
            "100ms)\n"
            "      --wait T            give up if no migration starts within "
            "T (default:\n"
            "                          wait until one does)\n"
            "      --time-limit T      stop observing after T (the run stays "
            "incomplete)\n"
            "      --timeout T         per QMP command (default 5s)\n"
            "      --db FILE           store the run in FILE (default "
            "$MIGSIM_DB or\n"
            "                          ./migsim.db)\n"
            "      --no-db             do not store the run\n"
            "  -f, --format FMT        table (default) or json: the run "
            "record (metrics,\n"
            "                          final_query_migrate, samples, events, "
            "error)\n"
            "      --quiet             no progress lines on stderr\n"
            "  -h, --help              this text\n"
            "\nMIGSIM_QMP_LOG=FILE appends all QMP traffic to FILE.  Faults "
            "(QEMU exiting,\nthe socket closing, malformed or oversized "
            "replies, a failed migration)\nend with a message; the run keeps "
            "what was observed (marked incomplete\nunless QEMU reported an "
            "outcome).\n"
            "\nExit status 1: the migration failed or was cancelled, or "
            "ended unobserved\n(--wait, --time-limit).  3: repeated malformed "
            "QMP replies.  4: cannot\nconnect.  5: QEMU went away during the "
            "migration.  130/143: interrupted.\n");
    cli_print_exit_codes(f);
}

enum {
    O_QMP = 256,
    O_APPLY,
    O_INTERVAL,
    O_WAIT,
    O_TLIM,
    O_TIMEOUT,
    O_DB,
    O_NODB,
    O_QUIET
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

int cmd_live(int argc, char **argv)
{
    struct live_opts o;
    live_opts_default(&o);
    const char *addr = NULL;
    const char *db_file = getenv("MIGSIM_DB");
    if (!db_file || !*db_file) {
        db_file = DB_DEFAULT_PATH;
    }
    bool no_db = false, quiet = false;
    enum cli_format fmt = CLI_FMT_TABLE;
    static const struct option opts[] = {
        {"qmp", required_argument, NULL, O_QMP},
        {"policy", required_argument, NULL, 'p'},
        {"apply", no_argument, NULL, O_APPLY},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"wait", required_argument, NULL, O_WAIT},
        {"time-limit", required_argument, NULL, O_TLIM},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"db", required_argument, NULL, O_DB},
        {"no-db", no_argument, NULL, O_NODB},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "p:f:h", opts, NULL)) != -1) {
        switch (opt) {
        case O_QMP:
            addr = optarg;
            break;
        case 'p':
            o.policy = optarg;
            break;
        case O_APPLY:
            o.apply = true;
            break;
        case O_INTERVAL:
            if (parse_time("interval", optarg, &o.interval_ns)) {
                return EXIT_USAGE;
            }
            if (o.interval_ns < 10 * MS) {
                cli_error("--interval: at least 10ms");
                return EXIT_USAGE;
            }
            break;
        case O_WAIT:
            if (parse_time("wait", optarg, &o.start_timeout_ns)) {
                return EXIT_USAGE;
            }
            break;
        case O_TLIM:
            if (parse_time("time-limit", optarg, &o.time_limit_ns)) {
                return EXIT_USAGE;
            }
            break;
        case O_TIMEOUT:
            if (parse_time("timeout", optarg, &o.cmd_timeout_ns)) {
                return EXIT_USAGE;
            }
            if (o.cmd_timeout_ns < 10 * MS) {
                cli_error("--timeout: at least 10ms");
                return EXIT_USAGE;
            }
            break;
        case O_DB:
            db_file = optarg;
            break;
        case O_NODB:
            no_db = true;
            break;
        case 'f':
            if (cli_parse_format(optarg, &fmt)) {
                return EXIT_USAGE;
            }
            if (fmt == CLI_FMT_CSV) {
                cli_error("--format: table or json");
                return EXIT_USAGE;
            }
            break;
        case O_QUIET:
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
    if (optind < argc) {
        cli_error("unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (!addr) {
        cli_error("--qmp SOCKET is required");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o.apply && !o.policy) {
        cli_error("--apply needs --policy");
        return EXIT_USAGE;
    }
    live_signals_install();
    o.stop = &live_stop_signal;
    o.progress = quiet ? NULL : stderr;
    o.source = addr;
    o.command_line = cli_command_line();
    o.enable_events = o.apply;

    char err[1024];
    struct qmp_conn *q =
        qmp_connect(addr, 0, o.cmd_timeout_ns, err, sizeof(err));
    if (!q) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    FILE *qlog = NULL;
    const char *ql = getenv("MIGSIM_QMP_LOG");
    if (ql && *ql) {
        qlog = fopen(ql, "a");
        if (!qlog) {
            cli_warn("MIGSIM_QMP_LOG %s: cannot open", ql);
        }
        qmp_set_log(q, qlog);
    }
    struct db *db = NULL;
    if (!no_db) {
        db = db_open(db_file, err, sizeof(err));
        if (!db) {
            cli_error("%s", err);
            qmp_close(q);
            if (qlog) {
                fclose(qlog);
            }
            return EXIT_IO;
        }
    }
    o.db = db;
    struct live_session s;
    int rc;
    int ir = live_session_init(&s, q, &o, err, sizeof(err));
    if (ir != 0) {
        cli_error("%s", err);
        rc = ir == LIVE_E_POLICY ? EXIT_USAGE : EXIT_IO;
        live_session_free(&s);
        goto out;
    }
    if (!quiet) {
        fprintf(stderr, "attached to %s (QEMU %s)%s%s%s\n", addr,
                qmp_version(q), o.policy ? ", policy " : "",
                o.policy ? o.policy : "",
                o.policy ? (o.apply ? " (applied)" : " (advice only)") : "");
    }
    live_session_run(&s);
    if (live_session_close(&s, NULL, err, sizeof(err)) != 0) {
        cli_error("%s", err);
    }
    if (s.error[0]) {
        cli_error("%s", s.error);
        if (s.run_id) {
            cli_error("run %" PRId64 " in %s keeps what was observed "
                      "(marked incomplete)",
                      s.run_id, db_path(db));
        }
    } else if (s.res.m.outcome == RUN_FAILED) {
        cli_error("%s", s.verdict);
    }
    if (fmt == CLI_FMT_JSON) {
        json_t *j = live_session_json(&s);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        live_print_summary(stdout, &s);
    }
    rc = exit_for(&s);
    live_session_free(&s);
out:
    db_close(db);
    qmp_close(q);
    if (qlog) {
        fclose(qlog);
    }
    return rc;
}
