/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/replay_session.c — a whole replay session as `migsim replay`
 * runs it: open the inputs, rebuild and diagnose (replay.c), then re-drive
 * the derived inputs under the qemu model and each asked policy.
 */
#include "traces/replay.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Policies in the order they are run: "qemu" first unless it was asked
 * for, then each one given. */
static void plan_counterfactuals(const struct trc_session_options *o,
                                 struct trc_session *s)
{
    s->n_cf = 0;
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
    if (rc < 0 && strncmp(err, "--migration", 11) == 0) {
        return TRC_SESSION_USAGE;
    }
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
    if (o->calibration) {
        snprintf(s->r.inputs.calibration, sizeof(s->r.inputs.calibration), "%s",
                 o->calibration);
    }
    for (unsigned i = 0; i < s->n_cf; i++) {
        struct trc_cf *c = &s->cf[i];
        c->ok = trc_counterfactual(&s->r.inputs, c->policy, &c->res, c->err,
                                   sizeof(c->err)) == 0;
        if (c->ok && strcmp(c->policy, "qemu") == 0 && !s->fit.have) {
            trc_fit_compute(&s->r, &c->res, &s->fit);
        }
    }
    return TRC_SESSION_OK;
}

/* ---- the fit of the re-run (issue 11) ---- */

static const char *outcome_verdict(enum run_outcome o)
{
    return o == RUN_CONVERGED ? "converged" : "not-converging";
}

/* The source-side downtime the trace shows: traced / reported, else the
 * switchover (migration_thread_low_pending) to "completed". */
int64_t trc_observed_downtime(const struct trc_replay *r, char *src, size_t len)
{
    const struct run_metrics *m = &r->run.m;
    const struct tl_info *in = &r->info;
    if (m->downtime_ns > 0) {
        snprintf(src, len, "traced or reported downtime");
        return m->downtime_ns;
    }
    if (in->switchover && in->switchover_t_ns >= 0) {
        for (unsigned i = 0; i < in->n_states; i++) {
            if (strcmp(in->states[i].state, "completed") == 0 &&
                in->states[i].t_ns >= in->switchover_t_ns) {
                snprintf(src, len, "switchover to status completed");
                return in->states[i].t_ns - in->switchover_t_ns;
            }
        }
    }
    snprintf(src, len, "not shown by the trace");
    return -1;
}

/* The input(s) to suspect when the re-run misses. */
static void blame(const struct trc_replay *r, struct trc_fit *f)
{
    const struct trc_derived_inputs *di = &r->inputs;
    char *b = f->blame;
    size_t n = sizeof(f->blame);
    b[0] = '\0';
    struct {
        const char *name, *src;
    } cand[] = {
        {"inputs.ram_total_bytes", di->ram_total_source},
        {"inputs.zero_fraction", di->zero_source},
        {"inputs.sender_normal_page_ns", di->sender_source},
        {"inputs.ram_dirty_rate", di->dirty_rate_source},
        {"inputs.bandwidth_bps", di->bandwidth_source},
    };
    size_t used = 0;
    for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
        /* a missing sender ceiling only makes a re-run too fast */
        if (i == 2 && (!(f->total_error < 0) || di->max_bandwidth_binds)) {
            continue;
        }
        if (strncmp(cand[i].src, "not inferred", 12) == 0 && used < n) {
            used += (size_t)snprintf(b + used, n - used, "%s%s (not inferred)",
                                     used ? ", " : "", cand[i].name);
        }
    }
    if (used) {
        return;
    }
    if (!f->verdict_match) {
        snprintf(b, n, "%s",
                 f->rerun_verdict[0] == 'c'
                     ? "inputs.ram_dirty_rate (the re-run converges: its dirty "
                       "rate is too low for this trace)"
                     : "inputs.ram_dirty_rate / inputs.sender_normal_page_ns "
                       "(the re-run does not converge: dirty rate too high or "
                       "sender too slow)");
    } else if (f->total_error > 0) {
        snprintf(b, n, "%s",
                 di->have_sender
                     ? "inputs.sender_normal_page_ns (the re-run "
                       "sends slower than the trace)"
                     : "inputs.bandwidth_bps / inputs.zero_fraction "
                       "(the re-run sends more, or slower)");
    } else {
        snprintf(b, n, "%s",
                 di->have_sender
                     ? "inputs.sender_normal_page_ns (the real sender was "
                       "slower)"
                     : "inputs.sender_normal_page_ns (not inferred: the real "
                       "sender's ceiling, max-bandwidth binding)");
    }
}

void trc_fit_compute(const struct trc_replay *r, const struct run_result *rerun,
                     struct trc_fit *f)
{
    memset(f, 0, sizeof(*f));
    const struct run_metrics *m = &r->run.m;
    const struct run_metrics *c = &rerun->m;
    f->have = true;
    bool obs_conv = r->diag.verdict == TRC_VERDICT_CONVERGED;
    f->observed_verdict = trc_verdict_name(r->diag.verdict);
    f->rerun_verdict = outcome_verdict(c->outcome);
    /* an inconclusive trace agrees with either */
    f->verdict_match = r->diag.verdict == TRC_VERDICT_INCONCLUSIVE ||
                       obs_conv == (c->outcome == RUN_CONVERGED);
    /* QEMU's total-time runs from setup to completed; a trace goes on
     * after it (cleanup, the cancel at quit) */
    f->obs_total_ns = m->total_ns;
    int64_t t_setup = -1, t_done = -1;
    for (unsigned i = 0; i < r->info.n_states; i++) {
        const struct tl_state_change *c2 = &r->info.states[i];
        if (strcmp(c2->state, "setup") == 0 && t_setup < 0) {
            t_setup = c2->t_ns;
        }
        if (strcmp(c2->state, "completed") == 0 && t_done < 0) {
            t_done = c2->t_ns;
        }
    }
    if (t_setup >= 0 && t_done > t_setup) {
        f->obs_total_ns = t_done - t_setup;
    }
    f->rerun_total_ns = c->total_ns;
    f->total_error = f->obs_total_ns > 0
                         ? ((double)c->total_ns - (double)f->obs_total_ns) /
                               (double)f->obs_total_ns
                         : NAN;
    f->obs_downtime_ns = trc_observed_downtime(r, f->downtime_source,
                                               sizeof(f->downtime_source));
    /* the source side, as the trace shows it (query-migrate's figure): not
     * the destination's load after it */
    f->rerun_downtime_ns =
        c->outcome == RUN_CONVERGED ? c->src_downtime_ns : -1;
    f->downtime_error =
        f->obs_downtime_ns > 0 && f->rerun_downtime_ns >= 0
            ? ((double)f->rerun_downtime_ns - (double)f->obs_downtime_ns) /
                  (double)f->obs_downtime_ns
            : NAN;
    f->obs_syncs = m->bitmap_syncs;
    f->rerun_syncs = c->bitmap_syncs;
    /* the total is compared only when both finished the same way */
    bool total_ok = !obs_conv || !(fabs(f->total_error) > TRC_FIT_TOLERANCE);
    f->ok = f->verdict_match && total_ok;
    if (!f->ok) {
        blame(r, f);
    }
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
