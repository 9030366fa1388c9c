/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz/fuzz_units.c — libFuzzer harness for the unit parsers (base/units.h)
 * that every scenario value and command-line time/size/rate goes through.
 *
 * Input: byte 0 selects the parser (size, time with a required unit, time
 * with ms as the bare unit, rate, fraction); the rest, cut at the first NUL,
 * is the text.  A parser must return 0 or -1 with a terminated message, and
 * a value it accepts must format back without overflow.
 *
 * Coverage: base/units.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) {
        return 0;
    }
    char *s = malloc(size);
    if (!s) {
        return 0;
    }
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    char err[256], buf[32];
    err[0] = '\0';
    uint64_t u = 0;
    int64_t t = 0;
    double f = 0;
    switch (data[0] % 5) {
    case 0:
        if (units_parse_size(s, &u, err, sizeof(err)) == 0) {
            units_fmt_size(u, buf, sizeof(buf));
        }
        break;
    case 1:
        if (units_parse_time(s, 0, &t, err, sizeof(err)) == 0) {
            units_fmt_time(t, buf, sizeof(buf));
        }
        break;
    case 2:
        if (units_parse_time(s, 1000000, &t, err, sizeof(err)) == 0) {
            units_fmt_time(t, buf, sizeof(buf));
        }
        break;
    case 3:
        if (units_parse_rate(s, &u, err, sizeof(err)) == 0) {
            units_fmt_rate((double)u, buf, sizeof(buf));
        }
        break;
    default:
        if (units_parse_fraction(s, &f, err, sizeof(err)) == 0 &&
            (f < 0 || f > 1)) {
            abort(); /* the contract: a fraction is in [0, 1] */
        }
        break;
    }
    if (strnlen(err, sizeof(err)) == sizeof(err)) {
        abort(); /* an unterminated message */
    }
    free(s);
    return 0;
}
