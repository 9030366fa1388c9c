/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/vfio_fsm.h — the VFIO device migration state machine (uAPI v2):
 * contract.
 *
 * A pure leaf module (no I/O, no allocation, no engine or model dependency)
 * shared by the simulated VFIO device (devices/vfio_dev.c) and the live probe
 * that drives a real device fd (devices/vfio_probe.c).  It reproduces what the
 * kernel's VFIO core does for VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE SET:
 *
 *   - state numbering is the uAPI's (enum vfio_device_mig_state), so values
 *     go to and come from the ioctl unchanged; the enum is our own so no
 *     kernel name is redefined (Debian 12's 6.1 headers lack PRE_COPY*);
 *   - which states a device may use follows its migration flags
 *     (VFIO_MIGRATION_STOP_COPY / P2P / PRE_COPY);
 *   - a request (cur, target) is executed as a chain of single arcs: a raw
 *     next-hop table plus a loop that skips states the device lacks.  The
 *     loop stops on the ERROR sentinel, so STOP_COPY -> PRE_COPY* is
 *     rejected (-EINVAL) instead of spinning: unpatched 6.2+ kernels spin
 *     forever there (soft lockup), which is why callers driving real
 *     hardware must run vfio_fsm_validate_request() first;
 *   - a request is walked like the in-tree drivers do: plan, run one step
 *     per arc, commit the current state only after a step succeeded, and
 *     allow a data-fd-opening arc only as the final hop.
 *
 * Return values: 0 on success, negative errno (-EINVAL) on refusal.
 * States outside 0..7 are accepted as arguments and treated as invalid.
 */
#ifndef MIGSIM_DEVICES_VFIO_FSM_H
#define MIGSIM_DEVICES_VFIO_FSM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

/* Device states, numbered as in the uAPI. */
enum vfio_fsm_state {
    VFIO_FSM_ERROR = 0,
    VFIO_FSM_STOP = 1,
    VFIO_FSM_RUNNING = 2,
    VFIO_FSM_STOP_COPY = 3,
    VFIO_FSM_RESUMING = 4,
    VFIO_FSM_RUNNING_P2P = 5,
    VFIO_FSM_PRE_COPY = 6,
    VFIO_FSM_PRE_COPY_P2P = 7,
    VFIO_FSM_NR = 8 /* number of states, not a state */
};

/* Migration flags (VFIO_DEVICE_FEATURE_MIGRATION), uAPI values. */
#define VFIO_FSM_F_STOP_COPY 0x1u
#define VFIO_FSM_F_P2P       0x2u
#define VFIO_FSM_F_PRE_COPY  0x4u

/* Longest plan: RESUMING -> STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY is
 * five states; one spare slot. */
#define VFIO_FSM_PLAN_MAX 6

/* Is state s usable by a device with these migration flags?  ERROR and
 * values >= VFIO_FSM_NR never are; every other state needs STOP_COPY, plus
 * P2P and/or PRE_COPY for the optional ones. */
bool vfio_fsm_supported(enum vfio_fsm_state s, uint64_t flags);

/*
 * One hop of the request cur -> target: the kernel's raw table entry,
 * skipping states the device lacks, stopping on ERROR.  On success *next is
 * the state to move to (*next == cur when cur == target).  Returns -EINVAL
 * (and leaves *next untouched) when cur or target is invalid or
 * unsupported, or when the arc is blocked (STOP_COPY -> PRE_COPY*).
 */
int vfio_fsm_next_hop(enum vfio_fsm_state cur, enum vfio_fsm_state target,
                      uint64_t flags, enum vfio_fsm_state *next);

/*
 * The whole path of a request: path[0] = cur, path[*n - 1] = target, each
 * consecutive pair one arc; *n = 1 when cur == target.  path must have
 * VFIO_FSM_PLAN_MAX slots.  Returns 0, or -EINVAL as vfio_fsm_next_hop()
 * (*n is then 0).
 */
int vfio_fsm_plan(enum vfio_fsm_state cur, enum vfio_fsm_state target,
                  uint64_t flags, enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX],
                  unsigned *n);

/* Classification bits of a single arc (vfio_fsm_arc_class). */
enum {
    VFIO_FSM_ARC_SAVE_OPEN = 1u << 0,     /* returns a new saving data_fd */
    VFIO_FSM_ARC_SAVE_KEEP = 1u << 1,     /* stays in the saving group */
    VFIO_FSM_ARC_SAVE_CLOSE = 1u << 2,    /* ends the saving session */
    VFIO_FSM_ARC_SAVE_FINAL = 1u << 3,    /* stream switches to final state */
    VFIO_FSM_ARC_RESUME_OPEN = 1u << 4,   /* returns a new resuming data_fd */
    VFIO_FSM_ARC_RESUME_COMMIT = 1u << 5, /* driver loads/validates state */
    VFIO_FSM_ARC_RESUME_CLOSE = 1u << 6,  /* ends the resuming session */
    VFIO_FSM_ARC_TRACK_START = 1u << 7,   /* device may start dirty tracking */
    VFIO_FSM_ARC_TRACK_STOP = 1u << 8,    /* pre-copy tracking ends */
    VFIO_FSM_ARC_P2P_QUIESCE = 1u << 9,   /* no new P2P DMA from now on */
    VFIO_FSM_ARC_P2P_RESUME = 1u << 10,   /* P2P DMA allowed again */
    VFIO_FSM_ARC_DEVICE_STOP = 1u << 11,  /* device stops operating */
    VFIO_FSM_ARC_DEVICE_START = 1u << 12, /* device starts operating */
    VFIO_FSM_ARC_MAY_RESET = 1u << 13,    /* driver may reset device state */
};
#define VFIO_FSM_ARC_OPENS_FD                                                  \
    (VFIO_FSM_ARC_SAVE_OPEN | VFIO_FSM_ARC_RESUME_OPEN)

/* Class bits of the single arc from -> to, independent of device flags
 * (PRE_COPY -> STOP_COPY, RUNNING <-> STOP are arcs of devices without
 * P2P).  0 when from -> to is not a single arc (including from == to and
 * anything involving ERROR). */
unsigned vfio_fsm_arc_class(enum vfio_fsm_state from, enum vfio_fsm_state to);

/* Per-state properties (what the user may expect in that state). */
enum vfio_fsm_tri { VFIO_FSM_NO = 0, VFIO_FSM_YES = 1, VFIO_FSM_UNKNOWN = 2 };
enum vfio_fsm_fd_kind {
    VFIO_FSM_FD_NONE = 0, /* no migration data_fd in use */
    VFIO_FSM_FD_SAVE,     /* saving fd, read() */
    VFIO_FSM_FD_RESUME,   /* resuming fd, write() */
    VFIO_FSM_FD_DEAD,     /* ERROR: any fd is presumed dead */
};
enum vfio_fsm_eof {
    VFIO_FSM_EOF_NONE = 0,  /* no saving fd */
    VFIO_FSM_EOF_TEMPORARY, /* ENOMSG (some drivers: 0); more may come */
    VFIO_FSM_EOF_PERMANENT, /* read() returns 0: all state transferred */
};
enum vfio_fsm_regions {
    VFIO_FSM_REGIONS_YES = 0,     /* user may access device regions */
    VFIO_FSM_REGIONS_CONFIG_ONLY, /* config space / MSI-X only */
    VFIO_FSM_REGIONS_SHOULD_NOT,  /* access may corrupt the stream */
    VFIO_FSM_REGIONS_RESET,       /* device needs VFIO_DEVICE_RESET */
};
struct vfio_fsm_props {
    const char *name;          /* as vfio_fsm_state_name() */
    enum vfio_fsm_tri dma;     /* device may initiate DMA */
    enum vfio_fsm_tri p2p_dma; /* device may initiate P2P DMA */
    enum vfio_fsm_fd_kind fd;
    bool precopy_info;     /* VFIO_MIG_GET_PRECOPY_INFO is valid */
    enum vfio_fsm_eof eof; /* read() at the end of the available data */
    enum vfio_fsm_regions regions;
    bool saving_group; /* PRE_COPY, PRE_COPY_P2P, STOP_COPY */
};

/* Properties of s (static storage); NULL when s >= VFIO_FSM_NR. */
const struct vfio_fsm_props *vfio_fsm_props(enum vfio_fsm_state s);

/* Diagnostic bits from vfio_fsm_validate_request(). */
enum {
    VFIO_FSM_DIAG_TARGET_INVALID = 1u << 0,     /* ERROR or >= 8 */
    VFIO_FSM_DIAG_TARGET_UNSUPPORTED = 1u << 1, /* flags lack it */
    VFIO_FSM_DIAG_CUR_INVALID = 1u << 2,        /* >= 8 */
    VFIO_FSM_DIAG_CUR_UNSUPPORTED = 1u << 3,    /* flags lack it */
    VFIO_FSM_DIAG_CUR_ERROR = 1u << 4,          /* only reset leaves ERROR */
    /* STOP_COPY -> PRE_COPY / PRE_COPY_P2P: not permitted, and would hang
     * an unpatched 6.2+ kernel (soft lockup in the FSM skip loop). */
    VFIO_FSM_DIAG_KERNEL_HANG = 1u << 5,
};

/*
 * Pre-check of a SET request as the kernel would judge it.  Returns 0 when
 * the request is allowed (cur == target included) and -EINVAL otherwise.
 * *diag (if not NULL) receives every VFIO_FSM_DIAG_* bit that applies (0 on
 * success).  A request this accepts always has a plan.
 */
int vfio_fsm_validate_request(enum vfio_fsm_state cur,
                              enum vfio_fsm_state target, uint64_t flags,
                              unsigned *diag);

/* One-line English text for the most specific bit in diag (static
 * storage), "" for 0. */
const char *vfio_fsm_diag_str(unsigned diag);

/* "ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P",
 * "PRE_COPY", "PRE_COPY_P2P" (QEMU's spelling); "UNKNOWN" for >= 8.
 * Static storage. */
const char *vfio_fsm_state_name(enum vfio_fsm_state s);
/* Inverse of vfio_fsm_state_name (ASCII case-insensitive).  0, or -EINVAL
 * for an unknown name or NULL (*s untouched). */
int vfio_fsm_state_from_name(const char *name, enum vfio_fsm_state *s);

/*
 * Step callback for the walkers: perform the single arc from -> to (class
 * as vfio_fsm_arc_class; final_hop true for the last arc of the request).
 * Return 0 when the device has fully reached `to`, or a negative errno;
 * the walker then stops and the committed state stays `from` (the real
 * device may be anywhere on the path or in ERROR; a live caller must read
 * the state back).  Only a final hop may open a data fd.
 */
typedef int vfio_fsm_step_fn(void *ctx, enum vfio_fsm_state from,
                             enum vfio_fsm_state to, unsigned arc_class,
                             bool final_hop);

/*
 * Execute the request *cur -> target like a driver: validate, plan, then
 * call step once per arc, setting *cur = to after each successful step.
 * cur == target succeeds without calling step.  Returns 0, -EINVAL when the
 * request is refused (no step called; see vfio_fsm_validate_request for the
 * reason), or the failing step's negative return (a positive return is
 * taken as -EINVAL).
 */
int vfio_fsm_walk(enum vfio_fsm_state *cur, enum vfio_fsm_state target,
                  uint64_t flags, vfio_fsm_step_fn *step, void *ctx);

/*
 * Walk a given path (path[0] must equal *cur; n >= 1): the commit loop of
 * vfio_fsm_walk without planning, for replaying or checking recorded
 * paths.  Before each step it checks that the arc is a single arc between
 * states the device supports and that an fd-opening arc is the final hop;
 * a violation returns -EINVAL with *cur at the last committed state and
 * that step not called.
 */
int vfio_fsm_walk_path(enum vfio_fsm_state *cur,
                       const enum vfio_fsm_state *path, unsigned n,
                       uint64_t flags, vfio_fsm_step_fn *step, void *ctx);

#endif
