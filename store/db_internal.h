/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/db_internal.h — shared between the store's .c files only: the
 * handle, the migration list and row writers that run inside a
 * transaction the caller holds.
 */
#ifndef MIGSIM_STORE_DB_INTERNAL_H
#define MIGSIM_STORE_DB_INTERNAL_H

#include <sqlite3.h>

#include "store/db.h"

struct db_migration {
    const char *sql;
    /* Data fix-up run after sql in the same transaction (may be NULL). */
    int (*fixup)(sqlite3 *h, char *err, size_t errlen);
};

/* Steps 1..n (index 0 is step 1). */
const struct db_migration *db_migrations(int *n);

enum db_stmt_id {
    ST_INS_RUN = 0,
    ST_INS_SAMPLE,
    ST_INS_SDEV,
    ST_INS_EVENT,
    ST_INS_RESULT,
    ST_INS_DEVICE,
    ST_FINISH,
    ST_NEXT_SAMPLE,
    ST_NEXT_EVENT,
    ST_COUNT
};

struct db {
    sqlite3 *h;
    char path[1024];
    sqlite3_stmt *st[ST_COUNT];
    bool readonly; /* opened by db_open_readonly */
    bool corrupt;  /* SQLite reported SQLITE_CORRUPT: no more writes */
    bool batch;    /* inside db_batch_begin: writes are savepoints */
};

/* Message "path: what: sqlite message (extended code N)". Returns -1. */
int db_fail(struct db *db, char *err, size_t errlen, const char *what);
int db_exec(struct db *db, const char *sql, char *err, size_t errlen);
int db_txn_begin(struct db *db, char *err, size_t errlen);
int db_txn_commit(struct db *db, char *err, size_t errlen);
void db_txn_rollback(struct db *db);

/* Row writers (no transaction of their own). */
int db_ins_run(struct db *db, const struct db_run_meta *meta, bool full,
               int64_t *id, char *err, size_t errlen);
int db_ins_samples(struct db *db, int64_t id, const struct run_sample *s,
                   size_t n, char *err, size_t errlen);
int db_ins_events(struct db *db, int64_t id, const struct run_event *ev,
                  size_t n, char *err, size_t errlen);
int db_ins_finish(struct db *db, int64_t id, const struct run_result *res,
                  int64_t finished_ns, char *err, size_t errlen);

/* Shared SQL helpers (store/db.c). */
void db_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);
void db_bind_field(sqlite3_stmt *st, int i, const struct run_field *f,
                   const void *base);
void db_read_field(sqlite3_stmt *st, int i, const struct run_field *f,
                   void *base);
int db_step_done(struct db *db, sqlite3_stmt *st, char *err, size_t errlen,
                 const char *what);
char *db_dup_col(sqlite3_stmt *st, int i);
void db_copy_col(sqlite3_stmt *st, int i, char *buf, size_t len);
/* 0 if the run exists, DB_ERR_NOTFOUND, or -1. */
int db_run_exists(struct db *db, int64_t id, char *err, size_t errlen);

/* The test hook's VFS name when MIGSIM_TEST_VFS_FAIL is set, else NULL
 * (store/testvfs.c). */
const char *db_test_vfs(void);

int db_event_kind_from_name(const char *s, enum run_event_kind *k);
int64_t db_now_ns(void);

#endif
