/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy/basic.c — tuning policies that are QEMU settings: fixed,
 * downtime-limit, avail-switchover-bandwidth, auto-converge, dirty-limit,
 * postcopy-after, pause-before-switchover.  The mechanisms themselves
 * (throttling, postcopy, the pause) are QEMU's and live in model/mig.c.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "engine/engine.h"
#include "base/units.h"

static int no_args(const char *args, char *err, size_t errlen)
{
    if (args) {
        snprintf(err, errlen, "takes no arguments");
        return -1;
    }
    return 0;
}

static int cfg_fixed(void *priv, const char *args, struct scenario *s,
                     struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)s;
    (void)rep;
    return no_args(args, err, errlen);
}

static int cfg_downtime(void *priv, const char *args, struct scenario *s,
                        struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)rep;
    char v[64];
    static const char *const keys[] = {"limit", NULL};
    if (pol_args_check("downtime-limit", args, keys, err, errlen)) {
        return -1;
    }
    if (!pol_arg(args, "limit", 0, v, sizeof(v))) {
        snprintf(err, errlen, "needs a time, e.g. downtime-limit:2s");
        return -1;
    }
    char e[160];
    int64_t ns;
    if (units_parse_time(v, 0, &ns, e, sizeof(e)) || ns <= 0 ||
        ns > 2000 * SIM_S) {
        snprintf(err, errlen, "'%s': %s", v,
                 ns <= 0 || ns > 2000 * SIM_S ? "must be in (0, 2000s]" : e);
        return -1;
    }
    s->downtime_limit_ns = ns;
    return 0;
}

static int cfg_avail(void *priv, const char *args, struct scenario *s,
                     struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)rep;
    char v[64];
    static const char *const keys[] = {"rate", NULL};
    if (pol_args_check("avail-switchover-bandwidth", args, keys, err, errlen)) {
        return -1;
    }
    if (!pol_arg(args, "rate", 0, v, sizeof(v))) {
        snprintf(err, errlen,
                 "needs a rate, e.g. avail-switchover-bandwidth:10Gbit/s");
        return -1;
    }
    if (!qv_get(s->qemu)->avail_switchover_bw) {
        snprintf(err, errlen,
                 "the parameter exists from QEMU 8.2 on (model "
                 "is %s)",
                 scn_qemu_name(s->qemu));
        return -1;
    }
    char e[160];
    uint64_t r;
    if (units_parse_rate(v, &r, e, sizeof(e)) || r == 0) {
        snprintf(err, errlen, "'%s': %s", v, r == 0 ? "must be > 0" : e);
        return -1;
    }
    s->avail_switchover_bandwidth_bps = r;
    return 0;
}

static int get_pct(const char *args, const char *key, unsigned *out, char *err,
                   size_t errlen)
{
    char v[32];
    if (!pol_arg(args, key, 99, v, sizeof(v))) {
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end == '%') {
        end++;
    }
    if (end == v || *end || n < 1 || n > 99) {
        snprintf(err, errlen, "%s=%s: a percentage 1..99", key, v);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static int cfg_auto_converge(void *priv, const char *args, struct scenario *s,
                             struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)rep;
    static const char *const keys[] = {"initial", "increment", "max",
                                       "tailslow", NULL};
    if (pol_args_check("auto-converge", args, keys, err, errlen)) {
        return -1;
    }
    s->auto_converge = true;
    if (get_pct(args, "initial", &s->cpu_throttle_initial, err, errlen) ||
        get_pct(args, "increment", &s->cpu_throttle_increment, err, errlen) ||
        get_pct(args, "max", &s->max_cpu_throttle, err, errlen)) {
        return -1;
    }
    char v[16];
    if (pol_arg(args, "tailslow", 99, v, sizeof(v))) {
        if (strcmp(v, "on") == 0 || strcmp(v, "true") == 0) {
            s->cpu_throttle_tailslow = true;
        } else if (strcmp(v, "off") == 0 || strcmp(v, "false") == 0) {
            s->cpu_throttle_tailslow = false;
        } else {
            snprintf(err, errlen, "tailslow=%s: on or off", v);
            return -1;
        }
    }
    return 0;
}

static int cfg_dirty_limit(void *priv, const char *args, struct scenario *s,
                           struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)rep;
    static const char *const keys[] = {"rate", NULL};
    if (pol_args_check("dirty-limit", args, keys, err, errlen)) {
        return -1;
    }
    if (!qv_get(s->qemu)->dirty_limit) {
        snprintf(err, errlen,
                 "dirty-limit exists from QEMU 8.1 on (model is "
                 "%s)",
                 scn_qemu_name(s->qemu));
        return -1;
    }
    char v[64];
    if (pol_arg(args, "rate", 0, v, sizeof(v))) {
        char e[160];
        uint64_t r;
        if (units_parse_rate(v, &r, e, sizeof(e)) || r == 0) {
            snprintf(err, errlen, "'%s': %s", v, r == 0 ? "must be > 0" : e);
            return -1;
        }
        s->vcpu_dirty_limit_bps = r;
    }
    s->dirty_limit = true;
    s->auto_converge = false;
    return 0;
}

struct postcopy_after {
    uint64_t after;
    bool done;
};

static int cfg_postcopy_after(void *priv, const char *args, struct scenario *s,
                              struct pol_report *rep, char *err, size_t errlen)
{
    (void)rep;
    struct postcopy_after *p = priv;
    static const char *const keys[] = {"iterations", NULL};
    if (pol_args_check("postcopy-after", args, keys, err, errlen)) {
        return -1;
    }
    char v[32];
    if (!pol_arg(args, "iterations", 0, v, sizeof(v))) {
        snprintf(err, errlen,
                 "needs an iteration count, e.g. "
                 "postcopy-after:5");
        return -1;
    }
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v || *end) {
        snprintf(err, errlen, "'%s': not a whole number", v);
        return -1;
    }
    if (s->n_devices && qv_get(s->qemu)->vfio_refuses_postcopy) {
        snprintf(err, errlen,
                 "QEMU 9.0+ refuses postcopy-ram with VFIO "
                 "devices (vfio save_prepare)");
        return -1;
    }
    p->after = n;
    s->postcopy_ram = true;
    return 0;
}

/* Counts dirty-bitmap passes (QEMU's "iterations" in management tools are
 * the dirty-sync count). */
static void it_postcopy_after(void *priv, const struct pol_view *v,
                              struct pol_actions *a)
{
    struct postcopy_after *p = priv;
    if (!p->done && !v->in_postcopy && v->dirty_sync_count > p->after) {
        a->start_postcopy = true;
        snprintf(a->reason, sizeof(a->reason),
                 "postcopy-after: %llu dirty-sync passes done",
                 (unsigned long long)p->after);
        p->done = true;
    }
}

static int cfg_pause(void *priv, const char *args, struct scenario *s,
                     struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)rep;
    static const char *const keys[] = {"wait", NULL};
    if (pol_args_check("pause-before-switchover", args, keys, err, errlen)) {
        return -1;
    }
    char v[64];
    if (pol_arg(args, "wait", 0, v, sizeof(v))) {
        char e[160];
        if (units_parse_time(v, 0, &s->pause_wait_ns, e, sizeof(e)) ||
            s->pause_wait_ns < 0) {
            snprintf(err, errlen, "wait '%s': %s", v, e);
            return -1;
        }
    }
    s->pause_before_switchover = true;
    return 0;
}

const struct pol_ops pol_fixed =
    POL_OPS("fixed", "", cfg_fixed,
            "QEMU as configured in the scenario, no management layer");

const struct pol_ops pol_downtime_limit =
    POL_OPS("downtime-limit", "TIME", cfg_downtime,
            "set downtime-limit (migrate-set-parameters) before the start");

const struct pol_ops pol_avail_switchover_bandwidth =
    POL_OPS("avail-switchover-bandwidth", "RATE", cfg_avail,
            "set avail-switchover-bandwidth (8.2+): threshold = RATE x "
            "downtime-limit");

const struct pol_ops pol_auto_converge = POL_OPS(
    "auto-converge", "[initial=20,increment=10,max=99,tailslow=off]",
    cfg_auto_converge,
    "QEMU's CPU throttling when the guest dirties faster than "
    "50% of what is sent",
    .help = "    Per >=1 s sync period, if dirtied bytes exceed "
            "throttle-trigger-threshold\n    (50%) of the bytes sent for the "
            "second time, throttle the vCPUs: initial\n    20%, then +10% "
            "(tailslow: smaller steps near the goal), up to 99%.");

const struct pol_ops pol_dirty_limit =
    POL_OPS("dirty-limit", "RATE", cfg_dirty_limit,
            "QEMU 8.1+ dirty-limit: per-vCPU dirty-rate quota (default "
            "1MB/s) on the same trigger");

const struct pol_ops pol_postcopy_after =
    POL_OPS("postcopy-after", "ITERATIONS", cfg_postcopy_after,
            "enable postcopy-ram and migrate-start-postcopy after that "
            "many dirty-sync passes",
            .priv_size = sizeof(struct postcopy_after),
            .on_iteration = it_postcopy_after);

const struct pol_ops pol_pause_before_switchover =
    POL_OPS("pause-before-switchover", "[wait=TIME]", cfg_pause,
            "pause in pre-switchover until migrate-continue (the wait "
            "counts as downtime)");
