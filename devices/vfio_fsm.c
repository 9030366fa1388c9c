/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * devices/vfio_fsm.c — the VFIO migration state machine (see vfio_fsm.h).
 *
 * Data: a table of the flags each state needs, the raw [cur][target]
 * next-hop table of the VFIO core (uAPI numbering, facts from
 * shared/reference/vfio-uapi.md §2.1/§2.2) and a static property table.
 */
#include "devices/vfio_fsm.h"

#define ERR  VFIO_FSM_ERROR
#define STOP VFIO_FSM_STOP
#define RUN  VFIO_FSM_RUNNING
#define SC   VFIO_FSM_STOP_COPY
#define RES  VFIO_FSM_RESUMING
#define RP2P VFIO_FSM_RUNNING_P2P
#define PC   VFIO_FSM_PRE_COPY
#define PCP  VFIO_FSM_PRE_COPY_P2P

/* Flags a state needs; ERROR needs bits no device has, so it is never
 * supported. */
static const uint64_t need_flags[VFIO_FSM_NR] = {
    [ERR] = ~(uint64_t)0,
    [STOP] = VFIO_FSM_F_STOP_COPY,
    [RUN] = VFIO_FSM_F_STOP_COPY,
    [SC] = VFIO_FSM_F_STOP_COPY,
    [RES] = VFIO_FSM_F_STOP_COPY,
    [RP2P] = VFIO_FSM_F_STOP_COPY | VFIO_FSM_F_P2P,
    [PC] = VFIO_FSM_F_STOP_COPY | VFIO_FSM_F_PRE_COPY,
    [PCP] = VFIO_FSM_F_STOP_COPY | VFIO_FSM_F_P2P | VFIO_FSM_F_PRE_COPY,
};

/* hop[cur][target]: the next state before skipping unsupported ones.
 * Chains enter the saving group (SC, PC, PCP) only at their last state and
 * move inside it only when they start there (PC -> PCP -> SC keeps the
 * fd); SC -> PC* is blocked (ERROR). */
/* clang-format off */
static const unsigned char hop[VFIO_FSM_NR][VFIO_FSM_NR] = {
    /* target:   ERR  STOP  RUN   SC    RES   RP2P  PC    PCP */
    [ERR]  = {   ERR, ERR,  ERR,  ERR,  ERR,  ERR,  ERR,  ERR  },
    [STOP] = {   ERR, STOP, RP2P, SC,   RES,  RP2P, RP2P, RP2P },
    [RUN]  = {   ERR, RP2P, RUN,  RP2P, RP2P, RP2P, PC,   RP2P },
    [SC]   = {   ERR, STOP, STOP, SC,   STOP, STOP, ERR,  ERR  },
    [RES]  = {   ERR, STOP, STOP, STOP, RES,  STOP, STOP, STOP },
    [RP2P] = {   ERR, STOP, RUN,  STOP, STOP, RP2P, RUN,  PCP  },
    [PC]   = {   ERR, RUN,  RUN,  PCP,  RUN,  RUN,  PC,   PCP  },
    [PCP]  = {   ERR, RP2P, RP2P, SC,   RP2P, RP2P, PC,   PCP  },
};
/* clang-format on */

static const char *const names[VFIO_FSM_NR] = {
    [ERR] = "ERROR",    [STOP] = "STOP",        [RUN] = "RUNNING",
    [SC] = "STOP_COPY", [RES] = "RESUMING",     [RP2P] = "RUNNING_P2P",
    [PC] = "PRE_COPY",  [PCP] = "PRE_COPY_P2P",
};

static const struct vfio_fsm_props props[VFIO_FSM_NR] = {
    [ERR] = {"ERROR", VFIO_FSM_UNKNOWN, VFIO_FSM_UNKNOWN, VFIO_FSM_FD_DEAD,
             false, VFIO_FSM_EOF_NONE, VFIO_FSM_REGIONS_RESET, false},
    [STOP] = {"STOP", VFIO_FSM_NO, VFIO_FSM_NO, VFIO_FSM_FD_NONE, false,
              VFIO_FSM_EOF_NONE, VFIO_FSM_REGIONS_CONFIG_ONLY, false},
    [RUN] = {"RUNNING", VFIO_FSM_YES, VFIO_FSM_YES, VFIO_FSM_FD_NONE, false,
             VFIO_FSM_EOF_NONE, VFIO_FSM_REGIONS_YES, false},
    [SC] = {"STOP_COPY", VFIO_FSM_NO, VFIO_FSM_NO, VFIO_FSM_FD_SAVE, false,
            VFIO_FSM_EOF_PERMANENT, VFIO_FSM_REGIONS_SHOULD_NOT, true},
    [RES] = {"RESUMING", VFIO_FSM_NO, VFIO_FSM_NO, VFIO_FSM_FD_RESUME, false,
             VFIO_FSM_EOF_NONE, VFIO_FSM_REGIONS_SHOULD_NOT, false},
    [RP2P] = {"RUNNING_P2P", VFIO_FSM_YES, VFIO_FSM_NO, VFIO_FSM_FD_NONE, false,
              VFIO_FSM_EOF_NONE, VFIO_FSM_REGIONS_YES, false},
    [PC] = {"PRE_COPY", VFIO_FSM_YES, VFIO_FSM_YES, VFIO_FSM_FD_SAVE, true,
            VFIO_FSM_EOF_TEMPORARY, VFIO_FSM_REGIONS_YES, true},
    [PCP] = {"PRE_COPY_P2P", VFIO_FSM_YES, VFIO_FSM_NO, VFIO_FSM_FD_SAVE, true,
             VFIO_FSM_EOF_TEMPORARY, VFIO_FSM_REGIONS_YES, true},
};

static bool in_range(enum vfio_fsm_state s)
{
    return (unsigned)s < VFIO_FSM_NR;
}

bool vfio_fsm_supported(enum vfio_fsm_state s, uint64_t flags)
{
    if (!in_range(s) || s == ERR) {
        return false;
    }
    return (need_flags[s] & flags) == need_flags[s];
}

int vfio_fsm_next_hop(enum vfio_fsm_state cur, enum vfio_fsm_state target,
                      uint64_t flags, enum vfio_fsm_state *next)
{
    if (!vfio_fsm_supported(cur, flags) || !vfio_fsm_supported(target, flags)) {
        return -EINVAL;
    }
    enum vfio_fsm_state n = (enum vfio_fsm_state)hop[cur][target];
    /* Skip states the device lacks.  Stopping on ERROR is what keeps a
     * blocked arc (SC -> PC*) from looping forever: ERROR is never
     * supported and hop[ERR][*] is ERROR.  Each skip moves to a supported
     * state or to ERROR within two rounds, but bound the loop anyway. */
    for (unsigned guard = 0; n != ERR && !vfio_fsm_supported(n, flags);
         guard++) {
        if (guard >= VFIO_FSM_NR) {
            return -EINVAL;
        }
        n = (enum vfio_fsm_state)hop[n][target];
    }
    if (n == ERR) {
        return -EINVAL;
    }
    *next = n;
    return 0;
}

int vfio_fsm_plan(enum vfio_fsm_state cur, enum vfio_fsm_state target,
                  uint64_t flags, enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX],
                  unsigned *n)
{
    unsigned k = 0;
    *n = 0;
    if (!vfio_fsm_supported(cur, flags)) {
        return -EINVAL;
    }
    path[k++] = cur;
    while (cur != target) {
        enum vfio_fsm_state next;
        int rc = vfio_fsm_next_hop(cur, target, flags, &next);
        if (rc < 0) {
            return rc;
        }
        if (k >= VFIO_FSM_PLAN_MAX) {
            return -EINVAL; /* cannot happen with the table above */
        }
        path[k++] = next;
        cur = next;
    }
    *n = k;
    return 0;
}

unsigned vfio_fsm_arc_class(enum vfio_fsm_state from, enum vfio_fsm_state to)
{
    if (!in_range(from) || !in_range(to)) {
        return 0;
    }
    switch (from) {
    case RUN:
        switch (to) {
        case PC:
            return VFIO_FSM_ARC_SAVE_OPEN | VFIO_FSM_ARC_TRACK_START;
        case RP2P:
            return VFIO_FSM_ARC_P2P_QUIESCE;
        case STOP:
            return VFIO_FSM_ARC_DEVICE_STOP;
        default:
            return 0;
        }
    case RP2P:
        switch (to) {
        case PCP:
            return VFIO_FSM_ARC_SAVE_OPEN | VFIO_FSM_ARC_TRACK_START;
        case RUN:
            return VFIO_FSM_ARC_P2P_RESUME;
        case STOP:
            return VFIO_FSM_ARC_DEVICE_STOP;
        default:
            return 0;
        }
    case STOP:
        switch (to) {
        case SC:
            return VFIO_FSM_ARC_SAVE_OPEN;
        case RES:
            return VFIO_FSM_ARC_RESUME_OPEN | VFIO_FSM_ARC_MAY_RESET;
        case RP2P:
        case RUN:
            return VFIO_FSM_ARC_DEVICE_START;
        default:
            return 0;
        }
    case PC:
        switch (to) {
        case PCP:
            return VFIO_FSM_ARC_SAVE_KEEP | VFIO_FSM_ARC_P2P_QUIESCE;
        case SC:
            return VFIO_FSM_ARC_SAVE_KEEP | VFIO_FSM_ARC_DEVICE_STOP |
                   VFIO_FSM_ARC_SAVE_FINAL;
        case RUN:
            return VFIO_FSM_ARC_SAVE_CLOSE | VFIO_FSM_ARC_TRACK_STOP;
        default:
            return 0;
        }
    case PCP:
        switch (to) {
        case PC:
            return VFIO_FSM_ARC_SAVE_KEEP | VFIO_FSM_ARC_P2P_RESUME;
        case SC:
            return VFIO_FSM_ARC_SAVE_KEEP | VFIO_FSM_ARC_DEVICE_STOP |
                   VFIO_FSM_ARC_SAVE_FINAL;
        case RP2P:
            return VFIO_FSM_ARC_SAVE_CLOSE | VFIO_FSM_ARC_TRACK_STOP;
        default:
            return 0;
        }
    case SC:
        return to == STOP ? VFIO_FSM_ARC_SAVE_CLOSE : 0;
    case RES:
        return to == STOP
                   ? VFIO_FSM_ARC_RESUME_COMMIT | VFIO_FSM_ARC_RESUME_CLOSE
                   : 0;
    default:
        return 0;
    }
}

const struct vfio_fsm_props *vfio_fsm_props(enum vfio_fsm_state s)
{
    return in_range(s) ? &props[s] : 0;
}

int vfio_fsm_validate_request(enum vfio_fsm_state cur,
                              enum vfio_fsm_state target, uint64_t flags,
                              unsigned *diag)
{
    unsigned d = 0;
    if (!in_range(cur)) {
        d |= VFIO_FSM_DIAG_CUR_INVALID;
    } else if (cur == ERR) {
        d |= VFIO_FSM_DIAG_CUR_ERROR;
    } else if (!vfio_fsm_supported(cur, flags)) {
        d |= VFIO_FSM_DIAG_CUR_UNSUPPORTED;
    }
    if (!in_range(target) || target == ERR) {
        d |= VFIO_FSM_DIAG_TARGET_INVALID;
    } else if (!vfio_fsm_supported(target, flags)) {
        d |= VFIO_FSM_DIAG_TARGET_UNSUPPORTED;
    }
    if (d == 0 && cur == SC && (target == PC || target == PCP)) {
        d |= VFIO_FSM_DIAG_KERNEL_HANG;
    }
    if (diag) {
        *diag = d;
    }
    return d ? -EINVAL : 0;
}

const char *vfio_fsm_diag_str(unsigned diag)
{
    if (diag & VFIO_FSM_DIAG_KERNEL_HANG) {
        return "STOP_COPY -> PRE_COPY/PRE_COPY_P2P is not permitted; "
               "it would hang an unpatched 6.2+ kernel (soft lockup)";
    }
    if (diag & VFIO_FSM_DIAG_CUR_ERROR) {
        return "device is in ERROR; only VFIO_DEVICE_RESET leaves it";
    }
    if (diag & VFIO_FSM_DIAG_CUR_INVALID) {
        return "current state is not a valid device state";
    }
    if (diag & VFIO_FSM_DIAG_CUR_UNSUPPORTED) {
        return "current state is not supported by the device's migration "
               "flags";
    }
    if (diag & VFIO_FSM_DIAG_TARGET_INVALID) {
        return "requested state is ERROR or not a valid device state";
    }
    if (diag & VFIO_FSM_DIAG_TARGET_UNSUPPORTED) {
        return "requested state is not supported by the device's migration "
               "flags";
    }
    return "";
}

const char *vfio_fsm_state_name(enum vfio_fsm_state s)
{
    return in_range(s) ? names[s] : "UNKNOWN";
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static bool name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b)) {
            return false;
        }
    }
    return *a == *b;
}

int vfio_fsm_state_from_name(const char *name, enum vfio_fsm_state *s)
{
    if (!name) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < VFIO_FSM_NR; i++) {
        if (name_eq(name, names[i])) {
            *s = (enum vfio_fsm_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

int vfio_fsm_walk_path(enum vfio_fsm_state *cur,
                       const enum vfio_fsm_state *path, unsigned n,
                       uint64_t flags, vfio_fsm_step_fn *step, void *ctx)
{
    if (n == 0 || path[0] != *cur || !vfio_fsm_supported(*cur, flags)) {
        return -EINVAL;
    }
    for (unsigned i = 1; i < n; i++) {
        enum vfio_fsm_state from = path[i - 1], to = path[i];
        bool final_hop = (i == n - 1);
        unsigned cls = vfio_fsm_arc_class(from, to);
        if (cls == 0 || !vfio_fsm_supported(to, flags)) {
            return -EINVAL;
        }
        if ((cls & VFIO_FSM_ARC_OPENS_FD) && !final_hop) {
            /* The driver would have to drop a fresh data fd. */
            return -EINVAL;
        }
        int rc = step(ctx, from, to, cls, final_hop);
        if (rc != 0) {
            return rc < 0 ? rc : -EINVAL;
        }
        *cur = to;
    }
    return 0;
}

int vfio_fsm_walk(enum vfio_fsm_state *cur, enum vfio_fsm_state target,
                  uint64_t flags, vfio_fsm_step_fn *step, void *ctx)
{
    enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX];
    unsigned n;
    int rc = vfio_fsm_validate_request(*cur, target, flags, 0);
    if (rc < 0) {
        return rc;
    }
    rc = vfio_fsm_plan(*cur, target, flags, path, &n);
    if (rc < 0) {
        return rc;
    }
    return vfio_fsm_walk_path(cur, path, n, flags, step, ctx);
}
