/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * base/units.c — human units for sizes, times and rates (contract in
 * base/units.h).
 *
 * Parsing is exact: the number is read as a decimal mantissa (21
 * significant digits; further digits are dropped) and a power of ten, then
 * scaled by the unit's multiplier num/den (den = 8 for bit rates) in
 * 128-bit integer arithmetic and rounded to the nearest byte or nanosecond
 * (halves up).  No strtod, so results do not depend on the locale or on
 * floating-point rounding, and "18446744073709551615" parses exactly.
 */
#include "base/units.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

#define EXP_CAP 100000 /* saturate absurd exponents ("1e999999999") */
/* Significant digits kept: 21, so mant * unit (< 2^51) fits in 128 bits
 * with room for the power-of-ten steps in scale(). */
#define MANT_CAP            ((u128)1000000000000000000ull * 1000)
#define MAX_DEFAULT_UNIT_NS ((int64_t)1 << 51)

/* value = mant * 10^exp10 */
struct num {
    u128 mant; /* < MANT_CAP */
    int exp10;
};

struct unit {
    const char *name;
    uint64_t mult;
};

static const struct unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", UINT64_C(1) << 10},
    {"kb", UINT64_C(1000)},
    {"kib", UINT64_C(1) << 10},
    {"m", UINT64_C(1) << 20},
    {"mb", UINT64_C(1000000)},
    {"mib", UINT64_C(1) << 20},
    {"g", UINT64_C(1) << 30},
    {"gb", UINT64_C(1000000000)},
    {"gib", UINT64_C(1) << 30},
    {"t", UINT64_C(1) << 40},
    {"tb", UINT64_C(1000000000000)},
    {"tib", UINT64_C(1) << 40},
    {"p", UINT64_C(1) << 50},
    {"pb", UINT64_C(1000000000000000)},
    {"pib", UINT64_C(1) << 50},
};

static const struct unit time_units[] = {
    {"ns", 1},
    {"us", UINT64_C(1000)},
    {"\xc2\xb5s", UINT64_C(1000)}, /* U+00B5 micro sign */
    {"\xce\xbcs", UINT64_C(1000)}, /* U+03BC Greek mu */
    {"ms", UINT64_C(1000000)},
    {"s", UINT64_C(1000000000)},
    {"min", UINT64_C(60000000000)},
    {"h", UINT64_C(3600000000000)},
};

/* Decimal prefixes for bit rates. */
static const struct unit bit_prefixes[] = {
    {"", 1},
    {"k", UINT64_C(1000)},
    {"m", UINT64_C(1000000)},
    {"g", UINT64_C(1000000000)},
    {"t", UINT64_C(1000000000000)},
    {"p", UINT64_C(1000000000000000)},
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* err = "<what> '<text>': <detail>" */
static void set_err(char *err, size_t errlen, const char *what,
                    const char *text, const char *detail)
{
    if (err && errlen > 0) {
        snprintf(err, errlen, "%s '%s': %s", what, text, detail);
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive (ASCII) compare of [s, s+n) with the C string name. */
static bool unit_eq(const char *s, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (name[i] == '\0' || lower(s[i]) != name[i]) {
            return false;
        }
    }
    return name[i] == '\0';
}

static const struct unit *unit_find(const struct unit *tab, size_t ntab,
                                    const char *s, size_t n)
{
    for (size_t i = 0; i < ntab; i++) {
        if (unit_eq(s, n, tab[i].name)) {
            return &tab[i];
        }
    }
    return NULL;
}

/* Append a digit to the mantissa, or drop it (and every later digit) once
 * MANT_CAP is reached; returns whether the digit was kept. */
static bool push_digit(struct num *n, bool *full, char c)
{
    unsigned d = (unsigned)(c - '0');

    if (!*full && n->mant < MANT_CAP / 10) {
        n->mant = n->mant * 10 + d;
        return true;
    }
    *full = true;
    return false;
}

/*
 * Read [digits][.digits][(e|E)[+-]digits] at p.  Returns the first byte
 * after the number, or NULL if there is no digit.  An 'e' not followed by
 * an exponent is left for the unit.
 */
static const char *scan_number(const char *p, struct num *n)
{
    bool any = false, full = false;

    n->mant = 0;
    n->exp10 = 0;
    for (; is_digit(*p); p++) {
        any = true;
        if (!push_digit(n, &full, *p) && n->exp10 < EXP_CAP) {
            n->exp10++; /* digit dropped, magnitude kept */
        }
    }
    if (*p == '.') {
        p++;
        for (; is_digit(*p); p++) {
            any = true;
            if (push_digit(n, &full, *p)) {
                n->exp10--;
            }
        }
    }
    if (!any) {
        return NULL;
    }
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        int sign = 1;
        long ex = 0;

        if (*q == '+' || *q == '-') {
            sign = *q == '-' ? -1 : 1;
            q++;
        }
        if (is_digit(*q)) {
            for (; is_digit(*q); q++) {
                if (ex < EXP_CAP) {
                    ex = ex * 10 + (*q - '0');
                }
            }
            ex = sign * ex + n->exp10;
            if (ex > EXP_CAP) {
                ex = EXP_CAP;
            } else if (ex < -EXP_CAP) {
                ex = -EXP_CAP;
            }
            n->exp10 = (int)ex;
            p = q;
        }
    }
    return p;
}

/*
 * *out = round(value * num / den), halves rounded up; -1 if that exceeds
 * max.  1 <= num <= 2^51, 1 <= den <= 8, max < 2^64, so mant * num
 * (< 2^70 * 2^51) is exact in 128 bits.
 */
static int scale(const struct num *n, uint64_t num, uint64_t den, uint64_t max,
                 uint64_t *out)
{
    u128 N = n->mant * num;
    u128 D = den;
    u128 limit = ((u128)max + 1) * D; /* N >= limit: surely > max */
    u128 q;

    if (N == 0) {
        *out = 0;
        return 0;
    }
    for (int e = n->exp10; e > 0; e--) {
        if (N >= limit) {
            return -1;
        }
        N *= 10;
    }
    for (int e = n->exp10; e < 0; e++) {
        if (D > 2 * N) {
            *out = 0; /* below one half: rounds to zero */
            return 0;
        }
        D *= 10;
    }
    q = (N + D / 2) / D;
    if (q > max) {
        return -1;
    }
    *out = (uint64_t)q;
    return 0;
}

/*
 * Common front end: trim, reject signs, read the number, and return the
 * unit text [*u, *u + *ulen) with surrounding spaces removed.
 */
static int split(const char *s, const char *what, struct num *n, const char **u,
                 size_t *ulen, char *err, size_t errlen)
{
    const char *p, *end;

    if (!s) {
        set_err(err, errlen, what, "(null)", "no text");
        return -1;
    }
    p = s;
    while (is_space(*p)) {
        p++;
    }
    if (*p == '\0') {
        set_err(err, errlen, what, s, "empty");
        return -1;
    }
    if (*p == '-') {
        set_err(err, errlen, what, s, "negative values are not allowed");
        return -1;
    }
    if (*p == '+') {
        p++;
    }
    p = scan_number(p, n);
    if (!p) {
        set_err(err, errlen, what, s, "expected a number");
        return -1;
    }
    while (is_space(*p)) {
        p++;
    }
    end = p + strlen(p);
    while (end > p && is_space(end[-1])) {
        end--;
    }
    *u = p;
    *ulen = (size_t)(end - p);
    return 0;
}

/* Copy the unit text for an error message. */
static const char *unit_text(const char *u, size_t ulen, char *buf, size_t len)
{
    snprintf(buf, len, "%.*s", (int)(ulen < 40 ? ulen : 40), u);
    return buf;
}

int units_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
    struct num n;
    const char *u;
    size_t ulen;
    const struct unit *un;
    char ub[48], msg[128];

    if (split(s, "size", &n, &u, &ulen, err, errlen) < 0) {
        return -1;
    }
    un = unit_find(size_units, N_ELEMS(size_units), u, ulen);
    if (!un) {
        snprintf(msg, sizeof(msg),
                 "unknown unit '%s' (use B, KB/KiB, MB/MiB, GB/GiB, TB/TiB, "
                 "PB/PiB)",
                 unit_text(u, ulen, ub, sizeof(ub)));
        set_err(err, errlen, "size", s, msg);
        return -1;
    }
    if (scale(&n, un->mult, 1, UINT64_MAX, bytes) < 0) {
        set_err(err, errlen, "size", s, "too large (more than 2^64-1 bytes)");
        return -1;
    }
    return 0;
}

int units_parse_time(const char *s, int64_t default_unit_ns, int64_t *ns,
                     char *err, size_t errlen)
{
    struct num n;
    const char *u;
    size_t ulen;
    uint64_t mult, v;
    char ub[48], msg[128];

    if (split(s, "time", &n, &u, &ulen, err, errlen) < 0) {
        return -1;
    }
    if (ulen == 0 && n.mant == 0) {
        *ns = 0; /* zero needs no unit */
        return 0;
    }
    if (ulen == 0) {
        if (default_unit_ns <= 0) {
            set_err(err, errlen, "time", s,
                    "needs a unit (ns, us, ms, s, min, h)");
            return -1;
        }
        if (default_unit_ns > MAX_DEFAULT_UNIT_NS) {
            set_err(err, errlen, "time", s, "default unit larger than 2^51 ns");
            return -1;
        }
        mult = (uint64_t)default_unit_ns;
    } else {
        const struct unit *un =
            unit_find(time_units, N_ELEMS(time_units), u, ulen);

        if (!un) {
            snprintf(msg, sizeof(msg),
                     "unknown unit '%s' (use ns, us, ms, s, min, h)",
                     unit_text(u, ulen, ub, sizeof(ub)));
            set_err(err, errlen, "time", s, msg);
            return -1;
        }
        mult = un->mult;
    }
    if (scale(&n, mult, 1, (uint64_t)INT64_MAX, &v) < 0) {
        set_err(err, errlen, "time", s,
                "too large (more than 2^63-1 ns, about 292 years)");
        return -1;
    }
    *ns = (int64_t)v;
    return 0;
}

/* Bits "<prefix>" (decimal) -> num/den.  0 if the prefix is unknown. */
static int bit_unit(const char *p, size_t n, uint64_t *num, uint64_t *den)
{
    const struct unit *un =
        unit_find(bit_prefixes, N_ELEMS(bit_prefixes), p, n);

    if (!un) {
        return -1;
    }
    *num = un->mult;
    *den = 8;
    return 0;
}

int units_parse_rate(const char *s, uint64_t *bytes_per_s, char *err,
                     size_t errlen)
{
    struct num n;
    const char *u;
    size_t ulen, blen;
    uint64_t num = 0, den = 1;
    int rc = -1;
    char ub[48], msg[160];

    if (split(s, "rate", &n, &u, &ulen, err, errlen) < 0) {
        return -1;
    }
    if (ulen == 0 && n.mant == 0) {
        *bytes_per_s = 0; /* zero needs no unit */
        return 0;
    }
    if (ulen > 2 && u[ulen - 2] == '/' && lower(u[ulen - 1]) == 's') {
        /* "<size unit>/s" or "<prefix>bit/s" */
        blen = ulen - 2;
        if (blen >= 3 && unit_eq(u + blen - 3, 3, "bit")) {
            rc = bit_unit(u, blen - 3, &num, &den);
        } else if (blen > 0 && u[blen - 1] == 'b') {
            snprintf(msg, sizeof(msg),
                     "'%s' is ambiguous: write bit/s for bits or B/s for "
                     "bytes",
                     unit_text(u, ulen, ub, sizeof(ub)));
            set_err(err, errlen, "rate", s, msg);
            return -1;
        } else if (blen > 0) {
            const struct unit *un =
                unit_find(size_units, N_ELEMS(size_units), u, blen);

            if (un) {
                num = un->mult;
                rc = 0;
            }
        }
    } else if (ulen > 2 && unit_eq(u + ulen - 2, 2, "ps")) {
        /* "<prefix>bps" = bits, "<size unit>Bps" = bytes */
        blen = ulen - 2;
        if (u[blen - 1] == 'b') {
            rc = bit_unit(u, blen - 1, &num, &den);
        } else if (u[blen - 1] == 'B') {
            const struct unit *un =
                unit_find(size_units, N_ELEMS(size_units), u, blen);

            if (un) {
                num = un->mult;
                rc = 0;
            }
        }
    } else {
        set_err(err, errlen, "rate", s,
                "needs a unit per second (e.g. MiB/s, GB/s, Gbit/s, Gbps)");
        return -1;
    }
    if (rc < 0) {
        snprintf(msg, sizeof(msg),
                 "unknown unit '%s' (use B/s, KB/s ... PiB/s, bit/s, kbit/s "
                 "... Pbit/s, bps ... Pbps)",
                 unit_text(u, ulen, ub, sizeof(ub)));
        set_err(err, errlen, "rate", s, msg);
        return -1;
    }
    if (scale(&n, num, den, UINT64_MAX, bytes_per_s) < 0) {
        set_err(err, errlen, "rate", s, "too large (more than 2^64-1 bytes/s)");
        return -1;
    }
    return 0;
}

/* mant * 10^exp10 as a double (exact powers of ten up to 1e22). */
static double num_to_double(const struct num *n)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double m = (double)n->mant;
    int e = n->exp10;

    if (e >= 0) {
        return e <= 22 ? m * p10[e] : m * pow(10.0, e);
    }
    return -e <= 22 ? m / p10[-e] : m / pow(10.0, -e);
}

int units_parse_fraction(const char *s, double *frac, char *err, size_t errlen)
{
    struct num n;
    const char *u;
    size_t ulen;
    double v;

    if (split(s, "fraction", &n, &u, &ulen, err, errlen) < 0) {
        return -1;
    }
    v = num_to_double(&n);
    if (ulen == 1 && u[0] == '%') {
        v /= 100.0;
    } else if (ulen != 0) {
        char ub[48], msg[96];

        snprintf(msg, sizeof(msg), "unexpected '%s' (use 0.42 or 42%%)",
                 unit_text(u, ulen, ub, sizeof(ub)));
        set_err(err, errlen, "fraction", s, msg);
        return -1;
    } else if (v > 1.0) {
        v /= 100.0; /* a bare number above 1 is a percentage */
    }
    if (!(v >= 0.0 && v <= 1.0)) {
        set_err(err, errlen, "fraction", s, "out of range (0..1, or 0%..100%)");
        return -1;
    }
    *frac = v;
    return 0;
}

/* ---- formatting ---------------------------------------------------------- */

static const char *const bin_names[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
static const char *const dec_names[] = {"KB", "MB", "GB", "TB", "PB"};

/*
 * Pick the unit for a magnitude v >= 1000: binary if v is a whole number
 * whose value in the largest binary unit <= v is exact to one decimal,
 * else the largest decimal unit <= v.  Returns the unit size and name.
 */
static double pick_unit(double v, const char **name)
{
    double bin = 1024.0, dec = 1000.0;
    int bi = -1, di = 0;

    for (int i = 0; i < 5 && v >= bin; i++) {
        bi = i;
        if (i < 4) {
            bin *= 1024.0;
        }
    }
    if (bi >= 0 && v < 18446744073709551616.0 && v == floor(v)) {
        uint64_t u = UINT64_C(1) << (10 * (bi + 1));
        uint64_t b = (uint64_t)v;

        if (((b % u) * 10) % u == 0) {
            *name = bin_names[bi];
            return (double)u;
        }
    }
    for (int i = 1; i < 5 && v >= dec * 1000.0; i++) {
        di = i;
        dec *= 1000.0;
    }
    *name = dec_names[di];
    return dec;
}

char *units_fmt_size(uint64_t bytes, char *buf, size_t len)
{
    const char *name;
    double u;

    if (!buf || len == 0) {
        return buf;
    }
    if (bytes < 1000) {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    u = pick_unit((double)bytes, &name);
    snprintf(buf, len, "%.1f %s", (double)bytes / u, name);
    return buf;
}

char *units_fmt_time(int64_t ns, char *buf, size_t len)
{
    uint64_t a;
    const char *sign = "";

    if (!buf || len == 0) {
        return buf;
    }
    if (ns < 0) {
        sign = "-";
        a = (uint64_t)(-(ns + 1)) + 1; /* safe for INT64_MIN */
    } else {
        a = (uint64_t)ns;
    }
    if (a < 1000) {
        snprintf(buf, len, "%s%llu ns", sign, (unsigned long long)a);
    } else if (a < 1000000) {
        if (a % 1000 == 0) {
            snprintf(buf, len, "%s%llu us", sign,
                     (unsigned long long)(a / 1000));
        } else {
            snprintf(buf, len, "%s%.2f us", sign, (double)a / 1e3);
        }
    } else if (a < 1000000000) {
        if (a % 1000000 == 0) {
            snprintf(buf, len, "%s%llu ms", sign,
                     (unsigned long long)(a / 1000000));
        } else {
            snprintf(buf, len, "%s%.2f ms", sign, (double)a / 1e6);
        }
    } else if (a < UINT64_C(60000000000)) {
        snprintf(buf, len, "%s%.2f s", sign, (double)a / 1e9);
    } else if (a < UINT64_C(3600000000000)) {
        snprintf(buf, len, "%s%.2f min", sign, (double)a / 6e10);
    } else {
        snprintf(buf, len, "%s%.2f h", sign, (double)a / 3.6e12);
    }
    return buf;
}

/* Three significant digits, trailing zeros dropped: 128, 12.5, 1.25, 1. */
static void fmt_sig3(double x, const char *unit, const char *sign, char *buf,
                     size_t len)
{
    char num[64];
    int prec = x >= 99.95 ? 0 : x >= 9.995 ? 1 : 2;
    char *dot;

    if (x >= 1e6) { /* absurd magnitudes: keep the text short */
        snprintf(buf, len, "%s%.3g %s", sign, x, unit);
        return;
    }
    snprintf(num, sizeof(num), "%.*f", prec, x);
    dot = strchr(num, '.');
    if (dot) {
        char *end = num + strlen(num);

        while (end > dot + 1 && end[-1] == '0') {
            *--end = '\0';
        }
        if (end == dot + 1) {
            *dot = '\0';
        }
    }
    snprintf(buf, len, "%s%s %s", sign, num, unit);
}

char *units_fmt_rate(double bytes_per_s, char *buf, size_t len)
{
    const char *sign = "";
    const char *name;
    char unit[16];
    double v = bytes_per_s, u;

    if (!buf || len == 0) {
        return buf;
    }
    if (isnan(v)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    if (v < 0) {
        sign = "-";
        v = -v;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%sinf B/s", sign);
        return buf;
    }
    if (v < 1000.0) {
        fmt_sig3(v, "B/s", sign, buf, len);
        return buf;
    }
    u = pick_unit(v, &name);
    snprintf(unit, sizeof(unit), "%s/s", name);
    fmt_sig3(v / u, unit, sign, buf, len);
    return buf;
}
