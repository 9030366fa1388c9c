/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_calibrate.c — `migsim calibrate TRACE...|--run ID... -o FILE`:
 * fit the environment's constants from real runs (calib/calib.h) and
 * write the calibration file a scenario loads with "calibration".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calib/calib.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "store/db.h"

#define MAX_IDS 256

static const char usage_text[] =
    "Usage: migsim calibrate TRACE... [--run ID]... [-o FILE] [options]\n\n"
    "Fit the constants of this machine's migrations from real runs: QEMU "
    "trace\nlogs or query-migrate logs (as for 'migsim replay'), or stored "
    "live/lab\nruns (--run ID: the trace the run recorded, with its "
    "query-migrate\ndowntime, downtime bytes and vCPUs).  Least squares "
    "over every run:\nbitmap sync cost (fixed + per GiB), the migration "
    "thread's per-page cost\n(normal and zero pages), VM stop cost (fixed + "
    "per vCPU), non-iterable\nsave / load, the link speed of the downtime "
    "phase.  Each constant with\nits value, spread, runs and points; "
    "constants no run informs keep their\ndefaults and are listed as "
    "such.  A scenario loads the file with the\ntop-level key "
    "\"calibration\"; plan, sweep and replay take --calibration.\n\n";

struct cal_args {
    const char *out_path, *db_path;
    const char *ids[MAX_IDS];
    unsigned n_ids;
    enum cli_format fmt;
};

static int parse_args(int argc, char **argv, struct cal_args *a, int *argi)
{
    const struct cli_opt opts[] = {
        {.name = "output",
         .key = 'o',
         .kind = CLI_STR,
         .dst = &a->out_path,
         .arg = "FILE",
         .help = "write the calibration file (JSON) to FILE"},
        {.name = "run",
         .key = 0,
         .kind = CLI_LIST,
         .dst = a->ids,
         .arg = "ID",
         .count = &a->n_ids,
         .cap = MAX_IDS,
         .help = "a stored live/lab/replay run (repeatable)"},
        {.name = "db",
         .kind = CLI_STR,
         .dst = &a->db_path,
         .arg = "FILE",
         .help = "run store for --run (default $MIGSIM_DB or\n"
                 "./" DB_DEFAULT_PATH ")"},
        {.name = "format",
         .key = 'f',
         .kind = CLI_FORMAT,
         .dst = &a->fmt,
         .arg = "FMT",
         .help = "table (default) or json (the file's document)"},
    };
    const struct cli_spec spec = {
        .cmd = "calibrate",
        .usage = usage_text,
        .opts = opts,
        .n_opts = sizeof(opts) / sizeof(opts[0]),
    };
    return cli_parse(&spec, argc, argv, argi);
}

/* vCPUs of a stored run's scenario (lab runs record it), 0 unknown. */
static unsigned scenario_vcpus(const char *scenario_json)
{
    json_t *o = scenario_json ? json_loads(scenario_json, 0, NULL) : NULL;
    json_t *v = o ? json_object_get(json_object_get(o, "vm"), "vcpus") : NULL;
    unsigned n = json_is_integer(v) && json_integer_value(v) > 0
                     ? (unsigned)json_integer_value(v)
                     : 0;
    json_decref(o);
    return n;
}

/* Whether a stored run's scenario had a return path open (the
 * capabilities return-path, postcopy-ram or switchover-ack). */
static bool scenario_return_path(const char *scenario_json)
{
    json_t *o = scenario_json ? json_loads(scenario_json, 0, NULL) : NULL;
    json_t *m = o ? json_object_get(o, "migration") : NULL;
    bool rp = json_is_true(json_object_get(m, "return_path")) ||
              json_is_true(json_object_get(m, "postcopy")) ||
              json_is_true(json_object_get(m, "switchover_ack"));
    json_decref(o);
    return rp;
}

/* One stored run: replay the trace it recorded, with the store's
 * query-migrate figures. */
static int add_stored(struct calib *c, struct db *db, const char *id_text,
                      char *err, size_t errlen)
{
    char *end;
    long long id = strtoll(id_text, &end, 10);
    if (*end || id <= 0) {
        snprintf(err, errlen, "--run '%s': expected a run id", id_text);
        return EXIT_USAGE;
    }
    struct db_run_meta meta;
    struct run_result res;
    db_run_meta_init(&meta);
    if (db_run_load(db, id, &meta, &res, err, errlen) != 0) {
        return EXIT_DATA;
    }
    int rc = EXIT_OK;
    FILE *f = meta.source_path[0] ? fopen(meta.source_path, "r") : NULL;
    if (!f) {
        snprintf(err, errlen,
                 "run %lld: no readable trace recorded (source '%.400s'); lab "
                 "runs keep theirs with --trace FILE",
                 id, meta.source_path);
        rc = EXIT_DATA;
        goto out;
    }
    fclose(f);
    struct trc_replay_options o;
    memset(&o, 0, sizeof(o));
    struct trc_replay r;
    const char *files[1] = {meta.source_path};
    if (trc_replay_run(files, 1, &o, &r, err, errlen) < 0) {
        rc = EXIT_DATA;
        goto out;
    }
    char name[600];
    snprintf(name, sizeof(name), "run %lld (%.500s)", id, meta.source_path);
    bool live = meta.kind == DB_KIND_LIVE;
    int64_t down =
        live && res.m.src_downtime_ns > 0 ? res.m.src_downtime_ns : -1;
    if (calib_add_replay(c, name, &r, scenario_vcpus(meta.scenario_json), down,
                         res.m.downtime_bytes, err, errlen) < 0) {
        rc = EXIT_USAGE;
    } else {
        c->runs[c->n_runs - 1].return_path =
            scenario_return_path(meta.scenario_json);
    }
out:
    run_result_free(&res);
    db_run_meta_free(&meta);
    return rc;
}

int cmd_calibrate(int argc, char **argv)
{
    struct cal_args a;
    memset(&a, 0, sizeof(a));
    a.db_path = getenv("MIGSIM_DB");
    int argi = 0;
    int rc = parse_args(argc, argv, &a, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (argi >= argc && !a.n_ids) {
        cli_error("calibrate: give at least one trace or --run ID");
        return EXIT_USAGE;
    }
    struct calib c;
    if (calib_init(&c) < 0) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    char err[1024];
    rc = EXIT_OK;
    for (int i = argi; i < argc && rc == EXIT_OK; i++) {
        if (calib_add_trace(&c, argv[i], err, sizeof(err)) < 0) {
            cli_error("%s", err);
            rc = cli_input_rc(argv[i]);
        }
    }
    if (rc == EXIT_OK && a.n_ids) {
        const char *p = a.db_path && *a.db_path ? a.db_path : DB_DEFAULT_PATH;
        struct db *db = db_open_existing(p, err, sizeof(err));
        if (!db) {
            cli_error("%s", err);
            rc = EXIT_IO;
        }
        for (unsigned i = 0; db && i < a.n_ids && rc == EXIT_OK; i++) {
            rc = add_stored(&c, db, a.ids[i], err, sizeof(err));
            if (rc != EXIT_OK) {
                cli_error("%s", err);
            }
        }
        if (db) {
            db_close(db);
        }
    }
    if (rc == EXIT_OK && calib_fit(&c, err, sizeof(err)) < 0) {
        cli_error("%s", err);
        rc = EXIT_DATA;
    }
    json_t *doc = rc == EXIT_OK ? calib_json(&c) : NULL;
    if (doc && a.out_path &&
        json_dump_file(doc, a.out_path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) <
            0) {
        cli_error("%s: cannot write: %s", a.out_path, strerror(errno));
        rc = EXIT_IO;
    }
    if (doc && rc == EXIT_OK) {
        if (a.fmt == CLI_FMT_JSON) {
            json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            calib_print(stdout, &c);
            if (a.out_path) {
                printf("\nWritten to %s.\n", a.out_path);
            }
        }
    }
    json_decref(doc);
    calib_free(&c);
    return rc;
}
