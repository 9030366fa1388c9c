/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_db_kill.c — crash safety of the run store: a child process
 * writing a large run in batches is killed with SIGKILL mid-run (several
 * times, at different points); afterwards the file opens cleanly, passes
 * integrity_check and foreign_key_check, the runs finished earlier are
 * byte-for-byte the same (compared through their JSON export), and the
 * killed run is absent or marked incomplete holding only whole batches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/support/tmpdir.h"
#include "store/db.h"

#define BATCH       2000
#define N_DEV       2
#define ROUNDS      8
#define N_EARLIER   3
#define SEED_KILLED 1000

static char dbpath[128];

static int setup(void **state)
{
    (void)state;
    if (tu_tmpdir_setup("kill") != 0) {
        return -1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/runs.db", tu_tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmpdir_teardown();
}

static void fill_sample(struct run_sample *s, uint64_t i)
{
    memset(s, 0, sizeof(*s));
    s->t_ns = (int64_t)i * 1000000;
    s->iteration = i;
    s->estimate_bytes = 1000000000ull + i;
    s->threshold_bytes = 300000000;
    s->bandwidth_bps = 1.25e9;
    s->n_devices = N_DEV;
    for (unsigned d = 0; d < N_DEV; d++) {
        s->dev_reported_bytes[d] = i * 10 + d;
        s->dev_stop_copy_bytes[d] = i * 20 + d;
    }
}

static void make_meta(struct db_run_meta *m, uint64_t seed)
{
    db_run_meta_init(m);
    m->kind = DB_KIND_SIM;
    snprintf(m->qemu, sizeof(m->qemu), "9.1");
    snprintf(m->policy, sizeof(m->policy), "default");
    m->seed = seed;
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

static int64_t query_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The child: write one huge run batch by batch, reporting each commit. */
static void child_writer(int fd, uint64_t seed)
{
    char err[512];
    struct db *db = db_open_existing(dbpath, err, sizeof(err));
    if (!db) {
        fprintf(stderr, "child: %s\n", err);
        _exit(2);
    }
    struct db_run_meta m;
    make_meta(&m, seed);
    int64_t id;
    if (db_run_begin(db, &m, &id, err, sizeof(err)) != 0) {
        fprintf(stderr, "child: %s\n", err);
        _exit(2);
    }
    struct run_sample *batch = calloc(BATCH, sizeof(*batch));
    if (!batch) {
        _exit(2);
    }
    uint64_t i = 0;
    for (int b = 0; b < 1000; b++) {
        for (int k = 0; k < BATCH; k++, i++) {
            fill_sample(&batch[k], i);
        }
        if (db_run_add_samples(db, id, batch, BATCH, err, sizeof(err)) != 0) {
            fprintf(stderr, "child: %s\n", err);
            _exit(2);
        }
        struct run_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.t_ns = (int64_t)i;
        ev.kind = RUN_EV_SYNC;
        snprintf(ev.text, sizeof(ev.text), "batch %d", b);
        if (db_run_add_events(db, id, &ev, 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "child: %s\n", err);
            _exit(2);
        }
        if (write(fd, "b", 1) != 1) {
            _exit(2);
        }
    }
    /* Reaching this means the parent never killed us: a test failure. */
    _exit(3);
}

static void test_sigkill_mid_run(void **state)
{
    (void)state;
    char err[512];
    struct db *db = db_open(dbpath, err, sizeof(err));
    assert_non_null(db);
    char *earlier_json[N_EARLIER];
    int64_t earlier_id[N_EARLIER];
    for (int r = 0; r < N_EARLIER; r++) {
        struct run_result res;
        run_result_init(&res);
        for (uint64_t i = 0; i < 500; i++) {
            struct run_sample s;
            fill_sample(&s, i + (uint64_t)r);
            assert_int_equal(run_result_add_sample(&res, &s), 0);
        }
        assert_int_equal(
            run_result_add_event(&res, 1, RUN_EV_STATE, 0, 0, "completed"), 0);
        res.m.outcome = RUN_CONVERGED;
        res.m.total_ns = 1000 + r;
        res.m.n_devices = N_DEV;
        snprintf(res.m.devices[0].name, RUN_NAME_LEN, "dev-a");
        snprintf(res.m.devices[1].name, RUN_NAME_LEN, "dev-b");
        struct db_run_meta m;
        make_meta(&m, (uint64_t)r + 1);
        assert_int_equal(
            db_run_save(db, &m, &res, &earlier_id[r], err, sizeof(err)), 0);
        earlier_json[r] = export_json(db, earlier_id[r]);
        run_result_free(&res);
    }
    db_close(db);

    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_writer(fds[1], SEED_KILLED + (uint64_t)round);
        }
        close(fds[1]);
        /* Wait for 1..3 committed batches, then kill a varying time later
         * so the kill lands at different points of a transaction. */
        int want = 1 + round % 3;
        for (int k = 0; k < want; k++) {
            char c;
            if (read(fds[0], &c, 1) != 1) {
                fail_msg("round %d: child died before batch %d", round, k);
            }
        }
        struct timespec ts = {0, (long)(round * 2500000L) % 20000000L};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(fds[0]);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            fail_msg("round %d: child exited on its own (status %d)", round,
                     status);
        }

        db = db_open_existing(dbpath, err, sizeof(err));
        if (!db) {
            fail_msg("round %d: reopen: %s", round, err);
        }
        sqlite3 *h = (sqlite3 *)db_handle(db);
        sqlite3_stmt *st;
        assert_int_equal(
            sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL),
            SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        assert_int_equal(
            sqlite3_prepare_v2(h, "PRAGMA foreign_key_check", -1, &st, NULL),
            SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);

        for (int r = 0; r < N_EARLIER; r++) {
            char *now = export_json(db, earlier_id[r]);
            assert_string_equal(now, earlier_json[r]);
            free(now);
        }
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs WHERE seed = %d",
                 SEED_KILLED + round);
        int64_t present = query_int(h, sql);
        assert_true(present <= 1);
        if (present == 1) {
            snprintf(sql, sizeof(sql),
                     "SELECT id FROM runs WHERE seed = %d AND complete = 0",
                     SEED_KILLED + round);
            int64_t id = query_int(h, sql);
            struct db_run_meta m;
            struct run_result res;
            assert_int_equal(db_run_load(db, id, &m, &res, err, sizeof(err)),
                             0);
            assert_false(m.complete);
            assert_int_equal(res.m.outcome, RUN_INCOMPLETE);
            /* Only whole batches, at least those the child reported. */
            assert_int_equal(res.n_samples % BATCH, 0);
            assert_true(res.n_samples >= (size_t)want * BATCH);
            assert_true(res.n_events == res.n_samples / BATCH ||
                        res.n_events + 1 == res.n_samples / BATCH);
            for (size_t i = 0; i < res.n_samples; i++) {
                struct run_sample s;
                fill_sample(&s, i);
                if (memcmp(&s, &res.samples[i], sizeof(s)) != 0) {
                    fail_msg("round %d: sample %zu damaged", round, i);
                }
            }
            /* whole chunks only: one per batch (schema 3) */
            snprintf(sql, sizeof(sql),
                     "SELECT count(*) * %d - sum(n) FROM series_chunks WHERE "
                     "run_id = %lld",
                     BATCH, (long long)id);
            assert_int_equal(query_int(h, sql), 0);
            db_run_meta_free(&m);
            run_result_free(&res);
        }
        /* Every earlier killed run is still there, incomplete. */
        assert_int_equal(query_int(h, "SELECT count(*) FROM runs WHERE "
                                      "complete = 0"),
                         round + 1);
        /* The file still takes writes. */
        struct db_run_meta m;
        make_meta(&m, 5000 + (uint64_t)round);
        struct run_result res;
        run_result_init(&res);
        int64_t id;
        assert_int_equal(db_run_save(db, &m, &res, &id, err, sizeof(err)), 0);
        assert_int_equal(db_delete(db, id, err, sizeof(err)), 0);
        db_close(db);
    }
    for (int r = 0; r < N_EARLIER; r++) {
        free(earlier_json[r]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_mid_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
