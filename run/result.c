/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run/result.c — run results: growable sample and event arrays. */
#include "run/result.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[] = {
    [RUN_CONVERGED] = "converged",   [RUN_TIMEOUT] = "timeout",
    [RUN_ABORTED] = "aborted",       [RUN_FAILED] = "failed",
    [RUN_INCOMPLETE] = "incomplete",
};

const char *run_outcome_name(enum run_outcome o)
{
    if ((unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0])) {
        return outcome_names[o];
    }
    return "unknown";
}

int run_outcome_from_name(const char *s, enum run_outcome *o)
{
    for (unsigned i = 0; i < sizeof(outcome_names) / sizeof(outcome_names[0]);
         i++) {
        if (strcmp(s, outcome_names[i]) == 0) {
            *o = (enum run_outcome)i;
            return 0;
        }
    }
    return -1;
}

static const char *const event_kind_names[] = {
    [RUN_EV_STATE] = "state",       [RUN_EV_SYNC] = "sync",
    [RUN_EV_PARAM] = "param",       [RUN_EV_DEVICE] = "device",
    [RUN_EV_THROTTLE] = "throttle", [RUN_EV_NOTE] = "note",
};

const char *run_event_kind_name(enum run_event_kind k)
{
    if ((unsigned)k < sizeof(event_kind_names) / sizeof(event_kind_names[0])) {
        return event_kind_names[k];
    }
    return "unknown";
}

void run_result_init(struct run_result *r)
{
    memset(r, 0, sizeof(*r));
}

void run_result_free(struct run_result *r)
{
    free(r->samples);
    free(r->events);
    memset(r, 0, sizeof(*r));
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 256;
    while (ncap < need) {
        ncap *= 2;
    }
    void *np = realloc(*p, ncap * elem);
    if (!np) {
        return -1;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

int run_result_add_sample(struct run_result *r, const struct run_sample *s)
{
    if (grow((void **)&r->samples, &r->cap_samples, r->n_samples + 1,
             sizeof(*s))) {
        return -1;
    }
    r->samples[r->n_samples++] = *s;
    return 0;
}

int run_result_add_event(struct run_result *r, int64_t t_ns,
                         enum run_event_kind kind, uint64_t value,
                         int64_t dur_ns, const char *fmt, ...)
{
    if (grow((void **)&r->events, &r->cap_events, r->n_events + 1,
             sizeof(struct run_event))) {
        return -1;
    }
    struct run_event *e = &r->events[r->n_events++];
    memset(e, 0, sizeof(*e));
    e->t_ns = t_ns;
    e->kind = kind;
    e->value = value;
    e->dur_ns = dur_ns;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
        va_end(ap);
    }
    return 0;
}
