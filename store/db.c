/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/db.c — the run store: open and migrate, write runs in batches, load,
 * list, select and delete.  Exports and imports are in store/export.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/db_internal.h"
#include "base/err.h"

#ifndef MIGSIM_VERSION
#define MIGSIM_VERSION "unknown"
#endif

int64_t db_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int db_fail(struct db *db, char *err, size_t errlen, const char *what)
{
    err_set(err, errlen, "%s: %s: %s (extended code %d)", db->path, what,
            sqlite3_errmsg(db->h), sqlite3_extended_errcode(db->h));
    return -1;
}

int db_exec(struct db *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(err, errlen, "%s: %s (extended code %d)", db->path,
                msg ? msg : sqlite3_errmsg(db->h),
                sqlite3_extended_errcode(db->h));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int db_txn_begin(struct db *db, char *err, size_t errlen)
{
    return db_exec(db, "BEGIN IMMEDIATE", err, errlen);
}

int db_txn_commit(struct db *db, char *err, size_t errlen)
{
    if (db_exec(db, "COMMIT", err, errlen) != 0) {
        db_txn_rollback(db);
        return -1;
    }
    return 0;
}

void db_txn_rollback(struct db *db)
{
    if (!sqlite3_get_autocommit(db->h)) {
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    }
}

void db_run_meta_init(struct db_run_meta *m)
{
    memset(m, 0, sizeof(*m));
}

void db_run_meta_free(struct db_run_meta *m)
{
    free(m->scenario_json);
    free(m->command_line);
    free(m->verdict);
    free(m->diagnosis);
    db_run_meta_init(m);
}

/* ---- run key ---------------------------------------------------------- */

void db_run_key(const struct db_run_meta *m, char out[65])
{
    char scen[65] = "";
    if (m->scenario_json) {
        db_sha256_hex(m->scenario_json, strlen(m->scenario_json), scen);
    }
    size_t cap = 2048;
    char *buf = malloc(cap);
    if (!buf) {
        /* Fall back to a smaller, still stable, text. */
        char small[512];
        snprintf(small, sizeof(small), "%s|%s|%s|%" PRIu64 "|%" PRId64,
                 db_kind_name(m->kind), scen, m->policy, m->seed,
                 m->started_ns);
        db_sha256_hex(small, strlen(small), out);
        return;
    }
    int n =
        snprintf(buf, cap,
                 "migsim-run-key-1\n%s\n%s\n%s\n%s\n%s\n%" PRIu64
                 "\n%s\n%s\n%" PRId64 "\n",
                 db_kind_name(m->kind), scen, m->source_sha256, m->qemu,
                 m->policy, m->seed, m->rng,
                 m->version[0] ? m->version : MIGSIM_VERSION, m->started_ns);
    if (n < 0) {
        n = 0;
    }
    db_sha256_hex(buf, (size_t)n < cap ? (size_t)n : cap - 1, out);
    free(buf);
}

/* ---- open and migrate ------------------------------------------------- */

static int pragma_int(struct db *db, const char *pragma, int64_t *v, char *err,
                      size_t errlen)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "PRAGMA %s", pragma);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, pragma);
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(db, err, errlen, pragma);
    }
    *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int count_tables(struct db *db, int64_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h,
                           "SELECT count(*) FROM sqlite_schema WHERE type IN "
                           "('table', 'index', 'view', 'trigger')",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "reading the schema");
    }
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_fail(db, err, errlen, "reading schema");
}

static int migrate(struct db *db, char *err, size_t errlen)
{
    int nsteps;
    const struct db_migration *steps = db_migrations(&nsteps);
    if (nsteps != DB_SCHEMA_VERSION) {
        err_set(err, errlen, "internal: %d migration steps for schema %d",
                nsteps, DB_SCHEMA_VERSION);
        return -1;
    }
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    /* Re-read inside the write transaction: another process may have
     * migrated the file meanwhile. */
    int64_t ver, app;
    if (pragma_int(db, "user_version", &ver, err, errlen) != 0 ||
        pragma_int(db, "application_id", &app, err, errlen) != 0) {
        db_txn_rollback(db);
        return -1;
    }
    for (int64_t v = ver; v < DB_SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof(what), "migration to schema %lld",
                 (long long)v + 1);
        if (db_exec(db, steps[v].sql, err, errlen) != 0) {
            size_t l = err ? strlen(err) : 0;
            err_set(err ? err + l : NULL, errlen > l ? errlen - l : 0, " (%s)",
                    what);
            db_txn_rollback(db);
            return -1;
        }
        if (steps[v].fixup) {
            char msg[512];
            if (steps[v].fixup(db->h, msg, sizeof(msg)) != 0) {
                err_set(err, errlen, "%s: %s", db->path, msg);
                db_txn_rollback(db);
                return -1;
            }
        }
    }
    char sql[96];
    snprintf(sql, sizeof(sql),
             "PRAGMA application_id = %d; "
             "PRAGMA user_version = %d",
             (int)DB_APPLICATION_ID, DB_SCHEMA_VERSION);
    if (db_exec(db, sql, err, errlen) != 0) {
        db_txn_rollback(db);
        return -1;
    }
    return db_txn_commit(db, err, errlen);
}

static char *build_insert(const char *table, const char *fixed, int nfixed,
                          const struct run_field *f, size_t nf)
{
    size_t cap = 4096;
    char *s = malloc(cap);
    if (!s) {
        return NULL;
    }
    size_t off = (size_t)snprintf(s, cap, "INSERT INTO %s(%s", table, fixed);
    for (size_t i = 0; i < nf; i++) {
        off += (size_t)snprintf(s + off, cap - off, ", %s", f[i].name);
    }
    off += (size_t)snprintf(s + off, cap - off, ") VALUES (");
    for (size_t i = 0; i < (size_t)nfixed + nf; i++) {
        off += (size_t)snprintf(s + off, cap - off, "%s?", i ? ", " : "");
    }
    snprintf(s + off, cap - off, ")");
    return s;
}

static int prepare_all(struct db *db, char *err, size_t errlen)
{
    size_t nm, ns;
    const struct run_field *mf = run_metric_fields(&nm);
    const struct run_field *sf = run_sample_fields(&ns);
    char *ins_result =
        build_insert("results", "run_id, outcome, qemu, policy", 4, mf, nm);
    char *ins_sample = build_insert("series", "run_id, seq", 2, sf, ns);
    const char *sql[ST_COUNT] = {
        [ST_INS_RUN] =
            "INSERT INTO runs(kind, scenario_json, source_path, "
            "source_sha256, qemu, policy, seed, rng, version, command_line, "
            "started_ns, finished_ns, fingerprint, complete, run_key, "
            "verdict, diagnosis) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ST_INS_SAMPLE] = ins_sample,
        [ST_INS_SDEV] = "INSERT INTO series_dev(run_id, seq, dev, "
                        "reported_bytes, stop_copy_bytes) VALUES "
                        "(?, ?, ?, ?, ?)",
        [ST_INS_EVENT] = "INSERT INTO events(run_id, seq, t_ns, kind, value, "
                         "dur_ns, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [ST_INS_RESULT] = ins_result,
        [ST_INS_DEVICE] = "INSERT INTO devices(run_id, idx, name, "
                          "precopy_bytes, stop_copy_bytes, save_ns, load_ns) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [ST_FINISH] = "UPDATE runs SET complete = 1, finished_ns = ?, "
                      "fingerprint = ? WHERE id = ?",
        [ST_NEXT_SAMPLE] = "SELECT coalesce(max(seq) + 1, 0) FROM series "
                           "WHERE run_id = ?",
        [ST_NEXT_EVENT] = "SELECT coalesce(max(seq) + 1, 0) FROM events "
                          "WHERE run_id = ?",
    };
    int ret = 0;
    if (!ins_result || !ins_sample) {
        err_set(err, errlen, "out of memory");
        ret = -1;
    }
    for (int i = 0; !ret && i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(db->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &db->st[i], NULL) != SQLITE_OK) {
            ret = db_fail(db, err, errlen, "preparing statements");
        }
    }
    free(ins_result);
    free(ins_sample);
    return ret;
}

static struct db *open_common(const char *path, bool must_exist, char *err,
                              size_t errlen)
{
    struct stat stbuf;
    if (must_exist && strcmp(path, ":memory:") != 0 &&
        stat(path, &stbuf) != 0) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct db *db = calloc(1, sizeof(*db));
    if (!db) {
        err_set(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(db->path, sizeof(db->path), "%s", path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (!must_exist) {
        flags |= SQLITE_OPEN_CREATE;
    }
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        if (db->h) {
            db_fail(db, err, errlen, "cannot open");
        } else {
            err_set(err, errlen, "%s: cannot open: out of memory", path);
        }
        db_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);

    int64_t app = 0, ver = 0, ntables = 0;
    if (pragma_int(db, "application_id", &app, err, errlen) != 0) {
        err_set(err, errlen, "%s: not a migsim run store (%s)", path,
                sqlite3_errmsg(db->h));
        db_close(db);
        return NULL;
    }
    if (pragma_int(db, "user_version", &ver, err, errlen) != 0 ||
        count_tables(db, &ntables, err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    if (app != 0 && app != DB_APPLICATION_ID) {
        err_set(err, errlen,
                "%s: not a migsim run store (application_id 0x%08llx, "
                "expected 0x%08x)",
                path, (unsigned long long)(uint32_t)app, DB_APPLICATION_ID);
        db_close(db);
        return NULL;
    }
    if (app == 0 && (ver != 0 || ntables != 0)) {
        err_set(err, errlen,
                "%s: not a migsim run store (an SQLite file of something "
                "else: no migsim application_id)",
                path);
        db_close(db);
        return NULL;
    }
    if (ver > DB_SCHEMA_VERSION) {
        err_set(err, errlen,
                "%s: schema version %lld is newer than this migsim (%s) "
                "understands (%d); use a newer migsim",
                path, (long long)ver, MIGSIM_VERSION, DB_SCHEMA_VERSION);
        db_close(db);
        return NULL;
    }
    /* WAL is persistent in the file; ":memory:" answers "memory". */
    if (db_exec(db, "PRAGMA journal_mode = WAL", err, errlen) != 0 ||
        db_exec(db, "PRAGMA synchronous = NORMAL", err, errlen) != 0 ||
        db_exec(db, "PRAGMA foreign_keys = ON", err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    if (ver < DB_SCHEMA_VERSION && migrate(db, err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    if (prepare_all(db, err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    return db;
}

struct db *db_open(const char *path, char *err, size_t errlen)
{
    return open_common(path, false, err, errlen);
}

struct db *db_open_existing(const char *path, char *err, size_t errlen)
{
    return open_common(path, true, err, errlen);
}

void db_close(struct db *db)
{
    if (!db) {
        return;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(db->st[i]);
    }
    sqlite3_close(db->h);
    free(db);
}

struct sqlite3 *db_handle(struct db *db)
{
    return db->h;
}

const char *db_path(const struct db *db)
{
    return db->path;
}

/* ---- binding helpers -------------------------------------------------- */

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s) {
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, i);
    }
}

static void bind_field(sqlite3_stmt *st, int i, const struct run_field *f,
                       const void *base)
{
    const char *p = (const char *)base + f->offset;
    switch (f->ctype) {
    case RUN_C_I64: {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        sqlite3_bind_int64(st, i, v);
        break;
    }
    case RUN_C_U64: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        sqlite3_bind_int64(st, i, (sqlite3_int64)v);
        break;
    }
    case RUN_C_DBL: {
        double v;
        memcpy(&v, p, sizeof(v));
        if (isnan(v)) {
            sqlite3_bind_null(st, i);
        } else {
            sqlite3_bind_double(st, i, v);
        }
        break;
    }
    case RUN_C_BOOL: {
        bool v;
        memcpy(&v, p, sizeof(v));
        sqlite3_bind_int(st, i, v ? 1 : 0);
        break;
    }
    case RUN_C_UINT: {
        unsigned v;
        memcpy(&v, p, sizeof(v));
        sqlite3_bind_int64(st, i, v);
        break;
    }
    }
}

static void read_field(sqlite3_stmt *st, int i, const struct run_field *f,
                       void *base)
{
    char *p = (char *)base + f->offset;
    switch (f->ctype) {
    case RUN_C_I64: {
        int64_t v = sqlite3_column_int64(st, i);
        memcpy(p, &v, sizeof(v));
        break;
    }
    case RUN_C_U64: {
        uint64_t v = (uint64_t)sqlite3_column_int64(st, i);
        memcpy(p, &v, sizeof(v));
        break;
    }
    case RUN_C_DBL: {
        double v = sqlite3_column_type(st, i) == SQLITE_NULL
                       ? NAN
                       : sqlite3_column_double(st, i);
        memcpy(p, &v, sizeof(v));
        break;
    }
    case RUN_C_BOOL: {
        bool v = sqlite3_column_int64(st, i) != 0;
        memcpy(p, &v, sizeof(v));
        break;
    }
    case RUN_C_UINT: {
        unsigned v = (unsigned)sqlite3_column_int64(st, i);
        memcpy(p, &v, sizeof(v));
        break;
    }
    }
}

static int step_done(struct db *db, sqlite3_stmt *st, char *err, size_t errlen,
                     const char *what)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : db_fail(db, err, errlen, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

/* ---- writers ---------------------------------------------------------- */

int db_ins_run(struct db *db, const struct db_run_meta *meta, bool full,
               int64_t *id, char *err, size_t errlen)
{
    sqlite3_stmt *st = db->st[ST_INS_RUN];
    char fp[24];
    snprintf(fp, sizeof(fp), "%016" PRIx64, meta->fingerprint);
    sqlite3_bind_text(st, 1, db_kind_name(meta->kind), -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, meta->scenario_json);
    sqlite3_bind_text(st, 3, meta->source_path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, meta->source_sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, meta->qemu, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, meta->policy, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)meta->seed);
    sqlite3_bind_text(st, 8, meta->rng, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, meta->version, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 10, meta->command_line);
    sqlite3_bind_int64(st, 11, meta->started_ns);
    if (full && meta->finished_ns) {
        sqlite3_bind_int64(st, 12, meta->finished_ns);
    } else {
        sqlite3_bind_null(st, 12);
    }
    if (meta->fingerprint || (full && meta->complete)) {
        sqlite3_bind_text(st, 13, fp, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 13);
    }
    sqlite3_bind_int(st, 14, full && meta->complete ? 1 : 0);
    sqlite3_bind_text(st, 15, meta->run_key, -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 16, meta->verdict);
    bind_text_or_null(st, 17, meta->diagnosis);
    if (step_done(db, st, err, errlen, "inserting a run") != 0) {
        return -1;
    }
    *id = sqlite3_last_insert_rowid(db->h);
    return 0;
}

static int next_seq(struct db *db, enum db_stmt_id sid, int64_t id,
                    int64_t *seq, char *err, size_t errlen)
{
    sqlite3_stmt *st = db->st[sid];
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? 0 : db_fail(db, err, errlen, "numbering rows");
}

static int run_exists(struct db *db, int64_t id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, "SELECT 1 FROM runs WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "looking up a run");
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) {
        return 0;
    }
    if (rc == SQLITE_DONE) {
        err_set(err, errlen, "%s: no run %lld", db->path, (long long)id);
        return DB_ERR_NOTFOUND;
    }
    return db_fail(db, err, errlen, "looking up a run");
}

int db_ins_samples(struct db *db, int64_t id, const struct run_sample *s,
                   size_t n, char *err, size_t errlen)
{
    size_t nf;
    const struct run_field *f = run_sample_fields(&nf);
    int64_t seq;
    if (next_seq(db, ST_NEXT_SAMPLE, id, &seq, err, errlen) != 0) {
        return -1;
    }
    sqlite3_stmt *st = db->st[ST_INS_SAMPLE];
    sqlite3_stmt *sd = db->st[ST_INS_SDEV];
    for (size_t i = 0; i < n; i++, seq++) {
        if (s[i].n_devices > RUN_MAX_DEVICES) {
            err_set(err, errlen, "%s: run %lld sample %lld: n_devices %u > %d",
                    db->path, (long long)id, (long long)seq, s[i].n_devices,
                    RUN_MAX_DEVICES);
            return -1;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, seq);
        for (size_t k = 0; k < nf; k++) {
            bind_field(st, (int)k + 3, &f[k], &s[i]);
        }
        if (step_done(db, st, err, errlen, "inserting a sample") != 0) {
            return -1;
        }
        for (unsigned d = 0; d < s[i].n_devices; d++) {
            sqlite3_bind_int64(sd, 1, id);
            sqlite3_bind_int64(sd, 2, seq);
            sqlite3_bind_int(sd, 3, (int)d);
            sqlite3_bind_int64(sd, 4,
                               (sqlite3_int64)s[i].dev_reported_bytes[d]);
            sqlite3_bind_int64(sd, 5,
                               (sqlite3_int64)s[i].dev_stop_copy_bytes[d]);
            if (step_done(db, sd, err, errlen, "inserting device sizes") != 0) {
                return -1;
            }
        }
    }
    return 0;
}

int db_ins_events(struct db *db, int64_t id, const struct run_event *ev,
                  size_t n, char *err, size_t errlen)
{
    int64_t seq;
    if (next_seq(db, ST_NEXT_EVENT, id, &seq, err, errlen) != 0) {
        return -1;
    }
    sqlite3_stmt *st = db->st[ST_INS_EVENT];
    for (size_t i = 0; i < n; i++, seq++) {
        char text[sizeof(ev[i].text) + 1];
        memcpy(text, ev[i].text, sizeof(ev[i].text));
        text[sizeof(ev[i].text)] = '\0';
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, seq);
        sqlite3_bind_int64(st, 3, ev[i].t_ns);
        sqlite3_bind_text(st, 4, run_event_kind_name(ev[i].kind), -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)ev[i].value);
        sqlite3_bind_int64(st, 6, ev[i].dur_ns);
        sqlite3_bind_text(st, 7, text, -1, SQLITE_TRANSIENT);
        if (step_done(db, st, err, errlen, "inserting an event") != 0) {
            return -1;
        }
    }
    return 0;
}

int db_ins_finish(struct db *db, int64_t id, const struct run_result *res,
                  int64_t finished_ns, char *err, size_t errlen)
{
    const struct run_metrics *m = &res->m;
    if (m->n_devices > RUN_MAX_DEVICES) {
        err_set(err, errlen, "%s: run %lld: n_devices %u > %d", db->path,
                (long long)id, m->n_devices, RUN_MAX_DEVICES);
        return -1;
    }
    char sql[128];
    snprintf(sql, sizeof(sql),
             "DELETE FROM results WHERE run_id = %lld;"
             "DELETE FROM devices WHERE run_id = %lld",
             (long long)id, (long long)id);
    if (db_exec(db, sql, err, errlen) != 0) {
        return -1;
    }
    size_t nf;
    const struct run_field *f = run_metric_fields(&nf);
    sqlite3_stmt *st = db->st[ST_INS_RESULT];
    char qemu[sizeof(m->qemu) + 1], policy[sizeof(m->policy) + 1];
    memcpy(qemu, m->qemu, sizeof(m->qemu));
    qemu[sizeof(m->qemu)] = '\0';
    memcpy(policy, m->policy, sizeof(m->policy));
    policy[sizeof(m->policy)] = '\0';
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, run_outcome_name(m->outcome), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, qemu, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, policy, -1, SQLITE_TRANSIENT);
    for (size_t k = 0; k < nf; k++) {
        bind_field(st, (int)k + 5, &f[k], m);
    }
    if (step_done(db, st, err, errlen, "inserting metrics") != 0) {
        return -1;
    }
    st = db->st[ST_INS_DEVICE];
    for (unsigned d = 0; d < m->n_devices; d++) {
        const struct run_device_result *dv = &m->devices[d];
        char name[RUN_NAME_LEN + 1];
        memcpy(name, dv->name, RUN_NAME_LEN);
        name[RUN_NAME_LEN] = '\0';
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, (int)d);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)dv->precopy_bytes);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)dv->stop_copy_bytes);
        sqlite3_bind_int64(st, 6, dv->save_ns);
        sqlite3_bind_int64(st, 7, dv->load_ns);
        if (step_done(db, st, err, errlen, "inserting a device") != 0) {
            return -1;
        }
    }
    char fp[24];
    snprintf(fp, sizeof(fp), "%016" PRIx64, m->fingerprint);
    st = db->st[ST_FINISH];
    sqlite3_bind_int64(st, 1, finished_ns);
    sqlite3_bind_text(st, 2, fp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, id);
    return step_done(db, st, err, errlen, "marking the run complete");
}

/* Fill defaults into a private copy of meta. */
static void meta_defaults(struct db_run_meta *c)
{
    if (!c->version[0]) {
        snprintf(c->version, sizeof(c->version), "%s", MIGSIM_VERSION);
    }
    if (c->started_ns == 0) {
        c->started_ns = db_now_ns();
    }
    if (!c->run_key[0]) {
        db_run_key(c, c->run_key);
    }
}

int db_run_begin(struct db *db, const struct db_run_meta *meta, int64_t *id,
                 char *err, size_t errlen)
{
    struct db_run_meta c = *meta;
    meta_defaults(&c);
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    if (db_ins_run(db, &c, false, id, err, errlen) != 0) {
        db_txn_rollback(db);
        return -1;
    }
    return db_txn_commit(db, err, errlen);
}

int db_run_add_samples(struct db *db, int64_t id, const struct run_sample *s,
                       size_t n, char *err, size_t errlen)
{
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    int rc = run_exists(db, id, err, errlen);
    if (rc == 0) {
        rc = db_ins_samples(db, id, s, n, err, errlen);
    }
    if (rc != 0) {
        db_txn_rollback(db);
        return rc;
    }
    return db_txn_commit(db, err, errlen);
}

int db_run_add_events(struct db *db, int64_t id, const struct run_event *ev,
                      size_t n, char *err, size_t errlen)
{
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    int rc = run_exists(db, id, err, errlen);
    if (rc == 0) {
        rc = db_ins_events(db, id, ev, n, err, errlen);
    }
    if (rc != 0) {
        db_txn_rollback(db);
        return rc;
    }
    return db_txn_commit(db, err, errlen);
}

int db_run_finish(struct db *db, int64_t id, const struct run_result *res,
                  char *err, size_t errlen)
{
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    int rc = run_exists(db, id, err, errlen);
    if (rc == 0) {
        rc = db_ins_finish(db, id, res, db_now_ns(), err, errlen);
    }
    if (rc != 0) {
        db_txn_rollback(db);
        return rc;
    }
    return db_txn_commit(db, err, errlen);
}

int db_run_annotate(struct db *db, int64_t id, const char *verdict,
                    const char *diagnosis, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h,
                           "UPDATE runs SET verdict = coalesce(?, verdict), "
                           "diagnosis = coalesce(?, diagnosis) WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "annotating a run");
    }
    bind_text_or_null(st, 1, verdict);
    bind_text_or_null(st, 2, diagnosis);
    sqlite3_bind_int64(st, 3, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return db_fail(db, err, errlen, "annotating a run");
    }
    if (sqlite3_changes(db->h) == 0) {
        err_set(err, errlen, "%s: no run %lld", db->path, (long long)id);
        return DB_ERR_NOTFOUND;
    }
    return 0;
}

static int save_batches(struct db *db, int64_t id, const struct run_result *res,
                        char *err, size_t errlen)
{
    for (size_t i = 0; i < res->n_samples; i += DB_BATCH_ROWS) {
        size_t k = res->n_samples - i;
        if (k > DB_BATCH_ROWS) {
            k = DB_BATCH_ROWS;
        }
        if (db_run_add_samples(db, id, res->samples + i, k, err, errlen) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < res->n_events; i += DB_BATCH_ROWS) {
        size_t k = res->n_events - i;
        if (k > DB_BATCH_ROWS) {
            k = DB_BATCH_ROWS;
        }
        if (db_run_add_events(db, id, res->events + i, k, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

int db_run_save(struct db *db, const struct db_run_meta *meta,
                const struct run_result *res, int64_t *id, char *err,
                size_t errlen)
{
    if (db_run_begin(db, meta, id, err, errlen) != 0 ||
        save_batches(db, *id, res, err, errlen) != 0) {
        return -1;
    }
    return db_run_finish(db, *id, res, err, errlen);
}

int db_run_copy_in(struct db *db, const struct db_run_meta *meta,
                   const struct run_result *res, int64_t *id, char *err,
                   size_t errlen)
{
    struct db_run_meta c = *meta;
    meta_defaults(&c);
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    int rc = db_ins_run(db, &c, true, id, err, errlen);
    if (rc == 0) {
        rc = db_ins_samples(db, *id, res->samples, res->n_samples, err, errlen);
    }
    if (rc == 0) {
        rc = db_ins_events(db, *id, res->events, res->n_events, err, errlen);
    }
    if (rc == 0 && c.complete) {
        rc = db_ins_finish(db, *id, res, c.finished_ns, err, errlen);
    }
    if (rc != 0) {
        db_txn_rollback(db);
        return -1;
    }
    return db_txn_commit(db, err, errlen);
}

/* ---- readers ---------------------------------------------------------- */

static char *dup_col(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        return NULL;
    }
    const char *t = (const char *)sqlite3_column_text(st, i);
    return strdup(t ? t : "");
}

static void copy_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? t : "");
}

int db_event_kind_from_name(const char *s, enum run_event_kind *k)
{
    for (int i = RUN_EV_STATE; i <= RUN_EV_NOTE; i++) {
        if (strcmp(s, run_event_kind_name((enum run_event_kind)i)) == 0) {
            *k = (enum run_event_kind)i;
            return 0;
        }
    }
    return -1;
}

static int load_meta(struct db *db, int64_t id, struct db_run_meta *m,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            db->h,
            "SELECT kind, scenario_json, source_path, source_sha256, qemu, "
            "policy, seed, rng, version, command_line, started_ns, "
            "finished_ns, fingerprint, complete, run_key, verdict, diagnosis,"
            " (SELECT count(*) FROM series WHERE run_id = runs.id),"
            " (SELECT count(*) FROM events WHERE run_id = runs.id)"
            " FROM runs WHERE id = ?",
            -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "loading a run");
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE) {
            err_set(err, errlen, "%s: no run %lld", db->path, (long long)id);
            return DB_ERR_NOTFOUND;
        }
        return db_fail(db, err, errlen, "loading a run");
    }
    m->id = id;
    char kind[16];
    copy_col(st, 0, kind, sizeof(kind));
    if (db_kind_from_name(kind, &m->kind) != 0) {
        sqlite3_finalize(st);
        err_set(err, errlen, "%s: run %lld: unknown kind '%s'", db->path,
                (long long)id, kind);
        return -1;
    }
    m->scenario_json = dup_col(st, 1);
    copy_col(st, 2, m->source_path, sizeof(m->source_path));
    copy_col(st, 3, m->source_sha256, sizeof(m->source_sha256));
    copy_col(st, 4, m->qemu, sizeof(m->qemu));
    copy_col(st, 5, m->policy, sizeof(m->policy));
    m->seed = (uint64_t)sqlite3_column_int64(st, 6);
    copy_col(st, 7, m->rng, sizeof(m->rng));
    copy_col(st, 8, m->version, sizeof(m->version));
    m->command_line = dup_col(st, 9);
    m->started_ns = sqlite3_column_int64(st, 10);
    m->finished_ns = sqlite3_column_int64(st, 11);
    const char *fp = (const char *)sqlite3_column_text(st, 12);
    m->fingerprint = fp ? strtoull(fp, NULL, 16) : 0;
    m->complete = sqlite3_column_int(st, 13) != 0;
    copy_col(st, 14, m->run_key, sizeof(m->run_key));
    m->verdict = dup_col(st, 15);
    m->diagnosis = dup_col(st, 16);
    m->n_samples = (uint64_t)sqlite3_column_int64(st, 17);
    m->n_events = (uint64_t)sqlite3_column_int64(st, 18);
    sqlite3_finalize(st);
    return 0;
}

static int load_metrics(struct db *db, int64_t id, struct run_metrics *m,
                        bool *found, char *err, size_t errlen)
{
    size_t nf;
    const struct run_field *f = run_metric_fields(&nf);
    char sql[2048];
    size_t off =
        (size_t)snprintf(sql, sizeof(sql), "SELECT outcome, qemu, policy");
    for (size_t k = 0; k < nf; k++) {
        off +=
            (size_t)snprintf(sql + off, sizeof(sql) - off, ", %s", f[k].name);
    }
    snprintf(sql + off, sizeof(sql) - off, " FROM results WHERE run_id = ?");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "loading metrics");
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        char outcome[32];
        copy_col(st, 0, outcome, sizeof(outcome));
        if (run_outcome_from_name(outcome, &m->outcome) != 0) {
            sqlite3_finalize(st);
            err_set(err, errlen, "%s: run %lld: unknown outcome '%s'", db->path,
                    (long long)id, outcome);
            return -1;
        }
        copy_col(st, 1, m->qemu, sizeof(m->qemu));
        copy_col(st, 2, m->policy, sizeof(m->policy));
        for (size_t k = 0; k < nf; k++) {
            read_field(st, (int)k + 3, &f[k], m);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return db_fail(db, err, errlen, "loading metrics");
    }
    if (sqlite3_prepare_v2(db->h,
                           "SELECT idx, name, precopy_bytes, stop_copy_bytes, "
                           "save_ns, load_ns FROM devices WHERE run_id = ? "
                           "ORDER BY idx",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "loading devices");
    }
    sqlite3_bind_int64(st, 1, id);
    m->n_devices = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int idx = sqlite3_column_int(st, 0);
        if (idx < 0 || idx >= RUN_MAX_DEVICES) {
            sqlite3_finalize(st);
            err_set(err, errlen, "%s: run %lld: device index %d out of range",
                    db->path, (long long)id, idx);
            return -1;
        }
        struct run_device_result *d = &m->devices[idx];
        copy_col(st, 1, d->name, sizeof(d->name));
        d->precopy_bytes = (uint64_t)sqlite3_column_int64(st, 2);
        d->stop_copy_bytes = (uint64_t)sqlite3_column_int64(st, 3);
        d->save_ns = sqlite3_column_int64(st, 4);
        d->load_ns = sqlite3_column_int64(st, 5);
        if ((unsigned)idx + 1 > m->n_devices) {
            m->n_devices = (unsigned)idx + 1;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(db, err, errlen, "loading devices");
}

static int load_samples(struct db *db, int64_t id, struct run_result *r,
                        char *err, size_t errlen)
{
    size_t nf;
    const struct run_field *f = run_sample_fields(&nf);
    char sql[2048];
    size_t off = (size_t)snprintf(sql, sizeof(sql), "SELECT seq");
    for (size_t k = 0; k < nf; k++) {
        off +=
            (size_t)snprintf(sql + off, sizeof(sql) - off, ", %s", f[k].name);
    }
    snprintf(sql + off, sizeof(sql) - off,
             " FROM series WHERE run_id = ? ORDER BY seq");
    sqlite3_stmt *st, *sd;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "loading samples");
    }
    if (sqlite3_prepare_v2(db->h,
                           "SELECT seq, dev, reported_bytes, stop_copy_bytes "
                           "FROM series_dev WHERE run_id = ? ORDER BY seq, "
                           "dev",
                           -1, &sd, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return db_fail(db, err, errlen, "loading device sizes");
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(sd, 1, id);
    int rc, rcd = sqlite3_step(sd);
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct run_sample s;
        memset(&s, 0, sizeof(s));
        int64_t seq = sqlite3_column_int64(st, 0);
        for (size_t k = 0; k < nf; k++) {
            read_field(st, (int)k + 1, &f[k], &s);
        }
        if (s.n_devices > RUN_MAX_DEVICES) {
            err_set(err, errlen, "%s: run %lld sample %lld: n_devices %u",
                    db->path, (long long)id, (long long)seq, s.n_devices);
            ret = -1;
            break;
        }
        /* Merge join: series_dev rows are ordered by (seq, dev). */
        while (rcd == SQLITE_ROW && sqlite3_column_int64(sd, 0) <= seq) {
            if (sqlite3_column_int64(sd, 0) == seq) {
                int d = sqlite3_column_int(sd, 1);
                if (d >= 0 && d < RUN_MAX_DEVICES) {
                    s.dev_reported_bytes[d] =
                        (uint64_t)sqlite3_column_int64(sd, 2);
                    s.dev_stop_copy_bytes[d] =
                        (uint64_t)sqlite3_column_int64(sd, 3);
                }
            }
            rcd = sqlite3_step(sd);
        }
        if (run_result_add_sample(r, &s) != 0) {
            err_set(err, errlen, "%s: run %lld: out of memory", db->path,
                    (long long)id);
            ret = -1;
            break;
        }
    }
    if (!ret &&
        (rc != SQLITE_DONE || (rcd != SQLITE_DONE && rcd != SQLITE_ROW))) {
        ret = db_fail(db, err, errlen, "loading samples");
    }
    sqlite3_finalize(st);
    sqlite3_finalize(sd);
    return ret;
}

static int load_events(struct db *db, int64_t id, struct run_result *r,
                       char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h,
                           "SELECT t_ns, kind, value, dur_ns, text FROM "
                           "events WHERE run_id = ? ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "loading events");
    }
    sqlite3_bind_int64(st, 1, id);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char kind[32];
        copy_col(st, 1, kind, sizeof(kind));
        enum run_event_kind k;
        if (db_event_kind_from_name(kind, &k) != 0) {
            err_set(err, errlen, "%s: run %lld: unknown event kind '%s'",
                    db->path, (long long)id, kind);
            ret = -1;
            break;
        }
        const char *text = (const char *)sqlite3_column_text(st, 4);
        if (run_result_add_event(r, sqlite3_column_int64(st, 0), k,
                                 (uint64_t)sqlite3_column_int64(st, 2),
                                 sqlite3_column_int64(st, 3), "%s",
                                 text ? text : "") != 0) {
            err_set(err, errlen, "%s: run %lld: out of memory", db->path,
                    (long long)id);
            ret = -1;
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) {
        ret = db_fail(db, err, errlen, "loading events");
    }
    sqlite3_finalize(st);
    return ret;
}

int db_run_load(struct db *db, int64_t id, struct db_run_meta *meta,
                struct run_result *res, char *err, size_t errlen)
{
    db_run_meta_init(meta);
    run_result_init(res);
    /* One read transaction so a concurrent writer cannot tear the run. */
    if (db_exec(db, "BEGIN", err, errlen) != 0) {
        return -1;
    }
    int rc = load_meta(db, id, meta, err, errlen);
    bool found = false;
    if (rc == 0) {
        rc = load_metrics(db, id, &res->m, &found, err, errlen);
    }
    if (rc == 0) {
        rc = load_samples(db, id, res, err, errlen);
    }
    if (rc == 0) {
        rc = load_events(db, id, res, err, errlen);
    }
    sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
    if (rc != 0) {
        db_run_meta_free(meta);
        run_result_free(res);
        return rc;
    }
    if (!found) {
        res->m.outcome = RUN_INCOMPLETE;
        snprintf(res->m.qemu, sizeof(res->m.qemu), "%s", meta->qemu);
        snprintf(res->m.policy, sizeof(res->m.policy), "%s", meta->policy);
    }
    res->m.fingerprint = meta->fingerprint;
    return 0;
}

/* ---- list, select, delete --------------------------------------------- */

int db_list(struct db *db, struct db_run_summary **out, size_t *n, char *err,
            size_t errlen)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            db->h,
            "SELECT r.id, r.kind, r.complete, r.started_ns,"
            " coalesce(nullif(res.qemu, ''), r.qemu),"
            " coalesce(nullif(res.policy, ''), r.policy), r.source_path,"
            " r.seed, res.outcome, res.total_ns, res.downtime_ns"
            " FROM runs r LEFT JOIN results res ON res.run_id = r.id"
            " ORDER BY r.id",
            -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "listing runs");
    }
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct db_run_summary *p = realloc(*out, ncap * sizeof(**out));
            if (!p) {
                sqlite3_finalize(st);
                free(*out);
                *out = NULL;
                *n = 0;
                err_set(err, errlen, "%s: out of memory", db->path);
                return -1;
            }
            *out = p;
            cap = ncap;
        }
        struct db_run_summary *s = &(*out)[(*n)++];
        memset(s, 0, sizeof(*s));
        s->id = sqlite3_column_int64(st, 0);
        char kind[16];
        copy_col(st, 1, kind, sizeof(kind));
        if (db_kind_from_name(kind, &s->kind) != 0) {
            s->kind = DB_KIND_SIM;
        }
        s->complete = sqlite3_column_int(st, 2) != 0;
        s->started_ns = sqlite3_column_int64(st, 3);
        copy_col(st, 4, s->qemu, sizeof(s->qemu));
        copy_col(st, 5, s->policy, sizeof(s->policy));
        const char *src = (const char *)sqlite3_column_text(st, 6);
        if (src) {
            const char *slash = strrchr(src, '/');
            snprintf(s->source, sizeof(s->source), "%s",
                     slash ? slash + 1 : src);
        }
        s->seed = (uint64_t)sqlite3_column_int64(st, 7);
        if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
            char oc[32];
            copy_col(st, 8, oc, sizeof(oc));
            s->have_metrics = run_outcome_from_name(oc, &s->outcome) == 0;
            s->total_ns = sqlite3_column_int64(st, 9);
            s->downtime_ns = sqlite3_column_int64(st, 10);
        } else {
            s->outcome = RUN_INCOMPLETE;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return db_fail(db, err, errlen, "listing runs");
    }
    return 0;
}

int db_delete(struct db *db, int64_t id, char *err, size_t errlen)
{
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, "DELETE FROM runs WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        db_fail(db, err, errlen, "deleting a run");
        db_txn_rollback(db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        db_fail(db, err, errlen, "deleting a run");
        db_txn_rollback(db);
        return -1;
    }
    if (sqlite3_changes(db->h) == 0) {
        db_txn_rollback(db);
        err_set(err, errlen, "%s: no run %lld", db->path, (long long)id);
        return DB_ERR_NOTFOUND;
    }
    return db_txn_commit(db, err, errlen);
}

int64_t db_find_key(struct db *db, const char *run_key, char *err,
                    size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h, "SELECT id FROM runs WHERE run_key = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "looking up a run key");
    }
    sqlite3_bind_text(st, 1, run_key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return db_fail(db, err, errlen, "looking up a run key");
    }
    return id;
}

static int parse_id(const char *s, int64_t *v)
{
    if (!*s) {
        return -1;
    }
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end || x <= 0) {
        return -1;
    }
    *v = x;
    return 0;
}

static int add_id(int64_t **ids, size_t *n, size_t *cap, int64_t id)
{
    for (size_t i = 0; i < *n; i++) {
        if ((*ids)[i] == id) {
            return 0;
        }
    }
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        int64_t *p = realloc(*ids, ncap * sizeof(**ids));
        if (!p) {
            return -1;
        }
        *ids = p;
        *cap = ncap;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

int db_select_runs(struct db *db, char **sel, int nsel, int64_t **ids,
                   size_t *n, char *err, size_t errlen)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h,
                           "SELECT id FROM runs WHERE id BETWEEN ? AND ? "
                           "ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen, "selecting runs");
    }
    int ret = 0;
    for (int i = 0; i < nsel && !ret; i++) {
        const char *s = sel[i];
        int64_t lo, hi;
        bool last = false;
        if (strcmp(s, "all") == 0) {
            lo = 1;
            hi = INT64_MAX;
        } else if (strcmp(s, "last") == 0) {
            lo = 1;
            hi = INT64_MAX;
            last = true;
        } else if (parse_id(s, &lo) == 0) {
            hi = lo;
        } else {
            const char *dash = strchr(s, '-');
            char a[32];
            size_t la = dash ? (size_t)(dash - s) : 0;
            if (!dash || la == 0 || la >= sizeof(a)) {
                err_set(err, errlen,
                        "run '%s': expected an id, A-B, 'all' or 'last'", s);
                ret = -1;
                break;
            }
            memcpy(a, s, la);
            a[la] = '\0';
            if (parse_id(a, &lo) != 0 || parse_id(dash + 1, &hi) != 0 ||
                hi < lo) {
                err_set(err, errlen,
                        "run '%s': expected an id, A-B, 'all' or 'last'", s);
                ret = -1;
                break;
            }
        }
        sqlite3_bind_int64(st, 1, lo);
        sqlite3_bind_int64(st, 2, hi);
        int rc;
        size_t before = *n;
        int64_t max_id = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            if (last) {
                max_id = id;
            } else if (add_id(ids, n, &cap, id) != 0) {
                err_set(err, errlen, "out of memory");
                ret = -1;
                break;
            }
        }
        sqlite3_reset(st);
        if (!ret && rc != SQLITE_DONE) {
            ret = db_fail(db, err, errlen, "selecting runs");
            break;
        }
        if (!ret && last && max_id && add_id(ids, n, &cap, max_id) != 0) {
            err_set(err, errlen, "out of memory");
            ret = -1;
        }
        if (!ret && *n == before && !(last && max_id)) {
            /* Nothing new: either no such run, or only duplicates. */
            bool dup = false;
            for (size_t k = 0; k < *n; k++) {
                if ((*ids)[k] >= lo && (*ids)[k] <= hi) {
                    dup = true;
                }
            }
            if (!dup) {
                err_set(err, errlen, "%s: no run matches '%s'", db->path, s);
                ret = DB_ERR_NOTFOUND;
            }
        }
    }
    sqlite3_finalize(st);
    if (ret) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return ret;
}

int db_run_load_many(struct db *db, const int64_t *ids, size_t n,
                     struct db_run_meta **metas, struct run_result **res,
                     char *err, size_t errlen)
{
    *metas = calloc(n ? n : 1, sizeof(**metas));
    *res = calloc(n ? n : 1, sizeof(**res));
    if (!*metas || !*res) {
        free(*metas);
        free(*res);
        *metas = NULL;
        *res = NULL;
        err_set(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = db_run_load(db, ids[i], &(*metas)[i], &(*res)[i], err, errlen);
        if (rc != 0) {
            db_runs_free(*metas, *res, i);
            *metas = NULL;
            *res = NULL;
            return rc;
        }
    }
    return 0;
}

void db_runs_free(struct db_run_meta *metas, struct run_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (metas) {
            db_run_meta_free(&metas[i]);
        }
        if (res) {
            run_result_free(&res[i]);
        }
    }
    free(metas);
    free(res);
}

int db_load_selected(const char *path, char **sel, int nsel,
                     struct db_run_meta **metas, struct run_result **res,
                     size_t *n, char *err, size_t errlen)
{
    *metas = NULL;
    *res = NULL;
    *n = 0;
    struct db *db = db_open_existing(path, err, errlen);
    if (!db) {
        return -1;
    }
    int64_t *ids = NULL;
    size_t k = 0;
    int rc = db_select_runs(db, sel, nsel, &ids, &k, err, errlen);
    if (rc == 0) {
        rc = db_run_load_many(db, ids, k, metas, res, err, errlen);
    }
    db_close(db);
    free(ids);
    if (rc == 0) {
        *n = k;
    } else if (rc != DB_ERR_NOTFOUND) {
        rc = -1;
    }
    return rc;
}
