/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * store/testvfs.c — a test hook: an sqlite3_vfs shim over the default VFS
 * that fails the Nth write, sync or lock of a process, in the style of
 * SQLite's own fault-injection tests.  Compiled in and inert: it is
 * registered only when MIGSIM_TEST_VFS_FAIL is set, to "write:N",
 * "sync:N" or "lock:N" (N from 1; lock counts xLock and the WAL's shared
 * memory lock acquisitions).  When it fires it prints one line
 * "migsim-test-vfs: failing write N" to stderr, so a test loop over every
 * N knows when N passed the session's last operation (no line).  See
 * docs/store.md, "Test hook".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"

enum tv_op { TV_WRITE = 0, TV_SYNC, TV_LOCK, TV_NONE };

static const char *const tv_names[] = {"write", "sync", "lock"};

/* Process-wide state of the hook (set once from the environment). */
static struct {
    int init;
    enum tv_op op;
    long long fail_at;
    long long count;
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
} tv;

struct tv_file {
    sqlite3_file base; /* pMethods = &tv_io */
    sqlite3_file *real;
};

static int tv_fire(enum tv_op op)
{
    if (op != tv.op) {
        return 0;
    }
    if (++tv.count != tv.fail_at) {
        return 0;
    }
    fprintf(stderr, "migsim-test-vfs: failing %s %lld\n", tv_names[op],
            tv.count);
    return 1;
}

#define REAL(f) (((struct tv_file *)(f))->real)

static int tv_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    sqlite3_free(REAL(f));
    return rc;
}
static int tv_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int tv_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    if (tv_fire(TV_WRITE)) {
        return SQLITE_IOERR_WRITE;
    }
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int tv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int tv_sync(sqlite3_file *f, int flags)
{
    if (tv_fire(TV_SYNC)) {
        return SQLITE_IOERR_FSYNC;
    }
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int tv_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int tv_lock(sqlite3_file *f, int lvl)
{
    if (tv_fire(TV_LOCK)) {
        return SQLITE_IOERR_LOCK;
    }
    return REAL(f)->pMethods->xLock(REAL(f), lvl);
}
static int tv_unlock(sqlite3_file *f, int lvl)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lvl);
}
static int tv_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int tv_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int tv_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int tv_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int tv_shm_map(sqlite3_file *f, int pg, int pgsz, int ext,
                      void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, ext, pp);
}
static int tv_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    if ((flags & SQLITE_SHM_LOCK) && tv_fire(TV_LOCK)) {
        return SQLITE_IOERR_SHMLOCK;
    }
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void tv_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int tv_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int tv_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int tv_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods tv_io3 = {
    3,
    tv_close,
    tv_read,
    tv_write,
    tv_truncate,
    tv_sync,
    tv_size,
    tv_lock,
    tv_unlock,
    tv_reserved,
    tv_fcntl,
    tv_sector,
    tv_devchar,
    tv_shm_map,
    tv_shm_lock,
    tv_shm_barrier,
    tv_shm_unmap,
    tv_fetch,
    tv_unfetch,
};
static const sqlite3_io_methods tv_io1 = {
    1,       tv_close,  tv_read,     tv_write, tv_truncate, tv_sync,    tv_size,
    tv_lock, tv_unlock, tv_reserved, tv_fcntl, tv_sector,   tv_devchar, NULL,
    NULL,    NULL,      NULL,        NULL,     NULL,
};

static int tv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
                   int flags, int *out_flags)
{
    struct tv_file *p = (struct tv_file *)f;
    p->base.pMethods = NULL;
    p->real = sqlite3_malloc(tv.real->szOsFile);
    if (!p->real) {
        return SQLITE_NOMEM;
    }
    memset(p->real, 0, (size_t)tv.real->szOsFile);
    int rc = tv.real->xOpen(tv.real, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK || !p->real->pMethods) {
        if (p->real->pMethods) {
            p->real->pMethods->xClose(p->real);
        }
        sqlite3_free(p->real);
        p->real = NULL;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    p->base.pMethods = p->real->pMethods->iVersion >= 3 ? &tv_io3 : &tv_io1;
    return SQLITE_OK;
}

static int tv_delete(sqlite3_vfs *v, const char *n, int sync)
{
    return tv.real->xDelete(tv.real, n, sync);
}
static int tv_access(sqlite3_vfs *v, const char *n, int fl, int *out)
{
    return tv.real->xAccess(tv.real, n, fl, out);
}
static int tv_fullname(sqlite3_vfs *v, const char *n, int len, char *out)
{
    return tv.real->xFullPathname(tv.real, n, len, out);
}
static void *tv_dlopen(sqlite3_vfs *v, const char *n)
{
    return tv.real->xDlOpen(tv.real, n);
}
static void tv_dlerror(sqlite3_vfs *v, int n, char *m)
{
    tv.real->xDlError(tv.real, n, m);
}
static void (*tv_dlsym(sqlite3_vfs *v, void *h, const char *s))(void)
{
    return tv.real->xDlSym(tv.real, h, s);
}
static void tv_dlclose(sqlite3_vfs *v, void *h)
{
    tv.real->xDlClose(tv.real, h);
}
static int tv_random(sqlite3_vfs *v, int n, char *out)
{
    return tv.real->xRandomness(tv.real, n, out);
}
static int tv_sleep(sqlite3_vfs *v, int us)
{
    return tv.real->xSleep(tv.real, us);
}
static int tv_time(sqlite3_vfs *v, double *t)
{
    return tv.real->xCurrentTime(tv.real, t);
}
static int tv_lasterr(sqlite3_vfs *v, int n, char *m)
{
    return tv.real->xGetLastError ? tv.real->xGetLastError(tv.real, n, m) : 0;
}
static int tv_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    return tv.real->xCurrentTimeInt64(tv.real, t);
}

const char *db_test_vfs(void)
{
    if (tv.init) {
        return tv.op == TV_NONE ? NULL : tv.vfs.zName;
    }
    tv.init = 1;
    tv.op = TV_NONE;
    const char *spec = getenv("MIGSIM_TEST_VFS_FAIL");
    if (!spec || !*spec) {
        return NULL;
    }
    for (int i = 0; i < TV_NONE; i++) {
        size_t l = strlen(tv_names[i]);
        if (strncmp(spec, tv_names[i], l) == 0 && spec[l] == ':') {
            char *end;
            long long n = strtoll(spec + l + 1, &end, 10);
            if (*end == '\0' && n > 0) {
                tv.op = (enum tv_op)i;
                tv.fail_at = n;
            }
        }
    }
    tv.real = sqlite3_vfs_find(NULL);
    if (tv.op == TV_NONE || !tv.real) {
        fprintf(stderr,
                "migsim-test-vfs: MIGSIM_TEST_VFS_FAIL=%s: want write:N, "
                "sync:N or lock:N (N >= 1); ignored\n",
                spec);
        tv.op = TV_NONE;
        return NULL;
    }
    tv.vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct tv_file),
        .mxPathname = tv.real->mxPathname,
        .zName = "migsim-test-fault",
        .xOpen = tv_open,
        .xDelete = tv_delete,
        .xAccess = tv_access,
        .xFullPathname = tv_fullname,
    };
    /* the rest passes straight through to the real VFS */
    tv.vfs.xDlOpen = tv_dlopen;
    tv.vfs.xDlError = tv_dlerror;
    tv.vfs.xDlSym = tv_dlsym;
    tv.vfs.xDlClose = tv_dlclose;
    tv.vfs.xRandomness = tv_random;
    tv.vfs.xSleep = tv_sleep;
    tv.vfs.xCurrentTime = tv_time;
    tv.vfs.xGetLastError = tv_lasterr;
    tv.vfs.xCurrentTimeInt64 = tv_time64;
    if (sqlite3_vfs_register(&tv.vfs, 0) != SQLITE_OK) {
        tv.op = TV_NONE;
        return NULL;
    }
    return tv.vfs.zName;
}
