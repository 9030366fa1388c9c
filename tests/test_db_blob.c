/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_db_blob.c — the compact chunks of schema 3 (store/blob.c):
 * samples and events round-trip bit for bit (extreme values, NaN, devices
 * coming and going, runs and no runs of equal values), a chunk cut at
 * every length or with any byte changed never crashes the decoder, and a
 * damaged chunk in a real store is an error naming the store and the run
 * while the other runs still load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tests/support/tmpdir.h"
#include "store/db_internal.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_setup("blob");
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmpdir_teardown();
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* n samples mixing constant columns, steps, noise and the extremes. */
static void fill(struct run_result *r, size_t n)
{
    uint64_t x = 88172645463325252ull;
    run_result_init(r);
    for (size_t i = 0; i < n; i++) {
        struct run_sample s;
        memset(&s, 0, sizeof(s));
        s.t_ns = i == 3 ? INT64_MIN : (int64_t)(i * 1000003);
        s.iteration = i / 4;
        s.estimate_bytes = i % 5 == 0 ? UINT64_MAX : rnd(&x);
        s.exact_called = i % 3 == 0;
        s.exact_bytes = s.exact_called ? rnd(&x) >> (i % 64) : 0;
        s.threshold_bytes = 300000000;
        s.bandwidth_bps = i == 1 ? NAN : i == 2 ? -INFINITY : 1.25e9 + i / 3.;
        s.ram_dirty_bytes = 1ull << (i % 64);
        s.dirty_rate_bps = i < n / 2 ? 0 : 7;
        s.sent_bytes = rnd(&x) & 0xffff;
        s.downtime_limit_ns = -(int64_t)i;
        s.throttle_pct = i == 5 ? -0.0 : (double)(i / 10) * 0.5;
        s.expected_downtime_ns = INT64_MAX - (int64_t)i;
        s.n_devices = (unsigned)(i % (RUN_MAX_DEVICES + 1));
        for (unsigned d = 0; d < s.n_devices; d++) {
            s.dev_reported_bytes[d] = rnd(&x);
            s.dev_stop_copy_bytes[d] = d % 2 ? UINT64_MAX : i;
        }
        assert_int_equal(run_result_add_sample(r, &s), 0);
    }
    static const enum run_event_kind k[] = {RUN_EV_STATE,    RUN_EV_SYNC,
                                            RUN_EV_PARAM,    RUN_EV_DEVICE,
                                            RUN_EV_THROTTLE, RUN_EV_NOTE};
    for (size_t i = 0; i < n; i++) {
        char text[96];
        memset(text, 'a' + (int)(i % 26), sizeof(text));
        text[i % 96] = '\0';
        assert_int_equal(run_result_add_event(
                             r, (int64_t)(n - i) * 7 - 100, k[i % 6],
                             i % 4 ? rnd(&x) : UINT64_MAX,
                             i % 2 ? INT64_MIN + (int64_t)i : 0, "%s", text),
                         0);
    }
}

static void assert_samples_equal(const struct run_sample *a,
                                 const struct run_sample *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct run_sample x = a[i];
        if (isnan(x.bandwidth_bps)) {
            x.bandwidth_bps = NAN; /* the chunk keeps no NaN payload */
        }
        if (memcmp(&x, &b[i], sizeof(x)) != 0) {
            fail_msg("sample %zu differs", i);
        }
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 17, 300, DB_CHUNK_ROWS};
    for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
        size_t n = sizes[t];
        struct run_result r, back;
        fill(&r, n);
        run_result_init(&back);
        uint8_t *data;
        size_t len;
        const char *why = NULL;
        assert_int_equal(db_enc_samples(r.samples, n, &data, &len), 0);
        if (db_dec_samples(data, len, n, &back, &why) != 0) {
            fail_msg("n %zu: samples: %s", n, why);
        }
        free(data);
        assert_int_equal(back.n_samples, n);
        assert_samples_equal(r.samples, back.samples, n);
        assert_int_equal(db_enc_events(r.events, n, &data, &len), 0);
        if (db_dec_events(data, len, n, &back, &why) != 0) {
            fail_msg("n %zu: events: %s", n, why);
        }
        free(data);
        assert_int_equal(back.n_events, n);
        for (size_t i = 0; i < n; i++) {
            const struct run_event *a = &r.events[i], *b = &back.events[i];
            assert_true(a->t_ns == b->t_ns && a->kind == b->kind &&
                        a->value == b->value && a->dur_ns == b->dur_ns);
            assert_string_equal(a->text, b->text);
        }
        run_result_free(&r);
        run_result_free(&back);
    }
}

/* Every prefix of a chunk is refused with a reason; every single-byte
 * change either decodes or is refused (never a crash or an overread: the
 * sanitizer build runs this too). */
static void test_damaged_chunks(void **state)
{
    (void)state;
    struct run_result r;
    fill(&r, 40);
    for (int ev = 0; ev < 2; ev++) {
        uint8_t *data;
        size_t len;
        assert_int_equal(ev ? db_enc_events(r.events, 40, &data, &len)
                            : db_enc_samples(r.samples, 40, &data, &len),
                         0);
        for (size_t l = 0; l < len; l++) {
            uint8_t *cut = malloc(l ? l : 1);
            memcpy(cut, data, l);
            struct run_result back;
            run_result_init(&back);
            const char *why = NULL;
            int rc = ev ? db_dec_events(cut, l, 40, &back, &why)
                        : db_dec_samples(cut, l, 40, &back, &why);
            if (rc != -1 || !why) {
                fail_msg("%s cut at %zu of %zu: not refused",
                         ev ? "events" : "samples", l, len);
            }
            run_result_free(&back);
            free(cut);
        }
        uint64_t x = 2463534242ull;
        for (size_t i = 0; i < len; i++) {
            for (int k = 0; k < 3; k++) {
                uint8_t *bad = malloc(len);
                memcpy(bad, data, len);
                bad[i] = k == 0 ? 0xff : k == 1 ? 0x00 : (uint8_t)rnd(&x);
                struct run_result back;
                run_result_init(&back);
                const char *why = NULL;
                int rc = ev ? db_dec_events(bad, len, 40, &back, &why)
                            : db_dec_samples(bad, len, 40, &back, &why);
                assert_true(rc == 0 || (rc == -1 && why));
                run_result_free(&back);
                free(bad);
            }
        }
        /* a count that is not the row's */
        struct run_result back;
        run_result_init(&back);
        const char *why = NULL;
        assert_int_equal(ev ? db_dec_events(data, len, 41, &back, &why)
                            : db_dec_samples(data, len, 39, &back, &why),
                         -1);
        assert_non_null(strstr(why, "count"));
        run_result_free(&back);
        free(data);
    }
    run_result_free(&r);
}

static int64_t save(struct db *db, size_t n, uint64_t seed)
{
    char err[512];
    struct run_result r;
    fill(&r, n);
    struct db_run_meta m;
    db_run_meta_init(&m);
    m.kind = DB_KIND_SIM;
    m.seed = seed;
    int64_t id;
    assert_int_equal(db_run_save(db, &m, &r, &id, err, sizeof(err)), 0);
    run_result_free(&r);
    return id;
}

static void exec(struct db *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db_handle(db), sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("%s: %s", sql, msg);
    }
}

/* In a real store: the damaged run fails to load with a message naming the
 * store, the run and what is wrong; its neighbours load. */
static void test_damaged_store(void **state)
{
    (void)state;
    char err[1024];
    const char *path = tu_tpath("d.db");
    struct db *db = db_open(path, err, sizeof(err));
    assert_non_null(db);
    int64_t a = save(db, 50, 1), c = save(db, 50, 3);
    static const char *const damage[] = {
        "UPDATE series_chunks SET data = substr(data, 1, 20) WHERE run_id = "
        "%lld",
        "UPDATE series_chunks SET n = n + 1 WHERE run_id = %lld",
        "UPDATE series_chunks SET n = -5 WHERE run_id = %lld",
        "UPDATE series_chunks SET data = CAST('MSS1' AS BLOB) WHERE run_id = "
        "%lld",
        "UPDATE series_chunks SET first_seq = 7 WHERE run_id = %lld",
        "UPDATE event_chunks SET data = CAST(x'4d534531' || zeroblob(9) AS "
        "BLOB) WHERE "
        "run_id = %lld",
        "INSERT INTO series_chunks VALUES (%lld, 50, 3, x'4d53533103')",
    };
    for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
        int64_t b = save(db, 50, 10 + i); /* a new run damaged each time */
        char sql[256];
        snprintf(sql, sizeof(sql), damage[i], (long long)b);
        exec(db, sql);
        struct db_run_meta m;
        struct run_result r;
        err[0] = '\0';
        if (db_run_load(db, b, &m, &r, err, sizeof(err)) != -1) {
            fail_msg("damage %zu: the run loaded", i);
        }
        char want[1200];
        snprintf(want, sizeof(want), "%s: run %lld: the stored ", path,
                 (long long)b);
        if (!strstr(err, want) || !strstr(err, "damaged")) {
            fail_msg("damage %zu: message '%s'", i, err);
        }
        for (int k = 0; k < 2; k++) {
            assert_int_equal(
                db_run_load(db, k ? c : a, &m, &r, err, sizeof(err)), 0);
            assert_int_equal(r.n_samples, 50);
            db_run_meta_free(&m);
            run_result_free(&r);
        }
    }
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_chunks),
        cmocka_unit_test(test_damaged_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
