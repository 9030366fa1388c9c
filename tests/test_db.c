/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_db.c — the run store on real SQLite files: schema, migration
 * from v1, refusal of foreign and newer files, write/load round trip,
 * incomplete runs, JSON export/import, CSV, delete, list/select, merge,
 * SHA-256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/support/tmpdir.h"
#include "base/units.h"
#include "store/db.h"
#include "engine/engine.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_setup("db");
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmpdir_teardown();
}

/* A deterministic run with every field set, including a NaN, a uint64
 * above INT64_MAX, a 95-character event text and quotes/commas. */
static void make_run(struct run_result *r, struct db_run_meta *m, int seed,
                     size_t nsamples, unsigned ndev)
{
    run_result_init(r);
    db_run_meta_init(m);
    m->kind = (enum db_run_kind)(seed % 3);
    m->scenario_json = "{\"vm\": {\"ram\": \"16GiB\"}, \"seed\": 1}";
    snprintf(m->source_path, sizeof(m->source_path), "scenarios/s%d.json",
             seed);
    db_sha256_hex("x", 1, m->source_sha256);
    snprintf(m->qemu, sizeof(m->qemu), "9.1");
    snprintf(m->policy, sizeof(m->policy), "exact-every:%d,\"q\"", seed);
    m->seed = 0xfedcba9876543210ull + (uint64_t)seed;
    snprintf(m->rng, sizeof(m->rng), "taus2");
    m->command_line = "migsim simulate x.json --seed 1";
    m->started_ns = 1700000000000000000ll + seed;

    struct run_metrics *mt = &r->m;
    mt->outcome = (enum run_outcome)(seed % 4);
    snprintf(mt->qemu, sizeof(mt->qemu), "9.1");
    snprintf(mt->policy, sizeof(mt->policy), "%s", m->policy);
    mt->total_ns = 12345678901 + seed;
    mt->downtime_ns = 310000000;
    mt->src_downtime_ns = 290000000;
    mt->setup_ns = 1000000;
    mt->downtime_limit_ns = 300000000;
    mt->downtime_violation = true;
    mt->iterations = 77;
    mt->bitmap_syncs = 12;
    mt->estimate_calls = 77;
    mt->exact_calls = 5;
    mt->exact_calls_per_s = 0.4051;
    mt->sync_time_ns = 4000000;
    mt->bql_ns = 5000000;
    mt->spin_cpu_ns = 6000000;
    mt->bytes_transferred = 22000000000ull;
    mt->precopy_bytes = 21000000000ull;
    mt->downtime_bytes = 1000000000ull;
    mt->postcopy_bytes = 0;
    mt->expected_downtime_ns = 305000000;
    mt->max_throttle_pct = NAN;
    mt->postcopy = false;
    mt->fingerprint = 0x8000000000000001ull + (uint64_t)seed;
    mt->n_devices = ndev;
    for (unsigned d = 0; d < ndev; d++) {
        snprintf(mt->devices[d].name, RUN_NAME_LEN, "vfio-%u,\"x\"", d);
        mt->devices[d].precopy_bytes = 1000ull * (d + 1);
        mt->devices[d].stop_copy_bytes = UINT64_MAX - d;
        mt->devices[d].save_ns = 1000 + d;
        mt->devices[d].load_ns = 2000 + d;
    }
    for (size_t i = 0; i < nsamples; i++) {
        struct run_sample s;
        memset(&s, 0, sizeof(s));
        s.t_ns = (int64_t)i * 50000000 + seed;
        s.iteration = i;
        s.estimate_bytes = 20000000000ull - i * 1000000;
        s.exact_called = i % 3 == 0;
        s.exact_bytes = s.exact_called ? s.estimate_bytes + 7 : 0;
        s.threshold_bytes = 300000000;
        s.bandwidth_bps = i == 1 ? NAN : 1.25e9 + (double)i / 3.0;
        s.ram_dirty_bytes = 1ull << 33;
        s.dirty_rate_bps = 500000000;
        s.sent_bytes = 62500000;
        s.downtime_limit_ns = 300000000;
        s.throttle_pct = (double)i * 0.1;
        s.expected_downtime_ns = 1000 + i;
        s.n_devices = ndev;
        for (unsigned d = 0; d < ndev; d++) {
            s.dev_reported_bytes[d] = 1000 * i + d;
            s.dev_stop_copy_bytes[d] = i % 2 ? UINT64_MAX : 5;
        }
        assert_int_equal(run_result_add_sample(r, &s), 0);
    }
    assert_int_equal(run_result_add_event(r, 0, RUN_EV_STATE, 0, 0, "active"),
                     0);
    assert_int_equal(
        run_result_add_event(r, 5, RUN_EV_SYNC, 1234, 1500000, "%s", ""), 0);
    assert_int_equal(run_result_add_event(r, 9, RUN_EV_NOTE, UINT64_MAX, -3,
                                          "%s",
                                          "a,b \"quoted\" and a very long "
                                          "text that fills the whole ninety "
                                          "five bytes of the event text fi"),
                     0);
}

static bool dbl_eq(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void assert_same_result(const struct run_result *a,
                               const struct run_result *b)
{
    size_t nf;
    const struct run_field *f = run_metric_fields(&nf);
    assert_int_equal(a->m.outcome, b->m.outcome);
    assert_string_equal(a->m.qemu, b->m.qemu);
    assert_string_equal(a->m.policy, b->m.policy);
    assert_true(a->m.fingerprint == b->m.fingerprint);
    for (size_t k = 0; k < nf; k++) {
        if (!dbl_eq(run_field_value(&f[k], &a->m),
                    run_field_value(&f[k], &b->m))) {
            fail_msg("metric %s differs", f[k].name);
        }
    }
    assert_int_equal(a->m.n_devices, b->m.n_devices);
    assert_memory_equal(a->m.devices, b->m.devices, sizeof(a->m.devices));
    assert_int_equal(a->n_samples, b->n_samples);
    f = run_sample_fields(&nf);
    for (size_t i = 0; i < a->n_samples; i++) {
        for (size_t k = 0; k < nf; k++) {
            if (!dbl_eq(run_field_value(&f[k], &a->samples[i]),
                        run_field_value(&f[k], &b->samples[i]))) {
                fail_msg("sample %zu field %s differs", i, f[k].name);
            }
        }
        assert_memory_equal(a->samples[i].dev_reported_bytes,
                            b->samples[i].dev_reported_bytes,
                            sizeof(a->samples[i].dev_reported_bytes));
        assert_memory_equal(a->samples[i].dev_stop_copy_bytes,
                            b->samples[i].dev_stop_copy_bytes,
                            sizeof(a->samples[i].dev_stop_copy_bytes));
    }
    assert_int_equal(a->n_events, b->n_events);
    for (size_t i = 0; i < a->n_events; i++) {
        assert_true(a->events[i].t_ns == b->events[i].t_ns);
        assert_int_equal(a->events[i].kind, b->events[i].kind);
        assert_true(a->events[i].value == b->events[i].value);
        assert_true(a->events[i].dur_ns == b->events[i].dur_ns);
        assert_string_equal(a->events[i].text, b->events[i].text);
    }
}

static int64_t query_int(struct db *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2((sqlite3 *)db_handle(db), sql, -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *query_text(struct db *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2((sqlite3 *)db_handle(db), sql, -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *s = strdup(t ? (const char *)t : "");
    sqlite3_finalize(st);
    return s;
}

static void test_schema_created(void **state)
{
    (void)state;
    char err[512];
    struct db *db = db_open(tu_tpath("new.db"), err, sizeof(err));
    assert_non_null(db);
    assert_int_equal(query_int(db, "PRAGMA application_id"), DB_APPLICATION_ID);
    assert_int_equal(query_int(db, "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
    char *jm = query_text(db, "PRAGMA journal_mode");
    assert_string_equal(jm, "wal");
    free(jm);
    /* schema 3: samples and events are in chunks (store/blob.c) */
    static const char *const tables[] = {"runs", "results", "series_chunks",
                                         "event_chunks", "devices"};
    for (size_t i = 0; i < 5; i++) {
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "SELECT strict FROM pragma_table_list WHERE name = '%s'",
                 tables[i]);
        if (query_int(db, sql) != 1) {
            fail_msg("table %s is not STRICT", tables[i]);
        }
    }
    /* STRICT really rejects a wrong type. */
    assert_int_not_equal(sqlite3_exec((sqlite3 *)db_handle(db),
                                      "INSERT INTO runs(kind, started_ns) "
                                      "VALUES ('sim', 'yesterday')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    db_close(db);
    /* Reopening does not migrate again and keeps the version. */
    db = db_open_existing(tu_tpath("new.db"), err, sizeof(err));
    assert_non_null(db);
    assert_int_equal(query_int(db, "PRAGMA user_version"), DB_SCHEMA_VERSION);
    db_close(db);
}

/* The v1 schema as released, written by hand (not taken from the code),
 * with one finished run in it. */
static const char v1_schema[] =
    "CREATE TABLE runs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK "
    "(kind IN ('sim', 'replay', 'live')), scenario_json TEXT, source_path "
    "TEXT NOT NULL DEFAULT '', source_sha256 TEXT NOT NULL DEFAULT '', qemu "
    "TEXT NOT NULL DEFAULT '', policy TEXT NOT NULL DEFAULT '', seed INTEGER "
    "NOT NULL DEFAULT 0, rng TEXT NOT NULL DEFAULT '', version TEXT NOT NULL "
    "DEFAULT '', command_line TEXT, started_ns INTEGER NOT NULL, finished_ns "
    "INTEGER, fingerprint TEXT, complete INTEGER NOT NULL DEFAULT 0 CHECK "
    "(complete IN (0, 1))) STRICT;"
    "CREATE TABLE results (run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON "
    "DELETE CASCADE, outcome TEXT NOT NULL, qemu TEXT NOT NULL, policy TEXT "
    "NOT NULL, total_ns INTEGER NOT NULL, downtime_ns INTEGER NOT NULL, "
    "src_downtime_ns INTEGER NOT NULL, setup_ns INTEGER NOT NULL, "
    "downtime_limit_ns INTEGER NOT NULL, downtime_violation INTEGER NOT "
    "NULL, iterations INTEGER NOT NULL, bitmap_syncs INTEGER NOT NULL, "
    "estimate_calls INTEGER NOT NULL, exact_calls INTEGER NOT NULL, "
    "exact_calls_per_s REAL, sync_time_ns INTEGER NOT NULL, bql_ns INTEGER "
    "NOT NULL, spin_cpu_ns INTEGER NOT NULL, bytes_transferred INTEGER NOT "
    "NULL, precopy_bytes INTEGER NOT NULL, downtime_bytes INTEGER NOT NULL, "
    "postcopy_bytes INTEGER NOT NULL, expected_downtime_ns INTEGER NOT "
    "NULL, max_throttle_pct REAL, postcopy INTEGER NOT NULL) STRICT;"
    "CREATE TABLE series (run_id INTEGER NOT NULL REFERENCES runs(id) ON "
    "DELETE CASCADE, seq INTEGER NOT NULL, t_ns INTEGER NOT NULL, iteration "
    "INTEGER NOT NULL, estimate_bytes INTEGER NOT NULL, exact_bytes INTEGER "
    "NOT NULL, exact_called INTEGER NOT NULL, threshold_bytes INTEGER NOT "
    "NULL, bandwidth_bps REAL, ram_dirty_bytes INTEGER NOT NULL, "
    "dirty_rate_bps INTEGER NOT NULL, sent_bytes INTEGER NOT NULL, "
    "downtime_limit_ns INTEGER NOT NULL, throttle_pct REAL, "
    "expected_downtime_ns INTEGER NOT NULL, n_devices INTEGER NOT NULL, "
    "PRIMARY KEY (run_id, seq)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE series_dev (run_id INTEGER NOT NULL REFERENCES runs(id) ON "
    "DELETE CASCADE, seq INTEGER NOT NULL, dev INTEGER NOT NULL, "
    "reported_bytes INTEGER NOT NULL, stop_copy_bytes INTEGER NOT NULL, "
    "PRIMARY KEY (run_id, seq, dev)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE events (run_id INTEGER NOT NULL REFERENCES runs(id) ON "
    "DELETE CASCADE, seq INTEGER NOT NULL, t_ns INTEGER NOT NULL, kind TEXT "
    "NOT NULL, value INTEGER NOT NULL, dur_ns INTEGER NOT NULL, text TEXT NOT "
    "NULL, PRIMARY KEY (run_id, seq)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE devices (run_id INTEGER NOT NULL REFERENCES runs(id) ON "
    "DELETE CASCADE, idx INTEGER NOT NULL, name TEXT NOT NULL, precopy_bytes "
    "INTEGER NOT NULL, stop_copy_bytes INTEGER NOT NULL, save_ns INTEGER NOT "
    "NULL, load_ns INTEGER NOT NULL, PRIMARY KEY (run_id, idx)) STRICT, "
    "WITHOUT ROWID;"
    "INSERT INTO runs VALUES (7, 'sim', '{}', 'old.json', '', '8.2', "
    "'default', 42, 'taus2', '0.0.1', 'migsim simulate old.json', "
    "1600000000000000000, 1600000001000000000, '00000000000000ff', 1);"
    "INSERT INTO runs VALUES (8, 'live', NULL, '', '', '9.0', '', 0, '', "
    "'0.0.1', NULL, 1600000002000000000, NULL, NULL, 0);"
    "INSERT INTO results VALUES (7, 'converged', '8.2', 'default', 9000000000,"
    " 250000000, 240000000, 1000000, 300000000, 0, 10, 11, 10, 0, 0.0, "
    "5000000, 6000000, 0, 17179869184, 17000000000, 179869184, 0, 260000000,"
    " 0.0, 0);"
    "INSERT INTO devices VALUES (7, 0, 'nic0', 10, 20, 30, 40);"
    "INSERT INTO series VALUES (7, 0, 0, 0, 17179869184, 0, 0, 300000000, "
    "1.25e9, 17179869184, 100000000, 0, 300000000, 0.0, 0, 1);"
    "INSERT INTO series VALUES (7, 1, 500000000, 1, 8000000000, 7999999999, "
    "1, 300000000, 1.25e9, 8000000000, 100000000, 625000000, 300000000, 0.0,"
    " 6400000000, 1);"
    "INSERT INTO series_dev VALUES (7, 0, 0, 111, 222);"
    "INSERT INTO series_dev VALUES (7, 1, 0, 333, 444);"
    "INSERT INTO events VALUES (7, 0, 0, 'state', 0, 0, 'active');"
    "INSERT INTO events VALUES (8, 0, 0, 'state', 0, 0, 'setup');"
    "PRAGMA application_id = 1296520013;" /* 0x4d47534d */
    "PRAGMA user_version = 1;";

static void test_migrate_from_v1(void **state)
{
    (void)state;
    sqlite3 *h;
    assert_int_equal(sqlite3_open(tu_tpath("v1.db"), &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, v1_schema, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("v1 fixture: %s", msg);
    }
    sqlite3_close(h);

    char err[512];
    struct db *db = db_open_existing(tu_tpath("v1.db"), err, sizeof(err));
    if (!db) {
        fail_msg("open v1: %s", err);
    }
    assert_int_equal(query_int(db, "PRAGMA user_version"), DB_SCHEMA_VERSION);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE "
                                   "length(run_key) = 64"),
                     2);
    assert_int_equal(query_int(db, "SELECT count(DISTINCT run_key) FROM runs"),
                     2);

    struct db_run_meta m;
    struct run_result r;
    assert_int_equal(db_run_load(db, 7, &m, &r, err, sizeof(err)), 0);
    assert_true(m.complete);
    assert_int_equal(m.kind, DB_KIND_SIM);
    assert_string_equal(m.source_path, "old.json");
    assert_string_equal(m.qemu, "8.2");
    assert_true(m.seed == 42);
    assert_true(m.fingerprint == 0xff);
    assert_null(m.verdict);
    assert_int_equal(r.m.outcome, RUN_CONVERGED);
    assert_true(r.m.total_ns == 9000000000);
    assert_true(r.m.bytes_transferred == 17179869184ull);
    assert_int_equal(r.m.n_devices, 1);
    assert_string_equal(r.m.devices[0].name, "nic0");
    assert_int_equal(r.n_samples, 2);
    assert_true(r.samples[1].exact_bytes == 7999999999ull);
    assert_true(r.samples[1].exact_called);
    assert_true(r.samples[1].dev_reported_bytes[0] == 333);
    assert_true(r.samples[1].dev_stop_copy_bytes[0] == 444);
    assert_int_equal(r.n_events, 1);
    assert_string_equal(r.events[0].text, "active");
    db_run_meta_free(&m);
    run_result_free(&r);

    assert_int_equal(db_run_load(db, 8, &m, &r, err, sizeof(err)), 0);
    assert_false(m.complete);
    assert_int_equal(m.kind, DB_KIND_LIVE);
    assert_int_equal(r.m.outcome, RUN_INCOMPLETE);
    db_run_meta_free(&m);
    run_result_free(&r);

    /* The upgraded file takes new runs and annotations. */
    assert_int_equal(
        db_run_annotate(db, 7, "converges", "fine", err, sizeof(err)), 0);
    struct run_result nr;
    struct db_run_meta nm;
    make_run(&nr, &nm, 3, 4, 1);
    int64_t id;
    assert_int_equal(db_run_save(db, &nm, &nr, &id, err, sizeof(err)), 0);
    assert_true(id == 9);
    run_result_free(&nr);
    db_close(db);
}

static void test_refuse_newer_and_foreign(void **state)
{
    (void)state;
    char err[512];
    sqlite3 *h;
    /* Newer schema. */
    assert_int_equal(sqlite3_open(tu_tpath("newer.db"), &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "CREATE TABLE runs(x INTEGER);"
                                  "PRAGMA application_id = 1296520013;"
                                  "PRAGMA user_version = 99;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_null(db_open(tu_tpath("newer.db"), err, sizeof(err)));
    assert_non_null(strstr(err, "schema version 99 is newer"));
    assert_non_null(strstr(err, "newer.db"));

    /* Another application's SQLite file. */
    assert_int_equal(sqlite3_open(tu_tpath("other.db"), &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h, "CREATE TABLE t(x); PRAGMA application_id = 42;", NULL,
                     NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    assert_null(db_open(tu_tpath("other.db"), err, sizeof(err)));
    assert_non_null(strstr(err, "not a migsim run store"));

    /* An SQLite file without an application id but with tables. */
    assert_int_equal(sqlite3_open(tu_tpath("plain.db"), &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_null(db_open(tu_tpath("plain.db"), err, sizeof(err)));
    assert_non_null(strstr(err, "not a migsim run store"));

    /* Not an SQLite file at all. */
    FILE *f = fopen(tu_tpath("text.db"), "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++) {
        fputs("this is not a database\n", f);
    }
    fclose(f);
    assert_null(db_open(tu_tpath("text.db"), err, sizeof(err)));
    assert_non_null(strstr(err, "text.db"));

    /* Missing file with db_open_existing. */
    assert_null(db_open_existing(tu_tpath("missing.db"), err, sizeof(err)));
    assert_non_null(strstr(err, "missing.db"));
    assert_int_equal(access(tu_tpath("missing.db"), F_OK), -1);
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    char err[512];
    struct db *db = db_open(tu_tpath("rt.db"), err, sizeof(err));
    assert_non_null(db);
    struct run_result r, back;
    struct db_run_meta m, bm;
    make_run(&r, &m, 1, 10000, 3);
    int64_t id;
    assert_int_equal(db_run_save(db, &m, &r, &id, err, sizeof(err)), 0);
    assert_int_equal(db_run_annotate(db, id, "downtime 310 ms > 300 ms",
                                     "line 1\nline <2> & \"3\"", err,
                                     sizeof(err)),
                     0);
    assert_int_equal(db_run_load(db, id, &bm, &back, err, sizeof(err)), 0);
    assert_true(bm.complete);
    assert_true(bm.id == id);
    assert_int_equal(bm.kind, m.kind);
    assert_string_equal(bm.scenario_json, m.scenario_json);
    assert_string_equal(bm.source_path, m.source_path);
    assert_string_equal(bm.source_sha256, m.source_sha256);
    assert_string_equal(bm.policy, m.policy);
    assert_true(bm.seed == m.seed);
    assert_string_equal(bm.rng, "taus2");
    assert_string_equal(bm.version, MIGSIM_VERSION);
    assert_string_equal(bm.command_line, m.command_line);
    assert_true(bm.started_ns == m.started_ns);
    assert_true(bm.finished_ns >= bm.started_ns);
    assert_true(bm.fingerprint == r.m.fingerprint);
    assert_int_equal(strlen(bm.run_key), 64);
    assert_string_equal(bm.verdict, "downtime 310 ms > 300 ms");
    assert_string_equal(bm.diagnosis, "line 1\nline <2> & \"3\"");
    assert_true(bm.n_samples == 10000);
    assert_true(bm.n_events == 3);
    assert_same_result(&r, &back);
    /* Whole-struct check too, so a field missing from the descriptor
     * tables cannot slip through. */
    assert_memory_equal(&r.m, &back.m, sizeof(r.m));
    assert_memory_equal(r.samples, back.samples,
                        r.n_samples * sizeof(r.samples[0]));
    /* Annotating an absent run. */
    assert_int_equal(db_run_annotate(db, 999, "x", NULL, err, sizeof(err)),
                     DB_ERR_NOTFOUND);
    run_result_free(&r);
    run_result_free(&back);
    db_run_meta_free(&bm);
    db_close(db);
}

static void test_incremental_and_incomplete(void **state)
{
    (void)state;
    char err[512];
    struct db *db = db_open(tu_tpath("inc.db"), err, sizeof(err));
    assert_non_null(db);
    struct run_result r;
    struct db_run_meta m;
    make_run(&r, &m, 2, 100, 2);
    int64_t id;
    assert_int_equal(db_run_begin(db, &m, &id, err, sizeof(err)), 0);
    assert_int_equal(
        db_run_add_samples(db, id, r.samples, 40, err, sizeof(err)), 0);
    assert_int_equal(db_run_add_events(db, id, r.events, 1, err, sizeof(err)),
                     0);
    assert_int_equal(
        db_run_add_samples(db, id, r.samples + 40, 10, err, sizeof(err)), 0);
    /* Not finished: loads as incomplete with what was written. */
    struct run_result b;
    struct db_run_meta bm;
    assert_int_equal(db_run_load(db, id, &bm, &b, err, sizeof(err)), 0);
    assert_false(bm.complete);
    assert_int_equal(b.m.outcome, RUN_INCOMPLETE);
    assert_int_equal(b.n_samples, 50);
    assert_int_equal(b.n_events, 1);
    assert_true(b.samples[45].t_ns == r.samples[45].t_ns);
    assert_true(b.samples[45].dev_reported_bytes[1] ==
                r.samples[45].dev_reported_bytes[1]);
    db_run_meta_free(&bm);
    run_result_free(&b);
    /* Finish it: now complete with metrics. */
    assert_int_equal(
        db_run_add_samples(db, id, r.samples + 50, 50, err, sizeof(err)), 0);
    assert_int_equal(
        db_run_add_events(db, id, r.events + 1, 2, err, sizeof(err)), 0);
    assert_int_equal(db_run_finish(db, id, &r, err, sizeof(err)), 0);
    assert_int_equal(db_run_load(db, id, &bm, &b, err, sizeof(err)), 0);
    assert_true(bm.complete);
    assert_same_result(&r, &b);
    db_run_meta_free(&bm);
    run_result_free(&b);
    /* Writes to absent runs are refused. */
    assert_int_equal(
        db_run_add_samples(db, 555, r.samples, 1, err, sizeof(err)),
        DB_ERR_NOTFOUND);
    assert_int_equal(db_run_finish(db, 555, &r, err, sizeof(err)),
                     DB_ERR_NOTFOUND);
    assert_int_equal(db_run_load(db, 555, &bm, &b, err, sizeof(err)),
                     DB_ERR_NOTFOUND);
    assert_non_null(strstr(err, "no run 555"));
    run_result_free(&r);
    db_close(db);
}

static char *export_json(struct db *db, int64_t id)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    char err[512];
    if (db_export_json(db, id, f, err, sizeof(err)) != 0) {
        fail_msg("export: %s", err);
    }
    fclose(f);
    return buf;
}

/* Drop the "id" line of the meta block (ids differ between files). */
static void drop_id_line(char *s)
{
    char *p = strstr(s, "\"id\": ");
    assert_non_null(p);
    char *nl = strchr(p, '\n');
    assert_non_null(nl);
    memmove(p, nl + 1, strlen(nl + 1) + 1);
}

static void test_export_import_roundtrip(void **state)
{
    (void)state;
    char err[512];
    struct db *a = db_open(tu_tpath("ea.db"), err, sizeof(err));
    struct db *b = db_open(tu_tpath("eb.db"), err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    struct run_result r;
    struct db_run_meta m;
    make_run(&r, &m, 5, 300, 4);
    int64_t id, id2, nid;
    assert_int_equal(db_run_save(a, &m, &r, &id, err, sizeof(err)), 0);
    assert_int_equal(db_run_annotate(a, id, "v", "d\n<x>", err, sizeof(err)),
                     0);
    /* An incomplete run round-trips too. */
    m.started_ns += 1;
    assert_int_equal(db_run_begin(a, &m, &id2, err, sizeof(err)), 0);
    assert_int_equal(db_run_add_samples(a, id2, r.samples, 7, err, sizeof(err)),
                     0);

    for (int pass = 0; pass < 2; pass++) {
        int64_t src = pass ? id2 : id;
        char *ja = export_json(a, src);
        FILE *f = fopen(tu_tpath("run.json"), "w");
        fputs(ja, f);
        fclose(f);
        if (db_import_json(b, tu_tpath("run.json"), &nid, err, sizeof(err)) !=
            0) {
            fail_msg("import: %s", err);
        }
        char *jb = export_json(b, nid);
        drop_id_line(ja);
        drop_id_line(jb);
        assert_string_equal(ja, jb);
        struct run_result x, y;
        struct db_run_meta xm, ym;
        assert_int_equal(db_run_load(a, src, &xm, &x, err, sizeof(err)), 0);
        assert_int_equal(db_run_load(b, nid, &ym, &y, err, sizeof(err)), 0);
        assert_same_result(&x, &y);
        assert_int_equal(xm.complete, ym.complete);
        assert_string_equal(xm.run_key, ym.run_key);
        assert_true(xm.finished_ns == ym.finished_ns);
        db_run_meta_free(&xm);
        db_run_meta_free(&ym);
        run_result_free(&x);
        run_result_free(&y);
        /* The same file again is recognised as a duplicate. */
        int64_t dup;
        assert_int_equal(
            db_import_json(b, tu_tpath("run.json"), &dup, err, sizeof(err)),
            DB_ERR_DUPLICATE);
        assert_true(dup == nid);
        free(ja);
        free(jb);
    }
    assert_int_equal(query_int(b, "SELECT count(*) FROM runs"), 2);
    run_result_free(&r);
    db_close(a);
    db_close(b);
}

static void test_import_errors(void **state)
{
    (void)state;
    char err[512];
    struct db *db = db_open(tu_tpath("ie.db"), err, sizeof(err));
    assert_non_null(db);
    int64_t id;
    assert_int_equal(
        db_import_json_text(db, "{", "x.json", &id, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "x.json:"));
    assert_int_equal(db_import_json_text(db, "{\"format\": \"other\"}",
                                         "x.json", &id, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "format"));
    assert_int_equal(
        db_import_json_text(db,
                            "{\"format\": \"migsim-run\", \"format_version\":"
                            " 2}",
                            "x.json", &id, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "newer"));
    /* A sample without t_ns: the message names the field. */
    static const char bad[] =
        "{\"format\": \"migsim-run\", \"format_version\": 1, \"meta\": "
        "{\"kind\": \"sim\", \"complete\": false, \"seed\": 1, "
        "\"started_ns\": 5, \"finished_ns\": 0}, \"metrics\": null, "
        "\"devices\": [], \"events\": [], \"samples\": [{\"iteration\": 0}]}";
    assert_int_equal(
        db_import_json_text(db, bad, "bad.json", &id, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad.json: samples[0].t_ns: missing"));
    static const char badkind[] =
        "{\"format\": \"migsim-run\", \"format_version\": 1, \"meta\": "
        "{\"kind\": \"dream\", \"complete\": false, \"seed\": 1, "
        "\"started_ns\": 5, \"finished_ns\": 0}}";
    assert_int_equal(
        db_import_json_text(db, badkind, "k.json", &id, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "meta.kind"));
    /* Nothing half-imported. */
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs"), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM series_chunks"), 0);
    db_close(db);
}

static char *export_csv(struct db *db, int64_t id, enum db_csv_table t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    char err[512];
    if (db_export_csv(db, id, t, f, err, sizeof(err)) != 0) {
        fail_msg("csv: %s", err);
    }
    fclose(f);
    return buf;
}

static void test_csv(void **state)
{
    (void)state;
    char err[512];
    struct db *db = db_open(tu_tpath("csv.db"), err, sizeof(err));
    assert_non_null(db);
    struct run_result r;
    struct db_run_meta m;
    make_run(&r, &m, 4, 3, 2);
    int64_t id;
    assert_int_equal(db_run_save(db, &m, &r, &id, err, sizeof(err)), 0);
    char *s = export_csv(db, id, DB_CSV_SERIES);
    assert_non_null(strstr(s, "seq,t_ns,iteration,estimate_bytes,"));
    assert_non_null(strstr(s, ",dev1_reported_bytes,dev1_stop_copy_bytes\r\n"));
    /* Row 2: t = 2 * 50 ms + 4, device 1 reported 2001, stop-copy 5. */
    assert_non_null(strstr(s, "\r\n2,100000004,2,19998000000,"));
    assert_non_null(strstr(s, ",2001,5\r\n"));
    assert_non_null(strstr(s, ",nan,")); /* the NaN bandwidth of row 1 */
    int lines = 0;
    for (char *p = s; *p; p++) {
        lines += *p == '\n';
    }
    assert_int_equal(lines, 4);
    free(s);
    s = export_csv(db, id, DB_CSV_EVENTS);
    assert_non_null(strstr(s, ",note,18446744073709551615,-3,\"a,b "
                              "\"\"quoted\"\" and"));
    free(s);
    s = export_csv(db, id, DB_CSV_METRICS);
    assert_non_null(strstr(s, "run_id,kind,complete,outcome,"));
    assert_non_null(strstr(s, ",12345678905,310000000,"));
    free(s);
    s = export_csv(db, id, DB_CSV_DEVICES);
    assert_non_null(strstr(s, "1,\"vfio-1,\"\"x\"\"\",2000,"
                              "18446744073709551614,1001,2001\r\n"));
    free(s);
    run_result_free(&r);
    db_close(db);
}

static void test_delete_list_select(void **state)
{
    (void)state;
    char err[512];
    struct db *db = db_open(tu_tpath("del.db"), err, sizeof(err));
    assert_non_null(db);
    int64_t ids[4];
    for (int i = 0; i < 4; i++) {
        struct run_result r;
        struct db_run_meta m;
        make_run(&r, &m, 10 + i, 20, 2);
        assert_int_equal(db_run_save(db, &m, &r, &ids[i], err, sizeof(err)), 0);
        run_result_free(&r);
    }
    assert_int_equal(db_delete(db, ids[1], err, sizeof(err)), 0);
    char sql[160];
    static const char *const tabs[] = {"results", "series_chunks",
                                       "event_chunks", "devices"};
    for (int t = 0; t < 4; t++) {
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM %s WHERE run_id = %lld", tabs[t],
                 (long long)ids[1]);
        if (query_int(db, sql) != 0) {
            fail_msg("rows left in %s", tabs[t]);
        }
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM %s WHERE run_id = %lld", tabs[t],
                 (long long)ids[2]);
        if (query_int(db, sql) == 0) {
            fail_msg("rows of another run gone from %s", tabs[t]);
        }
    }
    assert_int_equal(db_delete(db, ids[1], err, sizeof(err)), DB_ERR_NOTFOUND);

    struct db_run_summary *list;
    size_t n;
    assert_int_equal(db_list(db, &list, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_true(list[0].id == ids[0] && list[1].id == ids[2] &&
                list[2].id == ids[3]);
    assert_true(list[1].complete && list[1].have_metrics);
    assert_string_equal(list[1].source, "s12.json");
    assert_true(list[1].total_ns == 12345678901 + 12);
    free(list);

    int64_t *sel;
    size_t ns;
    char *a1[] = {"1-3"};
    assert_int_equal(db_select_runs(db, a1, 1, &sel, &ns, err, sizeof(err)), 0);
    assert_int_equal(ns, 2);
    assert_true(sel[0] == 1 && sel[1] == 3);
    free(sel);
    char *a2[] = {"last", "all"};
    assert_int_equal(db_select_runs(db, a2, 2, &sel, &ns, err, sizeof(err)), 0);
    assert_int_equal(ns, 3);
    assert_true(sel[0] == 4 && sel[1] == 1 && sel[2] == 3);
    free(sel);
    char *a3[] = {"2"};
    assert_int_equal(db_select_runs(db, a3, 1, &sel, &ns, err, sizeof(err)),
                     DB_ERR_NOTFOUND);
    char *a4[] = {"x1"};
    assert_int_equal(db_select_runs(db, a4, 1, &sel, &ns, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "x1"));
    char *a5[] = {"3-1"};
    assert_int_equal(db_select_runs(db, a5, 1, &sel, &ns, err, sizeof(err)),
                     -1);
    db_close(db);
}

static void test_merge(void **state)
{
    (void)state;
    char err[512];
    struct db *a = db_open(tu_tpath("ma.db"), err, sizeof(err));
    struct db *b = db_open(tu_tpath("mb.db"), err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    int64_t id;
    for (int i = 0; i < 3; i++) {
        struct run_result r;
        struct db_run_meta m;
        make_run(&r, &m, 20 + i, 30, 1);
        assert_int_equal(db_run_save(a, &m, &r, &id, err, sizeof(err)), 0);
        if (i == 2) {
            /* The same run also in b (copied, same key). */
            char *j = export_json(a, id);
            assert_int_equal(
                db_import_json_text(b, j, "j", &id, err, sizeof(err)), 0);
            free(j);
        }
        run_result_free(&r);
    }
    struct run_result r;
    struct db_run_meta m;
    make_run(&r, &m, 30, 30, 1);
    assert_int_equal(db_run_save(b, &m, &r, &id, err, sizeof(err)), 0);
    run_result_free(&r);
    db_close(a);
    db_close(b);

    const char *in[] = {tu_tpath("ma.db"), tu_tpath("mb.db")};
    size_t copied, skipped;
    assert_int_equal(db_merge(tu_tpath("out.db"), in, 2, &copied, &skipped, err,
                              sizeof(err)),
                     0);
    assert_int_equal(copied, 4);
    assert_int_equal(skipped, 1);
    /* Again: everything is already there. */
    assert_int_equal(db_merge(tu_tpath("out.db"), in, 2, &copied, &skipped, err,
                              sizeof(err)),
                     0);
    assert_int_equal(copied, 0);
    assert_int_equal(skipped, 5);
    struct db *o = db_open_existing(tu_tpath("out.db"), err, sizeof(err));
    assert_non_null(o);
    assert_int_equal(query_int(o, "SELECT count(*) FROM runs"), 4);
    assert_int_equal(query_int(o, "SELECT sum(n) FROM series_chunks"), 4 * 30);
    assert_int_equal(query_int(o, "SELECT count(*) FROM runs WHERE complete "
                                  "= 1"),
                     4);
    db_close(o);
    /* Output among the inputs is refused. */
    const char *self[] = {tu_tpath("out.db")};
    assert_int_equal(
        db_merge(tu_tpath("out.db"), self, 1, NULL, NULL, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "also an input"));
}

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    db_sha256_hex("", 0, hex);
    assert_string_equal(
        hex,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    db_sha256_hex("abc", 3, hex);
    assert_string_equal(
        hex,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    db_sha256_hex(m, strlen(m), hex);
    assert_string_equal(
        hex,
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* A file spanning several read buffers: one million 'a'. */
    FILE *f = fopen(tu_tpath("a.bin"), "w");
    assert_non_null(f);
    for (int i = 0; i < 1000000; i++) {
        fputc('a', f);
    }
    fclose(f);
    char err[256];
    assert_int_equal(db_sha256_file(tu_tpath("a.bin"), hex, err, sizeof(err)),
                     0);
    assert_string_equal(
        hex,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    assert_int_equal(db_sha256_file(tu_tpath("nope"), hex, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "nope"));
}

static void test_field_format(void **state)
{
    (void)state;
    char buf[64];
    /* one unit formatter: the same text as base/units (issue 14) */
    assert_string_equal(run_format_value(RUN_U_NS, 310000000, buf, sizeof(buf)),
                        "310 ms");
    assert_string_equal(run_format_value(RUN_U_NS, 1.5e9, buf, sizeof(buf)),
                        "1.50 s");
    assert_string_equal(run_format_value(RUN_U_NS, -6e7, buf, sizeof(buf)),
                        "-60 ms");
    assert_string_equal(
        run_format_value(RUN_U_BYTES, 21474836480.0, buf, sizeof(buf)),
        "20.0 GiB");
    char u[32];
    assert_string_equal(
        run_format_value(RUN_U_BYTES, 21038628864.0, buf, sizeof(buf)),
        units_fmt_size(21038628864ULL, u, sizeof(u)));
    assert_string_equal(run_format_value(RUN_U_BYTES, 512, buf, sizeof(buf)),
                        "512 B");
    assert_string_equal(
        run_format_value(RUN_U_BPS, 134217728.0, buf, sizeof(buf)),
        "128 MiB/s");
    assert_string_equal(run_format_value(RUN_U_BOOL, 1, buf, sizeof(buf)),
                        "yes");
    assert_string_equal(run_format_value(RUN_U_NS, NAN, buf, sizeof(buf)), "-");
    assert_string_equal(db_format_time(1700000000000000000ll, buf, sizeof(buf)),
                        "2023-11-14 22:13:20Z");
}

/* One builder for every stored run: a simulated run records the engine's
 * generator and its seed, an observed one neither. */
static void test_meta_build(void **state)
{
    (void)state;
    struct db_run_meta m;
    db_run_meta_build(&m, &(struct db_run_origin){
                              .kind = DB_KIND_SIM,
                              .scenario_json = "{}",
                              .source_path = "a.json",
                              .qemu = "9.1",
                              .policy = "qemu",
                              .seed = 42,
                              .fingerprint = 7,
                              .run_key = "abc",
                          });
    assert_int_equal(m.kind, DB_KIND_SIM);
    assert_string_equal(m.rng, sim_rng_name());
    assert_string_equal(m.rng, "taus2");
    assert_int_equal(m.seed, 42);
    assert_string_equal(m.source_path, "a.json");
    assert_string_equal(m.source_sha256, "");
    assert_string_equal(m.policy, "qemu");
    assert_int_equal(m.fingerprint, 7);
    assert_string_equal(m.run_key, "abc");
    db_run_meta_build(&m, &(struct db_run_origin){
                              .kind = DB_KIND_REPLAY,
                              .source_path = "t.log",
                              .policy = "observed",
                              .seed = 1,
                          });
    assert_string_equal(m.rng, "");
    assert_int_equal(m.seed, 0);
    assert_null(m.scenario_json);
    assert_string_equal(m.qemu, "");
    assert_string_equal(m.run_key, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_created),
        cmocka_unit_test(test_meta_build),
        cmocka_unit_test(test_migrate_from_v1),
        cmocka_unit_test(test_refuse_newer_and_foreign),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_incremental_and_incomplete),
        cmocka_unit_test(test_export_import_roundtrip),
        cmocka_unit_test(test_import_errors),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_delete_list_select),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_field_format),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
