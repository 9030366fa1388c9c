/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/vfio_dev.h — a simulated VFIO migratable device (the kernel
 * driver's side of the uAPI): contract.
 *
 * What QEMU's VFIO code sees of a device, as a model:
 *   - a migration state driven through the shared FSM (devices/vfio_fsm.h)
 *     exactly as a driver would: one step per arc, state committed per arc,
 *     every arc recorded (vfio_dev_hop*, or a callback);
 *   - VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: vfio_dev_query_stop_copy();
 *   - VFIO_MIG_GET_PRECOPY_INFO: vfio_dev_query_precopy();
 *   - read() on the saving data_fd: vfio_dev_read().
 * Costs (ioctl latency, read bandwidth, save/load time) are returned or
 * exposed as numbers; the caller charges them to its clock.  Nothing here
 * reads a clock: every call takes the caller's now_ns (monotonic).
 *
 * Size model (all bytes):
 *   base(t)    = stop_copy_bytes, replaced by schedule[i].stop_copy_bytes
 *                from schedule[i].at_ns on (device resources created or
 *                destroyed at those times);
 *   true(t)    = base(t), lowered by the pre-copy bytes read in the current
 *                saving session when precopy_shrinks_stop_copy (never below
 *                min_stop_copy_bytes, and never raised by that floor);
 *                in STOP_COPY: the bytes of the final stream not yet read.
 *   reported   = true(t) + a uniform integer in [-size_jitter_bytes,
 *                +size_jitter_bytes] (clamped at 0) while the device runs
 *                (RUNNING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P); a stopped
 *                device reports its true size.  One draw per successful
 *                query, from the borrowed GSL rng only.
 * Pre-copy session (RUNNING -> PRE_COPY or RUNNING_P2P -> PRE_COPY_P2P):
 *   initial = precopy_initial_bytes at entry, lowered by reads; dirty starts
 *   at 0 and grows by precopy_dirty_rate_bps while in PRE_COPY or
 *   PRE_COPY_P2P (exact integer accrual, no drift); reads take initial
 *   first, then dirty.  Dirty is not capped: a device dirtying faster than
 *   it is read never runs dry (that is the non-converging case).
 * Final stream: on entering STOP_COPY its length is fixed to true(t) at
 *   that moment; unread pre-copy bytes are not added to it (the final
 *   image that true(t) describes already covers them); reads drain it to
 *   0 (EOF).
 *   Any arc that ends the saving session (STOP_COPY -> STOP, PRE_COPY ->
 *   RUNNING, PRE_COPY_P2P -> RUNNING_P2P) discards the session: sizes go
 *   back to base(t).
 * Arc costs (vfio_dev_hop.cost_ns): entering STOP_COPY costs save_ns,
 *   RESUMING -> STOP costs load_ns, every other arc 0.  config_bytes,
 *   config_load_ns, query_latency_ns, read_bps and multifd are carried for
 *   the caller (QEMU-side costs).
 * query_fails makes MIG_DATA_SIZE fail with -EIO; substituting QEMU's
 * 100 GiB is the caller's job.
 */
#ifndef MIGSIM_DEVICES_VFIO_DEV_H
#define MIGSIM_DEVICES_VFIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "devices/vfio_fsm.h"

#define VFIO_DEV_MAX_SCHEDULE 32
#define VFIO_DEV_NAME_LEN     64
#define VFIO_DEV_HOP_LOG      64 /* arcs kept for vfio_dev_hop() */

struct vfio_dev_size_change {
    int64_t at_ns;            /* from the start of the simulation, >= 0 */
    uint64_t stop_copy_bytes; /* base size from at_ns on */
};

struct vfio_dev_cfg {
    char name[VFIO_DEV_NAME_LEN]; /* non-empty, NUL-terminated */
    uint64_t stop_copy_bytes;     /* base size at time 0 */
    unsigned n_schedule;          /* <= VFIO_DEV_MAX_SCHEDULE */
    struct vfio_dev_size_change schedule[VFIO_DEV_MAX_SCHEDULE]; /* at_ns
                                                     non-decreasing */
    bool precopy;                    /* VFIO_MIGRATION_PRE_COPY */
    bool p2p;                        /* VFIO_MIGRATION_P2P */
    uint64_t precopy_initial_bytes;  /* initial_bytes at PRE_COPY entry */
    uint64_t precopy_dirty_rate_bps; /* dirty bytes/s while in PRE_COPY* */
    bool precopy_shrinks_stop_copy;  /* pre-copy reads lower true(t) */
    uint64_t min_stop_copy_bytes;    /* floor of that shrinking */
    int64_t query_latency_ns;        /* cost of each size ioctl, >= 0 */
    uint64_t read_bps;               /* data_fd read bandwidth, 0 = no cap */
    int64_t save_ns;                 /* driver time to enter STOP_COPY, >= 0 */
    int64_t load_ns;            /* destination load (RESUMING -> STOP), >= 0 */
    uint64_t config_bytes;      /* non-iterable config state (QEMU vmstate) */
    int64_t config_load_ns;     /* its load time, >= 0 */
    bool query_fails;           /* MIG_DATA_SIZE returns -EIO */
    uint64_t size_jitter_bytes; /* +- on reported sizes; needs an rng */
    bool multifd;               /* device state over multifd (QEMU 10.0+) */
};

/* One executed arc. */
struct vfio_dev_hop {
    int64_t at_ns; /* now_ns of the vfio_dev_set_state() call */
    enum vfio_fsm_state from, to;
    unsigned arc_class; /* VFIO_FSM_ARC_* */
    int64_t cost_ns;    /* driver time of this arc (see above) */
};

struct vfio_dev;

/* Called once per committed arc, in order, after vfio_dev_set_state()
 * finished walking (vfio_dev_state() is then the request's final state). */
typedef void vfio_dev_hop_fn(void *ctx, const struct vfio_dev *dev,
                             const struct vfio_dev_hop *hop);

/* Fill cfg with zeros and a name; a device that only does STOP_COPY. */
void vfio_dev_cfg_init(struct vfio_dev_cfg *cfg, const char *name);

/* Check cfg; 0, or -EINVAL with a message naming the device and the field
 * in err (if not NULL).  rng_given: whether an rng will be passed. */
int vfio_dev_cfg_check(const struct vfio_dev_cfg *cfg, bool rng_given,
                       char *err, size_t errlen);

/*
 * New device in state RUNNING at time 0, with cfg copied.  rng is borrowed
 * (not freed; may be NULL when size_jitter_bytes == 0).  NULL with a
 * message in err on an invalid cfg or allocation failure.
 */
struct vfio_dev *vfio_dev_new(const struct vfio_dev_cfg *cfg, gsl_rng *rng,
                              char *err, size_t errlen);
void vfio_dev_free(struct vfio_dev *dev);

/* The configuration (owned by dev) and what follows from it. */
const struct vfio_dev_cfg *vfio_dev_cfg(const struct vfio_dev *dev);
const char *vfio_dev_name(const struct vfio_dev *dev);
/* VFIO_FSM_F_STOP_COPY | (P2P) | (PRE_COPY) */
uint64_t vfio_dev_mig_flags(const struct vfio_dev *dev);
int64_t vfio_dev_query_latency_ns(const struct vfio_dev *dev);
uint64_t vfio_dev_read_bps(const struct vfio_dev *dev);
/* Time to read bytes from the data_fd at read_bps (rounded up); 0 when
 * read_bps is 0 (unlimited). */
int64_t vfio_dev_read_ns(const struct vfio_dev *dev, uint64_t bytes);

enum vfio_fsm_state vfio_dev_state(const struct vfio_dev *dev);

/*
 * Request a transition (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE SET), walked
 * arc by arc with vfio_fsm_walk().  Returns 0, or -EINVAL when the FSM
 * refuses (state unchanged, nothing recorded; vfio_dev_last_diag() tells
 * why, e.g. VFIO_FSM_DIAG_KERNEL_HANG for STOP_COPY -> PRE_COPY*).
 * now_ns must not go backwards across calls on one device.
 */
int vfio_dev_set_state(struct vfio_dev *dev, enum vfio_fsm_state target,
                       int64_t now_ns);
/* VFIO_FSM_DIAG_* bits of the last refused vfio_dev_set_state (0 after a
 * successful one). */
unsigned vfio_dev_last_diag(const struct vfio_dev *dev);
/* Sum of the arc costs of the last successful vfio_dev_set_state. */
int64_t vfio_dev_last_cost_ns(const struct vfio_dev *dev);

/* Arcs executed since creation, and the i-th of them (0-based); only the
 * last VFIO_DEV_HOP_LOG are kept: NULL for older or future i. */
unsigned vfio_dev_hop_count(const struct vfio_dev *dev);
const struct vfio_dev_hop *vfio_dev_hop(const struct vfio_dev *dev, unsigned i);
/* Install (or with fn NULL remove) the per-arc callback. */
void vfio_dev_on_hop(struct vfio_dev *dev, vfio_dev_hop_fn *fn, void *ctx);

/* A driver failure that could neither complete nor roll back: the device
 * goes to ERROR and any saving session is lost. */
void vfio_dev_fail(struct vfio_dev *dev, int64_t now_ns);
/* VFIO_DEVICE_RESET: back to RUNNING, sessions discarded. */
void vfio_dev_reset(struct vfio_dev *dev, int64_t now_ns);

/*
 * MIG_DATA_SIZE: *bytes = reported stop-copy size at now_ns (see above).
 * Returns 0; -EINVAL in ERROR; -EIO when query_fails.  *bytes is written
 * only on success.  The ioctl's cost is vfio_dev_query_latency_ns().
 */
int vfio_dev_query_stop_copy(struct vfio_dev *dev, int64_t now_ns,
                             uint64_t *bytes);

/* The true stop-copy size at now_ns (no jitter, no failure): what the
 * simulator records as the device's real size. */
uint64_t vfio_dev_stop_copy_true(const struct vfio_dev *dev, int64_t now_ns);

/*
 * PRECOPY_INFO: initial and dirty bytes still to read at now_ns.  Returns
 * 0, or -EINVAL unless in PRE_COPY or PRE_COPY_P2P (outputs untouched).
 */
int vfio_dev_query_precopy(struct vfio_dev *dev, int64_t now_ns,
                           uint64_t *initial, uint64_t *dirty);

/*
 * read() on the saving data_fd: up to max_bytes.  In PRE_COPY* it takes
 * initial bytes first, then dirty bytes (0 = temporary end of data); in
 * STOP_COPY it drains the final stream (0 = end of stream).  0 in every
 * other state.  Returns the bytes read; the time it takes is
 * vfio_dev_read_ns() of that.
 */
uint64_t vfio_dev_read(struct vfio_dev *dev, int64_t now_ns,
                       uint64_t max_bytes);

/* Session counters: pre-copy bytes read in the current saving session;
 * length of the final stream fixed at STOP_COPY entry (0 if none) and how
 * much of it is still unread. */
uint64_t vfio_dev_precopy_read_bytes(const struct vfio_dev *dev);
uint64_t vfio_dev_stop_copy_stream_bytes(const struct vfio_dev *dev);
uint64_t vfio_dev_stop_copy_left_bytes(const struct vfio_dev *dev);

#endif
