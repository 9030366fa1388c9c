/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy/policy.h — policies: how devices report pending data, and how the
 * switchover and tuning decisions are made.  Contract between the migration
 * model (model/mig.c) and every policy.
 *
 * A policy is a `const struct pol_ops` table found by name in a registry
 * (policy/registry.c).  A policy spec on the command line is
 *
 *     NAME[:ARGS][+NAME[:ARGS]]...
 *
 * e.g. `qemu`, `cached-stop-size`, `refresh-stop-size:1s`,
 * `avail-switchover-bandwidth:10Gbit/s`,
 * `cached-stop-size+nova-steps:downtime=400ms,steps=10,delay=30s`.
 * ARGS is positional values and/or key=value pairs separated by commas,
 * each policy documents its own.  Components compose in order: at most one
 * reporting variant; any number of tuning policies.
 *
 * The model asks the policies at three points:
 *   configure()    once, before the run: may change the scenario (enable
 *                  capabilities, set parameters) and choose the reporting
 *                  variant (struct pol_report);
 *   on_iteration() after every migration_iteration_run decision that did
 *                  not switch over, with a read-only view; may request
 *                  parameter changes, postcopy, abort or force-complete
 *                  (struct pol_actions), applied by the model in order;
 *   next_wakeup()  optional: the time the policy wants to be asked again
 *                  even if the thread is sleeping or stuck.
 * Policies hold their state in priv (priv_size bytes, zeroed); no globals,
 * randomness only from the rng given in the view.
 */
#ifndef MIGSIM_POLICY_POLICY_H
#define MIGSIM_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "run/scenario.h"

/* How VFIO devices report their pending data (the thread's variants). */
enum pol_report_mode {
    POL_REPORT_QEMU = 0,     /* as the chosen QEMU version does */
    POL_REPORT_CACHED,       /* cache stop-copy size, report it in estimate */
    POL_REPORT_REFRESH,      /* ... and refresh the cache every interval */
    POL_REPORT_IN_ESTIMATE,  /* size ioctl in every estimate() */
    POL_REPORT_NON_ITERABLE, /* stop-copy reported as non-iterable; sleep
                                instead of spinning, exact() at most every
                                interval */
};

struct pol_report {
    enum pol_report_mode mode;
    int64_t interval_ns; /* REFRESH, NON_ITERABLE */
};

/* Read-only snapshot the model hands to policies. */
struct pol_view {
    int64_t now_ns;
    int64_t start_ns;
    unsigned qemu;
    uint64_t iteration;
    /* parameters in force */
    int64_t downtime_limit_ns;
    uint64_t max_bandwidth_bps;
    uint64_t avail_switchover_bandwidth_bps;
    /* what the thread saw in this iteration */
    uint64_t pending_bytes; /* the value the decision used */
    uint64_t must_bytes;
    uint64_t threshold_bytes;
    double bandwidth_bps; /* last window */
    bool exact_called;
    /* progress */
    uint64_t ram_total_bytes;
    uint64_t ram_remaining_bytes; /* migration bitmap now */
    uint64_t device_bytes;        /* devices' stop-copy sizes now (what a
                                     management layer could learn) */
    uint64_t transferred_bytes;   /* since the start */
    uint64_t dirty_sync_count;
    double dirty_rate_bps; /* measured at the last >=1 s period */
    double throttle_pct;
    bool in_postcopy;
    bool paused;                  /* the guest was paused (force-complete) */
    bool postcopy_capable;        /* postcopy-ram capability on */
    int64_t expected_downtime_ns; /* as query-migrate would show */
};

/* Requests from a policy; the model applies them and records each one. */
struct pol_actions {
    bool set_downtime_limit;
    int64_t downtime_limit_ns;
    bool set_avail_switchover_bandwidth;
    uint64_t avail_switchover_bandwidth_bps;
    bool set_max_bandwidth;
    uint64_t max_bandwidth_bps;
    bool start_postcopy; /* migrate-start-postcopy */
    bool force_complete; /* pause the VM and finish (Nova without
                            postcopy): switch over now */
    bool abort;          /* migrate_cancel */
    char reason[120];    /* why, for abort/force/postcopy */
};

struct pol_ops {
    const char *name;
    const char *args;    /* argument synopsis, "" if none */
    const char *summary; /* one line for `migsim policies` */
    const char *help;    /* longer text: parameters, defaults, sources */
    bool is_reporting;   /* a reporting variant (at most one per spec) */
    size_t priv_size;
    /* Parse args (NULL if none), adjust the scenario and the reporting
     * variant.  0 or -1 with a message in err. */
    int (*configure)(void *priv, const char *args, struct scenario *s,
                     struct pol_report *rep, char *err, size_t errlen);
    /* Optional. */
    void (*on_iteration)(void *priv, const struct pol_view *v,
                         struct pol_actions *a);
    /* Optional: next time (ns) the policy wants on_iteration even without
     * an iteration; SIM_TIME_MAX if none. */
    int64_t (*next_wakeup)(const void *priv, const struct pol_view *v);
};

/* A policy's descriptor: name, argument synopsis, configure hook and
 * summary, then any other fields as designated initializers, e.g.
 *   const struct pol_ops pol_x = POL_OPS("x", "", cfg_x, "does x",
 *                                        .help = "...");  */
#define POL_OPS(nm, synopsis, cfg, sum, ...)                                   \
    {                                                                          \
        .name = (nm), .args = (synopsis), .configure = (cfg),                  \
        .summary = (sum), __VA_ARGS__                                          \
    }

#define POL_MAX_PARTS 8

/* A parsed spec: the policies in order with their state. */
struct pol_chain {
    char spec[160];
    unsigned n;
    const struct pol_ops *ops[POL_MAX_PARTS];
    void *priv[POL_MAX_PARTS];
    char *args[POL_MAX_PARTS];
    struct pol_report report;
};

/* Registry. */
const struct pol_ops *pol_find(const char *name);
/* All policies, NULL-terminated, in listing order. */
const struct pol_ops *const *pol_all(void);

/* Parse a spec and configure every part against s (which it may change).
 * 0, or -1 with a message naming the part in err.  Free with
 * pol_chain_free (also after failure). */
int pol_chain_setup(struct pol_chain *c, const char *spec, struct scenario *s,
                    char *err, size_t errlen);
void pol_chain_free(struct pol_chain *c);

/* Ask every part, in order. */
void pol_chain_iteration(struct pol_chain *c, const struct pol_view *v,
                         struct pol_actions *a);
int64_t pol_chain_next_wakeup(const struct pol_chain *c,
                              const struct pol_view *v);

/* Argument helpers for policies: find "key=value" or the n-th positional
 * value in a comma-separated list.  Return 1 if found (value copied),
 * 0 if absent. */
int pol_arg(const char *args, const char *key, unsigned pos, char *out,
            size_t outlen);
/* Reject keys not in the NULL-terminated list; -1 with a message. */
int pol_args_check(const char *policy, const char *args,
                   const char *const *keys, char *err, size_t errlen);

/* Reject positional values: every argument must be key=value. */
int pol_args_keyvalue_only(const char *args, char *err, size_t errlen);
/* A whole number of `unit` ns for key (bare numbers are in that unit), in
 * [min, max] units, stored in units in *out.  1 if given, 0 if absent, -1
 * on error with a message naming `who` (e.g. "Nova takes whole s"). */
int pol_arg_whole_time(const char *who, const char *args, const char *key,
                       int64_t unit, const char *unit_name, int64_t min,
                       int64_t max, int64_t *out, char *err, size_t errlen);

/* `migsim policies`: print every policy with its arguments and help. */
void pol_print_all(FILE *f, bool verbose);

#endif
