/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cli/cmd_plan.c — `migsim plan`: the smallest converging downtime-limit
 * within the budgets, the downtime to expect with it, the frontier, the
 * policies that meet both budgets, and the commands to apply the answer.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "plots/plot.h"
#include "policy/policy.h"
#include "engine/engine.h"
#include "model/mig.h"
#include "run/scenario.h"
#include "base/units.h"
#include "store/db.h"
#include "traces/replay.h"

#define MAX_SETS 64
#define MIB      (UINT64_C(1) << 20)

static void usage(FILE *f)
{
    fprintf(
        f,
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
        "  SCENARIO              scenario file (- for stdin)\n"
        "      --run ID          the scenario of a stored simulated run (see "
        "--db)\n"
        "      --trace FILE      a QEMU trace or query-migrate record: plan "
        "on the\n"
        "                        scenario rebuilt from its trace-derived "
        "inputs (as\n"
        "                        'migsim replay --scenario' writes it)\n"
        "\n"
        "Options:\n"
        "      --max-total TIME  total-time budget (default 10min)\n"
        "      --max-downtime TIME  downtime budget (default 1s)\n"
        "  -p, --policy SPEC     policy to plan for (repeatable; the first "
        "is the one\n"
        "                        asked about).  Default: qemu, plus "
        "auto-converge\n"
        "                        (guest dirties memory) and avail-switchover-"
        "bandwidth:\n"
        "                        <real throughput> (QEMU 8.2+)\n"
        "      --seeds N         seeds for stochastic scenarios (default "
        "5)\n"
        "      --at-limit TIME   downtime-limit for the max-bandwidth search\n"
        "                        (default: the scenario's)\n"
        "      --frontier LIST   frontier limits, e.g. 100ms..2s:100ms or "
        "1ms..2000s*2\n"
        "                        (default: 1 2 5 10 ... ms up to 2000 s)\n"
        "  -j, --jobs N          simulation threads (default: all CPUs)\n"
        "  -s, --set KEY=VALUE   override a scenario key (repeatable)\n"
        "  -q, --qemu VERSION    override the QEMU version (%s)\n"
        "      --ram-mode MODE   page or aggregate (default aggregate unless "
        "the\n"
        "                        scenario sets sim.ram_mode)\n"
        "  -f, --format FMT      table (default) or json\n"
        "      --plot FILE       frontier figure (.png or .svg, gnuplot): "
        "downtime and\n"
        "                        total time against the limit, every "
        "policy, up to\n"
        "                        3x the answer (at least 1 s and 2x "
        "--max-downtime)\n"
        "      --db FILE         run store: --run reads from it (a replayed "
        "run is\n"
        "                        rebuilt from its trace file); when given, "
        "the run at\n"
        "                        the answer (first seed, with its series) is "
        "saved\n"
        "                        there (default for --run: $MIGSIM_DB or "
        "%s)\n"
        "  -h, --help            this text\n"
        "\n"
        "Method: the frontier limits are simulated first; where the outcome "
        "is monotone\nin the limit (no converging limit below a failing one) "
        "the edge is bisected\nto 1 ms and checked just above; otherwise the "
        "answer is the smallest limit\nabove which every simulated limit "
        "converged, and the output says where\nmonotonicity failed.  If two "
        "seeds give different results the scenario is\nstochastic: every "
        "seed is searched, the answer is the largest per-seed limit,\nwith "
        "mean, sd and 95%% intervals over the seeds.\n"
        "\n"
        "JSON output: {\"policy\", \"min_downtime_limit_ms\", "
        "\"expected_downtime_ms\",\n\"expected_total_ms\", "
        "\"avail_switchover_bandwidth_bps\", \"max_bandwidth_needed\",\n"
        "\"meets_budgets\", \"monotone\", \"stochastic\", \"frontier\": "
        "[{\"downtime_limit_ms\",\n\"outcome\", \"total_ms\", "
        "\"downtime_ms\", ...}], \"policies\": [...], \"commands\"}\n",
        scn_qemu_list(), DB_DEFAULT_PATH);
    cli_print_exit_codes(f);
}

static const char *fmt_t(double ms, char *buf, size_t len)
{
    if (!isfinite(ms)) {
        snprintf(buf, len, "-");
        return buf;
    }
    return units_fmt_time((int64_t)llround(ms * 1e6), buf, len);
}

static json_t *j_num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *stat_json(const struct plan_stat *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(s->n));
    json_object_set_new(o, "mean", j_num_or_null(s->mean));
    json_object_set_new(o, "sd", j_num_or_null(s->sd));
    json_object_set_new(o, "min", j_num_or_null(s->min));
    json_object_set_new(o, "max", j_num_or_null(s->max));
    json_t *ci = json_array();
    json_array_append_new(ci, j_num_or_null(s->ci_lo));
    json_array_append_new(ci, j_num_or_null(s->ci_hi));
    json_object_set_new(o, "ci95", ci);
    return o;
}

/* A reporting variant other than qemu in the spec? */
static bool needs_patched_qemu(const char *spec)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(buf, "+", &save); t;
         t = strtok_r(NULL, "+", &save)) {
        t[strcspn(t, ":")] = '\0';
        const struct pol_ops *o = pol_find(t);
        if (o && o->is_reporting && strcmp(o->name, "qemu") != 0) {
            return true;
        }
    }
    return false;
}

/* QMP commands and virsh lines for the answer of policy o. */
static void commands(const struct plan_result *r, const struct plan_policy *o,
                     json_t **qmp_out, json_t **virsh_out)
{
    json_t *qmp = json_array(), *virsh = json_array();
    *qmp_out = qmp;
    *virsh_out = virsh;
    if (!o->found) {
        return;
    }
    const struct scenario *a = &o->applied;
    int64_t ms = o->min_limit_ns / SIM_MS;
    json_t *caps = json_array();
    struct {
        bool on;
        const char *name;
    } cl[] = {
        {a->auto_converge, "auto-converge"},
        {a->dirty_limit, "dirty-limit"},
        {a->postcopy_ram, "postcopy-ram"},
        {a->switchover_ack, "return-path"},
        {a->switchover_ack, "switchover-ack"},
        {a->pause_before_switchover, "pause-before-switchover"},
    };
    for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
        if (cl[i].on) {
            json_array_append_new(caps, json_pack("{s:s,s:b}", "capability",
                                                  cl[i].name, "state", 1));
        }
    }
    if (json_array_size(caps)) {
        json_array_append_new(qmp,
                              json_pack("{s:s,s:{s:o}}", "execute",
                                        "migrate-set-capabilities", "arguments",
                                        "capabilities", caps));
    } else {
        json_decref(caps);
    }
    json_t *args = json_object();
    json_object_set_new(args, "downtime-limit", json_integer(ms));
    json_object_set_new(args, "max-bandwidth",
                        json_integer((json_int_t)a->max_bandwidth_bps));
    if (qv_has_avail_switchover_bw(a->qemu) &&
        a->avail_switchover_bandwidth_bps) {
        json_object_set_new(
            args, "avail-switchover-bandwidth",
            json_integer((json_int_t)a->avail_switchover_bandwidth_bps));
    }
    if (a->auto_converge) {
        json_object_set_new(args, "cpu-throttle-initial",
                            json_integer(a->cpu_throttle_initial));
        json_object_set_new(args, "cpu-throttle-increment",
                            json_integer(a->cpu_throttle_increment));
        json_object_set_new(args, "max-cpu-throttle",
                            json_integer(a->max_cpu_throttle));
    }
    if (a->dirty_limit) {
        json_object_set_new(
            args, "vcpu-dirty-limit",
            json_integer((json_int_t)(a->vcpu_dirty_limit_bps / 1000000)));
    }
    json_array_append_new(qmp, json_pack("{s:s,s:o}", "execute",
                                         "migrate-set-parameters", "arguments",
                                         args));
    char line[256];
    snprintf(line, sizeof(line), "virsh migrate-setmaxdowntime DOMAIN %" PRId64,
             ms);
    json_array_append_new(virsh, json_string(line));
    if (a->max_bandwidth_bps) {
        snprintf(line, sizeof(line), "virsh migrate-setspeed DOMAIN %" PRIu64,
                 (a->max_bandwidth_bps + MIB - 1) / MIB);
    } else {
        snprintf(line, sizeof(line),
                 "# max-bandwidth 0 (unlimited): no migrate-setspeed cap");
    }
    json_array_append_new(virsh, json_string(line));
    if (a->auto_converge || a->postcopy_ram) {
        snprintf(line, sizeof(line),
                 "# start with: virsh migrate --live%s%s DOMAIN URI",
                 a->auto_converge ? " --auto-converge" : "",
                 a->postcopy_ram ? " --postcopy" : "");
        json_array_append_new(virsh, json_string(line));
    }
    (void)r;
}

static json_t *frontier_json(const struct plan_policy *o, unsigned seeds)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < o->n_frontier; i++) {
        const struct plan_frontier_row *w = &o->frontier[i];
        json_t *e = json_object();
        json_object_set_new(e, "downtime_limit_ms",
                            json_integer(w->limit_ns / SIM_MS));
        const char *oc =
            w->n_ok == w->n_runs && w->n_runs
                ? "converged"
                : (w->n_ok ? "mixed" : run_outcome_name(w->outcome));
        if (w->n_ok == 0 && w->outcome == RUN_CONVERGED) {
            oc = "over-budget"; /* converged after the time budget */
        }
        json_object_set_new(e, "outcome", json_string(oc));
        json_object_set_new(e, "total_ms", j_num_or_null(w->total_ms));
        json_object_set_new(e, "downtime_ms", j_num_or_null(w->downtime_ms));
        if (seeds > 1) {
            json_object_set_new(e, "converged_runs", json_integer(w->n_ok));
            json_object_set_new(e, "runs", json_integer(w->n_runs));
        }
        json_object_set_new(e, "min", json_boolean(w->is_min));
        json_array_append_new(arr, e);
    }
    return arr;
}

static json_t *plan_json(const struct plan_result *r, const char *source,
                         int64_t saved_id)
{
    const struct plan_policy *t = &r->pol[r->top];
    json_t *o = json_object();
    json_object_set_new(o, "scenario", json_string(r->scn.name));
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "qemu", json_string(scn_qemu_name(r->scn.qemu)));
    json_object_set_new(o, "ram_mode",
                        json_string(r->aggregate ? "aggregate" : "page"));
    json_object_set_new(o, "max_total_ms",
                        json_real((double)r->max_total_ns / 1e6));
    json_object_set_new(o, "max_downtime_ms",
                        json_real((double)r->max_downtime_ns / 1e6));
    json_object_set_new(o, "policy", json_string(t->policy));
    json_object_set_new(o, "recommended_policy",
                        r->best >= 0 ? json_string(r->pol[r->best].policy)
                                     : json_null());
    json_object_set_new(o, "meets_budgets", json_boolean(t->meets));
    json_object_set_new(o, "stochastic", json_boolean(r->stochastic));
    json_object_set_new(o, "seeds", json_integer(r->seeds));
    json_object_set_new(o, "min_downtime_limit_ms",
                        t->found ? json_integer(t->min_limit_ns / SIM_MS)
                                 : json_null());
    json_object_set_new(o, "expected_downtime_ms",
                        t->found ? j_num_or_null(t->downtime_ms.mean)
                                 : json_null());
    json_object_set_new(o, "expected_total_ms",
                        t->found ? j_num_or_null(t->total_ms.mean)
                                 : json_null());
    json_object_set_new(o, "monotone", json_boolean(t->monotone));
    if (t->note[0]) {
        json_object_set_new(o, "monotone_note", json_string(t->note));
    }
    if (t->found) {
        json_object_set_new(o, "min_downtime_limit_per_seed_ms",
                            stat_json(&t->seed_limit_ms));
        json_object_set_new(o, "expected_downtime", stat_json(&t->downtime_ms));
        json_object_set_new(o, "expected_src_downtime",
                            stat_json(&t->src_downtime_ms));
        json_object_set_new(o, "expected_total", stat_json(&t->total_ms));
        json_object_set_new(o, "converged_seeds", json_integer(t->n_ok));
        json_t *ci = json_array();
        json_array_append_new(ci, json_real(t->p_lo));
        json_array_append_new(ci, json_real(t->p_hi));
        json_object_set_new(o, "convergence_ci95", ci);
    }
    json_object_set_new(o, "avail_switchover_bandwidth_bps",
                        json_real(r->avail_switchover_bps));
    json_t *bw = json_object();
    json_object_set_new(bw, "downtime_limit_ms",
                        json_integer(r->at_limit_ns / SIM_MS));
    json_object_set_new(
        bw, "max_bandwidth_bps",
        r->bw_found ? json_integer((json_int_t)r->max_bandwidth_needed_bps)
                    : json_null());
    if (r->bw_note[0]) {
        json_object_set_new(bw, "note", json_string(r->bw_note));
    }
    json_object_set_new(o, "max_bandwidth_needed", bw);
    json_object_set_new(o, "frontier", frontier_json(t, r->seeds));
    json_t *pols = json_array();
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct plan_policy *p = &r->pol[i];
        json_t *e = json_object();
        json_object_set_new(e, "policy", json_string(p->policy));
        if (p->error[0]) {
            json_object_set_new(e, "error", json_string(p->error));
            json_array_append_new(pols, e);
            continue;
        }
        json_object_set_new(e, "min_downtime_limit_ms",
                            p->found ? json_integer(p->min_limit_ns / SIM_MS)
                                     : json_null());
        json_object_set_new(e, "expected_downtime_ms",
                            p->found ? j_num_or_null(p->downtime_ms.mean)
                                     : json_null());
        json_object_set_new(e, "expected_total_ms",
                            p->found ? j_num_or_null(p->total_ms.mean)
                                     : json_null());
        json_object_set_new(e, "meets_budgets", json_boolean(p->meets));
        json_object_set_new(e, "monotone", json_boolean(p->monotone));
        if (p->found) {
            json_object_set_new(e, "exact_calls",
                                j_num_or_null(p->exact_calls.mean));
            json_object_set_new(e, "sync_time_ms",
                                j_num_or_null(p->sync_time_ms.mean));
            json_object_set_new(e, "max_throttle_pct",
                                j_num_or_null(p->max_throttle_pct.mean));
            json_object_set_new(e, "spin_ms", j_num_or_null(p->spin_ms.mean));
            json_object_set_new(e, "converged_seeds", json_integer(p->n_ok));
        }
        json_array_append_new(pols, e);
    }
    json_object_set_new(o, "policies", pols);
    json_t *qmp, *virsh;
    commands(r, t, &qmp, &virsh);
    json_t *cmd = json_object();
    json_object_set_new(cmd, "qmp", qmp);
    json_object_set_new(cmd, "virsh", virsh);
    json_object_set_new(o, "commands", cmd);
    if (saved_id > 0) {
        json_object_set_new(o, "run_id", json_integer(saved_id));
    }
    json_object_set_new(o, "simulations", json_integer((json_int_t)r->sims));
    return o;
}

static void print_table(const struct plan_result *r, const char *source,
                        int64_t saved_id, FILE *f)
{
    const struct plan_policy *t = &r->pol[r->top];
    char a[32], b[32], c[32], d[32];
    fprintf(f, "plan: %s — %s  (QEMU %s model, %s RAM mode)\n", source,
            r->scn.name[0] ? r->scn.name : "(unnamed)",
            scn_qemu_name(r->scn.qemu), r->aggregate ? "aggregate" : "page");
    fprintf(f, "budgets: total <= %s, downtime <= %s; policy %s",
            units_fmt_time(r->max_total_ns, a, sizeof(a)),
            units_fmt_time(r->max_downtime_ns, b, sizeof(b)), t->policy);
    if (r->stochastic) {
        fprintf(f, "; stochastic: %u seeds from %" PRIu64 "\n", r->seeds,
                r->scn.seed);
    } else {
        fprintf(f, "; deterministic (two seeds agree)\n");
    }
    fputc('\n', f);
    if (!t->found) {
        fprintf(f, "no downtime-limit up to 2000 s converges within %s%s\n",
                units_fmt_time(r->max_total_ns, a, sizeof(a)),
                r->stochastic ? " for every seed" : "");
    } else {
        fprintf(f, "  smallest converging downtime-limit  %s",
                units_fmt_time(t->min_limit_ns, a, sizeof(a)));
        if (r->seeds > 1) {
            fprintf(f, "  (per seed: mean %s, sd %s, %s .. %s)",
                    fmt_t(t->seed_limit_ms.mean, a, sizeof(a)),
                    fmt_t(t->seed_limit_ms.sd, b, sizeof(b)),
                    fmt_t(t->seed_limit_ms.min, c, sizeof(c)),
                    fmt_t(t->seed_limit_ms.max, d, sizeof(d)));
        }
        fputc('\n', f);
        fprintf(f, "  expected downtime with it           %s",
                fmt_t(t->downtime_ms.mean, a, sizeof(a)));
        if (r->seeds > 1) {
            fprintf(f, "  (95%% CI %s .. %s, max %s)",
                    fmt_t(t->downtime_ms.ci_lo, b, sizeof(b)),
                    fmt_t(t->downtime_ms.ci_hi, c, sizeof(c)),
                    fmt_t(t->downtime_ms.max, d, sizeof(d)));
        }
        fprintf(f,
                "  (guest-visible, device save/load included; "
                "query-migrate shows %s)\n",
                fmt_t(t->src_downtime_ms.mean, a, sizeof(a)));
        fprintf(f, "  expected total time                 %s\n",
                fmt_t(t->total_ms.mean, a, sizeof(a)));
        if (r->seeds > 1) {
            fprintf(f,
                    "  converging seeds at it              %u/%u (95%% CI "
                    "%.2f .. %.2f)\n",
                    t->n_ok, t->n_seeds, t->p_lo, t->p_hi);
        }
        fprintf(f, "  search                              %s\n",
                t->monotone ? "outcome monotone in the limit; bisected to "
                              "1 ms and checked above"
                            : t->note);
    }
    fprintf(f, "  budgets                             %s",
            t->meets ? "met" : "NOT met");
    if (t->found && !t->meets) {
        if (t->n_ok < t->n_seeds) {
            fprintf(f, " (%u of %u seeds converge)", t->n_ok, t->n_seeds);
        } else {
            fprintf(f, " (downtime up to %s > %s)",
                    fmt_t(t->downtime_ms.max, a, sizeof(a)),
                    units_fmt_time(r->max_downtime_ns, b, sizeof(b)));
        }
    }
    fputc('\n', f);
    fprintf(f,
            "  avail-switchover-bandwidth          %s  (real switchover "
            "throughput%s)\n",
            units_fmt_rate(r->avail_switchover_bps, a, sizeof(a)),
            qv_has_avail_switchover_bw(r->scn.qemu)
                ? ""
                : "; the parameter exists from 8.2");
    fprintf(f, "  max-bandwidth needed at %-10s  ",
            units_fmt_time(r->at_limit_ns, a, sizeof(a)));
    if (r->bw_found) {
        fprintf(
            f, "%s (virsh migrate-setspeed DOMAIN %" PRIu64 ")%s%s\n",
            units_fmt_rate((double)r->max_bandwidth_needed_bps, b, sizeof(b)),
            r->max_bandwidth_needed_bps / MIB, r->bw_note[0] ? "; " : "",
            r->bw_note);
    } else {
        fprintf(f, "none: %s\n", r->bw_note);
    }

    fprintf(f, "\nfrontier (policy %s):\n", t->policy);
    fprintf(f, "  %-12s %-12s %12s %12s%s\n", "limit", "outcome", "total",
            "downtime", r->seeds > 1 ? "   seeds ok" : "");
    for (size_t i = 0; i < t->n_frontier; i++) {
        const struct plan_frontier_row *w = &t->frontier[i];
        const char *oc =
            w->n_ok == w->n_runs && w->n_runs
                ? "converged"
                : (w->n_ok ? "mixed" : run_outcome_name(w->outcome));
        if (w->n_ok == 0 && w->outcome == RUN_CONVERGED) {
            oc = "over-budget";
        }
        fprintf(f, "  %-12s %-12s %12s %12s",
                units_fmt_time(w->limit_ns, a, sizeof(a)), oc,
                fmt_t(w->total_ms, b, sizeof(b)),
                fmt_t(w->downtime_ms, c, sizeof(c)));
        if (r->seeds > 1) {
            fprintf(f, "   %u/%u", w->n_ok, w->n_runs);
        }
        fprintf(f, "%s\n", w->is_min ? "   <- smallest" : "");
    }

    fprintf(f, "\npolicies (both budgets):\n");
    fprintf(f, "  %-34s %10s %10s %10s %6s %8s %9s %8s\n", "policy",
            "min limit", "downtime", "total", "meets", "exact()", "sync",
            "throttle");
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct plan_policy *p = &r->pol[i];
        if (p->error[0]) {
            fprintf(f, "  %-34s not applicable: %s\n", p->policy, p->error);
            continue;
        }
        if (!p->found) {
            fprintf(f, "  %-34s %10s %10s %10s %6s\n", p->policy, "none", "-",
                    "-", "no");
            continue;
        }
        fprintf(f, "  %-34s %10s %10s %10s %6s %8.0f %9s %7.0f%%\n", p->policy,
                units_fmt_time(p->min_limit_ns, a, sizeof(a)),
                fmt_t(p->downtime_ms.mean, b, sizeof(b)),
                fmt_t(p->total_ms.mean, c, sizeof(c)), p->meets ? "yes" : "no",
                p->exact_calls.mean, fmt_t(p->sync_time_ms.mean, d, sizeof(d)),
                p->max_throttle_pct.mean);
    }
    if (r->best < 0) {
        fprintf(f, "  (no policy meets both budgets)\n");
    }

    if (t->found) {
        json_t *qmp, *virsh;
        commands(r, t, &qmp, &virsh);
        fprintf(f, "\napply (%s, downtime-limit %s):\n", t->policy,
                units_fmt_time(t->min_limit_ns, a, sizeof(a)));
        size_t i;
        json_t *v;
        json_array_foreach(qmp, i, v)
        {
            char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fprintf(f, "  %s\n", s ? s : "");
            free(s);
        }
        json_array_foreach(virsh, i, v)
        {
            fprintf(f, "  %s\n", json_string_value(v));
        }
        if (needs_patched_qemu(t->policy)) {
            fprintf(f,
                    "  # %s changes how QEMU reports pending data: it "
                    "needs a QEMU with that change;\n  # the commands "
                    "above only set the parameters\n",
                    t->policy);
        }
        json_decref(qmp);
        json_decref(virsh);
    }
    if (saved_id > 0) {
        fprintf(f, "\nrun at the answer stored as #%" PRId64 "\n", saved_id);
    }
    fprintf(f, "\n(%" PRIu64 " simulations, %.2f s)\n", r->sims, r->wall_s);
}

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

/* The scenario rebuilt from a trace's derived inputs. */
static struct scn_doc *doc_from_trace(const char *path, const char *src,
                                      char *err, size_t errlen)
{
    struct trc_replay_options ro;
    memset(&ro, 0, sizeof(ro));
    struct trc_replay rep;
    const char *files[1] = {path};
    if (trc_replay_run(files, 1, &ro, &rep, err, errlen)) {
        return NULL;
    }
    const struct trc_derived_inputs *di = &rep.inputs;
    char b[32];
    fprintf(stderr,
            "migsim: plan: trace-derived inputs of %s: QEMU %s (%s); "
            "bandwidth %s%s; %u device(s)\n",
            path, scn_qemu_name(di->qemu), di->qemu_guess,
            units_fmt_rate(di->bandwidth_bps > 0 ? di->bandwidth_bps
                                                 : di->bandwidth_assumed_bps,
                           b, sizeof(b)),
            di->bandwidth_bps > 0 ? " measured" : " assumed (not in the trace)",
            di->n_devices);
    char *js = trc_scenario_json(di);
    struct scn_doc *d = NULL;
    if (!js) {
        snprintf(err, errlen, "out of memory");
    } else {
        d = scn_doc_parse(js, src, err, errlen);
    }
    free(js);
    trc_replay_free(&rep);
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

int cmd_plan(int argc, char **argv)
{
    const char *policies[PLAN_MAX_POLICIES];
    size_t n_pol = 0;
    const char *sets[MAX_SETS];
    unsigned n_sets = 0;
    const char *qemu = NULL, *ram_mode = NULL, *run_sel = NULL;
    const char *trace = NULL, *plot = NULL, *frontier = NULL;
    const char *db_path = NULL;
    int64_t max_total = 600 * SIM_S, max_down = SIM_S, at_limit = 0;
    unsigned seeds = 0, jobs = 0;
    enum cli_format fmt = CLI_FMT_TABLE;
    char err[512];
    static const struct option opts[] = {
        {"max-total", required_argument, NULL, 'T'},
        {"max-downtime", required_argument, NULL, 'D'},
        {"policy", required_argument, NULL, 'p'},
        {"seeds", required_argument, NULL, 'S'},
        {"at-limit", required_argument, NULL, 'L'},
        {"frontier", required_argument, NULL, 'F'},
        {"jobs", required_argument, NULL, 'j'},
        {"set", required_argument, NULL, 's'},
        {"qemu", required_argument, NULL, 'q'},
        {"ram-mode", required_argument, NULL, 'R'},
        {"format", required_argument, NULL, 'f'},
        {"plot", required_argument, NULL, 'P'},
        {"db", required_argument, NULL, 'd'},
        {"run", required_argument, NULL, 'r'},
        {"trace", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "p:j:s:q:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'T':
        case 'D':
        case 'L': {
            int64_t ns;
            if (units_parse_time(optarg, 0, &ns, err, sizeof(err)) || ns <= 0) {
                cli_error("--%s: %s",
                          c == 'T' ? "max-total"
                                   : (c == 'D' ? "max-downtime" : "at-limit"),
                          ns <= 0 ? "must be > 0" : err);
                return EXIT_USAGE;
            }
            *(c == 'T' ? &max_total : (c == 'D' ? &max_down : &at_limit)) = ns;
            break;
        }
        case 'p':
            if (n_pol == PLAN_MAX_POLICIES) {
                cli_error("at most %d policies", PLAN_MAX_POLICIES);
                return EXIT_USAGE;
            }
            policies[n_pol++] = optarg;
            break;
        case 'S':
        case 'j': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 1 || v > (c == 'S' ? PLAN_MAX_SEEDS : 1024)) {
                cli_error("--%s: expected 1..%d", c == 'S' ? "seeds" : "jobs",
                          c == 'S' ? PLAN_MAX_SEEDS : 1024);
                return EXIT_USAGE;
            }
            *(c == 'S' ? &seeds : &jobs) = (unsigned)v;
            break;
        }
        case 'F':
            frontier = optarg;
            break;
        case 's':
            if (n_sets == MAX_SETS) {
                cli_error("at most %d --set", MAX_SETS);
                return EXIT_USAGE;
            }
            sets[n_sets++] = optarg;
            break;
        case 'q':
            qemu = optarg;
            break;
        case 'R':
            if (strcmp(optarg, "page") != 0 &&
                strcmp(optarg, "aggregate") != 0) {
                cli_error("--ram-mode: page or aggregate");
                return EXIT_USAGE;
            }
            ram_mode = optarg;
            break;
        case 'f':
            if (cli_parse_format(optarg, &fmt)) {
                return EXIT_USAGE;
            }
            if (fmt == CLI_FMT_CSV) {
                cli_error("plan prints table or json");
                return EXIT_USAGE;
            }
            break;
        case 'P':
            plot = optarg;
            break;
        case 'd':
            db_path = optarg;
            break;
        case 'r':
            run_sel = optarg;
            break;
        case 't':
            trace = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    int inputs = (optind < argc) + (run_sel != NULL) + (trace != NULL);
    if (inputs != 1 || argc - optind > 1) {
        cli_error("give one of SCENARIO, --run ID or --trace FILE (see "
                  "'migsim plan --help')");
        return EXIT_USAGE;
    }
    struct scn_doc *doc = NULL;
    char source[1000];
    if (run_sel) {
        char *end;
        long long id = strtoll(run_sel, &end, 10);
        if (*end || id <= 0) {
            cli_error("--run: expected a run id, not '%s'", run_sel);
            return EXIT_USAGE;
        }
        const char *path = db_path ? db_path : getenv("MIGSIM_DB");
        if (!path || !*path) {
            path = DB_DEFAULT_PATH;
        }
        struct db *db = db_open_existing(path, err, sizeof(err));
        if (!db) {
            cli_error("%s", err);
            return EXIT_IO;
        }
        struct db_run_meta m;
        struct run_result rr;
        int rc = db_run_load(db, id, &m, &rr, err, sizeof(err));
        db_close(db);
        if (rc) {
            cli_error("%s", err);
            return rc == DB_ERR_NOTFOUND ? EXIT_DATA : EXIT_IO;
        }
        snprintf(source, sizeof(source), "%s run #%lld", path, id);
        if (m.scenario_json) {
            doc = scn_doc_parse(m.scenario_json, source, err, sizeof(err));
        } else if (m.kind == DB_KIND_REPLAY && m.source_path[0]) {
            doc = doc_from_trace(m.source_path, source, err, sizeof(err));
        } else {
            snprintf(err, sizeof(err),
                     "run #%lld (%s) holds no scenario and no trace file to "
                     "rebuild one from",
                     id, db_kind_name(m.kind));
        }
        db_run_meta_free(&m);
        run_result_free(&rr);
    } else if (trace) {
        snprintf(source, sizeof(source), "trace %s", trace);
        doc = doc_from_trace(trace, source, err, sizeof(err));
    } else {
        snprintf(source, sizeof(source), "%s", argv[optind]);
        doc = scn_doc_load(argv[optind], err, sizeof(err));
    }
    if (!doc) {
        cli_error("%s", err);
        return EXIT_DATA;
    }
    int rc = EXIT_OK;
    for (unsigned i = 0; i < n_sets && rc == EXIT_OK; i++) {
        if (scn_doc_set(doc, sets[i], err, sizeof(err))) {
            cli_error("%s", err);
            rc = EXIT_USAGE;
        }
    }
    if (rc == EXIT_OK && qemu && set_str(doc, "qemu", qemu)) {
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK && ram_mode && set_str(doc, "sim.ram_mode", ram_mode)) {
        rc = EXIT_USAGE;
    }
    int64_t *fr = NULL;
    size_t nfr = 0;
    if (rc == EXIT_OK && frontier) {
        char **vals;
        if (plan_values_parse(frontier, false, &vals, &nfr, err, sizeof(err))) {
            cli_error("--frontier: %s", err);
            rc = EXIT_USAGE;
        } else {
            fr = calloc(nfr, sizeof(*fr));
            for (size_t i = 0; i < nfr; i++) {
                if (rc == EXIT_OK && fr &&
                    (units_parse_time(vals[i], 0, &fr[i], err, sizeof(err)) ||
                     fr[i] <= 0)) {
                    cli_error("--frontier: %s", fr[i] <= 0 ? vals[i] : err);
                    rc = EXIT_USAGE;
                }
                free(vals[i]);
            }
            free(vals);
            if (!fr) {
                cli_error("out of memory");
                rc = EXIT_INTERNAL;
            }
        }
    }
    struct scenario chk;
    if (rc == EXIT_OK && scn_resolve(doc, &chk, err, sizeof(err))) {
        cli_error("%s", err);
        rc = EXIT_DATA;
    }
    if (rc != EXIT_OK) {
        free(fr);
        scn_doc_free(doc);
        return rc;
    }
    struct plan_cfg cfg = {
        .base = doc,
        .policies = policies,
        .n_policies = n_pol,
        .max_total_ns = max_total,
        .max_downtime_ns = max_down,
        .at_limit_ns = at_limit,
        .seeds = seeds,
        .jobs = jobs,
        .frontier_ns = fr,
        .n_frontier = nfr,
        .page_mode = ram_mode && strcmp(ram_mode, "page") == 0,
    };
    struct plan_result res;
    if (plan_run(&cfg, &res, err, sizeof(err))) {
        cli_error("%s: %s", source, err);
        plan_result_free(&res);
        free(fr);
        scn_doc_free(doc);
        return EXIT_DATA;
    }
    int64_t saved = 0;
    if (db_path) {
        saved = save_answer(doc, &res, source,
                            run_sel ? NULL : (trace ? trace : argv[optind]),
                            db_path);
        if (saved < 0) {
            rc = EXIT_IO;
        }
    }
    if (fmt == CLI_FMT_JSON) {
        json_t *j = plan_json(&res, source, saved);
        if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ||
            fputc('\n', stdout) == EOF) {
            rc = EXIT_IO;
        }
        json_decref(j);
    } else {
        print_table(&res, source, saved, stdout);
    }
    if (plot && rc == EXIT_OK) {
        rc = draw(&res, plot);
    }
    if (rc == EXIT_OK && res.best < 0) {
        rc = EXIT_NO;
    }
    plan_result_free(&res);
    free(fr);
    scn_doc_free(doc);
    return rc;
}
