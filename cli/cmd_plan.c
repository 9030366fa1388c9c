/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_plan.c — `migsim plan`: the smallest converging downtime-limit
 * within the budgets, the downtime to expect with it, the frontier, the
 * policies that meet both budgets, and the commands to apply the answer.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/err.h"
#include "plan/plan.h"
#include "plots/plot.h"
#include "policy/policy.h"
#include "engine/engine.h"
#include "model/mig.h"
#include "run/qmp_params.h"
#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"
#include "traces/dirty_rate.h"
#include "traces/replay.h"

#define MAX_SETS 64

static const char usage_text[] =
    "Usage: migsim plan (SCENARIO | --run ID | --trace FILE) [options]\n"
    "\n"
    "Find the smallest downtime-limit with which the migration converges "
    "within\nthe time budget, the downtime to expect with it (device "
    "save/load included),\nthe frontier of downtime-limit against total "
    "time, the avail-switchover-\nbandwidth that makes QEMU's own "
    "decision right, the max-bandwidth needed at\na given limit, which "
    "policies meet both budgets and at what cost, and the\nQMP and virsh "
    "commands that apply the answer.\n"
    "\n"
    "Inputs:\n"
    "  SCENARIO              scenario file (- for stdin), or --run ID or "
    "--trace FILE\n"
    "                        (below)\n"
    "\n";

static const char after_text[] =
    "Method: the frontier limits are simulated first; where the outcome "
    "is monotone\nin the limit (no converging limit below a failing one) "
    "the edge is bisected\nto 1 ms and checked just above; otherwise the "
    "answer is the smallest limit\nabove which every simulated limit "
    "converged, and the output says where\nmonotonicity failed.  If two "
    "seeds give different results the scenario is\nstochastic: every "
    "seed is searched, the answer is the largest per-seed limit,\nwith "
    "mean, sd and 95% intervals over the seeds.\n"
    "\n"
    "JSON output: {\"policy\", \"min_downtime_limit_ms\", "
    "\"expected_downtime_ms\",\n\"expected_total_ms\", "
    "\"avail_switchover_bandwidth_bps\", \"max_bandwidth_needed\",\n"
    "\"meets_budgets\", \"monotone\", \"stochastic\", \"frontier\": "
    "[{\"downtime_limit_ms\",\n\"outcome\", \"total_ms\", "
    "\"downtime_ms\", ...}], \"policies\": [...], \"advice\", "
    "\"commands\"}\n"
    "\n"
    "Advice is refused (exit 1, nothing to apply, the reason printed) when "
    "the\nreplay verdict of a trace is inconclusive, when its replay fit "
    "failed (the\nre-run under qemu misses what the trace shows: "
    "docs/planner.md), or when no\nvalue converges on every seed.  With a "
    "nova-steps or kubevirt policy the\nlayer's own knobs are searched at "
    "the advised value (Nova's steps x delay\nand completion timeout; "
    "KubeVirt's timeouts and the dynamic ramp) and printed\nin its lines.\n";

static int draw(const struct plan_result *r, const char *path)
{
    const struct plan_policy *t = &r->pol[r->top];
    double xmax = 1000.0;
    if (t->found && 3.0 * (double)t->min_limit_ns / 1e6 > xmax) {
        xmax = 3.0 * (double)t->min_limit_ns / 1e6;
    }
    if (2.0 * (double)r->max_downtime_ns / 1e6 > xmax) {
        xmax = 2.0 * (double)r->max_downtime_ns / 1e6;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->n_policies; i++) {
        n += r->pol[i].n_frontier;
    }
    struct plot_run *pr = calloc(n ? n : 1, sizeof(*pr));
    struct run_result *res = calloc(n ? n : 1, sizeof(*res));
    if (!pr || !res) {
        free(pr);
        free(res);
        cli_error("out of memory");
        return EXIT_INTERNAL;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct plan_policy *p = &r->pol[i];
        for (size_t j = 0; j < p->n_frontier; j++) {
            const struct plan_frontier_row *w = &p->frontier[j];
            double x = (double)w->limit_ns / 1e6;
            if (x > xmax) {
                continue;
            }
            /* each point: the frontier row (means over the seeds) */
            struct run_metrics *m = &res[k].m;
            m->outcome =
                w->n_ok == w->n_runs && w->n_runs ? RUN_CONVERGED : w->outcome;
            if (w->n_ok != w->n_runs && m->outcome == RUN_CONVERGED) {
                m->outcome = RUN_TIMEOUT;
            }
            m->total_ns = (int64_t)llround(w->total_ms * 1e6);
            m->downtime_ns = isfinite(w->downtime_ms)
                                 ? (int64_t)llround(w->downtime_ms * 1e6)
                                 : 0;
            m->downtime_limit_ns = w->limit_ns;
            snprintf(m->policy, sizeof(m->policy), "%s", p->policy);
            snprintf(m->qemu, sizeof(m->qemu), "%s",
                     scn_qemu_name(r->scn.qemu));
            pr[k].res = &res[k];
            pr[k].group = p->policy;
            pr[k].x = x;
            k++;
        }
    }
    struct plot_opts po = {.x_name = "downtime-limit in ms"};
    char err[1024];
    int rc = plot_runs(PLOT_SWEEP, pr, k, path, &po, err, sizeof(err));
    free(pr);
    free(res);
    if (rc < 0) {
        cli_error("%s", err);
        return rc == PLOT_ERR_GNUPLOT ? EXIT_EXTERNAL : EXIT_IO;
    }
    return EXIT_OK;
}

/* Save the run at the answer (first seed) with its series; returns id. */
static int64_t save_answer(const struct scn_doc *base,
                           const struct plan_result *r, const char *source,
                           const char *file, const char *db_path)
{
    const struct plan_policy *t = &r->pol[r->top];
    if (!t->found) {
        return 0;
    }
    char err[512], a[96];
    struct scn_doc *d = scn_doc_copy(base);
    if (!d) {
        cli_error("out of memory");
        return -1;
    }
    char tb[48];
    snprintf(a, sizeof(a), "migration.downtime_limit=\"%s\"",
             plan_fmt_time(t->min_limit_ns, tb, sizeof(tb)));
    int rc = scn_doc_set(d, a, err, sizeof(err));
    snprintf(a, sizeof(a), "migration.time_limit=\"%s\"",
             plan_fmt_time(r->max_total_ns, tb, sizeof(tb)));
    rc = rc ? rc : scn_doc_set(d, a, err, sizeof(err));
    if (!rc && r->aggregate && !plan_doc_has(base, "sim.ram_mode")) {
        rc = scn_doc_set(d, "sim.ram_mode=\"aggregate\"", err, sizeof(err));
    }
    struct scenario s;
    rc = rc ? rc : scn_resolve(d, &s, err, sizeof(err));
    char *json = rc ? NULL : scn_doc_json(d);
    scn_doc_free(d);
    if (rc || !json) {
        cli_error("%s", rc ? err : "out of memory");
        free(json);
        return -1;
    }
    int64_t id = -1;
    struct db *db = db_open(db_path, err, sizeof(err));
    struct db_run_meta m;
    char key[65];
    plan_point_key(json, t->policy, s.seed, key);
    if (db) {
        id = db_find_key(db, key, err, sizeof(err));
    }
    if (db && id == 0) {
        struct mig_options mo;
        mig_options_default(&mo);
        struct run_result res;
        if (mig_simulate(&s, t->policy, &mo, &res, err, sizeof(err))) {
            cli_error("%s", err);
            id = -1;
        } else {
            char sha[65] = "";
            if (file && strcmp(file, "-") != 0 &&
                db_sha256_file(file, sha, NULL, 0) != 0) {
                sha[0] = '\0';
            }
            db_run_meta_build(&m, &(struct db_run_origin){
                                      .kind = DB_KIND_SIM,
                                      .scenario_json = json,
                                      .source_path = file ? file : source,
                                      .source_sha256 = sha,
                                      .qemu = scn_qemu_name(s.qemu),
                                      .policy = t->policy,
                                      .seed = s.seed,
                                      .command_line = cli_command_line(),
                                      .fingerprint = res.m.fingerprint,
                                      .run_key = key,
                                  });
            if (db_run_save(db, &m, &res, &id, err, sizeof(err))) {
                id = -1;
            }
            run_result_free(&res);
        }
    }
    if (id < 0) {
        cli_error("%s", err);
    }
    db_close(db);
    free(json);
    return id;
}

/* The scenario rebuilt from a trace's derived inputs, with the replay
 * fit (the re-run under the trace's own policy "qemu", loading the
 * calibration if one is given) in basis.  NULL with a message and *rc. */
static struct scn_doc *doc_from_trace(const char *path, const char *src,
                                      const char *calibration,
                                      struct plan_basis *basis, int *rc)
{
    char err[600];
    char cal[4096] = "";
    if (calibration &&
        cli_abs_path(calibration, cal, sizeof(cal), err, sizeof(err)) < 0) {
        cli_error("--calibration %s", err);
        *rc = EXIT_IO;
        return NULL;
    }
    const char *files[1] = {path};
    struct trc_session_options so;
    memset(&so, 0, sizeof(so));
    so.files = files;
    so.n_files = 1;
    so.calibration = cal[0] ? cal : NULL;
    struct trc_session s;
    enum trc_session_status st = trc_session_run(&so, &s, err, sizeof(err));
    if (st == TRC_SESSION_EMPTY) {
        snprintf(err, sizeof(err),
                 "%s: no QEMU trace events or migration status records to "
                 "plan on",
                 path);
        trc_session_free(&s);
    }
    if (st != TRC_SESSION_OK) {
        cli_error("%s", err);
        *rc = st == TRC_SESSION_USAGE ? EXIT_USAGE
              : st == TRC_SESSION_IO  ? cli_input_rc(path)
                                      : EXIT_DATA;
        return NULL;
    }
    const struct trc_derived_inputs *di = &s.r.inputs;
    plan_basis_from_replay(basis, &s, path, so.calibration);
    char b[32];
    fprintf(stderr,
            "migsim: plan: trace-derived inputs of %s: QEMU %s (%s); "
            "bandwidth %s%s; %u device(s); replay fit %s\n",
            path, scn_qemu_name(di->qemu), di->qemu_guess,
            units_fmt_rate(di->bandwidth_bps > 0 ? di->bandwidth_bps
                                                 : di->bandwidth_assumed_bps,
                           b, sizeof(b)),
            di->bandwidth_bps > 0 ? " measured" : " assumed (not in the trace)",
            di->n_devices, basis->fit_ok ? "ok" : "FAILED");
    char *js = trc_scenario_json(di);
    struct scn_doc *d = NULL;
    if (!js) {
        snprintf(err, sizeof(err), "out of memory");
    } else {
        d = scn_doc_parse(js, src, err, sizeof(err));
    }
    free(js);
    trc_session_free(&s);
    if (!d) {
        cli_error("%s", err);
        *rc = EXIT_DATA;
    }
    return d;
}

static int set_str(struct scn_doc *d, const char *key, const char *val)
{
    char a[256], err[512];
    snprintf(a, sizeof(a), "%s=\"%s\"", key, val);
    if (scn_doc_set(d, a, err, sizeof(err))) {
        cli_error("%s", err);
        return -1;
    }
    return 0;
}

struct plan_args {
    const char *policies[PLAN_MAX_POLICIES];
    size_t n_pol;
    const char *sets[MAX_SETS];
    unsigned n_sets;
    const char *qemu, *ram_mode, *run_sel, *trace, *plot, *frontier;
    const char *db_path, *calibration;
    const char *scenario; /* the positional argument */
    int64_t max_total, max_down, at_limit;
    unsigned seeds, jobs;
    enum cli_format fmt;
    double safety;
    enum plan_layer layer;
};

/* One cli_opt: name, short key, kind, destination, argument name, help;
 * then extra fields. */
#define OPT(n, k, t, d, a, ...)                                                \
    {                                                                          \
        .name = (n), .key = (k), .kind = (t), .dst = (d), .arg = (a),          \
        .help = __VA_ARGS__                                                    \
    }

/* A CLI_CALL cli_opt: name, argument name, function, its context, help. */
#define CALL(n, a, f, c, ...)                                                  \
    {                                                                          \
        .name = (n), .kind = CLI_CALL, .arg = (a), .fn = (f), .ctx = (c),      \
        .help = __VA_ARGS__                                                    \
    }

static int opt_ram_mode(const char *arg, void *ctx, char *err, size_t errlen)
{
    if (strcmp(arg, "page") != 0 && strcmp(arg, "aggregate") != 0) {
        err_set(err, errlen, "page or aggregate");
        return -1;
    }
    *(const char **)ctx = arg;
    return 0;
}

static int opt_for(const char *arg, void *ctx, char *err, size_t errlen)
{
    if (plan_layer_parse(arg, ctx) != 0) {
        err_set(err, errlen,
                "unknown layer '%s' (qemu, libvirt, nova, kubevirt or "
                "proxmox)",
                arg);
        return -1;
    }
    return 0;
}

static int opt_safety(const char *arg, void *ctx, char *err, size_t errlen)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= 1.0 && v <= PLAN_MAX_SAFETY)) {
        err_set(err, errlen, "'%s' is not a factor in [1, %.0f]", arg,
                PLAN_MAX_SAFETY);
        return -1;
    }
    *(double *)ctx = v;
    return 0;
}

/* The options after parsing: -1 to go on, or the exit code. */
static int check_args(struct plan_args *a, int argc, char **argv, int argi)
{
    char err[512];
    if (a->at_limit && qmp_downtime_limit_check("--at-limit", a->at_limit,
                                                false, err, sizeof(err))) {
        cli_error("%s", err);
        return EXIT_USAGE;
    }
    if (a->fmt == CLI_FMT_CSV) {
        cli_error("plan prints table or json");
        return EXIT_USAGE;
    }
    int inputs = (argi < argc) + (a->run_sel != NULL) + (a->trace != NULL);
    if (inputs != 1 || argc - argi > 1) {
        cli_error("give one of SCENARIO, --run ID or --trace FILE (see "
                  "'migsim plan --help')");
        return EXIT_USAGE;
    }
    a->scenario = argi < argc ? argv[argi] : NULL;
    return -1;
}

/* The options' defaults. */
static void plan_args_init(struct plan_args *a)
{
    memset(a, 0, sizeof(*a));
    a->max_total = 600 * SIM_S;
    a->max_down = SIM_S;
    a->fmt = CLI_FMT_TABLE;
    a->safety = PLAN_DEFAULT_SAFETY;
    a->layer = PLAN_FOR_QEMU;
}

/* The options of the advice: the ram mode of the search, the layer it is
 * for and its margin (a fragment of parse_args' table). */
#define ADVICE_OPTS(a)                                                         \
    CALL("ram-mode", "MODE", opt_ram_mode, &(a)->ram_mode,                     \
         "page or aggregate (default aggregate unless the\n"                   \
         "scenario sets sim.ram_mode)"),                                       \
        CALL("for", "LAYER", opt_for, &(a)->layer,                             \
             "advice for qemu (QMP, default), libvirt (virsh),\n"              \
             "nova (nova.conf [libvirt]), kubevirt (MigrationPolicy)\n"        \
             "or proxmox (qm set); all of them are in the JSON"),              \
        CALL("safety-factor", "X", opt_safety, &(a)->safety,                   \
             "advise X times the smallest converging value\n"                  \
             "(default 1.25; 1 = no margin)")

/* -1 to go on, or the exit code. */
static int parse_args(int argc, char **argv, struct plan_args *a)
{
    plan_args_init(a);
    unsigned n_pol = 0;
    char qemu_help[200], db_help[400];
    snprintf(qemu_help, sizeof(qemu_help), "override the QEMU version (%s)",
             scn_qemu_list());
    snprintf(db_help, sizeof(db_help),
             "run store: --run reads from it (a replayed run is\n"
             "rebuilt from its trace file); when given, the run at\n"
             "the answer (first seed, with its series) is saved\n"
             "there (default for --run: $MIGSIM_DB or %s)",
             DB_DEFAULT_PATH);
    const struct cli_opt opts[] = {
        OPT("run", 0, CLI_STR, &a->run_sel, "RUN",
            "the scenario of a stored simulated run (see --db):\n"
            "an id or 'last'"),
        OPT("trace", 0, CLI_STR, &a->trace, "FILE",
            "a QEMU trace or query-migrate record: plan on the\n"
            "scenario rebuilt from its trace-derived inputs (as\n"
            "'migsim replay --scenario' writes it), after checking\n"
            "the replay fit (advice refused when it fails)"),
        OPT("max-total", 0, CLI_TIME, &a->max_total, "TIME",
            "total-time budget (default 10min)"),
        OPT("max-downtime", 0, CLI_TIME, &a->max_down, "TIME",
            "downtime budget (default 1s)"),
        OPT("policy", 'p', CLI_POLICY, a->policies, "SPEC",
            "policy to plan for (repeatable; the first is the one\n"
            "asked about).  Default: qemu, plus auto-converge\n"
            "(guest dirties memory) and avail-switchover-bandwidth:\n"
            "<real throughput> (QEMU 8.2+)",
            .count = &n_pol, .cap = PLAN_MAX_POLICIES),
        OPT("seeds", 0, CLI_UINT, &a->seeds, "N",
            "seeds for stochastic scenarios (default 5)", .min = 1,
            .max = PLAN_MAX_SEEDS),
        OPT("at-limit", 0, CLI_TIME, &a->at_limit, "TIME",
            "downtime-limit for the max-bandwidth search\n"
            "(default: the scenario's)"),
        OPT("frontier", 0, CLI_STR, &a->frontier, "LIST",
            "frontier limits, e.g. 100ms..2s:100ms or 1ms..2000s*2\n"
            "(default: 1 2 5 10 ... ms up to 2000 s)"),
        OPT("jobs", 'j', CLI_UINT, &a->jobs, "N",
            "simulation threads (default: all CPUs)", .min = 1, .max = 1024),
        OPT("set", 's', CLI_LIST, a->sets, "KEY=VALUE",
            "override a scenario key (repeatable)", .count = &a->n_sets,
            .cap = MAX_SETS),
        {.name = "dirty-rate-from",
         .kind = CLI_CALL,
         .fn = trc_dirty_rate_opt,
         .ctx = &(struct trc_dirty_rate_sets){a->sets, &a->n_sets, MAX_SETS},
         .arg = "FILE",
         .help = "workload.dirty_rate from a query-dirty-rate "
                 "reply\n(calc-dirty-rate; page-sampling, dirty-ring or "
                 "dirty-bitmap)"},
        OPT("qemu", 0, CLI_QEMU, &a->qemu, "VERSION", qemu_help),
        OPT("calibration", 0, CLI_STR, &a->calibration, "FILE",
            "constants from 'migsim calibrate' (scenario keys\n"
            "override them; with --trace the fit's re-run loads\n"
            "them too)"),
        ADVICE_OPTS(a),
        OPT("format", 'f', CLI_FORMAT, &a->fmt, "FMT",
            "table (default) or json"),
        OPT("plot", 0, CLI_STR, &a->plot, "FILE",
            "frontier figure (.png or .svg, gnuplot): downtime and\n"
            "total time against the limit, every policy, up to\n"
            "3x the answer (at least 1 s and 2x --max-downtime)"),
        OPT("db", 0, CLI_STR, &a->db_path, "FILE", db_help),
    };
    const struct cli_spec spec = {
        "plan",    usage_text, NULL, opts, sizeof(opts) / sizeof(opts[0]),
        after_text};
    int argi;
    int rc = cli_parse(&spec, argc, argv, &argi);
    if (rc >= 0) {
        return rc;
    }
    a->n_pol = n_pol;
    return check_args(a, argc, argv, argi);
}

/* The scenario of stored run --run ID; NULL with *rc and a message. */
static struct scn_doc *doc_from_run(const struct plan_args *a, char *source,
                                    size_t srclen, struct plan_basis *basis,
                                    int *rc)
{
    char err[512];
    const char *path = a->db_path ? a->db_path : getenv("MIGSIM_DB");
    if (!path || !*path) {
        path = DB_DEFAULT_PATH;
    }
    struct db *db = db_open_existing(path, err, sizeof(err));
    if (!db) {
        cli_error("%s", err);
        *rc = EXIT_IO;
        return NULL;
    }
    /* a run selector as every command takes them: ID, 'last', A-B of one */
    char *sel[1] = {(char *)a->run_sel};
    int64_t *ids = NULL;
    size_t nids = 0;
    int r = db_select_runs(db, sel, 1, &ids, &nids, err, sizeof(err));
    long long id = r == 0 && nids == 1 ? (long long)ids[0] : 0;
    free(ids);
    if (r != 0 || nids != 1) {
        if (r == 0) {
            snprintf(err, sizeof(err), "--run %s: selects %zu runs, not one",
                     a->run_sel, nids);
        }
        cli_error("%s", err);
        db_close(db);
        /* no such run: 3, as before; a bad or multiple selector: 2 */
        *rc = r == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_USAGE;
        return NULL;
    }
    struct db_run_meta m;
    struct run_result rr;
    r = db_run_load(db, id, &m, &rr, err, sizeof(err));
    db_close(db);
    if (r) {
        cli_error("%s", err);
        *rc = r == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_IO;
        return NULL;
    }
    snprintf(source, srclen, "%s run #%lld", path, id);
    struct scn_doc *doc = NULL;
    int fail_rc = EXIT_DATA;
    if (m.scenario_json) {
        doc = scn_doc_parse(m.scenario_json, source, err, sizeof(err));
    } else if (m.kind == DB_KIND_REPLAY && m.source_path[0]) {
        doc = doc_from_trace(m.source_path, source, a->calibration, basis,
                             &fail_rc);
        err[0] = '\0'; /* said */
    } else {
        snprintf(err, sizeof(err),
                 "run #%lld (%s) holds no scenario and no trace file to "
                 "rebuild one from",
                 id, db_kind_name(m.kind));
    }
    db_run_meta_free(&m);
    run_result_free(&rr);
    if (!doc) {
        if (err[0]) {
            cli_error("%s", err);
        }
        *rc = fail_rc;
    }
    return doc;
}

/* The input scenario (file, --run or --trace) with --set, --qemu and
 * --ram-mode applied; NULL with *rc and a message. */
static struct scn_doc *load_input(const struct plan_args *a, char *source,
                                  size_t srclen, struct plan_basis *basis,
                                  int *rc)
{
    char err[512];
    struct scn_doc *doc;
    if (a->run_sel) {
        doc = doc_from_run(a, source, srclen, basis, rc);
        if (!doc) {
            return NULL;
        }
    } else {
        if (a->trace) {
            snprintf(source, srclen, "trace %s", a->trace);
            doc = doc_from_trace(a->trace, source, a->calibration, basis, rc);
            if (!doc) {
                return NULL;
            }
        } else {
            snprintf(source, srclen, "%s", a->scenario);
            doc = scn_doc_load(a->scenario, err, sizeof(err));
            if (!doc) {
                cli_error("%s", err);
                *rc = cli_input_rc(a->scenario);
                return NULL;
            }
        }
    }
    *rc = cli_apply_sets(doc, a->sets, a->n_sets);
    if (*rc == EXIT_OK && a->qemu && set_str(doc, "qemu", a->qemu)) {
        *rc = EXIT_USAGE;
    }
    if (*rc == EXIT_OK && a->calibration &&
        cli_set_calibration(doc, a->calibration, err, sizeof(err))) {
        cli_error("%s", err);
        *rc = EXIT_USAGE;
    }
    if (*rc == EXIT_OK && a->ram_mode &&
        set_str(doc, "sim.ram_mode", a->ram_mode)) {
        *rc = EXIT_USAGE;
    }
    if (*rc != EXIT_OK) {
        scn_doc_free(doc);
        return NULL;
    }
    return doc;
}

/* --frontier LIST as downtime-limits in ns; EXIT_OK or an exit code. */
static int parse_frontier(const char *list, int64_t **fr_out, size_t *nfr)
{
    char err[512];
    char **vals;
    if (plan_values_parse(list, false, &vals, nfr, err, sizeof(err))) {
        cli_error("--frontier: %s", err);
        return EXIT_USAGE;
    }
    int rc = EXIT_OK;
    int64_t *fr = calloc(*nfr ? *nfr : 1, sizeof(*fr));
    for (size_t i = 0; i < *nfr; i++) {
        if (rc == EXIT_OK && fr &&
            (units_parse_time(vals[i], 0, &fr[i], err, sizeof(err)) ||
             fr[i] <= 0)) {
            cli_error("--frontier: %s", fr[i] <= 0 ? vals[i] : err);
            rc = EXIT_USAGE;
        } else if (rc == EXIT_OK && fr &&
                   qmp_downtime_limit_check("--frontier", fr[i], false, err,
                                            sizeof(err))) {
            cli_error("%s (%s)", err, vals[i]);
            rc = EXIT_USAGE;
        }
        free(vals[i]);
    }
    free(vals);
    if (!fr) {
        cli_error("out of memory");
        rc = EXIT_INTERNAL;
    }
    *fr_out = fr;
    return rc;
}

/* Print the answer (table or JSON) and draw it; the exit code. */
static int report(const struct plan_args *a, const struct plan_result *res,
                  const char *source, int64_t saved, int rc)
{
    if (a->fmt == CLI_FMT_JSON) {
        json_t *j = plan_result_json(res, source, saved);
        if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ||
            fputc('\n', stdout) == EOF) {
            rc = EXIT_IO;
        }
        json_decref(j);
    } else {
        plan_result_print(stdout, res, source, saved);
    }
    if (a->plot && rc == EXIT_OK) {
        rc = draw(res, a->plot);
    }
    /* 1: nothing meets both budgets, or the advice is refused (nothing to
     * apply; the reason is printed) */
    if (rc == EXIT_OK && (res->best < 0 || !res->advice.ok)) {
        rc = EXIT_NO;
    }
    return rc;
}

int cmd_plan(int argc, char **argv)
{
    struct plan_args a;
    int pr = parse_args(argc, argv, &a);
    if (pr >= 0) {
        return pr;
    }
    char source[1000], err[512];
    int rc;
    struct plan_basis basis;
    memset(&basis, 0, sizeof(basis));
    struct scn_doc *doc = load_input(&a, source, sizeof(source), &basis, &rc);
    if (!doc) {
        return rc;
    }
    if (!basis.source[0]) {
        snprintf(basis.source, sizeof(basis.source), "%.500s", source);
    }
    if (a.calibration && !basis.calibration[0] &&
        cli_abs_path(a.calibration, basis.calibration,
                     sizeof(basis.calibration), err, sizeof(err)) < 0) {
        basis.calibration[0] = '\0';
    }
    int64_t *fr = NULL;
    size_t nfr = 0;
    if (a.frontier) {
        rc = parse_frontier(a.frontier, &fr, &nfr);
    }
    struct scenario chk;
    if (rc == EXIT_OK && scn_resolve(doc, &chk, err, sizeof(err))) {
        cli_error("%s", err);
        rc = EXIT_DATA;
    }
    struct plan_result res;
    if (rc == EXIT_OK) {
        struct plan_cfg cfg = {
            .base = doc,
            .policies = a.policies,
            .n_policies = a.n_pol,
            .max_total_ns = a.max_total,
            .max_downtime_ns = a.max_down,
            .at_limit_ns = a.at_limit,
            .seeds = a.seeds,
            .jobs = a.jobs,
            .frontier_ns = fr,
            .n_frontier = nfr,
            .page_mode = a.ram_mode && strcmp(a.ram_mode, "page") == 0,
            .safety = a.safety,
            .layer = a.layer,
            .basis = &basis,
        };
        if (plan_run(&cfg, &res, err, sizeof(err))) {
            cli_error("%s: %s", source, err);
            rc = EXIT_DATA;
        } else {
            int64_t saved = 0;
            if (a.db_path) {
                saved = save_answer(
                    doc, &res, source,
                    a.run_sel ? NULL : (a.trace ? a.trace : a.scenario),
                    a.db_path);
            }
            rc = report(&a, &res, source, saved > 0 ? saved : 0,
                        saved < 0 ? EXIT_IO : EXIT_OK);
        }
        plan_result_free(&res);
    }
    free(fr);
    scn_doc_free(doc);
    return rc;
}
