/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/grid.c — sweep grids: axis specs, value lists and ranges with units,
 * exact unit formatting, point keys.
 */
#include "plan/plan.h"
#include "base/err.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "policy/policy.h"
#include "base/units.h"
#include "store/db.h"

/* ---- exact unit formatting --------------------------------------------- */

struct unit {
    const char *name;
    uint64_t mul; /* base units (ns, bytes, bytes/s) per unit */
};

char *plan_fmt_time(int64_t ns, char *buf, size_t len)
{
    static const struct unit u[] = {
        {"h", UINT64_C(3600000000000)}, {"min", UINT64_C(60000000000)},
        {"s", UINT64_C(1000000000)},    {"ms", UINT64_C(1000000)},
        {"us", UINT64_C(1000)},         {"ns", 1},
    };
    if (ns == 0) {
        snprintf(buf, len, "0ms");
        return buf;
    }
    uint64_t v = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        if (v % u[i].mul == 0) {
            snprintf(buf, len, "%s%" PRIu64 "%s", ns < 0 ? "-" : "",
                     v / u[i].mul, u[i].name);
            return buf;
        }
    }
    return buf; /* not reached: ns divides everything */
}

/* The unit giving the smallest exact mantissa. */
static char *fmt_best(uint64_t v, const struct unit *u, size_t n,
                      const char *zero, char *buf, size_t len)
{
    if (v == 0) {
        snprintf(buf, len, "%s", zero);
        return buf;
    }
    size_t best = n;
    uint64_t bq = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (v % u[i].mul == 0 && v / u[i].mul < bq) {
            bq = v / u[i].mul;
            best = i;
        }
    }
    snprintf(buf, len, "%" PRIu64 "%s", bq, u[best].name);
    return buf;
}

char *plan_fmt_size(uint64_t bytes, char *buf, size_t len)
{
    static const struct unit u[] = {
        {"TiB", UINT64_C(1) << 40},
        {"TB", UINT64_C(1000000000000)},
        {"GiB", UINT64_C(1) << 30},
        {"GB", UINT64_C(1000000000)},
        {"MiB", UINT64_C(1) << 20},
        {"MB", UINT64_C(1000000)},
        {"KiB", UINT64_C(1) << 10},
        {"KB", UINT64_C(1000)},
        {"B", 1},
    };
    return fmt_best(bytes, u, sizeof(u) / sizeof(u[0]), "0B", buf, len);
}

char *plan_fmt_rate(uint64_t bps, char *buf, size_t len)
{
    /* bit rates: 1 Gbit/s = 1.25e8 B/s, 1 Mbit/s = 125000 B/s */
    static const struct unit u[] = {
        {"GiB/s", UINT64_C(1) << 30},
        {"Gbit/s", UINT64_C(125000000)},
        {"GB/s", UINT64_C(1000000000)},
        {"MiB/s", UINT64_C(1) << 20},
        {"Mbit/s", UINT64_C(125000)},
        {"MB/s", UINT64_C(1000000)},
        {"KiB/s", UINT64_C(1) << 10},
        {"KB/s", UINT64_C(1000)},
        {"B/s", 1},
    };
    return fmt_best(bps, u, sizeof(u) / sizeof(u[0]), "0B/s", buf, len);
}

/* ---- value lists -------------------------------------------------------- */

struct vlist {
    char **v;
    size_t n, cap;
};

static int vl_push(struct vlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv) {
            return -1;
        }
        l->v = nv;
        l->cap = nc;
    }
    char *c = strndup(s, len);
    if (!c) {
        return -1;
    }
    l->v[l->n++] = c;
    return 0;
}

static void vl_free(struct vlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1])) {
        (*len)--;
    }
}

/* Split at top-level separators (not inside quotes or brackets). */
static int split_top(const char *s, char sep, struct vlist *out)
{
    int depth = 0;
    bool quote = false;
    const char *start = s;
    for (const char *p = s;; p++) {
        char c = *p;
        if (c == '\0' || (c == sep && depth == 0 && !quote)) {
            const char *a = start;
            size_t len = (size_t)(p - start);
            trim(&a, &len);
            if (vl_push(out, a, len)) {
                return -1;
            }
            if (c == '\0') {
                break;
            }
            start = p + 1;
            continue;
        }
        if (quote) {
            if (c == '\\' && p[1]) {
                p++;
            } else if (c == '"') {
                quote = false;
            }
        } else if (c == '"') {
            quote = true;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

enum vkind { VK_NUM = 0, VK_TIME, VK_RATE, VK_SIZE };

static bool plain_number(const char *s)
{
    if (!*s) {
        return false;
    }
    bool digit = false;
    const char *p = s;
    if (*p == '+' || *p == '-') {
        p++;
    }
    while (isdigit((unsigned char)*p)) {
        p++;
        digit = true;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digit = true;
        }
    }
    if (!digit) {
        return false;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        if (!isdigit((unsigned char)*p)) {
            return false;
        }
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    return *p == '\0';
}

static bool plain_integer(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-') {
        p++;
    }
    if (!*p) {
        return false;
    }
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p)) {
            return false;
        }
    }
    return true;
}

/* Kind and value (integer units or double) of a range end. */
static int parse_end(const char *s, enum vkind *k, uint64_t *u, double *d,
                     char *err, size_t errlen)
{
    int64_t ns;
    if (plain_number(s)) {
        *k = VK_NUM;
        *d = strtod(s, NULL);
        return 0;
    }
    if (units_parse_time(s, 0, &ns, NULL, 0) == 0) {
        *k = VK_TIME;
        *u = (uint64_t)ns;
        return 0;
    }
    if (units_parse_rate(s, u, NULL, 0) == 0) {
        *k = VK_RATE;
        return 0;
    }
    if (units_parse_size(s, u, NULL, 0) == 0) {
        *k = VK_SIZE;
        return 0;
    }
    err_set(err, errlen,
            "'%s' is not a time, rate, size or number (e.g. 100ms, "
            "1Gbit/s, 512MiB, 4)",
            s);
    return -1;
}

static const char *kind_name(enum vkind k)
{
    static const char *const n[] = {"number", "time", "rate", "size"};
    return n[k];
}

static int push_unit(struct vlist *out, enum vkind k, uint64_t v)
{
    char buf[48];
    if (k == VK_TIME) {
        plan_fmt_time((int64_t)v, buf, sizeof(buf));
    } else if (k == VK_RATE) {
        plan_fmt_rate(v, buf, sizeof(buf));
    } else {
        plan_fmt_size(v, buf, sizeof(buf));
    }
    return vl_push(out, buf, strlen(buf));
}

static int push_num(struct vlist *out, double v, bool integer)
{
    char buf[48];
    if (integer) {
        snprintf(buf, sizeof(buf), "%.0f", v);
    } else {
        snprintf(buf, sizeof(buf), "%.15g", v);
    }
    return vl_push(out, buf, strlen(buf));
}

/* "A..B:STEP" or "A..B*FACTOR". */
/* A parsed range: ends a, b and step/factor st of kinds ka, kb, ks. */
struct range {
    const char *item;       /* as given, for messages */
    const char *a, *b, *st; /* texts */
    bool geo;               /* A..B*FACTOR */
    enum vkind ka, kb, ks;
    uint64_t ua, ub, us;
    double da, db, ds;
    bool integer; /* plain integers, or unit values */
};

static int too_many(const struct range *g, char *err, size_t errlen)
{
    err_set(err, errlen, "range '%s': more than %d values", g->item,
            PLAN_MAX_VALUES);
    return -1;
}

static int bad_step(const struct range *g, char *err, size_t errlen)
{
    err_set(err, errlen, "range '%s': needs A <= B and STEP > 0", g->item);
    return -1;
}

static int no_memory(char *err, size_t errlen)
{
    err_set(err, errlen, "out of memory");
    return -1;
}

/* A..B*FACTOR */
static int expand_geometric(const struct range *g, struct vlist *out, char *err,
                            size_t errlen)
{
    if (!(g->ds > 1.0) || !isfinite(g->ds)) {
        err_set(err, errlen, "range '%s': the factor must be > 1", g->item);
        return -1;
    }
    double lo = g->ka == VK_NUM ? g->da : (double)g->ua;
    double hi = g->ka == VK_NUM ? g->db : (double)g->ub;
    if (!(lo > 0) || lo > hi) {
        err_set(err, errlen, "range '%s': a geometric range needs 0 < A <= B",
                g->item);
        return -1;
    }
    double last = -1;
    for (size_t k = 0;; k++) {
        double v = lo * pow(g->ds, (double)k);
        if (v > hi * (1 + 1e-12)) {
            break;
        }
        if (out->n >= PLAN_MAX_VALUES) {
            return too_many(g, err, errlen);
        }
        double r = g->integer ? nearbyint(v) : v;
        if (r == last) {
            continue;
        }
        last = r;
        int rc = g->ka == VK_NUM ? push_num(out, r, g->integer)
                                 : push_unit(out, g->ka, (uint64_t)r);
        if (rc) {
            return no_memory(err, errlen);
        }
    }
    return 0;
}

/* A..B:STEP of plain numbers that are not all integers. */
static int expand_real(const struct range *g, struct vlist *out, char *err,
                       size_t errlen)
{
    if (!(g->ds > 0) || g->da > g->db || !isfinite(g->ds)) {
        return bad_step(g, err, errlen);
    }
    double cnt = floor((g->db - g->da) / g->ds * (1 + 1e-12) + 1e-9) + 1;
    if (cnt > PLAN_MAX_VALUES) {
        return too_many(g, err, errlen);
    }
    for (size_t k = 0; k < (size_t)cnt; k++) {
        if (push_num(out, g->da + (double)k * g->ds, false)) {
            return no_memory(err, errlen);
        }
    }
    return 0;
}

/* A..B:STEP of integers: exact in int64. */
static int expand_integer(const struct range *g, struct vlist *out, char *err,
                          size_t errlen)
{
    errno = 0;
    long long ia = strtoll(g->a, NULL, 10), ib = strtoll(g->b, NULL, 10),
              is = strtoll(g->st, NULL, 10);
    if (errno || is <= 0 || ia > ib) {
        return bad_step(g, err, errlen);
    }
    unsigned long long cnt = ((unsigned long long)ib - (unsigned long long)ia) /
                                 (unsigned long long)is +
                             1;
    if (cnt > PLAN_MAX_VALUES) {
        return too_many(g, err, errlen);
    }
    for (unsigned long long k = 0; k < cnt; k++) {
        char nb[32];
        snprintf(nb, sizeof(nb), "%lld", ia + (long long)k * is);
        if (vl_push(out, nb, strlen(nb))) {
            return no_memory(err, errlen);
        }
    }
    return 0;
}

/* A..B:STEP of times, sizes or rates: exact in integer units. */
static int expand_units(const struct range *g, struct vlist *out, char *err,
                        size_t errlen)
{
    if (g->us == 0 || g->ua > g->ub) {
        return bad_step(g, err, errlen);
    }
    uint64_t cnt = (g->ub - g->ua) / g->us + 1;
    if (cnt > PLAN_MAX_VALUES) {
        return too_many(g, err, errlen);
    }
    for (uint64_t k = 0; k < cnt; k++) {
        if (push_unit(out, g->ka, g->ua + k * g->us)) {
            return no_memory(err, errlen);
        }
    }
    return 0;
}

/* Split "A..B:STEP" / "A..B*FACTOR" (in buf, modified) and parse its
 * parts; 0 or -1 with a message. */
static int parse_range(const char *item, char *buf, struct range *g, char *err,
                       size_t errlen)
{
    memset(g, 0, sizeof(*g));
    g->item = item;
    char *dots = strstr(buf, "..");
    *dots = '\0';
    char *rest = dots + 2;
    char *op = strrchr(rest, ':');
    if (!op) {
        op = strrchr(rest, '*');
        g->geo = op != NULL;
    }
    if (!op) {
        err_set(err, errlen, "range '%s': expected A..B:STEP or A..B*FACTOR",
                item);
        return -1;
    }
    *op = '\0';
    g->a = buf;
    g->b = rest;
    g->st = op + 1;
    g->ks = VK_NUM;
    char e[200];
    if (parse_end(g->a, &g->ka, &g->ua, &g->da, e, sizeof(e)) ||
        parse_end(g->b, &g->kb, &g->ub, &g->db, e, sizeof(e)) ||
        parse_end(g->st, &g->ks, &g->us, &g->ds, e, sizeof(e))) {
        err_set(err, errlen, "range '%s': %s", item, e);
        return -1;
    }
    if (g->ka != g->kb || (!g->geo && g->ks != g->ka) ||
        (g->geo && g->ks != VK_NUM)) {
        err_set(err, errlen,
                "range '%s': the ends and the %s must be of one kind "
                "(here %s, %s, %s)",
                item, g->geo ? "factor (a number)" : "step", kind_name(g->ka),
                kind_name(g->kb), kind_name(g->ks));
        return -1;
    }
    g->integer =
        g->ka != VK_NUM ||
        (plain_integer(g->a) && plain_integer(g->b) && plain_integer(g->st));
    return 0;
}

static int expand_range(const char *item, struct vlist *out, char *err,
                        size_t errlen)
{
    char buf[256];
    if (strlen(item) >= sizeof(buf)) {
        err_set(err, errlen, "range '%.40s...': too long", item);
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", item);
    struct range g;
    if (parse_range(item, buf, &g, err, errlen)) {
        return -1;
    }
    if (g.geo) {
        return expand_geometric(&g, out, err, errlen);
    }
    if (g.ka == VK_NUM) {
        return g.integer ? expand_integer(&g, out, err, errlen)
                         : expand_real(&g, out, err, errlen);
    }
    return expand_units(&g, out, err, errlen);
}

/* Policy name at the start of a spec piece. */
static bool starts_policy(const char *s)
{
    char name[64];
    size_t n = strcspn(s, ":+");
    if (n == 0 || n >= sizeof(name)) {
        return false;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    return pol_find(name) != NULL;
}

int plan_values_parse(const char *list, bool policy, char ***vals, size_t *n,
                      char *err, size_t errlen)
{
    struct vlist pieces = {0}, out = {0};
    *vals = NULL;
    *n = 0;
    bool semi = policy && strchr(list, ';');
    if (split_top(list, semi ? ';' : ',', &pieces)) {
        err_set(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < pieces.n && !rc; i++) {
        const char *p = pieces.v[i];
        if (!*p) {
            err_set(err, errlen, "'%s': empty value", list);
            rc = -1;
            break;
        }
        if (policy) {
            if (!semi && out.n > 0 && !starts_policy(p)) {
                /* an argument of the spec before: "nova-steps:a=1,b=2" */
                char **last = &out.v[out.n - 1];
                size_t ln = strlen(*last), pn = strlen(p);
                char *j = realloc(*last, ln + pn + 2);
                if (!j) {
                    err_set(err, errlen, "out of memory");
                    rc = -1;
                    break;
                }
                j[ln] = ',';
                memcpy(j + ln + 1, p, pn + 1);
                *last = j;
                continue;
            }
            if (vl_push(&out, p, strlen(p))) {
                err_set(err, errlen, "out of memory");
                rc = -1;
            }
            continue;
        }
        bool literal = p[0] == '"' || p[0] == '{' || p[0] == '[';
        if (!literal && strstr(p, "..")) {
            rc = expand_range(p, &out, err, errlen);
        } else if (vl_push(&out, p, strlen(p))) {
            err_set(err, errlen, "out of memory");
            rc = -1;
        }
        if (out.n > PLAN_MAX_VALUES) {
            err_set(err, errlen, "more than %d values", PLAN_MAX_VALUES);
            rc = -1;
        }
    }
    vl_free(&pieces);
    if (rc) {
        vl_free(&out);
        return -1;
    }
    if (out.n == 0) {
        err_set(err, errlen, "'%s': no values", list);
        return -1;
    }
    *vals = out.v;
    *n = out.n;
    return 0;
}

/* ---- grids -------------------------------------------------------------- */

void plan_grid_init(struct plan_grid *g)
{
    memset(g, 0, sizeof(*g));
}

void plan_grid_free(struct plan_grid *g)
{
    for (size_t a = 0; a < g->n_axes; a++) {
        for (size_t i = 0; i < g->axes[a].n; i++) {
            free(g->axes[a].values[i]);
        }
        free(g->axes[a].values);
    }
    plan_grid_init(g);
}

int plan_grid_find(const struct plan_grid *g, const char *key)
{
    for (size_t a = 0; a < g->n_axes; a++) {
        if (strcmp(g->axes[a].key, key) == 0) {
            return (int)a;
        }
    }
    return -1;
}

int plan_grid_add(struct plan_grid *g, const char *spec, char *err,
                  size_t errlen)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        err_set(err, errlen, "--grid '%s': expected KEY=VALUES", spec);
        return -1;
    }
    char key[128];
    size_t klen = (size_t)(eq - spec);
    const char *k0 = spec;
    trim(&k0, &klen);
    if (klen == 0 || klen >= sizeof(key)) {
        err_set(err, errlen, "--grid '%s': bad key", spec);
        return -1;
    }
    memcpy(key, k0, klen);
    key[klen] = '\0';
    bool pol = strcmp(key, PLAN_POLICY_KEY) == 0;
    char **vals;
    size_t n;
    char e[300];
    if (plan_values_parse(eq + 1, pol, &vals, &n, e, sizeof(e))) {
        err_set(err, errlen, "--grid %s: %s", key, e);
        return -1;
    }
    int a = plan_grid_find(g, key);
    if (a < 0) {
        if (g->n_axes == PLAN_MAX_AXES) {
            err_set(err, errlen, "--grid %s: at most %d axes", key,
                    PLAN_MAX_AXES);
            goto fail;
        }
        a = (int)g->n_axes++;
        memset(&g->axes[a], 0, sizeof(g->axes[a]));
        snprintf(g->axes[a].key, sizeof(g->axes[a].key), "%s", key);
        g->axes[a].is_policy = pol;
    }
    struct plan_axis *ax = &g->axes[a];
    if (ax->n + n > PLAN_MAX_VALUES) {
        err_set(err, errlen, "--grid %s: more than %d values", key,
                PLAN_MAX_VALUES);
        goto fail;
    }
    if (ax->n + n > ax->cap) {
        size_t nc = ax->n + n;
        char **nv = realloc(ax->values, nc * sizeof(*nv));
        if (!nv) {
            err_set(err, errlen, "out of memory");
            goto fail;
        }
        ax->values = nv;
        ax->cap = nc;
    }
    for (size_t i = 0; i < n; i++) {
        ax->values[ax->n++] = vals[i];
    }
    free(vals);
    if (plan_grid_cells(g) == 0) {
        err_set(err, errlen, "--grid: more than %" PRIu64 " points",
                PLAN_MAX_POINTS);
        return -1;
    }
    return 0;
fail:
    for (size_t i = 0; i < n; i++) {
        free(vals[i]);
    }
    free(vals);
    return -1;
}

uint64_t plan_grid_cells(const struct plan_grid *g)
{
    uint64_t c = 1;
    for (size_t a = 0; a < g->n_axes; a++) {
        uint64_t n = g->axes[a].n;
        if (n == 0 || c > PLAN_MAX_POINTS / n) {
            return 0;
        }
        c *= n;
    }
    return c;
}

void plan_cross_coords(const size_t *dims, size_t n_dims, uint64_t cell,
                       size_t *coord)
{
    for (size_t a = n_dims; a-- > 0;) {
        uint64_t n = dims[a];
        coord[a] = (size_t)(cell % n);
        cell /= n;
    }
}

void plan_grid_coords(const struct plan_grid *g, uint64_t cell, size_t *coord)
{
    size_t dims[PLAN_MAX_AXES];
    for (size_t a = 0; a < g->n_axes; a++) {
        dims[a] = g->axes[a].n;
    }
    plan_cross_coords(dims, g->n_axes, cell, coord);
}

/* ---- points ------------------------------------------------------------- */

void plan_point_key(const char *scenario_json, const char *policy,
                    uint64_t seed, char out[65])
{
    size_t sl = strlen(scenario_json), pl = strlen(policy);
    size_t cap = sl + pl + 64;
    char *buf = malloc(cap);
    if (!buf) {
        /* hash the parts' hashes instead: same inputs, same key */
        char hs[65], hp[65], small[200];
        db_sha256_hex(scenario_json, sl, hs);
        db_sha256_hex(policy, pl, hp);
        snprintf(small, sizeof(small), "migsim-point-1h\n%s\n%s\n%" PRIu64, hs,
                 hp, seed);
        db_sha256_hex(small, strlen(small), out);
        return;
    }
    int n = snprintf(buf, cap, "migsim-point-1\n%s\n%s\n%" PRIu64 "\n",
                     scenario_json, policy, seed);
    db_sha256_hex(buf, (size_t)n, out);
    free(buf);
}

int plan_doc_has(const struct scn_doc *d, const char *path)
{
    char *js = scn_doc_json(d);
    if (!js) {
        return 0;
    }
    json_t *root = json_loads(js, 0, NULL);
    free(js);
    if (!root) {
        return 0;
    }
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && cur;
         t = strtok_r(NULL, ".", &save)) {
        cur = json_is_object(cur) ? json_object_get(cur, t) : NULL;
    }
    int has = cur != NULL;
    json_decref(root);
    return has;
}

unsigned plan_default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
