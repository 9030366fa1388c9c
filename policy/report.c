/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy/report.c — reporting variants: how VFIO devices report pending
 * data in state_pending_estimate() and state_pending_exact().  The
 * variants only choose a mode; model/mig.c carries it out in its VFIO
 * handler, so the same code serves the simulator and replay.
 */
#include <string.h>

#include "policy/policy.h"
#include "engine/engine.h"
#include "base/units.h"

/* A variant without arguments. */
static int plain_mode(const char *args, struct pol_report *rep,
                      enum pol_report_mode mode, char *err, size_t errlen)
{
    if (args) {
        snprintf(err, errlen, "takes no arguments");
        return -1;
    }
    rep->mode = mode;
    return 0;
}

static int cfg_qemu(void *priv, const char *args, struct scenario *s,
                    struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)s;
    return plain_mode(args, rep, POL_REPORT_QEMU, err, errlen);
}

static int cfg_cached(void *priv, const char *args, struct scenario *s,
                      struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)s;
    return plain_mode(args, rep, POL_REPORT_CACHED, err, errlen);
}

static int parse_interval(const char *args, const char *def, int64_t *ns,
                          char *err, size_t errlen)
{
    char v[64];
    static const char *const keys[] = {"interval", NULL};
    if (pol_args_check("interval", args, keys, err, errlen)) {
        return -1;
    }
    if (!pol_arg(args, "interval", 0, v, sizeof(v))) {
        snprintf(v, sizeof(v), "%s", def);
    }
    char e[160];
    if (units_parse_time(v, 0, ns, e, sizeof(e)) || *ns <= 0) {
        snprintf(err, errlen, "interval '%s': %s", v,
                 *ns <= 0 ? "must be > 0" : e);
        return -1;
    }
    return 0;
}

static int cfg_refresh(void *priv, const char *args, struct scenario *s,
                       struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)s;
    rep->mode = POL_REPORT_REFRESH;
    return parse_interval(args, "1s", &rep->interval_ns, err, errlen);
}

static int cfg_in_estimate(void *priv, const char *args, struct scenario *s,
                           struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)s;
    return plain_mode(args, rep, POL_REPORT_IN_ESTIMATE, err, errlen);
}

static int cfg_non_iterable(void *priv, const char *args, struct scenario *s,
                            struct pol_report *rep, char *err, size_t errlen)
{
    (void)priv;
    (void)s;
    rep->mode = POL_REPORT_NON_ITERABLE;
    return parse_interval(args, "1s", &rep->interval_ns, err, errlen);
}

const struct pol_ops pol_qemu = POL_OPS(
    "qemu", "", cfg_qemu,
    "QEMU's own reporting for the chosen version (default)",
    .help = "    8.0: stop-copy size only in exact(); 8.1-9.1: precopy "
            "initial+dirty in\n    estimate(), stop-copy + precopy (double "
            "counted) in exact(); 9.2+: stop-copy\n    only in exact(); 7.2: "
            "v1 pending_bytes in every pending query.",
    .is_reporting = true);

const struct pol_ops pol_cached_stop_size = POL_OPS(
    "cached-stop-size", "", cfg_cached,
    "cache the stop-copy size and report it in estimate() too",
    .help = "    The size is queried at setup and at every exact(); estimate() "
            "reports the\n    cached value (and the bytes read since "
            "subtracted), as the post-10.2 merged\n    query does.  A stale "
            "cache can block convergence: if the device shrinks,\n    "
            "estimate keeps the old size and exact() is never reached.",
    .is_reporting = true);

const struct pol_ops pol_refresh_stop_size = POL_OPS(
    "refresh-stop-size", "INTERVAL", cfg_refresh,
    "cached stop-copy size, refreshed from the device every "
    "INTERVAL (default 1s)",
    .help = "    Like cached-stop-size, but estimate() re-queries the device "
            "when the cache\n    is older than INTERVAL (costing one size "
            "ioctl).",
    .is_reporting = true);

const struct pol_ops pol_stop_size_in_estimate = POL_OPS(
    "stop-size-in-estimate", "", cfg_in_estimate,
    "query the stop-copy size in every estimate() (ioctl cost "
    "each call)",
    .help = "    Each estimate() costs the device's query_latency per VFIO "
            "device.",
    .is_reporting = true);

const struct pol_ops pol_non_iterable_report = POL_OPS(
    "non-iterable-report", "INTERVAL", cfg_non_iterable,
    "report stop-copy data as non-iterable; sleep instead of "
    "spinning, exact() at most every INTERVAL (default 1s)",
    .help = "    When only non-iterable data keeps the migration above the "
            "threshold, the\n    thread sleeps until INTERVAL has passed "
            "since the last exact() instead of\n    iterating.",
    .is_reporting = true);
