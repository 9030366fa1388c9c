/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plots/runs.c — the runs a figure or a report draws: loaded from the store
 * by selectors, and the sweep parameter values of each run.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "base/units.h"
#include "plots/plot.h"

int plot_set_load(struct plot_set *s, const char *db_path, char **sel, int nsel,
                  char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    int rc = db_load_selected(db_path, sel, nsel, &s->metas, &s->res, &s->n,
                              err, errlen);
    if (rc != 0) {
        return rc;
    }
    s->runs = calloc(s->n ? s->n : 1, sizeof(*s->runs));
    if (!s->runs) {
        plot_set_free(s);
        err_set(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        s->runs[i].meta = &s->metas[i];
        s->runs[i].res = &s->res[i];
    }
    return 0;
}

void plot_set_free(struct plot_set *s)
{
    free(s->runs);
    db_runs_free(s->metas, s->res, s->n);
    memset(s, 0, sizeof(*s));
}

/* A parameter value as text or number -> double, and its unit. */
static int value_of_text_u(const char *s, double *v, enum run_unit *unit)
{
    char *end;
    double d = strtod(s, &end);
    *unit = RUN_U_NONE;
    if (end != s && *end == '\0') {
        *v = d;
        return 0;
    }
    uint64_t u;
    int64_t ns;
    double frac;
    if (units_parse_rate(s, &u, NULL, 0) == 0) {
        *v = (double)u;
        *unit = RUN_U_BPS;
        return 0;
    }
    if (units_parse_size(s, &u, NULL, 0) == 0) {
        *v = (double)u;
        *unit = RUN_U_BYTES;
        return 0;
    }
    if (units_parse_time(s, 0, &ns, NULL, 0) == 0) {
        *v = (double)ns;
        *unit = RUN_U_NS;
        return 0;
    }
    if (units_parse_fraction(s, &frac, NULL, 0) == 0) {
        *v = frac;
        return 0;
    }
    return -1;
}

/* The value at a dotted path of the scenario JSON; -1 if none. */
static int scenario_param(const char *scenario_json, const char *name,
                          double *v, enum run_unit *unit)
{
    *unit = RUN_U_NONE;
    json_t *root = json_loads(scenario_json, 0, NULL);
    json_t *cur = root;
    char path[256];
    snprintf(path, sizeof(path), "%s", name);
    char *save = NULL;
    for (char *tok = strtok_r(path, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur)) {
            char *end;
            long idx = strtol(tok, &end, 10);
            cur = *end ? NULL : json_array_get(cur, (size_t)idx);
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    int rc = -1;
    if (json_is_number(cur)) {
        *v = json_number_value(cur);
        rc = 0;
    } else if (json_is_string(cur)) {
        rc = value_of_text_u(json_string_value(cur), v, unit);
    } else if (json_is_boolean(cur)) {
        *v = json_is_true(cur) ? 1 : 0;
        rc = 0;
    }
    json_decref(root);
    return rc;
}

static double run_param_u(const struct db_run_meta *m,
                          const struct run_result *r, const char *name,
                          enum run_unit *unit)
{
    *unit = RUN_U_NONE;
    if (strcmp(name, "seed") == 0) {
        return (double)m->seed;
    }
    double v;
    if (m->scenario_json &&
        scenario_param(m->scenario_json, name, &v, unit) == 0) {
        return v;
    }
    /* Parameter-change events "name=value": the last one wins. */
    size_t nl = strlen(name);
    double last = NAN;
    for (size_t i = 0; i < r->n_events; i++) {
        const struct run_event *e = &r->events[i];
        if (e->kind == RUN_EV_PARAM && strncmp(e->text, name, nl) == 0 &&
            e->text[nl] == '=' &&
            value_of_text_u(e->text + nl + 1, &v, unit) == 0) {
            last = v;
        }
    }
    return last;
}

double plot_run_param(const struct db_run_meta *m, const struct run_result *r,
                      const char *name)
{
    enum run_unit u;
    return run_param_u(m, r, name, &u);
}

int plot_set_params(struct plot_set *s, const char *x_name, const char *y_name,
                    char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n; i++) {
        struct plot_run *p = &s->runs[i];
        p->x = run_param_u(p->meta, p->res, x_name, &p->x_unit);
        p->y = y_name ? run_param_u(p->meta, p->res, y_name, &p->y_unit) : 0;
        if (isnan(p->x) || isnan(p->y)) {
            err_set(err, errlen, "run %lld has no value for %s",
                    (long long)p->meta->id, isnan(p->x) ? x_name : y_name);
            return -1;
        }
    }
    return 0;
}
