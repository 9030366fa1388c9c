/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/plan_layers.c — a management layer's own knobs, searched at the
 * advised value of the policy's knob (docs/planner.md, "The layer's own
 * knobs"):
 *   nova-steps  live_migration_downtime_steps x live_migration_downtime_delay
 *               (a small grid) at the advised live_migration_downtime, then
 *               live_migration_completion_timeout = the slowest seed's total
 *               x the safety factor, per GiB of Nova's data size;
 *   kubevirt    dynamic=on: the proposals' steps x cooldown at the advised
 *               max; then (also without dynamic) completionTimeoutPerGiB as
 *               Nova's timeout and progressTimeout from a series (kept at
 *               the value in force unless the plan needs more).
 * Only knobs the models honour (policy/nova.c, policy/kubevirt.c), within
 * the layers' limits; every choice checked on every seed.
 */
#include "plan/plan.h"
#include "plan/plan_priv.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"
#include "engine/engine.h"
#include "policy/policy.h"

#define NOVA_GIB 1073741824.0
#define MAX_GRID 6

/* One simulated setting of the layer. */
struct cand {
    unsigned steps;
    int64_t t_s; /* Nova delay per GiB / KubeVirt cooldown */
    bool given;  /* the values of the policy spec */
    bool ok;     /* every seed converged within the budget */
    unsigned n_ok;
    struct plan_stat down, tot;
};

/* Statistics of every seed's run; true when all converged in the budget. */
static bool summarize(const struct planner *P, const struct run_metrics **r,
                      unsigned *n_ok, struct plan_stat *down,
                      struct plan_stat *tot)
{
    unsigned K = plan_nseeds(P), n = 0;
    double d[PLAN_MAX_SEEDS], t[PLAN_MAX_SEEDS];
    for (unsigned j = 0; j < K; j++) {
        if (plan_run_ok(P, r[j])) {
            d[n] = (double)r[j]->downtime_ns / 1e6;
            t[n] = (double)r[j]->total_ns / 1e6;
            n++;
        }
    }
    plan_stat_compute(down, d, n);
    plan_stat_compute(tot, t, n);
    *n_ok = n;
    return n == K;
}

/* A whole-time argument of part (in unit), or def. */
static int64_t given_time(const char *spec, const char *part, const char *key,
                          int64_t unit, int64_t def)
{
    char v[64], e[100];
    int64_t ns;
    if (plan_spec_arg(spec, part, key, v, sizeof(v)) &&
        units_parse_time(v, unit, &ns, e, sizeof(e)) == 0) {
        return ns / unit;
    }
    return def;
}

static unsigned given_count(const char *spec, const char *part, const char *key,
                            unsigned def)
{
    char v[64];
    if (plan_spec_arg(spec, part, key, v, sizeof(v))) {
        char *end;
        unsigned long k = strtoul(v, &end, 10);
        if (end != v && !*end) {
            return (unsigned)k;
        }
    }
    return def;
}

/* spec with key=value pairs (NULL-terminated list) set in part. */
static int spec_set(const char *spec, const char *part, const char *const *kv,
                    char *out, size_t len)
{
    char cur[PLAN_SPEC_LEN];
    snprintf(cur, sizeof(cur), "%s", spec);
    for (size_t i = 0; kv[i]; i += 2) {
        if (plan_spec_with(cur, part, kv[i], kv[i + 1], out, len)) {
            return -1;
        }
        snprintf(cur, sizeof(cur), "%s", out);
    }
    snprintf(out, len, "%s", cur);
    return 0;
}

/* Is a better than b?  Every seed converging first; then the slowest seed
 * within the time budget over the safety factor, and the largest downtime
 * within the downtime budget; among those the shorter mean total (the
 * migration done soonest), then the shorter downtime, then the given
 * values, then fewer steps and the shorter time. */
static bool better(const struct cand *a, const struct cand *b, double tot_cap,
                   double down_cap)
{
    if (a->ok != b->ok) {
        return a->ok;
    }
    bool ma = a->ok && a->tot.max <= tot_cap,
         mb = b->ok && b->tot.max <= tot_cap;
    if (ma != mb) {
        return ma;
    }
    bool da = a->ok && a->down.max <= down_cap;
    bool db = b->ok && b->down.max <= down_cap;
    if (da != db) {
        return da;
    }
    if (a->tot.mean != b->tot.mean) {
        return a->tot.mean < b->tot.mean;
    }
    if (a->down.mean != b->down.mean) {
        return a->down.mean < b->down.mean;
    }
    if (a->given != b->given) {
        return a->given;
    }
    if (a->steps != b->steps) {
        return a->steps < b->steps;
    }
    return a->t_s < b->t_s;
}

/* Sorted distinct values of v[0..n) (n <= MAX_GRID). */
static size_t uniq(int64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || v[u - 1] != v[i]) {
            v[u++] = v[i];
        }
    }
    return u;
}

struct grid {
    const char *part; /* "nova-steps" / "kubevirt" */
    const char *steps_key, *time_key;
    int64_t steps[MAX_GRID], times[MAX_GRID];
    size_t ns, nt;
    const char *const *fixed; /* more key=value pairs for every point */
};

/* Simulate every steps x time point at the knob value ms; the best in
 * *best.  combos counts the points.  -1 out of memory. */
static int ramp_grid(struct planner *P, unsigned p, const struct grid *g,
                     int64_t ms, double safety, unsigned steps_given,
                     int64_t time_given, struct cand *best, unsigned *combos)
{
    const char *sp = plan_given_spec(P, p);
    const struct run_metrics *runs[PLAN_MAX_SEEDS];
    double cap = (double)plan_budget_total_ns(P) / 1e6 / safety;
    double dcap = (double)plan_budget_downtime_ns(P) / 1e6;
    bool have = false;
    for (size_t i = 0; i < g->ns; i++) {
        for (size_t k = 0; k < g->nt; k++) {
            char sv[24], tv[24], spec[PLAN_SPEC_LEN], spec2[PLAN_SPEC_LEN];
            snprintf(sv, sizeof(sv), "%" PRId64, g->steps[i]);
            snprintf(tv, sizeof(tv), "%" PRId64 "s", g->times[k]);
            const char *kv[] = {g->steps_key, sv, g->time_key, tv, NULL};
            if (spec_set(sp, g->part, kv, spec, sizeof(spec)) ||
                spec_set(spec, g->part, g->fixed, spec2, sizeof(spec2)) ||
                plan_eval_spec(P, p, spec2, ms, runs)) {
                return -1;
            }
            (*combos)++;
            struct cand c = {.steps = (unsigned)g->steps[i],
                             .t_s = g->times[k]};
            c.given = c.steps == steps_given && c.t_s == time_given;
            c.ok = summarize(P, runs, &c.n_ok, &c.down, &c.tot);
            if (!have || better(&c, best, cap, dcap)) {
                *best = c;
                have = true;
            }
        }
    }
    return 0;
}

/* A per-GiB timeout for the slowest total tot_ms with the margin: whole
 * seconds, at least 1, at most PLAN_MAX_TIMEOUT_S. */
static int64_t per_gib_timeout(double tot_ms, double safety, double data)
{
    double t = ceil(tot_ms / 1e3 * safety - 1e-9);
    int64_t v = (int64_t)ceil(t / (data > 0 ? data : 1) - 1e-9);
    return v < 1 ? 1 : (v > PLAN_MAX_TIMEOUT_S ? PLAN_MAX_TIMEOUT_S : v);
}

/* The final spec of the layer's values; every seed at ms.  true when all
 * converge (lk's statistics filled). */
static int check_final(struct planner *P, unsigned p, const char *part,
                       const char *const *kv, int64_t ms,
                       struct plan_layer_advice *lk, bool *all)
{
    char spec[PLAN_SPEC_LEN];
    const struct run_metrics *runs[PLAN_MAX_SEEDS];
    if (spec_set(plan_given_spec(P, p), part, kv, spec, sizeof(spec)) ||
        plan_eval_spec(P, p, spec, ms, runs)) {
        return -1;
    }
    lk->n_seeds = plan_nseeds(P);
    *all = summarize(P, runs, &lk->n_ok, &lk->downtime_ms, &lk->total_ms);
    return 0;
}

static double nova_data_gib(const struct scenario *s)
{
    double ram = (double)s->ram_bytes / NOVA_GIB;
    double dev = 0;
    for (unsigned i = 0; i < s->n_devices; i++) {
        dev += (double)s->devices[i].stop_copy_bytes;
    }
    return (ram < 2.0 ? 2.0 : ram) + dev / NOVA_GIB;
}

static double kv_data_gb(const struct scenario *s)
{
    uint64_t b = s->ram_bytes;
    for (unsigned i = 0; i < s->n_devices; i++) {
        b += s->devices[i].stop_copy_bytes;
    }
    return (double)(b / 1000000000u + (b % 1000000000u ? 1 : 0));
}

/* Timeout ct (per GiB, with key) checked; doubled up to three times when a
 * seed does not make it, else none (0).  The value used in *ct. */
static int settle_timeout(struct planner *P, unsigned p, const char *part,
                          const char **kv, size_t ct_slot, int64_t ms,
                          struct plan_layer_advice *lk, int64_t *ct, char *buf,
                          size_t len)
{
    bool all = false;
    for (int round = 0; round < 5 && !all; round++) {
        if (round == 4) {
            *ct = 0; /* none: nothing aborts it */
        }
        snprintf(buf, len, "%" PRId64 "s", *ct);
        kv[ct_slot] = buf;
        if (check_final(P, p, part, kv, ms, lk, &all)) {
            return -1;
        }
        if (!all && round < 3) {
            *ct = *ct * 2 > PLAN_MAX_TIMEOUT_S ? PLAN_MAX_TIMEOUT_S : *ct * 2;
        }
    }
    return 0;
}

static int nova_search(struct planner *P, unsigned p, struct plan_result *out)
{
    struct plan_advice *a = &out->advice;
    struct plan_layer_advice *lk = &a->lk;
    const char *sp = plan_given_spec(P, p);
    int64_t ms = a->value_ns / SIM_MS;
    lk->searched = lk->nova = true;
    if (!plan_spec_arg(sp, "nova-steps", "action", lk->action,
                       sizeof(lk->action))) {
        snprintf(lk->action, sizeof(lk->action), "abort");
    }
    bool force = strcmp(lk->action, "force_complete") == 0;
    unsigned sg = given_count(sp, "nova-steps", "steps", 10);
    int64_t dg = given_time(sp, "nova-steps", "delay", SIM_S, 75);
    int64_t ctg =
        given_time(sp, "nova-steps", "completion_timeout", SIM_S, 800);
    char ctv[24];
    snprintf(ctv, sizeof(ctv), "%" PRId64 "s", ctg);
    /* the ramp without the abort (a force_complete keeps its timeout) */
    const char *fixed[] = {"completion_timeout", force ? ctv : "0s", NULL};
    struct grid g = {"nova-steps",
                     "steps",
                     "delay",
                     {PLAN_NOVA_MIN_STEPS, 5, 10, 20, 40, sg},
                     {PLAN_NOVA_MIN_DELAY_S, 10, 30, 75, 150, dg},
                     MAX_GRID,
                     MAX_GRID,
                     fixed};
    g.ns = uniq(g.steps, g.ns);
    g.nt = uniq(g.times, g.nt);
    struct cand best = {.ok = false};
    if (ramp_grid(P, p, &g, ms, a->safety, sg, dg, &best, &lk->combos)) {
        return -1;
    }
    lk->steps = best.steps;
    lk->delay_s = best.t_s;
    lk->data_gib = nova_data_gib(plan_base_scn(P));
    lk->completion_s = per_gib_timeout(best.tot.max, a->safety, lk->data_gib);
    char sv[24], dv[24], cv[24];
    snprintf(sv, sizeof(sv), "%u", lk->steps);
    snprintf(dv, sizeof(dv), "%" PRId64 "s", lk->delay_s);
    const char *kv[] = {"steps", sv,  "delay", dv, "completion_timeout",
                        NULL,    NULL};
    if (settle_timeout(P, p, "nova-steps", kv, 5, ms, lk, &lk->completion_s, cv,
                       sizeof(cv))) {
        return -1;
    }
    size_t off = 0;
    char t1[32], t2[32];
    plan_app(
        lk->how, sizeof(lk->how), &off,
        "searched live_migration_downtime_steps {%s} x "
        "live_migration_downtime_delay {%s} s/GiB (%u combinations) at "
        "live_migration_downtime %" PRId64 " ms: steps %u, delay %" PRId64
        " s/GiB %s (mean downtime %s, slowest total %s)",
        "3,5,10,20,40 and the given", "3,10,30,75,150 and the given",
        lk->combos, ms, lk->steps, lk->delay_s,
        best.ok && best.tot.max <=
                       (double)plan_budget_total_ns(P) / 1e6 / a->safety
            ? "finish soonest with every seed converging within the "
              "time budget over the safety factor"
            : "finish soonest (no combination has every seed within the "
              "time budget over the safety factor)",
        units_fmt_time((int64_t)llround(best.down.mean * 1e6), t1, sizeof(t1)),
        units_fmt_time((int64_t)llround(best.tot.max * 1e6), t2, sizeof(t2)));
    plan_app(lk->how, sizeof(lk->how), &off,
             "; live_migration_completion_timeout %" PRId64
             " s/GiB = the slowest total x %.2f over Nova's data size %.2f GiB "
             "(%s)",
             lk->completion_s, a->safety, lk->data_gib,
             lk->completion_s ? "checked on every seed"
                              : "0, none: a timeout aborted a seed");
    if (plan_base_scn(P)->postcopy_ram) {
        snprintf(lk->postcopy, sizeof(lk->postcopy),
                 "the scenario allows post-copy: with "
                 "live_migration_permit_post_copy = true and "
                 "live_migration_timeout_action = force_complete, Nova "
                 "switches to post-copy once the completion timeout (%.0f s) "
                 "passes instead of aborting; the planned migration completes "
                 "in %s, before it",
                 (double)lk->completion_s * lk->data_gib,
                 units_fmt_time((int64_t)llround(lk->total_ms.max * 1e6), t1,
                                sizeof(t1)));
    }
    return 0;
}

/* The smallest progressTimeout of a series from which every larger one
 * converges too (at the chosen ramp, no completion timeout); -1 if the
 * largest does not. */
static int progress_search(struct planner *P, unsigned p, const char **kv,
                           size_t slot, int64_t ms, int64_t *ans)
{
    static const int64_t series[] = {1,    2,    5,    10,    20,    30,   60,
                                     90,   120,  150,  200,   300,   600,  1200,
                                     1800, 3600, 7200, 14400, 28800, 86400};
    size_t n = sizeof(series) / sizeof(series[0]);
    *ans = -1;
    struct plan_layer_advice tmp;
    for (size_t i = n; i-- > 0;) {
        char v[24];
        bool all;
        snprintf(v, sizeof(v), "%" PRId64 "s", series[i]);
        kv[slot] = v;
        memset(&tmp, 0, sizeof(tmp));
        if (check_final(P, p, "kubevirt", kv, ms, &tmp, &all)) {
            return -1;
        }
        if (!all) {
            break;
        }
        *ans = series[i];
    }
    return 0;
}

/* The dynamic proposal's steps x cooldown at max ms (progress_timeout pv
 * kept: it is the stall switch's window). */
static int kv_ramp(struct planner *P, unsigned p, int64_t ms, double safety,
                   const char *pv, struct plan_layer_advice *lk)
{
    const char *fixed[] = {"completion_timeout_per_gib", "0s",
                           "progress_timeout", pv, NULL};
    struct grid g = {"kubevirt",
                     "steps",
                     "cooldown",
                     {PLAN_KV_MIN_STEPS, 3, 7, 15, 30, lk->steps},
                     {PLAN_KV_MIN_COOLDOWN, 3, 10, 30, 60, lk->cooldown_s},
                     MAX_GRID,
                     MAX_GRID,
                     fixed};
    g.ns = uniq(g.steps, g.ns);
    g.nt = uniq(g.times, g.nt);
    struct cand best = {.ok = false};
    if (ramp_grid(P, p, &g, ms, safety, lk->steps, lk->cooldown_s, &best,
                  &lk->combos)) {
        return -1;
    }
    lk->steps = best.steps;
    lk->cooldown_s = best.t_s;
    return 0;
}

/* What the KubeVirt search did, from offset off of lk->how. */
static void kv_how(struct plan_layer_advice *lk, int64_t ms, int64_t pans,
                   int64_t pg, double safety, size_t off)
{
    char t1[32];
    if (lk->dynamic) {
        plan_app(lk->how, sizeof(lk->how), &off,
                 "searched the dynamic ramp's steps {1,3,7,15,30 and the "
                 "given} x cooldown {1,3,10,30,60 s and the given} (%u "
                 "combinations) at max %" PRId64
                 " ms: steps %u, cooldown %" PRId64 " s; ",
                 lk->combos, ms, lk->steps, lk->cooldown_s);
    } else {
        plan_app(lk->how, sizeof(lk->how), &off,
                 "at the downtime-limit in force (%" PRId64
                 " ms; KubeVirt does not set it): ",
                 ms);
    }
    plan_app(lk->how, sizeof(lk->how), &off,
             "progressTimeout %" PRId64
             " s (%s); completionTimeoutPerGiB %" PRId64
             " = the slowest total %s x %.2f over %.0f GB (%s)",
             lk->progress_s,
             pans == 1 || lk->progress_s == pg
                 ? "the value in force: every seed converges with it and "
                   "the plan needs no more"
                 : "the smallest converging value of the series x the safety "
                   "factor",
             lk->completion_s,
             units_fmt_time((int64_t)llround(lk->total_ms.max * 1e6), t1,
                            sizeof(t1)),
             safety, lk->data_gib,
             lk->completion_s ? "checked on every seed"
                              : "0, none: a timeout aborted a seed");
}

static int kubevirt_search(struct planner *P, unsigned p,
                           struct plan_result *out)
{
    struct plan_advice *a = &out->advice;
    struct plan_layer_advice *lk = &a->lk;
    const char *sp = plan_given_spec(P, p);
    const struct scenario *b = plan_base_scn(P);
    lk->searched = true;
    lk->dynamic = a->knob == PLAN_KNOB_KUBEVIRT_MAX;
    /* released KubeVirt does not set the limit: the one in force */
    int64_t ms =
        lk->dynamic ? a->value_ns / SIM_MS : b->downtime_limit_ns / SIM_MS;
    lk->at_limit_ms = lk->dynamic ? 0 : ms;
    int64_t pg = given_time(sp, "kubevirt", "progress_timeout", SIM_S, 150);
    int64_t ctg =
        given_time(sp, "kubevirt", "completion_timeout_per_gib", SIM_S, 150);
    lk->steps = given_count(sp, "kubevirt", "steps", 7);
    lk->cooldown_s = given_time(sp, "kubevirt", "cooldown", SIM_S, 10);
    char pv[24];
    snprintf(pv, sizeof(pv), "%" PRId64 "s", pg);
    if (lk->dynamic && kv_ramp(P, p, ms, a->safety, pv, lk)) {
        return -1;
    }
    char sv[24], cdv[24], ctv[24];
    snprintf(sv, sizeof(sv), "%u", lk->steps);
    snprintf(cdv, sizeof(cdv), "%" PRId64 "s", lk->cooldown_s);
    const char *kv[] = {"completion_timeout_per_gib",
                        "0s",
                        "progress_timeout",
                        pv,
                        lk->dynamic ? "steps" : NULL,
                        sv,
                        "cooldown",
                        cdv,
                        NULL};
    bool all;
    if (check_final(P, p, "kubevirt", kv, ms, lk, &all)) {
        return -1;
    }
    size_t off = 0;
    if (!all) {
        plan_app(lk->how, sizeof(lk->how), &off,
                 "at the downtime-limit in force (%" PRId64
                 " ms) only %u of %u seeds converge within the time budget: "
                 "KubeVirt cannot set downtime-limit and its timeouts only "
                 "abort, so no KubeVirt setting makes it converge (the "
                 "proposals' dynamic=on ramp would raise the limit); the "
                 "timeouts stay as given",
                 ms, lk->n_ok, lk->n_seeds);
        lk->completion_s = ctg;
        lk->progress_s = pg;
        lk->searched = false;
        return 0;
    }
    /* progressTimeout: raised only when the plan needs more than the value
     * in force */
    int64_t pans;
    if (progress_search(P, p, kv, 3, ms, &pans)) {
        return -1;
    }
    int64_t need = pans < 0 ? pg : (int64_t)ceil((double)pans * a->safety);
    lk->progress_s = pans == 1 || need < pg ? pg : need;
    if (lk->progress_s > PLAN_MAX_TIMEOUT_S) {
        lk->progress_s = PLAN_MAX_TIMEOUT_S;
    }
    snprintf(pv, sizeof(pv), "%" PRId64 "s", lk->progress_s);
    kv[3] = pv;
    if (check_final(P, p, "kubevirt", kv, ms, lk, &all)) {
        return -1;
    }
    lk->data_gib = kv_data_gb(b);
    lk->completion_s =
        per_gib_timeout(lk->total_ms.max, a->safety, lk->data_gib);
    if (settle_timeout(P, p, "kubevirt", kv, 1, ms, lk, &lk->completion_s, ctv,
                       sizeof(ctv))) {
        return -1;
    }
    kv_how(lk, ms, pans, pg, a->safety, off);
    return 0;
}

int plan_layer_search(struct planner *P, unsigned p, struct plan_result *out)
{
    struct plan_advice *a = &out->advice;
    const char *sp = plan_given_spec(P, p);
    memset(&a->lk, 0, sizeof(a->lk));
    if (a->knob == PLAN_KNOB_NOVA) {
        return nova_search(P, p, out);
    }
    if (a->knob == PLAN_KNOB_KUBEVIRT_MAX ||
        (strncmp(sp, "kubevirt", 8) == 0 &&
         strchr(":+", sp[8] ? sp[8] : '+')) ||
        strstr(sp, "+kubevirt")) {
        return kubevirt_search(P, p, out);
    }
    return 0;
}
