/* SPDX-License-Identifier: GPL-3.0-or-later */
/* policy/policy.c — policy specs: parsing, composition, argument helpers. */
#include "policy/policy.h"
#include "base/err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "base/units.h"

const struct pol_ops *pol_find(const char *name)
{
    for (const struct pol_ops *const *p = pol_all(); *p; p++) {
        if (strcmp((*p)->name, name) == 0) {
            return *p;
        }
    }
    return NULL;
}

void pol_chain_free(struct pol_chain *c)
{
    for (unsigned i = 0; i < POL_MAX_PARTS; i++) {
        free(c->priv[i]);
        free(c->args[i]);
    }
    memset(c, 0, sizeof(*c));
}

int pol_chain_setup(struct pol_chain *c, const char *spec, struct scenario *s,
                    char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    if (!spec || !*spec) {
        spec = "qemu";
    }
    if (strlen(spec) >= sizeof(c->spec)) {
        err_set(err, errlen, "policy '%.40s...': longer than %zu characters",
                spec, sizeof(c->spec) - 1);
        return -1;
    }
    snprintf(c->spec, sizeof(c->spec), "%s", spec);
    char buf[sizeof(c->spec)];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    bool have_reporting = false;
    for (char *part = strtok_r(buf, "+", &save); part;
         part = strtok_r(NULL, "+", &save)) {
        if (c->n == POL_MAX_PARTS) {
            err_set(err, errlen, "policy '%s': at most %d parts", spec,
                    POL_MAX_PARTS);
            return -1;
        }
        char *colon = strchr(part, ':');
        if (colon) {
            *colon = '\0';
        }
        const struct pol_ops *ops = pol_find(part);
        if (!ops) {
            err_set(err, errlen, "unknown policy '%s' (see 'migsim policies')",
                    part);
            return -1;
        }
        if (ops->is_reporting) {
            if (have_reporting) {
                err_set(err, errlen,
                        "policy '%s': at most one reporting variant per spec",
                        spec);
                return -1;
            }
            have_reporting = true;
        }
        unsigned i = c->n++;
        c->ops[i] = ops;
        if (colon && colon[1]) {
            c->args[i] = strdup(colon + 1);
            if (!c->args[i]) {
                err_set(err, errlen, "out of memory");
                return -1;
            }
        }
        c->priv[i] = calloc(1, ops->priv_size ? ops->priv_size : 1);
        if (!c->priv[i]) {
            err_set(err, errlen, "out of memory");
            return -1;
        }
        char e[256] = "";
        if (ops->configure && ops->configure(c->priv[i], c->args[i], s,
                                             &c->report, e, sizeof(e))) {
            err_set(err, errlen, "policy %s: %s", ops->name, e);
            return -1;
        }
    }
    if (c->n == 0) {
        err_set(err, errlen, "empty policy spec");
        return -1;
    }
    return 0;
}

void pol_chain_iteration(struct pol_chain *c, const struct pol_view *v,
                         struct pol_actions *a)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->ops[i]->on_iteration) {
            c->ops[i]->on_iteration(c->priv[i], v, a);
        }
    }
}

int64_t pol_chain_next_wakeup(const struct pol_chain *c,
                              const struct pol_view *v)
{
    int64_t t = SIM_TIME_MAX;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->ops[i]->next_wakeup) {
            int64_t w = c->ops[i]->next_wakeup(c->priv[i], v);
            if (w < t) {
                t = w;
            }
        }
    }
    return t;
}

int pol_arg(const char *args, const char *key, unsigned pos, char *out,
            size_t outlen)
{
    if (!args) {
        return 0;
    }
    size_t klen = key ? strlen(key) : 0;
    unsigned n_pos = 0;
    const char *p = args;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq) {
            if (key && (size_t)(eq - p) == klen && strncmp(p, key, klen) == 0) {
                snprintf(out, outlen, "%.*s", (int)(len - klen - 1), eq + 1);
                return 1;
            }
        } else {
            if (n_pos == pos) {
                snprintf(out, outlen, "%.*s", (int)len, p);
                return 1;
            }
            n_pos++;
        }
        if (!end) {
            break;
        }
        p = end + 1;
    }
    return 0;
}

int pol_args_check(const char *policy, const char *args,
                   const char *const *keys, char *err, size_t errlen)
{
    if (!args) {
        return 0;
    }
    const char *p = args;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq) {
            size_t klen = (size_t)(eq - p);
            bool ok = false;
            for (const char *const *k = keys; *k; k++) {
                if (strlen(*k) == klen && strncmp(*k, p, klen) == 0) {
                    ok = true;
                }
            }
            if (!ok) {
                err_set(err, errlen, "%s: unknown argument '%.*s'", policy,
                        (int)klen, p);
                return -1;
            }
        }
        if (!end) {
            break;
        }
        p = end + 1;
    }
    return 0;
}

void pol_print_all(FILE *f, bool verbose)
{
    fprintf(f, "Policy specs: NAME[:ARGS][+NAME[:ARGS]]...  (ARGS: values or "
               "key=value, comma-separated)\nAt most one reporting variant "
               "(marked R) and any number of tuning policies.\n\n");
    for (const struct pol_ops *const *p = pol_all(); *p; p++) {
        const struct pol_ops *o = *p;
        size_t len = strlen(o->name) + strlen(o->args) + 1;
        if (len <= 44) {
            char head[128];
            snprintf(head, sizeof(head), "%s%s%s", o->name,
                     o->args[0] ? ":" : "", o->args);
            fprintf(f, "  %c %-44s %s\n", o->is_reporting ? 'R' : ' ', head,
                    o->summary);
        } else {
            fprintf(f, "  %c %s%s%s\n  %-46s %s\n", o->is_reporting ? 'R' : ' ',
                    o->name, o->args[0] ? ":" : "", o->args, "", o->summary);
        }
        if (verbose && o->help && o->help[0]) {
            fprintf(f, "%s\n", o->help);
        }
    }
}

int pol_args_keyvalue_only(const char *args, char *err, size_t errlen)
{
    if (!args) {
        return 0;
    }
    const char *p = args;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!memchr(p, '=', len)) {
            err_set(err, errlen, "'%.*s': arguments are key=value", (int)len,
                    p);
            return -1;
        }
        if (!end) {
            return 0;
        }
        p = end + 1;
    }
}

int pol_arg_whole_time(const char *who, const char *args, const char *key,
                       int64_t unit, const char *unit_name, int64_t min,
                       int64_t max, int64_t *out, char *err, size_t errlen)
{
    char v[64];
    if (!pol_arg(args, key, 0, v, sizeof(v))) {
        return 0;
    }
    char e[160];
    int64_t ns;
    if (units_parse_time(v, unit, &ns, e, sizeof(e))) {
        err_set(err, errlen, "%s=%s: %s", key, v, e);
        return -1;
    }
    if (ns % unit) {
        err_set(err, errlen, "%s=%s: %s takes whole %s", key, v, who,
                unit_name);
        return -1;
    }
    if (ns / unit < min || ns / unit > max) {
        err_set(err, errlen, "%s=%s: must be %lld..%lld %s", key, v,
                (long long)min, (long long)max, unit_name);
        return -1;
    }
    *out = ns / unit;
    return 1;
}
