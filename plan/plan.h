/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * plan/plan.h — the planner and parameter sweeps: contract.
 *
 * Three parts, all built on mig_simulate() (model/mig.h), which has no
 * globals, so simulations run in parallel on worker threads:
 *
 * Grids (plan_grid_*): the axes of a sweep.  An axis is a scenario key path
 * (anything scn_doc_set accepts, e.g. "migration.downtime_limit",
 * "devices.0.stop_copy_size") or the policy axis "policy", with a list of
 * values.  A spec is "KEY=ITEM[,ITEM]...", an ITEM is
 *   VALUE          taken as by --set (JSON if it parses as JSON, else a
 *                  string: "300ms", 12, true, "9.2");
 *   A..B:STEP      A, A+STEP, ... up to and including B (if on the step);
 *   A..B*FACTOR    A, A*FACTOR, A*FACTOR^2, ... up to B (FACTOR > 1).
 * Range ends and steps are times ("100ms"), rates ("1Gbit/s"), sizes
 * ("512MiB") or plain numbers, all of one kind (a factor is a plain
 * number).  Times, rates and sizes are computed exactly in integer ns,
 * bytes/s and bytes and written back in the largest unit that keeps the
 * value exact ("1100ms", "10Gbit/s", "512MiB"); plain numbers stay
 * integers when all three are integers.  Commas inside brackets, braces
 * or quotes do not split.  Policy specs contain commas of their own
 * ("nova-steps:downtime=400ms,steps=10"): on the policy axis an item
 * that does not start with a registered policy name is joined to the one
 * before it, and ';' may separate specs instead.  Giving the same key
 * twice appends to its axis.
 *
 * Points: the cross product of the axes in the order they were added
 * (first axis slowest) times the seeds (fastest): point index =
 * cell x seeds + seed offset.  Seed offset k sets "seed" to the seed the
 * point's scenario resolves to plus k.  A point's key identifies it in the
 * run store: SHA-256 (hex) over "migsim-point-1", the point's scenario as
 * compact JSON with sorted keys (scn_doc_json, after every assignment),
 * the policy spec and the seed.  The same scenario text, policy and seed
 * give the same key on any machine, so finished points are found again
 * (resuming) and merged stores do not hold a point twice.
 *
 * Sweeps (plan_sweep_run): every point of one shard, on `jobs` worker
 * threads, results stored in the run store (db_run_copy_in: one
 * transaction per point, so an interrupted sweep leaves only finished
 * points) and handed to a callback in point order.  A point whose key is
 * already stored as a complete run is not run again (its stored metrics
 * are passed on).  RAM mode: aggregate unless the scenario or a grid axis
 * sets sim.ram_mode.  Runs keep metrics only (no samples or events).
 * Shards: with N shards, shard I (1-based) holds the points with
 * index mod N == I-1 (PLAN_SHARD_MOD, the default: every shard gets a
 * similar mix of the grid) or the I-th of N contiguous blocks of
 * floor(P*(I-1)/N) .. floor(P*I/N)-1 (PLAN_SHARD_BLOCK).
 *
 * Planner (plan_run): for each policy, the smallest downtime-limit that
 * converges within a total-time budget.  Limits are whole milliseconds (as
 * QEMU's downtime-limit).  The limits of a frontier (by default the 1-2-5
 * series 1 ms .. 2000 s, QEMU's maximum) are simulated first; the outcome
 * ("converged within the budget") must be false below some limit and true
 * from there on.  If it is, the edge is found by bisection (k-section on
 * several threads) to 1 ms, then three limits just above the answer are
 * checked; if it is not (a converging limit below a failing one), the
 * note says where, and the answer is the smallest limit above which every
 * simulated limit converged.  Stochastic scenarios (results differ between
 * two seeds at any frontier limit) are searched per seed over `seeds`
 * seeds; the answer is the largest per-seed limit, with GSL statistics
 * (mean, sd, t-based 95 % interval of the mean) over the seeds and a
 * Clopper-Pearson 95 % interval of the converging fraction.  Simulations
 * use the scenario with migration.time_limit = the total-time budget.
 *
 * Units: times int64 ns, sizes uint64 bytes, rates bytes/s; *_ms doubles
 * are milliseconds.  Errors: 0 / negative (or NULL) with a message in err.
 */
#ifndef MIGSIM_PLAN_PLAN_H
#define MIGSIM_PLAN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "model/mig.h"
#include "run/qmp_params.h"
#include "run/result.h"
#include "run/scenario.h"

#define PLAN_MAX_AXES       16
#define PLAN_MAX_VALUES     10000000 /* per axis */
#define PLAN_MAX_POINTS     (UINT64_C(1) << 40)
#define PLAN_MAX_POLICIES   16
#define PLAN_MAX_SEEDS      1000
#define PLAN_MAX_LIMIT_MS   QMP_DOWNTIME_LIMIT_MAX_MS /* QEMU: <= 2000 s */
#define PLAN_POLICY_KEY     "policy"
#define PLAN_DEFAULT_POLICY "qemu"

/* ---- grids -------------------------------------------------------------- */

struct plan_axis {
    bool is_policy;
    char key[128]; /* key path as given (or "policy") */
    size_t n, cap;
    char **values; /* value texts (owned) */
};

struct plan_grid {
    size_t n_axes;
    struct plan_axis axes[PLAN_MAX_AXES];
};

void plan_grid_init(struct plan_grid *g);
void plan_grid_free(struct plan_grid *g);
/* Add "KEY=ITEMS" (see above).  -1 with a message naming the spec. */
int plan_grid_add(struct plan_grid *g, const char *spec, char *err,
                  size_t errlen);
/* Product of the axis sizes (1 for no axes). */
uint64_t plan_grid_cells(const struct plan_grid *g);
/* Index of the axis for key, -1 if none. */
int plan_grid_find(const struct plan_grid *g, const char *key);
/* Value index per axis of cell (coord has n_axes entries). */
void plan_grid_coords(const struct plan_grid *g, uint64_t cell, size_t *coord);
/* The same expansion for any cross product: value index per dimension of
 * cell, first dimension slowest (coord has n_dims entries). */
void plan_cross_coords(const size_t *dims, size_t n_dims, uint64_t cell,
                       size_t *coord);

/*
 * Expand one value list "ITEM[,ITEM]..." (no key) into texts.  *vals is
 * malloc'ed with *n malloc'ed strings (free each and the array).  policy
 * selects the policy-axis splitting rule.
 */
int plan_values_parse(const char *list, bool policy, char ***vals, size_t *n,
                      char *err, size_t errlen);

/* Exact unit texts used for range values (buf of >= 32 bytes): */
char *plan_fmt_time(int64_t ns, char *buf, size_t len);     /* "1100ms" */
char *plan_fmt_size(uint64_t bytes, char *buf, size_t len); /* "512MiB" */
char *plan_fmt_rate(uint64_t bps, char *buf, size_t len);   /* "10Gbit/s" */

/* ---- points ------------------------------------------------------------- */

/* Key of a point (64 hex digits + NUL). */
void plan_point_key(const char *scenario_json, const char *policy,
                    uint64_t seed, char out[65]);

/* 1 if the document sets key path (dotted, e.g. "sim.ram_mode"), else 0. */
int plan_doc_has(const struct scn_doc *d, const char *path);

/* Default worker count: online CPUs (at least 1). */
unsigned plan_default_jobs(void);

/* ---- sweeps ------------------------------------------------------------- */

enum plan_shard_mode { PLAN_SHARD_MOD = 0, PLAN_SHARD_BLOCK };

struct plan_sweep_cfg {
    const struct scn_doc *base; /* scenario, --set overrides applied */
    const char *source_path;    /* stored with each run ("" or NULL) */
    const char *source_sha256;  /* hex, "" or NULL */
    const struct plan_grid *grid;
    const char *policy; /* without a policy axis; NULL = "qemu" */
    unsigned seeds;     /* >= 1 */
    unsigned jobs;      /* worker threads; 0 = plan_default_jobs() */
    unsigned shard_i;   /* 1-based; 0 = 1 */
    unsigned shard_n;   /* 0 = 1 */
    enum plan_shard_mode shard_mode;
    const char *db_path;      /* run store (created if missing) */
    const char *command_line; /* stored with each run (may be NULL) */
    bool progress;            /* progress bar on stderr (caller checks tty) */
};

enum plan_point_status {
    PLAN_PT_RAN = 0, /* simulated now and stored */
    PLAN_PT_STORED,  /* found in the store, not run again */
    PLAN_PT_FAILED,  /* this combination is invalid (message) */
};

const char *plan_point_status_name(enum plan_point_status s);

/* One finished point, valid during the callback only. */
struct plan_point {
    uint64_t index;      /* in the whole sweep */
    const size_t *coord; /* value index per axis */
    unsigned seed_off;
    uint64_t seed;
    const char *policy;
    const char *key;
    int64_t run_id; /* 0 if failed */
    enum plan_point_status status;
    const char *error;           /* FAILED: why */
    const struct run_metrics *m; /* RAN, STORED */
    const struct scenario *scn;  /* RAN (resolved point), else NULL */
};

/* Return 0 to go on, non-zero to stop the sweep (plan_sweep_run then
 * returns that value after the workers stop). */
typedef int (*plan_point_fn)(void *ctx, const struct plan_point *p);

struct plan_sweep_stats {
    uint64_t points;       /* whole sweep (cells x seeds) */
    uint64_t shard_points; /* this shard */
    uint64_t ran, stored, failed;
    uint64_t commits; /* store transactions that wrote points */
    unsigned jobs;
    double wall_s;
};

/* Points of shard i of n (1-based) among `points`, and the index of the
 * k-th of them. */
uint64_t plan_shard_count(uint64_t points, unsigned i, unsigned n,
                          enum plan_shard_mode mode);
uint64_t plan_shard_index(uint64_t points, unsigned i, unsigned n,
                          enum plan_shard_mode mode, uint64_t k);

#define PLAN_ERR_IO (-2) /* plan_sweep_run: run store error */
#define PLAN_ERR_UNIT                                                          \
    (-3) /* plan_sweep_run: a grid value's unit is missing                     \
            or unknown (a usage error) */

/*
 * Run a sweep (see the file comment).  Before any simulation every axis
 * value is applied alone to the base scenario and resolved, and every
 * policy is checked, so a bad value is reported at once (-1).  fn may be
 * NULL.  Returns 0, -1 with a message (bad grid, value or policy, out of
 * memory), PLAN_ERR_UNIT (a grid value without its unit or with an
 * unknown one), PLAN_ERR_IO (store error), or fn's positive return value. stats
 * (optional) is filled in every case.
 */
int plan_sweep_run(const struct plan_sweep_cfg *cfg, plan_point_fn fn,
                   void *ctx, struct plan_sweep_stats *stats, char *err,
                   size_t errlen);

/* ---- planner ------------------------------------------------------------ */

/* Statistics of a sample (GSL): n values; sd 0 and ci = mean when n < 2. */
struct plan_stat {
    unsigned n;
    double mean, sd, min, max;
    double ci_lo, ci_hi; /* 95 % t-interval of the mean */
};

/* The management layer the advice is for (`plan --for`). */
enum plan_layer {
    PLAN_FOR_QEMU = 0, /* QMP commands */
    PLAN_FOR_LIBVIRT,  /* virsh (qemu-monitor-command for what it lacks) */
    PLAN_FOR_NOVA,     /* nova.conf [libvirt] options */
    PLAN_FOR_KUBEVIRT, /* a MigrationPolicy / spec.configuration.migrations */
    PLAN_FOR_PROXMOX,  /* qm set / datacenter.cfg */
    PLAN_FOR_COUNT
};
/* "qemu", "libvirt", "nova", "kubevirt", "proxmox". */
const char *plan_layer_name(enum plan_layer l);
/* 0 and *out, or -1 (unknown name). */
int plan_layer_parse(const char *s, enum plan_layer *out);

/* Default safety factor of the advice over the smallest converging value. */
#define PLAN_DEFAULT_SAFETY 1.25
#define PLAN_MAX_SAFETY     10.0
/* Nova's minimum of [libvirt] live_migration_downtime (nova/conf/libvirt.py,
 * as policy/nova.c enforces it). */
#define PLAN_NOVA_MIN_DOWNTIME_MS 100

/* What the scenario planned on rests on (said with the advice, and the
 * grounds for refusing it). */
struct plan_basis {
    bool from_trace;       /* rebuilt from a trace's derived inputs */
    char source[512];      /* file or run the scenario came from */
    bool inconclusive;     /* the replay verdict was "inconclusive" */
    char verdict[32];      /* replay verdict name, "" if none */
    double achieved_bps;   /* throughput the trace showed (0 = unknown) */
    char calibration[512]; /* calibration file the re-run loaded, "" none */
    /* The replay fit (traces/replay.h struct trc_fit): the re-run of the
     * trace-derived inputs under the trace's own policy "qemu" against
     * what the trace shows.  fit_checked: a fit was computed (or the
     * re-run failed, then fit_ok is false); fit_ok false refuses the
     * advice with fit_note as the reason. */
    bool fit_checked, fit_ok;
    bool fit_total_compared; /* the trace converged: totals compared */
    int64_t fit_obs_total_ns, fit_rerun_total_ns; /* -1 = none */
    double fit_total_error; /* (re-run - observed) / observed; NAN none */
    double fit_tolerance;   /* TRC_FIT_TOLERANCE */
    char fit_obs_verdict[32], fit_rerun_verdict[32];
    char fit_blame[200]; /* the inputs to suspect, "" when ok */
    char fit_note[600];  /* the fit in words (figures above) */
};

/* The basis of a plan on a replayed trace (plan_basis.c): the replay
 * verdict, the achieved throughput and the fit of session s (the re-run
 * under "qemu" is s->cf[0] when s->fit.have is false and it failed).
 * source names the trace; calibration the file the re-run loaded (NULL =
 * none). */
struct trc_session;
void plan_basis_from_replay(struct plan_basis *b, const struct trc_session *s,
                            const char *source, const char *calibration);

struct plan_cfg {
    const struct scn_doc *base;     /* scenario, overrides applied */
    double safety;                  /* factor >= 1; 0 = PLAN_DEFAULT_SAFETY */
    enum plan_layer layer;          /* advice for this layer */
    const struct plan_basis *basis; /* NULL: a scenario file */
    const char *const *policies;
    size_t n_policies;          /* 0: "qemu" plus default candidates (below) */
    int64_t max_total_ns;       /* total-time budget; 0 = 10 min */
    int64_t max_downtime_ns;    /* downtime budget; 0 = 1 s */
    int64_t at_limit_ns;        /* limit for the max-bandwidth search; 0 = the
                                   scenario's downtime-limit */
    unsigned seeds;             /* seeds for stochastic scenarios; 0 = 5 */
    unsigned jobs;              /* 0 = plan_default_jobs() */
    const int64_t *frontier_ns; /* NULL: 1-2-5 series 1 ms .. 2000 s */
    size_t n_frontier;
    bool page_mode; /* keep page RAM mode when the scenario does not set
                       sim.ram_mode (default: aggregate, as sweeps) */
};

/* Default candidates with no policies given: qemu; auto-converge if the
 * guest dirties memory; avail-switchover-bandwidth:<real switchover
 * throughput> on QEMU 8.2+.  (Reporting variants need a changed QEMU and
 * may spin for the whole budget: name them with policies.) */

struct plan_frontier_row {
    int64_t limit_ns;
    enum run_outcome outcome; /* the first seed's */
    unsigned n_ok;            /* seeds converged within the time budget */
    unsigned n_runs;
    double total_ms;    /* mean over seeds */
    double downtime_ms; /* mean over converged seeds; NAN if none */
    bool is_min;        /* the smallest converging limit */
};

/* The value a policy's search varies. */
enum plan_knob {
    PLAN_KNOB_LIMIT = 0,    /* QEMU's downtime-limit */
    PLAN_KNOB_NOVA,         /* nova-steps downtime= ([libvirt]
                               live_migration_downtime, the ramp's end) */
    PLAN_KNOB_KUBEVIRT_MAX, /* kubevirt dynamic=on max= (maxDowntimeMs) */
};
/* Argument key of the part named part ("nova-steps") of a policy spec
 * into out; 1 if given, 0 if not. */
int plan_spec_arg(const char *spec, const char *part, const char *key,
                  char *out, size_t len);
/* "downtime-limit", "live_migration_downtime", "maxDowntimeMs". */
const char *plan_knob_name(enum plan_knob k);

struct plan_policy {
    char policy[160];
    enum plan_knob knob; /* what min_limit_ns is the value of */
    char error[256];     /* non-empty: the policy cannot run here */
    bool found;          /* a converging limit <= 2000 s exists */
    int64_t min_limit_ns;
    struct plan_stat seed_limit_ms; /* per-seed smallest limits */
    bool monotone;
    char note[256]; /* where monotonicity failed, or "" */
    /* at min_limit_ns over the seeds: */
    unsigned n_ok, n_seeds;
    double p_lo, p_hi; /* Clopper-Pearson 95 % of the converging share */
    struct plan_stat downtime_ms, total_ms, src_downtime_ms;
    struct plan_stat exact_calls, sync_time_ms, max_throttle_pct, spin_ms;
    bool meets; /* all seeds converge within the time budget and their
                   largest downtime is within the downtime budget */
    struct run_metrics run;  /* the first seed's run at min_limit_ns */
    struct scenario applied; /* scenario as the policy configures it at
                                min_limit_ns (for the commands) */
    size_t n_frontier;
    struct plan_frontier_row *frontier; /* ascending limits */
};

/* Policy specs the planner varies (plan_layers.c). */
#define PLAN_SPEC_LEN     200
#define PLAN_MAX_VARIANTS 96
/* The layers' limits of the knobs searched: Nova's minimums
 * (nova/conf/libvirt.py: live_migration_downtime_steps >= 3,
 * live_migration_downtime_delay >= 3); the timeouts' upper bound and the
 * KubeVirt dynamic steps' range are the models' (policy/nova.c,
 * policy/kubevirt.c). */
#define PLAN_NOVA_MIN_STEPS   3
#define PLAN_NOVA_MIN_DELAY_S 3
#define PLAN_KV_MIN_STEPS     1
#define PLAN_KV_MIN_COOLDOWN  1
#define PLAN_MAX_TIMEOUT_S    86400

/* A Nova or KubeVirt policy's own knobs, searched at the advised value
 * (plan_layers.c; docs/planner.md "The layer's own knobs"). */
struct plan_layer_advice {
    bool searched;      /* nova-steps or kubevirt: the knobs below are advice */
    bool nova;          /* else KubeVirt */
    bool dynamic;       /* KubeVirt dynamic=on (the proposals' ramp) */
    unsigned steps;     /* Nova _steps / KubeVirt dynamic steps */
    int64_t delay_s;    /* Nova live_migration_downtime_delay (per GiB) */
    int64_t cooldown_s; /* KubeVirt dynamic cooldown */
    int64_t completion_s;   /* per GiB (Nova, KubeVirt); 0 = none */
    int64_t progress_s;     /* KubeVirt progressTimeout; 0 = none */
    char action[16];        /* Nova live_migration_timeout_action */
    double data_gib;        /* the data size the per-GiB timeouts assume
                               (Nova: GiB; KubeVirt: whole GB) */
    int64_t at_limit_ms;    /* plain KubeVirt: the downtime-limit in force */
    unsigned combos;        /* ramp combinations simulated */
    unsigned n_ok, n_seeds; /* at the chosen values, timeouts included */
    struct plan_stat downtime_ms, total_ms;
    char how[700];      /* what was searched and why these values */
    char postcopy[400]; /* what permitting post-copy would do, or "" */
};

/* The advice: the value to set, with its margin, clamped to what QEMU and
 * the layer accept, checked by simulation, or refused with a reason. */
struct plan_advice {
    bool ok; /* false: refused (reason), nothing to apply */
    char reason[800];
    enum plan_layer layer;
    enum plan_knob knob;
    double safety;
    int64_t value_ns;       /* the knob's advised value */
    char value_why[400];    /* margin, floor and clamps applied */
    unsigned n_ok, n_seeds; /* seeds converging at value_ns */
    struct plan_stat downtime_ms, total_ms; /* at value_ns */
    bool set_bw;                            /* advise max-bandwidth bw_bps */
    uint64_t bw_bps;
    char bw_note[300];
    char rests_on[1800];   /* scenario / trace / calibration / fit */
    char uncertainty[300]; /* the interval over seeds */
    struct plan_layer_advice lk;
};

struct plan_result {
    struct scenario scn; /* resolved base (time_limit = budget) */
    struct plan_advice advice;
    struct plan_basis basis;
    bool aggregate; /* RAM mode used */
    bool stochastic;
    unsigned seeds; /* seeds per point (1 if deterministic) */
    int64_t max_total_ns, max_downtime_ns;
    size_t n_policies;
    struct plan_policy *pol; /* in the order given */
    int best;                /* first policy meeting both budgets, -1 if none */
    int top; /* best, or 0: the policy the headline figures are for */
    double avail_switchover_bps; /* real switchover throughput */
    int64_t at_limit_ns;
    bool bw_found;
    uint64_t max_bandwidth_needed_bps; /* whole MiB/s */
    char bw_note[256];
    uint64_t sims;
    double wall_s;
};

/*
 * Plan (see the file comment).  Returns 0 (whether or not anything meets
 * the budgets: see out->best), or -1 with a message (bad scenario or
 * configuration, out of memory).  Free out with plan_result_free (also
 * after failure).
 */
int plan_run(const struct plan_cfg *cfg, struct plan_result *out, char *err,
             size_t errlen);
void plan_result_free(struct plan_result *r);

/*
 * Switchover throughput of a finished run: the bytes sent inside the
 * downtime over the time the wire (RAM at the link, or the multifd cap;
 * devices at min(link, read bandwidth); the rest at the link) needs for
 * them.  Without a converged run (m NULL or not converged) the devices'
 * stop-copy sizes are used.  bytes/s.
 */
double plan_switchover_bps(const struct scenario *s,
                           const struct run_metrics *m);

/* ---- output (plan/plan_out.c) ------------------------------------------ */

/* The answer as JSON (`migsim plan --format json`; new reference). */
json_t *plan_result_json(const struct plan_result *r, const char *source,
                         int64_t saved_id);
/* The answer as the plan table. */
void plan_result_print(FILE *f, const struct plan_result *r, const char *source,
                       int64_t saved_id);
/* QMP commands (migrate-set-capabilities, migrate-set-parameters) and
 * virsh lines applying the advice of r (empty arrays if it was refused). */
void plan_commands(const struct plan_result *r, json_t **qmp, json_t **virsh);
/* The advice for layer l as lines (commands, config lines, YAML, comments
 * starting with '#'); an empty array if refused. */
json_t *plan_layer_lines(const struct plan_result *r, enum plan_layer l);

/* Statistics helper (GSL); v has n values (n may be 0). */
void plan_stat_compute(struct plan_stat *st, const double *v, unsigned n);

#endif
