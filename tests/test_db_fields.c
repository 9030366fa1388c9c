/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_db_fields.c — the run record's field table and its one
 * JSON/CSV writer (run/fields.h), and the CSV quoter (base/csv.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "run/fields.h"

/* What fn wrote to a memory stream, malloc'ed. */
#define CAPTURE(buf, stmt)                                                     \
    do {                                                                       \
        size_t len_;                                                           \
        FILE *f = open_memstream(&(buf), &len_);                               \
        assert_non_null(f);                                                    \
        stmt;                                                                  \
        fclose(f);                                                             \
    } while (0)

static void put_cell(const char *in, enum csv_quote q, const char *want)
{
    char *out = NULL;
    CAPTURE(out, csv_put(f, in, q));
    assert_string_equal(out, want);
    free(out);
}

static void test_csv_quoter(void **state)
{
    (void)state;
    put_cell("qemu", CSV_QUOTE_MINIMAL, "qemu");
    put_cell("", CSV_QUOTE_MINIMAL, "");
    put_cell("a,b", CSV_QUOTE_MINIMAL, "\"a,b\"");
    put_cell("say \"hi\"", CSV_QUOTE_MINIMAL, "\"say \"\"hi\"\"\"");
    put_cell("two\nlines", CSV_QUOTE_MINIMAL, "\"two\nlines\"");
    put_cell("cr\r", CSV_QUOTE_MINIMAL, "\"cr\r\"");
    put_cell(" lead", CSV_QUOTE_MINIMAL, "\" lead\"");
    put_cell("trail ", CSV_QUOTE_MINIMAL, "\"trail \"");
    put_cell("in side", CSV_QUOTE_MINIMAL, "in side");
    put_cell("qemu", CSV_QUOTE_ALWAYS, "\"qemu\"");
    put_cell("a\"b", CSV_QUOTE_ALWAYS, "\"a\"\"b\"");
    put_cell(NULL, CSV_QUOTE_ALWAYS, "");
}

static void test_tables(void **state)
{
    (void)state;
    size_t n;
    const struct run_field *f = run_metric_fields(&n);
    assert_true(n > 10);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(run_metric_field(f[i].name), &f[i]);
        assert_int_equal(f[i].text, RUN_T_NONE);
    }
    f = run_sample_fields(&n);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(run_sample_field(f[i].name), &f[i]);
    }
    /* text fields are found by name but are not in the numeric table */
    assert_non_null(run_metric_field("policy"));
    assert_non_null(run_metric_field("outcome"));
    assert_non_null(run_metric_field("fingerprint"));
    assert_null(run_metric_field("t_ns"));
    assert_null(run_sample_field("total_ns"));
    /* the store's names are the same columns */
    assert_non_null(run_sample_field("downtime_limit_ns"));
    assert_int_equal(run_sample_field("downtime_limit_ns")->ctype, RUN_C_I64);
    assert_int_equal(run_sample_field("expected_downtime_ns")->ctype,
                     RUN_C_I64);
}

static const struct run_col cols[] = {
    {"policy", NULL, RUN_F_RAW, 0, CSV_QUOTE_ALWAYS},
    {"outcome", NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL},
    {"total_ms", "total_ns", RUN_F_MS, 3, 0},
    {"violation", "downtime_violation", RUN_F_INT, 0, 0},
    {"iterations", NULL, RUN_F_INT, 0, 0},
    {"thr", "max_throttle_pct", RUN_F_G, 6, 0},
    {"rate", "exact_calls_per_s", RUN_F_FIX, 1, 0},
    {"fingerprint", NULL, RUN_F_RAW, 0, CSV_QUOTE_MINIMAL},
    {NULL, NULL, 0, 0, 0},
};

static void fill(struct run_metrics *m)
{
    memset(m, 0, sizeof(*m));
    m->outcome = RUN_TIMEOUT;
    snprintf(m->policy, sizeof(m->policy), "a,\"b\"");
    m->total_ns = 1234567890;
    m->downtime_violation = true;
    m->iterations = 42;
    m->max_throttle_pct = 99.5;
    m->exact_calls_per_s = 2.25;
    m->fingerprint = 0xabcdefULL;
    m->bytes_transferred = UINT64_MAX;
    m->bql_ns = -5;
}

static void test_csv_writer(void **state)
{
    (void)state;
    struct run_metrics m;
    fill(&m);
    char err[128];
    assert_int_equal(run_cols_check(RUN_REC_METRICS, cols, err, sizeof(err)),
                     0);
    const struct run_col bad[] = {{"x", "no_such", RUN_F_RAW, 0, 0},
                                  {NULL, NULL, 0, 0, 0}};
    assert_int_equal(run_cols_check(RUN_REC_METRICS, bad, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "no_such"));
    assert_int_equal(run_cols_check(RUN_REC_SAMPLE, cols, err, sizeof(err)),
                     -1);

    char *out = NULL;
    CAPTURE(out, run_csv_header(f, RUN_REC_METRICS, cols, false));
    assert_string_equal(out, "policy,outcome,total_ms,violation,iterations,thr,"
                             "rate,fingerprint");
    free(out);
    CAPTURE(out, run_csv_row(f, RUN_REC_METRICS, cols, &m, true));
    assert_string_equal(out, ",\"a,\"\"b\"\"\",timeout,1234.568,1,42,99.5,2.2,"
                             "0000000000abcdef");
    free(out);
    /* no record: empty cells, same count */
    CAPTURE(out, run_csv_row(f, RUN_REC_METRICS, cols, NULL, true));
    assert_string_equal(out, ",,,,,,,,");
    free(out);
    /* the whole table, exact */
    CAPTURE(out, run_csv_row(f, RUN_REC_METRICS, RUN_COLS_ALL, &m, false));
    assert_non_null(strstr(out, ",18446744073709551615,"));
    assert_non_null(strstr(out, ",-5,"));
    free(out);
}

static void test_json_writer(void **state)
{
    (void)state;
    struct run_metrics m;
    fill(&m);
    m.exact_calls_per_s = NAN;
    json_t *o = json_object();
    run_json_set(o, RUN_REC_METRICS, cols, &m);
    assert_string_equal(json_string_value(json_object_get(o, "policy")),
                        "a,\"b\"");
    assert_true(json_is_true(json_object_get(o, "violation")));
    assert_int_equal(json_integer_value(json_object_get(o, "iterations")), 42);
    assert_true(fabs(json_real_value(json_object_get(o, "total_ms")) -
                     1234.56789) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(o, "fingerprint")),
                        "0000000000abcdef");
    json_decref(o);
    o = json_object();
    run_json_set(o, RUN_REC_METRICS, RUN_COLS_ALL, &m);
    assert_string_equal(
        json_string_value(json_object_get(o, "bytes_transferred")),
        "18446744073709551615");
    assert_string_equal(
        json_string_value(json_object_get(o, "exact_calls_per_s")), "nan");
    assert_null(json_object_get(o, "policy"));
    json_decref(o);
}

static void test_devices(void **state)
{
    (void)state;
    struct run_sample s;
    memset(&s, 0, sizeof(s));
    s.n_devices = 1;
    s.dev_reported_bytes[0] = 7;
    s.dev_stop_copy_bytes[0] = 8;
    s.dev_reported_bytes[1] = 9;
    char *out = NULL;
    CAPTURE(out, run_csv_dev_header(f, 2));
    assert_string_equal(out, ",dev0_reported_bytes,dev0_stop_copy_bytes,"
                             "dev1_reported_bytes,dev1_stop_copy_bytes");
    free(out);
    CAPTURE(out, run_csv_dev_row(f, &s, 2, true));
    assert_string_equal(out, ",7,8,,");
    free(out);
    CAPTURE(out, run_csv_dev_row(f, &s, 2, false));
    assert_string_equal(out, ",7,8,9,0");
    free(out);
    struct run_device_result d = {.precopy_bytes = 1, .save_ns = 2000000};
    memset(d.name, 'x', sizeof(d.name)); /* no NUL */
    CAPTURE(out, run_csv_row(f, RUN_REC_DEVICE, RUN_COLS_ALL, &d, false));
    assert_int_equal(strspn(out, "x"), RUN_NAME_LEN);
    assert_string_equal(out + RUN_NAME_LEN, ",1,0,2000000,0");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoter), cmocka_unit_test(test_tables),
        cmocka_unit_test(test_csv_writer), cmocka_unit_test(test_json_writer),
        cmocka_unit_test(test_devices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
