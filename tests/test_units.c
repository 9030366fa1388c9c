/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tests/test_units.c — parsing and formatting of sizes, times, rates and
 * fractions: every suffix, decimal vs binary, bit rates, rounding,
 * rejection of malformed and out-of-range text, formatting round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/units.h"

#define KI  ((uint64_t)1 << 10)
#define MI  ((uint64_t)1 << 20)
#define GI  ((uint64_t)1 << 30)
#define TI  ((uint64_t)1 << 40)
#define PI_ ((uint64_t)1 << 50)

static uint64_t size_ok(const char *s)
{
    uint64_t v = 0;
    char err[256] = "";

    if (units_parse_size(s, &v, err, sizeof(err)) != 0) {
        fail_msg("size '%s' rejected: %s", s, err);
    }
    return v;
}

static void size_bad(const char *s, const char *must_contain)
{
    uint64_t v = 12345;
    char err[256] = "";

    if (units_parse_size(s, &v, err, sizeof(err)) == 0) {
        fail_msg("size '%s' accepted as %llu", s, (unsigned long long)v);
    }
    assert_true(v == 12345); /* output untouched */
    if (must_contain && !strstr(err, must_contain)) {
        fail_msg("size '%s': message '%s' lacks '%s'", s, err, must_contain);
    }
    /* err may be NULL */
    assert_int_equal(units_parse_size(s, &v, NULL, 0), -1);
}

static int64_t time_ok(const char *s, int64_t def)
{
    int64_t v = 0;
    char err[256] = "";

    if (units_parse_time(s, def, &v, err, sizeof(err)) != 0) {
        fail_msg("time '%s' rejected: %s", s, err);
    }
    return v;
}

static void time_bad(const char *s, int64_t def, const char *must_contain)
{
    int64_t v = 777;
    char err[256] = "";

    if (units_parse_time(s, def, &v, err, sizeof(err)) == 0) {
        fail_msg("time '%s' accepted as %lld", s, (long long)v);
    }
    assert_true(v == 777);
    if (must_contain && !strstr(err, must_contain)) {
        fail_msg("time '%s': message '%s' lacks '%s'", s, err, must_contain);
    }
}

static uint64_t rate_ok(const char *s)
{
    uint64_t v = 0;
    char err[256] = "";

    if (units_parse_rate(s, &v, err, sizeof(err)) != 0) {
        fail_msg("rate '%s' rejected: %s", s, err);
    }
    return v;
}

static void rate_bad(const char *s, const char *must_contain)
{
    uint64_t v = 99;
    char err[256] = "";

    if (units_parse_rate(s, &v, err, sizeof(err)) == 0) {
        fail_msg("rate '%s' accepted as %llu", s, (unsigned long long)v);
    }
    assert_true(v == 99);
    if (must_contain && !strstr(err, must_contain)) {
        fail_msg("rate '%s': message '%s' lacks '%s'", s, err, must_contain);
    }
}

static double frac_ok(const char *s)
{
    double v = -1;
    char err[256] = "";

    if (units_parse_fraction(s, &v, err, sizeof(err)) != 0) {
        fail_msg("fraction '%s' rejected: %s", s, err);
    }
    return v;
}

static void frac_bad(const char *s)
{
    double v = -7;
    char err[256] = "";

    if (units_parse_fraction(s, &v, err, sizeof(err)) == 0) {
        fail_msg("fraction '%s' accepted as %g", s, v);
    }
    assert_true(v == -7);
    assert_non_null(strstr(err, "fraction"));
}

/* ---- sizes --------------------------------------------------------------- */

struct u64_case {
    const char *s;
    uint64_t v;
};

/* Each text parses (with ok, which fails the test on an error) to its
 * value. */
static void check_u64_cases(const char *what, uint64_t (*ok)(const char *),
                            const struct u64_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = ok(cases[i].s);
        if (v != cases[i].v) {
            fail_msg("%s '%s' = %llu, want %llu", what, cases[i].s,
                     (unsigned long long)v, (unsigned long long)cases[i].v);
        }
    }
}

static void test_size_every_suffix(void **state)
{
    (void)state;
    static const struct u64_case cases[] = {
        {"512", 512},
        {"7B", 7},
        {"3K", 3 * KI},
        {"3KB", 3000},
        {"3KiB", 3 * KI},
        {"3M", 3 * MI},
        {"3MB", 3000000},
        {"3MiB", 3 * MI},
        {"3G", 3 * GI},
        {"3GB", 3000000000ull},
        {"3GiB", 3 * GI},
        {"3T", 3 * TI},
        {"3TB", 3000000000000ull},
        {"3TiB", 3 * TI},
        {"3P", 3 * PI_},
        {"3PB", 3000000000000000ull},
        {"3PiB", 3 * PI_},
        /* header examples */
        {"21GB", 21000000000ull},
        {"64GiB", 64 * GI},
        {"4KiB", 4096},
        {"1.5TB", 1500000000000ull},
        /* case and spaces */
        {"64 gib", 64 * GI},
        {"64GIB", 64 * GI},
        {"3kb", 3000},
        {"3k", 3 * KI},
        {"  21 GB  ", 21000000000ull},
        {"+5MiB", 5 * MI},
        /* fractions, exponents, rounding to the nearest byte */
        {"0.5KiB", 512},
        {".5K", 512},
        {"5.GB", 5000000000ull},
        {"1.5B", 2},
        {"1.49B", 1},
        {"2e3MB", 2000000000ull},
        {"2E-3GB", 2000000},
        {"1e-400GB", 0},
        {"0.000000001GB", 1},
        {"0GiB", 0},
        {"000012", 12},
        {"18446744073709551615", UINT64_MAX},
        {"18446744073709551615B", UINT64_MAX},
        {"16383.999999PiB", 18446744072583651709ull},
    };

    check_u64_cases("size", size_ok, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Texts the size ('s') and rate ('r') parsers refuse, and a word their
 * message must contain. */
static void test_size_rate_rejects(void **state)
{
    (void)state;
    static const struct {
        char kind;
        const char *s, *msg;
    } bad[] = {
        {'s', "12XB", "unknown unit 'XB'"},
        {'s', "12 XB", "'12 XB'"},
        {'s', "", "empty"},
        {'s', "   ", "empty"},
        {'s', "-1GB", "negative"},
        {'s', "- 1GB", "negative"},
        {'s', "1e400GB", "too large"},
        {'s', "18446744073709551616", "too large"},
        {'s', "16384PiB", "too large"},
        {'s', "20000000PB", "too large"},
        {'s', "GB", "expected a number"},
        {'s', ".", "expected a number"},
        {'s', "1.2.3GB", "unknown unit"},
        {'s', "0x10", "unknown unit"},
        {'s', "nan", "expected a number"},
        {'s', "inf", "expected a number"},
        {'s', "1 e3", "unknown unit"},
        {'s', "1e", "unknown unit"},
        {'s', "5 GB/s", "unknown unit"},
        {'s', "5GiBB", "unknown unit"},
        {'s', "5 G B", "unknown unit"},
        {'s', "5EB", "unknown unit"},
        {'s', NULL, "no text"},
        {'r', "10Gb/s", "ambiguous"},
        {'r', "10b/s", "ambiguous"},
        {'r', "10mib/s", "ambiguous"},
        {'r', "128MiB", "per second"},
        {'r', "128", "per second"},
        {'r', "10Gbit", "per second"},
        {'r', "10Xbit/s", "unknown unit"},
        {'r', "10Gibit/s", "unknown unit"},
        {'r', "10XB/s", "unknown unit"},
        {'r', "10Gxps", "unknown unit"},
        {'r', "10/s", "per second"},
        {'r', "-1MB/s", "negative"},
        {'r', "", "empty"},
        {'r', "1e30GB/s", "too large"},
        {'r', "20000PiB/s", "too large"},
        {'r', "147573952589676413000bit/s", "too large"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i].kind == 's') {
            size_bad(bad[i].s, bad[i].msg);
        } else {
            rate_bad(bad[i].s, bad[i].msg);
        }
    }
    /* 20 significant digits are kept: exactly 2^64-1 bytes/s */
    assert_true(rate_ok("147573952589676412920bit/s") == UINT64_MAX);
}

/* ---- times --------------------------------------------------------------- */

static void test_time_units(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t v;
    } cases[] = {
        {"100ns", 100},
        {"250us", 250000},
        {"250\xc2\xb5s", 250000},
        {"250\xce\xbcs", 250000},
        {"300ms", 300000000},
        {"1.5s", 1500000000},
        {"10min", 600000000000ll},
        {"2h", 7200000000000ll},
        {"2 H", 7200000000000ll},
        {"300 MS", 300000000},
        {"0.1ns", 0},
        {"1.5ns", 2},
        {"0.000001s", 1000},
        {"1e3ms", 1000000000},
        {"9223372036854775807ns", INT64_MAX},
        {"2562047h", 9223369200000000000ll},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = time_ok(cases[i].s, 0);

        if (v != cases[i].v) {
            fail_msg("time '%s' = %lld, want %lld", cases[i].s, (long long)v,
                     (long long)cases[i].v);
        }
    }
    /* a default unit applies to bare numbers only */
    assert_true(time_ok("5", 1000000) == 5000000);
    assert_true(time_ok("2.5", 1000000000) == 2500000000ll);
    assert_true(time_ok("5s", 1000000) == 5000000000ll);
    /* the largest default unit allowed, 2^51 ns */
    assert_true(time_ok("4095.9999999999", 1ll << 51) == INT64_MAX - 225179);
    assert_true(time_ok("0.5", 1ll << 51) == 1ll << 50);
}

static void test_time_rejects(void **state)
{
    (void)state;
    time_bad("5", 0, "needs a unit");
    time_bad("5", -3, "needs a unit");
    time_bad("", 0, "empty");
    time_bad("-1s", 0, "negative");
    time_bad("5m", 0, "unknown unit 'm'");
    time_bad("5 days", 0, "unknown unit");
    time_bad("5sec", 0, "unknown unit");
    time_bad("9223372036854775808ns", 0, "too large");
    time_bad("2562048h", 0, "too large");
    time_bad("1e30s", 0, "too large");
    time_bad("s", 0, "expected a number");
    time_bad("1.5.s", 0, "unknown unit");
    time_bad("4096", 1ll << 51, "too large");
    time_bad("4095.99999999999999999", 1ll << 51, "too large");
    time_bad("1", (1ll << 51) + 1, "default unit");
    time_bad("1", INT64_MAX, "default unit");
    assert_true(time_ok("1s", INT64_MAX) == 1000000000); /* unused */
}

/* ---- rates --------------------------------------------------------------- */

static void test_rate_units(void **state)
{
    (void)state;
    static const struct u64_case cases[] = {
        {"128MiB/s", 128 * MI},
        {"10Gbit/s", 1250000000ull},
        {"10Gbps", 1250000000ull},
        {"100Gbps", 12500000000ull},
        {"100Mbit/s", 12500000},
        {"1GB/s", 1000000000},
        {"4MiB/s", 4 * MI},
        {"4 MiB/s", 4 * MI},
        {"4MIB/S", 4 * MI},
        {"128M/s", 128 * MI},
        {"10 gbit/s", 1250000000ull},
        {"10GBIT/S", 1250000000ull},
        {"1kbit/s", 125},
        {"1Kbps", 125},
        {"8bit/s", 1},
        {"8bps", 1},
        {"1bit/s", 0},
        {"1Tbit/s", 125000000000ull},
        {"1Pbps", 125000000000000ull},
        {"25B/s", 25},
        {"25Bps", 25},
        {"1MBps", 1000000},
        {"1MiBps", MI},
        {"2.5Gbit/s", 312500000},
        {"0.1Gbps", 12500000},
    };

    check_u64_cases("rate", rate_ok, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Zero needs no unit: "0" as a rate, a time (without a default unit) and
 * a size; any other bare number still needs one. */
static void test_zero_without_unit(void **state)
{
    (void)state;
    assert_true(rate_ok("0") == 0);
    assert_true(rate_ok(" 0 ") == 0);
    assert_true(rate_ok("0.0") == 0);
    assert_true(time_ok("0", 0) == 0);
    assert_true(time_ok("0", -3) == 0);
    assert_true(size_ok("0") == 0);
    rate_bad("1", "per second");
    rate_bad("0.001", "per second");
    time_bad("1", 0, "needs a unit");
    rate_bad("-0", "negative");
}

/* ---- fractions ----------------------------------------------------------- */

static void test_fractions(void **state)
{
    (void)state;
    assert_true(frac_ok("42%") == 0.42);
    assert_true(frac_ok("42 %") == 0.42);
    assert_true(frac_ok("42") == 0.42);
    assert_true(frac_ok("0.5") == 0.5);
    assert_true(frac_ok("1") == 1.0);
    assert_true(frac_ok("100") == 1.0);
    assert_true(frac_ok("100%") == 1.0);
    assert_true(frac_ok("0") == 0.0);
    assert_true(frac_ok("0%") == 0.0);
    assert_true(frac_ok("0.25%") == 0.0025);
    assert_true(frac_ok("5e-1") == 0.5);
    frac_bad("101");
    frac_bad("150%");
    frac_bad("-0.1");
    frac_bad("abc");
    frac_bad("42x");
    frac_bad("42%%");
    frac_bad("");
    frac_bad("nan");
    frac_bad("1e400");
}

/* ---- formatting ---------------------------------------------------------- */

static void test_format_fixed(void **state)
{
    (void)state;
    char b[64];

    assert_string_equal(units_fmt_size(21000000000ull, b, sizeof(b)),
                        "21.0 GB");
    assert_string_equal(units_fmt_size(64 * GI, b, sizeof(b)), "64.0 GiB");
    assert_string_equal(units_fmt_size(3 * GI / 2, b, sizeof(b)), "1.5 GiB");
    assert_string_equal(units_fmt_size(512, b, sizeof(b)), "512 B");
    assert_string_equal(units_fmt_size(0, b, sizeof(b)), "0 B");
    assert_string_equal(units_fmt_size(4096, b, sizeof(b)), "4.0 KiB");
    assert_string_equal(units_fmt_size(1000, b, sizeof(b)), "1.0 KB");
    /* 10^12 is a multiple of 4096 but not a round binary value */
    assert_string_equal(units_fmt_size(1000000000000ull, b, sizeof(b)),
                        "1.0 TB");
    assert_string_equal(units_fmt_size(UINT64_MAX, b, sizeof(b)), "18446.7 PB");

    assert_string_equal(units_fmt_time(300000000, b, sizeof(b)), "300 ms");
    assert_string_equal(units_fmt_time(1500000000, b, sizeof(b)), "1.50 s");
    assert_string_equal(units_fmt_time(0, b, sizeof(b)), "0 ns");
    assert_string_equal(units_fmt_time(999, b, sizeof(b)), "999 ns");
    assert_string_equal(units_fmt_time(250000, b, sizeof(b)), "250 us");
    assert_string_equal(units_fmt_time(1234567, b, sizeof(b)), "1.23 ms");
    assert_string_equal(units_fmt_time(600000000000ll, b, sizeof(b)),
                        "10.00 min");
    assert_string_equal(units_fmt_time(7200000000000ll, b, sizeof(b)),
                        "2.00 h");
    assert_string_equal(units_fmt_time(-300000000, b, sizeof(b)), "-300 ms");
    assert_string_equal(units_fmt_time(INT64_MIN, b, sizeof(b)),
                        "-2562047.79 h");

    assert_string_equal(units_fmt_rate(128.0 * MI, b, sizeof(b)), "128 MiB/s");
    assert_string_equal(units_fmt_rate(1.25e9, b, sizeof(b)), "1.25 GB/s");
    assert_string_equal(units_fmt_rate(1e9, b, sizeof(b)), "1 GB/s");
    assert_string_equal(units_fmt_rate(12.5e6, b, sizeof(b)), "12.5 MB/s");
    assert_string_equal(units_fmt_rate(512, b, sizeof(b)), "512 B/s");
    assert_string_equal(units_fmt_rate(0, b, sizeof(b)), "0 B/s");
    assert_string_equal(units_fmt_rate(0.5, b, sizeof(b)), "0.5 B/s");
    assert_string_equal(units_fmt_rate(NAN, b, sizeof(b)), "n/a");
    assert_string_equal(units_fmt_rate(-2e6, b, sizeof(b)), "-2 MB/s");
    assert_string_equal(units_fmt_rate(INFINITY, b, sizeof(b)), "inf B/s");
    assert_true(strlen(units_fmt_rate(1e300, b, sizeof(b))) < 32);

    /* truncation keeps the string terminated */
    memset(b, 'x', sizeof(b));
    assert_string_equal(units_fmt_rate(128.0 * MI, b, 4), "128");
    assert_string_equal(units_fmt_size(512, b, 1), "");
}

/* Multiplier of the unit in "<number> <unit>" via the parser, and half a
 * unit in the last printed digit: the largest rounding error. */
typedef int parse_fn(const char *s, uint64_t *v);

static int p_size(const char *s, uint64_t *v)
{
    return units_parse_size(s, v, NULL, 0);
}

static int p_rate(const char *s, uint64_t *v)
{
    return units_parse_rate(s, v, NULL, 0);
}

static int p_time(const char *s, uint64_t *v)
{
    int64_t t;

    if (units_parse_time(s, 0, &t, NULL, 0) < 0) {
        return -1;
    }
    *v = (uint64_t)t;
    return 0;
}

static double half_ulp(const char *text, parse_fn *parse)
{
    const char *sp = strchr(text, ' ');
    const char *dot = strchr(text, '.');
    char one[64];
    uint64_t mult;
    int decimals = 0;

    assert_non_null(sp);
    snprintf(one, sizeof(one), "1%s", sp);
    assert_int_equal(parse(one, &mult), 0);
    if (dot && dot < sp) {
        decimals = (int)(sp - dot - 1);
    }
    return 0.5 * pow(10.0, -decimals) * (double)mult;
}

static void roundtrip(uint64_t x, char *(*fmt)(uint64_t, char *, size_t),
                      parse_fn *parse)
{
    char b[64];
    uint64_t y;
    double tol;

    fmt(x, b, sizeof(b));
    if (parse(b, &y) != 0) {
        fail_msg("'%s' (from %llu) does not parse back", b,
                 (unsigned long long)x);
    }
    tol = half_ulp(b, parse) + 1.0;
    if (fabs((double)y - (double)x) > tol) {
        fail_msg("%llu -> '%s' -> %llu (tolerance %g)", (unsigned long long)x,
                 b, (unsigned long long)y, tol);
    }
}

static char *fmt_size_u(uint64_t v, char *b, size_t n)
{
    return units_fmt_size(v, b, n);
}

static char *fmt_time_u(uint64_t v, char *b, size_t n)
{
    return units_fmt_time((int64_t)v, b, n);
}

static char *fmt_rate_u(uint64_t v, char *b, size_t n)
{
    return units_fmt_rate((double)v, b, n);
}

static void test_format_roundtrip(void **state)
{
    (void)state;
    uint64_t s = 0x1234567;
    char b[64];
    uint64_t y;

    /* log-uniform magnitudes over the whole range */
    for (int i = 0; i < 20000; i++) {
        uint64_t r, x;
        int bits;

        s = s * 6364136223846793005ull + 1442695040888963407ull;
        r = s >> 11;
        bits = (int)(r % 63);
        x = (r >> 6) & ((bits ? (1ull << bits) : 1ull) - 1);
        x |= bits ? 1ull << (bits - 1) : 0;
        roundtrip(x, fmt_size_u, p_size);
        roundtrip(x, fmt_time_u, p_time); /* x < 2^62 */
        if (x < 1000000ull * 1000000000000000ull) {
            roundtrip(x, fmt_rate_u, p_rate);
        }
    }

    /* exact values survive exactly */
    assert_int_equal(p_size(units_fmt_size(64 * GI, b, sizeof(b)), &y), 0);
    assert_true(y == 64 * GI);
    assert_int_equal(p_size(units_fmt_size(21000000000ull, b, sizeof(b)), &y),
                     0);
    assert_true(y == 21000000000ull);
    assert_int_equal(p_time(units_fmt_time(300000000, b, sizeof(b)), &y), 0);
    assert_true(y == 300000000);
    assert_int_equal(p_rate(units_fmt_rate(128.0 * MI, b, sizeof(b)), &y), 0);
    assert_true(y == 128 * MI);
    assert_int_equal(p_rate(units_fmt_rate(1.25e9, b, sizeof(b)), &y), 0);
    assert_true(y == 1250000000ull);
}

/* Times: what is accepted, then what is refused. */
static void test_times(void **state)
{
    test_time_units(state);
    test_time_rejects(state);
}

/* Formatting: fixed cases, then text that parses back to the value. */
static void test_formats(void **state)
{
    test_format_fixed(state);
    test_format_roundtrip(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_every_suffix),
        cmocka_unit_test(test_size_rate_rejects),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_rate_units),
        cmocka_unit_test(test_zero_without_unit),
        cmocka_unit_test(test_fractions),
        cmocka_unit_test(test_formats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
