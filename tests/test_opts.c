/* SPDX-License-Identifier: GPL-3.0-or-later */
/* tests/test_opts.c — the table-driven option parser (cli/opts.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/term.h"
#include "cli/opts.h"

struct vals {
    bool flag;
    const char *str;
    const char *list[3];
    unsigned n_list;
    int64_t time_ns;
    uint64_t size, rate, seed;
    unsigned jobs;
    enum cli_format fmt;
    bool time_given;
};

#define SPEC(v)                                                                \
    const struct cli_opt opts[] = {                                            \
        {.name = "flag",                                                       \
         .kind = CLI_FLAG,                                                     \
         .dst = &(v).flag,                                                     \
         .help = "a flag"},                                                    \
        {.name = "str",                                                        \
         .key = 's',                                                           \
         .kind = CLI_STR,                                                      \
         .dst = &(v).str,                                                      \
         .arg = "S",                                                           \
         .help = "a string"},                                                  \
        {.name = "policy",                                                     \
         .key = 'p',                                                           \
         .kind = CLI_LIST,                                                     \
         .dst = (v).list,                                                      \
         .count = &(v).n_list,                                                 \
         .cap = 3,                                                             \
         .arg = "SPEC",                                                        \
         .help = "repeatable\nsecond line"},                                   \
        {.name = "max-downtime",                                               \
         .kind = CLI_TIME,                                                     \
         .dst = &(v).time_ns,                                                  \
         .arg = "TIME",                                                        \
         .help = "a time",                                                     \
         .max_ns = 2000000000000LL,                                            \
         .given = &(v).time_given},                                            \
        {.name = "size",                                                       \
         .kind = CLI_SIZE,                                                     \
         .dst = &(v).size,                                                     \
         .arg = "SIZE",                                                        \
         .help = "a size"},                                                    \
        {.name = "rate",                                                       \
         .kind = CLI_RATE,                                                     \
         .dst = &(v).rate,                                                     \
         .arg = "RATE",                                                        \
         .help = "a rate"},                                                    \
        {.name = "seed",                                                       \
         .kind = CLI_U64,                                                      \
         .dst = &(v).seed,                                                     \
         .arg = "N",                                                           \
         .help = "a seed"},                                                    \
        {.name = "jobs",                                                       \
         .key = 'j',                                                           \
         .kind = CLI_UINT,                                                     \
         .dst = &(v).jobs,                                                     \
         .min = 1,                                                             \
         .max = 64,                                                            \
         .arg = "N",                                                           \
         .help = "jobs"},                                                      \
        {.name = "format",                                                     \
         .key = 'f',                                                           \
         .kind = CLI_FORMAT,                                                   \
         .dst = &(v).fmt,                                                      \
         .arg = "FMT",                                                         \
         .help = "a format"},                                                  \
    };                                                                         \
    const struct cli_spec spec = {                                             \
        "test", "Usage: migsim test [options]\n\n", NULL,                      \
        opts,   sizeof(opts) / sizeof(opts[0]),     NULL}

/* Run cli_parse on a NULL-terminated word list; stderr captured in err. */
static int run(struct vals *v, char *err, size_t errlen, int *argi, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, argi);
    for (char *w; (w = va_arg(ap, char *)) != NULL && argc < 31;) {
        argv[argc++] = w;
    }
    va_end(ap);
    argv[argc] = NULL;
    SPEC(*v);
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    int rc = cli_parse(&spec, argc, argv, argi);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, errlen - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc;
}

static void test_values(void **state)
{
    (void)state;
    struct vals v = {0};
    char err[512];
    int argi = 0;
    int rc = run(&v, err, sizeof(err), &argi, "test", "a.json", "--flag", "-s",
                 "x", "-p", "qemu", "--policy=fixed", "--max-downtime", "500ms",
                 "--size", "1GiB", "--rate", "10Gbit/s", "--seed",
                 "18446744073709551615", "-j2", "-f", "json", "b", NULL);
    assert_int_equal(rc, -1);
    assert_string_equal(err, "");
    assert_true(v.flag);
    assert_string_equal(v.str, "x");
    assert_int_equal(v.n_list, 2);
    assert_string_equal(v.list[1], "fixed");
    assert_int_equal(v.time_ns, 500000000);
    assert_true(v.time_given);
    assert_int_equal(v.size, 1073741824ull);
    assert_int_equal(v.rate, 1250000000ull);
    assert_true(v.seed == UINT64_MAX);
    assert_int_equal(v.jobs, 2);
    assert_int_equal(v.fmt, CLI_FMT_JSON);
    assert_int_equal(argi, 18); /* the two operands moved to the end */
}

static void expect_usage(const char *want, const char *a, const char *b)
{
    struct vals v = {0};
    char err[512];
    int argi = 0;
    int rc =
        run(&v, err, sizeof(err), &argi, "test", (char *)a, (char *)b, NULL);
    if (rc != EXIT_USAGE) {
        fail_msg("%s %s: rc %d, stderr '%s'", a, b ? b : "", rc, err);
    }
    if (!strstr(err, want)) {
        fail_msg("stderr '%s' lacks '%s'", err, want);
    }
}

static void test_errors(void **state)
{
    (void)state;
    /* a time without a unit says so, not "must be > 0" */
    expect_usage("--max-downtime", "--max-downtime", "500");
    expect_usage("unit", "--max-downtime", "500");
    expect_usage("must be > 0", "--max-downtime", "0s");
    expect_usage("over the maximum", "--max-downtime", "2001s");
    expect_usage("did you mean '--max-downtime'?", "--max-downtine", "1s");
    expect_usage("did you mean '--seed'?", "--sed", "1");
    expect_usage("unknown option '--zzzzzz'", "--zzzzzz", NULL);
    expect_usage("unknown option '-x'", "-x", NULL);
    expect_usage("needs an argument", "--size", NULL);
    expect_usage("-j/--jobs: '0' is not a whole number in [1, 64]", "-j", "0");
    expect_usage("'-1' is not a whole number", "--seed", "-1");
    expect_usage("unknown format 'xml'", "-f", "xml");
}

static void test_list_cap(void **state)
{
    (void)state;
    struct vals v = {0};
    char err[512];
    int argi = 0;
    int rc = run(&v, err, sizeof(err), &argi, "test", "-p", "a", "-p", "b",
                 "-p", "c", "-p", "d", NULL);
    assert_int_equal(rc, EXIT_USAGE);
    assert_non_null(strstr(err, "given more than 3 times"));
}

static void test_help(void **state)
{
    (void)state;
    struct vals v = {0};
    SPEC(v);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cli_help(&spec, f);
    fclose(f);
    assert_non_null(strstr(buf, "Usage: migsim test [options]\n\nOptions:\n"));
    assert_non_null(strstr(buf, "      --flag            a flag\n"));
    assert_non_null(strstr(buf, "  -p, --policy SPEC     repeatable\n"
                                "                        second line\n"));
    assert_non_null(strstr(buf, "      --max-downtime TIME  a time\n"));
    assert_non_null(strstr(buf, "  -h, --help            this text\n"));
    assert_non_null(strstr(buf, "\nExit status:\n"));
    free(buf);
}

static void test_closest(void **state)
{
    (void)state;
    const char *words[] = {"qemu", "cached-stop-size", "downtime-limit"};
    assert_string_equal(cli_closest("qemo", words, 3), "qemu");
    assert_string_equal(cli_closest("cached-stop", words, 3),
                        "cached-stop-size");
    assert_null(cli_closest("xyz", words, 3));
}

/* --qemu and --policy values (issue 14: a typo is a usage error with
 * "did you mean"; a release is taken as its model). */
static void test_qemu_policy_checks(void **state)
{
    (void)state;
    char err[256];
    const char *q = NULL;
    assert_int_equal(cli_check_qemu("9.2", &q, err, sizeof(err)), 0);
    assert_string_equal(q, "9.2");
    assert_int_equal(cli_check_qemu("9.2.1", &q, err, sizeof(err)), 0);
    assert_string_equal(q, "9.2");
    assert_int_equal(cli_check_qemu("10.0.3", &q, err, sizeof(err)), 0);
    assert_string_equal(q, "10.0");
    assert_int_equal(cli_check_qemu("9.22", &q, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "did you mean '9.2'"));
    assert_int_equal(cli_check_qemu("6.2", &q, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown QEMU version '6.2'"));
    assert_int_equal(cli_check_policy("qemu", err, sizeof(err)), 0);
    assert_int_equal(
        cli_check_policy("cached-stop-size+nova-steps:downtime=400ms,steps=10",
                         err, sizeof(err)),
        0);
    assert_int_equal(cli_check_policy("qemo", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "did you mean 'qemu'"));
    assert_int_equal(
        cli_check_policy("qemu+nova-step:downtime=1s", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'nova-step' (did you mean 'nova-steps'"));
}

/* base/term: control bytes made visible (issue 17 item 4). */
static void test_term_safe(void **state)
{
    (void)state;
    char b[128];
    assert_string_equal(term_safe("a\033]0;T\007b\nc", b, sizeof(b)),
                        "a\\x1b]0;T\\x07b\\nc");
    assert_string_equal(term_safe("tab\there\r", b, sizeof(b)),
                        "tab\\there\\r");
    assert_string_equal(term_safe("\x7f", b, sizeof(b)), "\\x7f");
    /* U+009B (CSI) as UTF-8 is a C1 control; U+00E9 and U+2014 are kept */
    assert_string_equal(term_safe("x\xc2\x9by", b, sizeof(b)), "x\\x9by");
    assert_string_equal(term_safe("caf\xc3\xa9 \xe2\x80\x94", b, sizeof(b)),
                        "caf\xc3\xa9 \xe2\x80\x94");
    /* cut at a whole escape */
    assert_string_equal(term_safe("ab\033cd", b, 5), "ab");
    assert_true(term_needs_escape("x\033"));
    assert_false(term_needs_escape("plain text \xe2\x80\x94"));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    term_fputs("q\033[2J", f);
    fclose(f);
    assert_string_equal(buf, "q\\x1b[2J");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_list_cap),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_closest),
        cmocka_unit_test(test_term_safe),
        cmocka_unit_test(test_qemu_policy_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
