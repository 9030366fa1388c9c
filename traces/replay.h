/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * traces/replay.h — replaying recorded migrations: diagnosis, the
 * trace-derived inputs for counterfactual runs, and those runs: contract.
 *
 * trc_replay_run() reads the inputs (traces/trace.h), rebuilds the
 * timeline (traces/timeline.h), diagnoses it and extracts the inputs a
 * simulation needs.  trc_counterfactual() then re-drives the decisions
 * with those inputs through the simulator (model/mig.h) under any policy
 * spec (policy/policy.h), so "what would policy P have done here" uses the
 * same policy code as `migsim simulate`.
 *
 * Verdict (enum trc_verdict):
 *   converged       a switchover was seen (migration_thread_low_pending,
 *                   status device / postcopy-active / completed);
 *   not-converging  no switchover, and over >= 3 decided iterations one of
 *                   the causes below holds;
 *   inconclusive    otherwise (too short, still shrinking, failed early,
 *                   or too little traced to tell).
 * Causes (TRC_WHY_* bits), with the figures behind them in the text:
 *   EXACT_SPIN      exact() called and still over the threshold in at least
 *                   half of the decided iterations (>= 3): the estimate is
 *                   under the threshold (that is why exact() runs), exact()
 *                   is over it; with its rate (calls/s) and the share of
 *                   time spent in exact()/bitmap syncs;
 *   STOPCOPY        data that estimate() does not report (VFIO stop-copy
 *                   size, or exact minus estimate when no VFIO lines say
 *                   whose it is) is itself above the threshold: no amount
 *                   of RAM iteration converges;
 *   DIRTY_RATE      the RAM dirty rate reaches the bandwidth (>= 90 %), or
 *                   the pending RAM does not shrink;
 *   DOWNTIME        converged, but the downtime exceeded the limit; the
 *                   breakdown names what dominated (VM stop, RAM, VFIO
 *                   save/load);
 *   COARSE          built from query-migrate / info migrate only: sampled
 *                   values, no estimate/exact split, device data invisible
 *                   except vfio.transferred — said in the text.
 *
 * What would converge (struct trc_advice): with the pending data P seen at
 * a decision and the bandwidth B in force then, QEMU switches over when
 * P < B x downtime-limit, so the smallest downtime-limit is min over the
 * decided iterations of P / B; with avail-switchover-bandwidth (8.2+) the
 * threshold is that rate x limit, so the smallest rate is min P / limit.
 * The downtime to expect is P / B_link (the peak measured window
 * bandwidth, the link's demonstrated capacity) plus the device save/load
 * and VM-stop times the trace shows.  Without a measured bandwidth the
 * limit is given for link rates (10/25/100 Gbit/s) instead, or for the
 * rate passed with trc_replay_options.timeline.bandwidth_bps.
 *
 * Trace-derived inputs (struct trc_derived_inputs), what a counterfactual
 * simulation is built from:
 *   qemu              version model to simulate (902 style), with the
 *                     range the trace allows and why (qemu_guess);
 *   bandwidth_bps     measured link bandwidth: peak of the traced windows
 *                     (migrate_transferred), else of migration_transferred
 *                     _bytes deltas, else query-migrate mbps; 0 = unknown
 *                     (bandwidth_assumed then holds the 10 Gbit/s the
 *                     counterfactual uses, flagged in its text);
 *   downtime_limit_ns inferred from max_size / bandwidth (exact integer ms
 *                     when one fits), else QEMU's default 300 ms
 *                     (downtime_limit_inferred false);
 *   avail_switchover_bps  traced switchover_bw x 1000, 0 = none;
 *   ram_dirty_rate    series (t ns since trace start, bytes/s): the rate
 *                     per >= 1 s sync period, or query-migrate's
 *                     dirty-pages-rate x page size;
 *   ram_pending_bytes RAM to send at the start of the trace;
 *   ram_total_bytes   guest RAM if the input says (query-migrate), else 0;
 *   devices[]         per VFIO device: stop-copy size series (from exact()
 *                     or size queries), last value, pre-copy support,
 *                     save/load time from vmstate_downtime_*; a device
 *                     named "exact-only" with inferred=true stands for
 *                     data only exact() reported when no VFIO lines name
 *                     its owner (the exact - estimate gap);
 *   sync_cost_ns      mean bitmap sync duration (or estimate->exact gap);
 *   duration_ns       time the trace covers.
 * Series are copies owned by the struct (trc_derived_free).
 */
#ifndef MIGSIM_TRACES_REPLAY_H
#define MIGSIM_TRACES_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "run/result.h"
#include "traces/timeline.h"
#include "traces/trace.h"

enum trc_verdict {
    TRC_VERDICT_CONVERGED = 0,
    TRC_VERDICT_NOT_CONVERGING,
    TRC_VERDICT_INCONCLUSIVE,
};
/* "converged", "not-converging", "inconclusive". */
const char *trc_verdict_name(enum trc_verdict v);

/* The TRC_WHY_* bits of a diagnosis: name, bit, tag (trc_why_name). */
#define TRC_WHY_LIST(X)                                                        \
    X(SWITCHED_OVER, 0, "switched-over")                                       \
    X(EXACT_SPIN, 1, "exact-spin")                                             \
    X(STOPCOPY, 2, "stop-copy-above-threshold")                                \
    X(DIRTY_RATE, 3, "dirty-rate-vs-bandwidth")                                \
    X(DOWNTIME, 4, "downtime-over-limit")                                      \
    X(TOO_SHORT, 5, "too-short")                                               \
    X(SHRINKING, 6, "still-shrinking")                                         \
    X(FAILED, 7, "failed")                                                     \
    X(CANCELLED, 8, "cancelled")                                               \
    X(COARSE, 9, "coarse-input")                                               \
    X(NO_DATA, 10, "no-migration-data")
#define TRC_WHY_ENUM(name, bit, tag) TRC_WHY_##name = 1u << (bit),
enum { TRC_WHY_LIST(TRC_WHY_ENUM) };
#undef TRC_WHY_ENUM
/* Short tag of one TRC_WHY_* bit ("exact-spin", "stop-copy-above-"
 * "threshold", ...). */
const char *trc_why_name(unsigned bit);

#define TRC_MAX_NOTES 16
#define TRC_NOTE_LEN  320

struct trc_advice {
    bool have_limit;              /* bandwidth known */
    double min_downtime_limit_ms; /* smallest limit that switches over */
    uint64_t at_iteration;        /* where it would have */
    uint64_t pending_bytes;       /* P there */
    double bandwidth_bps;         /* B there */
    bool have_asb;
    double min_avail_switchover_bps; /* at the limit in force */
    double limit_ms;                 /* that limit */
    double expected_downtime_ms;     /* P / B_link + overheads */
    double overhead_ms;     /* VM stop + device save/load seen in the trace */
    bool bandwidth_assumed; /* B from tl_options.bandwidth_bps */
};

struct trc_diagnosis {
    enum trc_verdict verdict;
    unsigned why;      /* TRC_WHY_* */
    char summary[200]; /* one line */
    unsigned n_notes;  /* the explanation, sentence by sentence */
    char notes[TRC_MAX_NOTES][TRC_NOTE_LEN];
    double exact_calls_per_s;
    double sync_share; /* time in syncs / time covered, 0..1 */
    uint64_t decided;  /* iterations that reached their decision */
    struct trc_advice advice;
};

struct trc_dev_input {
    char name[RUN_NAME_LEN];
    bool inferred; /* "exact-only": not named by the trace */
    bool precopy;
    uint64_t stop_copy_bytes;   /* last */
    struct tl_series stop_copy; /* t ns, bytes */
    int64_t save_ns, load_ns;
};

#define TRC_SRC_LEN 200

struct trc_derived_inputs {
    unsigned qemu;
    char qemu_guess[200];
    double bandwidth_bps;
    double bandwidth_assumed_bps; /* used when bandwidth_bps is 0 */
    int64_t downtime_limit_ns;
    bool downtime_limit_inferred;
    uint64_t avail_switchover_bps;
    struct tl_series ram_dirty_rate;
    double ram_dirty_rate_mean_bps;
    uint64_t ram_pending_bytes;
    uint64_t ram_total_bytes;
    uint64_t page_bytes;
    unsigned n_devices;
    struct trc_dev_input dev[RUN_MAX_DEVICES];
    int64_t sync_cost_ns;
    int64_t duration_ns;

    /* ---- completed inputs (issue 11): each with where it came from;
     * a source starting with "not inferred" means the scenario keeps the
     * simulator's default for it ---- */
    char ram_total_source[TRC_SRC_LEN];
    uint64_t normal_pages, zero_pages; /* first pass */
    bool have_zero;
    double zero_fraction; /* of the RAM outside the working set */
    char zero_source[TRC_SRC_LEN];
    uint64_t working_set_bytes;
    char write_pattern[16]; /* "linear", "saturating", "unknown" */
    char working_set_source[TRC_SRC_LEN];
    bool dirty_rate_from_syncs; /* ram_dirty_rate from sync intervals */
    char dirty_rate_source[TRC_SRC_LEN];
    char bandwidth_source[TRC_SRC_LEN];
    bool max_bandwidth_binds; /* rate-limit sleeps take >= 5 % */
    double limited_bps; /* then: mean of the windows at >= half the peak */
    bool have_sender;   /* per-page costs fitted from the windows */
    /* the zero-page cost is known: with have_sender, or from the windows
     * that ran under max-bandwidth while it bound (mostly zero pages) */
    bool have_zero_scan;
    int64_t first_pass_ns; /* first iteration to the second sync, 0 unknown */
    double sender_normal_page_ns, sender_zero_page_ns, sender_bps;
    char sender_source[TRC_SRC_LEN];
    char sync_source[TRC_SRC_LEN];
    int64_t vm_stop_ns; /* -1 = not traced */
    char vm_stop_source[TRC_SRC_LEN];
    int64_t non_iterable_save_ns, non_iterable_load_ns; /* -1 = not traced */
    char save_load_source[TRC_SRC_LEN];
    bool postcopy;
    int64_t postcopy_start_ns; /* -1 = none */
    char params_source[TRC_SRC_LEN];
    /* migration.setup_time: setup -> active less the setup's bitmap sync
     * (the model adds RAM's first sync after it); -1 = not traced */
    int64_t setup_ns;
    char setup_source[TRC_SRC_LEN];
    /* the scenario's calibration file (absolute path), "" = none */
    char calibration[512];
};

struct trc_replay_options {
    struct trc_options reader;
    struct tl_options timeline;
    /* Called about every 64 MiB of input with bytes done / total (total 0
     * if unknown); NULL for none. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* Which migration of the input to report in detail (1-based); 0: the
     * last one.  Every migration is rebuilt and diagnosed on its own. */
    unsigned migration;
};

/* Full results kept per input; further migrations are counted only. */
#define TRC_MAX_MIGRATIONS 64

struct trc_replay {
    struct run_result run;
    struct tl_info info;
    struct trc_stats stats; /* messages: copies owned here */
    enum trc_format format; /* dominant input shape */
    unsigned n_files;
    char **files;
    struct trc_diagnosis diag;
    struct trc_derived_inputs inputs;
    /* Migrations.  A new one starts at a status setup (or a query-migrate
     * / info migrate status that is not final) after the previous one
     * ended (completed, failed, cancelled); records between the end and
     * the next setup belong to the one that ended but not to its time.
     * This struct is migration mig_index (1-based) of n_migrations;
     * others[] holds the rest in input order (at most TRC_MAX_MIGRATIONS
     * - 1; their own others is empty). */
    unsigned mig_index, n_migrations;
    unsigned n_others;
    struct trc_replay *others;
};

/*
 * Read files (paths or "-"), rebuild, diagnose, derive.  0 on success
 * (out filled; free with trc_replay_free), -1 with a message naming the
 * file (and line) in err: unreadable input, a malformed line under
 * reader.strict, out of memory.
 */
int trc_replay_run(const char *const *files, unsigned n_files,
                   const struct trc_replay_options *o, struct trc_replay *out,
                   char *err, size_t errlen);
/* Same from a reader the caller prepared (inputs added); the reader is
 * consumed but not freed. */
int trc_replay_reader(struct trc_reader *r, const struct trc_replay_options *o,
                      struct trc_replay *out, char *err, size_t errlen);
void trc_replay_free(struct trc_replay *r);

/* Warnings about the input itself, "" when none: a traced event that
 * slows QEMU down (10.0's per-page migration_transferred_bytes: one line
 * per page sent, ~25 % slower) named with its rate; timestamps going
 * backwards or out of range (tl_info.time_warning).  Into buf; returns
 * buf. */
const char *trc_replay_costly_events(const struct trc_replay *r, char *buf,
                                     size_t len);

/* The diagnosis of a rebuilt run (pure). */
void trc_diagnose(const struct run_result *run, const struct tl_info *in,
                  const struct tl_options *o, struct trc_diagnosis *d);

/* Extract the inputs (series are copied); free with trc_derived_free. */
int trc_derive_inputs(const struct run_result *run, const struct tl_info *in,
                      struct trc_derived_inputs *di);
void trc_derived_free(struct trc_derived_inputs *di);

/*
 * The scenario (run/scenario.h JSON, as `migsim simulate` reads it) that
 * reproduces the derived inputs: QEMU model, RAM (a uniform workload at the
 * mean dirty rate, phased when the rate changed), bandwidths, limits,
 * devices with their stop-copy schedules.  malloc'd string, NULL on
 * allocation failure.
 */
char *trc_scenario_json(const struct trc_derived_inputs *di);

/*
 * Simulate the derived inputs under policy spec `policy` (e.g. "qemu",
 * "cached-stop-size").  0 with out filled (run_result_free it), or -1 with
 * a message (bad policy spec, scenario the simulator rejects).
 */
int trc_counterfactual(const struct trc_derived_inputs *di, const char *policy,
                       struct run_result *out, char *err, size_t errlen);

/* ---- a whole replay session: what `migsim replay` does ---- */

#define TRC_MAX_POLICIES 16

/* One counterfactual run. */
struct trc_cf {
    const char *policy;
    struct run_result res;
    bool ok; /* false: err says why */
    char err[256];
};

struct trc_session_options {
    struct trc_replay_options replay;
    const char *const *files; /* paths or "-" */
    unsigned n_files;
    const char *const *policies; /* counterfactual policy specs */
    unsigned n_policies;         /* at most TRC_MAX_POLICIES */
    /* calibration file the re-runs load (absolute path), NULL = none */
    const char *calibration;
};

/*
 * How well the re-run under the trace's own policy ("qemu") reproduces
 * what was observed (replay_session.c).  ok: the verdicts agree and the
 * total time is within TRC_FIT_TOLERANCE; otherwise the counterfactual
 * rows are unreliable and `blame` names the input(s) to suspect.
 * Errors are (re-run - observed) / observed; downtime_error is NAN when
 * the trace shows no downtime.
 */
#define TRC_FIT_TOLERANCE 0.25
struct trc_fit {
    bool have; /* the qemu re-run ran */
    bool ok;
    bool verdict_match;
    const char *observed_verdict, *rerun_verdict;
    int64_t obs_total_ns, rerun_total_ns;
    double total_error;
    int64_t obs_downtime_ns; /* -1 = not shown by the trace */
    int64_t rerun_downtime_ns;
    double downtime_error;
    char downtime_source[80];
    uint64_t obs_syncs, rerun_syncs;
    char blame[TRC_SRC_LEN];
};
/* The windows of a run's first pass for the sender fit: per migrate_
 * transferred window, A[i] = {normal pages sent, zero pages (pending drop
 * minus those)}, y[i] = its duration in ns.  Returns how many (<= cap). */
size_t trc_sender_windows(const struct run_result *run, uint64_t page_bytes,
                          double (*A)[2], double *y, size_t cap);
/* The source-side downtime a replay shows (traced or reported, else the
 * switchover to status completed); -1 if none.  src says which. */
int64_t trc_observed_downtime(const struct trc_replay *r, char *src,
                              size_t len);

/* Compare a re-run with the replay it came from (pure). */
void trc_fit_compute(const struct trc_replay *r, const struct run_result *rerun,
                     struct trc_fit *fit);

struct trc_session {
    struct trc_replay r;
    /* the qemu model first (unless asked for), then each policy */
    struct trc_cf cf[TRC_MAX_POLICIES + 1];
    unsigned n_cf;
    struct trc_fit fit; /* of the "qemu" row */
};

enum trc_session_status {
    TRC_SESSION_OK = 0,
    TRC_SESSION_USAGE, /* the inputs cannot be read as given (stdin twice) */
    TRC_SESSION_IO,    /* an input cannot be read */
    TRC_SESSION_DATA,  /* a bad trace-events file; malformed under strict */
    TRC_SESSION_EMPTY, /* no event or status record: s->r.stats tells */
};

/*
 * Read the files, rebuild, diagnose and derive (trc_replay_reader), then
 * run the counterfactuals (a failed one has ok false and its message).
 * TRC_SESSION_OK and TRC_SESSION_EMPTY leave s filled (free it with
 * trc_session_free); the other results leave nothing to free and a
 * message in err.
 */
enum trc_session_status trc_session_run(const struct trc_session_options *o,
                                        struct trc_session *s, char *err,
                                        size_t errlen);
void trc_session_free(struct trc_session *s);

/* ---- output (replay_out.c) ---- */

/* The diagnosis notes as one text; malloc'd, NULL without memory. */
char *trc_diagnosis_text(const struct trc_diagnosis *d);
/* The JSON document of `migsim replay --format json`; metrics_json
 * renders one run's metrics (the "observed" and "counterfactual"
 * objects); run_id > 0 is the stored run. */
json_t *trc_replay_json(const struct trc_session *s, long long run_id,
                        json_t *(*metrics_json)(const struct run_metrics *m));
/* The table of `migsim replay`. */
void trc_replay_print_table(FILE *f, const struct trc_session *s,
                            long long run_id);

#endif
