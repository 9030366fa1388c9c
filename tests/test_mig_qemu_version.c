/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_mig_qemu_version.c — the per-version table
 * (run/qemu_version.h): one row per modelled version, in order, names and
 * lists that agree with it, the lookups, and the facts per row that the
 * model's behaviour rests on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/mig_status.h"
#include "run/qemu_version.h"
#include "run/scenario.h"

static const unsigned modelled[] = {
    QEMU_7_2, QEMU_8_0, QEMU_8_1,  QEMU_8_2,  QEMU_9_0,
    QEMU_9_1, QEMU_9_2, QEMU_10_0, QEMU_10_1, QEMU_10_2,
};
#define N_MODELLED (sizeof(modelled) / sizeof(modelled[0]))

static void test_every_version_has_a_row_in_order(void **state)
{
    (void)state;
    size_t n = 0;
    const struct qv_row *t = qv_table(&n);
    assert_int_equal(n, N_MODELLED);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t[i].num, modelled[i]);
        if (i) {
            assert_true(t[i - 1].num < t[i].num);
        }
        char name[16];
        snprintf(name, sizeof(name), "%u.%u", t[i].num / 100, t[i].num % 100);
        assert_string_equal(t[i].name, name);
        assert_ptr_equal(qv_exact_row(t[i].num), &t[i]);
        assert_ptr_equal(qv_by_name(t[i].name), &t[i]);
        assert_ptr_equal(qv_get(t[i].num), &t[i]);
        assert_non_null(t[i].trace_pending_estimate);
    }
    assert_int_equal(qv_oldest(), QEMU_7_2);
    assert_int_equal(qv_newest(), QEMU_10_2);
}

/* The name lists of messages and key help are the table's names. */
static void test_name_lists_match_the_table(void **state)
{
    (void)state;
    size_t n = 0;
    const struct qv_row *t = qv_table(&n);
    char comma[256] = "", space[256] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(comma, i ? ", " : "");
        strcat(comma, t[i].name);
        strcat(space, i ? " " : "");
        strcat(space, t[i].name);
    }
    assert_string_equal(QV_NAMES_COMMA, comma);
    assert_string_equal(QV_NAMES_SPACE, space);
    assert_string_equal(scn_qemu_list(), comma);
}

static void test_parse(void **state)
{
    (void)state;
    unsigned v = 0;
    /* scenario names: exact, as before */
    assert_int_equal(scn_qemu_from_name("9.2", &v), 0);
    assert_int_equal(v, QEMU_9_2);
    assert_int_equal(scn_qemu_from_name("10.0", &v), 0);
    assert_int_equal(v, QEMU_10_0);
    v = 7;
    assert_int_equal(scn_qemu_from_name("9.2.1", &v), -1);
    assert_int_equal(scn_qemu_from_name("9.3", &v), -1);
    assert_int_equal(scn_qemu_from_name(" 9.2", &v), -1);
    assert_int_equal(scn_qemu_from_name("", &v), -1);
    assert_int_equal(v, 7);
    assert_string_equal(scn_qemu_name(QEMU_8_1), "8.1");
    assert_string_equal(scn_qemu_name(803), "?");
    assert_string_equal(scn_qemu_name(0), "?");
    /* releases: to the row of their MAJOR.MINOR */
    assert_ptr_equal(qv_by_release("9.2"), qv_exact_row(QEMU_9_2));
    assert_ptr_equal(qv_by_release("9.2.1"), qv_exact_row(QEMU_9_2));
    assert_ptr_equal(qv_by_release("10.1.0.5"), qv_exact_row(QEMU_10_1));
    assert_null(qv_by_release("9.3.0"));
    assert_null(qv_by_release("9"));
    assert_null(qv_by_release("9.2."));
    assert_null(qv_by_release("9.2.x"));
    assert_null(qv_by_release("v9.2"));
    assert_null(qv_by_release("9.200"));
    assert_null(qv_by_release(""));
}

/* qv_get answers for any number as "num >= QEMU_x_y" did. */
static void test_get_between_and_outside(void **state)
{
    (void)state;
    assert_int_equal(qv_get(0)->num, QEMU_7_2);
    assert_int_equal(qv_get(701)->num, QEMU_7_2);
    assert_int_equal(qv_get(799)->num, QEMU_7_2);
    assert_int_equal(qv_get(805)->num, QEMU_8_2);
    assert_int_equal(qv_get(999)->num, QEMU_9_2);
    assert_int_equal(qv_get(5000)->num, QEMU_10_2);
    assert_null(qv_exact_row(805));
    assert_false(qv_has_avail_switchover_bw(QEMU_8_1));
    assert_true(qv_has_avail_switchover_bw(QEMU_8_2));
    assert_true(qv_has_avail_switchover_bw(4000));
}

/* The reference's boundaries (qemu-convergence.md §1, §9), row by row. */
static void test_facts_per_row(void **state)
{
    (void)state;
    size_t n = 0;
    const struct qv_row *t = qv_table(&n);
    for (size_t i = 0; i < n; i++) {
        unsigned v = t[i].num;
        const struct qv_row *r = &t[i];
        assert_int_equal(r->exact == QV_EXACT_NONE, v < QEMU_8_0);
        assert_int_equal(r->exact == QV_EXACT_MUST_LE,
                         v >= QEMU_8_0 && v < QEMU_9_0);
        assert_int_equal(r->exact_precopy_only, v >= QEMU_10_1);
        assert_int_equal(r->sync == QV_SYNC_IN_PENDING, v < QEMU_8_0);
        assert_int_equal(r->sync == QV_SYNC_IN_EXACT, v >= QEMU_9_0);
        assert_int_equal(r->switchover == QV_SWITCHOVER_LE, v >= QEMU_10_1);
        assert_int_equal(r->switchover_ack, v >= QEMU_8_1);
        assert_int_equal(r->iterate_serial, v <= QEMU_8_2);
        assert_int_equal(r->vfio == QV_VFIO_V1, v < QEMU_8_0);
        assert_int_equal(r->vfio == QV_VFIO_STOP_COPY, v == QEMU_8_0);
        assert_int_equal(qv_vfio_precopy(r), v >= QEMU_8_1);
        assert_int_equal(r->vfio == QV_VFIO_PRECOPY, v >= QEMU_9_2);
        assert_int_equal(r->vfio_p2p_first, v >= QEMU_8_2);
        assert_int_equal(r->vfio_multifd, v >= QEMU_10_0);
        assert_int_equal(r->vfio_refuses_postcopy, v >= QEMU_9_0);
        assert_int_equal(r->avail_switchover_bw, v >= QEMU_8_2);
        assert_int_equal(r->dirty_limit, v >= QEMU_8_1);
        assert_int_equal(r->autoconverge_sync_timer, v >= QEMU_9_2);
        assert_int_equal(r->status_recover_setup, v >= QEMU_9_1);
        assert_int_equal(r->status_device_always, v >= QEMU_10_0);
        assert_int_equal(r->status_postcopy_device, v >= QEMU_10_2);
        if (v < QEMU_8_0) {
            assert_string_equal(r->trace_pending_estimate, "migrate_pending");
            assert_null(r->trace_pending_exact);
        } else {
            assert_string_equal(r->trace_pending_estimate,
                                "migrate_pending_estimate");
            assert_string_equal(r->trace_pending_exact,
                                "migrate_pending_exact");
        }
    }
    assert_int_equal(mig_status_since(MIG_STATUS_POSTCOPY_RECOVER_SETUP),
                     QEMU_9_1);
    assert_int_equal(mig_status_since(MIG_STATUS_POSTCOPY_DEVICE), QEMU_10_2);
}

/* The trace evidence bits: each spans the versions the reference gives,
 * and the status bits agree with the model's status fields. */
static void test_trace_evidence(void **state)
{
    (void)state;
    static const struct {
        unsigned bit;
        bool has;
        unsigned lo, hi;
    } span[] = {
        {QV_TR_PENDING_ONE, true, QEMU_7_2, QEMU_7_2},
        {QV_TR_PENDING_SPLIT, true, QEMU_8_0, QEMU_10_2},
        {QV_TR_XFER_SWITCHOVER_BW, true, QEMU_8_2, QEMU_10_2},
        {QV_TR_XFER_SWITCHOVER_BW, false, QEMU_7_2, QEMU_8_1},
        {QV_TR_TRANSFERRED_BYTES, true, QEMU_8_1, QEMU_10_2},
        {QV_TR_VFIO_HEX_SIZES, true, QEMU_8_1, QEMU_9_1},
        {QV_TR_VFIO_DEC_SIZES, true, QEMU_9_2, QEMU_10_2},
        {QV_TR_VFIO_EXACT_NO_PRECOPY, true, QEMU_8_0, QEMU_8_0},
        {QV_TR_CPU_THROTTLE_SYNC, true, QEMU_9_2, QEMU_10_2},
        {QV_TR_RAM_SAVE_COMPLETE, true, QEMU_10_1, QEMU_10_2},
        {QV_TR_VMSTATE_DOWNTIME, true, QEMU_8_2, QEMU_10_2},
        {QV_TR_TID_PREFIX, true, QEMU_7_2, QEMU_10_0},
        {QV_TR_ISO_PREFIX, true, QEMU_10_1, QEMU_10_2},
        {QV_TR_MIGRATE_FD, true, QEMU_7_2, QEMU_9_2},
        {QV_TR_MIGRATION_CLEANUP, true, QEMU_10_0, QEMU_10_2},
    };
    for (size_t i = 0; i < sizeof(span) / sizeof(span[0]); i++) {
        unsigned lo, hi;
        assert_true(qv_trace_span(span[i].bit, span[i].has, &lo, &hi));
        if (lo != span[i].lo || hi != span[i].hi) {
            fail_msg("bit %#x (%s): %u..%u, want %u..%u", span[i].bit,
                     span[i].has ? "has" : "lacks", lo, hi, span[i].lo,
                     span[i].hi);
        }
    }
    unsigned lo, hi;
    assert_false(
        qv_trace_span(QV_TR_PENDING_ONE | QV_TR_PENDING_SPLIT, true, &lo, &hi));
    assert_int_equal(lo, 0);
    size_t n;
    const struct qv_row *t = qv_table(&n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(!!(t[i].trace & QV_TR_STATUS_RECOVER_SETUP),
                         t[i].status_recover_setup);
        assert_int_equal(!!(t[i].trace & QV_TR_STATUS_DEVICE),
                         t[i].status_device_always);
        assert_int_equal(!!(t[i].trace & QV_TR_STATUS_POSTCOPY_DEVICE),
                         t[i].status_postcopy_device);
        assert_int_equal(!!(t[i].trace & QV_TR_PENDING_SPLIT),
                         t[i].trace_pending_exact != NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_version_has_a_row_in_order),
        cmocka_unit_test(test_name_lists_match_the_table),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_get_between_and_outside),
        cmocka_unit_test(test_facts_per_row),
        cmocka_unit_test(test_trace_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
