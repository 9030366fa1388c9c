/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy/kubevirt.c — KubeVirt's migration monitor (virt-launcher,
 * pkg/virt-launcher/virtwrap/live-migration-source.go) as a tuning policy
 * `kubevirt`.
 *
 * Released behaviour (MigrationConfiguration, defaults from
 * pkg/virt-config/virt-config.go):
 *   - the monitor polls libvirt every 400 ms (monitorSleepPeriodMS);
 *   - completion timeout: acceptableCompletionTime = completionTimeoutPerGiB
 *     x data size, the data size being the guest memory (+ ephemeral disks
 *     for block migration) as resource.Quantity.ScaledValue(Giga), i.e.
 *     rounded up to whole decimal GB; abort when whole elapsed seconds >
 *     that (0 = never); default 150 s per GiB (800 in releases before
 *     that change);
 *   - progress timeout: at each poll, "progress" is DataRemaining
 *     (libvirt: QEMU's RAM remaining) below its value at the previous poll,
 *     or that previous value being 0; abort when whole seconds since the
 *     last progress > progressTimeout (0 = never); default 150 s;
 *   - in post-copy neither applies.  (allowPostCopy / allowWorkloadDisruption,
 *     which switch instead of aborting, are not modelled.)
 *
 * Proposals, dynamic=on (experimental, off by default in KubeVirt):
 *   - dynamic downtime ramp (VEP 291, kubevirt PR 17480, tuneDowntime): at
 *     the first poll set downtime-limit to `initial`; then at each poll,
 *     once MemIteration (QEMU's dirty-sync count) >= start_after and
 *     `cooldown` has passed since the last change, raise it by
 *     max((max - initial) / steps, 1) ms (integer), capped at `max`;
 *   - stall detection and switch at a local minimum (VEP 248, the
 *     MigrationStallDetection monitor: updateCandidates, checkStallCondition,
 *     relaxBestRemainingBytes, triggerConvergenceAction): at every iteration
 *     boundary (dirty-sync) keep the monotone minima of DataRemaining inside
 *     a progress_timeout window; stalled when the remaining data is >= 96 %
 *     of the smallest value older than the window; the best remaining is
 *     then the smallest value seen, relaxed to the next smallest seen since
 *     the stall after a patience of progress_timeout (halving, >= 1 s);
 *     when the remaining data is within 4 % of the best, once: implied
 *     downtime = best / bandwidth (EWMA, alpha 0.5, of the per-window
 *     bandwidth sampled at each poll); <= max: set downtime-limit to it
 *     (>= 1 ms); >= 1.5 x max: abort; else set max.
 *   KubeVirt runs the two proposals on separate paths; here dynamic=on runs
 *   both and the limit only ever rises (the stall switch raises the ramp's
 *   value, the ramp continues from there); the released timeouts stay.
 *
 * In the model "DataRemaining" is the RAM dirty bitmap (the view's
 * ram_remaining_bytes): VFIO device data is not in it, as in libvirt.  The
 * data size is guest RAM plus the VFIO devices' stop-copy sizes at the
 * first call (the model has no disks).  Elapsed time counts from the
 * migration start; polls are at multiples of 400 ms and take effect at the
 * first migration thread iteration at or after the poll.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "engine/engine.h"
#include "base/units.h"

#define KV_POLL_NS        (400 * SIM_MS) /* monitorSleepPeriodMS */
#define KV_STALL_MARGIN   0.04           /* stallMargin */
#define KV_PRECOPY_FACTOR 1.5            /* preCopyPossibleFactor */
#define KV_EWMA_ALPHA     0.5            /* bandwidthEWMAAlpha */
#define KV_QEMU_MAX_MS    2000000        /* QEMU's downtime-limit maximum */
#define KV_CAP            4096           /* candidates / history kept */

struct kv_rec {
    int64_t t_ms;
    uint64_t bytes;
};

struct kubevirt {
    /* parameters */
    int64_t ct_per_gib_s; /* completionTimeoutPerGiB */
    int64_t progress_s;   /* progressTimeout */
    bool dynamic;
    int64_t initial_ms;
    unsigned steps;
    uint64_t start_after;
    int64_t cooldown_s;
    int64_t max_ms;
    /* monitor */
    bool started;
    int64_t acceptable_s; /* completion timeout, 0 = none */
    uint64_t data_gb;
    int64_t last_poll_ns; /* -1 before the first poll */
    int64_t last_progress_ns;
    uint64_t watermark;
    /* ramp */
    int64_t cur_ms; /* limit the policy set last, 0 = none yet */
    int64_t last_tuned_ns;
    /* stall detection */
    uint64_t last_sync;
    double ewma_bps;
    struct kv_rec cand[KV_CAP]; /* ring of monotone minima */
    unsigned c_head, c_n;
    bool have_outside;
    struct kv_rec outside; /* smallest record aged out of the window */
    bool stalled, switched;
    uint64_t best;
    int64_t patience_ms, deadline_ms;
    uint64_t heap[KV_CAP]; /* min-heap: remaining seen since the stall */
    unsigned h_n;
};

/* ---- arguments ---------------------------------------------------------- */

static int get_count(const char *args, const char *key, unsigned long min,
                     unsigned long max, unsigned long *out, char *err,
                     size_t errlen)
{
    char v[64];
    if (!pol_arg(args, key, 0, v, sizeof(v))) {
        return 0;
    }
    char *end;
    unsigned long k = strtoul(v, &end, 10);
    if (end == v || *end || v[0] == '-' || k < min || k > max) {
        snprintf(err, errlen, "%s=%s: a whole number %lu..%lu", key, v, min,
                 max);
        return -1;
    }
    *out = k;
    return 1;
}

static int kv_configure(void *priv, const char *args, struct scenario *s,
                        struct pol_report *rep, char *err, size_t errlen)
{
    (void)s;
    (void)rep;
    struct kubevirt *k = priv;
    static const char *const keys[] = {"completion_timeout_per_gib",
                                       "progress_timeout",
                                       "dynamic",
                                       "initial",
                                       "steps",
                                       "start_after",
                                       "cooldown",
                                       "max",
                                       NULL};
    if (pol_args_check("kubevirt", args, keys, err, errlen) ||
        pol_args_keyvalue_only(args, err, errlen)) {
        return -1;
    }
    k->ct_per_gib_s = 150;
    k->progress_s = 150;
    k->dynamic = false;
    k->initial_ms = 150;
    k->steps = 7;
    k->start_after = 3;
    k->cooldown_s = 10;
    k->max_ms = 1050;
    char v[16];
    if (pol_arg(args, "dynamic", 0, v, sizeof(v))) {
        if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0) {
            k->dynamic = true;
        } else if (strcmp(v, "off") != 0 && strcmp(v, "false") != 0) {
            snprintf(err, errlen, "dynamic=%s: on or off", v);
            return -1;
        }
    }
    unsigned long steps = k->steps, after = k->start_after;
    int got = 0, r;
    if (pol_arg_whole_time("KubeVirt", args, "completion_timeout_per_gib",
                           SIM_S, "s", 0, 86400, &k->ct_per_gib_s, err,
                           errlen) < 0 ||
        pol_arg_whole_time("KubeVirt", args, "progress_timeout", SIM_S, "s", 0,
                           86400, &k->progress_s, err, errlen) < 0) {
        return -1;
    }
    if ((r = pol_arg_whole_time("KubeVirt", args, "initial", SIM_MS, "ms", 1,
                                KV_QEMU_MAX_MS, &k->initial_ms, err, errlen)) <
        0) {
        return -1;
    }
    got |= r;
    if ((r = pol_arg_whole_time("KubeVirt", args, "max", SIM_MS, "ms", 1,
                                KV_QEMU_MAX_MS, &k->max_ms, err, errlen)) < 0) {
        return -1;
    }
    got |= r;
    if ((r = pol_arg_whole_time("KubeVirt", args, "cooldown", SIM_S, "s", 1,
                                86400, &k->cooldown_s, err, errlen)) < 0) {
        return -1;
    }
    got |= r;
    if ((r = get_count(args, "steps", 1, 100000, &steps, err, errlen)) < 0) {
        return -1;
    }
    got |= r;
    if ((r = get_count(args, "start_after", 0, 1000000000, &after, err,
                       errlen)) < 0) {
        return -1;
    }
    got |= r;
    if (got && !k->dynamic) {
        snprintf(err, errlen,
                 "initial, steps, start_after, cooldown and max "
                 "belong to dynamic=on");
        return -1;
    }
    k->steps = (unsigned)steps;
    k->start_after = after;
    if (k->initial_ms > k->max_ms) { /* newDowntimeTuningConfig clamps */
        k->initial_ms = k->max_ms;
    }
    k->last_poll_ns = -1;
    return 0;
}

/* ---- released monitor --------------------------------------------------- */

static void kv_start(struct kubevirt *k, const struct pol_view *v)
{
    uint64_t bytes = v->ram_total_bytes + v->device_bytes;
    k->data_gb = bytes / 1000000000u + (bytes % 1000000000u ? 1 : 0);
    k->acceptable_s = k->ct_per_gib_s * (int64_t)k->data_gb;
    k->last_progress_ns = v->start_ns; /* startMonitor */
    k->last_sync = 0;
    k->started = true;
}

static void raise_limit(struct kubevirt *k, int64_t ms, struct pol_actions *a)
{
    k->cur_ms = ms;
    a->set_downtime_limit = true;
    a->downtime_limit_ns = ms * SIM_MS;
}

/* tuneDowntime, at a poll. */
static void kv_ramp(struct kubevirt *k, const struct pol_view *v, int64_t poll,
                    struct pol_actions *a)
{
    if (k->cur_ms == 0) {
        raise_limit(k, k->initial_ms, a);
        k->last_tuned_ns = poll;
        return;
    }
    if (v->dirty_sync_count < k->start_after ||
        poll - k->last_tuned_ns < k->cooldown_s * SIM_S) {
        return;
    }
    int64_t step = (k->max_ms - k->initial_ms) / (int64_t)k->steps;
    if (step < 1) {
        step = 1;
    }
    int64_t next = k->cur_ms + step;
    if (next > k->max_ms) {
        next = k->max_ms;
    }
    if (next <= k->cur_ms) {
        return;
    }
    raise_limit(k, next, a);
    k->last_tuned_ns = poll;
}

/* ---- stall detection ---------------------------------------------------- */

static void heap_push(struct kubevirt *k, uint64_t x)
{
    if (k->h_n == KV_CAP) {
        return; /* bounded history: the earliest values are kept */
    }
    unsigned i = k->h_n++;
    while (i > 0) {
        unsigned parent = (i - 1) / 2;
        if (k->heap[parent] <= x) {
            break;
        }
        k->heap[i] = k->heap[parent];
        i = parent;
    }
    k->heap[i] = x;
}

static uint64_t heap_pop(struct kubevirt *k)
{
    uint64_t top = k->heap[0];
    uint64_t x = k->heap[--k->h_n];
    unsigned i = 0;
    for (;;) {
        unsigned c = 2 * i + 1;
        if (c >= k->h_n) {
            break;
        }
        if (c + 1 < k->h_n && k->heap[c + 1] < k->heap[c]) {
            c++;
        }
        if (k->heap[c] >= x) {
            break;
        }
        k->heap[i] = k->heap[c];
        i = c;
    }
    if (k->h_n) {
        k->heap[i] = x;
    }
    return top;
}

static void age_out_oldest(struct kubevirt *k)
{
    struct kv_rec r = k->cand[k->c_head];
    k->c_head = (k->c_head + 1) % KV_CAP;
    k->c_n--;
    if (!k->have_outside || r.bytes < k->outside.bytes) {
        k->outside = r;
        k->have_outside = true;
    }
}

/* updateCandidates */
static void kv_candidates(struct kubevirt *k, int64_t t_ms, uint64_t bytes)
{
    if (k->progress_s <= 0) {
        return;
    }
    int64_t window_ms = k->progress_s * 1000;
    while (k->c_n && t_ms - k->cand[k->c_head].t_ms >= window_ms) {
        age_out_oldest(k);
    }
    if (k->have_outside && bytes > k->outside.bytes) {
        return;
    }
    if (k->c_n && bytes >= k->cand[(k->c_head + k->c_n - 1) % KV_CAP].bytes) {
        return;
    }
    if (k->c_n == KV_CAP) {
        age_out_oldest(k); /* bounded: the oldest leaves the window early */
    }
    k->cand[(k->c_head + k->c_n) % KV_CAP] = (struct kv_rec){t_ms, bytes};
    k->c_n++;
}

/* triggerConvergenceAction for the pre-copy, no-disruption case. */
static void kv_switch(struct kubevirt *k, int64_t implied_ms,
                      struct pol_actions *a)
{
    k->switched = true;
    int64_t target;
    if (implied_ms <= k->max_ms) {
        target = implied_ms < 1 ? 1 : implied_ms;
        if (target > KV_QEMU_MAX_MS) {
            target = KV_QEMU_MAX_MS;
        }
    } else if ((double)k->max_ms * KV_PRECOPY_FACTOR <= (double)implied_ms) {
        a->abort = true;
        snprintf(a->reason, sizeof(a->reason),
                 "kubevirt: stalled, implied downtime %lld ms exceeds max "
                 "%lld ms x %.1f",
                 (long long)implied_ms, (long long)k->max_ms,
                 KV_PRECOPY_FACTOR);
        return;
    } else {
        target = k->max_ms;
    }
    if (target > k->cur_ms) {
        raise_limit(k, target, a);
    }
}

/* processStallDetectionIteration, at a dirty-sync boundary. */
static void kv_boundary(struct kubevirt *k, const struct pol_view *v,
                        int64_t t_ms, struct pol_actions *a)
{
    uint64_t bytes = v->ram_remaining_bytes;
    kv_candidates(k, t_ms, bytes);
    if (!k->stalled && k->have_outside &&
        bytes >= (uint64_t)((double)k->outside.bytes * (1 - KV_STALL_MARGIN))) {
        k->stalled = true;
        k->best = k->outside.bytes;
        for (unsigned i = 0; i < k->c_n; i++) {
            uint64_t c = k->cand[(k->c_head + i) % KV_CAP].bytes;
            if (c < k->best) {
                k->best = c;
            }
        }
        k->patience_ms = k->progress_s * 1000;
        if (k->patience_ms < 1000) {
            k->patience_ms = 1000;
        }
        k->deadline_ms = t_ms + k->patience_ms;
    }
    if (!k->stalled || k->switched) {
        return;
    }
    heap_push(k, bytes);
    if (t_ms >= k->deadline_ms && k->h_n) {
        k->best = heap_pop(k);
        k->patience_ms /= 2;
        if (k->patience_ms < 1000) {
            k->patience_ms = 1000;
        }
        k->deadline_ms = t_ms + k->patience_ms;
    }
    if (k->best == 0 ||
        bytes > (uint64_t)((double)k->best * (1 + KV_STALL_MARGIN))) {
        return;
    }
    double bpms = k->ewma_bps / 1000.0;
    if (bpms <= 0) {
        return;
    }
    kv_switch(k, (int64_t)((double)k->best / bpms), a);
}

/* ---- the monitor -------------------------------------------------------- */

static void kv_iteration(void *priv, const struct pol_view *v,
                         struct pol_actions *a)
{
    struct kubevirt *k = priv;
    if (!k->started) {
        kv_start(k, v);
    }
    int64_t elapsed = v->now_ns - v->start_ns;
    if (elapsed < 0) {
        return;
    }
    /* an iteration boundary: libvirt's MIGRATION_ITERATION event */
    if (k->dynamic && v->dirty_sync_count != k->last_sync) {
        k->last_sync = v->dirty_sync_count;
        if (!v->in_postcopy) {
            kv_boundary(k, v, elapsed / SIM_MS, a);
            if (a->abort) {
                return;
            }
        }
    }
    int64_t poll = elapsed / KV_POLL_NS * KV_POLL_NS;
    if (poll < KV_POLL_NS || poll <= k->last_poll_ns) {
        return;
    }
    k->last_poll_ns = poll;

    uint64_t rem = v->ram_remaining_bytes;
    if (k->watermark == 0 || rem < k->watermark) {
        k->last_progress_ns = v->start_ns + poll;
    }
    k->watermark = rem;

    if (k->dynamic) {
        double bw = v->bandwidth_bps;
        k->ewma_bps = k->ewma_bps == 0 ? bw
                                       : KV_EWMA_ALPHA * bw +
                                             (1 - KV_EWMA_ALPHA) * k->ewma_bps;
        kv_ramp(k, v, poll, a);
    }

    if (v->in_postcopy) {
        return;
    }
    int64_t stuck_s = (v->start_ns + poll - k->last_progress_ns) / SIM_S;
    if (k->progress_s && stuck_s > k->progress_s) {
        a->abort = true;
        snprintf(a->reason, sizeof(a->reason),
                 "kubevirt: live migration stuck for %lld seconds "
                 "(progress_timeout %llds)",
                 (long long)stuck_s, (long long)k->progress_s);
        return;
    }
    if (k->acceptable_s && poll / SIM_S > k->acceptable_s) {
        a->abort = true;
        snprintf(a->reason, sizeof(a->reason),
                 "kubevirt: live migration not completed after %lld seconds "
                 "(%llds/GiB x %llu GB)",
                 (long long)k->acceptable_s, (long long)k->ct_per_gib_s,
                 (unsigned long long)k->data_gb);
    }
}

static int64_t kv_next_wakeup(const void *priv, const struct pol_view *v)
{
    (void)priv;
    int64_t elapsed = v->now_ns - v->start_ns;
    if (elapsed < 0) {
        return v->start_ns + KV_POLL_NS;
    }
    return v->start_ns + (elapsed / KV_POLL_NS + 1) * KV_POLL_NS;
}

const struct pol_ops pol_kubevirt = {
    .name = "kubevirt",
    .args = "[completion_timeout_per_gib=150s,progress_timeout=150s,"
            "dynamic=on|off,initial=150ms,steps=7,start_after=3,cooldown=10s,"
            "max=1050ms]",
    .summary = "KubeVirt: completion and progress timeouts (abort); "
               "dynamic=on adds the proposals' downtime ramp and stall switch",
    .help =
        "    virt-launcher's monitor, polling every 400 ms.  Abort when whole "
        "elapsed\n    seconds > completion_timeout_per_gib x data (RAM + VFIO "
        "state, rounded up to\n    whole GB), or when RAM remaining has not "
        "fallen from one poll to the next for\n    more than progress_timeout "
        "(0 = never, both).  dynamic=on (proposals VEP 291\n    and VEP 248, "
        "default off): downtime-limit starts at `initial` and rises by\n    "
        "(max - initial)/steps every `cooldown` once the dirty-sync count "
        "reaches\n    start_after; at a stall of RAM remaining (window "
        "progress_timeout, 4 %\n    margin) it switches at the local minimum: "
        "downtime-limit = best remaining /\n    bandwidth if <= max, max if "
        "below 1.5 x max, else abort.  The limit only rises.",
    .priv_size = sizeof(struct kubevirt),
    .configure = kv_configure,
    .on_iteration = kv_iteration,
    .next_wakeup = kv_next_wakeup,
};
