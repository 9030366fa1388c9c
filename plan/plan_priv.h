/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/plan_priv.h — what plan.c lends the layer search (plan_layers.c):
 * cached simulations of a policy's spec variants, the budgets, the spec
 * editor.  Not for other folders.
 */
#ifndef MIGSIM_PLAN_PLAN_PRIV_H
#define MIGSIM_PLAN_PLAN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "plan/plan.h"

struct planner;

/* Every seed of policy p run with spec (a variant of the policy's spec;
 * NULL = the spec as given) and its knob at ms (the policy's knob, or
 * QEMU's downtime-limit for a policy whose knob is the limit); cached.
 * runs[j] (j < plan_nseeds) is seed j's run or NULL when it failed to run.
 * 0, or -1 (out of memory, more than PLAN_MAX_VARIANTS variants). */
int plan_eval_spec(struct planner *P, unsigned p, const char *spec, int64_t ms,
                   const struct run_metrics **runs);
unsigned plan_nseeds(const struct planner *P);
/* Converged within the total-time budget. */
bool plan_run_ok(const struct planner *P, const struct run_metrics *m);
const struct scenario *plan_base_scn(const struct planner *P);
int64_t plan_budget_total_ns(const struct planner *P);
int64_t plan_budget_downtime_ns(const struct planner *P);
const char *plan_given_spec(const struct planner *P, unsigned p);

/* Append to out (len bytes, *off used), truncating. */
void plan_app(char *out, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* spec with argument key of part set to value (replacing it if given);
 * 0, or -1 when spec has no such part or out is too small. */
int plan_spec_with(const char *spec, const char *part, const char *key,
                   const char *value, char *out, size_t len);

/* The layer's own knobs at the advised value (plan_layers.c): fills
 * out->advice.lk; may refuse the advice (ok false, reason).  -1 out of
 * memory. */
int plan_layer_search(struct planner *P, unsigned p, struct plan_result *out);

#endif
