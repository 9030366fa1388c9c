/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/schema.c — the schema as a forward-only list of migration steps.
 *
 * Step N takes a file from user_version N-1 to N.  Never edit a released
 * step: add a new one.  The column names of results and series must match
 * run_metric_fields()/run_sample_fields() (db_open prepares statements from
 * those tables and fails loudly if they disagree).
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store/db_internal.h"

/* v1: the core tables. */
static const char step1_sql[] =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('sim', 'replay', 'live')),"
    " scenario_json TEXT,"
    " source_path TEXT NOT NULL DEFAULT '',"
    " source_sha256 TEXT NOT NULL DEFAULT '',"
    " qemu TEXT NOT NULL DEFAULT '',"
    " policy TEXT NOT NULL DEFAULT '',"
    " seed INTEGER NOT NULL DEFAULT 0,"
    " rng TEXT NOT NULL DEFAULT '',"
    " version TEXT NOT NULL DEFAULT '',"
    " command_line TEXT,"
    " started_ns INTEGER NOT NULL,"
    " finished_ns INTEGER,"
    " fingerprint TEXT,"
    " complete INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1))"
    ") STRICT;"
    "CREATE TABLE results ("
    " run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    " outcome TEXT NOT NULL,"
    " qemu TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " total_ns INTEGER NOT NULL,"
    " downtime_ns INTEGER NOT NULL,"
    " src_downtime_ns INTEGER NOT NULL,"
    " setup_ns INTEGER NOT NULL,"
    " downtime_limit_ns INTEGER NOT NULL,"
    " downtime_violation INTEGER NOT NULL,"
    " iterations INTEGER NOT NULL,"
    " bitmap_syncs INTEGER NOT NULL,"
    " estimate_calls INTEGER NOT NULL,"
    " exact_calls INTEGER NOT NULL,"
    " exact_calls_per_s REAL,"
    " sync_time_ns INTEGER NOT NULL,"
    " bql_ns INTEGER NOT NULL,"
    " spin_cpu_ns INTEGER NOT NULL,"
    " bytes_transferred INTEGER NOT NULL,"
    " precopy_bytes INTEGER NOT NULL,"
    " downtime_bytes INTEGER NOT NULL,"
    " postcopy_bytes INTEGER NOT NULL,"
    " expected_downtime_ns INTEGER NOT NULL,"
    " max_throttle_pct REAL,"
    " postcopy INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE series ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " t_ns INTEGER NOT NULL,"
    " iteration INTEGER NOT NULL,"
    " estimate_bytes INTEGER NOT NULL,"
    " exact_bytes INTEGER NOT NULL,"
    " exact_called INTEGER NOT NULL,"
    " threshold_bytes INTEGER NOT NULL,"
    " bandwidth_bps REAL,"
    " ram_dirty_bytes INTEGER NOT NULL,"
    " dirty_rate_bps INTEGER NOT NULL,"
    " sent_bytes INTEGER NOT NULL,"
    " downtime_limit_ns INTEGER NOT NULL,"
    " throttle_pct REAL,"
    " expected_downtime_ns INTEGER NOT NULL,"
    " n_devices INTEGER NOT NULL,"
    " PRIMARY KEY (run_id, seq)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE series_dev ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " dev INTEGER NOT NULL,"
    " reported_bytes INTEGER NOT NULL,"
    " stop_copy_bytes INTEGER NOT NULL,"
    " PRIMARY KEY (run_id, seq, dev)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE events ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " t_ns INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " value INTEGER NOT NULL,"
    " dur_ns INTEGER NOT NULL,"
    " text TEXT NOT NULL,"
    " PRIMARY KEY (run_id, seq)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE devices ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " precopy_bytes INTEGER NOT NULL,"
    " stop_copy_bytes INTEGER NOT NULL,"
    " save_ns INTEGER NOT NULL,"
    " load_ns INTEGER NOT NULL,"
    " PRIMARY KEY (run_id, idx)"
    ") STRICT, WITHOUT ROWID;";

/* v2: run keys (dedup across import and merge), verdict and diagnosis
 * text for reports. */
static const char step2_sql[] =
    "ALTER TABLE runs ADD COLUMN run_key TEXT;"
    "ALTER TABLE runs ADD COLUMN verdict TEXT;"
    "ALTER TABLE runs ADD COLUMN diagnosis TEXT;"
    "CREATE UNIQUE INDEX runs_run_key ON runs(run_key);";

static int col_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
    return 0;
}

/* Give every existing run its key (computed as db_run_begin would). */
static int step2_fixup(struct db *db, char *err, size_t errlen)
{
    sqlite3 *h = db->h;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int rc = sqlite3_prepare_v2(
        h,
        "SELECT id, kind, scenario_json, source_sha256, qemu, policy, seed,"
        " rng, version, started_ns FROM runs WHERE run_key IS NULL",
        -1, &sel, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(h, "UPDATE runs SET run_key = ? WHERE id = ?",
                                -1, &upd, NULL);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "migration 2: %s", sqlite3_errmsg(h));
        sqlite3_finalize(sel);
        return -1;
    }
    int ret = 0;
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        struct db_run_meta m;
        db_run_meta_init(&m);
        int64_t id = sqlite3_column_int64(sel, 0);
        char kind[16];
        col_text(sel, 1, kind, sizeof(kind));
        if (db_kind_from_name(kind, &m.kind) != 0) {
            m.kind = DB_KIND_SIM;
        }
        m.scenario_json = (char *)sqlite3_column_text(sel, 2);
        col_text(sel, 3, m.source_sha256, sizeof(m.source_sha256));
        col_text(sel, 4, m.qemu, sizeof(m.qemu));
        col_text(sel, 5, m.policy, sizeof(m.policy));
        m.seed = (uint64_t)sqlite3_column_int64(sel, 6);
        col_text(sel, 7, m.rng, sizeof(m.rng));
        col_text(sel, 8, m.version, sizeof(m.version));
        m.started_ns = sqlite3_column_int64(sel, 9);
        char key[65];
        db_run_key(&m, key);
        for (int salt = 0;; salt++) {
            sqlite3_bind_text(upd, 1, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(upd, 2, id);
            rc = sqlite3_step(upd);
            sqlite3_reset(upd);
            if (rc == SQLITE_DONE) {
                break;
            }
            if ((rc & 0xff) != SQLITE_CONSTRAINT || salt > 8) {
                snprintf(err, errlen, "migration 2: run %lld: %s",
                         (long long)id, sqlite3_errmsg(h));
                ret = -1;
                break;
            }
            /* Two old rows with identical key fields: salt with the id. */
            char salted[96];
            snprintf(salted, sizeof(salted), "%s/%lld/%d", key, (long long)id,
                     salt);
            db_sha256_hex(salted, strlen(salted), key);
        }
        if (ret) {
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) {
        snprintf(err, errlen, "migration 2: %s", sqlite3_errmsg(h));
        ret = -1;
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return ret;
}

/* v3: samples (with their per-device sizes) and events leave their
 * one-row-per-item tables for compact chunks, a BLOB per batch of
 * consecutive items (store/blob.c; docs/store.md): SQLite's per-row cost
 * (about 2.7 us a row, 25 000 rows for a 1 h seed run) was most of what
 * keeping a run cost. */
static const char step3_sql[] =
    "CREATE TABLE series_chunks ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " first_seq INTEGER NOT NULL,"
    " n INTEGER NOT NULL,"
    " data BLOB NOT NULL,"
    " PRIMARY KEY (run_id, first_seq)"
    ") STRICT;"
    "CREATE TABLE event_chunks ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " first_seq INTEGER NOT NULL,"
    " n INTEGER NOT NULL,"
    " data BLOB NOT NULL,"
    " PRIMARY KEY (run_id, first_seq)"
    ") STRICT;";

/* Every run's rows into chunks, then the row tables go.  A damaged row
 * (an unknown event kind, too many devices) fails the migration with the
 * run named: the file stays at schema 2, untouched. */
static int step3_fixup(struct db *db, char *err, size_t errlen)
{
    sqlite3 *h = db->h;
    sqlite3_stmt *sel = NULL, *ins_s = NULL, *ins_e = NULL;
    int rc = sqlite3_prepare_v2(h, "SELECT id FROM runs ORDER BY id", -1, &sel,
                                NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(h, DB_SQL_INS_SCHUNK, -1, &ins_s, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(h, DB_SQL_INS_ECHUNK, -1, &ins_e, NULL);
    }
    int ret = 0;
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "migration 3: %s", sqlite3_errmsg(h));
        ret = -1;
    }
    while (!ret && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(sel, 0);
        struct run_result r;
        run_result_init(&r);
        char e[512];
        if (db_load_rows_v2(db, id, &r, e, sizeof(e)) != 0 ||
            db_put_samples(db, ins_s, id, 0, r.samples, r.n_samples, e,
                           sizeof(e)) != 0 ||
            db_put_events(db, ins_e, id, 0, r.events, r.n_events, e,
                          sizeof(e)) != 0) {
            snprintf(err, errlen, "migration 3: %s", e);
            ret = -1;
        }
        run_result_free(&r);
    }
    if (!ret && rc != SQLITE_DONE) {
        snprintf(err, errlen, "migration 3: %s", sqlite3_errmsg(h));
        ret = -1;
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(ins_s);
    sqlite3_finalize(ins_e);
    if (!ret && sqlite3_exec(h,
                             "DROP TABLE series_dev; DROP TABLE series; "
                             "DROP TABLE events",
                             NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "migration 3: %s", sqlite3_errmsg(h));
        ret = -1;
    }
    return ret;
}

static const struct db_migration migrations[] = {
    {step1_sql, NULL},
    {step2_sql, step2_fixup},
    {step3_sql, step3_fixup},
};

const struct db_migration *db_migrations(int *n)
{
    *n = (int)(sizeof(migrations) / sizeof(migrations[0]));
    return migrations;
}
