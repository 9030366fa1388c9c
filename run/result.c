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
    free(r->deci.ev_stream);
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

void run_result_set_limits(struct run_result *r, size_t max_samples,
                           size_t max_events_per_stream)
{
    struct run_deci *d = &r->deci;
    d->max_samples = max_samples;
    d->sample_stride = 1;
    d->max_events = max_events_per_stream;
    for (unsigned k = 0; k < RUN_EV_STREAMS; k++) {
        d->ev_stride[k] = 1;
    }
}

static int append_sample(struct run_result *r, const struct run_sample *s)
{
    if (grow((void **)&r->samples, &r->cap_samples, r->n_samples + 1,
             sizeof(*s))) {
        return -1;
    }
    r->samples[r->n_samples++] = *s;
    return 0;
}

int run_result_add_sample(struct run_result *r, const struct run_sample *s)
{
    struct run_deci *d = &r->deci;
    if (!d->max_samples) {
        return append_sample(r, s);
    }
    uint64_t k = d->samples_seen++;
    if (k % d->sample_stride == 0 && r->n_samples >= d->max_samples) {
        /* keep kept samples 0, 2, 4, ...: candidates at multiples of
         * 2 x stride */
        size_t n = 0;
        for (size_t i = 0; i < r->n_samples; i += 2) {
            r->samples[n++] = r->samples[i];
        }
        r->n_samples = n;
        d->sample_stride *= 2;
    }
    if (k % d->sample_stride != 0) {
        d->held = true;
        d->held_sample = *s;
        return 0;
    }
    d->held = false;
    return append_sample(r, s);
}

struct run_sample *run_result_newest_sample(struct run_result *r)
{
    if (r->deci.held) {
        return &r->deci.held_sample;
    }
    return r->n_samples ? &r->samples[r->n_samples - 1] : NULL;
}

int run_result_flush(struct run_result *r)
{
    struct run_deci *d = &r->deci;
    int rc = 0;
    if (d->held) {
        rc = append_sample(r, &d->held_sample);
        d->held = false;
    }
    free(d->ev_stream);
    d->ev_stream = NULL;
    d->cap_ev_stream = 0;
    return rc;
}

/* Drop every other kept event of stream k (the 2nd, 4th, ...). */
static void compact_stream(struct run_result *r, unsigned k)
{
    struct run_deci *d = &r->deci;
    size_t n = 0, seen = 0;
    for (size_t i = 0; i < r->n_events; i++) {
        if (d->ev_stream[i] == k && seen++ % 2 != 0) {
            continue;
        }
        r->events[n] = r->events[i];
        d->ev_stream[n] = d->ev_stream[i];
        n++;
    }
    r->n_events = n;
    d->ev_kept[k] = (d->ev_kept[k] + 1) / 2;
    d->ev_stride[k] *= 2;
}

static int add_event_v(struct run_result *r, unsigned stream, int64_t t_ns,
                       enum run_event_kind kind, uint64_t value, int64_t dur_ns,
                       const char *fmt, va_list ap)
{
    struct run_deci *d = &r->deci;
    bool track = d->max_events != 0;
    if (!track || stream >= RUN_EV_STREAMS) {
        stream = 0;
    }
    if (stream) {
        uint64_t k = d->ev_seen[stream]++;
        if (k % d->ev_stride[stream] == 0 &&
            d->ev_kept[stream] >= d->max_events) {
            compact_stream(r, stream);
        }
        if (k % d->ev_stride[stream] != 0) {
            return 0;
        }
    }
    if (grow((void **)&r->events, &r->cap_events, r->n_events + 1,
             sizeof(struct run_event))) {
        return -1;
    }
    if (track && grow((void **)&d->ev_stream, &d->cap_ev_stream,
                      r->n_events + 1, sizeof(*d->ev_stream))) {
        return -1;
    }
    if (track) {
        d->ev_stream[r->n_events] = (unsigned char)stream;
        d->ev_kept[stream]++;
    }
    struct run_event *e = &r->events[r->n_events++];
    memset(e, 0, sizeof(*e));
    e->t_ns = t_ns;
    e->kind = kind;
    e->value = value;
    e->dur_ns = dur_ns;
    if (fmt) {
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
    }
    return 0;
}

int run_result_add_event(struct run_result *r, int64_t t_ns,
                         enum run_event_kind kind, uint64_t value,
                         int64_t dur_ns, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = add_event_v(r, 0, t_ns, kind, value, dur_ns, fmt, ap);
    va_end(ap);
    return rc;
}

int run_result_add_event_rep(struct run_result *r, unsigned stream,
                             int64_t t_ns, enum run_event_kind kind,
                             uint64_t value, int64_t dur_ns, const char *fmt,
                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = add_event_v(r, stream, t_ns, kind, value, dur_ns, fmt, ap);
    va_end(ap);
    return rc;
}

int run_result_vadd_event_rep(struct run_result *r, unsigned stream,
                              int64_t t_ns, enum run_event_kind kind,
                              uint64_t value, int64_t dur_ns, const char *fmt,
                              va_list ap)
{
    return add_event_v(r, stream, t_ns, kind, value, dur_ns, fmt, ap);
}
