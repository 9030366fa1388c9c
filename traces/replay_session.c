/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/replay_session.c — a whole replay session as `migsim replay`
 * runs it: open the inputs, rebuild and diagnose (replay.c), then re-drive
 * the derived inputs under the qemu model and each asked policy.
 */
#include "traces/replay.h"

#include <stdbool.h>
#include <string.h>

/* Policies in the order they are run: "qemu" first unless it was asked
 * for, then each one given. */
static void plan_counterfactuals(const struct trc_session_options *o,
                                 struct trc_session *s)
{
    s->n_cf = 0;
    if (!o->n_policies) {
        return;
    }
    bool have_qemu = false;
    for (unsigned i = 0; i < o->n_policies; i++) {
        have_qemu |= strcmp(o->policies[i], "qemu") == 0;
    }
    if (!have_qemu) {
        s->cf[s->n_cf++].policy = "qemu";
    }
    for (unsigned i = 0; i < o->n_policies && i < TRC_MAX_POLICIES; i++) {
        s->cf[s->n_cf++].policy = o->policies[i];
    }
}

static enum trc_session_status read_inputs(const struct trc_session_options *o,
                                           struct trc_replay *r, char *err,
                                           size_t errlen)
{
    struct trc_reader *rd = trc_reader_new(&o->replay.reader, err, errlen);
    if (!rd) {
        return strstr(err, "not a trace-events declaration") ? TRC_SESSION_DATA
                                                             : TRC_SESSION_IO;
    }
    for (unsigned i = 0; i < o->n_files; i++) {
        if (trc_reader_add_file(rd, o->files[i], err, errlen) < 0) {
            trc_reader_free(rd);
            return strstr(err, "more than once") ? TRC_SESSION_USAGE
                                                 : TRC_SESSION_IO;
        }
    }
    int rc = trc_replay_reader(rd, &o->replay, r, err, errlen);
    trc_reader_free(rd);
    if (rc < 0) {
        /* under strict the reader stops at the first malformed line */
        return o->replay.reader.strict ? TRC_SESSION_DATA : TRC_SESSION_IO;
    }
    return TRC_SESSION_OK;
}

enum trc_session_status trc_session_run(const struct trc_session_options *o,
                                        struct trc_session *s, char *err,
                                        size_t errlen)
{
    memset(s, 0, sizeof(*s));
    enum trc_session_status st = read_inputs(o, &s->r, err, errlen);
    if (st != TRC_SESSION_OK) {
        return st;
    }
    const struct trc_stats *in = &s->r.stats;
    if (in->events + in->snapshots + in->qmp_events == 0) {
        return TRC_SESSION_EMPTY;
    }
    plan_counterfactuals(o, s);
    for (unsigned i = 0; i < s->n_cf; i++) {
        struct trc_cf *c = &s->cf[i];
        c->ok = trc_counterfactual(&s->r.inputs, c->policy, &c->res, c->err,
                                   sizeof(c->err)) == 0;
    }
    return TRC_SESSION_OK;
}

void trc_session_free(struct trc_session *s)
{
    for (unsigned i = 0; i < s->n_cf; i++) {
        if (s->cf[i].ok) {
            run_result_free(&s->cf[i].res);
        }
    }
    s->n_cf = 0;
    trc_replay_free(&s->r);
}
