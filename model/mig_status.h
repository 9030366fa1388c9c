/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig_status.h — QEMU's source-side migration status machine
 * (QAPI MigrationStatus), shared by the simulator, trace replay and the
 * live backend: contract.
 *
 * States carry QEMU's QAPI names ("postcopy-active", "wait-unplug", ...),
 * the strings seen in query-migrate, in MIGRATION events and in the
 * "migrate_set_state new state %s" trace.  mig_status_allowed() answers
 * whether QEMU's source side ever performs a transition in a given version
 * (see mig_status.c for the QEMU function behind each rule).  Versions are
 * major * 100 + minor (702 = 7.2, 1002 = 10.2); 0 means "any version" (the
 * union of all rules).  Versions before 7.2 follow the 7.2 rules, after
 * 10.2 the 10.2 rules.
 *
 * Source sequences (no postcopy):
 *   setup -> [wait-unplug ->] active -> completed              (< 10.0)
 *   setup -> [wait-unplug ->] active -> device -> completed    (10.0+)
 *   ... active -> pre-switchover -> device -> completed   (pause-before-
 *                                                          switchover)
 * Postcopy:
 *   < 10.0: active -> [pre-switchover ->] postcopy-active -> completed
 *   10.0+:  active -> [pre-switchover ->] device -> postcopy-active
 *   10.2:   ... device -> postcopy-device -> postcopy-active (with a
 *           return path, which postcopy-ram always opens)
 *   network loss: postcopy-active -> postcopy-paused -> [9.1+:
 *           postcopy-recover-setup ->] postcopy-recover -> postcopy-active
 * Ends: any running state -> cancelling -> cancelled; failed from setup,
 * active, device, postcopy-device, postcopy-active; a finished migration
 * (completed, failed, cancelled) may be followed by a new "setup".
 * The destination side (incoming migration) follows other rules and is not
 * modelled here.
 *
 * The checker is fed every status change in order (MIGRATION events or
 * migrate_set_state trace lines; polling query-migrate can miss short-lived
 * states) with a position: a time in ns, a line number or an index.  It
 * records each violation with its position as a message such as
 * "trace.log:123: completed -> active: not a transition QEMU 7.2 performs".
 * A status equal to the current one is ignored (repeated polls).
 */
#ifndef MIGSIM_SIM_MIG_STATUS_H
#define MIGSIM_SIM_MIG_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In QAPI declaration order. */
enum mig_status {
    MIG_STATUS_NONE = 0,
    MIG_STATUS_SETUP,
    MIG_STATUS_CANCELLING,
    MIG_STATUS_CANCELLED,
    MIG_STATUS_ACTIVE,
    MIG_STATUS_POSTCOPY_DEVICE, /* 10.2+ */
    MIG_STATUS_POSTCOPY_ACTIVE,
    MIG_STATUS_POSTCOPY_PAUSED,
    MIG_STATUS_POSTCOPY_RECOVER_SETUP, /* 9.1+ */
    MIG_STATUS_POSTCOPY_RECOVER,
    MIG_STATUS_COMPLETED,
    MIG_STATUS_FAILED,
    MIG_STATUS_COLO,
    MIG_STATUS_PRE_SWITCHOVER,
    MIG_STATUS_DEVICE,
    MIG_STATUS_WAIT_UNPLUG,
    MIG_STATUS__COUNT /* not a status; "none/unknown" in violations */
};

/* QAPI name ("postcopy-active"); "unknown" for values out of range.  The
 * string is static. */
const char *mig_status_name(enum mig_status s);
/* Exact QAPI name -> status.  0 on success, -1 if unknown (out untouched). */
int mig_status_from_name(const char *name, enum mig_status *out);

/* First QEMU version having the state (902 style), 0 if every modelled
 * version (7.2+) has it: postcopy-recover-setup 901, postcopy-device 1002. */
unsigned mig_status_since(enum mig_status s);
/* Whether QEMU version v (0 = any) has state s. */
bool mig_status_exists(enum mig_status s, unsigned qemu_version);

/* Whether QEMU's source side performs from -> to in that version (0 = any
 * version).  false for from == to, unknown values, and states the version
 * does not have. */
bool mig_status_allowed(enum mig_status from, enum mig_status to,
                        unsigned qemu_version);

/* QEMU's migration_is_active(): the migration thread iterates (active,
 * postcopy-device, postcopy-active). */
bool mig_status_is_active(enum mig_status s);
/* QEMU's migration_is_running(): a migration is in progress (setup,
 * wait-unplug, active, pre-switchover, device, any postcopy state, colo,
 * cancelling). */
bool mig_status_is_running(enum mig_status s);
/* QEMU's migration_in_postcopy(): any postcopy-* state. */
bool mig_status_in_postcopy(enum mig_status s);
/* Finished: completed, failed, cancelled. */
bool mig_status_is_terminal(enum mig_status s);

/* ---- checker ------------------------------------------------------------ */

/* How positions are printed in messages. */
enum mig_pos_kind {
    MIG_POS_NS = 0, /* time in ns: "t=1.500000000s" (the default) */
    MIG_POS_LINE,   /* line number: "file:123" or "line 123" */
    MIG_POS_INDEX,  /* sequence number: "#3" */
};

#define MIG_STATUS_MSG_LEN    200
#define MIG_STATUS_MAX_STORED 256 /* later violations are only counted */

struct mig_status_violation {
    uint64_t pos;
    enum mig_status from;         /* MIG_STATUS__COUNT if not applicable */
    enum mig_status to;           /* MIG_STATUS__COUNT for an unknown name */
    char msg[MIG_STATUS_MSG_LEN]; /* position prefix included */
};

struct mig_status_checker;

/* New checker for QEMU version v (0 = any), starting at "none" (a fresh
 * QEMU).  NULL on allocation failure.  Free with mig_status_checker_free. */
struct mig_status_checker *mig_status_checker_new(unsigned qemu_version);
void mig_status_checker_free(struct mig_status_checker *c);

/* Position style and an optional source label (e.g. a file name, copied,
 * up to 63 bytes; NULL for none) for messages. */
void mig_status_checker_set_position(struct mig_status_checker *c,
                                     enum mig_pos_kind kind,
                                     const char *source);
/* Forget the current state: the next status is accepted as it is (a trace
 * that starts mid-migration, or after a gap). */
void mig_status_checker_resync(struct mig_status_checker *c);

/* Feed the next status at position pos.  Returns 0 if it is consistent,
 * -1 if a violation was recorded (the status is taken as current either
 * way, so checking continues from it).  A state the version does not have
 * is one violation; the transition after it is judged by the any-version
 * rules. */
int mig_status_checker_feed(struct mig_status_checker *c, enum mig_status s,
                            uint64_t pos);
/* Same with a QAPI name; an unknown name is a violation and leaves the
 * current state unchanged. */
int mig_status_checker_feed_name(struct mig_status_checker *c, const char *name,
                                 uint64_t pos);

/* Current state (MIG_STATUS__COUNT after resync until the next feed). */
enum mig_status mig_status_checker_state(const struct mig_status_checker *c);
/* Total violations seen (may exceed the number stored). */
size_t mig_status_checker_count(const struct mig_status_checker *c);
/* Violation i (0-based, in feed order), or NULL if i >= the number stored
 * (min(count, MIG_STATUS_MAX_STORED)).  Owned by the checker. */
const struct mig_status_violation *
mig_status_checker_violation(const struct mig_status_checker *c, size_t i);

#endif
