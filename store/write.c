/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/write.c — writing runs: rows, batches, begin/add/finish/save.
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

#include "base/err.h"
#include "store/db_internal.h"

#ifndef MIGSIM_VERSION
#define MIGSIM_VERSION "unknown"
#endif

/* ---- writers ---------------------------------------------------------- */

int db_ins_run(struct db *db, const struct db_run_meta *meta, bool full,
               int64_t *id, char *err, size_t errlen)
{
    sqlite3_stmt *st = db->st[ST_INS_RUN];
    char fp[24];
    snprintf(fp, sizeof(fp), "%016" PRIx64, meta->fingerprint);
    sqlite3_bind_text(st, 1, db_kind_name(meta->kind), -1, SQLITE_STATIC);
    db_bind_text_or_null(st, 2, meta->scenario_json);
    sqlite3_bind_text(st, 3, meta->source_path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, meta->source_sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, meta->qemu, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, meta->policy, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)meta->seed);
    sqlite3_bind_text(st, 8, meta->rng, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, meta->version, -1, SQLITE_TRANSIENT);
    db_bind_text_or_null(st, 10, meta->command_line);
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
    db_bind_text_or_null(st, 16, meta->verdict);
    db_bind_text_or_null(st, 17, meta->diagnosis);
    if (db_step_done(db, st, err, errlen, "inserting a run") != 0) {
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

/* Bind and step one chunk row; frees data. */
static int put_chunk(struct db *db, sqlite3_stmt *st, int64_t id, int64_t seq,
                     size_t n, uint8_t *data, size_t len, char *err,
                     size_t errlen, const char *what)
{
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
    sqlite3_bind_blob64(st, 4, data, len, SQLITE_STATIC);
    int rc = db_step_done(db, st, err, errlen, what);
    free(data);
    return rc;
}

int db_put_samples(struct db *db, sqlite3_stmt *st, int64_t id, int64_t seq,
                   const struct run_sample *s, size_t n, char *err,
                   size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].n_devices > RUN_MAX_DEVICES) {
            err_set(err, errlen, "%s: run %lld sample %lld: n_devices %u > %d",
                    db->path, (long long)id, (long long)(seq + (int64_t)i),
                    s[i].n_devices, RUN_MAX_DEVICES);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i += DB_CHUNK_ROWS) {
        size_t k = n - i < DB_CHUNK_ROWS ? n - i : DB_CHUNK_ROWS;
        uint8_t *data;
        size_t len;
        if (db_enc_samples(s + i, k, &data, &len) != 0) {
            err_set(err, errlen, "%s: run %lld: out of memory", db->path,
                    (long long)id);
            return -1;
        }
        if (put_chunk(db, st, id, seq + (int64_t)i, k, data, len, err, errlen,
                      "inserting samples") != 0) {
            return -1;
        }
    }
    return 0;
}

int db_put_events(struct db *db, sqlite3_stmt *st, int64_t id, int64_t seq,
                  const struct run_event *ev, size_t n, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < n; i += DB_CHUNK_ROWS) {
        size_t k = n - i < DB_CHUNK_ROWS ? n - i : DB_CHUNK_ROWS;
        uint8_t *data;
        size_t len;
        if (db_enc_events(ev + i, k, &data, &len) != 0) {
            err_set(err, errlen, "%s: run %lld: out of memory", db->path,
                    (long long)id);
            return -1;
        }
        if (put_chunk(db, st, id, seq + (int64_t)i, k, data, len, err, errlen,
                      "inserting events") != 0) {
            return -1;
        }
    }
    return 0;
}

int db_ins_samples(struct db *db, int64_t id, const struct run_sample *s,
                   size_t n, char *err, size_t errlen)
{
    int64_t seq;
    if (n == 0) {
        return 0;
    }
    if (next_seq(db, ST_NEXT_SAMPLE, id, &seq, err, errlen) != 0) {
        return -1;
    }
    return db_put_samples(db, db->st[ST_INS_SAMPLE], id, seq, s, n, err,
                          errlen);
}

int db_ins_events(struct db *db, int64_t id, const struct run_event *ev,
                  size_t n, char *err, size_t errlen)
{
    int64_t seq;
    if (n == 0) {
        return 0;
    }
    if (next_seq(db, ST_NEXT_EVENT, id, &seq, err, errlen) != 0) {
        return -1;
    }
    return db_put_events(db, db->st[ST_INS_EVENT], id, seq, ev, n, err, errlen);
}

int db_ins_finish(struct db *db, int64_t id, const struct run_result *res,
                  int64_t finished_ns, int flags, char *err, size_t errlen)
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
    if (!(flags & DB_FIN_FRESH) && db_exec(db, sql, err, errlen) != 0) {
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
        db_bind_field(st, (int)k + 5, &f[k], m);
    }
    if (db_step_done(db, st, err, errlen, "inserting metrics") != 0) {
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
        if (db_step_done(db, st, err, errlen, "inserting a device") != 0) {
            return -1;
        }
    }
    if (flags & DB_FIN_MARKED) {
        return 0;
    }
    char fp[24];
    snprintf(fp, sizeof(fp), "%016" PRIx64, m->fingerprint);
    st = db->st[ST_FINISH];
    sqlite3_bind_int64(st, 1, finished_ns);
    sqlite3_bind_text(st, 2, fp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, id);
    return db_step_done(db, st, err, errlen, "marking the run complete");
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
    int rc = db_run_exists(db, id, err, errlen);
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
    int rc = db_run_exists(db, id, err, errlen);
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
    int rc = db_run_exists(db, id, err, errlen);
    if (rc == 0) {
        rc = db_ins_finish(db, id, res, db_now_ns(), 0, err, errlen);
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
    db_bind_text_or_null(st, 1, verdict);
    db_bind_text_or_null(st, 2, diagnosis);
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

int db_run_save(struct db *db, const struct db_run_meta *meta,
                const struct run_result *res, int64_t *id, char *err,
                size_t errlen)
{
    /* A run already computed has nothing worth keeping half-written: one
     * transaction (one commit, the runs row written once). */
    struct db_run_meta c = *meta;
    meta_defaults(&c);
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    int rc = db_ins_run(db, &c, false, id, err, errlen);
    if (rc == 0) {
        rc = db_ins_samples(db, *id, res->samples, res->n_samples, err, errlen);
    }
    if (rc == 0) {
        rc = db_ins_events(db, *id, res->events, res->n_events, err, errlen);
    }
    if (rc == 0) {
        rc =
            db_ins_finish(db, *id, res, db_now_ns(), DB_FIN_FRESH, err, errlen);
    }
    if (rc != 0) {
        db_txn_rollback(db);
        return -1;
    }
    return db_txn_commit(db, err, errlen);
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
        /* the row was inserted complete: the UPDATE would write what it
         * holds when it has a finish time and the metrics' fingerprint */
        int fl = DB_FIN_FRESH;
        if (c.finished_ns && c.fingerprint == res->m.fingerprint) {
            fl |= DB_FIN_MARKED;
        }
        rc = db_ins_finish(db, *id, res, c.finished_ns, fl, err, errlen);
    }
    if (rc != 0) {
        db_txn_rollback(db);
        return -1;
    }
    return db_txn_commit(db, err, errlen);
}
