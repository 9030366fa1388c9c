/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/qemu_version.h — what the model does differently per QEMU version,
 * as data: one row per modelled version (7.2 … 10.2).  Contract.
 *
 * Every per-version decision of the model (model/mig.c), the scenario
 * checks (run/scenario.c) and the policies reads a field of the row of
 * the scenario's version; no other code compares version numbers.  The
 * facts are those of ../shared/reference/qemu-convergence.md (§1, §2.3,
 * §2.4, §5, §9); docs/model.md has the table in prose and the recipe for
 * adding a version.
 *
 * Version numbers are major * 100 + minor (QEMU_9_2 = 902).  qv_get()
 * accepts any number and answers with the row of the newest modelled
 * version not newer than it (the oldest row for older numbers), which is
 * what comparisons "version >= QEMU_x_y" meant.  The table lives in
 * run/ (not model/) because the scenario checks and the policies, below
 * the model in the layer order, need it too.
 */
#ifndef MIGSIM_RUN_QEMU_VERSION_H
#define MIGSIM_RUN_QEMU_VERSION_H

#include <stdbool.h>
#include <stddef.h>

/* QEMU version models: major*100 + minor. */
enum {
    QEMU_7_2 = 702,
    QEMU_8_0 = 800,
    QEMU_8_1 = 801,
    QEMU_8_2 = 802,
    QEMU_9_0 = 900,
    QEMU_9_1 = 901,
    QEMU_9_2 = 902,
    QEMU_10_0 = 1000,
    QEMU_10_1 = 1001,
    QEMU_10_2 = 1002,
};

/* The modelled versions, as messages and the key help list them; the
 * unit test checks both against the table. */
#define QV_NAMES_COMMA "7.2, 8.0, 8.1, 8.2, 9.0, 9.1, 9.2, 10.0, 10.1, 10.2"
#define QV_NAMES_SPACE "7.2 8.0 8.1 8.2 9.0 9.1 9.2 10.0 10.1 10.2"

/* When migration_iteration_run calls state_pending_exact(). */
enum qv_exact {
    QV_EXACT_NONE = 0,   /* 7.2: one pending query, no exact() */
    QV_EXACT_MUST_LE,    /* 8.0-8.2: must_precopy <= threshold */
    QV_EXACT_PENDING_LT, /* 9.0+: must + can < threshold */
};

/* Where RAM's dirty-bitmap sync happens during the iteration. */
enum qv_sync {
    QV_SYNC_IN_PENDING = 0, /* 7.2: in the pending query, remaining <
                               threshold, precopy only */
    QV_SYNC_IN_EXACT_BELOW, /* 8.0-8.2: in exact(), remaining < threshold,
                               precopy only */
    QV_SYNC_IN_EXACT,       /* 9.0+: in every exact(), precopy only */
};

/* The completion (switchover) predicate; pending includes everything
 * reported, can_switchover is switchover-ack's (when the row has it). */
enum qv_switchover {
    QV_SWITCHOVER_LT = 0, /* <= 10.0: (pending == 0 || pending < threshold)
                             && can_switchover, in precopy and postcopy */
    QV_SWITCHOVER_LE,     /* 10.1+: precopy can_switchover && pending <=
                             threshold; postcopy pending == 0 */
};

/* QEMU's VFIO migration handler (hw/vfio/migration.c). */
enum qv_vfio {
    QV_VFIO_V1 = 0,         /* 7.2: v1 pending_bytes on every pending query,
                               no setup query, no pre-copy */
    QV_VFIO_STOP_COPY,      /* 8.0: v2, stop-copy size in exact() only */
    QV_VFIO_PRECOPY_DOUBLE, /* 8.1-9.1: pre-copy; exact() = stop-copy +
                               fresh initial + dirty (double counted) */
    QV_VFIO_PRECOPY,        /* 9.2+: pre-copy; exact() = stop-copy only */
};

/* What a version's traces show (replay's version evidence): one bit per
 * trace event, argument or line shape that some versions have and others
 * not.  A row has the bits of what its version writes; the reader narrows
 * the version range to the rows that have (or lack) what it saw. */
enum qv_trace {
    QV_TR_PENDING_ONE = 1u << 0,           /* migrate_pending (7.2) */
    QV_TR_PENDING_SPLIT = 1u << 1,         /* migrate_pending_estimate/_exact */
    QV_TR_XFER_SWITCHOVER_BW = 1u << 2,    /* migrate_transferred has
                                              switchover_bw */
    QV_TR_TRANSFERRED_BYTES = 1u << 3,     /* migration_transferred_bytes */
    QV_TR_VFIO_HEX_SIZES = 1u << 4,        /* VFIO sizes printed in hex */
    QV_TR_VFIO_DEC_SIZES = 1u << 5,        /* VFIO sizes in decimal */
    QV_TR_VFIO_PENDING_EST = 1u << 6,      /* vfio_state_pending_estimate */
    QV_TR_VFIO_EXACT_NO_PRECOPY = 1u << 7, /* vfio_state_pending_exact
                                              without pre-copy sizes */
    QV_TR_VFIO_V1 = 1u << 8,            /* vfio_save_pending, numeric states */
    QV_TR_CPU_THROTTLE_SYNC = 1u << 9,  /* cpu_throttle_dirty_sync */
    QV_TR_RAM_SAVE_COMPLETE = 1u << 10, /* ram_save_complete */
    QV_TR_VMSTATE_DOWNTIME = 1u << 11,  /* vmstate_downtime_* */
    QV_TR_INCOMING_END = 1u << 12,      /* process_incoming_migration_end */
    QV_TR_VFIO_SAVE_COMPLETE_START = 1u << 13,
    QV_TR_VFIO_SAVE_ITERATE_START = 1u << 14,
    QV_TR_VFIO_P2P_PREPARE = 1u << 15,     /* vfio_vmstate_change_prepare */
    QV_TR_TID_PREFIX = 1u << 16,           /* log backend "TID@SEC.USEC:" */
    QV_TR_ISO_PREFIX = 1u << 17,           /* log backend ISO-8601 time */
    QV_TR_VFIO_STATE_PENDING = 1u << 18,   /* vfio_state_pending (the VFIO
                                              maintainer's post-10.2 tree,
                                              taken as the newest version) */
    QV_TR_STATUS_RECOVER_SETUP = 1u << 19, /* postcopy-recover-setup */
    QV_TR_STATUS_DEVICE = 1u << 20,        /* "device" without pre-switchover */
    QV_TR_STATUS_POSTCOPY_DEVICE = 1u << 21, /* postcopy-device */
    QV_TR_MIGRATE_FD = 1u << 22,        /* migrate_fd_cleanup/_cancel/_error */
    QV_TR_MIGRATION_CLEANUP = 1u << 23, /* migration_cleanup/_cancel,
                                           migrate_error */
};

struct qv_row {
    unsigned num;     /* QEMU_x_y */
    const char *name; /* "9.2" */
    enum qv_exact exact;
    bool exact_precopy_only; /* 10.1+: no exact() in postcopy */
    enum qv_sync sync;
    enum qv_switchover switchover;
    bool switchover_ack; /* 8.1+: the capability exists; can_switchover
                            gates completion and the postcopy start */
    bool iterate_serial; /* <= 8.2: qemu_savevm_state_iterate stops at the
                            first handler that is not finished */
    enum qv_vfio vfio;
    bool vfio_p2p_first;          /* 8.2+: P2P states before STOP(_COPY) */
    bool vfio_multifd;            /* 10.0+: device state over multifd */
    bool vfio_refuses_postcopy;   /* 9.0+: postcopy-ram with VFIO refused */
    bool avail_switchover_bw;     /* 8.2+: avail-switchover-bandwidth exists;
                                     it replaces the measured bandwidth in
                                     the threshold and in expected-downtime */
    bool dirty_limit;             /* 8.1+: capability dirty-limit exists */
    bool autoconverge_sync_timer; /* 9.2+: 5 s sync timer with
                                     auto-converge */
    bool status_recover_setup;    /* 9.1+: "postcopy-recover-setup" */
    bool status_device_always;    /* 10.0+: switchover passes "device" */
    bool status_postcopy_device;  /* 10.2+: "postcopy-device" state */
    const char *trace_pending_estimate; /* migrate_pending (7.2) or
                                           migrate_pending_estimate */
    const char *trace_pending_exact;    /* NULL in 7.2 */
    unsigned trace;                     /* enum qv_trace bits */
};

/* The table, oldest first: *n rows.  Static data. */
const struct qv_row *qv_table(size_t *n);
/* The row of the newest version <= num; the oldest row for smaller num.
 * Never NULL. */
const struct qv_row *qv_get(unsigned num);
/* The row whose number is exactly num, or NULL. */
const struct qv_row *qv_exact_row(unsigned num);
/* Exact (case-sensitive) name ("9.2") to its row, or NULL ("9.2.1" is
 * NULL: scenario files name the model, not a release). */
const struct qv_row *qv_by_name(const char *name);
/* A release string "MAJOR.MINOR[.MICRO…]" ("9.2.1") to the row of its
 * MAJOR.MINOR, or NULL when that is not modelled or the text is not a
 * version. */
const struct qv_row *qv_by_release(const char *release);
/* Numbers of the oldest and the newest modelled version. */
unsigned qv_oldest(void);
unsigned qv_newest(void);

/* The oldest and newest modelled versions whose rows have (has = true) or
 * lack (has = false) every bit of `bits` (enum qv_trace).  Returns false,
 * and *lo = *hi = 0, when no row does. */
bool qv_trace_span(unsigned bits, bool has, unsigned *lo, unsigned *hi);

/* Small accessors for code outside the model (any num, as qv_get). */
bool qv_has_avail_switchover_bw(unsigned num);
/* The VFIO handler reports pre-copy data (8.1+). */
bool qv_vfio_precopy(const struct qv_row *r);

#endif
