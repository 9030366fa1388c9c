/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_simulate.c — `migsim simulate` and `migsim compare`: run a
 * scenario under one or more policies and print the results.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/runout.h"
#include "policy/policy.h"
#include "engine/engine.h"
#include "model/mig.h"
#include "run/scenario.h"
#include "base/units.h"
#include "plots/plot.h"
#include "store/db.h"

#define MAX_POLICIES 32
#define MAX_SETS     64

static void usage(FILE *f, bool compare)
{
    if (compare) {
        fprintf(f, "Usage: migsim compare SCENARIO --policy A --policy B ... "
                   "[options]\n\n"
                   "Run the scenario once per policy on the same inputs and "
                   "seed, rank the\npolicies (converged first, then by total "
                   "time, then downtime) and show what\neach costs (exact() "
                   "calls, bitmap-sync time, spin, throttle).\n\n");
    } else {
        fprintf(f, "Usage: migsim simulate SCENARIO [options]\n\n"
                   "Simulate a live migration of SCENARIO (a JSON file, or - "
                   "for stdin) under\nQEMU's migration loop for the chosen "
                   "version, once per --policy (default:\nqemu).\n\n");
    }
    fprintf(f,
            "Options:\n"
            "  -p, --policy SPEC     policy spec (repeatable; see 'migsim "
            "policies')\n"
            "  -q, --qemu VERSION    override the scenario's QEMU version "
            "(%s)\n"
            "  -s, --set KEY=VALUE   override a scenario key (repeatable), "
            "e.g.\n"
            "                        --set migration.downtime_limit=2s\n"
            "      --seed N          override the seed\n"
            "      --ram-mode MODE   page or aggregate\n"
            "  -f, --format FMT      table (default), json or csv\n"
            "      --series FILE     write the per-iteration series of every "
            "run as CSV\n"
            "      --db FILE         store the runs in FILE (default "
            "$MIGSIM_DB or\n"
            "                        ./migsim.db)\n"
            "      --no-db           do not store the runs\n"
            "      --plot DIR        draw a timeline per run (and compare/cdf "
            "plots)\n"
            "                        into DIR: PNG plus the .gp/.dat files\n"
            "      --keys            list every scenario key and exit\n"
            "  -h, --help            this text\n",
            scn_qemu_list());
    fprintf(f, "\nJSON output: {\"scenario\", \"source\", \"seed\", "
               "\"results\": [{\"policy\", \"qemu\",\n"
               "\"outcome\" (converged|timeout|aborted|failed), "
               "\"total_ms\", \"downtime_ms\",\n\"downtime_limit_ms\", "
               "\"iterations\", \"bitmap_syncs\", \"estimate_calls\",\n"
               "\"exact_calls\", \"sync_time_ms\", \"bytes_transferred\", "
               "\"expected_downtime_ms\",\n\"exact_calls_per_s\", "
               "\"spin_cpu_ms\", \"sync_bql_ms\", ...}]}\n");
    cli_print_exit_codes(f);
}

/* Save every run (one batch each); ids and metas are returned for output
 * and plots.  The runs stay usable if the store fails. */
static int store_runs(const struct scn_doc *doc, const struct scenario *scn,
                      const char *path, const struct run_result *res,
                      unsigned n, const char *db_path, long long **ids_out,
                      struct db_run_meta **metas_out)
{
    char err[512];
    struct db *db = db_open(db_path, err, sizeof(err));
    if (!db) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    char *json = scn_doc_json(doc);
    long long *ids = calloc(n, sizeof(*ids));
    struct db_run_meta *metas = calloc(n, sizeof(*metas));
    int rc = EXIT_OK;
    char sha[65] = "";
    if (strcmp(path, "-") != 0 &&
        db_sha256_file(path, sha, err, sizeof(err)) != 0) {
        sha[0] = '\0';
    }
    if (!json || !ids || !metas) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        struct db_run_meta *m = &metas[i];
        db_run_meta_build(m, &(struct db_run_origin){
                                 .kind = DB_KIND_SIM,
                                 .scenario_json = json,
                                 .source_path = path,
                                 .source_sha256 = sha,
                                 .qemu = scn_qemu_name(scn->qemu),
                                 .policy = res[i].m.policy,
                                 .seed = scn->seed,
                                 .command_line = cli_command_line(),
                                 .fingerprint = res[i].m.fingerprint,
                             });
        int64_t id = 0;
        if (db_run_save(db, m, &res[i], &id, err, sizeof(err))) {
            cli_error("%s", err);
            rc = EXIT_IO;
            goto out;
        }
        m->id = id;
        ids[i] = id;
    }
out:
    db_close(db);
    if (rc != EXIT_OK) {
        free(ids);
        free(metas);
        ids = NULL;
        metas = NULL;
    }
    /* metas keep pointing at json only for labels; drop the pointer */
    if (metas) {
        for (unsigned i = 0; i < n; i++) {
            metas[i].scenario_json = NULL;
        }
    }
    free(json);
    *ids_out = ids;
    *metas_out = metas;
    return rc;
}

static int draw(const char *dir, const struct run_result *res,
                const struct db_run_meta *metas, unsigned n)
{
    char err[512];
    struct plot_run *pr = calloc(n, sizeof(*pr));
    if (!pr) {
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    for (unsigned i = 0; i < n; i++) {
        pr[i].meta = metas ? &metas[i] : NULL;
        pr[i].res = &res[i];
    }
    int rc = plot_to_dir(dir, pr, n, "png", err, sizeof(err));
    free(pr);
    if (rc < 0) {
        cli_error("%s", err);
        return EXIT_EXTERNAL;
    }
    return EXIT_OK;
}

static int run_common(int argc, char **argv, bool compare)
{
    const char *policies[MAX_POLICIES];
    unsigned n_pol = 0;
    const char *sets[MAX_SETS];
    unsigned n_sets = 0;
    const char *qemu = NULL, *seed = NULL, *ram_mode = NULL;
    const char *series_path = NULL;
    const char *db_path = getenv("MIGSIM_DB");
    const char *plot_dir = NULL;
    bool no_db = false;
    enum cli_format fmt = CLI_FMT_TABLE;
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"qemu", required_argument, NULL, 'q'},
        {"set", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"ram-mode", required_argument, NULL, 'R'},
        {"format", required_argument, NULL, 'f'},
        {"series", required_argument, NULL, 'T'},
        {"keys", no_argument, NULL, 'K'},
        {"db", required_argument, NULL, 'D'},
        {"no-db", no_argument, NULL, 'N'},
        {"plot", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "p:q:s:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (n_pol == MAX_POLICIES) {
                cli_error("at most %d policies", MAX_POLICIES);
                return EXIT_USAGE;
            }
            policies[n_pol++] = optarg;
            break;
        case 'q':
            qemu = optarg;
            break;
        case 's':
            if (n_sets == MAX_SETS) {
                cli_error("at most %d --set", MAX_SETS);
                return EXIT_USAGE;
            }
            sets[n_sets++] = optarg;
            break;
        case 'S':
            seed = optarg;
            break;
        case 'R':
            ram_mode = optarg;
            break;
        case 'f':
            if (cli_parse_format(optarg, &fmt)) {
                return EXIT_USAGE;
            }
            break;
        case 'T':
            series_path = optarg;
            break;
        case 'K':
            scn_print_keys(stdout);
            return EXIT_OK;
        case 'D':
            db_path = optarg;
            break;
        case 'N':
            no_db = true;
            break;
        case 'P':
            plot_dir = optarg;
            break;
        case 'h':
            usage(stdout, compare);
            return EXIT_OK;
        default:
            usage(stderr, compare);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("expected one SCENARIO file (see 'migsim %s --help')",
                  compare ? "compare" : "simulate");
        return EXIT_USAGE;
    }
    if (compare && n_pol < 1) {
        cli_error("compare needs at least one --policy");
        return EXIT_USAGE;
    }
    if (n_pol == 0) {
        policies[n_pol++] = "qemu";
    }
    const char *path = argv[optind];
    char err[512];
    struct scn_doc *doc = scn_doc_load(path, err, sizeof(err));
    if (!doc) {
        cli_error("%s", err);
        return EXIT_DATA;
    }
    char assign[256];
    int rc = EXIT_OK;
    for (unsigned i = 0; i < n_sets; i++) {
        if (scn_doc_set(doc, sets[i], err, sizeof(err))) {
            cli_error("%s", err);
            scn_doc_free(doc);
            return EXIT_USAGE;
        }
    }
    if (qemu) {
        snprintf(assign, sizeof(assign), "qemu=\"%s\"", qemu);
        if (scn_doc_set(doc, assign, err, sizeof(err))) {
            cli_error("%s", err);
            scn_doc_free(doc);
            return EXIT_USAGE;
        }
    }
    if (seed) {
        snprintf(assign, sizeof(assign), "seed=\"%s\"", seed);
        if (scn_doc_set(doc, assign, err, sizeof(err))) {
            cli_error("%s", err);
            scn_doc_free(doc);
            return EXIT_USAGE;
        }
    }
    if (ram_mode) {
        snprintf(assign, sizeof(assign), "sim.ram_mode=\"%s\"", ram_mode);
        if (scn_doc_set(doc, assign, err, sizeof(err))) {
            cli_error("%s", err);
            scn_doc_free(doc);
            return EXIT_USAGE;
        }
    }
    struct scenario scn;
    if (scn_resolve(doc, &scn, err, sizeof(err))) {
        cli_error("%s", err);
        scn_doc_free(doc);
        return EXIT_DATA;
    }
    struct run_result *res = calloc(n_pol, sizeof(*res));
    if (!res) {
        cli_error("out of memory");
        scn_doc_free(doc);
        return EXIT_INTERNAL;
    }
    struct mig_options mo;
    mig_options_default(&mo);
    unsigned done = 0;
    for (; done < n_pol; done++) {
        if (mig_simulate(&scn, policies[done], &mo, &res[done], err,
                         sizeof(err))) {
            cli_error("%s: policy '%s': %s", path, policies[done], err);
            rc = EXIT_DATA;
            break;
        }
    }
    long long *ids = NULL;
    struct db_run_meta *metas = NULL;
    if (rc == EXIT_OK && !no_db) {
        rc = store_runs(doc, &scn, path, res, n_pol,
                        db_path && *db_path ? db_path : DB_DEFAULT_PATH, &ids,
                        &metas);
    }
    if (rc == EXIT_OK && plot_dir) {
        rc = draw(plot_dir, res, metas, n_pol);
    }
    if (rc == EXIT_OK) {
        struct runout_ctx ctx = {
            .scenario = &scn,
            .source = path,
            .runs = res,
            .n = n_pol,
            .rank = compare,
            .run_ids = ids,
        };
        if (runout_print(&ctx, fmt, stdout)) {
            rc = EXIT_IO;
        }
        if (series_path && rc == EXIT_OK &&
            runout_write_series(&ctx, series_path, err, sizeof(err))) {
            cli_error("%s", err);
            rc = EXIT_IO;
        }
    }
    free(ids);
    if (metas) {
        for (unsigned i = 0; i < n_pol; i++) {
            metas[i].scenario_json = NULL; /* owned by store_runs' caller */
            metas[i].command_line = NULL;
        }
        free(metas);
    }
    for (unsigned i = 0; i < done; i++) {
        run_result_free(&res[i]);
    }
    free(res);
    scn_doc_free(doc);
    return rc;
}

int cmd_simulate(int argc, char **argv)
{
    return run_common(argc, argv, false);
}

int cmd_compare(int argc, char **argv)
{
    return run_common(argc, argv, true);
}

int cmd_policies(int argc, char **argv)
{
    bool verbose = true;
    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: migsim policies [--brief]\n\nList every policy with "
               "its arguments.\n");
        cli_print_exit_codes(stdout);
        return EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "--brief") == 0) {
        verbose = false;
    } else if (argc > 1) {
        cli_error("unknown option '%s'", argv[1]);
        return EXIT_USAGE;
    }
    pol_print_all(stdout, verbose);
    return EXIT_OK;
}
