/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_plot_report.c — the HTML report: self-contained (no external
 * reference, no script), every input string escaped, figures embedded as
 * PNGs that decode, base64 vectors.  The page is also loaded in headless
 * Chromium by tests/integration/report_chromium.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/tmpdir.h"
#include "plots/report.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_setup("report");
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmpdir_teardown();
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 up to the closing quote; returns the byte count. */
static size_t b64decode(const char *s, unsigned char *out, size_t cap)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '"' && *s != '='; s++) {
        int v = b64val(*s);
        assert_true(v >= 0);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < cap) {
                out[o] = (unsigned char)(acc >> bits);
            }
            o++;
        }
    }
    return o;
}

static const char evil[] = "<script>alert(1)</script>\"><img src=x "
                           "onerror=alert(2)>&'";

static void make_run(struct run_result *r, struct db_run_meta *m, int64_t id,
                     int scale)
{
    run_result_init(r);
    db_run_meta_init(m);
    m->id = id;
    m->kind = DB_KIND_SIM;
    m->complete = true;
    m->scenario_json = (char *)evil;
    m->command_line = (char *)evil;
    m->verdict = (char *)evil;
    m->diagnosis = (char *)evil;
    snprintf(m->source_path, sizeof(m->source_path), "%s", evil);
    snprintf(m->policy, sizeof(m->policy), "%s", evil);
    snprintf(r->m.policy, sizeof(r->m.policy), "%s", evil);
    r->m.outcome = RUN_CONVERGED;
    r->m.total_ns = 10000000000LL * scale;
    r->m.downtime_ns = 250000000;
    r->m.downtime_limit_ns = 300000000;
    r->m.n_devices = 1;
    snprintf(r->m.devices[0].name, RUN_NAME_LEN, "%.63s", evil);
    for (int i = 0; i < 40; i++) {
        struct run_sample s;
        memset(&s, 0, sizeof(s));
        s.t_ns = (int64_t)i * 250000000;
        s.estimate_bytes = (uint64_t)(41 - i) * 500000000ull;
        s.threshold_bytes = 400000000;
        s.n_devices = 1;
        s.dev_reported_bytes[0] = 100000000;
        assert_int_equal(run_result_add_sample(r, &s), 0);
    }
    run_result_add_event(r, 0, RUN_EV_STATE, 0, 0, "%s", evil);
}

static void test_base64_and_escape(void **state)
{
    (void)state;
    static const char *const in[] = {"",     "f",     "fo",    "foo",
                                     "foob", "fooba", "foobar"};
    static const char *const want[] = {
        "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *b = plot_base64((const unsigned char *)in[i], strlen(in[i]));
        assert_string_equal(b, want[i]);
        free(b);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    plot_html_escape(f, "<a href=\"x\">O'Neil & co</a>\x01\n");
    fclose(f);
    assert_string_equal(buf, "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; "
                             "co&lt;/a&gt;&#xFFFD;\n");
    free(buf);
}

static void test_report_self_contained(void **state)
{
    (void)state;
    struct run_result r[2];
    struct db_run_meta m[2];
    struct plot_run pr[2];
    for (int i = 0; i < 2; i++) {
        make_run(&r[i], &m[i], 40 + i, i + 1);
        pr[i] = (struct plot_run){.meta = &m[i], .res = &r[i]};
    }
    char out[256], keep[256], err[2048];
    snprintf(out, sizeof(out), "%s/report.html", tu_tmpdir);
    snprintf(keep, sizeof(keep), "%s/figs", tu_tmpdir);
    struct plot_report_opts o = {.title = evil, .plot_dir = keep};
    if (plot_report_html(pr, 2, out, &o, err, sizeof(err)) != 0) {
        fail_msg("report: %s", err);
    }
    char *html = tu_slurp(out, NULL);
    /* Escaped everywhere: the raw markup never appears. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<img src=x"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"
                                 "&quot;&gt;&lt;img src=x "
                                 "onerror=alert(2)&gt;&amp;&#39;"));
    /* No external references of any kind. */
    assert_null(strstr(html, "http:"));
    assert_null(strstr(html, "https:"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "@import"));
    /* Each src= is an embedded PNG that decodes. */
    int imgs = 0;
    for (const char *p = html; (p = strstr(p, "src=\"")) != NULL; p += 5) {
        const char *d = p + 5;
        assert_memory_equal(d, "data:image/png;base64,", 22);
        unsigned char head[16];
        size_t n = b64decode(d + 22, head, sizeof(head));
        assert_true(n > 1000);
        assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
        imgs++;
    }
    assert_int_equal(imgs, 4); /* compare, cdf, two timelines */
    assert_non_null(strstr(html, "Run 40"));
    assert_non_null(strstr(html, "Run 41"));
    assert_non_null(strstr(html, "<h3>Diagnosis</h3>"));
    assert_non_null(strstr(html, "exact() calls"));
    free(html);
    /* The figures were kept with their scripts. */
    char p[300];
    snprintf(p, sizeof(p), "%s/timeline-1.gp", keep);
    assert_int_equal(access(p, R_OK), 0);
    snprintf(p, sizeof(p), "%s/compare.dat", keep);
    assert_int_equal(access(p, R_OK), 0);

    /* A failing gnuplot: error, and no half-written page. */
    setenv("MIGSIM_GNUPLOT", "/bin/false", 1);
    snprintf(out, sizeof(out), "%s/broken.html", tu_tmpdir);
    assert_int_equal(plot_report_html(pr, 1, out, NULL, err, sizeof(err)),
                     PLOT_ERR_GNUPLOT);
    unsetenv("MIGSIM_GNUPLOT");
    assert_int_equal(access(out, F_OK), -1);
    snprintf(p, sizeof(p), "%s.tmp", out);
    assert_int_equal(access(p, F_OK), -1);
    for (int i = 0; i < 2; i++) {
        run_result_free(&r[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_and_escape),
        cmocka_unit_test(test_report_self_contained),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
