/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/read.c — loading runs: meta, metrics, samples, events.
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

/* ---- readers ---------------------------------------------------------- */

static int load_meta(struct db *db, int64_t id, struct db_run_meta *m,
                     char *err, size_t errlen)
{
    sqlite3_stmt *st;
    char sql[640];
    snprintf(sql, sizeof(sql),
             "SELECT kind, scenario_json, source_path, source_sha256, qemu, "
             "policy, seed, rng, version, command_line, started_ns, "
             "finished_ns, fingerprint, complete, run_key, verdict, "
             "diagnosis, %s FROM runs WHERE id = ?",
             db->schema >= 3
                 ? "(SELECT coalesce(sum(n), 0) FROM series_chunks WHERE "
                   "run_id = runs.id), (SELECT coalesce(sum(n), 0) FROM "
                   "event_chunks WHERE run_id = runs.id)"
                 : "(SELECT count(*) FROM series WHERE run_id = runs.id), "
                   "(SELECT count(*) FROM events WHERE run_id = runs.id)");
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
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
    db_copy_col(st, 0, kind, sizeof(kind));
    if (db_kind_from_name(kind, &m->kind) != 0) {
        sqlite3_finalize(st);
        err_set(err, errlen, "%s: run %lld: unknown kind '%s'", db->path,
                (long long)id, kind);
        return -1;
    }
    m->scenario_json = db_dup_col(st, 1);
    db_copy_col(st, 2, m->source_path, sizeof(m->source_path));
    db_copy_col(st, 3, m->source_sha256, sizeof(m->source_sha256));
    db_copy_col(st, 4, m->qemu, sizeof(m->qemu));
    db_copy_col(st, 5, m->policy, sizeof(m->policy));
    m->seed = (uint64_t)sqlite3_column_int64(st, 6);
    db_copy_col(st, 7, m->rng, sizeof(m->rng));
    db_copy_col(st, 8, m->version, sizeof(m->version));
    m->command_line = db_dup_col(st, 9);
    m->started_ns = sqlite3_column_int64(st, 10);
    m->finished_ns = sqlite3_column_int64(st, 11);
    const char *fp = (const char *)sqlite3_column_text(st, 12);
    m->fingerprint = fp ? strtoull(fp, NULL, 16) : 0;
    m->complete = sqlite3_column_int(st, 13) != 0;
    db_copy_col(st, 14, m->run_key, sizeof(m->run_key));
    m->verdict = db_dup_col(st, 15);
    m->diagnosis = db_dup_col(st, 16);
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
        db_copy_col(st, 0, outcome, sizeof(outcome));
        if (run_outcome_from_name(outcome, &m->outcome) != 0) {
            sqlite3_finalize(st);
            err_set(err, errlen, "%s: run %lld: unknown outcome '%s'", db->path,
                    (long long)id, outcome);
            return -1;
        }
        db_copy_col(st, 1, m->qemu, sizeof(m->qemu));
        db_copy_col(st, 2, m->policy, sizeof(m->policy));
        for (size_t k = 0; k < nf; k++) {
            db_read_field(st, (int)k + 3, &f[k], m);
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
        db_copy_col(st, 1, d->name, sizeof(d->name));
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

static int load_sample_rows(struct db *db, int64_t id, struct run_result *r,
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
            db_read_field(st, (int)k + 1, &f[k], &s);
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

static int load_event_rows(struct db *db, int64_t id, struct run_result *r,
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
        db_copy_col(st, 1, kind, sizeof(kind));
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

int db_load_rows_v2(struct db *db, int64_t id, struct run_result *r, char *err,
                    size_t errlen)
{
    int rc = load_sample_rows(db, id, r, err, errlen);
    return rc == 0 ? load_event_rows(db, id, r, err, errlen) : rc;
}

/* The chunks of one run from table (series_chunks or event_chunks) in
 * order, decoded into r; a damaged chunk is an error naming the run. */
static int load_chunks(struct db *db, int64_t id, bool events,
                       struct run_result *r, char *err, size_t errlen)
{
    const char *what = events ? "events" : "samples";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->h,
                           events ? "SELECT first_seq, n, data FROM "
                                    "event_chunks WHERE run_id = ? ORDER BY "
                                    "first_seq"
                                  : "SELECT first_seq, n, data FROM "
                                    "series_chunks WHERE run_id = ? ORDER BY "
                                    "first_seq",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_fail(db, err, errlen,
                       events ? "loading events" : "loading samples");
    }
    sqlite3_bind_int64(st, 1, id);
    int rc, ret = 0;
    int64_t want = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        const void *data = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        const char *why = NULL;
        if (sqlite3_column_type(st, 2) != SQLITE_BLOB) {
            why = "not a BLOB";
        } else if (seq != want) {
            why = "it does not follow the previous chunk";
        } else if (n <= 0 || n > DB_CHUNK_ROWS) {
            why = "its count is impossible";
        } else if (events ? db_dec_events(data, len, (size_t)n, r, &why)
                          : db_dec_samples(data, len, (size_t)n, r, &why)) {
            why = why ? why : "damaged";
        }
        if (why) {
            err_set(err, errlen,
                    "%s: run %lld: the stored %s from number %lld are "
                    "damaged (%s); the run cannot be read",
                    db->path, (long long)id, what, (long long)seq, why);
            ret = -1;
            break;
        }
        want = seq + n;
    }
    if (!ret && rc != SQLITE_DONE) {
        ret = db_fail(db, err, errlen,
                      events ? "loading events" : "loading samples");
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
    if (rc == 0 && db->schema < 3) {
        rc = db_load_rows_v2(db, id, res, err, errlen);
    } else if (rc == 0) {
        rc = load_chunks(db, id, false, res, err, errlen);
        if (rc == 0) {
            rc = load_chunks(db, id, true, res, err, errlen);
        }
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
