/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/db.c — the run store: open and migrate, the shared SQL helpers.
 * Writing runs is store/write.c, loading store/read.c, listing and
 * selecting store/select.c, export and import store/export.c.
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
#include <unistd.h>

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

/* Whether path exists and this process cannot write it. */
static bool exists_unwritable(const char *path)
{
    return access(path, F_OK) == 0 && access(path, W_OK) != 0;
}

/* The real cause of a failure, as a sentence to append: a full disk, a
 * read-only store, -wal or -shm file or directory, a damaged file. */
static void db_hint(struct db *db, int ec, int sys, char *buf, size_t len)
{
    buf[0] = '\0';
    int prim = ec & 0xff;
    if (prim == SQLITE_FULL || sys == ENOSPC || sys == EFBIG || sys == EDQUOT) {
        snprintf(buf, len,
                 "; the disk is full or the file size limit is reached%s%s",
                 sys ? ": " : "", sys ? strerror(sys) : "");
        return;
    }
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB) {
        snprintf(buf, len,
                 "; the store is damaged: migsim writes no new run into it "
                 "(save what is readable with `sqlite3 %s .recover`, or "
                 "restore a copy)",
                 db->path);
        return;
    }
    if (prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN ||
        prim == SQLITE_PERM || prim == SQLITE_AUTH ||
        (prim == SQLITE_IOERR &&
         (sys == EACCES || sys == EPERM || sys == EROFS))) {
        char side[1100];
        static const char *const sfx[] = {"-wal", "-shm"};
        for (int i = 0; i < 2; i++) {
            snprintf(side, sizeof(side), "%s%s", db->path, sfx[i]);
            if (exists_unwritable(side)) {
                snprintf(buf, len,
                         "; %s is not writable for this user (SQLite needs "
                         "it to write the store; fix its mode or owner, or "
                         "remove it while no migsim uses the store)",
                         side);
                return;
            }
        }
        if (exists_unwritable(db->path)) {
            snprintf(buf, len, "; the store file is read-only for this user");
            return;
        }
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s", db->path);
        char *sl = strrchr(dir, '/');
        if (sl) {
            sl[sl == dir ? 1 : 0] = '\0';
        } else {
            snprintf(dir, sizeof(dir), ".");
        }
        if (access(dir, W_OK) != 0) {
            snprintf(buf, len,
                     "; its directory %s is not writable (SQLite creates "
                     "the -wal and -shm files there)",
                     dir);
            return;
        }
        if (sys) {
            snprintf(buf, len, "; %s", strerror(sys));
        }
        return;
    }
    if (prim == SQLITE_IOERR) {
        int w = ec == SQLITE_IOERR_WRITE || ec == SQLITE_IOERR_FSYNC ||
                ec == SQLITE_IOERR_TRUNCATE || ec == SQLITE_IOERR_SHMSIZE ||
                ec == SQLITE_IOERR_SHMMAP;
        snprintf(buf, len, "; %s%s%s", w ? "a write to the store failed" : "",
                 w && sys ? ": " : "", sys ? strerror(sys) : "");
        if (w && !sys) {
            snprintf(buf + strlen(buf), len - strlen(buf),
                     " (the disk is full, the file size limit (ulimit -f) is "
                     "reached or the device is failing)");
        }
    }
}

/* sqlite3_system_errno() keeps the last OS error of any call (often a
 * stale ENOENT of a probe); only these describe an I/O failure. */
static int io_errno(struct db *db)
{
    int e = sqlite3_system_errno(db->h);
    switch (e) {
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
    case EIO:
    case EROFS:
    case EACCES:
    case EPERM:
    case ENOLCK:
        return e;
    default:
        return 0;
    }
}

int db_fail(struct db *db, char *err, size_t errlen, const char *what)
{
    char hint[1400];
    int ec = sqlite3_extended_errcode(db->h);
    db_hint(db, ec, io_errno(db), hint, sizeof(hint));
    if ((ec & 0xff) == SQLITE_CORRUPT) {
        db->corrupt = true;
    }
    err_set(err, errlen, "%s: %s: %s (extended code %d)%s", db->path, what,
            sqlite3_errmsg(db->h), ec, hint);
    return -1;
}

int db_exec(struct db *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char hint[1400];
        int ec = sqlite3_extended_errcode(db->h);
        db_hint(db, ec, io_errno(db), hint, sizeof(hint));
        if ((ec & 0xff) == SQLITE_CORRUPT) {
            db->corrupt = true;
        }
        err_set(err, errlen, "%s: %s (extended code %d)%s", db->path,
                msg ? msg : sqlite3_errmsg(db->h), ec, hint);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* A transaction-control statement: the prepared one once the handle has
 * them (they are parsed once, not at every write of a sweep), else sql. */
static int run_ctl(struct db *db, enum db_stmt_id sid, const char *sql,
                   char *err, size_t errlen)
{
    sqlite3_stmt *st = db->st[sid];
    if (!st) {
        return db_exec(db, sql, err, errlen);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return db_fail(db, err, errlen, sql);
    }
    return 0;
}

int db_txn_begin(struct db *db, char *err, size_t errlen)
{
    if (db->readonly) {
        err_set(err, errlen, "%s: opened read-only", db->path);
        return -1;
    }
    if (db->corrupt) {
        err_set(err, errlen,
                "%s: the store is damaged (SQLite reported it corrupt): "
                "migsim writes no new run into it (save what is readable "
                "with `sqlite3 %s .recover`, or restore a copy)",
                db->path, db->path);
        return -1;
    }
    if (db->batch) {
        return run_ctl(db, ST_SAVEPOINT, "SAVEPOINT migsim_w", err, errlen);
    }
    return run_ctl(db, ST_BEGIN, "BEGIN IMMEDIATE", err, errlen);
}

int db_txn_commit(struct db *db, char *err, size_t errlen)
{
    if (db->batch) {
        if (run_ctl(db, ST_RELEASE, "RELEASE migsim_w", err, errlen) != 0) {
            db_txn_rollback(db);
            return -1;
        }
        return 0;
    }
    if (run_ctl(db, ST_COMMIT, "COMMIT", err, errlen) != 0) {
        db_txn_rollback(db);
        return -1;
    }
    return 0;
}

void db_txn_rollback(struct db *db)
{
    if (sqlite3_get_autocommit(db->h)) {
        return;
    }
    if (db->batch) {
        /* undo this write only; the batch goes on */
        sqlite3_exec(db->h, "ROLLBACK TO migsim_w; RELEASE migsim_w", NULL,
                     NULL, NULL);
    } else {
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
    }
}

int db_batch_begin(struct db *db, char *err, size_t errlen)
{
    if (db->batch) {
        return 0;
    }
    if (db_txn_begin(db, err, errlen) != 0) {
        return -1;
    }
    db->batch = true;
    return 0;
}

int db_batch_commit(struct db *db, char *err, size_t errlen)
{
    if (!db->batch) {
        return 0;
    }
    db->batch = false;
    return db_txn_commit(db, err, errlen);
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
            if (steps[v].fixup(db, msg, sizeof(msg)) != 0) {
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
    size_t nm;
    const struct run_field *mf = run_metric_fields(&nm);
    char *ins_result =
        build_insert("results", "run_id, outcome, qemu, policy", 4, mf, nm);
    const char *sql[ST_COUNT] = {
        [ST_INS_RUN] =
            "INSERT INTO runs(kind, scenario_json, source_path, "
            "source_sha256, qemu, policy, seed, rng, version, command_line, "
            "started_ns, finished_ns, fingerprint, complete, run_key, "
            "verdict, diagnosis) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ST_INS_SAMPLE] = DB_SQL_INS_SCHUNK,
        [ST_INS_EVENT] = DB_SQL_INS_ECHUNK,
        [ST_INS_RESULT] = ins_result,
        [ST_INS_DEVICE] = "INSERT INTO devices(run_id, idx, name, "
                          "precopy_bytes, stop_copy_bytes, save_ns, load_ns) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [ST_FINISH] = "UPDATE runs SET complete = 1, finished_ns = ?, "
                      "fingerprint = ? WHERE id = ?",
        [ST_NEXT_SAMPLE] = "SELECT coalesce(max(first_seq + n), 0) FROM "
                           "series_chunks WHERE run_id = ?",
        [ST_NEXT_EVENT] = "SELECT coalesce(max(first_seq + n), 0) FROM "
                          "event_chunks WHERE run_id = ?",
        [ST_FIND_KEY] = "SELECT id FROM runs WHERE run_key = ?",
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_SAVEPOINT] = "SAVEPOINT migsim_w",
        [ST_RELEASE] = "RELEASE migsim_w",
    };
    int ret = 0;
    if (!ins_result) {
        err_set(err, errlen, "out of memory");
        ret = -1;
    }
    for (int i = 0; !ret && i < ST_COUNT; i++) {
        /* A schema-2 store read as it is (read-only) has no chunk tables:
         * the writers' statements stay unprepared. */
        if (db->schema < DB_SCHEMA_VERSION &&
            (i == ST_INS_SAMPLE || i == ST_INS_EVENT || i == ST_NEXT_SAMPLE ||
             i == ST_NEXT_EVENT)) {
            continue;
        }
        if (sqlite3_prepare_v3(db->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &db->st[i], NULL) != SQLITE_OK) {
            ret = db_fail(db, err, errlen, "preparing statements");
        }
    }
    free(ins_result);
    return ret;
}

enum open_mode { OPEN_CREATE, OPEN_EXISTING, OPEN_READONLY };

/* "file:" URI of path with immutable=1 (percent-encoding what a URI
 * path cannot hold). */
static void immutable_uri(const char *path, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "file:");
    for (const unsigned char *p = (const unsigned char *)path;
         *p && o + 4 < len; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p > 0x7e) {
            o += (size_t)snprintf(buf + o, len - o, "%%%02X", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o < len ? o : len - 1] = '\0';
    snprintf(buf + strlen(buf), len - strlen(buf), "?immutable=1");
}

static int sqlite_open(struct db *db, const char *name, int flags, char *err,
                       size_t errlen)
{
    if (sqlite3_open_v2(name, &db->h, flags, db_test_vfs()) != SQLITE_OK) {
        if (db->h) {
            db_fail(db, err, errlen, "cannot open");
        } else {
            err_set(err, errlen, "%s: cannot open: out of memory", db->path);
        }
        sqlite3_close(db->h);
        db->h = NULL;
        return -1;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
    return 0;
}

/* Before opening for writing: refuse a store this user cannot write, and
 * name the file that is the cause, without letting SQLite open it (it
 * would fall back to read-only and create a -shm file as read-only as the
 * store, which then keeps the store read-only after a chmod). */
static int check_writable(const char *path, char *err, size_t errlen)
{
    if (strcmp(path, ":memory:") == 0 || access(path, F_OK) != 0) {
        return 0;
    }
    char side[1100];
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof(side), "%s%s", path, sfx[i]);
        if (exists_unwritable(side)) {
            err_set(err, errlen,
                    "%s: cannot store runs: %s is read-only for this user%s",
                    path, side,
                    i ? " (SQLite needs it to write the store; fix its mode or "
                        "owner, or remove it while no migsim uses the store)"
                      : "");
            return -1;
        }
    }
    return 0;
}

/* Walk the b-trees of the runs and results tables (what every listing
 * reads; a few ms for 10,000 runs): SQLITE_CORRUPT there refuses. */
static int probe_sound(struct db *db, char *err, size_t errlen)
{
    static const char *const q[] = {
        "SELECT count(*) FROM (SELECT id, kind FROM runs)",
        "SELECT count(*) FROM (SELECT run_id, outcome FROM results)",
    };
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(db->h, q[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            sqlite3_finalize(st);
        }
        if (rc != SQLITE_ROW) {
            db_fail(db, err, errlen, "checking the store");
            db->corrupt = true;
            return -1;
        }
    }
    return 0;
}

/* A store opened for writing must be sound, so no run is added to a
 * damaged file: PRAGMA quick_check on stores up to
 * DB_QUICK_CHECK_MAX_BYTES (it costs about 25 ms per MiB), the probe
 * above on larger ones. */
static int check_sound(struct db *db, char *err, size_t errlen)
{
    struct stat st;
    if (stat(db->path, &st) != 0 || st.st_size == 0) {
        return 0;
    }
    if (st.st_size > DB_QUICK_CHECK_MAX_BYTES) {
        return probe_sound(db, err, errlen);
    }
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db->h, "PRAGMA quick_check(1)", -1, &q, NULL) !=
        SQLITE_OK) {
        db_fail(db, err, errlen, "checking the store");
        db->corrupt = true;
        return -1;
    }
    int rc = sqlite3_step(q);
    const char *t =
        rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
    if (rc == SQLITE_ROW && t && strcmp(t, "ok") == 0) {
        sqlite3_finalize(q);
        return 0;
    }
    char first[256];
    snprintf(first, sizeof(first), "%s", t ? t : "?");
    for (char *c = first; *c; c++) {
        if ((unsigned char)*c < 0x20) {
            *c = ' ';
        }
    }
    if (rc == SQLITE_ROW) {
        err_set(err, errlen,
                "%s: the store is damaged (quick_check: %s): migsim writes "
                "no new run into it (save what is readable with `sqlite3 %s "
                ".recover`, or restore a copy)",
                db->path, first, db->path);
    } else {
        db_fail(db, err, errlen, "checking the store");
    }
    sqlite3_finalize(q);
    db->corrupt = true;
    return -1;
}

/* The checks before opening, then the handle itself opened with *flags
 * (for a read-only retry); NULL with err set. */
static struct db *open_handle(const char *path, enum open_mode mode, bool mem,
                              int *flags, char *err, size_t errlen)
{
    struct stat stbuf;
    if (mode != OPEN_CREATE && !mem && stat(path, &stbuf) != 0) {
        err_set(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (mode != OPEN_READONLY && check_writable(path, err, errlen) != 0) {
        return NULL;
    }
    struct db *db = calloc(1, sizeof(*db));
    if (!db) {
        err_set(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    snprintf(db->path, sizeof(db->path), "%s", path);
    db->readonly = mode == OPEN_READONLY;
    *flags = SQLITE_OPEN_NOMUTEX;
    *flags |= db->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (mode == OPEN_CREATE) {
        *flags |= SQLITE_OPEN_CREATE;
    }
    if (sqlite_open(db, path, *flags, err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    return db;
}

/* The first read of the file, its application_id; 0, or -1 with err set
 * (the caller closes db). */
static int read_app_id(struct db *db, const char *path, int flags, bool mem,
                       int64_t *app, char *err, size_t errlen)
{
    int prc = pragma_int(db, "application_id", app, err, errlen);
    if (prc != 0 && db->readonly && !mem) {
        /* A WAL store needs its -shm file even to be read; where it cannot
         * be created (a read-only directory or medium), read the file as
         * immutable: no locks, no -shm. */
        int prim = sqlite3_extended_errcode(db->h) & 0xff;
        if (prim != SQLITE_NOTADB && prim != SQLITE_CORRUPT) {
            char uri[3200];
            immutable_uri(path, uri, sizeof(uri));
            sqlite3_close(db->h);
            db->h = NULL;
            if (sqlite_open(db, uri, flags | SQLITE_OPEN_URI, err, errlen) !=
                0) {
                return -1;
            }
            prc = pragma_int(db, "application_id", app, err, errlen);
        }
    }
    if (prc != 0) {
        int ec = sqlite3_extended_errcode(db->h);
        if ((ec & 0xff) == SQLITE_NOTADB) {
            err_set(err, errlen, "%s: not a migsim run store (%s)", path,
                    sqlite3_errmsg(db->h));
        } else {
            db_fail(db, err, errlen,
                    db->readonly ? "cannot read the store"
                                 : "cannot open the store");
        }
        return -1;
    }
    return 0;
}

/* Whether the file is a migsim store this migsim understands; 0, or -1
 * with err set. */
static int check_identity(const char *path, int64_t app, int64_t ver,
                          int64_t ntables, char *err, size_t errlen)
{
    if (app != 0 && app != DB_APPLICATION_ID) {
        err_set(err, errlen,
                "%s: not a migsim run store (application_id 0x%08llx, "
                "expected 0x%08x)",
                path, (unsigned long long)(uint32_t)app, DB_APPLICATION_ID);
        return -1;
    }
    if (app == 0 && (ver != 0 || ntables != 0)) {
        err_set(err, errlen,
                "%s: not a migsim run store (an SQLite file of something "
                "else: no migsim application_id)",
                path);
        return -1;
    }
    if (ver > DB_SCHEMA_VERSION) {
        err_set(err, errlen,
                "%s: schema version %lld is newer than this migsim (%s) "
                "understands (%d); use a newer migsim",
                path, (long long)ver, MIGSIM_VERSION, DB_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

/* A store opened for writing: sound, in WAL mode, at the current schema;
 * 0, or -1 with err set. */
static int ready_to_write(struct db *db, const char *path, bool mem,
                          int64_t ver, char *err, size_t errlen)
{
    if (!mem && sqlite3_db_readonly(db->h, "main") == 1) {
        err_set(err, errlen,
                "%s: cannot store runs: SQLite opened the store "
                "read-only (a read-only file or medium)",
                path);
        return -1;
    }
    if (!mem && check_sound(db, err, errlen) != 0) {
        return -1;
    }
    /* A brand-new (empty) file is created and given its schema without
     * syncs: it holds nothing a power loss could take, and the six syncs
     * of creating it (rollback journal, directory, WAL header) were a
     * third of what storing a short run cost.  Then synchronous=NORMAL as
     * always: the run's data is synced by the checkpoint at close. */
    struct stat sb;
    bool fresh = !mem && ver == 0 && stat(path, &sb) == 0 && sb.st_size == 0;
    /* WAL is persistent in the file; ":memory:" answers "memory". */
    if ((fresh && db_exec(db, "PRAGMA synchronous = OFF", err, errlen) != 0) ||
        db_exec(db, "PRAGMA journal_mode = WAL", err, errlen) != 0 ||
        (!fresh &&
         db_exec(db, "PRAGMA synchronous = NORMAL", err, errlen) != 0)) {
        return -1;
    }
    if (ver < DB_SCHEMA_VERSION && migrate(db, err, errlen) != 0) {
        return -1;
    }
    if (fresh && db_exec(db, "PRAGMA synchronous = NORMAL", err, errlen) != 0) {
        return -1;
    }
    db->schema = DB_SCHEMA_VERSION;
    return 0;
}

static struct db *open_common(const char *path, enum open_mode mode, char *err,
                              size_t errlen)
{
    bool mem = strcmp(path, ":memory:") == 0;
    int flags = 0;
    struct db *db = open_handle(path, mode, mem, &flags, err, errlen);
    if (!db) {
        return NULL;
    }
    int64_t app = 0, ver = 0, ntables = 0;
    if (read_app_id(db, path, flags, mem, &app, err, errlen) != 0 ||
        pragma_int(db, "user_version", &ver, err, errlen) != 0 ||
        count_tables(db, &ntables, err, errlen) != 0 ||
        check_identity(path, app, ver, ntables, err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    db->schema = (int)ver;
    if (db->readonly) {
        /* Schema 2 is read as it is (rows); schema 1 lacks columns every
         * reader asks for. */
        if (ver < DB_SCHEMA_ROWS_VERSION) {
            err_set(err, errlen,
                    "%s: schema version %lld must be upgraded to %d before "
                    "it can be read, which needs write access (run any "
                    "migsim command that writes the store once)",
                    path, (long long)ver, DB_SCHEMA_VERSION);
            db_close(db);
            return NULL;
        }
    } else if (ready_to_write(db, path, mem, ver, err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    if (db_exec(db, "PRAGMA foreign_keys = ON", err, errlen) != 0 ||
        prepare_all(db, err, errlen) != 0) {
        db_close(db);
        return NULL;
    }
    return db;
}

struct db *db_open(const char *path, char *err, size_t errlen)
{
    return open_common(path, OPEN_CREATE, err, errlen);
}

struct db *db_open_existing(const char *path, char *err, size_t errlen)
{
    return open_common(path, OPEN_EXISTING, err, errlen);
}

struct db *db_open_readonly(const char *path, char *err, size_t errlen)
{
    return open_common(path, OPEN_READONLY, err, errlen);
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

void db_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s) {
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, i);
    }
}

void db_bind_field(sqlite3_stmt *st, int i, const struct run_field *f,
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

void db_read_field(sqlite3_stmt *st, int i, const struct run_field *f,
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

int db_step_done(struct db *db, sqlite3_stmt *st, char *err, size_t errlen,
                 const char *what)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : db_fail(db, err, errlen, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

/* ---- column readers ---------------------------------------------------- */

char *db_dup_col(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        return NULL;
    }
    const char *t = (const char *)sqlite3_column_text(st, i);
    return strdup(t ? t : "");
}

void db_copy_col(sqlite3_stmt *st, int i, char *buf, size_t len)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(buf, len, "%s", t ? t : "");
}

int db_run_exists(struct db *db, int64_t id, char *err, size_t errlen)
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
