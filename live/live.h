/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * live/live.h — observing (and steering) a real QEMU migration over QMP:
 * contract.
 *
 * A live session polls query-migrate on one QMP connection every interval
 * and turns what it sees into a struct run_result (run/result.h):
 *   - one run_sample per poll while the migration runs: t_ns = time since
 *     the session saw the migration start (CLOCK_MONOTONIC), iteration and
 *     bitmap syncs = ram.dirty-sync-count, estimate_bytes = ram_dirty_bytes
 *     = ram.remaining, threshold_bytes = measured bandwidth x downtime-limit
 *     (QEMU's threshold_size, derived: QEMU does not report it),
 *     bandwidth_bps = ram.mbps x 10^6 / 8, dirty_rate_bps =
 *     ram.dirty-pages-rate x ram.page-size, sent_bytes = ram.transferred
 *     since the previous sample, expected_downtime_ns, throttle_pct and the
 *     downtime-limit in force; exact_bytes stay 0 (QMP does not show
 *     exact());
 *   - events: RUN_EV_STATE per status change (from MIGRATION events when the
 *     "events" capability is on, else from polls), RUN_EV_SYNC per
 *     MIGRATION_PASS (value 0: QMP does not tell the pages found; text
 *     "pass N"; optional), RUN_EV_PARAM per parameter change the session
 *     made or saw, RUN_EV_THROTTLE per cpu-throttle-percentage change,
 *     RUN_EV_NOTE for faults, advice and status-machine violations
 *     (model/mig_status.h checker, QEMU version from the greeting);
 *   - metrics from the final query-migrate: total-time, downtime (QEMU's
 *     source-side figure, also used as downtime_ns), setup-time, bytes per
 *     phase, dirty-sync-count, last expected-downtime, max throttle.
 * Outcomes: completed -> converged, failed -> failed (QEMU's error-desc in
 * the verdict), cancelled -> aborted; QEMU exiting, the socket closing,
 * repeated malformed/oversized replies or timeouts, a signal, or the time
 * limit -> incomplete.
 *
 * Store (store/db.h, optional): the run is begun when the migration is first
 * seen running, samples and events are added in batches about once a second
 * (each batch committed), and a run that ends with an outcome is finished;
 * an incomplete one stays marked incomplete with everything observed so far
 * and a verdict naming the fault.
 *
 * Policy (policy/policy.h, optional): every poll the policy chain sees a
 * pol_view built from the same data (now_ns = QEMU's total-time, start_ns
 * = 0, pending = must = ram.remaining) and may request parameter changes,
 * postcopy, force-complete or abort; they are printed as advice, and with
 * apply carried out through migrate-set-parameters, migrate-start-postcopy,
 * stop (force-complete) and migrate_cancel, each one printed and recorded.
 *
 * Advice (live_advise): whether the migration converges at the current
 * rates: with bandwidth B, dirty rate D, expected downtime E (QEMU's
 * remaining-at-last-sync / B) and limit L: E <= L "on track"; D >= 0.95 B,
 * or E not falling over the last 3 syncs, "will not converge at this rate;
 * needs >= E ms"; else "converging".
 */
#ifndef MIGSIM_LIVE_LIVE_H
#define MIGSIM_LIVE_LIVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "live/qmp.h"
#include "policy/policy.h"
#include "model/mig_status.h"
#include "run/result.h"

struct db;

/* One query-migrate reply.  Absent numbers are 0, absent times -1. */
struct live_mig {
    char status[32]; /* "none" when QEMU reports no status */
    bool has_ram;
    uint64_t transferred_bytes, remaining_bytes, total_bytes;
    uint64_t duplicate_pages, normal_pages, normal_bytes;
    uint64_t dirty_pages_rate; /* pages/s */
    double mbps;               /* ram.mbps */
    uint64_t dirty_sync_count, page_bytes;
    uint64_t precopy_bytes, downtime_bytes, postcopy_bytes;
    uint64_t vfio_transferred_bytes;
    /* 8.1+ with the dirty-limit capability: top-level
     * dirty-limit-throttle-time-per-round and dirty-limit-ring-full-time
     * (microseconds) */
    bool has_dirty_limit;
    uint64_t dirty_limit_throttle_us, dirty_limit_ring_full_us;
    int64_t total_ms, setup_ms, downtime_ms, expected_downtime_ms;
    double throttle_pct;
    char error_desc[256];
};

/* Parse a query-migrate "return" object.  0, or -1 with a message if the
 * reply is not an object or a member has the wrong type or is out of range.
 * A null member (QEMU's nan/inf, see qmp.h) is missing.  Ranges: counters
 * and byte figures below 2^63; times 0 to 10^12 ms (expected-downtime, an
 * estimate, is capped there instead); cpu-throttle-percentage 0-100;
 * ram.mbps 0 to 10^9. */
int live_parse_migrate(const json_t *ret, struct live_mig *out, char *err,
                       size_t errlen);

/* Parameters that matter for convergence (query-migrate-parameters). */
struct live_params {
    int64_t downtime_limit_ns;
    uint64_t max_bandwidth_bps;
    uint64_t avail_switchover_bandwidth_bps; /* 8.2+; 0 = absent */
    bool has_avail;
};
int live_parse_params(const json_t *ret, struct live_params *out, char *err,
                      size_t errlen);

/* Convergence advice for one sample. */
enum live_verdict {
    LIVE_ADV_NONE = 0,    /* not enough data yet */
    LIVE_ADV_ON_TRACK,    /* expected downtime within the limit */
    LIVE_ADV_CONVERGING,  /* above the limit but falling */
    LIVE_ADV_NO_CONVERGE, /* will not converge at these rates */
};
struct live_advice {
    enum live_verdict verdict;
    int64_t needed_ns; /* downtime-limit that would let it switch over */
    char text[256];
};
/* history: expected downtimes (ns) at the last n syncs, oldest first. */
void live_advise(const struct live_mig *m, int64_t limit_ns,
                 const int64_t *history, size_t n, struct live_advice *a);

struct live_opts {
    int64_t interval_ns;       /* poll period; default 100 ms */
    int64_t cmd_timeout_ns;    /* per QMP command; default 5 s */
    int64_t time_limit_ns;     /* stop observing this long after the
                                  session began running, whether or not a
                                  migration started; 0 = none */
    int64_t start_timeout_ns;  /* wait this long for a migration; 0 = ever */
    const char *policy;        /* policy spec, NULL = none */
    bool apply;                /* carry out the policy's requests */
    bool pass_events;          /* record MIGRATION_PASS as RUN_EV_SYNC */
    bool enable_events;        /* turn the "events" capability on when no
                                  migration runs (needs apply or lab) */
    FILE *progress;            /* human progress lines; NULL = quiet */
    int64_t progress_every_ns; /* default 1 s */
    struct db *db;             /* store; NULL = none (borrowed) */
    const char *source;        /* QMP address or trace file, for the record */
    const char *scenario_json; /* equivalent scenario, for the record */
    const char *command_line;  /* for the record */
    const volatile sig_atomic_t *stop; /* set by a signal handler */
    /* Called every poll (lab: are my QEMUs alive?).  Nonzero ends the
     * session as incomplete with the message it wrote into err. */
    int (*tick)(void *arg, char *err, size_t errlen);
    void *tick_arg;
};
void live_opts_default(struct live_opts *o);

enum live_end {
    LIVE_END_OUTCOME = 0, /* completed, failed or cancelled */
    LIVE_END_QEMU_GONE,   /* connection closed / QEMU exited */
    LIVE_END_PROTO,       /* repeated malformed replies or timeouts */
    LIVE_END_INTERRUPTED, /* *stop was set */
    LIVE_END_TIME_LIMIT,
    LIVE_END_TICK,     /* the tick callback asked to stop */
    LIVE_END_NO_START, /* no migration started within start_timeout */
    LIVE_END_ERROR,    /* setup failed (bad policy, store error) */
};

struct live_session {
    struct qmp_conn *qmp; /* borrowed */
    struct live_opts o;
    struct run_result res;
    struct live_params params;
    struct live_mig last;     /* last successful poll */
    struct live_mig last_ram; /* last poll that had RAM statistics */
    json_t *final;            /* last query-migrate reply (owned) */
    bool started;             /* a migration was seen running */
    enum mig_status status;   /* as last seen */
    bool events_cap;          /* "events" capability on */
    bool postcopy_cap;
    int64_t t0_ns;       /* monotonic time the migration was first seen */
    int64_t t0_epoch_ns; /* the same instant, Unix epoch */
    int64_t run_id;      /* store id, 0 if not stored */
    size_t saved_samples, saved_events;
    char error[512]; /* why the session ended early ("" if it did not) */
    char verdict[256];
    enum live_end end;
    /* internals */
    struct mig_status_checker *checker;
    struct pol_chain chain;
    bool have_chain;
    int64_t last_flush_ns, last_progress_ns;
    uint64_t last_transferred;
    uint64_t last_sync_count;
    int64_t sync_hist[8];
    size_t n_hist;
    int64_t cur_expected_ns; /* expected downtime seen since the last sync */
    enum live_verdict last_verdict;
    double last_throttle;
    unsigned consecutive_failures;
    bool store_failed;
    bool guest_paused; /* STOP seen (or force-complete applied), no RESUME */
    char qemu_model[16];
    char qemu_version[32]; /* from the greeting, e.g. "7.2.22" */
    bool first_status;
    int64_t run_start_ns; /* monotonic, first live_session_run() */
    char accel[8];        /* "kvm"/"tcg" when known (caller sets; JSON) */
};

/*
 * Prepare a session on a connected QMP (borrowed): read capabilities and
 * parameters (with enable_events, turn "events" on if no migration runs),
 * set up the policy chain.  0; -1 with a message if QEMU could not be
 * asked; LIVE_E_POLICY with a message for a bad policy spec.  Call
 * live_session_free() in every case.
 */
#define LIVE_E_POLICY (-2)
int live_session_init(struct live_session *s, struct qmp_conn *q,
                      const struct live_opts *o, char *err, size_t errlen);
/* Poll until the migration ends or a fault stops the session; records and
 * stores as described above.  Returns the way it ended (also in s->end). */
enum live_end live_session_run(struct live_session *s);
/* Add an event to the run (and the store with the next batch). */
void live_session_note(struct live_session *s, enum run_event_kind kind,
                       uint64_t value, int64_t dur_ns, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/*
 * End the record: flush pending batches; with an outcome (not incomplete)
 * write the metrics and mark the run complete; set verdict and diagnosis
 * (diagnosis may be NULL).  0, or -1 with a message (store errors).
 */
int live_session_close(struct live_session *s, const char *diagnosis, char *err,
                       size_t errlen);
void live_session_free(struct live_session *s);

/* The session's result as JSON (metrics, final query-migrate, samples,
 * events, error): a new object. */
json_t *live_session_json(const struct live_session *s);
/* Human summary of the session's result (outcome, times, syncs, bytes,
 * verdict, error) as "key  value" lines. */
void live_print_summary(FILE *f, const struct live_session *s);

/* Signals for commands that own processes or a recording: SIGINT, SIGTERM
 * and SIGHUP set live_stop_signal (the signal number; process-wide, the
 * only global of live/) instead of killing us, so the caller can clean up;
 * SIGPIPE is ignored.  Handlers do not restart system calls. */
extern volatile sig_atomic_t live_stop_signal;
void live_signals_install(void);

#endif
