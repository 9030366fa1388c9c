/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/plan_basis.c — what a plan on a replayed trace rests on: the replay
 * verdict, the throughput the trace achieved, and the replay fit (the
 * re-run of the trace-derived inputs under the trace's own policy "qemu"
 * against what the trace shows, traces/replay.h struct trc_fit).  A failed
 * fit refuses the advice (plan.c advise()); its words are built here.
 */
#include "plan/plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/units.h"
#include "traces/replay.h"

/* "+97.4 %" or "not measurable". */
static const char *fmt_err(double e, char *buf, size_t len)
{
    if (!isfinite(e)) {
        snprintf(buf, len, "not measurable");
    } else {
        snprintf(buf, len, "%+.1f %%", e * 100.0);
    }
    return buf;
}

static void fit_words(struct plan_basis *b)
{
    char o[32], r[32], e[32];
    char *n = b->fit_note;
    size_t len = sizeof(b->fit_note);
    if (b->fit_obs_total_ns > 0) {
        units_fmt_time(b->fit_obs_total_ns, o, sizeof(o));
    } else {
        snprintf(o, sizeof(o), "no total");
    }
    units_fmt_time(b->fit_rerun_total_ns, r, sizeof(r));
    fmt_err(b->fit_total_error, e, sizeof(e));
    bool same = strcmp(b->fit_obs_verdict, b->fit_rerun_verdict) == 0;
    char verdicts[100];
    if (same) {
        snprintf(verdicts, sizeof(verdicts), "verdict %s in both",
                 b->fit_obs_verdict);
    } else {
        snprintf(verdicts, sizeof(verdicts), "verdict observed %s, re-run %s",
                 b->fit_obs_verdict, b->fit_rerun_verdict);
    }
    if (!b->fit_total_compared) {
        snprintf(n, len,
                 "re-run under qemu %s, observed %s (total error %s, not "
                 "compared: the trace did not converge), %s%s%s",
                 r, o, e, verdicts, b->fit_blame[0] ? "; suspect " : "",
                 b->fit_blame);
    } else if (!isfinite(b->fit_total_error)) {
        snprintf(n, len,
                 "re-run under qemu %s (total error not measurable: the trace "
                 "shows no total time), %s%s%s",
                 r, verdicts, b->fit_blame[0] ? "; suspect " : "",
                 b->fit_blame);
    } else {
        snprintf(n, len,
                 "re-run under qemu %s vs observed %s (total error %s, "
                 "tolerance %.0f %%), %s%s%s",
                 r, o, e, b->fit_tolerance * 100.0, verdicts,
                 b->fit_blame[0] ? "; suspect " : "", b->fit_blame);
    }
}

void plan_basis_from_replay(struct plan_basis *b, const struct trc_session *s,
                            const char *source, const char *calibration)
{
    const struct trc_replay *rep = &s->r;
    b->from_trace = true;
    snprintf(b->source, sizeof(b->source), "trace %.490s", source);
    snprintf(b->verdict, sizeof(b->verdict), "%s",
             trc_verdict_name(rep->diag.verdict));
    b->inconclusive = rep->diag.verdict == TRC_VERDICT_INCONCLUSIVE;
    b->achieved_bps = rep->inputs.bandwidth_bps;
    snprintf(b->calibration, sizeof(b->calibration), "%s",
             calibration ? calibration : "");
    b->fit_checked = true;
    b->fit_tolerance = TRC_FIT_TOLERANCE;
    const struct trc_fit *f = &s->fit;
    if (!f->have) {
        /* the re-run under qemu did not run: nothing vouches for the
         * inputs */
        const char *why = "no re-run";
        for (unsigned i = 0; i < s->n_cf; i++) {
            if (strcmp(s->cf[i].policy, "qemu") == 0 && !s->cf[i].ok) {
                why = s->cf[i].err;
            }
        }
        b->fit_ok = false;
        b->fit_obs_total_ns = b->fit_rerun_total_ns = -1;
        b->fit_total_error = NAN;
        snprintf(b->fit_note, sizeof(b->fit_note),
                 "the re-run under qemu failed (%.300s)", why);
        return;
    }
    b->fit_ok = f->ok;
    b->fit_total_compared = rep->diag.verdict == TRC_VERDICT_CONVERGED;
    b->fit_obs_total_ns = f->obs_total_ns;
    b->fit_rerun_total_ns = f->rerun_total_ns;
    b->fit_total_error = f->total_error;
    snprintf(b->fit_obs_verdict, sizeof(b->fit_obs_verdict), "%s",
             f->observed_verdict ? f->observed_verdict : "?");
    snprintf(b->fit_rerun_verdict, sizeof(b->fit_rerun_verdict), "%s",
             f->rerun_verdict ? f->rerun_verdict : "?");
    snprintf(b->fit_blame, sizeof(b->fit_blame), "%s", f->ok ? "" : f->blame);
    fit_words(b);
}
