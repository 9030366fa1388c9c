/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy/nova.c — OpenStack Nova's libvirt live-migration monitor as a
 * tuning policy `nova-steps`: the downtime ramp (live_migration_downtime,
 * live_migration_downtime_steps, live_migration_downtime_delay) and the
 * completion timeout (live_migration_completion_timeout) with
 * live_migration_timeout_action abort or force_complete.
 *
 * What Nova does (facts from nova/virt/libvirt/migration.py: downtime_steps,
 * update_downtime, should_trigger_timeout_action, run_tasks; driver.py:
 * _live_migration_data_gb, _live_migration_monitor; conf/libvirt.py):
 *   - data_gb = max(RAM GiB, 2) + per local disk max(disk GiB, 2), as a
 *     float in binary GiB, computed once when monitoring starts;
 *   - delay = int(downtime_delay x data_gb) seconds; base = downtime /
 *     steps, offset = (downtime - base) / steps (float division); the
 *     schedule has steps + 1 entries (int(delay x i) s, int(base + offset x
 *     i) ms), i = 0..steps: 3 GiB, 10 steps, 30 s/GiB, 400 ms gives 40, 76,
 *     112, ... 400 ms every 90 s;
 *   - the monitor polls every 0.5 s; at each poll the last entry whose time
 *     is strictly below the elapsed time is applied if it differs from the
 *     value Nova set last (Nova starts with "none set");
 *   - completion_timeout = int(per-GiB timeout x data_gb) s (0 = none);
 *     when elapsed > completion_timeout and the migration is not in
 *     post-copy, abort (migrate_cancel) at that poll, or with force_complete
 *     queue a task that the next poll runs: migrate-start-postcopy if
 *     post-copy is permitted, else pause the guest.
 *
 * In the model: elapsed counts from the migration start (view start_ns);
 * polls are at multiples of 0.5 s and take effect at the first migration
 * thread iteration at or after the poll; the data size is the guest RAM
 * (at least 2 GiB, as Nova floors it) plus the VFIO devices' stop-copy
 * sizes at the first call (the model has no disks; device state stands in
 * for the data Nova would add for block-migrated disks, without Nova's
 * 2 GiB per-disk floor).  Post-copy "permitted" is the scenario's postcopy
 * capability.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "engine/engine.h"
#include "base/units.h"

#define NOVA_POLL_NS  (500 * SIM_MS) /* time.sleep(0.5) in the monitor */
#define NOVA_GIB      1073741824.0
#define NOVA_NO_TIME  INT64_MAX
#define NOVA_MAX_SECS 9223372036.0 /* INT64_MAX ns in seconds, rounded */

struct nova {
    /* parameters */
    int64_t downtime_ms; /* live_migration_downtime */
    unsigned steps;      /* live_migration_downtime_steps */
    int64_t delay_s;     /* live_migration_downtime_delay, per GiB */
    int64_t timeout_s;   /* live_migration_completion_timeout, per GiB */
    bool force;          /* live_migration_timeout_action=force_complete */
    /* derived when monitoring starts */
    bool started;
    double data_gib;
    int64_t step_delay_s;  /* int(delay x data_gb); NOVA_NO_TIME if huge */
    int64_t completion_ns; /* NOVA_NO_TIME: no timeout */
    /* monitor state */
    int64_t last_poll_ns; /* -1 before the first poll */
    int64_t cur_ms;       /* downtime Nova set last, -1 = none */
    bool force_queued;
    bool force_done;
};

/* ---- arguments ---------------------------------------------------------- */

static int nova_configure(void *priv, const char *args, struct scenario *s,
                          struct pol_report *rep, char *err, size_t errlen)
{
    (void)s;
    (void)rep;
    struct nova *n = priv;
    static const char *const keys[] = {"downtime",           "steps",  "delay",
                                       "completion_timeout", "action", NULL};
    if (pol_args_check("nova-steps", args, keys, err, errlen) ||
        pol_args_keyvalue_only(args, err, errlen)) {
        return -1;
    }
    /* Nova's defaults and minimums (nova/conf/libvirt.py) */
    n->downtime_ms = 500;
    n->steps = 10;
    n->delay_s = 75;
    n->timeout_s = 800;
    n->force = false;
    if (pol_arg_whole_time("Nova", args, "downtime", SIM_MS, "ms", 100, 2000000,
                           &n->downtime_ms, err, errlen) < 0 ||
        pol_arg_whole_time("Nova", args, "delay", SIM_S, "s", 3, 86400,
                           &n->delay_s, err, errlen) < 0 ||
        pol_arg_whole_time("Nova", args, "completion_timeout", SIM_S, "s", 0,
                           86400, &n->timeout_s, err, errlen) < 0) {
        return -1;
    }
    char v[64];
    if (pol_arg(args, "steps", 0, v, sizeof(v))) {
        char *end;
        unsigned long k = strtoul(v, &end, 10);
        if (end == v || *end || v[0] == '-' || k < 3 || k > 100000) {
            snprintf(err, errlen, "steps=%s: a whole number 3..100000", v);
            return -1;
        }
        n->steps = (unsigned)k;
    }
    if (pol_arg(args, "action", 0, v, sizeof(v))) {
        if (strcmp(v, "abort") == 0) {
            n->force = false;
        } else if (strcmp(v, "force_complete") == 0) {
            n->force = true;
        } else {
            snprintf(err, errlen, "action=%s: abort or force_complete", v);
            return -1;
        }
    }
    n->last_poll_ns = -1;
    n->cur_ms = -1;
    return 0;
}

/* ---- the schedule ------------------------------------------------------- */

/* int(base + offset x i) with Nova's float arithmetic. */
static int64_t step_value_ms(const struct nova *n, unsigned i)
{
    double base = (double)n->downtime_ms / (double)n->steps;
    double offset = ((double)n->downtime_ms - base) / (double)n->steps;
    return (int64_t)(base + offset * (double)i);
}

/* The last entry whose time is strictly below elapsed, or -1. */
static long step_index(const struct nova *n, int64_t elapsed_ns)
{
    if (elapsed_ns <= 0) {
        return -1; /* entry 0 is at time 0 and needs elapsed > 0 */
    }
    if (n->step_delay_s == 0) {
        return (long)n->steps;
    }
    if (n->step_delay_s == NOVA_NO_TIME ||
        n->step_delay_s > INT64_MAX / SIM_S) {
        return 0;
    }
    int64_t k = (elapsed_ns - 1) / (n->step_delay_s * SIM_S);
    return k > (int64_t)n->steps ? (long)n->steps : (long)k;
}

static int64_t secs_to_int(double secs)
{
    if (secs >= NOVA_MAX_SECS) {
        return NOVA_NO_TIME;
    }
    return (int64_t)secs; /* Python int(): truncation */
}

static void nova_start(struct nova *n, const struct pol_view *v)
{
    double ram = (double)v->ram_total_bytes / NOVA_GIB;
    if (ram < 2.0) {
        ram = 2.0;
    }
    n->data_gib = ram + (double)v->device_bytes / NOVA_GIB;
    n->step_delay_s = secs_to_int((double)n->delay_s * n->data_gib);
    n->completion_ns = NOVA_NO_TIME;
    if (n->timeout_s) {
        int64_t t = secs_to_int((double)n->timeout_s * n->data_gib);
        if (t != NOVA_NO_TIME && t <= INT64_MAX / SIM_S) {
            n->completion_ns = t * SIM_S;
        }
    }
    n->started = true;
}

/* ---- the monitor -------------------------------------------------------- */

static void nova_iteration(void *priv, const struct pol_view *v,
                           struct pol_actions *a)
{
    struct nova *n = priv;
    if (!n->started) {
        nova_start(n, v);
    }
    int64_t elapsed = v->now_ns - v->start_ns;
    if (elapsed < 0) {
        return;
    }
    int64_t poll = elapsed / NOVA_POLL_NS * NOVA_POLL_NS;
    if (poll <= n->last_poll_ns) {
        return;
    }
    n->last_poll_ns = poll;

    /* run_tasks: the force-complete queued at an earlier poll */
    if (n->force_queued) {
        n->force_queued = false;
        n->force_done = true;
        if (!v->in_postcopy) {
            if (v->postcopy_capable) {
                a->start_postcopy = true;
                snprintf(a->reason, sizeof(a->reason),
                         "nova-steps: completion timeout %llds, "
                         "force_complete with post-copy",
                         (long long)(n->completion_ns / SIM_S));
            } else {
                a->force_complete = true;
                snprintf(a->reason, sizeof(a->reason),
                         "nova-steps: completion timeout %llds, "
                         "force_complete pauses the guest",
                         (long long)(n->completion_ns / SIM_S));
            }
        }
    }

    /* should_trigger_timeout_action: not in post-copy, elapsed > timeout */
    if (n->completion_ns != NOVA_NO_TIME && !v->in_postcopy &&
        poll > n->completion_ns) {
        if (!n->force) {
            a->abort = true;
            snprintf(a->reason, sizeof(a->reason),
                     "nova-steps: live migration not completed after %lld s "
                     "(completion_timeout %llds/GiB x %.2f GiB)",
                     (long long)(n->completion_ns / SIM_S),
                     (long long)n->timeout_s, n->data_gib);
            return;
        }
        if (!n->force_done && !n->force_queued) {
            n->force_queued = true;
        }
    }

    /* update_downtime */
    long i = step_index(n, poll);
    if (i >= 0) {
        int64_t ms = step_value_ms(n, (unsigned)i);
        if (ms != n->cur_ms) {
            n->cur_ms = ms;
            a->set_downtime_limit = true;
            a->downtime_limit_ns = ms * SIM_MS;
        }
    }
}

static int64_t nova_next_wakeup(const void *priv, const struct pol_view *v)
{
    (void)priv;
    int64_t elapsed = v->now_ns - v->start_ns;
    if (elapsed < 0) {
        return v->start_ns;
    }
    return v->start_ns + (elapsed / NOVA_POLL_NS + 1) * NOVA_POLL_NS;
}

const struct pol_ops pol_nova_steps = {
    .name = "nova-steps",
    .args = "[downtime=500ms,steps=10,delay=75s,completion_timeout=800s,"
            "action=abort|force_complete]",
    .summary = "OpenStack Nova: downtime ramp by data size and completion "
               "timeout (abort or force_complete)",
    .help =
        "    Nova's libvirt monitor, polling every 0.5 s.  data = max(RAM "
        "GiB, 2) + VFIO\n    state GiB; delay = int(delay x data) s; step i "
        "= 0..steps sets downtime-limit\n    int(b + (downtime - b)/steps x "
        "i) ms, b = downtime/steps, at the first poll\n    after i x delay "
        "(3 GiB, steps=10, delay=30s, downtime=400ms: 40, 76, ... 400 ms\n"
        "    every 90 s).  After int(completion_timeout x data) s (0 = "
        "never): abort, or\n    force_complete at the next poll "
        "(migrate-start-postcopy if the postcopy\n    capability is on, "
        "else pause the guest).  Defaults and minimums are Nova's\n    "
        "(downtime >= 100ms, steps >= 3, delay >= 3s); whole ms / s only.",
    .priv_size = sizeof(struct nova),
    .configure = nova_configure,
    .on_iteration = nova_iteration,
    .next_wakeup = nova_next_wakeup,
};
