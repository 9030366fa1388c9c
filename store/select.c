/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/select.c — listing, deleting and selecting runs.
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
        db_copy_col(st, 1, kind, sizeof(kind));
        if (db_kind_from_name(kind, &s->kind) != 0) {
            s->kind = DB_KIND_SIM;
        }
        s->complete = sqlite3_column_int(st, 2) != 0;
        s->started_ns = sqlite3_column_int64(st, 3);
        db_copy_col(st, 4, s->qemu, sizeof(s->qemu));
        db_copy_col(st, 5, s->policy, sizeof(s->policy));
        const char *src = (const char *)sqlite3_column_text(st, 6);
        if (src) {
            const char *slash = strrchr(src, '/');
            snprintf(s->source, sizeof(s->source), "%s",
                     slash ? slash + 1 : src);
        }
        s->seed = (uint64_t)sqlite3_column_int64(st, 7);
        if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
            char oc[32];
            db_copy_col(st, 8, oc, sizeof(oc));
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
    sqlite3_stmt *st = db->st[ST_FIND_KEY];
    sqlite3_bind_text(st, 1, run_key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
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

int db_load_selected(const char *path, char **sel, int nsel,
                     struct db_run_meta **metas, struct run_result **res,
                     size_t *n, char *err, size_t errlen)
{
    *metas = NULL;
    *res = NULL;
    *n = 0;
    struct db *db = db_open_readonly(path, err, errlen);
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
