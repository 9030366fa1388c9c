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

struct db;
struct db_migration {
    const char *sql;
    /* Data fix-up run after sql in the same transaction (may be NULL). */
    int (*fixup)(struct db *db, char *err, size_t errlen);
};

/* Steps 1..n (index 0 is step 1). */
const struct db_migration *db_migrations(int *n);

enum db_stmt_id {
    ST_INS_RUN = 0,
    ST_INS_SAMPLE, /* a samples chunk (schema 3) */
    ST_INS_EVENT,  /* an events chunk */
    ST_INS_RESULT,
    ST_INS_DEVICE,
    ST_FINISH,
    ST_NEXT_SAMPLE,
    ST_NEXT_EVENT,
    ST_FIND_KEY,
    ST_BEGIN,     /* BEGIN IMMEDIATE */
    ST_COMMIT,    /* COMMIT */
    ST_SAVEPOINT, /* SAVEPOINT migsim_w (a write inside a batch) */
    ST_RELEASE,   /* RELEASE migsim_w */
    ST_COUNT
};

struct db {
    sqlite3 *h;
    char path[1024];
    sqlite3_stmt *st[ST_COUNT];
    bool readonly; /* opened by db_open_readonly */
    bool corrupt;  /* SQLite reported SQLITE_CORRUPT: no more writes */
    bool batch;    /* inside db_batch_begin: writes are savepoints */
    int schema;    /* user_version: DB_SCHEMA_VERSION, or 2 read-only */
};

/* Samples or events per chunk at most (store/write.c splits longer
 * arrays). */
#define DB_CHUNK_ROWS 16384

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
/* Flags of db_ins_finish. */
#define DB_FIN_FRESH                                                           \
    1 /* the run's row was inserted in this transaction:                       \
         no metrics or devices to replace */
#define DB_FIN_MARKED                                                          \
    2 /* ... already complete with this finished_ns and                        \
         fingerprint: no UPDATE */
int db_ins_finish(struct db *db, int64_t id, const struct run_result *res,
                  int64_t finished_ns, int flags, char *err, size_t errlen);

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

/* The compact chunks (store/blob.c): encode n samples/events into a
 * malloc'ed buffer (-1: out of memory); decode a chunk of n_expect items,
 * appending to res (-1 with *why a static reason: the chunk is damaged). */
int db_enc_samples(const struct run_sample *s, size_t n, uint8_t **out,
                   size_t *len);
int db_dec_samples(const uint8_t *data, size_t len, size_t n_expect,
                   struct run_result *res, const char **why);
int db_enc_events(const struct run_event *ev, size_t n, uint8_t **out,
                  size_t *len);
int db_dec_events(const uint8_t *data, size_t len, size_t n_expect,
                  struct run_result *res, const char **why);
/* Insert the chunks of n samples/events numbered from seq through the
 * prepared chunk INSERT st (store/write.c). */
int db_put_samples(struct db *db, sqlite3_stmt *st, int64_t id, int64_t seq,
                   const struct run_sample *s, size_t n, char *err,
                   size_t errlen);
int db_put_events(struct db *db, sqlite3_stmt *st, int64_t id, int64_t seq,
                  const struct run_event *ev, size_t n, char *err,
                  size_t errlen);
/* The rows of a schema-2 store (series, series_dev, events), for the
 * migration and for reading a v2 store opened read-only (store/read.c). */
int db_load_rows_v2(struct db *db, int64_t id, struct run_result *r, char *err,
                    size_t errlen);
#define DB_SQL_INS_SCHUNK                                                      \
    "INSERT INTO series_chunks(run_id, first_seq, n, data) VALUES "            \
    "(?, ?, ?, ?)"
#define DB_SQL_INS_ECHUNK                                                      \
    "INSERT INTO event_chunks(run_id, first_seq, n, data) VALUES (?, ?, ?, ?)"

int db_event_kind_from_name(const char *s, enum run_event_kind *k);
int64_t db_now_ns(void);

#endif
