/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_trc_rss.c — memory stays bounded whatever the trace length.
 *
 * A generated trace (the lines of a spinning VFIO migration, log-tid
 * prefix) is replayed in a child process at length L and 10 L, once from a
 * file (mapped in windows) and once from a pipe on stdin (read through
 * zlib); the child reports its peak RSS (getrusage ru_maxrss) and whether
 * it saw every iteration.  The 10 L run must stay under 64 MiB and within
 * 12 MiB of the L run (linear growth would show tens of MiB).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "traces/replay.h"

#define BASE_ITERATIONS 20000u

static void generate(FILE *f, unsigned iterations)
{
    uint64_t t = 1700000000ull * 1000000;
    fprintf(f, "4242@%llu.%06llu:migrate_set_state new state active\n",
            (unsigned long long)(t / 1000000),
            (unsigned long long)(t % 1000000));
    for (unsigned i = 0; i < iterations; i++) {
        unsigned long long s = t / 1000000, u = t % 1000000;
        fprintf(f,
                "4242@%llu.%06llu:vfio_state_pending_estimate  "
                "(0000:3b:00.1) precopy 0 postcopy 0 precopy initial size 0 "
                "precopy dirty size 0\n"
                "4242@%llu.%06llu:migrate_pending_estimate estimate pending "
                "size %u (pre = %u post=0)\n"
                "4242@%llu.%06llu:migration_bitmap_sync_start \n"
                "4242@%llu.%06llu:migration_bitmap_sync_end dirty_pages %u\n"
                "4242@%llu.%06llu:vfio_state_pending_exact  (0000:3b:00.1) "
                "precopy 21038628864 postcopy 0 stopcopy size 21038628864 "
                "precopy initial size 0 precopy dirty size 0\n"
                "4242@%llu.%06llu:migrate_pending_exact exact pending size "
                "%llu (pre = %llu post=0)\n"
                "4242@%llu.%06llu:migrate_transferred transferred 1048576 "
                "time_spent 100 bandwidth 10485 switchover_bw 0 max_size "
                "3145728\n"
                "4242@%llu.%06llu:savevm_state_iterate \n",
                s, u, s, u, i % 4096 * 4096, i % 4096 * 4096, s, u + 1, s,
                u + 20, i % 1000, s, u + 21, s, u + 22,
                21038628864ull + i % 4096 * 4096,
                21038628864ull + i % 4096 * 4096, s, u + 23, s, u + 24);
        t += 80000;
    }
}

enum mode { FILE_SERIAL, FILE_THREAD, PIPE };

/* Replay in a child; returns its peak RSS in KiB, or -1 if the replay
 * failed or missed iterations. */
static long child_replay(const char *path, enum mode mode, unsigned iterations)
{
    bool pipe_in = mode == PIPE;
    int res[2];
    assert_int_equal(pipe(res), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(res[0]);
        if (pipe_in) {
            int p[2];
            if (pipe(p) != 0) {
                _exit(2);
            }
            pid_t g = fork();
            if (g == 0) {
                close(p[0]);
                FILE *f = fdopen(p[1], "w");
                generate(f, iterations);
                fclose(f);
                _exit(0);
            }
            close(p[1]);
            dup2(p[0], 0);
            close(p[0]);
        }
        struct trc_replay_options o;
        memset(&o, 0, sizeof(o));
        o.reader.no_events = true;
        o.reader.no_threads = mode == FILE_SERIAL;
        o.reader.force_threads = mode == FILE_THREAD;
        struct trc_replay r;
        char err[256];
        const char *files[] = {pipe_in ? "-" : path};
        long rss = -1;
        if (trc_replay_run(files, 1, &o, &r, err, sizeof(err)) == 0) {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            bool all = r.run.m.iterations == iterations &&
                       r.run.m.exact_calls == iterations &&
                       r.stats.malformed == 0 &&
                       r.run.m.bitmap_syncs == iterations;
            rss = all ? ru.ru_maxrss : -1;
            trc_replay_free(&r);
        } else {
            fprintf(stderr, "replay: %s\n", err);
        }
        if (write(res[1], &rss, sizeof(rss)) != sizeof(rss)) {
            _exit(3);
        }
        _exit(0);
    }
    close(res[1]);
    long rss = -1;
    if (read(res[0], &rss, sizeof(rss)) != sizeof(rss)) {
        rss = -1;
    }
    close(res[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return rss;
}

static void check_bounded(enum mode mode)
{
    bool pipe_in = mode == PIPE;
    char p1[] = "/tmp/trc_rss1XXXXXX", p10[] = "/tmp/trc_rss10XXXXXX";
    if (!pipe_in) {
        int fd = mkstemp(p1);
        FILE *f = fdopen(fd, "w");
        generate(f, BASE_ITERATIONS);
        fclose(f);
        fd = mkstemp(p10);
        f = fdopen(fd, "w");
        generate(f, BASE_ITERATIONS * 10);
        fclose(f);
    }
    long r1 = child_replay(p1, mode, BASE_ITERATIONS);
    long r10 = child_replay(p10, mode, BASE_ITERATIONS * 10);
    if (!pipe_in) {
        unlink(p1);
        unlink(p10);
    }
    static const char *const names[] = {"file", "file, helper thread", "pipe"};
    print_message("%s: max RSS %ld KiB at L, %ld KiB at 10 L\n", names[mode],
                  r1, r10);
    assert_true(r1 > 0);
    assert_true(r10 > 0);
    assert_true(r10 < 64 * 1024);
    /* a few windows and chunks of slack; anything kept per iteration
     * would add tens of MiB here */
    assert_true(r10 - r1 < 12 * 1024);
}

static void test_rss_file(void **state)
{
    (void)state;
    check_bounded(FILE_SERIAL);
}

static void test_rss_file_thread(void **state)
{
    (void)state;
    check_bounded(FILE_THREAD);
}

static void test_rss_pipe(void **state)
{
    (void)state;
    check_bounded(PIPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rss_file),
        cmocka_unit_test(test_rss_file_thread),
        cmocka_unit_test(test_rss_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
