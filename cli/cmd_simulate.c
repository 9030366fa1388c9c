/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_simulate.c — `migsim simulate` and `migsim compare`: run a
 * scenario under one or more policies and print the results.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/runout.h"
#include "policy/policy.h"
#include "engine/engine.h"
#include "model/mig.h"
#include "run/scenario.h"
#include "base/units.h"
#include "plots/plot.h"
#include "store/db.h"
#include "traces/dirty_rate.h"

#define MAX_POLICIES 32
#define MAX_SETS     64

static const char usage_compare[] =
    "Usage: migsim compare SCENARIO --policy A --policy B ... [options]\n\n"
    "Run the scenario once per policy on the same inputs and seed, rank the\n"
    "policies (converged first, then by total time, then downtime) and show "
    "what\neach costs (exact() calls, bitmap-sync time, spin, throttle).\n\n";
static const char usage_simulate[] =
    "Usage: migsim simulate SCENARIO [options]\n\n"
    "Simulate a live migration of SCENARIO (a JSON file, or - for stdin) "
    "under\nQEMU's migration loop for the chosen version, once per --policy "
    "(default:\nqemu).\n\n";
static const char usage_after[] =
    "JSON output: {\"scenario\", \"source\", \"seed\", \"results\": "
    "[{\"policy\", \"qemu\",\n"
    "\"outcome\" (converged|timeout|aborted|failed), \"total_ms\", "
    "\"downtime_ms\",\n\"downtime_limit_ms\", \"iterations\", "
    "\"bitmap_syncs\", \"estimate_calls\",\n\"exact_calls\", "
    "\"sync_time_ms\", \"bytes_transferred\", \"expected_downtime_ms\",\n"
    "\"exact_calls_per_s\", \"spin_cpu_ms\", \"sync_bql_ms\", ...}]}\n";

/* What the command line asks for. */
struct sim_args {
    bool compare;
    const char *policies[MAX_POLICIES];
    unsigned n_pol;
    const char *sets[MAX_SETS];
    unsigned n_sets;
    const char *qemu, *seed, *ram_mode;
    const char *series_path, *db_path, *plot_dir;
    bool no_db, keys;
    enum cli_format fmt;
    const char *path; /* the scenario */
};

/* Parse; -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, struct sim_args *a)
{
    char qemu_help[256];
    snprintf(qemu_help, sizeof(qemu_help),
             "override the scenario's QEMU version (%s)", scn_qemu_list());
    // clang-format off
    const struct cli_opt opts[] = {
        {.name = "policy", .key = 'p', .kind = CLI_POLICY, .dst = a->policies, .count = &a->n_pol, .cap = MAX_POLICIES, .arg = "SPEC", .help = "policy spec (repeatable; see 'migsim policies')"},
        {.name = "qemu", .kind = CLI_QEMU, .dst = &a->qemu, .arg = "VERSION", .help = qemu_help},
        {.name = "set", .key = 's', .kind = CLI_LIST, .dst = a->sets, .count = &a->n_sets, .cap = MAX_SETS, .arg = "KEY=VALUE", .help = "override a scenario key (repeatable), e.g.\n" "--set migration.downtime_limit=2s"},
        {.name = "dirty-rate-from", .kind = CLI_CALL, .fn = trc_dirty_rate_opt, .ctx = &(struct trc_dirty_rate_sets){a->sets, &a->n_sets, MAX_SETS}, .arg = "FILE", .help = "workload.dirty_rate from a query-dirty-rate reply\n(calc-dirty-rate; page-sampling, dirty-ring or dirty-bitmap)"},
        {.name = "seed", .kind = CLI_STR, .dst = &a->seed, .arg = "N", .help = "override the seed"},
        {.name = "ram-mode", .kind = CLI_STR, .dst = &a->ram_mode, .arg = "MODE", .help = "page or aggregate"},
        {.name = "format", .key = 'f', .kind = CLI_FORMAT, .dst = &a->fmt, .arg = "FMT", .help = "table (default), json or csv"},
        {.name = "series", .kind = CLI_STR, .dst = &a->series_path, .arg = "FILE", .help = "write the per-iteration series of every run as CSV"},
        {.name = "db", .kind = CLI_STR, .dst = &a->db_path, .arg = "FILE", .help = "store the runs in FILE (default $MIGSIM_DB or\n" "./migsim.db)"},
        {.name = "no-db", .kind = CLI_FLAG, .dst = &a->no_db, .help = "do not store the runs"},
        {.name = "plot", .kind = CLI_STR, .dst = &a->plot_dir, .arg = "DIR", .help = "draw a timeline per run (and compare/cdf plots)\n" "into DIR: PNG plus the .gp/.dat files"},
        {.name = "keys", .kind = CLI_FLAG, .dst = &a->keys, .help = "list every scenario key and exit"},
    };
    // clang-format on
    const char *cmd = a->compare ? "compare" : "simulate";
    const struct cli_spec spec = {cmd,
                                  a->compare ? usage_compare : usage_simulate,
                                  NULL,
                                  opts,
                                  sizeof(opts) / sizeof(opts[0]),
                                  usage_after};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    if (a->keys) {
        scn_print_keys(stdout);
        return EXIT_OK;
    }
    if (argi != argc - 1) {
        cli_error("expected one SCENARIO file (see 'migsim %s --help')", cmd);
        return EXIT_USAGE;
    }
    if (a->compare && a->n_pol < 1) {
        cli_error("compare needs at least one --policy");
        return EXIT_USAGE;
    }
    if (a->n_pol == 0) {
        a->policies[a->n_pol++] = "qemu";
    }
    a->path = argv[argi];
    return -1;
}

/* Load the scenario with the overrides; NULL (message printed, *rc set) on
 * error. */
static struct scn_doc *load_scenario(const struct sim_args *a,
                                     struct scenario *scn, int *rc)
{
    char err[512];
    struct scn_doc *doc = scn_doc_load(a->path, err, sizeof(err));
    if (!doc) {
        cli_error("%s", err);
        *rc = cli_input_rc(a->path);
        return NULL;
    }
    if ((*rc = cli_apply_sets(doc, a->sets, a->n_sets)) != EXIT_OK) {
        scn_doc_free(doc);
        return NULL;
    }
    /* --qemu, --seed and --ram-mode are --set of these keys */
    const char *const keys[] = {"qemu", "seed", "sim.ram_mode"};
    const char *const vals[] = {a->qemu, a->seed, a->ram_mode};
    char assign[256];
    for (unsigned i = 0; i < 3; i++) {
        if (!vals[i]) {
            continue;
        }
        snprintf(assign, sizeof(assign), "%s=\"%s\"", keys[i], vals[i]);
        if (scn_doc_set(doc, assign, err, sizeof(err))) {
            cli_error("%s", err);
            scn_doc_free(doc);
            *rc = EXIT_USAGE;
            return NULL;
        }
    }
    if (scn_resolve(doc, scn, err, sizeof(err))) {
        cli_error("%s", err);
        scn_doc_free(doc);
        *rc = EXIT_DATA;
        return NULL;
    }
    return doc;
}

/* Save every run (one batch each); ids and metas are returned for output
 * and plots.  The runs stay usable if the store fails. */
static int store_runs(const struct scn_doc *doc, const struct scenario *scn,
                      const char *path, const struct run_result *res,
                      unsigned n, const char *db_path, long long **ids_out,
                      struct db_run_meta **metas_out, char *err, size_t errlen)
{
    *ids_out = NULL;
    *metas_out = NULL;
    struct db *db = db_open(db_path, err, errlen);
    if (!db) {
        return EXIT_IO;
    }
    char *json = scn_doc_json(doc);
    long long *ids = calloc(n, sizeof(*ids));
    struct db_run_meta *metas = calloc(n, sizeof(*metas));
    int rc = EXIT_OK;
    char sha[65] = "";
    char herr[512];
    if (strcmp(path, "-") != 0 &&
        db_sha256_file(path, sha, herr, sizeof(herr)) != 0) {
        sha[0] = '\0';
    }
    if (!json || !ids || !metas) {
        snprintf(err, errlen, "out of memory");
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
        if (db_run_save(db, m, &res[i], &id, err, errlen)) {
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

/* Simulate under every policy; *done is how many results to free. */
static int simulate_all(const struct sim_args *a, const struct scenario *scn,
                        struct run_result *res, unsigned *done)
{
    char err[512];
    struct mig_options mo;
    mig_options_default(&mo);
    for (*done = 0; *done < a->n_pol; (*done)++) {
        if (mig_simulate(scn, a->policies[*done], &mo, &res[*done], err,
                         sizeof(err))) {
            cli_error("%s: policy '%s': %s", a->path, a->policies[*done], err);
            return EXIT_DATA;
        }
    }
    return EXIT_OK;
}

/* Store, draw and print the runs.  A store error does not lose the
 * results: they are printed first, then the error is reported (exit 4). */
static int output(const struct sim_args *a, const struct scn_doc *doc,
                  const struct scenario *scn, const struct run_result *res)
{
    long long *ids = NULL;
    struct db_run_meta *metas = NULL;
    int rc = EXIT_OK, store_rc = EXIT_OK;
    char store_err[1600] = "";
    if (!a->no_db) {
        store_rc =
            store_runs(doc, scn, a->path, res, a->n_pol,
                       a->db_path && *a->db_path ? a->db_path : DB_DEFAULT_PATH,
                       &ids, &metas, store_err, sizeof(store_err));
    }
    if (a->plot_dir) {
        rc = draw(a->plot_dir, res, metas, a->n_pol);
    }
    if (rc == EXIT_OK) {
        char err[512];
        struct runout_ctx ctx = {
            .scenario = scn,
            .source = a->path,
            .runs = res,
            .n = a->n_pol,
            .rank = a->compare,
            .run_ids = ids,
        };
        if (runout_print(&ctx, a->fmt, stdout)) {
            rc = EXIT_IO;
        }
        if (a->series_path && rc == EXIT_OK &&
            runout_write_series(&ctx, a->series_path, err, sizeof(err))) {
            cli_error("%s", err);
            rc = EXIT_IO;
        }
    }
    if (store_rc != EXIT_OK) {
        fflush(stdout);
        cli_error("%s (the results are printed above; the store did not "
                  "take them all)",
                  store_err);
        if (rc == EXIT_OK) {
            rc = store_rc;
        }
    }
    free(ids);
    if (metas) {
        for (unsigned i = 0; i < a->n_pol; i++) {
            metas[i].scenario_json = NULL; /* owned by store_runs' caller */
            metas[i].command_line = NULL;
        }
        free(metas);
    }
    return rc;
}

static int run_common(int argc, char **argv, bool compare)
{
    struct sim_args a = {.compare = compare, .db_path = getenv("MIGSIM_DB")};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        return rc;
    }
    struct scenario scn;
    struct scn_doc *doc = load_scenario(&a, &scn, &rc);
    if (!doc) {
        return rc;
    }
    struct run_result *res = calloc(a.n_pol, sizeof(*res));
    if (!res) {
        cli_error("out of memory");
        scn_doc_free(doc);
        return EXIT_INTERNAL;
    }
    unsigned done = 0;
    rc = simulate_all(&a, &scn, res, &done);
    if (rc == EXIT_OK) {
        rc = output(&a, doc, &scn, res);
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
