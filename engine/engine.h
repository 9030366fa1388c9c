/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * engine/engine.h — the discrete-event engine: contract.
 *
 * Time is int64_t nanoseconds from the start of the simulation.  The future
 * event list is an array binary min-heap of small entries ordered by
 * (time, prio, seq); seq is a per-engine counter so events scheduled for the
 * same time and priority run in scheduling order (FIFO).  A slot table maps
 * event ids to heap positions so sim_cancel() is O(log n); ids carry a
 * generation in their upper 32 bits so a stale id is rejected.
 *
 * Re-entrancy: a handler may schedule (also "now": it runs after every event
 * already queued for that time and priority) and cancel any event, including
 * ones due at the same time.  Cancelling the running event is a no-op that
 * returns -1: its id is released before its handler is called.  sim_run()
 * itself must not be called from a handler.
 *
 * Determinism: no globals, no wall clock.  Each engine has a master seed;
 * sim_rng(e, stream) returns a GSL generator (gsl_rng_taus2) for that stream,
 * seeded from SplitMix64(master_seed ^ stream * 0xd1b54a32d192ed03) folded to
 * the 32 bits taus2 uses, created on first use, owned by the engine.  Drawing
 * from one stream never changes another stream's sequence.  Every executed
 * event folds two 64-bit words, time_ns and (kind << 32 | subject_id), into
 * a 64-bit fingerprint, starting from the FNV offset basis: per word
 * h ^= w; h *= FNV prime; h ^= h >> 29 (FNV-1a on words, with an
 * xor-shift).  Behaviour changes show up as fingerprint changes in tests.
 *
 * Memory: the heap and slot table grow by doubling and are reused, so
 * scheduling allocates only when the pending count reaches a new maximum.
 * Ids are generation << 32 | (slot + 1); a slot's generation wraps after
 * 2^32 reuses, so an id kept that long could alias a newer event.
 */
#ifndef MIGSIM_SIM_ENGINE_H
#define MIGSIM_SIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

typedef int64_t sim_time_ns;
typedef uint64_t sim_event_id; /* 0 = none */

#define SIM_NS       ((sim_time_ns)1)
#define SIM_US       ((sim_time_ns)1000)
#define SIM_MS       ((sim_time_ns)1000000)
#define SIM_S        ((sim_time_ns)1000000000)
#define SIM_TIME_MAX INT64_MAX

struct sim_engine;

/* Handler: subject and arg are the caller's; the engine never reads them. */
typedef void sim_event_fn(struct sim_engine *e, void *subject, void *arg);

/* New engine at time 0.  NULL on allocation failure. */
struct sim_engine *sim_engine_new(uint64_t seed);
void sim_engine_free(struct sim_engine *e);

sim_time_ns sim_now(const struct sim_engine *e);
uint64_t sim_seed(const struct sim_engine *e);

/*
 * Schedule fn at absolute time t (t >= sim_now(e); earlier times are clamped
 * to now).  kind and subject_id only feed the fingerprint (e.g. an event type
 * and a device index).  Lower prio runs first at equal time.
 * Returns the event id, or 0 on allocation failure.
 */
sim_event_id sim_at(struct sim_engine *e, sim_time_ns t, int prio,
                    uint32_t kind, uint32_t subject_id, sim_event_fn *fn,
                    void *subject, void *arg);
/* Same, at now + delay (delay >= 0). */
sim_event_id sim_after(struct sim_engine *e, sim_time_ns delay, int prio,
                       uint32_t kind, uint32_t subject_id, sim_event_fn *fn,
                       void *subject, void *arg);

/* Remove a pending event.  0 on success, -1 if the id is unknown, already
 * run or already cancelled. */
int sim_cancel(struct sim_engine *e, sim_event_id id);

/* Run events in order until the queue is empty, sim_stop() is called, or
 * the next event is later than until (the clock then stays at the last
 * executed event).  Returns the number of events executed by this call. */
uint64_t sim_run(struct sim_engine *e, sim_time_ns until);
/*
 * From inside a handler: execute an event at time t "inline" when it would
 * be the very next event anyway (t not before now, not after sim_run's
 * bound, and earlier than every queued event -- or at the same time with a
 * lower prio).  The clock moves to t, the event is folded into the
 * fingerprint and counted exactly as if it had been scheduled and run, and
 * 1 is returned: the caller then does the event's work itself.  Otherwise
 * returns 0 and nothing changes (schedule it normally).  Lets a model's
 * busy loop skip the heap without changing order or fingerprint.
 */
int sim_advance_inline(struct sim_engine *e, sim_time_ns t, int prio,
                       uint32_t kind, uint32_t subject_id);

/* sim_advance_inline for t0, t0 + dt, ... (dt > 0), up to n of them, in
 * order, stopping at the first that would not be the next event: returns
 * how many were executed (the clock is then at the last; the fingerprint
 * and counts as if each had been scheduled and run).  For a model that
 * fast-forwards a run of identical steps. */
uint64_t sim_advance_inline_run(struct sim_engine *e, sim_time_ns t0,
                                sim_time_ns dt, uint64_t n, int prio,
                                uint32_t kind, uint32_t subject_id);
/* How many of those sim_advance_inline_run would execute now (nothing
 * changes): to size a run before doing its work. */
uint64_t sim_inline_room(const struct sim_engine *e, sim_time_ns t0,
                         sim_time_ns dt, uint64_t n, int prio);

/* Ask sim_run to return after the current handler.  Called outside
 * sim_run, it makes the next sim_run return at once (executing nothing);
 * sim_run clears the request when it returns. */
void sim_stop(struct sim_engine *e);

/* Pending events in the queue. */
uint64_t sim_pending(const struct sim_engine *e);
/* Events executed so far. */
uint64_t sim_executed(const struct sim_engine *e);

/* Per-component random stream (created on first use; NULL on allocation
 * failure).  Stream numbers are the caller's (see SIM_STREAM_*). */
gsl_rng *sim_rng(struct sim_engine *e, uint32_t stream);
/* The name of the GSL generator sim_rng() hands out ("taus2"): what a stored
 * run records as its generator.  Static storage. */
const char *sim_rng_name(void);

/* Fingerprint of the executed event stream so far. */
uint64_t sim_fingerprint(const struct sim_engine *e);
/* Fold extra model data (e.g. a result figure) into the fingerprint. */
void sim_fingerprint_mix(struct sim_engine *e, uint64_t v);

/* SplitMix64 step, exposed for deriving seeds outside the engine. */
uint64_t sim_splitmix64(uint64_t x);

/* Stream numbers used by the migration model. */
enum {
    SIM_STREAM_RAM = 1,
    SIM_STREAM_DEVICE_BASE = 100, /* + device index */
    SIM_STREAM_POLICY = 50,
    SIM_STREAM_NOISE = 60,
};

/* Switch GSL's abort-on-error handler off for the whole process (call once
 * from main and from tests): errors come back as return codes. */
void sim_gsl_quiet(void);

#endif
