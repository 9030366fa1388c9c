/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_plot_hostile.c — input text crafted to make gnuplot run shell
 * commands (quotes closing a string, system(), backquotes, '!' lines,
 * newlines, '@' macros) in device names, policies, event text, labels,
 * groups, sweep axis names and the output file name.  Every kind is
 * rendered to PNG and SVG by the real gnuplot; no marker file may appear
 * and the figures must still render.  A control run proves that the same
 * payload in a script does create the marker, so the check can fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/tmpdir.h"
#include "plots/plot.h"

static char marker[96]; /* absolute path the payloads try to create */

static int setup(void **state)
{
    (void)state;
    if (tu_tmpdir_setup("hostile") != 0) {
        return -1;
    }
    snprintf(marker, sizeof(marker), "%s/PWNED", tu_tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmpdir_teardown();
}

/* Any file whose name starts with PWNED anywhere under tu_tmpdir or in cwd. */
static int found_pwned;
static int find_cb(const char *p, const struct stat *sb, int flag,
                   struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    if (strncmp(p + ftw->base, "PWNED", 5) == 0 ||
        strcmp(p + ftw->base, "ZAP") == 0) {
        fprintf(stderr, "payload ran: %s exists\n", p);
        found_pwned++;
    }
    return 0;
}

static void assert_no_marker(void)
{
    found_pwned = 0;
    assert_int_equal(nftw(tu_tmpdir, find_cb, 16, FTW_PHYS), 0);
    assert_int_equal(access("PWNED", F_OK), -1);
    assert_int_equal(access("ZAP", F_OK), -1);
    assert_int_equal(found_pwned, 0);
}

static void assert_image(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fail_msg("no image %s", path);
    }
    assert_true(st.st_size > 1000);
}

static char payload1[512], payload2[512], payload3[512], payload4[512];

static void make_payloads(void)
{
    /* Close a quoted string and call system(). */
    snprintf(payload1, sizeof(payload1), "a'\"; system(\"touch %s\") ; \"",
             marker);
    /* Backquote substitution and a new line that is a shell escape. */
    snprintf(payload2, sizeof(payload2),
             "x`touch %s2`y\n!touch %s3\nset output '%s4'", marker, marker,
             marker);
    /* Macro and eval. */
    snprintf(payload3, sizeof(payload3),
             "@x \\' eval(system('touch %s5')) \\\n", marker);
    /* Single-quoted string break-out. */
    snprintf(payload4, sizeof(payload4), "'.system('touch %s6').'", marker);
}

static void make_run(struct run_result *r, struct db_run_meta *m, int64_t id,
                     const char *policy, int scale)
{
    run_result_init(r);
    db_run_meta_init(m);
    m->id = id;
    snprintf(m->policy, sizeof(m->policy), "%s", policy);
    snprintf(r->m.policy, sizeof(r->m.policy), "%s", policy);
    r->m.outcome = scale % 2 ? RUN_CONVERGED : RUN_FAILED;
    r->m.total_ns = 1000000000LL * scale;
    r->m.downtime_ns = 100000000LL * scale;
    r->m.downtime_limit_ns = 300000000;
    r->m.exact_calls = (uint64_t)scale;
    r->m.n_devices = 3;
    snprintf(r->m.devices[0].name, RUN_NAME_LEN, "%.63s", payload1);
    snprintf(r->m.devices[1].name, RUN_NAME_LEN, "%.63s", payload2);
    snprintf(r->m.devices[2].name, RUN_NAME_LEN, "%.63s", payload4);
    for (int i = 0; i < 50; i++) {
        struct run_sample s;
        memset(&s, 0, sizeof(s));
        s.t_ns = (int64_t)i * 100000000;
        s.estimate_bytes = (uint64_t)(50 - i) * 100000000ull * (uint64_t)scale;
        s.threshold_bytes = 300000000;
        s.exact_called = i % 5 == 0;
        s.exact_bytes = s.estimate_bytes;
        s.n_devices = 3;
        s.dev_reported_bytes[0] = 1000000;
        s.dev_reported_bytes[1] = 2000000;
        s.dev_reported_bytes[2] = 3000000;
        assert_int_equal(run_result_add_sample(r, &s), 0);
    }
    run_result_add_event(r, 0, RUN_EV_STATE, 0, 0, "%s", payload1);
    run_result_add_event(r, 100000000, RUN_EV_STATE, 0, 0, "%s", payload2);
    run_result_add_event(r, 200000000, RUN_EV_DEVICE, 0, 0, "%s", payload3);
    run_result_add_event(r, 300000000, RUN_EV_NOTE, 0, 0, "%s", payload4);
    run_result_add_event(r, 400000000, RUN_EV_SYNC, 5, 1000000, "%s", payload1);
}

/* The .gp script must not contain any byte sequence of the payloads. */
static void assert_script_clean(const char *gp_path)
{
    char *gp = tu_slurp(gp_path, NULL);
    assert_null(strstr(gp, "system("));
    assert_null(strchr(gp, '`'));
    assert_null(strchr(gp, '"'));
    assert_null(strchr(gp, '!'));
    assert_null(strchr(gp, '@'));
    assert_null(strstr(gp, "eval("));
    /* Each line opens and closes its single-quoted strings in pairs, so
     * no input text ended a string early. */
    for (char *l = gp; *l;) {
        char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        int q = 0;
        for (size_t i = 0; i < len; i++) {
            q += l[i] == '\'';
        }
        if (q % 2) {
            fail_msg("unbalanced quotes in %s: %.*s", gp_path, (int)len, l);
        }
        l += len + (nl ? 1 : 0);
    }
    free(gp);
}

static void test_control_payload_would_run(void **state)
{
    (void)state;
    make_payloads();
    /* Put payload1's system() call into a script the naive way: this is
     * what the plots must never do. */
    char gp[512];
    snprintf(gp, sizeof(gp), "%s/control.gp", tu_tmpdir);
    FILE *f = fopen(gp, "w");
    assert_non_null(f);
    fprintf(f, "set title \"%s\"\n", payload1);
    fclose(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 2);
        execlp("gnuplot", "gnuplot", gp, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(access(marker, F_OK), 0); /* the payload works */
    found_pwned = 0;
    assert_int_equal(nftw(tu_tmpdir, find_cb, 16, FTW_PHYS), 0);
    assert_true(found_pwned > 0); /* and the detector sees it */
    assert_int_equal(unlink(marker), 0);
    assert_int_equal(unlink(gp), 0);
    assert_no_marker();
}

static void test_hostile_names_all_kinds(void **state)
{
    (void)state;
    make_payloads();
    enum { N = 4 };
    struct run_result r[N];
    struct db_run_meta m[N];
    struct plot_run pr[N];
    const char *pols[N] = {payload1, payload2, payload3, payload4};
    for (int i = 0; i < N; i++) {
        make_run(&r[i], &m[i], i + 1, pols[i], i + 1);
        pr[i] = (struct plot_run){.meta = &m[i], .res = &r[i]};
        pr[i].x = (double)(i % 2);
        pr[i].y = (double)(i / 2);
    }
    pr[0].label = payload2;
    pr[1].group = payload1;
    pr[2].label = payload3;
    char err[4096];
    static const char *const exts[] = {"png", "svg"};
    for (int e = 0; e < 2; e++) {
        for (int k = PLOT_TIMELINE; k <= PLOT_CDF; k++) {
            for (int heat = 0; heat < (k == PLOT_SWEEP ? 2 : 1); heat++) {
                /* A hostile output name too: quote, backquote, space. */
                char out[600], gp[600];
                snprintf(out, sizeof(out), "%s/o'`touch ZAP` %s%d.%s",
                         tu_tmpdir, plot_kind_name(k), heat, exts[e]);
                struct plot_opts o = {.x_name = payload1,
                                      .y_name = heat ? payload4 : NULL};
                int rc =
                    plot_runs((enum plot_kind)k, pr, k == PLOT_TIMELINE ? 2 : N,
                              out, &o, err, sizeof(err));
                if (rc != 0) {
                    fail_msg("%s %s: %s", plot_kind_name(k), exts[e], err);
                }
                assert_image(out);
                snprintf(gp, sizeof(gp), "%s/o__touch_ZAP__%s%d.gp", tu_tmpdir,
                         plot_kind_name(k), heat);
                assert_script_clean(gp);
                assert_no_marker();
            }
        }
    }
    /* The names still reach the figures, through the data files. */
    char dat[600];
    snprintf(dat, sizeof(dat), "%s/o__touch_ZAP__timeline0-run0.dat",
             tu_tmpdir);
    char *d = tu_slurp(dat, NULL);
    assert_non_null(strstr(d, "\"a'_; system(_touch "));
    free(d);
    snprintf(dat, sizeof(dat), "%s/o__touch_ZAP__timeline0-run0-states.dat",
             tu_tmpdir);
    d = tu_slurp(dat, NULL);
    /* Quotes, backquotes and newlines are gone from the label field. */
    assert_non_null(strstr(d, "\"x_touch "));
    assert_non_null(strstr(d, "2_y_!touch "));
    assert_int_equal((int)strlen(d) > 0, 1);
    free(d);
    for (int i = 0; i < N; i++) {
        run_result_free(&r[i]);
    }
    assert_no_marker();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_payload_would_run),
        cmocka_unit_test(test_hostile_names_all_kinds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
