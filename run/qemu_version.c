/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run/qemu_version.c — the per-version table (one row per QEMU version).
 * Facts: ../shared/reference/qemu-convergence.md §1 and §9.
 */
#include "run/qemu_version.h"

#include <stdlib.h>
#include <string.h>

#define EST  "migrate_pending_estimate"
#define EXA  "migrate_pending_exact"
#define T    true
#define F    false
#define E_NO QV_EXACT_NONE
#define E_LE QV_EXACT_MUST_LE
#define E_LT QV_EXACT_PENDING_LT
#define S_P  QV_SYNC_IN_PENDING
#define S_B  QV_SYNC_IN_EXACT_BELOW
#define S_A  QV_SYNC_IN_EXACT
#define W_LT QV_SWITCHOVER_LT
#define W_LE QV_SWITCHOVER_LE
#define V_1  QV_VFIO_V1
#define V_SC QV_VFIO_STOP_COPY
#define V_PD QV_VFIO_PRECOPY_DOUBLE
#define V_P  QV_VFIO_PRECOPY

/* Trace evidence per version (enum qv_trace), cumulative where QEMU only
 * added. */
#define TR_7_2                                                                 \
    (QV_TR_PENDING_ONE | QV_TR_VFIO_V1 | QV_TR_TID_PREFIX | QV_TR_MIGRATE_FD)
#define TR_8_0                                                                 \
    (QV_TR_PENDING_SPLIT | QV_TR_VFIO_EXACT_NO_PRECOPY | QV_TR_TID_PREFIX |    \
     QV_TR_MIGRATE_FD)
#define TR_8_1                                                                 \
    (QV_TR_PENDING_SPLIT | QV_TR_TRANSFERRED_BYTES | QV_TR_VFIO_HEX_SIZES |    \
     QV_TR_VFIO_PENDING_EST | QV_TR_TID_PREFIX | QV_TR_MIGRATE_FD)
#define TR_8_2                                                                 \
    (TR_8_1 | QV_TR_XFER_SWITCHOVER_BW | QV_TR_VMSTATE_DOWNTIME |              \
     QV_TR_VFIO_P2P_PREPARE)
#define TR_9_1 (TR_8_2 | QV_TR_STATUS_RECOVER_SETUP)
#define TR_9_2                                                                 \
    ((TR_9_1 & ~QV_TR_VFIO_HEX_SIZES) | QV_TR_VFIO_DEC_SIZES |                 \
     QV_TR_CPU_THROTTLE_SYNC)
#define TR_10_0                                                                \
    ((TR_9_2 & ~QV_TR_MIGRATE_FD) | QV_TR_MIGRATION_CLEANUP |                  \
     QV_TR_INCOMING_END | QV_TR_VFIO_SAVE_COMPLETE_START |                     \
     QV_TR_VFIO_SAVE_ITERATE_START | QV_TR_STATUS_DEVICE)
#define TR_10_1                                                                \
    ((TR_10_0 & ~QV_TR_TID_PREFIX) | QV_TR_ISO_PREFIX | QV_TR_RAM_SAVE_COMPLETE)
#define TR_10_2                                                                \
    (TR_10_1 | QV_TR_VFIO_STATE_PENDING | QV_TR_STATUS_POSTCOPY_DEVICE)

/* clang-format off */
static const struct qv_row rows[] = {
/*   num        name    exact pc-only sync switchover ack serial vfio  p2p
 *   multifd no-pc avail dlimit timer recover-setup device pc-device
 *   trace estimate, exact, trace evidence */
    {QEMU_7_2,  "7.2",  E_NO, F, S_P, W_LT, F, T, V_1,  F,
     F, F, F, F, F, F, F, F, "migrate_pending", NULL, TR_7_2},
    {QEMU_8_0,  "8.0",  E_LE, F, S_B, W_LT, F, T, V_SC, F,
     F, F, F, F, F, F, F, F, EST, EXA, TR_8_0},
    {QEMU_8_1,  "8.1",  E_LE, F, S_B, W_LT, T, T, V_PD, F,
     F, F, F, T, F, F, F, F, EST, EXA, TR_8_1},
    {QEMU_8_2,  "8.2",  E_LE, F, S_B, W_LT, T, T, V_PD, T,
     F, F, T, T, F, F, F, F, EST, EXA, TR_8_2},
    {QEMU_9_0,  "9.0",  E_LT, F, S_A, W_LT, T, F, V_PD, T,
     F, T, T, T, F, F, F, F, EST, EXA, TR_8_2},
    {QEMU_9_1,  "9.1",  E_LT, F, S_A, W_LT, T, F, V_PD, T,
     F, T, T, T, F, T, F, F, EST, EXA, TR_9_1},
    {QEMU_9_2,  "9.2",  E_LT, F, S_A, W_LT, T, F, V_P,  T,
     F, T, T, T, T, T, F, F, EST, EXA, TR_9_2},
    {QEMU_10_0, "10.0", E_LT, F, S_A, W_LT, T, F, V_P,  T,
     T, T, T, T, T, T, T, F, EST, EXA, TR_10_0},
    {QEMU_10_1, "10.1", E_LT, T, S_A, W_LE, T, F, V_P,  T,
     T, T, T, T, T, T, T, F, EST, EXA, TR_10_1},
    {QEMU_10_2, "10.2", E_LT, T, S_A, W_LE, T, F, V_P,  T,
     T, T, T, T, T, T, T, T, EST, EXA, TR_10_2},
};
/* clang-format on */
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

const struct qv_row *qv_table(size_t *n)
{
    *n = N_ROWS;
    return rows;
}

const struct qv_row *qv_get(unsigned num)
{
    const struct qv_row *r = &rows[0];
    for (size_t i = 1; i < N_ROWS && rows[i].num <= num; i++) {
        r = &rows[i];
    }
    return r;
}

const struct qv_row *qv_exact_row(unsigned num)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        if (rows[i].num == num) {
            return &rows[i];
        }
    }
    return NULL;
}

const struct qv_row *qv_by_name(const char *name)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        if (strcmp(name, rows[i].name) == 0) {
            return &rows[i];
        }
    }
    return NULL;
}

/* One decimal component at *p (at most 4 digits); -1 if none. */
static long component(const char **p)
{
    const char *s = *p;
    long v = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9' && n < 4) {
        v = v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n == 0 || (*s >= '0' && *s <= '9')) {
        return -1;
    }
    *p = s;
    return v;
}

const struct qv_row *qv_by_release(const char *release)
{
    const char *p = release;
    long major = component(&p);
    if (major < 0 || *p++ != '.') {
        return NULL;
    }
    long minor = component(&p);
    if (minor < 0 || minor > 99) {
        return NULL;
    }
    while (*p == '.') {
        p++;
        if (component(&p) < 0) {
            return NULL;
        }
    }
    if (*p) {
        return NULL;
    }
    return qv_exact_row((unsigned)(major * 100 + minor));
}

unsigned qv_oldest(void)
{
    return rows[0].num;
}

unsigned qv_newest(void)
{
    return rows[N_ROWS - 1].num;
}

bool qv_has_avail_switchover_bw(unsigned num)
{
    return qv_get(num)->avail_switchover_bw;
}

bool qv_vfio_precopy(const struct qv_row *r)
{
    return r->vfio == QV_VFIO_PRECOPY_DOUBLE || r->vfio == QV_VFIO_PRECOPY;
}

bool qv_trace_span(unsigned bits, bool has, unsigned *lo, unsigned *hi)
{
    *lo = *hi = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        bool all = (rows[i].trace & bits) == bits;
        bool none = (rows[i].trace & bits) == 0;
        if (has ? all : none) {
            if (!*lo) {
                *lo = rows[i].num;
            }
            *hi = rows[i].num;
        }
    }
    return *lo != 0;
}
