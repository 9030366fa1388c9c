/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/plan.c — the planner: smallest converging downtime-limit per policy
 * (frontier, monotonicity check, bisection), seeds and statistics for
 * stochastic scenarios, the max-bandwidth needed at a limit, and the real
 * switchover throughput.  Simulations run on a small thread pool; every
 * (policy, limit, seed, bandwidth) is simulated once (cache).
 */
#include "plan/plan.h"
#include "plan/plan_priv.h"
#include "base/err.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>

#include "policy/policy.h"
#include "engine/engine.h"
#include "base/units.h"

#define MIB             (UINT64_C(1) << 20)
#define DEFAULT_SEEDS   5
#define POST_ROUNDS     3 /* re-bisections after a failed post-check */
#define MAX_SEARCH_GRID 4096

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- statistics --------------------------------------------------------- */

void plan_stat_compute(struct plan_stat *st, const double *v, unsigned n)
{
    memset(st, 0, sizeof(*st));
    st->n = n;
    if (n == 0) {
        st->mean = st->sd = st->min = st->max = NAN;
        st->ci_lo = st->ci_hi = NAN;
        return;
    }
    st->mean = gsl_stats_mean(v, 1, n);
    gsl_stats_minmax(&st->min, &st->max, v, 1, n);
    if (n < 2) {
        st->ci_lo = st->ci_hi = st->mean;
        return;
    }
    st->sd = gsl_stats_sd_m(v, 1, n, st->mean);
    double half =
        gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * st->sd / sqrt((double)n);
    st->ci_lo = st->mean - half;
    st->ci_hi = st->mean + half;
}

/* Clopper-Pearson 95 % interval of x successes in n. */
static void binom_ci(unsigned x, unsigned n, double *lo, double *hi)
{
    if (n == 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    *lo =
        x == 0 ? 0.0 : gsl_cdf_beta_Pinv(0.025, (double)x, (double)(n - x + 1));
    *hi = x == n ? 1.0
                 : gsl_cdf_beta_Pinv(0.975, (double)(x + 1), (double)(n - x));
}

/* ---- switchover throughput ---------------------------------------------- */

double plan_switchover_bps(const struct scenario *s,
                           const struct run_metrics *m)
{
    double link = (double)s->link_bandwidth_bps;
    double ram_tp = link;
    if (s->multifd_channels && s->multifd_channel_bps) {
        double ch =
            (double)s->multifd_channels * (double)s->multifd_channel_bps;
        ram_tp = ch < link ? ch : link;
    }
    bool run = m && m->outcome == RUN_CONVERGED;
    double bytes = 0, secs = 0, dev = 0;
    for (unsigned i = 0; i < s->n_devices; i++) {
        double b = run && i < m->n_devices
                       ? (double)m->devices[i].stop_copy_bytes
                       : (double)s->devices[i].stop_copy_bytes;
        double r = link;
        if (s->devices[i].read_bps && (double)s->devices[i].read_bps < r) {
            r = (double)s->devices[i].read_bps;
        }
        dev += b;
        secs += b / r;
    }
    bytes += dev;
    double ni = (double)s->non_iterable_bytes;
    for (unsigned i = 0; i < s->n_devices; i++) {
        ni += (double)s->devices[i].config_bytes;
    }
    if (run) {
        double ram = (double)m->downtime_bytes - dev - ni;
        if (ram > 0) {
            bytes += ram;
            secs += ram / ram_tp;
        }
        bytes += ni;
        secs += ni / link;
    }
    if (bytes <= 0 || secs <= 0) {
        return ram_tp;
    }
    return bytes / secs;
}

/* ---- thread pool -------------------------------------------------------- */

struct pool {
    size_t n;
    atomic_size_t next;
    void (*fn)(void *ctx, size_t i);
    void *ctx;
};

static void *pool_thread(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) {
            break;
        }
        p->fn(p->ctx, i);
    }
    return NULL;
}

/* Run fn(ctx, 0..n-1) on up to jobs threads (the caller is one of them). */
static void pool_run(unsigned jobs, size_t n, void (*fn)(void *, size_t),
                     void *ctx)
{
    struct pool p = {.n = n, .fn = fn, .ctx = ctx};
    atomic_init(&p.next, 0);
    size_t extra = jobs > 1 && n > 1 ? (jobs < n ? jobs : n) - 1 : 0;
    pthread_t th[64];
    if (extra > 64) {
        extra = 64;
    }
    size_t started = 0;
    for (size_t i = 0; i < extra; i++) {
        if (pthread_create(&th[i], NULL, pool_thread, &p) != 0) {
            break;
        }
        started++;
    }
    pool_thread(&p);
    for (size_t i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
    }
}

/* ---- evaluation with a cache -------------------------------------------- */

struct probe {
    unsigned pol;
    unsigned seed; /* index: seed = base seed + index */
    int64_t limit_ms;
    uint64_t bw_bps; /* 0 = the scenario's max-bandwidth */
    unsigned var;    /* 0: the policy's spec; k: spec variant k */
};

struct entry {
    struct probe k;
    int rc;
    char err[200];
    struct run_metrics m;
};

struct planner {
    const struct plan_cfg *cfg;
    struct scenario base;
    unsigned npol;
    char *pol[PLAN_MAX_POLICIES];
    bool pol_bad[PLAN_MAX_POLICIES];
    enum plan_knob knob[PLAN_MAX_POLICIES];
    unsigned jobs, seeds;
    int64_t max_total_ns, max_down_ns;
    struct mig_options mo;
    struct entry *cache;
    size_t ncache, capcache;
    /* policy spec variants of the layer search (plan_layers.c), [0] unused */
    char var[PLAN_MAX_VARIANTS + 1][PLAN_SPEC_LEN];
    unsigned nvar;
    uint64_t sims;
    bool oom;
};

static bool same_probe(const struct probe *a, const struct probe *b)
{
    return a->pol == b->pol && a->seed == b->seed &&
           a->limit_ms == b->limit_ms && a->bw_bps == b->bw_bps &&
           a->var == b->var;
}

static struct entry *lookup(struct planner *P, const struct probe *k)
{
    for (size_t i = P->ncache; i-- > 0;) {
        if (same_probe(&P->cache[i].k, k)) {
            return &P->cache[i];
        }
    }
    return NULL;
}

struct batch {
    struct planner *P;
    struct entry *e;
};

/* ---- the knob a policy's search varies ---------------------------------- */

const char *plan_knob_name(enum plan_knob k)
{
    switch (k) {
    case PLAN_KNOB_NOVA:
        return "live_migration_downtime";
    case PLAN_KNOB_KUBEVIRT_MAX:
        return "maxDowntimeMs";
    case PLAN_KNOB_LIMIT:
        break;
    }
    return "downtime-limit";
}

/* The part of spec named name ("nova-steps"): its arguments (after ':',
 * "" if none) in args; 1 if present. */
static int spec_part(const char *spec, const char *name, char *args, size_t len)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *t = strtok_r(buf, "+", &save); t;
         t = strtok_r(NULL, "+", &save)) {
        char *c = strchr(t, ':');
        if (c) {
            *c = '\0';
        }
        if (strcmp(t, name) == 0) {
            snprintf(args, len, "%s", c ? c + 1 : "");
            return 1;
        }
    }
    return 0;
}

int plan_spec_arg(const char *spec, const char *part, const char *key,
                  char *out, size_t len)
{
    char args[160];
    return spec_part(spec, part, args, sizeof(args)) &&
           pol_arg(args, key, 0, out, len);
}

/* The knob a Nova or KubeVirt (dynamic=on) policy sets itself. */
static enum plan_knob spec_knob(const char *spec)
{
    char args[160], v[16];
    if (spec_part(spec, "nova-steps", args, sizeof(args))) {
        return PLAN_KNOB_NOVA;
    }
    if (spec_part(spec, "kubevirt", args, sizeof(args)) &&
        pol_arg(args, "dynamic", 0, v, sizeof(v)) &&
        (strcmp(v, "on") == 0 || strcmp(v, "true") == 0)) {
        return PLAN_KNOB_KUBEVIRT_MAX;
    }
    return PLAN_KNOB_LIMIT;
}

/* Smallest value of the knob the layer takes (ms). */
static int64_t knob_min_ms(enum plan_knob k)
{
    return k == PLAN_KNOB_NOVA ? PLAN_NOVA_MIN_DOWNTIME_MS : 1;
}

void plan_app(char *out, size_t len, size_t *off, const char *fmt, ...)
{
    if (*off >= len) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *off, len - *off, fmt, ap);
    va_end(ap);
    *off = n < 0 ? len : *off + (size_t)n;
}

int plan_spec_with(const char *spec, const char *part, const char *key,
                   const char *value, char *out, size_t len)
{
    size_t kl = strlen(key);
    char buf[PLAN_SPEC_LEN];
    snprintf(buf, sizeof(buf), "%s", spec);
    size_t off = 0;
    out[0] = '\0';
    bool found = false;
    char *save = NULL;
    for (char *t = strtok_r(buf, "+", &save); t;
         t = strtok_r(NULL, "+", &save)) {
        char *c = strchr(t, ':');
        char *args = c ? c + 1 : NULL;
        if (c) {
            *c = '\0';
        }
        plan_app(out, len, &off, "%s%s", off ? "+" : "", t);
        if (strcmp(t, part) != 0) {
            plan_app(out, len, &off, "%s%s", args ? ":" : "", args ? args : "");
            continue;
        }
        found = true;
        plan_app(out, len, &off, ":");
        char *s2 = NULL;
        for (char *a = args ? strtok_r(args, ",", &s2) : NULL; a;
             a = strtok_r(NULL, ",", &s2)) {
            if (!(strncmp(a, key, kl) == 0 && a[kl] == '=')) {
                plan_app(out, len, &off, "%s,", a);
            }
        }
        plan_app(out, len, &off, "%s=%s", key, value);
    }
    return found && off < len ? 0 : -1;
}

/* spec with the knob's argument (Nova downtime=, KubeVirt max=) set to
 * ms; the other parts and arguments as given. */
static void knob_spec(const char *spec, enum plan_knob k, int64_t ms, char *out,
                      size_t len)
{
    char v[32];
    snprintf(v, sizeof(v), "%" PRId64 "ms", ms);
    plan_spec_with(spec, k == PLAN_KNOB_NOVA ? "nova-steps" : "kubevirt",
                   k == PLAN_KNOB_NOVA ? "downtime" : "max", v, out, len);
}

static void run_one(void *ctx, size_t i)
{
    struct batch *b = ctx;
    struct entry *e = &b->e[i];
    struct scenario s = b->P->base;
    enum plan_knob k = b->P->knob[e->k.pol];
    char spec[PLAN_SPEC_LEN];
    const char *given = e->k.var ? b->P->var[e->k.var] : b->P->pol[e->k.pol];
    if (k == PLAN_KNOB_LIMIT) {
        s.downtime_limit_ns = e->k.limit_ms * SIM_MS;
        snprintf(spec, sizeof(spec), "%s", given);
    } else {
        /* the layer sets the limit itself: vary its own knob, never below
         * the layer's minimum */
        int64_t ms = e->k.limit_ms;
        if (ms < knob_min_ms(k)) {
            ms = knob_min_ms(k);
        }
        knob_spec(given, k, ms, spec, sizeof(spec));
    }
    s.seed = b->P->base.seed + e->k.seed;
    if (e->k.bw_bps) {
        s.max_bandwidth_bps = e->k.bw_bps;
    }
    struct run_result r;
    e->rc = mig_simulate(&s, spec, &b->P->mo, &r, e->err, sizeof(e->err));
    if (e->rc == 0) {
        e->m = r.m;
        run_result_free(&r);
    }
}

/* Simulate every probe not yet in the cache (in parallel). */
static int eval(struct planner *P, const struct probe *pr, size_t n)
{
    struct entry *todo = calloc(n ? n : 1, sizeof(*todo));
    if (!todo) {
        P->oom = true;
        return -1;
    }
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (P->pol_bad[pr[i].pol] || lookup(P, &pr[i])) {
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < nt && !dup; j++) {
            dup = same_probe(&todo[j].k, &pr[i]);
        }
        if (!dup) {
            todo[nt++].k = pr[i];
        }
    }
    if (nt) {
        struct batch b = {.P = P, .e = todo};
        pool_run(P->jobs, nt, run_one, &b);
        P->sims += nt;
        if (P->ncache + nt > P->capcache) {
            size_t nc = (P->ncache + nt) * 2;
            struct entry *c = realloc(P->cache, nc * sizeof(*c));
            if (!c) {
                free(todo);
                P->oom = true;
                return -1;
            }
            P->cache = c;
            P->capcache = nc;
        }
        memcpy(P->cache + P->ncache, todo, nt * sizeof(*todo));
        P->ncache += nt;
    }
    free(todo);
    return 0;
}

/* The run of a probe (after eval), NULL if it failed to run. */
static const struct run_metrics *got(struct planner *P, unsigned pol,
                                     unsigned seed, int64_t limit_ms,
                                     uint64_t bw)
{
    struct probe k = {pol, seed, limit_ms, bw, 0};
    struct entry *e = lookup(P, &k);
    return e && e->rc == 0 ? &e->m : NULL;
}

static bool ok_run(const struct planner *P, const struct run_metrics *m)
{
    return m && m->outcome == RUN_CONVERGED && m->total_ns <= P->max_total_ns;
}

/* ---- what the layer search borrows (plan_priv.h) ------------------------ */

int plan_eval_spec(struct planner *P, unsigned p, const char *spec, int64_t ms,
                   const struct run_metrics **runs)
{
    unsigned v = 0;
    if (spec && strcmp(spec, P->pol[p]) != 0) {
        for (unsigned i = 1; i <= P->nvar && !v; i++) {
            v = strcmp(P->var[i], spec) == 0 ? i : 0;
        }
        if (!v) {
            if (P->nvar >= PLAN_MAX_VARIANTS) {
                return -1;
            }
            v = ++P->nvar;
            snprintf(P->var[v], sizeof(P->var[v]), "%s", spec);
        }
    }
    struct probe pr[PLAN_MAX_SEEDS];
    for (unsigned j = 0; j < P->seeds; j++) {
        pr[j] = (struct probe){p, j, ms, 0, v};
    }
    if (eval(P, pr, P->seeds)) {
        return -1;
    }
    for (unsigned j = 0; j < P->seeds; j++) {
        const struct entry *e = lookup(P, &pr[j]);
        runs[j] = e && e->rc == 0 ? &e->m : NULL;
    }
    return 0;
}

unsigned plan_nseeds(const struct planner *P)
{
    return P->seeds;
}

bool plan_run_ok(const struct planner *P, const struct run_metrics *m)
{
    return ok_run(P, m);
}

const struct scenario *plan_base_scn(const struct planner *P)
{
    return &P->base;
}

int64_t plan_budget_total_ns(const struct planner *P)
{
    return P->max_total_ns;
}

int64_t plan_budget_downtime_ns(const struct planner *P)
{
    return P->max_down_ns;
}

const char *plan_given_spec(const struct planner *P, unsigned p)
{
    return P->pol[p];
}

/* ---- limit search ------------------------------------------------------- */

struct search {
    unsigned pol, seed;
    bool bw;         /* searching max-bandwidth (MiB/s), all seeds together */
    int64_t lo, hi;  /* lo fails (0 = below the range), hi converges */
    int64_t ceiling; /* the next grid value above hi's tail start */
    bool active, found, nonmono;
    unsigned post;
    char note[200];
};

/* All seeds converge at value v (bandwidth search) / this seed does. */
static bool ok_at(struct planner *P, const struct search *s, int64_t v,
                  int64_t at_ms)
{
    if (!s->bw) {
        return ok_run(P, got(P, s->pol, s->seed, v, 0));
    }
    for (unsigned j = 0; j < P->seeds; j++) {
        if (!ok_run(P, got(P, s->pol, j, at_ms, (uint64_t)v * MIB))) {
            return false;
        }
    }
    return true;
}

static size_t add_probes(struct planner *P, const struct search *s, int64_t v,
                         int64_t at_ms, struct probe *out, size_t n)
{
    if (!s->bw) {
        out[n++] = (struct probe){s->pol, s->seed, v, 0, 0};
        return n;
    }
    for (unsigned j = 0; j < P->seeds; j++) {
        out[n++] = (struct probe){s->pol, j, at_ms, (uint64_t)v * MIB, 0};
    }
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Set up a search from a grid scan: ok[i] for grid[i] ascending. */
static void search_init(struct search *s, const int64_t *grid, const bool *ok,
                        size_t n, const char *unit)
{
    size_t f = n;
    while (f > 0 && ok[f - 1]) {
        f--;
    }
    s->found = f < n;
    s->active = s->found;
    s->nonmono = false;
    s->note[0] = '\0';
    for (size_t i = 0; i + 1 < f; i++) {
        if (ok[i]) {
            s->nonmono = true;
            size_t k = i + 1;
            while (k < f && ok[k]) {
                k++;
            }
            snprintf(s->note, sizeof(s->note),
                     "not monotone: converges at %" PRId64 " %s but not at "
                     "%" PRId64 " %s",
                     grid[i], unit, grid[k], unit);
            break;
        }
    }
    if (!s->found) {
        return;
    }
    s->hi = grid[f];
    s->lo = f > 0 ? grid[f - 1] : 0;
    s->ceiling = f + 1 < n ? grid[f + 1] : grid[f];
    s->post = 0;
}

/*
 * Run searches to 1 unit (ms or MiB/s) in lockstep rounds: each round
 * probes k points per active search (k-section, k = jobs / active), then
 * checks 3 points just above each answer; a failing check re-opens the
 * search above it.
 */
/* The probe points of search s for this round (at most per inside the
 * bracket, or the post-checks just above the answer); 0 ends s. */
static size_t search_points(struct search *s, size_t per, int64_t *pts)
{
    size_t n = 0;
    if (s->hi - s->lo > 1) {
        for (size_t k = 1; k <= per; k++) {
            int64_t v =
                s->lo + (s->hi - s->lo) * (int64_t)k / (int64_t)(per + 1);
            if (v <= s->lo || v >= s->hi || (n && pts[n - 1] == v)) {
                continue;
            }
            pts[n++] = v;
        }
        return n;
    }
    /* post-check just above the answer */
    int64_t c[3] = {s->hi + 1, s->hi + (s->hi + 49) / 50,
                    s->hi + (s->hi + 9) / 10};
    for (int k = 0; k < 3; k++) {
        if (c[k] > s->hi && c[k] < s->ceiling &&
            (n == 0 || pts[n - 1] < c[k])) {
            pts[n++] = c[k];
        }
    }
    if (n == 0) {
        s->active = false;
    }
    return n;
}

static void note_nonmono(struct search *s, int64_t ok, int64_t bad,
                         const char *unit)
{
    if (!s->nonmono) {
        s->nonmono = true;
        snprintf(s->note, sizeof(s->note),
                 "not monotone: converges at %" PRId64 " %s but not at %" PRId64
                 " %s",
                 ok, unit, bad, unit);
    }
}

/* Narrow search s with the outcomes at its n probe points. */
static void search_update(struct planner *P, struct search *s,
                          const int64_t *pts, size_t n, int64_t at_ms,
                          const char *unit)
{
    bool post = s->hi - s->lo <= 1;
    bool okv[64] = {false};
    for (size_t k = 0; k < n; k++) {
        okv[k] = ok_at(P, s, pts[k], at_ms);
    }
    /* the lowest probe from which every probe above converges */
    size_t t = n;
    while (t > 0 && okv[t - 1]) {
        t--;
    }
    for (size_t k = 0; k + 1 < t; k++) {
        if (okv[k]) {
            note_nonmono(s, pts[k], pts[t - 1], unit);
        }
    }
    if (post) {
        if (t == 0) {
            s->active = false; /* all checks passed */
            return;
        }
        note_nonmono(s, s->hi, pts[t - 1], unit);
        s->lo = pts[t - 1];
        s->hi = t < n ? pts[t] : s->ceiling;
        if (++s->post > POST_ROUNDS) {
            s->active = false;
        }
        return;
    }
    if (t < n) {
        s->hi = pts[t];
    }
    if (t > 0) {
        s->lo = pts[t - 1];
    }
}

/* Probes per active search this round: the jobs shared, 1..32. */
static size_t per_search(const struct planner *P, const struct search *S,
                         size_t ns)
{
    size_t active = 0;
    for (size_t i = 0; i < ns; i++) {
        active += S[i].active;
    }
    if (active == 0) {
        return 0;
    }
    size_t per = P->jobs / active;
    return per < 1 ? 1 : (per > 32 ? 32 : per);
}

static int run_searches(struct planner *P, struct search *S, size_t ns,
                        int64_t at_ms, const char *unit)
{
    size_t cap = (size_t)(P->jobs + 4) * ns * P->seeds + 16;
    struct probe *pr = calloc(cap, sizeof(*pr));
    int64_t(*pts)[64] = calloc(ns ? ns : 1, sizeof(*pts));
    size_t *npts = calloc(ns ? ns : 1, sizeof(*npts));
    if (!pr || !pts || !npts) {
        free(pr);
        free(pts);
        free(npts);
        P->oom = true;
        return -1;
    }
    size_t per;
    while ((per = per_search(P, S, ns)) != 0) {
        size_t np = 0;
        for (size_t i = 0; i < ns; i++) {
            npts[i] = S[i].active ? search_points(&S[i], per, pts[i]) : 0;
            for (size_t k = 0; k < npts[i]; k++) {
                np = add_probes(P, &S[i], pts[i][k], at_ms, pr, np);
            }
        }
        if (np == 0 || eval(P, pr, np)) {
            break;
        }
        for (size_t i = 0; i < ns; i++) {
            if (S[i].active && npts[i] != 0) {
                search_update(P, &S[i], pts[i], npts[i], at_ms, unit);
            }
        }
    }
    free(pr);
    free(pts);
    free(npts);
    return P->oom ? -1 : 0;
}

/* ---- the plan ----------------------------------------------------------- */

static void policy_stats(struct planner *P, unsigned p, struct plan_policy *o)
{
    unsigned K = P->seeds;
    double *v = calloc(K ? K : 1, sizeof(double) * 8);
    if (!v) {
        P->oom = true;
        return;
    }
    double *down = v, *tot = v + K, *src = v + 2 * K, *ex = v + 3 * K;
    double *sync = v + 4 * K, *thr = v + 5 * K, *spin = v + 6 * K;
    unsigned nok = 0;
    int64_t L = o->min_limit_ns / SIM_MS;
    bool first = true;
    double maxdown = 0;
    for (unsigned j = 0; j < K; j++) {
        const struct run_metrics *m = got(P, p, j, L, 0);
        if (!m) {
            continue;
        }
        if (first) {
            o->run = *m;
            first = false;
        }
        if (ok_run(P, m)) {
            down[nok] = (double)m->downtime_ns / 1e6;
            src[nok] = (double)m->src_downtime_ns / 1e6;
            tot[nok] = (double)m->total_ns / 1e6;
            ex[nok] = (double)m->exact_calls;
            sync[nok] = (double)m->sync_time_ns / 1e6;
            thr[nok] = m->max_throttle_pct;
            spin[nok] = (double)m->spin_cpu_ns / 1e6;
            if (down[nok] > maxdown) {
                maxdown = down[nok];
            }
            nok++;
        }
    }
    o->n_ok = nok;
    o->n_seeds = K;
    binom_ci(nok, K, &o->p_lo, &o->p_hi);
    plan_stat_compute(&o->downtime_ms, down, nok);
    plan_stat_compute(&o->src_downtime_ms, src, nok);
    plan_stat_compute(&o->total_ms, tot, nok);
    plan_stat_compute(&o->exact_calls, ex, nok);
    plan_stat_compute(&o->sync_time_ms, sync, nok);
    plan_stat_compute(&o->max_throttle_pct, thr, nok);
    plan_stat_compute(&o->spin_ms, spin, nok);
    o->meets =
        o->found && nok == K && maxdown <= (double)P->max_down_ns / 1e6 + 1e-9;
    free(v);
}

static int frontier_rows(struct planner *P, unsigned p, const int64_t *fr,
                         size_t nfr, struct plan_policy *o)
{
    o->frontier = calloc(nfr + 1, sizeof(*o->frontier));
    int64_t *lims = calloc(nfr + 1, sizeof(*lims));
    if (!o->frontier || !lims) {
        free(lims);
        P->oom = true;
        return -1;
    }
    int64_t L = o->found ? o->min_limit_ns / SIM_MS : -1;
    size_t n = 0;
    bool placed = !o->found;
    for (size_t i = 0; i < nfr; i++) {
        if (fr[i] < knob_min_ms(P->knob[p])) {
            continue; /* the layer does not take it */
        }
        if (!placed && L <= fr[i]) {
            lims[n++] = L;
            placed = true;
        }
        if (fr[i] != L) {
            lims[n++] = fr[i];
        }
    }
    if (!placed) {
        lims[n++] = L;
    }
    for (size_t k = 0; k < n; k++) {
        struct plan_frontier_row *r = &o->frontier[k];
        r->limit_ns = lims[k] * SIM_MS;
        r->is_min = lims[k] == L;
        double tsum = 0, dsum = 0;
        unsigned nr = 0, nd = 0;
        for (unsigned j = 0; j < P->seeds; j++) {
            const struct run_metrics *m = got(P, p, j, lims[k], 0);
            if (!m) {
                continue;
            }
            if (nr == 0) {
                r->outcome = m->outcome;
            }
            nr++;
            tsum += (double)m->total_ns / 1e6;
            if (ok_run(P, m)) {
                r->n_ok++;
                dsum += (double)m->downtime_ns / 1e6;
                nd++;
            }
        }
        r->n_runs = nr;
        r->total_ms = nr ? tsum / nr : NAN;
        r->downtime_ms = nd ? dsum / nd : NAN;
    }
    o->n_frontier = n;
    free(lims);
    return 0;
}

/* Policies to compare when none are given. */
static int default_policies(struct planner *P)
{
    const struct scenario *s = &P->base;
    const char *fixed[2];
    unsigned n = 0;
    fixed[n++] = "qemu";
    if (s->ram.workload != RAM_WL_IDLE && s->ram.dirty_rate_bps) {
        fixed[n++] = "auto-converge";
    }
    for (unsigned i = 0; i < n; i++) {
        P->pol[P->npol] = strdup(fixed[i]);
        if (!P->pol[P->npol]) {
            return -1;
        }
        P->npol++;
    }
    if (qv_has_avail_switchover_bw(s->qemu)) {
        char rate[48], spec[96];
        plan_fmt_rate((uint64_t)llround(plan_switchover_bps(s, NULL)), rate,
                      sizeof(rate));
        snprintf(spec, sizeof(spec), "avail-switchover-bandwidth:%s", rate);
        P->pol[P->npol] = strdup(spec);
        if (!P->pol[P->npol]) {
            return -1;
        }
        P->npol++;
    }
    return 0;
}

static size_t search_grid(const struct plan_cfg *c, int64_t *g, int64_t *fr,
                          size_t *nfr)
{
    static const int64_t series[] = {
        1,     2,      5,      10,     20,      50,      100,
        200,   500,    1000,   2000,   5000,    10000,   20000,
        50000, 100000, 200000, 500000, 1000000, 2000000,
    };
    size_t n = 0;
    if (c->frontier_ns && c->n_frontier) {
        for (size_t i = 0; i < c->n_frontier && n < MAX_SEARCH_GRID - 2; i++) {
            int64_t ms = (c->frontier_ns[i] + SIM_MS / 2) / SIM_MS;
            if (ms < 1) {
                ms = 1;
            }
            if (ms > PLAN_MAX_LIMIT_MS) {
                ms = PLAN_MAX_LIMIT_MS;
            }
            fr[n++] = ms;
        }
    } else {
        for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
            fr[n++] = series[i];
        }
    }
    qsort(fr, n, sizeof(*fr), cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || fr[u - 1] != fr[i]) {
            fr[u++] = fr[i];
        }
    }
    *nfr = u;
    /* the search also covers 1 ms and QEMU's maximum */
    size_t m = 0;
    if (fr[0] > 1) {
        g[m++] = 1;
    }
    for (size_t i = 0; i < u; i++) {
        g[m++] = fr[i];
    }
    if (g[m - 1] < PLAN_MAX_LIMIT_MS) {
        g[m++] = PLAN_MAX_LIMIT_MS;
    }
    return m;
}

/* Scan a grid for every (policy, seed) and start the searches. */
static int limit_search(struct planner *P, const int64_t *g, size_t ng,
                        struct plan_result *out)
{
    unsigned K = P->seeds;
    size_t ns = (size_t)P->npol * K;
    struct search *S = calloc(ns, sizeof(*S));
    bool *ok = calloc(ng, sizeof(*ok));
    if (!S || !ok) {
        free(S);
        free(ok);
        P->oom = true;
        return -1;
    }
    for (unsigned p = 0; p < P->npol; p++) {
        for (unsigned j = 0; j < K; j++) {
            struct search *s = &S[p * K + j];
            s->pol = p;
            s->seed = j;
            if (P->pol_bad[p]) {
                continue;
            }
            for (size_t i = 0; i < ng; i++) {
                ok[i] = ok_run(P, got(P, p, j, g[i], 0));
            }
            search_init(s, g, ok, ng, "ms");
        }
    }
    int rc = run_searches(P, S, ns, 0, "ms");
    for (unsigned p = 0; p < P->npol && rc == 0; p++) {
        struct plan_policy *o = &out->pol[p];
        if (P->pol_bad[p]) {
            continue;
        }
        double *lim = calloc(K, sizeof(double));
        if (!lim) {
            P->oom = true;
            rc = -1;
            break;
        }
        o->found = true;
        o->monotone = true;
        int64_t L = 0;
        for (unsigned j = 0; j < K; j++) {
            const struct search *s = &S[p * K + j];
            if (!s->found) {
                o->found = false;
                continue;
            }
            lim[j] = (double)s->hi;
            if (s->hi > L) {
                L = s->hi;
            }
            if (s->nonmono && o->monotone) {
                o->monotone = false;
                if (K > 1) {
                    snprintf(o->note, sizeof(o->note), "seed %" PRIu64 ": %s",
                             P->base.seed + j, s->note);
                } else {
                    snprintf(o->note, sizeof(o->note), "%s", s->note);
                }
            }
        }
        if (o->found) {
            int64_t kmin = knob_min_ms(P->knob[p]);
            for (unsigned j = 0; j < K; j++) {
                lim[j] = lim[j] < (double)kmin ? (double)kmin : lim[j];
            }
            o->min_limit_ns = (L < kmin ? kmin : L) * SIM_MS;
            plan_stat_compute(&o->seed_limit_ms, lim, K);
        }
        free(lim);
    }
    free(S);
    free(ok);
    return rc;
}

static int bandwidth_search(struct planner *P, unsigned p, int64_t at_ms,
                            struct plan_result *out)
{
    uint64_t link_mib = (P->base.link_bandwidth_bps + MIB - 1) / MIB;
    int64_t g[80];
    size_t ng = 0;
    for (uint64_t v = 1; v < link_mib && ng < 70; v *= 2) {
        g[ng++] = (int64_t)v;
    }
    g[ng++] = (int64_t)link_mib;
    struct probe *pr = calloc(ng * P->seeds, sizeof(*pr));
    bool ok[80];
    if (!pr) {
        P->oom = true;
        return -1;
    }
    struct search s = {.pol = p, .bw = true};
    size_t np = 0;
    for (size_t i = 0; i < ng; i++) {
        np = add_probes(P, &s, g[i], at_ms, pr, np);
    }
    int rc = eval(P, pr, np);
    free(pr);
    if (rc) {
        return -1;
    }
    for (size_t i = 0; i < ng; i++) {
        ok[i] = ok_at(P, &s, g[i], at_ms);
    }
    search_init(&s, g, ok, ng, "MiB/s");
    if (!s.found) {
        char t[32], l[32];
        snprintf(
            out->bw_note, sizeof(out->bw_note),
            "does not converge within the time budget at %s even at "
            "the link's %s: bandwidth is not what holds it back",
            units_fmt_time(at_ms * SIM_MS, t, sizeof(t)),
            units_fmt_rate((double)P->base.link_bandwidth_bps, l, sizeof(l)));
        return 0;
    }
    if (run_searches(P, &s, 1, at_ms, "MiB/s")) {
        return -1;
    }
    out->bw_found = true;
    out->max_bandwidth_needed_bps = (uint64_t)s.hi * MIB;
    if (s.nonmono) {
        snprintf(out->bw_note, sizeof(out->bw_note), "%s", s.note);
    }
    return 0;
}

void plan_result_free(struct plan_result *r)
{
    if (r->pol) {
        for (size_t i = 0; i < r->n_policies; i++) {
            free(r->pol[i].frontier);
        }
        free(r->pol);
    }
    memset(r, 0, sizeof(*r));
}

/* Budgets, jobs and the resolved base scenario (aggregate RAM mode unless
 * asked otherwise); 0 or -1 with a message. */
static int setup_base(struct planner *P, const struct plan_cfg *cfg,
                      struct plan_result *out, char *err, size_t errlen)
{
    P->cfg = cfg;
    P->max_total_ns = cfg->max_total_ns > 0 ? cfg->max_total_ns : 600 * SIM_S;
    P->max_down_ns = cfg->max_downtime_ns > 0 ? cfg->max_downtime_ns : SIM_S;
    P->jobs = cfg->jobs ? cfg->jobs : plan_default_jobs();
    struct scn_doc *d = scn_doc_copy(cfg->base);
    if (!d) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    out->aggregate = false;
    if (!cfg->page_mode && !plan_doc_has(cfg->base, "sim.ram_mode") &&
        scn_doc_set(d, "sim.ram_mode=\"aggregate\"", err, errlen)) {
        scn_doc_free(d);
        return -1;
    }
    int rrc = scn_resolve(d, &P->base, err, errlen);
    scn_doc_free(d);
    if (rrc) {
        return -1;
    }
    out->aggregate = P->base.ram.mode == RAM_MODE_AGGREGATE;
    P->base.time_limit_ns = P->max_total_ns;
    mig_options_default(&P->mo);
    P->mo.no_samples = true;
    P->mo.no_events = true;
    return 0;
}

/* The policies (given or default); one that cannot be set up is reported,
 * not searched.  0, or -1 with a message (none usable, out of memory). */
static int setup_policies(struct planner *P, const struct plan_cfg *cfg,
                          struct plan_result *out, char *err, size_t errlen)
{
    if (cfg->n_policies > PLAN_MAX_POLICIES) {
        err_set(err, errlen, "at most %d policies", PLAN_MAX_POLICIES);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_policies; i++) {
        P->pol[P->npol] = strdup(cfg->policies[i]);
        if (!P->pol[P->npol]) {
            err_set(err, errlen, "out of memory");
            return -1;
        }
        P->npol++;
    }
    if (!cfg->n_policies && default_policies(P)) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    out->n_policies = P->npol;
    out->pol = calloc(P->npol, sizeof(*out->pol));
    if (!out->pol) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    unsigned good = 0;
    for (unsigned p = 0; p < P->npol; p++) {
        struct plan_policy *o = &out->pol[p];
        snprintf(o->policy, sizeof(o->policy), "%s", P->pol[p]);
        P->knob[p] = spec_knob(P->pol[p]);
        o->knob = P->knob[p];
        struct pol_chain pc;
        memset(&pc, 0, sizeof(pc));
        struct scenario t = P->base;
        if (pol_chain_setup(&pc, P->pol[p], &t, o->error, sizeof(o->error))) {
            P->pol_bad[p] = true;
        } else {
            good++;
        }
        pol_chain_free(&pc);
    }
    if (good == 0) {
        err_set(err, errlen, "policy %s: %s", out->pol[0].policy,
                out->pol[0].error);
        return -1;
    }
    return 0;
}

/* Do seeds 0 and 1 of policy p agree on the grid?  A policy whose runs
 * fail is marked bad (its error kept). */
static bool seeds_differ(struct planner *P, unsigned p, const int64_t *g,
                         size_t ng, struct plan_result *out)
{
    bool stoch = false;
    for (size_t i = 0; i < ng; i++) {
        struct probe k0 = {p, 0, g[i], 0, 0}, k1 = {p, 1, g[i], 0, 0};
        const struct entry *a = lookup(P, &k0), *b = lookup(P, &k1);
        if (!a || !b) {
            break;
        }
        if (a->rc || b->rc) {
            if (!P->pol_bad[p]) {
                P->pol_bad[p] = true;
                snprintf(out->pol[p].error, sizeof(out->pol[p].error), "%s",
                         a->rc ? a->err : b->err);
            }
            break;
        }
        const struct run_metrics *x = &a->m, *y = &b->m;
        if (x->outcome != y->outcome || x->total_ns != y->total_ns ||
            x->downtime_ns != y->downtime_ns ||
            x->iterations != y->iterations ||
            x->bytes_transferred != y->bytes_transferred ||
            x->exact_calls != y->exact_calls) {
            stoch = true;
        }
    }
    return stoch;
}

/* The grid with two seeds: deterministic (one seed) or stochastic (the
 * other seeds evaluated too).  -1 out of memory. */
static int choose_seeds(struct planner *P, const int64_t *g, size_t ng,
                        unsigned want_seeds, struct probe *pr,
                        struct plan_result *out)
{
    P->seeds = 2;
    size_t np = 0;
    for (unsigned p = 0; p < P->npol; p++) {
        for (size_t i = 0; i < ng; i++) {
            for (unsigned j = 0; j < 2; j++) {
                pr[np++] = (struct probe){p, j, g[i], 0, 0};
            }
        }
    }
    if (eval(P, pr, np)) {
        return -1;
    }
    bool stoch = false;
    for (unsigned p = 0; p < P->npol; p++) {
        if (!P->pol_bad[p] && seeds_differ(P, p, g, ng, out)) {
            stoch = true;
        }
    }
    out->stochastic = stoch;
    if (stoch && want_seeds > 2) {
        P->seeds = want_seeds;
        np = 0;
        for (unsigned p = 0; p < P->npol; p++) {
            for (size_t i = 0; i < ng; i++) {
                for (unsigned j = 2; j < want_seeds; j++) {
                    pr[np++] = (struct probe){p, j, g[i], 0, 0};
                }
            }
        }
        if (eval(P, pr, np)) {
            return -1;
        }
    } else if (!stoch) {
        P->seeds = 1;
    } else {
        P->seeds = want_seeds < 2 ? 2 : want_seeds;
    }
    out->seeds = P->seeds;
    return 0;
}

/* Policy p's statistics, frontier and applied scenario.  -1 out of
 * memory. */
static int policy_answer(struct planner *P, unsigned p, const int64_t *fr,
                         size_t nfr, struct plan_result *out)
{
    struct plan_policy *o = &out->pol[p];
    if (P->pol_bad[p]) {
        o->found = false;
        return 0;
    }
    if (o->found) {
        policy_stats(P, p, o);
    }
    if (frontier_rows(P, p, fr, nfr, o)) {
        return -1;
    }
    if (o->meets && out->best < 0) {
        out->best = (int)p;
    }
    if (out->top < 0) {
        out->top = (int)p;
    }
    /* the scenario as the policy configures it at the answer */
    struct pol_chain pc;
    memset(&pc, 0, sizeof(pc));
    o->applied = P->base;
    o->knob = P->knob[p];
    if (o->found && o->knob == PLAN_KNOB_LIMIT) {
        o->applied.downtime_limit_ns = o->min_limit_ns;
    }
    char e[200];
    if (pol_chain_setup(&pc, P->pol[p], &o->applied, e, sizeof(e))) {
        o->applied = P->base;
    }
    pol_chain_free(&pc);
    return 0;
}

/* Every seed at each policy's answer, then statistics and frontier; the
 * best and the headline policy.  0 or -1 with a message. */
static int answers(struct planner *P, const int64_t *fr, size_t nfr,
                   struct probe *pr, struct plan_result *out, char *err,
                   size_t errlen)
{
    size_t np = 0;
    for (unsigned p = 0; p < P->npol; p++) {
        if (!P->pol_bad[p] && out->pol[p].found) {
            for (unsigned j = 0; j < P->seeds; j++) {
                pr[np++] = (struct probe){
                    p, j, out->pol[p].min_limit_ns / SIM_MS, 0, 0};
            }
        }
    }
    if (eval(P, pr, np)) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    out->best = -1;
    out->top = -1;
    for (unsigned p = 0; p < P->npol; p++) {
        if (policy_answer(P, p, fr, nfr, out)) {
            err_set(err, errlen, "out of memory");
            return -1;
        }
    }
    if (out->best >= 0) {
        out->top = out->best;
    }
    if (out->top < 0) {
        err_set(err, errlen, "policy %s: %s", out->pol[0].policy,
                out->pol[0].error);
        return -1;
    }
    if (P->oom) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Switchover throughput and the max-bandwidth needed at the at-limit.
 * -1 out of memory. */
static int bandwidth_answer(struct planner *P, const struct plan_cfg *cfg,
                            struct plan_result *out)
{
    const struct plan_policy *top = &out->pol[out->top];
    out->avail_switchover_bps =
        plan_switchover_bps(&P->base, top->found ? &top->run : NULL);
    out->at_limit_ns =
        cfg->at_limit_ns > 0 ? cfg->at_limit_ns : P->base.downtime_limit_ns;
    int64_t at_ms = (out->at_limit_ns + SIM_MS / 2) / SIM_MS;
    if (at_ms < 1) {
        at_ms = 1;
    }
    out->at_limit_ns = at_ms * SIM_MS;
    return bandwidth_search(P, (unsigned)out->top, at_ms, out);
}

/* ---- the advice --------------------------------------------------------- */

static const char *const layer_names[PLAN_FOR_COUNT] = {
    "qemu", "libvirt", "nova", "kubevirt", "proxmox"};

const char *plan_layer_name(enum plan_layer l)
{
    return (unsigned)l < PLAN_FOR_COUNT ? layer_names[l] : "?";
}

int plan_layer_parse(const char *s, enum plan_layer *out)
{
    for (unsigned i = 0; i < PLAN_FOR_COUNT; i++) {
        if (strcmp(s, layer_names[i]) == 0) {
            *out = (enum plan_layer)i;
            return 0;
        }
    }
    return -1;
}

/* The knob's value in force without advice (ms): the scenario's limit, or
 * the policy's own setting (its default). */
static int64_t knob_in_force_ms(const struct planner *P, unsigned p)
{
    char args[160], v[32];
    int64_t def = P->base.downtime_limit_ns / SIM_MS;
    const char *part = NULL, *key = NULL;
    if (P->knob[p] == PLAN_KNOB_NOVA) {
        part = "nova-steps";
        key = "downtime";
        def = 500;
    } else if (P->knob[p] == PLAN_KNOB_KUBEVIRT_MAX) {
        part = "kubevirt";
        key = "max";
        def = 1050;
    }
    if (part && spec_part(P->pol[p], part, args, sizeof(args)) &&
        pol_arg(args, key, 0, v, sizeof(v))) {
        int64_t ns;
        char e[100];
        if (units_parse_time(v, SIM_MS, &ns, e, sizeof(e)) == 0 && ns > 0) {
            def = ns / SIM_MS;
        }
    }
    return def;
}

/* What the advice rests on. */
static void advice_basis(const struct planner *P, unsigned top,
                         struct plan_result *out)
{
    struct plan_advice *a = &out->advice;
    const struct plan_basis *b = &out->basis;
    size_t off = 0, len = sizeof(a->rests_on);
    if (b->from_trace) {
        plan_app(a->rests_on, len, &off,
                 "the scenario rebuilt from %s (replay verdict %s): its inputs "
                 "are inferred from the trace",
                 b->source[0] ? b->source : "a trace",
                 b->verdict[0] ? b->verdict : "unknown");
    } else {
        plan_app(a->rests_on, len, &off, "scenario %s as given",
                 b->source[0] ? b->source : "(unnamed)");
    }
    plan_app(a->rests_on, len, &off, "; policy %s, QEMU %s model, %s RAM mode",
             P->pol[top], scn_qemu_name(P->base.qemu),
             out->aggregate ? "aggregate" : "page");
    if (b->calibration[0]) {
        plan_app(a->rests_on, len, &off, "; calibration %s", b->calibration);
    }
    if (b->fit_checked) {
        plan_app(a->rests_on, len, &off, "; replay fit %s: %s",
                 b->fit_ok ? "ok" : "FAILED", b->fit_note);
    } else {
        plan_app(a->rests_on, len, &off,
                 "; not calibrated against a real run (no replay fit checked)");
    }
}

static void advice_uncertainty(const struct plan_policy *t,
                               struct plan_advice *a, unsigned seeds)
{
    size_t off = 0, len = sizeof(a->uncertainty);
    if (seeds < 2) {
        plan_app(a->uncertainty, len, &off,
                 "deterministic scenario (two seeds agree): no spread over "
                 "seeds; the model's own error is not in this figure");
        return;
    }
    plan_app(a->uncertainty, len, &off,
             "over %u seeds: smallest converging value %.0f .. %.0f ms (mean "
             "%.0f, sd %.0f); downtime at the advice 95%% CI %.0f .. %.0f ms; "
             "converging share at the answer 95%% CI %.2f .. %.2f",
             seeds, t->seed_limit_ms.min, t->seed_limit_ms.max,
             t->seed_limit_ms.mean, t->seed_limit_ms.sd, a->downtime_ms.ci_lo,
             a->downtime_ms.ci_hi, t->p_lo, t->p_hi);
}

/* The layer's smallest value of the knob (ms). */
static int64_t layer_min_ms(enum plan_layer l, enum plan_knob k)
{
    if (l == PLAN_FOR_NOVA || k == PLAN_KNOB_NOVA) {
        return PLAN_NOVA_MIN_DOWNTIME_MS;
    }
    return 1;
}

/* The advised value of policy p's knob: margin, floor, clamps (ms). */
static int64_t advice_value(const struct planner *P, unsigned p,
                            const struct plan_policy *t, struct plan_advice *a)
{
    int64_t ans = t->min_limit_ns / SIM_MS;
    int64_t v = (int64_t)ceil((double)ans * a->safety - 1e-9);
    size_t off = 0, len = sizeof(a->value_why);
    plan_app(a->value_why, len, &off,
             "smallest converging %s %" PRId64 " ms x safety factor %.2f",
             plan_knob_name(t->knob), ans, a->safety);
    int64_t in_force = knob_in_force_ms(P, p);
    if (ans <= knob_min_ms(t->knob) && v < in_force) {
        v = in_force;
        plan_app(a->value_why, len, &off,
                 "; it converges at every value searched down to %" PRId64
                 " ms, so the value does not bind: the one in force (%" PRId64
                 " ms) is kept",
                 ans, in_force);
    }
    if (v < in_force) {
        plan_app(a->value_why, len, &off,
                 "; below the %" PRId64 " ms in force%s: a shorter limit "
                 "than the current one",
                 in_force,
                 t->knob == PLAN_KNOB_LIMIT && in_force == 300
                     ? " (QEMU's default)"
                     : "");
    }
    int64_t lmin = layer_min_ms(a->layer, t->knob);
    if (v < lmin) {
        v = lmin;
        plan_app(a->value_why, len, &off,
                 "; raised to %s's minimum of %" PRId64 " ms",
                 plan_layer_name(a->layer), lmin);
    }
    if (v > PLAN_MAX_LIMIT_MS) {
        v = PLAN_MAX_LIMIT_MS;
        plan_app(a->value_why, len, &off,
                 "; cut to QEMU's maximum downtime-limit of 2000 s (margin "
                 "%.0f %%)",
                 ((double)v / (double)ans - 1.0) * 100.0);
    }
    return v;
}

/* max-bandwidth: only what the plan assumed, never a cap at or below the
 * throughput a trace achieved. */
static void advice_bandwidth(const struct plan_result *out,
                             const struct plan_policy *t, struct plan_advice *a)
{
    char r1[32];
    uint64_t cap = t->applied.max_bandwidth_bps;
    const struct plan_basis *b = &out->basis;
    if (b->from_trace) {
        snprintf(a->bw_note, sizeof(a->bw_note),
                 "no max-bandwidth advised: the trace-derived scenario's "
                 "%s is the throughput the trace achieved (%s), not a cap "
                 "the plan found; a cap at or below it would throttle the "
                 "migration",
                 cap ? units_fmt_rate((double)cap, r1, sizeof(r1))
                     : "unlimited cap",
                 b->achieved_bps > 0 ? "measured" : "unknown");
        return;
    }
    if (cap) {
        a->set_bw = true;
        a->bw_bps = cap;
        snprintf(a->bw_note, sizeof(a->bw_note),
                 "max-bandwidth %s as the scenario has it (the plan assumed "
                 "it)",
                 units_fmt_rate((double)cap, r1, sizeof(r1)));
    } else {
        snprintf(a->bw_note, sizeof(a->bw_note),
                 "no max-bandwidth cap (the scenario has none)");
    }
}

/* The advice on the headline policy; simulates every seed at the advised
 * value.  -1 out of memory. */
static int advise(struct planner *P, const struct plan_cfg *cfg,
                  struct probe *pr, struct plan_result *out)
{
    struct plan_advice *a = &out->advice;
    unsigned p = (unsigned)out->top;
    const struct plan_policy *t = &out->pol[p];
    memset(a, 0, sizeof(*a));
    if (cfg->basis) {
        out->basis = *cfg->basis;
    }
    a->layer = cfg->layer;
    a->knob = t->knob;
    a->safety = cfg->safety >= 1.0 ? cfg->safety : PLAN_DEFAULT_SAFETY;
    advice_basis(P, p, out);
    const struct plan_basis *b = &out->basis;
    if (b->inconclusive) {
        snprintf(a->reason, sizeof(a->reason),
                 "refused: the replay verdict of the trace is inconclusive, "
                 "so the scenario rebuilt from it cannot say what converges");
        return 0;
    }
    if (b->fit_checked && !b->fit_ok) {
        snprintf(a->reason, sizeof(a->reason),
                 "refused: the replay fit failed, so the trace-derived "
                 "scenario does not reproduce the real run: %s",
                 b->fit_note);
        return 0;
    }
    if (!t->found) {
        snprintf(a->reason, sizeof(a->reason),
                 "refused: no %s up to 2000 s converges within the time "
                 "budget%s",
                 plan_knob_name(t->knob),
                 out->stochastic ? " for every seed" : "");
        return 0;
    }
    int64_t v = advice_value(P, p, t, a);
    a->value_ns = v * SIM_MS;
    for (unsigned j = 0; j < P->seeds; j++) {
        pr[j] = (struct probe){p, j, v, 0, 0};
    }
    if (eval(P, pr, P->seeds)) {
        return -1;
    }
    double *d = calloc(2 * (size_t)P->seeds, sizeof(double));
    if (!d) {
        P->oom = true;
        return -1;
    }
    a->n_seeds = P->seeds;
    for (unsigned j = 0; j < P->seeds; j++) {
        const struct run_metrics *m = got(P, p, j, v, 0);
        if (ok_run(P, m)) {
            d[a->n_ok] = (double)m->downtime_ns / 1e6;
            d[P->seeds + a->n_ok] = (double)m->total_ns / 1e6;
            a->n_ok++;
        }
    }
    plan_stat_compute(&a->downtime_ms, d, a->n_ok);
    plan_stat_compute(&a->total_ms, d + P->seeds, a->n_ok);
    free(d);
    advice_uncertainty(t, a, P->seeds);
    if (a->n_ok < a->n_seeds) {
        snprintf(a->reason, sizeof(a->reason),
                 "refused: at the advised %s of %" PRId64 " ms only %u of %u "
                 "seeds converge within the time budget",
                 plan_knob_name(t->knob), v, a->n_ok, a->n_seeds);
        return 0;
    }
    advice_bandwidth(out, t, a);
    a->ok = true;
    return plan_layer_search(P, p, out);
}

/* The search proper, on a set-up planner.  0 or -1 with a message. */
static int plan_search(struct planner *P, const struct plan_cfg *cfg,
                       unsigned want_seeds, int64_t *g, int64_t *fr,
                       struct probe **prp, struct plan_result *out, char *err,
                       size_t errlen)
{
    size_t nfr;
    size_t ng = search_grid(cfg, g, fr, &nfr);
    /* the first pass always probes two seeds (choose_seeds) */
    unsigned cap_seeds = want_seeds < 2 ? 2 : want_seeds;
    struct probe *pr = calloc(ng * P->npol * cap_seeds + 16, sizeof(*pr));
    *prp = pr;
    if (!pr || choose_seeds(P, g, ng, want_seeds, pr, out) ||
        limit_search(P, g, ng, out)) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    if (answers(P, fr, nfr, pr, out, err, errlen)) {
        return -1;
    }
    if (bandwidth_answer(P, cfg, out) || advise(P, cfg, pr, out)) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    out->scn = P->base;
    out->max_total_ns = P->max_total_ns;
    out->max_downtime_ns = P->max_down_ns;
    return 0;
}

int plan_run(const struct plan_cfg *cfg, struct plan_result *out, char *err,
             size_t errlen)
{
    memset(out, 0, sizeof(*out));
    double t0 = mono_s();
    struct planner *P = calloc(1, sizeof(*P));
    if (!P) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    int ret = -1;
    int64_t *g = malloc(MAX_SEARCH_GRID * sizeof(int64_t));
    int64_t *fr = malloc(MAX_SEARCH_GRID * sizeof(int64_t));
    struct probe *pr = NULL;
    unsigned want_seeds = cfg->seeds ? cfg->seeds : DEFAULT_SEEDS;
    if (!g || !fr) {
        err_set(err, errlen, "out of memory");
    } else if (want_seeds > PLAN_MAX_SEEDS) {
        err_set(err, errlen, "at most %d seeds", PLAN_MAX_SEEDS);
    } else if (setup_base(P, cfg, out, err, errlen) == 0 &&
               setup_policies(P, cfg, out, err, errlen) == 0 &&
               plan_search(P, cfg, want_seeds, g, fr, &pr, out, err, errlen) ==
                   0) {
        ret = 0;
    }
    out->sims = P->sims;
    out->wall_s = mono_s() - t0;
    for (unsigned p = 0; p < P->npol; p++) {
        free(P->pol[p]);
    }
    free(P->cache);
    free(P);
    free(pr);
    free(g);
    free(fr);
    return ret;
}
