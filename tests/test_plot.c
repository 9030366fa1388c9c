/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_plot.c — figures rendered by the real gnuplot: every kind to
 * PNG and SVG, the .dat files hold the runs' data, the script re-renders,
 * failures of gnuplot are reported with status and stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/tmpdir.h"
#include "plots/plot.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_setup("plot");
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("MIGSIM_GNUPLOT");
    return tu_tmpdir_teardown();
}

static void assert_image(const char *path)
{
    size_t len;
    char *b = tu_slurp(path, &len);
    if (strstr(path, ".png")) {
        assert_true(len > 1000);
        assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
    } else {
        assert_true(len > 1000);
        assert_non_null(strstr(b, "<svg"));
        assert_non_null(strstr(b, "</svg>"));
    }
    free(b);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* A converging run: estimate falls towards the threshold, exact() now and
 * then, two devices, state changes, syncs and a parameter change. */
static void make_run(struct run_result *r, struct db_run_meta *m, int64_t id,
                     const char *policy, double scale, enum run_outcome oc)
{
    run_result_init(r);
    db_run_meta_init(m);
    m->id = id;
    snprintf(m->policy, sizeof(m->policy), "%s", policy);
    snprintf(r->m.policy, sizeof(r->m.policy), "%s", policy);
    r->m.outcome = oc;
    r->m.total_ns = (int64_t)(20e9 * scale);
    r->m.downtime_ns = (int64_t)(280e6 * scale);
    r->m.downtime_limit_ns = 300000000;
    r->m.exact_calls = (uint64_t)(12 * scale);
    r->m.sync_time_ns = (int64_t)(45e6 * scale);
    r->m.n_devices = 2;
    snprintf(r->m.devices[0].name, RUN_NAME_LEN, "vfio-gpu0");
    snprintf(r->m.devices[1].name, RUN_NAME_LEN, "virtio-net");
    for (int i = 0; i < 200; i++) {
        struct run_sample s;
        memset(&s, 0, sizeof(s));
        s.t_ns = (int64_t)i * 100000000;
        s.iteration = (uint64_t)i;
        s.estimate_bytes = (uint64_t)(21e9 * exp(-i / 40.0) * scale) + 1000;
        s.exact_called = i % 10 == 0;
        s.exact_bytes = s.exact_called ? s.estimate_bytes + 12345 : 0;
        s.threshold_bytes = i < 3 ? 0 : 375000000;
        s.ram_dirty_bytes = s.estimate_bytes / 2;
        s.n_devices = 2;
        s.dev_reported_bytes[0] = (uint64_t)(4e9 * exp(-i / 80.0));
        s.dev_reported_bytes[1] = 65536;
        s.dev_stop_copy_bytes[0] = 512u << 20;
        assert_int_equal(run_result_add_sample(r, &s), 0);
    }
    run_result_add_event(r, 0, RUN_EV_STATE, 0, 0, "setup");
    run_result_add_event(r, 100000000, RUN_EV_STATE, 0, 0, "active");
    for (int k = 0; k < 20; k++) {
        run_result_add_event(r, (int64_t)k * 1000000000, RUN_EV_SYNC, 1000,
                             2000000, "%s", "");
    }
    run_result_add_event(r, 5000000000, RUN_EV_PARAM, 0, 0,
                         "downtime-limit=300");
    run_result_add_event(r, 19900000000, RUN_EV_STATE, 0, 0, "completed");
}

static void test_timeline_png_svg(void **state)
{
    (void)state;
    struct run_result r;
    struct db_run_meta m;
    make_run(&r, &m, 7, "default", 1.0, RUN_CONVERGED);
    struct plot_run pr = {.meta = &m, .res = &r};
    char err[2048];
    static const char *const outs[] = {"tl.png", "tl2.svg"};
    for (int k = 0; k < 2; k++) {
        int rc = plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath(outs[k]), NULL, err,
                           sizeof(err));
        if (rc != 0) {
            fail_msg("timeline: %s", err);
        }
        assert_string_equal(err, ""); /* no gnuplot warnings */
        assert_image(tu_tpath(outs[k]));
    }
    /* The data file holds the series. */
    char *dat = tu_slurp(tu_tpath("tl-run0.dat"), NULL);
    assert_int_equal(count_lines(dat), 1 + 200);
    assert_non_null(strstr(dat, "\"vfio-gpu0 reported\""));
    assert_non_null(strstr(dat, "\"virtio-net reported\""));
    char *line = strchr(dat, '\n') + 1;
    for (size_t i = 0; i < r.n_samples; i++) {
        double t, est;
        assert_int_equal(sscanf(line, "%lf\t%lf", &t, &est), 2);
        assert_true(fabs(t - (double)r.samples[i].t_ns / 1e9) < 1e-9);
        assert_true(fabs(est - (double)r.samples[i].estimate_bytes) <=
                    1e-9 * est);
        /* exact() only where it was called; threshold 0 is missing. */
        char *tab = strchr(strchr(line, '\t') + 1, '\t') + 1;
        if (r.samples[i].exact_called) {
            assert_true(strtod(tab, NULL) == (double)r.samples[i].exact_bytes);
        } else {
            assert_memory_equal(tab, "NaN", 3);
        }
        line = strchr(line, '\n') + 1;
    }
    free(dat);
    char *st = tu_slurp(tu_tpath("tl-run0-states.dat"), NULL);
    assert_non_null(strstr(st, "\"active\""));
    assert_non_null(strstr(st, "\"completed\""));
    free(st);
    char *sy = tu_slurp(tu_tpath("tl-run0-syncs.dat"), NULL);
    assert_int_equal(count_lines(sy), 21);
    free(sy);
    char *ev = tu_slurp(tu_tpath("tl-run0-events.dat"), NULL);
    assert_non_null(strstr(ev, "\"param: downtime-limit=300\""));
    free(ev);
    char *gp = tu_slurp(tu_tpath("tl2.gp"), NULL);
    assert_non_null(strstr(gp, "set terminal svg"));
    assert_non_null(strstr(gp, "migsim_output = 'tl2.svg'"));
    assert_non_null(strstr(gp, "set logscale y"));
    free(gp);
    run_result_free(&r);
}

static void test_rerender_script(void **state)
{
    (void)state;
    struct run_result r;
    struct db_run_meta m;
    make_run(&r, &m, 3, "p", 1.0, RUN_CONVERGED);
    struct plot_run pr = {.meta = &m, .res = &r};
    char err[2048];
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath("re.png"), NULL,
                               err, sizeof(err)),
                     0);
    assert_int_equal(unlink(tu_tpath("re.png")), 0);
    /* What a user does after editing re.gp. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(tu_tmpdir) != 0) {
            _exit(126);
        }
        execlp("gnuplot", "gnuplot", "re.gp", (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_image(tu_tpath("re.png"));
    run_result_free(&r);
}

static void test_compare_cdf_sweep(void **state)
{
    (void)state;
    enum { N = 9 };
    struct run_result r[N];
    struct db_run_meta m[N];
    struct plot_run pr[N];
    for (int i = 0; i < N; i++) {
        make_run(&r[i], &m[i], 10 + i, i % 2 ? "exact-every:5" : "default",
                 0.6 + 0.1 * i, i == 4 ? RUN_TIMEOUT : RUN_CONVERGED);
        pr[i] = (struct plot_run){.meta = &m[i], .res = &r[i]};
        pr[i].x = 1e9 * (1 + i % 3);
        pr[i].y = 100 + 50 * (i / 3);
    }
    char err[2048];
    static const char *const exts[] = {"png", "svg"};
    for (int e = 0; e < 2; e++) {
        char name[64];
        snprintf(name, sizeof(name), "cmp.%s", exts[e]);
        if (plot_runs(PLOT_COMPARE, pr, 3, tu_tpath(name), NULL, err,
                      sizeof(err)) != 0) {
            fail_msg("compare: %s", err);
        }
        assert_string_equal(err, "");
        assert_image(tu_tpath(name));
        snprintf(name, sizeof(name), "cdf.%s", exts[e]);
        if (plot_runs(PLOT_CDF, pr, N, tu_tpath(name), NULL, err,
                      sizeof(err)) != 0) {
            fail_msg("cdf: %s", err);
        }
        assert_string_equal(err, "");
        assert_image(tu_tpath(name));
        struct plot_opts o = {.x_name = "vm.dirty_rate"};
        snprintf(name, sizeof(name), "front.%s", exts[e]);
        if (plot_runs(PLOT_SWEEP, pr, N, tu_tpath(name), &o, err,
                      sizeof(err)) != 0) {
            fail_msg("sweep: %s", err);
        }
        assert_string_equal(err, "");
        assert_image(tu_tpath(name));
        o.y_name = "migration.downtime_limit";
        snprintf(name, sizeof(name), "heat.%s", exts[e]);
        if (plot_runs(PLOT_SWEEP, pr, N, tu_tpath(name), &o, err,
                      sizeof(err)) != 0) {
            fail_msg("heat: %s", err);
        }
        assert_string_equal(err, "");
        assert_image(tu_tpath(name));
    }
    /* compare.dat: one row per run with its label and figures. */
    char *d = tu_slurp(tu_tpath("cmp.dat"), NULL);
    assert_int_equal(count_lines(d), 4);
    char want[512];
    snprintf(want, sizeof(want),
             "\n1\t%.10g\t%.10g\t300\t%.10g\t%.10g\t1\t"
             "\"#11 exact-every:5\"\n",
             (double)r[1].m.total_ns / 1e9, (double)r[1].m.downtime_ns / 1e6,
             (double)r[1].m.exact_calls, (double)r[1].m.sync_time_ns / 1e6);
    assert_non_null(strstr(d, want));
    free(d);
    /* cdf: the default group is the policy; values sorted, fractions. */
    d = tu_slurp(tu_tpath("cdf-g0.dat"), NULL);
    assert_non_null(strstr(d, "\"default: 4 of 5 switched over\""));
    snprintf(want, sizeof(want), "\n%.10g\t0\n%.10g\t0.2\n%.10g\t0.4\n",
             (double)r[0].m.downtime_ns / 1e6, (double)r[0].m.downtime_ns / 1e6,
             (double)r[2].m.downtime_ns / 1e6);
    assert_non_null(strstr(d, want));
    /* Run 14 (a timeout) has no downtime: 4 points, the last at 0.8, and
     * the curve stays flat at 0.8 to the right edge. */
    assert_int_equal(count_lines(d), 1 + 1 + 4 + 1);
    assert_non_null(strstr(d, "\t0.8\n"));
    assert_null(strstr(d, "\t1\n"));
    free(d);
    d = tu_slurp(tu_tpath("cdf-g1.dat"), NULL);
    assert_non_null(strstr(d, "\"exact-every:5: "));
    assert_int_equal(count_lines(d), 1 + 1 + 4 + 1);
    free(d);
    /* sweep frontier: per group sorted by x; the timeout flagged 0. */
    d = tu_slurp(tu_tpath("front-g0.dat"), NULL);
    assert_int_equal(count_lines(d), 1 + 5);
    snprintf(want, sizeof(want),
             "\n2000000000\tNaN\t%.10g\t0\t300\t\"#14 default\"\n",
             (double)r[4].m.total_ns / 1e9);
    assert_non_null(strstr(d, want));
    double prev = 0;
    for (char *l = strchr(d, '\n') + 1; *l; l = strchr(l, '\n') + 1) {
        double x = strtod(l, NULL);
        assert_true(x >= prev);
        prev = x;
    }
    free(d);
    d = tu_slurp(tu_tpath("heat.dat"), NULL);
    assert_int_equal(count_lines(d), 1 + N);
    free(d);
    char *gp = tu_slurp(tu_tpath("heat.gp"), NULL);
    assert_non_null(strstr(gp, "set xlabel 'vm.dirty_rate'"));
    assert_non_null(strstr(gp, "set ylabel 'migration.downtime_limit'"));
    free(gp);
    /* A sweep needs values. */
    pr[2].x = NAN;
    struct plot_opts o = {.x_name = "x"};
    assert_int_equal(
        plot_runs(PLOT_SWEEP, pr, N, tu_tpath("bad.png"), &o, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "#12"));
    for (int i = 0; i < N; i++) {
        run_result_free(&r[i]);
    }
}

static void test_multi_timeline_and_dir(void **state)
{
    (void)state;
    struct run_result r[3];
    struct db_run_meta m[3];
    struct plot_run pr[3];
    for (int i = 0; i < 3; i++) {
        make_run(&r[i], &m[i], 30 + i, "default", 1.0 + i, RUN_CONVERGED);
        pr[i] = (struct plot_run){.meta = &m[i], .res = &r[i]};
    }
    /* An incomplete run with no samples and no events still draws. */
    run_result_free(&r[2]);
    run_result_init(&r[2]);
    r[2].m.outcome = RUN_INCOMPLETE;
    char err[2048];
    if (plot_runs(PLOT_TIMELINE, pr, 3, tu_tpath("multi.png"), NULL, err,
                  sizeof(err)) != 0) {
        fail_msg("multi: %s", err);
    }
    assert_image(tu_tpath("multi.png"));
    assert_int_equal(access(tu_tpath("multi-run1.dat"), R_OK), 0);
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/sub/plots", tu_tmpdir);
    int n = plot_to_dir(dir, pr, 2, "svg", err, sizeof(err));
    if (n != 4) {
        fail_msg("plot_to_dir: %d: %s", n, err);
    }
    assert_image(tu_tpath("sub/plots/timeline-30.svg"));
    assert_image(tu_tpath("sub/plots/timeline-31.svg"));
    assert_image(tu_tpath("sub/plots/compare.svg"));
    assert_image(tu_tpath("sub/plots/cdf.svg"));
    for (int i = 0; i < 3; i++) {
        run_result_free(&r[i]);
    }
}

static void test_gnuplot_failures(void **state)
{
    (void)state;
    struct run_result r;
    struct db_run_meta m;
    make_run(&r, &m, 1, "default", 1.0, RUN_CONVERGED);
    struct plot_run pr = {.meta = &m, .res = &r};
    char err[2048];
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath("x.pdf"), NULL,
                               err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, ".png or .svg"));
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 0, tu_tpath("x.png"), NULL,
                               err, sizeof(err)),
                     -1);

    setenv("MIGSIM_GNUPLOT", "/nonexistent/gnuplot", 1);
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath("f1.png"), NULL,
                               err, sizeof(err)),
                     PLOT_ERR_GNUPLOT);
    assert_non_null(strstr(err, "exit status 127"));
    assert_non_null(strstr(err, "cannot run /nonexistent/gnuplot"));

    /* A gnuplot that fails with a message: status and stderr reported. */
    FILE *f = fopen(tu_tpath("fake-gnuplot"), "w");
    assert_non_null(f);
    fputs("#!/bin/sh\necho \"line 3: undefined variable: zz\" >&2\nexit 3\n",
          f);
    fclose(f);
    assert_int_equal(chmod(tu_tpath("fake-gnuplot"), 0755), 0);
    setenv("MIGSIM_GNUPLOT", tu_tpath("fake-gnuplot"), 1);
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath("f2.png"), NULL,
                               err, sizeof(err)),
                     PLOT_ERR_GNUPLOT);
    assert_non_null(strstr(err, "exit status 3: line 3: undefined variable"));

    /* One that succeeds without drawing anything. */
    setenv("MIGSIM_GNUPLOT", "/bin/true", 1);
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath("f3.png"), NULL,
                               err, sizeof(err)),
                     PLOT_ERR_GNUPLOT);
    assert_non_null(strstr(err, "no image"));

    /* One that hangs is killed at the time limit. */
    f = fopen(tu_tpath("slow-gnuplot"), "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nexec sleep 30\n", f);
    fclose(f);
    assert_int_equal(chmod(tu_tpath("slow-gnuplot"), 0755), 0);
    setenv("MIGSIM_GNUPLOT", tu_tpath("slow-gnuplot"), 1);
    struct plot_opts o = {.timeout_s = 1};
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath("f4.png"), &o,
                               err, sizeof(err)),
                     PLOT_ERR_GNUPLOT);
    assert_non_null(strstr(err, "killed after 1 s"));
    unsetenv("MIGSIM_GNUPLOT");

    /* The real gnuplot failing on a broken script (a data file removed
     * behind its back is an error, not a crash). */
    o = (struct plot_opts){.no_render = true};
    assert_int_equal(plot_runs(PLOT_TIMELINE, &pr, 1, tu_tpath("nr.png"), &o,
                               err, sizeof(err)),
                     0);
    assert_int_equal(access(tu_tpath("nr.png"), F_OK), -1);
    assert_int_equal(access(tu_tpath("nr.gp"), R_OK), 0);
    run_result_free(&r);
}

static void test_names(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(plot_safe_name("run-1.2_x", buf, sizeof(buf)),
                        "run-1.2_x");
    assert_string_equal(plot_safe_name("a'b`c\"d e\n", buf, sizeof(buf)),
                        "a_b_c_d_e_");
    assert_string_equal(plot_safe_name("-x", buf, sizeof(buf)), "_x");
    assert_string_equal(plot_safe_name(".hidden", buf, sizeof(buf)), "_hidden");
    assert_string_equal(plot_safe_name("", buf, sizeof(buf)), "plot");
    assert_string_equal(
        plot_safe_text("vm.dirty_rate B/s=1%", buf, sizeof(buf)),
        "vm.dirty_rate B/s=1%");
    assert_string_equal(plot_safe_text("f(x)", buf, sizeof(buf)), "f_x_");
    assert_string_equal(plot_safe_text("a'\"`\\$@!;\nb", buf, sizeof(buf)),
                        "a_________b");
    enum plot_kind k;
    assert_int_equal(plot_kind_from_name("cdf", &k), 0);
    assert_int_equal(k, PLOT_CDF);
    assert_int_equal(plot_kind_from_name("pie", &k), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeline_png_svg),
        cmocka_unit_test(test_rerender_script),
        cmocka_unit_test(test_compare_cdf_sweep),
        cmocka_unit_test(test_multi_timeline_and_dir),
        cmocka_unit_test(test_gnuplot_failures),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
