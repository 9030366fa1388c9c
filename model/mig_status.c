/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model/mig_status.c — QEMU's source-side migration status machine and a
 * checker for observed status sequences (contract in model/mig_status.h).
 *
 * The transition rules restate, in our own words, which state changes
 * QEMU's migration/migration.c performs on the source (the
 * migrate_set_state() calls); the QEMU function behind each rule is named
 * next to it.  Version boundaries come from
 * ../shared/reference/qemu-convergence.md (§1, §2.5-2.7, §8.4).
 *
 * The checker keeps the current state and a growable array of at most
 * MIG_STATUS_MAX_STORED violations (about 220 bytes each).
 */
#include "model/mig_status.h"

#include <stddef.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/qemu_version.h"

/* The first modelled version whose row has the bool field at off. */
static unsigned first_with(size_t off)
{
    size_t n;
    const struct qv_row *t = qv_table(&n);
    for (size_t i = 0; i < n; i++) {
        bool b;
        memcpy(&b, (const char *)&t[i] + off, sizeof(b));
        if (b) {
            return t[i].num;
        }
    }
    return 0;
}

static const char *const names[MIG_STATUS__COUNT] = {
    [MIG_STATUS_NONE] = "none",
    [MIG_STATUS_SETUP] = "setup",
    [MIG_STATUS_CANCELLING] = "cancelling",
    [MIG_STATUS_CANCELLED] = "cancelled",
    [MIG_STATUS_ACTIVE] = "active",
    [MIG_STATUS_POSTCOPY_DEVICE] = "postcopy-device",
    [MIG_STATUS_POSTCOPY_ACTIVE] = "postcopy-active",
    [MIG_STATUS_POSTCOPY_PAUSED] = "postcopy-paused",
    [MIG_STATUS_POSTCOPY_RECOVER_SETUP] = "postcopy-recover-setup",
    [MIG_STATUS_POSTCOPY_RECOVER] = "postcopy-recover",
    [MIG_STATUS_COMPLETED] = "completed",
    [MIG_STATUS_FAILED] = "failed",
    [MIG_STATUS_COLO] = "colo",
    [MIG_STATUS_PRE_SWITCHOVER] = "pre-switchover",
    [MIG_STATUS_DEVICE] = "device",
    [MIG_STATUS_WAIT_UNPLUG] = "wait-unplug",
};

static bool valid(enum mig_status s)
{
    return (unsigned)s < MIG_STATUS__COUNT;
}

const char *mig_status_name(enum mig_status s)
{
    return valid(s) ? names[s] : "unknown";
}

int mig_status_from_name(const char *name, enum mig_status *out)
{
    if (!name) {
        return -1;
    }
    for (unsigned i = 0; i < MIG_STATUS__COUNT; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum mig_status)i;
            return 0;
        }
    }
    return -1;
}

unsigned mig_status_since(enum mig_status s)
{
    switch (s) {
    case MIG_STATUS_POSTCOPY_RECOVER_SETUP:
        /* QAPI "(since 9.1)" */
        return first_with(offsetof(struct qv_row, status_recover_setup));
    case MIG_STATUS_POSTCOPY_DEVICE:
        /* QAPI "(since 10.2)" */
        return first_with(offsetof(struct qv_row, status_postcopy_device));
    default:
        return 0;
    }
}

bool mig_status_exists(enum mig_status s, unsigned qemu_version)
{
    return valid(s) &&
           (qemu_version == 0 || qemu_version >= mig_status_since(s));
}

bool mig_status_is_active(enum mig_status s)
{
    return s == MIG_STATUS_ACTIVE || s == MIG_STATUS_POSTCOPY_DEVICE ||
           s == MIG_STATUS_POSTCOPY_ACTIVE;
}

bool mig_status_in_postcopy(enum mig_status s)
{
    switch (s) {
    case MIG_STATUS_POSTCOPY_DEVICE:
    case MIG_STATUS_POSTCOPY_ACTIVE:
    case MIG_STATUS_POSTCOPY_PAUSED:
    case MIG_STATUS_POSTCOPY_RECOVER_SETUP:
    case MIG_STATUS_POSTCOPY_RECOVER:
        return true;
    default:
        return false;
    }
}

bool mig_status_is_running(enum mig_status s)
{
    switch (s) {
    case MIG_STATUS_SETUP:
    case MIG_STATUS_WAIT_UNPLUG:
    case MIG_STATUS_ACTIVE:
    case MIG_STATUS_PRE_SWITCHOVER:
    case MIG_STATUS_DEVICE:
    case MIG_STATUS_COLO:
    case MIG_STATUS_CANCELLING:
        return true;
    default:
        return mig_status_in_postcopy(s);
    }
}

bool mig_status_is_terminal(enum mig_status s)
{
    return s == MIG_STATUS_COMPLETED || s == MIG_STATUS_FAILED ||
           s == MIG_STATUS_CANCELLED;
}

bool mig_status_allowed(enum mig_status from, enum mig_status to,
                        unsigned qemu_version)
{
    unsigned v = qemu_version;
    bool any = v == 0;
    bool dev_always = qv_get(v)->status_device_always;
    bool pre10 = any || !dev_always; /* completion without "device" */
    bool v10 = any || dev_always;    /* "device" always at switchover */

    if (from == to || !mig_status_exists(from, v) ||
        !mig_status_exists(to, v)) {
        return false;
    }
    /* migration_cancel(): every running state but cancelling itself. */
    if (to == MIG_STATUS_CANCELLING) {
        return mig_status_is_running(from);
    }
    switch (from) {
    case MIG_STATUS_NONE:
        /* migrate_init() */
        return to == MIG_STATUS_SETUP;
    case MIG_STATUS_COMPLETED:
    case MIG_STATUS_FAILED:
    case MIG_STATUS_CANCELLED:
        /* a new migrate command: migrate_init() resets to none without an
         * event, then none -> setup */
        return to == MIG_STATUS_SETUP;
    case MIG_STATUS_SETUP:
        /* migration thread after setup (qemu_savevm_wait_unplug), or a
         * connection error (migration_connect_set_error) */
        return to == MIG_STATUS_ACTIVE || to == MIG_STATUS_WAIT_UNPLUG ||
               to == MIG_STATUS_FAILED;
    case MIG_STATUS_WAIT_UNPLUG:
        /* failover devices unplugged (250 ms polling) */
        return to == MIG_STATUS_ACTIVE;
    case MIG_STATUS_ACTIVE:
        switch (to) {
        case MIG_STATUS_FAILED:         /* setup or stream error */
        case MIG_STATUS_PRE_SWITCHOVER: /* pause-before-switchover */
            return true;
        case MIG_STATUS_DEVICE: /* 10.0+ migration_switchover_prepare */
            return v10;
        case MIG_STATUS_COMPLETED:       /* < 10.0 migration_completion */
        case MIG_STATUS_POSTCOPY_ACTIVE: /* < 10.0 postcopy_start */
        case MIG_STATUS_COLO:            /* < 10.0 x-colo completion */
            return pre10;
        default:
            return false;
        }
    case MIG_STATUS_PRE_SWITCHOVER:
        /* migrate-continue; before 10.0 postcopy_start resumed straight
         * into postcopy-active */
        return to == MIG_STATUS_DEVICE ||
               (to == MIG_STATUS_POSTCOPY_ACTIVE && pre10);
    case MIG_STATUS_DEVICE:
        switch (to) {
        case MIG_STATUS_COMPLETED: /* migration_completion_end */
        case MIG_STATUS_FAILED:
            return true;
        case MIG_STATUS_COLO:            /* 10.0+ x-colo completion */
        case MIG_STATUS_POSTCOPY_ACTIVE: /* 10.0+ postcopy_start */
            return v10;
        case MIG_STATUS_POSTCOPY_DEVICE: /* 10.2 postcopy_start, with a
                                            return path */
            return true;
        default:
            return false;
        }
    case MIG_STATUS_POSTCOPY_DEVICE:
        /* destination loaded the device package (migration_iteration_run)
         * or an error (no pause before postcopy-active) */
        return to == MIG_STATUS_POSTCOPY_ACTIVE || to == MIG_STATUS_FAILED;
    case MIG_STATUS_POSTCOPY_ACTIVE:
        /* completion; postcopy_start failure; postcopy_pause on I/O loss */
        return to == MIG_STATUS_COMPLETED || to == MIG_STATUS_FAILED ||
               to == MIG_STATUS_POSTCOPY_PAUSED;
    case MIG_STATUS_POSTCOPY_PAUSED:
        /* migrate resume=true: 9.1+ via postcopy-recover-setup */
        return to == MIG_STATUS_POSTCOPY_RECOVER_SETUP ||
               (to == MIG_STATUS_POSTCOPY_RECOVER &&
                (any || !qv_get(v)->status_recover_setup));
    case MIG_STATUS_POSTCOPY_RECOVER_SETUP:
        /* connected (migration_connect), or the connection failed */
        return to == MIG_STATUS_POSTCOPY_RECOVER ||
               to == MIG_STATUS_POSTCOPY_PAUSED;
    case MIG_STATUS_POSTCOPY_RECOVER:
        /* RESUME_ACK from the destination, or the handshake failed */
        return to == MIG_STATUS_POSTCOPY_ACTIVE ||
               to == MIG_STATUS_POSTCOPY_PAUSED;
    case MIG_STATUS_COLO:
        /* COLO failover ends the checkpointing */
        return to == MIG_STATUS_COMPLETED;
    case MIG_STATUS_CANCELLING:
        /* migration_cleanup */
        return to == MIG_STATUS_CANCELLED;
    default:
        return false;
    }
}

/* ---- checker ------------------------------------------------------------- */

struct mig_status_checker {
    unsigned version;
    enum mig_status cur; /* MIG_STATUS__COUNT: unknown */
    bool cur_foreign;    /* cur does not exist in this version */
    enum mig_pos_kind pos_kind;
    char source[64];
    size_t count;
    size_t n_stored, cap;
    struct mig_status_violation *v;
};

struct mig_status_checker *mig_status_checker_new(unsigned qemu_version)
{
    struct mig_status_checker *c = calloc(1, sizeof(*c));

    if (!c) {
        return NULL;
    }
    c->version = qemu_version;
    c->cur = MIG_STATUS_NONE;
    c->pos_kind = MIG_POS_NS;
    return c;
}

void mig_status_checker_free(struct mig_status_checker *c)
{
    if (c) {
        free(c->v);
        free(c);
    }
}

void mig_status_checker_set_position(struct mig_status_checker *c,
                                     enum mig_pos_kind kind, const char *source)
{
    c->pos_kind = kind;
    snprintf(c->source, sizeof(c->source), "%s", source ? source : "");
}

void mig_status_checker_resync(struct mig_status_checker *c)
{
    c->cur = MIG_STATUS__COUNT;
    c->cur_foreign = false;
}

enum mig_status mig_status_checker_state(const struct mig_status_checker *c)
{
    return c->cur;
}

size_t mig_status_checker_count(const struct mig_status_checker *c)
{
    return c->count;
}

const struct mig_status_violation *
mig_status_checker_violation(const struct mig_status_checker *c, size_t i)
{
    return i < c->n_stored ? &c->v[i] : NULL;
}

/* "10.2", or "any version" for 0. */
static const char *version_text(unsigned v, char *buf, size_t len)
{
    if (v == 0) {
        snprintf(buf, len, "any version");
    } else {
        snprintf(buf, len, "%u.%u", v / 100, v % 100);
    }
    return buf;
}

static void position_text(const struct mig_status_checker *c, uint64_t pos,
                          char *buf, size_t len)
{
    const char *src = c->source;
    const char *sep = src[0] ? ": " : "";

    switch (c->pos_kind) {
    case MIG_POS_LINE:
        if (src[0]) {
            snprintf(buf, len, "%s:%llu", src, (unsigned long long)pos);
        } else {
            snprintf(buf, len, "line %llu", (unsigned long long)pos);
        }
        break;
    case MIG_POS_INDEX:
        snprintf(buf, len, "%s%s#%llu", src, sep, (unsigned long long)pos);
        break;
    case MIG_POS_NS:
    default:
        snprintf(buf, len, "%s%st=%llu.%09llus", src, sep,
                 (unsigned long long)(pos / 1000000000u),
                 (unsigned long long)(pos % 1000000000u));
        break;
    }
}

/* Why a transition QEMU never performs is wrong, for the common cases. */
static const char *hint(enum mig_status from, enum mig_status to, unsigned v)
{
    if (mig_status_is_terminal(from)) {
        return " (a finished migration is followed only by a new 'setup')";
    }
    if (from == MIG_STATUS_ACTIVE && to == MIG_STATUS_COMPLETED && v) {
        return " (10.0+ passes through 'device' at switchover)";
    }
    if (from == MIG_STATUS_ACTIVE && to == MIG_STATUS_DEVICE) {
        return " (before 10.0 'device' follows 'pre-switchover' only)";
    }
    if (from == MIG_STATUS_ACTIVE && (to == MIG_STATUS_POSTCOPY_ACTIVE ||
                                      to == MIG_STATUS_POSTCOPY_DEVICE)) {
        return qv_get(v)->status_device_always
                   ? " (10.0+ passes through 'device' before postcopy)"
                   : "";
    }
    if (from == MIG_STATUS_POSTCOPY_PAUSED &&
        to == MIG_STATUS_POSTCOPY_RECOVER) {
        return " (9.1+ passes through 'postcopy-recover-setup')";
    }
    if (to == MIG_STATUS_SETUP) {
        return " (a new migration starts only from none or a finished one)";
    }
    return "";
}

static void record(struct mig_status_checker *c, uint64_t pos,
                   enum mig_status from, enum mig_status to, const char *what)
{
    struct mig_status_violation *x;
    char where[96];

    c->count++;
    if (c->n_stored == MIG_STATUS_MAX_STORED) {
        return;
    }
    if (c->n_stored == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        struct mig_status_violation *nv;

        if (ncap > MIG_STATUS_MAX_STORED) {
            ncap = MIG_STATUS_MAX_STORED;
        }
        nv = realloc(c->v, ncap * sizeof(*nv));
        if (!nv) {
            return; /* counted, not stored */
        }
        c->v = nv;
        c->cap = ncap;
    }
    x = &c->v[c->n_stored++];
    x->pos = pos;
    x->from = from;
    x->to = to;
    position_text(c, pos, where, sizeof(where));
    snprintf(x->msg, sizeof(x->msg), "%s: %s", where, what);
}

int mig_status_checker_feed(struct mig_status_checker *c, enum mig_status s,
                            uint64_t pos)
{
    char msg[MIG_STATUS_MSG_LEN], vb[16];
    enum mig_status from = c->cur;
    int rc = 0;

    if (!valid(s)) {
        snprintf(msg, sizeof(msg), "invalid status value %d", (int)s);
        record(c, pos, from, MIG_STATUS__COUNT, msg);
        return -1;
    }
    if (s == from) {
        return 0; /* repeated poll */
    }
    version_text(c->version, vb, sizeof(vb));
    if (!mig_status_exists(s, c->version)) {
        char since[16];

        snprintf(msg, sizeof(msg), "'%s' does not exist in QEMU %s (since %s)",
                 names[s], vb,
                 version_text(mig_status_since(s), since, sizeof(since)));
        record(c, pos, from, s, msg);
        c->cur = s;
        c->cur_foreign = true;
        return -1;
    }
    if (from != MIG_STATUS__COUNT) {
        unsigned v = c->cur_foreign ? 0 : c->version;

        if (!mig_status_allowed(from, s, v)) {
            snprintf(msg, sizeof(msg),
                     "%s -> %s: not a transition QEMU %s performs%s",
                     names[from], names[s], version_text(v, vb, sizeof(vb)),
                     hint(from, s, v));
            record(c, pos, from, s, msg);
            rc = -1;
        }
    }
    c->cur = s;
    c->cur_foreign = false;
    return rc;
}

int mig_status_checker_feed_name(struct mig_status_checker *c, const char *name,
                                 uint64_t pos)
{
    enum mig_status s;

    if (mig_status_from_name(name, &s) < 0) {
        char msg[MIG_STATUS_MSG_LEN];

        snprintf(msg, sizeof(msg), "unknown migration status '%.60s'",
                 name ? name : "(null)");
        record(c, pos, c->cur, MIG_STATUS__COUNT, msg);
        return -1;
    }
    return mig_status_checker_feed(c, s, pos);
}
