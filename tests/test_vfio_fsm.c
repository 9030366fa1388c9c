/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_vfio_fsm.c — the VFIO migration FSM against the reference
 * tables: every (current, requested) pair for the four defined flag sets
 * (effective next-hop tables of vfio-uapi.md §2.4, written out below as
 * data), the §5.5 path vectors, the arcs each flag set must use (§2.5),
 * termination for every flag mask, and the walker's commit-on-success rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devices/vfio_fsm.h"

#define ERR  VFIO_FSM_ERROR
#define STOP VFIO_FSM_STOP
#define RUN  VFIO_FSM_RUNNING
#define SC   VFIO_FSM_STOP_COPY
#define RES  VFIO_FSM_RESUMING
#define RP2P VFIO_FSM_RUNNING_P2P
#define PC   VFIO_FSM_PRE_COPY
#define PCP  VFIO_FSM_PRE_COPY_P2P

#define F_SC  VFIO_FSM_F_STOP_COPY
#define F_P2P VFIO_FSM_F_P2P
#define F_PC  VFIO_FSM_F_PRE_COPY

/* Context for failure messages: printed only when a check fails. */
static char where[160];
#define EQ(a, b)                                                               \
    do {                                                                       \
        if ((long long)(a) != (long long)(b)) {                                \
            print_message("at %s\n", where);                                   \
        }                                                                      \
        assert_int_equal((a), (b));                                            \
    } while (0)

/* Table cells: a state = the expected next hop; X = -EINVAL because cur or
 * target is unsupported; B = -EINVAL because the arc is blocked (§2.8);
 * S = cur == target (success, next == cur). */
enum { X = -1, B = -2, S = -3 };

/* Row and column order of the §2.4 tables. */
static const enum vfio_fsm_state order[7] = {STOP, RUN, SC, RES, RP2P, PC, PCP};

/* flags = STOP_COPY (rows RP2P, PC, PCP2P: state unsupported) */
/* clang-format off */
static const int tbl_sc[7][7] = {
    /*           STOP  RUN   SC    RES   RP2P  PC    PCP2P */
    /* STOP */ { S,    RUN,  SC,   RES,  X,    X,    X },
    /* RUN  */ { STOP, S,    STOP, STOP, X,    X,    X },
    /* SC   */ { STOP, STOP, S,    STOP, X,    X,    X },
    /* RES  */ { STOP, STOP, STOP, S,    X,    X,    X },
    /* RP2P */ { X,    X,    X,    X,    X,    X,    X },
    /* PC   */ { X,    X,    X,    X,    X,    X,    X },
    /* PCP  */ { X,    X,    X,    X,    X,    X,    X },
};
/* clang-format on */

/* flags = STOP_COPY|P2P */
/* clang-format off */
static const int tbl_sc_p2p[7][7] = {
    /*           STOP  RUN   SC    RES   RP2P  PC    PCP2P */
    /* STOP */ { S,    RP2P, SC,   RES,  RP2P, X,    X },
    /* RUN  */ { RP2P, S,    RP2P, RP2P, RP2P, X,    X },
    /* SC   */ { STOP, STOP, S,    STOP, STOP, X,    X },
    /* RES  */ { STOP, STOP, STOP, S,    STOP, X,    X },
    /* RP2P */ { STOP, RUN,  STOP, STOP, S,    X,    X },
    /* PC   */ { X,    X,    X,    X,    X,    X,    X },
    /* PCP  */ { X,    X,    X,    X,    X,    X,    X },
};
/* clang-format on */

/* flags = STOP_COPY|PRE_COPY */
/* clang-format off */
static const int tbl_sc_pc[7][7] = {
    /*           STOP  RUN   SC    RES   RP2P  PC    PCP2P */
    /* STOP */ { S,    RUN,  SC,   RES,  X,    RUN,  X },
    /* RUN  */ { STOP, S,    STOP, STOP, X,    PC,   X },
    /* SC   */ { STOP, STOP, S,    STOP, X,    B,    X },
    /* RES  */ { STOP, STOP, STOP, S,    X,    STOP, X },
    /* RP2P */ { X,    X,    X,    X,    X,    X,    X },
    /* PC   */ { RUN,  RUN,  SC,   RUN,  X,    S,    X },
    /* PCP  */ { X,    X,    X,    X,    X,    X,    X },
};
/* clang-format on */

/* flags = STOP_COPY|P2P|PRE_COPY */
/* clang-format off */
static const int tbl_all[7][7] = {
    /*           STOP  RUN   SC    RES   RP2P  PC    PCP2P */
    /* STOP */ { S,    RP2P, SC,   RES,  RP2P, RP2P, RP2P },
    /* RUN  */ { RP2P, S,    RP2P, RP2P, RP2P, PC,   RP2P },
    /* SC   */ { STOP, STOP, S,    STOP, STOP, B,    B },
    /* RES  */ { STOP, STOP, STOP, S,    STOP, STOP, STOP },
    /* RP2P */ { STOP, RUN,  STOP, STOP, S,    RUN,  PCP },
    /* PC   */ { RUN,  RUN,  PCP,  RUN,  RUN,  S,    PCP },
    /* PCP  */ { RP2P, RP2P, SC,   RP2P, RP2P, PC,   S },
};
/* clang-format on */

static bool saving(enum vfio_fsm_state s)
{
    return s == SC || s == PC || s == PCP;
}

/* Structural rules every successful plan must obey (§1.6, §2.5). */
static void check_plan_shape(enum vfio_fsm_state cur,
                             enum vfio_fsm_state target, uint64_t flags)
{
    enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX];
    unsigned n = 99;
    assert_int_equal(vfio_fsm_plan(cur, target, flags, path, &n), 0);
    assert_true(n >= 1 && n <= 5);
    assert_int_equal(path[0], cur);
    assert_int_equal(path[n - 1], target);
    for (unsigned i = 0; i < n; i++) {
        assert_true(vfio_fsm_supported(path[i], flags));
        /* an interior saving-group state only while the path has not
         * left the group it started in (PRE_COPY -> PRE_COPY_P2P ->
         * STOP_COPY keeps the same fd); entering the group from outside
         * happens only at the last state */
        if (i > 0 && i < n - 1 && saving(path[i])) {
            for (unsigned j = 0; j < i; j++) {
                EQ(saving(path[j]), true);
            }
        }
        /* no state twice: shortest paths do not loop */
        for (unsigned j = 0; j < i; j++) {
            assert_int_not_equal(path[i], path[j]);
        }
    }
    for (unsigned i = 1; i < n; i++) {
        unsigned cls = vfio_fsm_arc_class(path[i - 1], path[i]);
        assert_int_not_equal(cls, 0);
        if (cls & VFIO_FSM_ARC_OPENS_FD) {
            assert_int_equal(i, n - 1);
        }
        /* each hop agrees with next_hop from there */
        enum vfio_fsm_state nx = ERR;
        assert_int_equal(vfio_fsm_next_hop(path[i - 1], target, flags, &nx), 0);
        assert_int_equal(nx, path[i]);
    }
}

static void check_table(const int tbl[7][7], uint64_t flags)
{
    for (unsigned r = 0; r < 7; r++) {
        for (unsigned c = 0; c < 7; c++) {
            enum vfio_fsm_state cur = order[r], target = order[c];
            int want = tbl[r][c];
            enum vfio_fsm_state next = (enum vfio_fsm_state)77;
            unsigned diag = 0xdead;
            int rc = vfio_fsm_next_hop(cur, target, flags, &next);
            int vrc = vfio_fsm_validate_request(cur, target, flags, &diag);
            snprintf(where, sizeof(where), "flags %u %s -> %s", (unsigned)flags,
                     vfio_fsm_state_name(cur), vfio_fsm_state_name(target));
            if (want == X || want == B) {
                EQ(rc, -EINVAL);
                EQ((int)next, 77); /* untouched */
                EQ(vrc, -EINVAL);
                if (want == B) {
                    EQ(diag, VFIO_FSM_DIAG_KERNEL_HANG);
                } else {
                    assert_int_equal(diag & VFIO_FSM_DIAG_KERNEL_HANG, 0);
                    assert_true(diag & (VFIO_FSM_DIAG_CUR_UNSUPPORTED |
                                        VFIO_FSM_DIAG_TARGET_UNSUPPORTED));
                    /* the diagnosis names the right side */
                    if (!vfio_fsm_supported(cur, flags)) {
                        assert_true(diag & VFIO_FSM_DIAG_CUR_UNSUPPORTED);
                    } else {
                        assert_int_equal(diag,
                                         VFIO_FSM_DIAG_TARGET_UNSUPPORTED);
                    }
                }
                enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX];
                unsigned n = 99;
                assert_int_equal(vfio_fsm_plan(cur, target, flags, path, &n),
                                 -EINVAL);
                assert_int_equal(n, 0);
            } else {
                EQ(rc, 0);
                EQ(next, want == S ? (int)cur : want);
                EQ(vrc, 0);
                EQ(diag, 0);
                check_plan_shape(cur, target, flags);
            }
        }
        /* ERROR as target: always rejected, as is anything >= 8 */
        const enum vfio_fsm_state bad[] = {
            ERR, VFIO_FSM_NR, (enum vfio_fsm_state)9, (enum vfio_fsm_state)255};
        for (unsigned k = 0; k < 4; k++) {
            enum vfio_fsm_state next = (enum vfio_fsm_state)77;
            unsigned diag = 0;
            assert_int_equal(vfio_fsm_next_hop(order[r], bad[k], flags, &next),
                             -EINVAL);
            assert_int_equal(vfio_fsm_next_hop(bad[k], order[r], flags, &next),
                             -EINVAL);
            assert_int_equal((int)next, 77);
            assert_int_equal(
                vfio_fsm_validate_request(order[r], bad[k], flags, &diag),
                -EINVAL);
            assert_true(diag & VFIO_FSM_DIAG_TARGET_INVALID);
            assert_int_equal(
                vfio_fsm_validate_request(bad[k], order[r], flags, &diag),
                -EINVAL);
            assert_true(diag & (bad[k] == ERR ? VFIO_FSM_DIAG_CUR_ERROR
                                              : VFIO_FSM_DIAG_CUR_INVALID));
        }
    }
}

static void test_table_stop_copy(void **state)
{
    (void)state;
    check_table(tbl_sc, F_SC);
}

static void test_table_stop_copy_p2p(void **state)
{
    (void)state;
    check_table(tbl_sc_p2p, F_SC | F_P2P);
}

static void test_table_stop_copy_pre_copy(void **state)
{
    (void)state;
    check_table(tbl_sc_pc, F_SC | F_PC);
}

static void test_table_all_flags(void **state)
{
    (void)state;
    check_table(tbl_all, F_SC | F_P2P | F_PC);
}

static void test_supported(void **state)
{
    (void)state;
    for (uint64_t f = 0; f < 8; f++) {
        bool sc = f & F_SC, p2p = f & F_P2P, pc = f & F_PC;
        assert_false(vfio_fsm_supported(ERR, f));
        assert_int_equal(vfio_fsm_supported(STOP, f), sc);
        assert_int_equal(vfio_fsm_supported(RUN, f), sc);
        assert_int_equal(vfio_fsm_supported(SC, f), sc);
        assert_int_equal(vfio_fsm_supported(RES, f), sc);
        assert_int_equal(vfio_fsm_supported(RP2P, f), sc && p2p);
        assert_int_equal(vfio_fsm_supported(PC, f), sc && pc);
        assert_int_equal(vfio_fsm_supported(PCP, f), sc && p2p && pc);
        assert_false(vfio_fsm_supported(VFIO_FSM_NR, f));
    }
    /* ERROR is never supported, not even with every flag bit set */
    assert_false(vfio_fsm_supported(ERR, ~(uint64_t)0));
    assert_true(vfio_fsm_supported(PCP, ~(uint64_t)0));
}

/* Every flag mask (defined or not), every pair including invalid values:
 * next_hop terminates, plans fit, and validate_request agrees with plan. */
static void test_termination_every_mask(void **state)
{
    (void)state;
    const uint64_t masks[] = {0, 1, 2, 3,  4,    5,           6,
                              7, 8, 9, 15, 0xff, ~(uint64_t)0};
    for (unsigned m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
        for (int c = 0; c < 10; c++) {
            for (int t = 0; t < 10; t++) {
                enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX];
                unsigned n = 0;
                enum vfio_fsm_state cur = (enum vfio_fsm_state)c;
                enum vfio_fsm_state target = (enum vfio_fsm_state)t;
                int prc = vfio_fsm_plan(cur, target, masks[m], path, &n);
                int vrc =
                    vfio_fsm_validate_request(cur, target, masks[m], NULL);
                assert_int_equal(prc, vrc);
                if (prc == 0) {
                    assert_true(n >= 1 && n <= 5);
                    assert_int_equal(path[n - 1], target);
                }
            }
        }
    }
}

struct vec {
    uint64_t flags;
    enum vfio_fsm_state cur, target;
    int rc;
    unsigned n;
    enum vfio_fsm_state path[5];
};

/* vfio-uapi.md §5.5 */
static const struct vec vectors[] = {
    {F_SC | F_P2P | F_PC, RUN, SC, 0, 4, {RUN, RP2P, STOP, SC}},
    {F_SC | F_P2P | F_PC, PC, SC, 0, 3, {PC, PCP, SC}},
    {F_SC | F_P2P | F_PC, RES, PC, 0, 5, {RES, STOP, RP2P, RUN, PC}},
    {F_SC | F_P2P | F_PC, PCP, RES, 0, 4, {PCP, RP2P, STOP, RES}},
    {F_SC | F_P2P | F_PC, SC, PC, -EINVAL, 0, {ERR}},
    {F_SC, RUN, SC, 0, 3, {RUN, STOP, SC}},
    {F_SC, RUN, RP2P, -EINVAL, 0, {ERR}},
    {F_SC | F_PC, PC, SC, 0, 2, {PC, SC}},
    {F_SC | F_PC, STOP, PC, 0, 3, {STOP, RUN, PC}},
    {F_SC | F_PC, PC, STOP, 0, 3, {PC, RUN, STOP}},
    {F_SC | F_P2P, SC, RUN, 0, 4, {SC, STOP, RP2P, RUN}},
    {F_SC | F_P2P | F_PC, PC, PC, 0, 1, {PC}},
    {F_SC, STOP, STOP, 0, 1, {STOP}},
    {F_SC | F_P2P | F_PC, RUN, ERR, -EINVAL, 0, {ERR}},
    {F_SC, RUN, ERR, -EINVAL, 0, {ERR}},
    /* more multi-hop paths listed in §2.4 */
    {F_SC | F_P2P | F_PC, PC, RES, 0, 5, {PC, RUN, RP2P, STOP, RES}},
    {F_SC | F_P2P | F_PC, STOP, PCP, 0, 3, {STOP, RP2P, PCP}},
    {F_SC | F_PC, RES, PC, 0, 4, {RES, STOP, RUN, PC}},
    {F_SC | F_PC, PC, RES, 0, 4, {PC, RUN, STOP, RES}},
    {F_SC, SC, RES, 0, 3, {SC, STOP, RES}},
};

static void test_plan_vectors(void **state)
{
    (void)state;
    for (unsigned v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        const struct vec *t = &vectors[v];
        enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX];
        unsigned n = 99;
        snprintf(where, sizeof(where), "vector %u", v);
        EQ(vfio_fsm_plan(t->cur, t->target, t->flags, path, &n), t->rc);
        EQ(n, t->n);
        for (unsigned i = 0; i < n; i++) {
            EQ(path[i], t->path[i]);
        }
    }
}

/* The single arcs each flag set uses (§2.5 "required arcs") must be exactly
 * the arcs that appear in its plans. */
struct arc {
    enum vfio_fsm_state from, to;
};
static const struct arc arcs_always[] = {
    {RES, STOP}, {STOP, RES}, {STOP, SC}, {SC, STOP}};
static const struct arc arcs_p2p[] = {
    {RUN, RP2P}, {RP2P, RUN}, {RP2P, STOP}, {STOP, RP2P}};
static const struct arc arcs_pc_only[] = {{RUN, PC}, {PC, RUN}, {PC, SC}};
static const struct arc arcs_pc_p2p[] = {{RUN, PC},  {PC, RUN},   {PC, PCP},
                                         {PCP, PC},  {PCP, RP2P}, {PCP, SC},
                                         {RP2P, PCP}};
static const struct arc arcs_no_p2p[] = {{RUN, STOP}, {STOP, RUN}};

static void mark(bool used[8][8], const struct arc *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        used[a[i].from][a[i].to] = true;
    }
}

static void check_arc_set(uint64_t flags)
{
    bool want[8][8] = {{false}}, got[8][8] = {{false}};
    mark(want, arcs_always, 4);
    if (flags & F_P2P) {
        mark(want, arcs_p2p, 4);
    } else {
        mark(want, arcs_no_p2p, 2);
    }
    if ((flags & F_PC) && (flags & F_P2P)) {
        mark(want, arcs_pc_p2p, 7);
    } else if (flags & F_PC) {
        mark(want, arcs_pc_only, 3);
    }
    for (int c = 0; c < 8; c++) {
        for (int t = 0; t < 8; t++) {
            enum vfio_fsm_state path[VFIO_FSM_PLAN_MAX];
            unsigned n = 0;
            if (vfio_fsm_plan((enum vfio_fsm_state)c, (enum vfio_fsm_state)t,
                              flags, path, &n) < 0) {
                continue;
            }
            for (unsigned i = 1; i < n; i++) {
                got[path[i - 1]][path[i]] = true;
            }
        }
    }
    for (int a = 0; a < 8; a++) {
        for (int b = 0; b < 8; b++) {
            snprintf(where, sizeof(where), "flags %u arc %s -> %s",
                     (unsigned)flags,
                     vfio_fsm_state_name((enum vfio_fsm_state)a),
                     vfio_fsm_state_name((enum vfio_fsm_state)b));
            EQ(got[a][b], want[a][b]);
        }
    }
}

static void test_required_arcs(void **state)
{
    (void)state;
    check_arc_set(F_SC);
    check_arc_set(F_SC | F_P2P);
    check_arc_set(F_SC | F_PC);
    check_arc_set(F_SC | F_P2P | F_PC);
}

static void test_arc_class(void **state)
{
    (void)state;
    assert_int_equal(vfio_fsm_arc_class(RUN, PC),
                     VFIO_FSM_ARC_SAVE_OPEN | VFIO_FSM_ARC_TRACK_START);
    assert_int_equal(vfio_fsm_arc_class(RP2P, PCP),
                     VFIO_FSM_ARC_SAVE_OPEN | VFIO_FSM_ARC_TRACK_START);
    assert_int_equal(vfio_fsm_arc_class(STOP, SC), VFIO_FSM_ARC_SAVE_OPEN);
    assert_int_equal(vfio_fsm_arc_class(STOP, RES),
                     VFIO_FSM_ARC_RESUME_OPEN | VFIO_FSM_ARC_MAY_RESET);
    assert_int_equal(vfio_fsm_arc_class(PC, PCP),
                     VFIO_FSM_ARC_SAVE_KEEP | VFIO_FSM_ARC_P2P_QUIESCE);
    assert_int_equal(vfio_fsm_arc_class(PCP, PC),
                     VFIO_FSM_ARC_SAVE_KEEP | VFIO_FSM_ARC_P2P_RESUME);
    const unsigned fin = VFIO_FSM_ARC_SAVE_KEEP | VFIO_FSM_ARC_DEVICE_STOP |
                         VFIO_FSM_ARC_SAVE_FINAL;
    assert_int_equal(vfio_fsm_arc_class(PCP, SC), fin);
    assert_int_equal(vfio_fsm_arc_class(PC, SC), fin);
    assert_int_equal(vfio_fsm_arc_class(SC, STOP), VFIO_FSM_ARC_SAVE_CLOSE);
    assert_int_equal(vfio_fsm_arc_class(PC, RUN),
                     VFIO_FSM_ARC_SAVE_CLOSE | VFIO_FSM_ARC_TRACK_STOP);
    assert_int_equal(vfio_fsm_arc_class(PCP, RP2P),
                     VFIO_FSM_ARC_SAVE_CLOSE | VFIO_FSM_ARC_TRACK_STOP);
    assert_int_equal(vfio_fsm_arc_class(RES, STOP),
                     VFIO_FSM_ARC_RESUME_COMMIT | VFIO_FSM_ARC_RESUME_CLOSE);
    assert_int_equal(vfio_fsm_arc_class(RUN, RP2P), VFIO_FSM_ARC_P2P_QUIESCE);
    assert_int_equal(vfio_fsm_arc_class(RP2P, RUN), VFIO_FSM_ARC_P2P_RESUME);
    assert_int_equal(vfio_fsm_arc_class(RP2P, STOP), VFIO_FSM_ARC_DEVICE_STOP);
    assert_int_equal(vfio_fsm_arc_class(RUN, STOP), VFIO_FSM_ARC_DEVICE_STOP);
    assert_int_equal(vfio_fsm_arc_class(STOP, RP2P), VFIO_FSM_ARC_DEVICE_START);
    assert_int_equal(vfio_fsm_arc_class(STOP, RUN), VFIO_FSM_ARC_DEVICE_START);
    /* not single arcs */
    assert_int_equal(vfio_fsm_arc_class(SC, PC), 0);
    assert_int_equal(vfio_fsm_arc_class(SC, PCP), 0);
    assert_int_equal(vfio_fsm_arc_class(RUN, SC), 0);
    assert_int_equal(vfio_fsm_arc_class(RUN, RUN), 0);
    assert_int_equal(vfio_fsm_arc_class(RUN, ERR), 0);
    assert_int_equal(vfio_fsm_arc_class(ERR, RUN), 0);
    assert_int_equal(vfio_fsm_arc_class(RUN, (enum vfio_fsm_state)9), 0);
    /* exactly 18 single arcs exist (union of §2.5's required arcs) */
    unsigned count = 0;
    for (int a = 0; a < 8; a++) {
        for (int b = 0; b < 8; b++) {
            count += vfio_fsm_arc_class((enum vfio_fsm_state)a,
                                        (enum vfio_fsm_state)b) != 0;
        }
    }
    assert_int_equal(count, 18);
}

static void test_props(void **state)
{
    (void)state;
    const struct vfio_fsm_props *p = vfio_fsm_props(PC);
    assert_non_null(p);
    assert_string_equal(p->name, "PRE_COPY");
    assert_int_equal(p->fd, VFIO_FSM_FD_SAVE);
    assert_true(p->precopy_info);
    assert_int_equal(p->eof, VFIO_FSM_EOF_TEMPORARY);
    assert_true(p->saving_group);
    p = vfio_fsm_props(PCP);
    assert_int_equal(p->p2p_dma, VFIO_FSM_NO);
    assert_int_equal(p->dma, VFIO_FSM_YES);
    assert_true(p->precopy_info);
    p = vfio_fsm_props(SC);
    assert_false(p->precopy_info);
    assert_int_equal(p->eof, VFIO_FSM_EOF_PERMANENT);
    assert_int_equal(p->dma, VFIO_FSM_NO);
    assert_int_equal(p->regions, VFIO_FSM_REGIONS_SHOULD_NOT);
    p = vfio_fsm_props(STOP);
    assert_int_equal(p->regions, VFIO_FSM_REGIONS_CONFIG_ONLY);
    assert_int_equal(p->fd, VFIO_FSM_FD_NONE);
    p = vfio_fsm_props(RES);
    assert_int_equal(p->fd, VFIO_FSM_FD_RESUME);
    assert_false(p->saving_group);
    p = vfio_fsm_props(RUN);
    assert_false(p->precopy_info);
    assert_int_equal(p->dma, VFIO_FSM_YES);
    p = vfio_fsm_props(ERR);
    assert_int_equal(p->dma, VFIO_FSM_UNKNOWN);
    assert_int_equal(p->regions, VFIO_FSM_REGIONS_RESET);
    assert_null(vfio_fsm_props(VFIO_FSM_NR));
    /* saving group and names agree with the other tables */
    for (int s = 0; s < 8; s++) {
        p = vfio_fsm_props((enum vfio_fsm_state)s);
        assert_string_equal(p->name,
                            vfio_fsm_state_name((enum vfio_fsm_state)s));
        assert_int_equal(p->saving_group, saving((enum vfio_fsm_state)s));
        assert_int_equal(p->fd == VFIO_FSM_FD_SAVE, p->saving_group);
    }
}

static void test_names(void **state)
{
    (void)state;
    const char *want[8] = {"ERROR",     "STOP",        "RUNNING",
                           "STOP_COPY", "RESUMING",    "RUNNING_P2P",
                           "PRE_COPY",  "PRE_COPY_P2P"};
    for (int s = 0; s < 8; s++) {
        enum vfio_fsm_state back = (enum vfio_fsm_state)99;
        assert_string_equal(vfio_fsm_state_name((enum vfio_fsm_state)s),
                            want[s]);
        assert_int_equal(vfio_fsm_state_from_name(want[s], &back), 0);
        assert_int_equal(back, s);
    }
    enum vfio_fsm_state s = RUN;
    assert_int_equal(vfio_fsm_state_from_name("pre_copy_p2p", &s), 0);
    assert_int_equal(s, PCP);
    s = RUN;
    assert_int_equal(vfio_fsm_state_from_name("PRE_COPY_", &s), -EINVAL);
    assert_int_equal(vfio_fsm_state_from_name("PRE", &s), -EINVAL);
    assert_int_equal(vfio_fsm_state_from_name("", &s), -EINVAL);
    assert_int_equal(vfio_fsm_state_from_name(NULL, &s), -EINVAL);
    assert_int_equal(s, RUN);
    assert_string_equal(vfio_fsm_state_name(VFIO_FSM_NR), "UNKNOWN");
}

static void test_validate_diag(void **state)
{
    (void)state;
    const uint64_t all = F_SC | F_P2P | F_PC;
    unsigned d = 0;
    assert_int_equal(vfio_fsm_validate_request(SC, PC, all, &d), -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_KERNEL_HANG);
    assert_non_null(
        strstr(vfio_fsm_diag_str(d), "would hang an unpatched 6.2+ kernel"));
    assert_int_equal(vfio_fsm_validate_request(SC, PCP, all, &d), -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_KERNEL_HANG);
    /* without PRE_COPY the kernel rejects the target first: no hang */
    assert_int_equal(vfio_fsm_validate_request(SC, PC, F_SC | F_P2P, &d),
                     -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_TARGET_UNSUPPORTED);
    assert_int_equal(vfio_fsm_validate_request(ERR, RUN, all, &d), -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_CUR_ERROR);
    assert_non_null(strstr(vfio_fsm_diag_str(d), "RESET"));
    assert_int_equal(vfio_fsm_validate_request(ERR, ERR, all, &d), -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_CUR_ERROR | VFIO_FSM_DIAG_TARGET_INVALID);
    assert_int_equal(vfio_fsm_validate_request(RUN, ERR, all, &d), -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_TARGET_INVALID);
    assert_int_equal(
        vfio_fsm_validate_request(RUN, (enum vfio_fsm_state)8, all, &d),
        -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_TARGET_INVALID);
    assert_int_equal(vfio_fsm_validate_request(RP2P, RUN, F_SC, &d), -EINVAL);
    assert_int_equal(d, VFIO_FSM_DIAG_CUR_UNSUPPORTED);
    assert_int_equal(vfio_fsm_validate_request(RUN, RUN, all, &d), 0);
    assert_int_equal(d, 0);
    assert_string_equal(vfio_fsm_diag_str(0), "");
    /* every bit has its own text */
    for (unsigned b = 0; b < 6; b++) {
        assert_true(strlen(vfio_fsm_diag_str(1u << b)) > 10);
        for (unsigned c = 0; c < b; c++) {
            assert_string_not_equal(vfio_fsm_diag_str(1u << b),
                                    vfio_fsm_diag_str(1u << c));
        }
    }
}

/* A step callback that records the arcs and fails on call number fail_at
 * (1-based; 0 = never). */
struct rec {
    unsigned calls;
    unsigned fail_at;
    int fail_rc;
    enum vfio_fsm_state from[8], to[8];
    unsigned cls[8];
    bool final_hop[8];
};

static int rec_step(void *ctx, enum vfio_fsm_state from, enum vfio_fsm_state to,
                    unsigned arc_class, bool final_hop)
{
    struct rec *r = ctx;
    unsigned i = r->calls++;
    assert_true(i < 8);
    r->from[i] = from;
    r->to[i] = to;
    r->cls[i] = arc_class;
    r->final_hop[i] = final_hop;
    if (r->fail_at == r->calls) {
        return r->fail_rc;
    }
    return 0;
}

static void test_walk_success(void **state)
{
    (void)state;
    const uint64_t all = F_SC | F_P2P | F_PC;
    struct rec r = {0};
    enum vfio_fsm_state cur = RUN;
    assert_int_equal(vfio_fsm_walk(&cur, SC, all, rec_step, &r), 0);
    assert_int_equal(cur, SC);
    assert_int_equal(r.calls, 3);
    const enum vfio_fsm_state want[4] = {RUN, RP2P, STOP, SC};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(r.from[i], want[i]);
        assert_int_equal(r.to[i], want[i + 1]);
        assert_int_equal(r.cls[i], vfio_fsm_arc_class(want[i], want[i + 1]));
        assert_int_equal(r.final_hop[i], i == 2);
    }
    assert_true(r.cls[2] & VFIO_FSM_ARC_SAVE_OPEN);

    /* cur == target: success, no step (no second fd for PRE_COPY) */
    memset(&r, 0, sizeof(r));
    cur = PC;
    assert_int_equal(vfio_fsm_walk(&cur, PC, all, rec_step, &r), 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(cur, PC);
}

static void test_walk_commit_on_success(void **state)
{
    (void)state;
    const uint64_t all = F_SC | F_P2P | F_PC;
    /* RES -> PC is RES, STOP, RP2P, RUN, PC: fail at each hop in turn */
    const enum vfio_fsm_state path[5] = {RES, STOP, RP2P, RUN, PC};
    for (unsigned k = 1; k <= 4; k++) {
        struct rec r = {0};
        r.fail_at = k;
        r.fail_rc = -EIO;
        enum vfio_fsm_state cur = RES;
        assert_int_equal(vfio_fsm_walk(&cur, PC, all, rec_step, &r), -EIO);
        assert_int_equal(r.calls, k);       /* stops at the failing hop */
        assert_int_equal(cur, path[k - 1]); /* last committed state */
        /* resuming from there finishes the request */
        struct rec r2 = {0};
        assert_int_equal(vfio_fsm_walk(&cur, PC, all, rec_step, &r2), 0);
        assert_int_equal(cur, PC);
        assert_int_equal(r2.calls, 5 - k);
        assert_int_equal(r2.from[0], path[k - 1]);
    }
    /* a positive step return is not success */
    struct rec r = {0};
    r.fail_at = 1;
    r.fail_rc = 1;
    enum vfio_fsm_state cur = RUN;
    assert_int_equal(vfio_fsm_walk(&cur, STOP, F_SC, rec_step, &r), -EINVAL);
    assert_int_equal(cur, RUN);
}

static void test_walk_refuses(void **state)
{
    (void)state;
    const uint64_t all = F_SC | F_P2P | F_PC;
    struct rec r = {0};
    enum vfio_fsm_state cur = SC;
    assert_int_equal(vfio_fsm_walk(&cur, PC, all, rec_step, &r), -EINVAL);
    assert_int_equal(vfio_fsm_walk(&cur, PCP, all, rec_step, &r), -EINVAL);
    assert_int_equal(cur, SC);
    cur = ERR;
    assert_int_equal(vfio_fsm_walk(&cur, RUN, all, rec_step, &r), -EINVAL);
    assert_int_equal(cur, ERR);
    cur = RUN;
    assert_int_equal(vfio_fsm_walk(&cur, RP2P, F_SC, rec_step, &r), -EINVAL);
    assert_int_equal(vfio_fsm_walk(&cur, ERR, F_SC, rec_step, &r), -EINVAL);
    assert_int_equal(cur, RUN);
    assert_int_equal(r.calls, 0);
}

static void test_walk_path_rules(void **state)
{
    (void)state;
    const uint64_t all = F_SC | F_P2P | F_PC;
    struct rec r = {0};
    /* an fd-opening arc that is not the final hop is refused before the
     * step runs */
    const enum vfio_fsm_state p1[] = {STOP, SC, STOP};
    enum vfio_fsm_state cur = STOP;
    assert_int_equal(vfio_fsm_walk_path(&cur, p1, 3, all, rec_step, &r),
                     -EINVAL);
    assert_int_equal(r.calls, 0);
    assert_int_equal(cur, STOP);
    /* ... also after earlier hops succeeded: those stay committed */
    const enum vfio_fsm_state p2[] = {RUN, RP2P, PCP, SC};
    cur = RUN;
    assert_int_equal(vfio_fsm_walk_path(&cur, p2, 4, all, rec_step, &r),
                     -EINVAL);
    assert_int_equal(r.calls, 1);
    assert_int_equal(cur, RP2P);
    /* the same arc as the final hop is fine */
    memset(&r, 0, sizeof(r));
    assert_int_equal(vfio_fsm_walk_path(&cur, p2 + 1, 2, all, rec_step, &r), 0);
    assert_int_equal(cur, PCP);
    assert_true(r.cls[0] & VFIO_FSM_ARC_SAVE_OPEN);
    assert_true(r.final_hop[0]);
    /* not a single arc */
    const enum vfio_fsm_state p3[] = {RUN, SC};
    memset(&r, 0, sizeof(r));
    cur = RUN;
    assert_int_equal(vfio_fsm_walk_path(&cur, p3, 2, all, rec_step, &r),
                     -EINVAL);
    /* arc into a state the device lacks */
    const enum vfio_fsm_state p4[] = {RUN, RP2P};
    assert_int_equal(vfio_fsm_walk_path(&cur, p4, 2, F_SC, rec_step, &r),
                     -EINVAL);
    /* path not starting at cur */
    const enum vfio_fsm_state p5[] = {STOP, RUN};
    assert_int_equal(vfio_fsm_walk_path(&cur, p5, 2, F_SC, rec_step, &r),
                     -EINVAL);
    assert_int_equal(vfio_fsm_walk_path(&cur, p5, 0, F_SC, rec_step, &r),
                     -EINVAL);
    assert_int_equal(r.calls, 0);
    assert_int_equal(cur, RUN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_stop_copy),
        cmocka_unit_test(test_table_stop_copy_p2p),
        cmocka_unit_test(test_table_stop_copy_pre_copy),
        cmocka_unit_test(test_table_all_flags),
        cmocka_unit_test(test_supported),
        cmocka_unit_test(test_termination_every_mask),
        cmocka_unit_test(test_plan_vectors),
        cmocka_unit_test(test_required_arcs),
        cmocka_unit_test(test_arc_class),
        cmocka_unit_test(test_props),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_validate_diag),
        cmocka_unit_test(test_walk_success),
        cmocka_unit_test(test_walk_commit_on_success),
        cmocka_unit_test(test_walk_refuses),
        cmocka_unit_test(test_walk_path_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
