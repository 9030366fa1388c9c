/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_mig_status.c — the QEMU migration status machine: names,
 * predicates, the real source sequences of QEMU 7.2 ... 10.2, impossible
 * sequences flagged at the right position, version-dependent states, and
 * structural checks over every (from, to, version).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/mig_status.h"

static const unsigned versions[] = {702, 800, 801,  802,  900,
                                    901, 902, 1000, 1001, 1002};
#define N_VERSIONS (sizeof(versions) / sizeof(versions[0]))
#define N_ST       MIG_STATUS__COUNT

/*
 * Feed a sequence of QAPI names (a NULL-terminated list) at lines 1, 2, ...
 * and check that exactly the lines listed in bad[] (0-terminated) were
 * flagged, in order.
 */
static void run_seq(unsigned version, const char *const *seq,
                    const unsigned *bad)
{
    struct mig_status_checker *c = mig_status_checker_new(version);
    size_t nbad = 0;
    char label[32];

    assert_non_null(c);
    snprintf(label, sizeof(label), "v%u", version);
    mig_status_checker_set_position(c, MIG_POS_LINE, label);
    for (unsigned i = 0; seq[i]; i++) {
        int rc = mig_status_checker_feed_name(c, seq[i], i + 1);
        bool want_bad = bad && bad[nbad] == i + 1;

        if (want_bad != (rc != 0)) {
            const struct mig_status_violation *v =
                mig_status_checker_violation(c, 0);

            fail_msg("QEMU %u, line %u ('%s'): expected %s; first message: "
                     "%s",
                     version, i + 1, seq[i], want_bad ? "a violation" : "ok",
                     v ? v->msg : "(none)");
        }
        if (want_bad) {
            nbad++;
        }
    }
    assert_int_equal(mig_status_checker_count(c), nbad);
    for (size_t k = 0; k < nbad; k++) {
        const struct mig_status_violation *v =
            mig_status_checker_violation(c, k);
        char prefix[48];

        assert_non_null(v);
        assert_int_equal(v->pos, bad[k]);
        snprintf(prefix, sizeof(prefix), "v%u:%u: ", version, bad[k]);
        if (strncmp(v->msg, prefix, strlen(prefix)) != 0) {
            fail_msg("message '%s' does not start with '%s'", v->msg, prefix);
        }
    }
    mig_status_checker_free(c);
}

static void run_ok(unsigned version, const char *const *seq)
{
    run_seq(version, seq, NULL);
}

/* ---- names and predicates ------------------------------------------------ */

static void test_names(void **state)
{
    (void)state;
    static const char *const qapi[N_ST] = {
        "none",
        "setup",
        "cancelling",
        "cancelled",
        "active",
        "postcopy-device",
        "postcopy-active",
        "postcopy-paused",
        "postcopy-recover-setup",
        "postcopy-recover",
        "completed",
        "failed",
        "colo",
        "pre-switchover",
        "device",
        "wait-unplug",
    };
    enum mig_status s = MIG_STATUS_NONE;

    for (unsigned i = 0; i < N_ST; i++) {
        assert_string_equal(mig_status_name((enum mig_status)i), qapi[i]);
        assert_int_equal(mig_status_from_name(qapi[i], &s), 0);
        assert_int_equal(s, i);
    }
    s = MIG_STATUS_ACTIVE;
    assert_int_equal(mig_status_from_name("Active", &s), -1);
    assert_int_equal(mig_status_from_name("postcopy_active", &s), -1);
    assert_int_equal(mig_status_from_name("", &s), -1);
    assert_int_equal(mig_status_from_name(NULL, &s), -1);
    assert_int_equal(s, MIG_STATUS_ACTIVE);
    assert_string_equal(mig_status_name(MIG_STATUS__COUNT), "unknown");
    assert_string_equal(mig_status_name((enum mig_status) - 1), "unknown");
}

static void test_versions_of_states(void **state)
{
    (void)state;
    assert_int_equal(mig_status_since(MIG_STATUS_POSTCOPY_DEVICE), 1002);
    assert_int_equal(mig_status_since(MIG_STATUS_POSTCOPY_RECOVER_SETUP), 901);
    assert_int_equal(mig_status_since(MIG_STATUS_DEVICE), 0);
    assert_false(mig_status_exists(MIG_STATUS_POSTCOPY_DEVICE, 1001));
    assert_true(mig_status_exists(MIG_STATUS_POSTCOPY_DEVICE, 1002));
    assert_true(mig_status_exists(MIG_STATUS_POSTCOPY_DEVICE, 1100));
    assert_true(mig_status_exists(MIG_STATUS_POSTCOPY_DEVICE, 0));
    assert_false(mig_status_exists(MIG_STATUS_POSTCOPY_RECOVER_SETUP, 900));
    assert_true(mig_status_exists(MIG_STATUS_POSTCOPY_RECOVER_SETUP, 901));
    assert_true(mig_status_exists(MIG_STATUS_WAIT_UNPLUG, 702));
    assert_false(mig_status_exists(MIG_STATUS__COUNT, 0));
}

static void test_predicates(void **state)
{
    (void)state;
    /* expected members, as bit sets over the enum */
#define B(x) (1u << MIG_STATUS_##x)
    const unsigned active = B(ACTIVE) | B(POSTCOPY_DEVICE) | B(POSTCOPY_ACTIVE);
    const unsigned postcopy = B(POSTCOPY_DEVICE) | B(POSTCOPY_ACTIVE) |
                              B(POSTCOPY_PAUSED) | B(POSTCOPY_RECOVER_SETUP) |
                              B(POSTCOPY_RECOVER);
    const unsigned running = postcopy | B(SETUP) | B(WAIT_UNPLUG) | B(ACTIVE) |
                             B(PRE_SWITCHOVER) | B(DEVICE) | B(COLO) |
                             B(CANCELLING);
    const unsigned terminal = B(COMPLETED) | B(FAILED) | B(CANCELLED);
#undef B

    for (unsigned i = 0; i < N_ST; i++) {
        enum mig_status s = (enum mig_status)i;

        assert_int_equal(mig_status_is_active(s), !!(active & (1u << i)));
        assert_int_equal(mig_status_in_postcopy(s), !!(postcopy & (1u << i)));
        assert_int_equal(mig_status_is_running(s), !!(running & (1u << i)));
        assert_int_equal(mig_status_is_terminal(s), !!(terminal & (1u << i)));
        /* a state is never both running and finished */
        assert_false(mig_status_is_running(s) && mig_status_is_terminal(s));
    }
    assert_false(mig_status_is_running(MIG_STATUS_NONE));
}

/* ---- real sequences ------------------------------------------------------ */

static void test_precopy_sequences(void **state)
{
    (void)state;
    static const char *const plain[] = {"setup", "active", "completed", NULL};
    static const char *const via_device[] = {"setup", "active", "device",
                                             "completed", NULL};
    static const char *const paused[] = {
        "setup", "active", "pre-switchover", "device", "completed", NULL};
    static const char *const unplug[] = {"setup",  "wait-unplug", "active",
                                         "device", "completed",   NULL};
    static const char *const unplug_old[] = {"setup", "wait-unplug", "active",
                                             "completed", NULL};

    /* 7.2 ... 9.2 complete straight from active */
    for (size_t i = 0; i < N_VERSIONS; i++) {
        unsigned v = versions[i];
        static const unsigned bad_completed[] = {3, 0};
        static const unsigned bad_device[] = {3, 0};

        if (v < 1000) {
            run_ok(v, plain);
            run_ok(v, unplug_old);
            run_seq(v, via_device, bad_device);
        } else {
            /* 10.0+: device is always visible */
            run_ok(v, via_device);
            run_ok(v, unplug);
            run_seq(v, plain, bad_completed);
        }
        /* pause-before-switchover: same in every version */
        run_ok(v, paused);
    }
    /* "any version" accepts both */
    run_ok(0, plain);
    run_ok(0, via_device);
}

static void test_postcopy_sequences(void **state)
{
    (void)state;
    static const char *const pc_old[] = {"setup", "active", "postcopy-active",
                                         "completed", NULL};
    static const char *const pc_old_paused[] = {
        "setup",           "active",    "pre-switchover",
        "postcopy-active", "completed", NULL};
    static const char *const pc_10[] = {
        "setup", "active", "device", "postcopy-active", "completed", NULL};
    static const char *const pc_10_paused[] = {
        "setup",     "active", "pre-switchover", "device", "postcopy-active",
        "completed", NULL};
    static const char *const pc_102[] = {
        "setup",           "active",    "device", "postcopy-device",
        "postcopy-active", "completed", NULL};

    run_ok(702, pc_old);
    run_ok(902, pc_old);
    run_ok(802, pc_old_paused);
    run_ok(1000, pc_10);
    run_ok(1001, pc_10_paused);
    run_ok(1002, pc_102);
    run_ok(1002, pc_10); /* 10.2 without a return path */

    /* 10.0+ never goes from active straight into postcopy */
    static const unsigned bad3[] = {3, 0};
    run_seq(1000, pc_old, bad3);
    run_seq(1002, pc_old, bad3);
    /* before 10.0 postcopy does not pass through device */
    static const unsigned bad34[] = {3, 4, 0};
    static const unsigned bad4[] = {4, 0};
    static const unsigned bad5[] = {5, 0};
    run_seq(901, pc_10, bad34);
    run_seq(902, pc_10_paused, bad5);
    /* postcopy-device before 10.2: flagged once, as a missing state */
    static const char *const pc_102_short[] = {"setup", "active", "device",
                                               "postcopy-device", NULL};
    run_seq(1001, pc_102_short, bad4);
    run_seq(1001, pc_102, bad4);
    /* and at any version, active -> postcopy-device skips device */
    static const char *const pc_skip[] = {"setup", "active", "postcopy-device",
                                          NULL};
    run_seq(1002, pc_skip, bad3);
    run_seq(0, pc_skip, bad3);
}

static void test_postcopy_recovery(void **state)
{
    (void)state;
    static const char *const rec_91[] = {"setup",
                                         "active",
                                         "device",
                                         "postcopy-active",
                                         "postcopy-paused",
                                         "postcopy-recover-setup",
                                         "postcopy-paused",
                                         "postcopy-recover-setup",
                                         "postcopy-recover",
                                         "postcopy-paused",
                                         "postcopy-recover-setup",
                                         "postcopy-recover",
                                         "postcopy-active",
                                         "completed",
                                         NULL};
    static const char *const rec_old[] = {"setup",
                                          "active",
                                          "postcopy-active",
                                          "postcopy-paused",
                                          "postcopy-recover",
                                          "postcopy-active",
                                          "completed",
                                          NULL};

    run_ok(1000, rec_91);
    run_ok(702, rec_old);
    run_ok(900, rec_old);
    /* 9.1+: the direct paused -> recover no longer happens */
    static const char *const rec_old_91[] = {"setup",
                                             "active",
                                             "postcopy-active",
                                             "postcopy-paused",
                                             "postcopy-recover",
                                             "postcopy-active",
                                             NULL};
    static const unsigned bad5[] = {5, 0};
    run_seq(901, rec_old_91, bad5);
    /* 9.0 has no postcopy-recover-setup: one violation, then the rest is
     * judged by the any-version rules */
    static const char *const rec_new_90[] = {"setup",
                                             "active",
                                             "postcopy-active",
                                             "postcopy-paused",
                                             "postcopy-recover-setup",
                                             "postcopy-recover",
                                             "postcopy-active",
                                             "completed",
                                             NULL};
    run_seq(900, rec_new_90, bad5);
}

static void test_cancel_fail_and_retry(void **state)
{
    (void)state;
    static const char *const c_setup[] = {"setup", "cancelling", "cancelled",
                                          NULL};
    static const char *const c_active[] = {"setup", "active", "cancelling",
                                           "cancelled", NULL};
    static const char *const c_pause[] = {
        "setup", "active", "pre-switchover", "cancelling", "cancelled", NULL};
    static const char *const c_unplug[] = {"setup", "wait-unplug", "cancelling",
                                           "cancelled", NULL};
    static const char *const f_setup[] = {"setup", "failed", NULL};
    static const char *const f_active[] = {"setup", "active", "failed", NULL};
    static const char *const f_device[] = {"setup", "active", "device",
                                           "failed", NULL};
    static const char *const retry[] = {
        "setup",     "active", "failed", "setup",  "active",    "cancelling",
        "cancelled", "setup",  "active", "device", "completed", NULL};

    for (size_t i = 0; i < N_VERSIONS; i++) {
        run_ok(versions[i], c_setup);
        run_ok(versions[i], c_active);
        run_ok(versions[i], c_pause);
        run_ok(versions[i], c_unplug);
        run_ok(versions[i], f_setup);
        run_ok(versions[i], f_active);
    }
    run_ok(1000, f_device);
    run_ok(1002, retry);
}

static void test_impossible_sequences(void **state)
{
    (void)state;
    static const char *const done_then_active[] = {"setup", "active",
                                                   "completed", "active", NULL};
    static const char *const active_setup[] = {"setup", "active", "setup",
                                               NULL};
    static const char *const setup_done[] = {"setup", "completed", NULL};
    static const char *const none_active[] = {"active", NULL};
    static const char *const cancel_fail[] = {"setup", "cancelling", "failed",
                                              NULL};
    static const char *const back[] = {
        "setup", "active", "device", "active", "device", "completed", NULL};
    static const char *const cancelled_active[] = {"setup", "cancelling",
                                                   "cancelled", "active", NULL};
    static const unsigned at4[] = {4, 0};
    static const unsigned at3[] = {3, 0};
    static const unsigned at2[] = {2, 0};
    static const unsigned at1[] = {1, 0};

    for (size_t i = 0; i < N_VERSIONS; i++) {
        unsigned v = versions[i];

        run_seq(v, done_then_active, v < 1000 ? at4 : (unsigned[]){3, 4, 0});
        run_seq(v, active_setup, at3);
        run_seq(v, setup_done, at2);
        run_seq(v, none_active, at1);
        run_seq(v, cancel_fail, at3);
        run_seq(v, cancelled_active, at4);
    }
    static const unsigned back_bad[] = {4, 0};
    run_seq(1000, back, back_bad);
    run_seq(0, done_then_active, at4);
}

/* ---- checker mechanics --------------------------------------------------- */

static void test_messages_and_positions(void **state)
{
    (void)state;
    struct mig_status_checker *c = mig_status_checker_new(702);
    const struct mig_status_violation *v;

    /* default: times in ns */
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_SETUP, 0), 0);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_ACTIVE, 1000), 0);
    assert_int_equal(
        mig_status_checker_feed(c, MIG_STATUS_COMPLETED, 2500000000u), 0);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_ACTIVE, 3000000001u),
                     -1);
    v = mig_status_checker_violation(c, 0);
    assert_non_null(v);
    assert_int_equal(v->from, MIG_STATUS_COMPLETED);
    assert_int_equal(v->to, MIG_STATUS_ACTIVE);
    assert_int_equal(v->pos, 3000000001u);
    assert_string_equal(v->msg,
                        "t=3.000000001s: completed -> active: not a "
                        "transition QEMU 7.2 performs (a finished migration "
                        "is followed only by a new 'setup')");

    /* lines with a file name */
    mig_status_checker_set_position(c, MIG_POS_LINE, "trace.log");
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_SETUP, 123), -1);
    v = mig_status_checker_violation(c, 1);
    assert_non_null(v);
    assert_string_equal(v->msg, "trace.log:123: active -> setup: not a "
                                "transition QEMU 7.2 performs (a new "
                                "migration starts only from none or a "
                                "finished one)");

    /* indexes, unknown names and states of later versions */
    mig_status_checker_set_position(c, MIG_POS_INDEX, NULL);
    assert_int_equal(mig_status_checker_feed_name(c, "activ", 7), -1);
    v = mig_status_checker_violation(c, 2);
    assert_string_equal(v->msg, "#7: unknown migration status 'activ'");
    assert_int_equal(v->to, MIG_STATUS__COUNT);
    assert_int_equal(mig_status_checker_state(c), MIG_STATUS_SETUP);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_POSTCOPY_DEVICE, 8),
                     -1);
    v = mig_status_checker_violation(c, 3);
    assert_string_equal(
        v->msg, "#8: 'postcopy-device' does not exist in QEMU 7.2 (since "
                "10.2)");
    assert_int_equal(mig_status_checker_feed(c, (enum mig_status)99, 9), -1);
    assert_int_equal(mig_status_checker_count(c), 5);
    assert_null(mig_status_checker_violation(c, 5));
    mig_status_checker_free(c);
}

static void test_repeats_and_resync(void **state)
{
    (void)state;
    struct mig_status_checker *c = mig_status_checker_new(1002);

    /* polling: the same state again is not a transition */
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_SETUP, 1), 0);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_ACTIVE, 2), 0);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_ACTIVE, 3), 0);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_ACTIVE, 4), 0);
    assert_int_equal(mig_status_checker_count(c), 0);

    /* a trace that starts mid-migration */
    mig_status_checker_resync(c);
    assert_int_equal(mig_status_checker_state(c), MIG_STATUS__COUNT);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_DEVICE, 5), 0);
    assert_int_equal(mig_status_checker_feed(c, MIG_STATUS_COMPLETED, 6), 0);
    assert_int_equal(mig_status_checker_count(c), 0);
    assert_int_equal(mig_status_checker_state(c), MIG_STATUS_COMPLETED);

    /* without resync, the same start is flagged */
    struct mig_status_checker *d = mig_status_checker_new(1002);
    assert_int_equal(mig_status_checker_feed(d, MIG_STATUS_DEVICE, 5), -1);
    assert_int_equal(mig_status_checker_count(d), 1);
    mig_status_checker_free(d);
    mig_status_checker_free(c);
}

static void test_storage_cap(void **state)
{
    (void)state;
    struct mig_status_checker *c = mig_status_checker_new(702);

    /* active <-> setup forever: every step after the first two is bad */
    mig_status_checker_feed(c, MIG_STATUS_SETUP, 0);
    mig_status_checker_feed(c, MIG_STATUS_ACTIVE, 1);
    for (uint64_t i = 0; i < 1000; i++) {
        assert_int_equal(
            mig_status_checker_feed(
                c, i % 2 ? MIG_STATUS_ACTIVE : MIG_STATUS_SETUP, i + 2),
            i % 2 ? 0 : -1);
    }
    assert_int_equal(mig_status_checker_count(c), 500);
    assert_non_null(mig_status_checker_violation(c, MIG_STATUS_MAX_STORED - 1));
    assert_null(mig_status_checker_violation(c, MIG_STATUS_MAX_STORED));
    assert_int_equal(mig_status_checker_violation(c, 0)->pos, 2);
    mig_status_checker_free(c);
}

/* ---- the complete matrix --------------------------------------------------
 */

/*
 * Every transition QEMU's source performs, as "from>to" (versions in
 * brackets: "-999" = before 10.0, "901-" = 9.1 and later).  Anything not
 * listed must be rejected.  Cancelling is listed separately: it is reached
 * from every running state.
 */
static const char *const edges[] = {
    "none>setup",
    "completed>setup",
    "failed>setup",
    "cancelled>setup",
    "setup>active",
    "setup>wait-unplug",
    "setup>failed",
    "wait-unplug>active",
    "active>failed",
    "active>pre-switchover",
    "active>device[1000-]",
    "active>completed[-999]",
    "active>postcopy-active[-999]",
    "active>colo[-999]",
    "pre-switchover>device",
    "pre-switchover>postcopy-active[-999]",
    "device>completed",
    "device>failed",
    "device>colo[1000-]",
    "device>postcopy-active[1000-]",
    "device>postcopy-device[1002-]",
    "postcopy-device>postcopy-active[1002-]",
    "postcopy-device>failed[1002-]",
    "postcopy-active>completed",
    "postcopy-active>failed",
    "postcopy-active>postcopy-paused",
    "postcopy-paused>postcopy-recover[-900]",
    "postcopy-paused>postcopy-recover-setup[901-]",
    "postcopy-recover-setup>postcopy-recover[901-]",
    "postcopy-recover-setup>postcopy-paused[901-]",
    "postcopy-recover>postcopy-active",
    "postcopy-recover>postcopy-paused",
    "colo>completed",
    "cancelling>cancelled",
    NULL,
};

static bool edge_listed(enum mig_status from, enum mig_status to, unsigned v)
{
    char want[64];

    snprintf(want, sizeof(want), "%s>%s", mig_status_name(from),
             mig_status_name(to));
    for (size_t i = 0; edges[i]; i++) {
        const char *br = strchr(edges[i], '[');
        size_t n = br ? (size_t)(br - edges[i]) : strlen(edges[i]);
        unsigned lo = 0, hi = 9999;

        if (n != strlen(want) || strncmp(edges[i], want, n) != 0) {
            continue;
        }
        if (br && br[1] == '-') {
            sscanf(br + 2, "%u", &hi);
        } else if (br) {
            sscanf(br + 1, "%u", &lo);
        }
        return v >= lo && v <= hi;
    }
    return false;
}

static void test_complete_matrix(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VERSIONS; i++) {
        unsigned v = versions[i];

        for (unsigned a = 0; a < N_ST; a++) {
            for (unsigned b = 0; b < N_ST; b++) {
                enum mig_status from = (enum mig_status)a;
                enum mig_status to = (enum mig_status)b;
                bool want = to == MIG_STATUS_CANCELLING
                                ? mig_status_is_running(from) &&
                                      from != MIG_STATUS_CANCELLING &&
                                      mig_status_exists(from, v)
                                : edge_listed(from, to, v);

                if (mig_status_allowed(from, to, v) != want) {
                    fail_msg("QEMU %u: %s -> %s allowed=%d, expected %d", v,
                             mig_status_name(from), mig_status_name(to), !want,
                             want);
                }
            }
        }
    }
    /* the failover unplug wait never fails directly (setup failures are
     * reported after it, from active) */
    static const char *const unplug_fail[] = {"setup", "wait-unplug", "failed",
                                              NULL};
    static const unsigned bad3[] = {3, 0};
    run_seq(1002, unplug_fail, bad3);
}

/* ---- structural checks over the whole table ------------------------------ */

static void test_table_structure(void **state)
{
    (void)state;
    for (unsigned a = 0; a < N_ST; a++) {
        for (unsigned b = 0; b < N_ST; b++) {
            enum mig_status from = (enum mig_status)a;
            enum mig_status to = (enum mig_status)b;
            bool some = false;

            for (size_t i = 0; i < N_VERSIONS; i++) {
                bool ok = mig_status_allowed(from, to, versions[i]);

                some |= ok;
                /* "any version" is the union */
                if (ok) {
                    assert_true(mig_status_allowed(from, to, 0));
                }
                /* versions past 10.2 behave as 10.2, before 7.2 as 7.2 */
                if (versions[i] == 1002) {
                    assert_int_equal(ok, mig_status_allowed(from, to, 1100));
                }
                if (versions[i] == 702) {
                    assert_int_equal(ok, mig_status_allowed(from, to, 600));
                }
            }
            assert_int_equal(some, mig_status_allowed(from, to, 0));
            assert_false(mig_status_allowed(from, from, 0));
            /* nothing goes back to none; finished states only restart */
            assert_false(mig_status_allowed(from, MIG_STATUS_NONE, 0));
            if (mig_status_is_terminal(from)) {
                assert_int_equal(mig_status_allowed(from, to, 0),
                                 to == MIG_STATUS_SETUP);
            }
            /* cancelling is reachable exactly from running states */
            if (to == MIG_STATUS_CANCELLING) {
                assert_int_equal(mig_status_allowed(from, to, 0),
                                 mig_status_is_running(from) &&
                                     from != MIG_STATUS_CANCELLING);
            }
        }
        assert_false(
            mig_status_allowed((enum mig_status)a, MIG_STATUS__COUNT, 0));
        assert_false(
            mig_status_allowed(MIG_STATUS__COUNT, (enum mig_status)a, 0));
    }

    /* Per version: every state the version has is reachable from none,
     * and from every reachable non-terminal state a terminal state is
     * reachable (no dead ends). */
    for (size_t i = 0; i < N_VERSIONS; i++) {
        unsigned v = versions[i];
        bool reach[N_ST] = {false};
        bool changed = true;

        reach[MIG_STATUS_NONE] = true;
        while (changed) {
            changed = false;
            for (unsigned a = 0; a < N_ST; a++) {
                for (unsigned b = 0; b < N_ST && reach[a]; b++) {
                    if (!reach[b] &&
                        mig_status_allowed((enum mig_status)a,
                                           (enum mig_status)b, v)) {
                        reach[b] = changed = true;
                    }
                }
            }
        }
        for (unsigned s = 0; s < N_ST; s++) {
            if (reach[s] != mig_status_exists((enum mig_status)s, v)) {
                fail_msg("QEMU %u: '%s' reachable=%d exists=%d", v,
                         mig_status_name((enum mig_status)s), reach[s],
                         mig_status_exists((enum mig_status)s, v));
            }
        }
        for (unsigned s = 0; s < N_ST; s++) {
            bool fin[N_ST] = {false};

            if (!reach[s] || mig_status_is_terminal((enum mig_status)s)) {
                continue;
            }
            fin[s] = true;
            changed = true;
            while (changed) {
                changed = false;
                for (unsigned a = 0; a < N_ST; a++) {
                    for (unsigned b = 0; b < N_ST && fin[a]; b++) {
                        if (!fin[b] &&
                            mig_status_allowed((enum mig_status)a,
                                               (enum mig_status)b, v)) {
                            fin[b] = changed = true;
                        }
                    }
                }
            }
            if (!(fin[MIG_STATUS_COMPLETED] || fin[MIG_STATUS_FAILED] ||
                  fin[MIG_STATUS_CANCELLED])) {
                fail_msg("QEMU %u: dead end at '%s'", v,
                         mig_status_name((enum mig_status)s));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_versions_of_states),
        cmocka_unit_test(test_predicates),
        cmocka_unit_test(test_precopy_sequences),
        cmocka_unit_test(test_postcopy_sequences),
        cmocka_unit_test(test_postcopy_recovery),
        cmocka_unit_test(test_cancel_fail_and_retry),
        cmocka_unit_test(test_impossible_sequences),
        cmocka_unit_test(test_messages_and_positions),
        cmocka_unit_test(test_repeats_and_resync),
        cmocka_unit_test(test_storage_cap),
        cmocka_unit_test(test_complete_matrix),
        cmocka_unit_test(test_table_structure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
