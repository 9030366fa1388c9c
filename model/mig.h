/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig.h — the migration model: QEMU's migration thread, per version,
 * on the discrete-event engine.  Contract.
 *
 * mig_simulate() runs one migration of a resolved scenario under a policy
 * chain and fills a run_result.  What is modelled (docs/model.md has the
 * details and the sources):
 *   - the thread loop: one migration_iteration_run per pass unless the
 *     100 ms window's max-bandwidth budget is spent, then sleep to the
 *     window end; counters every >= 100 ms: bandwidth = window bytes /
 *     window ms, threshold = (avail-switchover-bandwidth or bandwidth) x
 *     downtime-limit (8.2+ for the former);
 *   - pending estimate/exact with the per-version trigger and the RAM
 *     dirty-bitmap sync inside 7.2's pending query and inside exact(),
 *     costed as BQL-held time; the <= 8.2 "stop at the first unfinished
 *     handler" rule; the 50 ms RAM iteration cap; switchover-ack (8.1+);
 *     expected-downtime per version; multifd channels with per-channel
 *     caps; auto-converge, dirty-limit; postcopy started by a policy;
 *   - VFIO devices per version (7.2 v1 pending_bytes, 8.0 exact-only
 *     stop-copy size, 8.1-9.1 precopy + double-counted exact, 9.2+
 *     stop-copy-only exact, 10.0+ multifd device state) and the reporting
 *     variants of policy/policy.h, driven through the shared VFIO FSM;
 *   - completion: VM stop (growing with vCPUs), pause-before-switchover,
 *     final RAM sync and send over the link (not rate limited), device
 *     stop-copy data (serialized unless multifd), non-iterable state, and
 *     the destination loading each section as it arrives.
 */
#ifndef MIGSIM_SIM_MIG_H
#define MIGSIM_SIM_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "run/result.h"
#include "run/scenario.h"

#define MIG_VFIO_FALLBACK_BYTES (UINT64_C(100) << 30) /* QEMU: 100 GiB */
#define MIG_VFIO_CHUNK_BYTES    (UINT64_C(1) << 20)   /* 1 MiB per pass */
#define MIG_MAX_WAIT_NS         (50 * 1000000LL)      /* ram_save_iterate */
#define MIG_BUFFER_DELAY_NS     (100 * 1000000LL)     /* window */

/* Defaults of mig_options: what a run keeps whatever its time_limit
 * (about 6 MB of samples, 4 x 4096 repetitive events). */
#define MIG_DEFAULT_MAX_SAMPLES 16384
#define MIG_DEFAULT_MAX_EVENTS  4096

struct mig_options {
    /* Offer a per-iteration sample at most every sample_interval_ns of
     * simulated time (iterations that called exact() always offer one);
     * 0 = every iteration.  The result keeps at most max_samples of them
     * (+ the last), decimated by the rule of run/result.h; 0 = no limit. */
    int64_t sample_interval_ns;
    size_t max_samples;
    /* Events that repeat with the simulated time (bitmap syncs, throttle
     * triggers, policy parameter changes, the auto-converge timer's syncs):
     * at most max_events of each, decimated likewise; 0 = no limit.  State,
     * device and one-off events are always kept. */
    size_t max_events;
    bool no_samples; /* metrics only (sweeps) */
    bool no_events;
    /* Run every pass of the thread on its own instead of fast-forwarding
     * runs of passes that repeat (model/mig_ff.c; docs/model.md): the same
     * results and fingerprint, slower.  For tests. */
    bool no_fast_forward;
    /* If set, receives how many passes the fast-forward ran (tests). */
    uint64_t *ff_passes;
};

void mig_options_default(struct mig_options *o);

/*
 * Simulate.  s is not modified (the policy chain configures a copy).
 * Returns 0 and fills out (run_result_init first is done here), or -1 with
 * a message in err (bad policy spec, impossible configuration, out of
 * memory).
 */
int mig_simulate(const struct scenario *s, const char *policy_spec,
                 const struct mig_options *opt, struct run_result *out,
                 char *err, size_t errlen);

/* QEMU's threshold_size for one counter update (migration_update_counters):
 * bandwidth = transferred / time_spent_ms (bytes per ms, not rounded);
 * threshold = (avail_bps ? avail_bps / 1000 : bandwidth) * limit_ms, the
 * avail-switchover-bandwidth branch only from 8.2 on.  Pure; exposed for
 * tests and replay. */
uint64_t mig_threshold_bytes(unsigned qemu, uint64_t transferred_bytes,
                             uint64_t time_spent_ms, uint64_t limit_ms,
                             uint64_t avail_bps);

#endif
